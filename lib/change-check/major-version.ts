// Changes of the image's PostgreSQL major version (internal). PostgreSQL cannot run the data of
// another major: a new major needs an upgrade (pg_upgrade, or dump and restore), and a lower one
// cannot read the data at all. A new major is safe only with the upgrade option, which renders the
// pod template annotation `postgres-statefulset.io/upgrade-from-major: <old major>`.
import { Change, Finding } from './findings';
import { Instance, UPGRADE_ANNOTATION } from './instance';

/** Whether the new StatefulSet upgrades the old one's major with the upgrade option. */
export function upgradeAccepted(before: Instance, after: Instance): boolean {
  return before.major !== undefined && after.major !== undefined && after.major > before.major
    && after.upgradeFromMajor !== undefined && String(after.upgradeFromMajor).trim() === String(before.major);
}

/** A change of major version, or of an image whose major is not known. */
export function majorChanges(change: Change): Finding[] {
  const { before, after } = change;
  const title = `image: ${before.image} -> ${after.image}`;
  if (before.major === undefined || after.major === undefined) {
    if (before.image === after.image) {
      return [];
    }
    const unknown = [before, after].filter((i) => i.major === undefined).map((i) => i.image);
    return [{
      severity: 'unsafe',
      category: 'major version',
      title,
      explanation: [`The PostgreSQL major version of ${unknown.join(' and ')} is not known (its tag does not start with it), so this check cannot tell whether the data can run on the new image.`],
      steps: [{ say: 'Use a tag that starts with the major version (postgres:17.6, postgres:18.4-bookworm; with a digest: postgres:18.4@sha256:...), and make sure the major stays the same or the upgrade option is on.' }],
    }];
  }
  if (before.major === after.major) {
    return [];
  }
  if (after.major < before.major) {
    return [{
      severity: 'unsafe',
      category: 'major version',
      title: `${title}: PostgreSQL ${before.major} -> ${after.major} is a downgrade`,
      explanation: [`PostgreSQL ${after.major} cannot read the data of PostgreSQL ${before.major}: the pods fail ('database files are incompatible with server'), or, where the data directory's path names the major, start a new, empty database next to the old data.`],
      steps: [{ say: `Keep a PostgreSQL ${before.major} image. Going back to ${after.major} takes a dump of the data (pg_dumpall) restored into a new PostgreSQL ${after.major} instance.` }],
    }];
  }
  if (upgradeAccepted(before, after)) {
    return [{
      severity: 'note',
      category: 'major upgrade',
      title: `${title}: PostgreSQL ${before.major} -> ${after.major} with the upgrade option`,
      explanation: [`The pod template carries ${UPGRADE_ANNOTATION}: ${after.upgradeFromMajor}: the pods upgrade the data from PostgreSQL ${before.major} when they start on the new image.`],
      steps: [],
    }];
  }
  const wrong = after.upgradeFromMajor !== undefined
    ? ` The pod template's ${UPGRADE_ANNOTATION} says ${after.upgradeFromMajor}, but the data is PostgreSQL ${before.major}.`
    : '';
  return [{
    severity: 'unsafe',
    category: 'major version',
    title: `${title}: PostgreSQL ${before.major} -> ${after.major} without the upgrade option`,
    explanation: [`PostgreSQL ${after.major} cannot run the data of PostgreSQL ${before.major} without an upgrade. Depending on the data directory's path, the pods fail ('database files are incompatible with server') or serve a new, empty database while the ${before.major} data sits unused on the volume.${wrong}`],
    steps: [{ say: `Turn on the upgrade option, naming the major the data was written with (${before.major}), so that the pods upgrade it; or keep a PostgreSQL ${before.major} image; or dump the data (pg_dumpall) and restore it into a new PostgreSQL ${after.major} instance.` }],
  }];
}

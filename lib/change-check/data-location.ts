// Changes that leave the data behind (internal): where PGDATA is on the data volume. The volume
// keeps its files when the mount path or PGDATA changes; what matters is whether PGDATA, seen from
// the volume's root, is still the same directory. Also the port, which clients must follow.
import { Change, Finding, kubectl, sh } from './findings';
import { Instance } from './instance';
import { upgradeAccepted } from './major-version';

/** PGDATA as a path on the data volume (`<volume>/pgdata`), or undefined when it is not on a claim. */
function onVolume(instance: Instance): { volume: string; path: string } | undefined {
  const mount = instance.dataMount;
  if (instance.pgData === undefined || mount === undefined || !mount.claimTemplate) {
    return undefined;
  }
  const inside = instance.pgData.slice(mount.path.replace(/\/+$/, '').length).replace(/^\/+|\/+$/g, '');
  return { volume: mount.volume, path: inside === '' ? '(the volume\'s root)' : inside };
}

/** A PGDATA or mount change that puts the data directory elsewhere on the volume. */
export function dataLocationChanges(change: Change): Finding[] {
  const { before, after } = change;
  const [a, b] = [onVolume(before), onVolume(after)];
  if (a === undefined || b === undefined || (a.volume === b.volume && a.path === b.path)) {
    return [];
  }
  const where = (x: { volume: string; path: string }) => `${x.path} on the volume ${x.volume}`;
  const title = `data directory: PGDATA ${before.pgData} (mount ${before.dataMount!.path}) -> ${after.pgData} (mount ${after.dataMount!.path})`;
  if (upgradeAccepted(before, after)) {
    return [{
      severity: 'note',
      category: 'major upgrade',
      title,
      explanation: [`The data directory moves from ${where(a)} to ${where(b)} with the major upgrade (${before.major} -> ${after.major}): the upgrade reads the old directory and writes the new one.`],
      steps: [],
    }];
  }
  const explanation = `PostgreSQL would look for its data in ${where(b)}, but the data is in ${where(a)}. On the new path the image initialises a new, empty database (or, where it checks, refuses to start), and clients would write into it while the old data sits unused on the same volume.`;
  if (before.major !== undefined && after.major !== undefined && before.major !== after.major) {
    // the paths go with the major (the 18+ images' layout is refused with an older one's paths): moving files cannot help
    return [{
      severity: 'unsafe',
      category: 'data left behind',
      title,
      explanation: [`${explanation} The directory moves because the major changes (${before.major} -> ${after.major}), and PostgreSQL ${after.major} cannot run PostgreSQL ${before.major}'s data in any case.`],
      steps: [{ say: `Keep the data where it is with its major: image '${before.image}', pgData: '${before.pgData}', dataMountPath: '${before.dataMount!.path}' (the values the running pods use); or upgrade it (see the major version finding), which writes the new directory from the old one.` }],
    }];
  }
  return [{
    severity: 'unsafe',
    category: 'data left behind',
    title,
    explanation: [explanation],
    steps: [
      { say: `Keep the data where it is: set pgData: '${before.pgData}' and dataMountPath: '${before.dataMount!.path}' (the values the running pods use), then synthesize again.` },
      {
        say: `Or move it, with every pod stopped: scale to 0, move ${a.path} to ${b.path} on each pod's claim (e.g. from a throw-away pod that mounts the claim), then apply.`,
        commands: [kubectl(before, 'scale', 'statefulset', before.name, '--replicas=0'), `kubectl apply -f ${sh(change.applyFile)}`],
      },
    ],
  }];
}

/** A port change: clients and standbys must follow. */
export function portChanges(change: Change): Finding[] {
  const { before, after } = change;
  if (before.port === after.port) {
    return [];
  }
  return [{
    severity: 'unsafe',
    category: 'clients',
    title: `port: ${before.port} -> ${after.port}`,
    explanation: [
      `After the rolling update PostgreSQL listens on ${after.port} only. Workloads wired with connect() in the same app get the new port from this synth; every other client (DATABASE_URL, PGPORT, connection pools, other namespaces) must change at the same time.`
      + (before.replicas > 1 ? ` Standbys stream from the primary at the port pg_basebackup wrote into their configuration (${before.port}): rebuild them after the change, or set their primary_conninfo.` : ''),
    ],
    steps: [{ say: `Update the clients that connect to port ${before.port}, then apply.`, commands: [`kubectl apply -f ${sh(change.applyFile)}`] }],
  }];
}

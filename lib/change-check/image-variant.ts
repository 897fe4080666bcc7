// Changes of what the data on the volume was written under, besides the major version (internal):
// the user PostgreSQL runs as, which must own the data directory, and the image's C library,
// whose collations order the text in indexes (and another Debian release, another glibc).
import { Change, Finding } from './findings';

/** A change of the user id PostgreSQL runs as, or of the image's C library. */
export function variantChanges(change: Change): Finding[] {
  const { before, after } = change;
  const findings: Finding[] = [];
  if (before.runAsUser !== undefined && after.runAsUser !== undefined && before.runAsUser !== after.runAsUser) {
    findings.push({
      severity: 'unsafe',
      category: 'data ownership',
      title: `runAsUser: ${before.runAsUser} -> ${after.runAsUser}`,
      explanation: [`The data directory belongs to uid ${before.runAsUser}, who initialised it. PostgreSQL refuses to start on a data directory that another user owns ('data directory ... has wrong ownership'), and fsGroup does not change the owner.`
        + (before.libc !== after.libc ? ' (The official image\'s postgres user is 999 in the Debian variants and 70 in the Alpine ones.)' : '')],
      steps: [{ say: `Keep uid ${before.runAsUser} (runAsUser, and the image variant it goes with); or dump the data (pg_dumpall) and restore it into a new instance.` }],
    });
  }
  if (before.libc !== undefined && after.libc !== undefined && before.libc !== after.libc) {
    findings.push({
      severity: 'unsafe',
      category: 'collation',
      title: `image C library: ${before.libc} (${before.image}) -> ${after.libc} (${after.image})`,
      explanation: ['Databases created with a libc locale order text by the C library\'s collation, and glibc and musl order differently: indexes on text built under one are corrupt under the other (rows not found, duplicate keys accepted).'],
      steps: [{ say: 'Keep the image variant; or REINDEX every index on text columns right after the change (before writes), or move the data by dump and restore.' }],
    });
  }
  const [suiteBefore, suiteAfter] = [debianSuite(before.image), debianSuite(after.image)];
  if (suiteBefore !== undefined && suiteAfter !== undefined && suiteBefore !== suiteAfter) {
    findings.push({
      severity: 'note',
      category: 'collation',
      title: `image Debian release: ${suiteBefore} -> ${suiteAfter}`,
      explanation: ['Another Debian release brings another glibc, whose collations may order some text differently; PostgreSQL 15 and later warn about a collation version mismatch when they do.'],
      steps: [{ say: 'After the change, look for the warning in the log (or compare datcollversion in pg_database with pg_database_collation_actual_version(oid)); if it appears, REINDEX the indexes on text, then ALTER DATABASE ... REFRESH COLLATION VERSION.' }],
    });
  }
  return findings;
}

const DEBIAN_SUITES = ['stretch', 'buster', 'bullseye', 'bookworm', 'trixie', 'forky'];

/** The Debian release a tag names (`17.6-bookworm`), if it names one. */
function debianSuite(image: string): string | undefined {
  const tag = /:([^/:@]+)(@|$)/.exec(image)?.[1] ?? '';
  return DEBIAN_SUITES.find((suite) => new RegExp(`(^|[.\\-_])${suite}($|[.\\-_])`).test(tag));
}

// What a major upgrade's init containers need here besides the pod (pg/pod.ts): the image each
// of them runs, and the stand-in for the shared OS release that pg_upgrade relies on. Used by
// test/major-upgrade.pg.test.ts and bench/upgrade.ts.
//
// pg_upgrade needs the old image's binaries to run in the new one, which the official images
// allow when both are built on the same OS release. Bookworm's PostgreSQL 15 in sid's chroot
// lacks a few of bookworm's libraries (ICU 72, libxml2, OpenLDAP 2.5 and theirs): they are
// copied from the host into a directory the upgrade container finds through LD_LIBRARY_PATH,
// standing for the shared OS release. Nothing of sid is shadowed (their names differ from sid's).
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Env, Installation, IS_ROOT, PG15, PG18, Sandbox } from './harness';

/**
 * Gathers, in `libraries`, the libraries of the host that PostgreSQL 15's binaries need and the
 * chroot has not, until none is missing: a copy of PostgreSQL 15 where the chroot sees it (in
 * `postgresql-15/`, as the upgrade's init container copies it), and the libraries in `lib/`.
 * Returns the `lib/` directory, for the upgrade container's LD_LIBRARY_PATH.
 */
export function bookwormLibraries(libraries: Sandbox): string {
  PG18.check();
  const dir = libraries.mkdir('lib');
  const copy = libraries.mkdir('postgresql-15');
  execFileSync('cp', ['-a', '/usr/lib/postgresql/15/bin', '/usr/lib/postgresql/15/lib', copy]);
  const binaries = [
    ...fs.readdirSync(path.join(copy, 'bin')).map((f) => path.join(copy, 'bin', f)),
    ...fs.readdirSync(path.join(copy, 'lib')).filter((f) => f.endsWith('.so') && !f.startsWith('llvmjit')).map((f) => path.join(copy, 'lib', f)),
  ];
  const hostLibraries = new Map(execFileSync('ldconfig', ['-p'], { encoding: 'utf-8' }).split('\n')
    .map((line) => /^\s*(\S+) \(libc6,x86-64\) => (\S+)$/.exec(line)).filter((m): m is RegExpExecArray => m !== null).map((m) => [m[1], m[2]]));
  // Each round, one ldd in the chroot lists the libraries of every binary still in question
  // (the first round: all of them); those of a binary that lacked some are listed again once
  // they are copied, until none lacks any. A binary that lacked none is done: what the rounds
  // add are libraries the chroot has no file of, which it therefore never loads.
  let pending = binaries;
  for (let round = 0; round < 10; round++) {
    const ldd = PG18.run(['ldd', ...pending], { LD_LIBRARY_PATH: dir }, { asRoot: IS_ROOT });
    if (ldd.error || ldd.stdout.trim() === '') {
      throw new Error(`ldd of PostgreSQL 15's binaries in the chroot failed (${ldd.status ?? ldd.error}):\n${ldd.stdout}${ldd.stderr}`);
    }
    const missing = new Set<string>();
    const lacking = new Set<string>();
    let binary = pending[0]; // (ldd names each file only when it is given more than one)
    for (const line of ldd.stdout.split('\n')) {
      const header = /^(\/\S+):$/.exec(line);
      const notFound = /^\s*(\S+) => not found$/.exec(line);
      if (header) {
        binary = header[1];
      } else if (notFound) {
        missing.add(notFound[1]);
        lacking.add(binary);
      }
    }
    if (missing.size === 0) {
      return dir;
    }
    for (const library of missing) {
      fs.copyFileSync(hostLibraries.get(library)!, path.join(dir, library));
    }
    pending = [...lacking];
  }
  throw new Error('the libraries PostgreSQL 15 needs in the chroot could not be gathered');
}

/** The image an init container runs: the old one is PostgreSQL 15's, the new one 18's. */
export const installFor = (image: string): Installation => (image === PG15.image ? PG15 : PG18);

/**
 * What the upgrade container needs besides the pod's environment: the shared OS release's
 * libraries (`bookwormLibraries`); for `SimulatedPod.runInitContainers`' `env`.
 */
export const withLibraries = (libraries: string) => (name: string): Env => (name === 'upgrade' ? { LD_LIBRARY_PATH: libraries } : {});

// Major upgrades, proven with two real majors: data written by PostgreSQL 15 (Debian bookworm's,
// standing for the old image) is upgraded by the init containers of the synthesized manifest
// with PostgreSQL 18 (Debian sid's, in a chroot, standing for the new image), both by dump and
// restore and by pg_upgrade; then the pod starts on 18 with every row. Also: resuming after a
// kill mid-way, and the refusal when the volume lacks room.
//
// Stand-in, besides pg/pod.ts's: the shared OS release pg_upgrade relies on (see pg/upgrade.ts).
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { MajorUpgradeMethod, PostgresMajorUpgrade, PostgresStatefulSet, PostgresStatefulSetProps } from '../lib';
import { freePorts, Installation, IS_ROOT, killGroup, PG15, PG18, Sandbox, Server, waitFor } from './pg/harness';
import { InitResult, SimulatedPod } from './pg/pod';
import { bookwormLibraries as gatherBookwormLibraries, installFor, withLibraries as withLibrariesIn } from './pg/upgrade';
import { makeCa, makeServerCertificate } from './tls-fixtures';
import { synth } from './util';

jest.setTimeout(240_000);

const PASSWORD = 'tes6Aev8';
let PORT: number;
/** Bookworm libraries PostgreSQL 15's binaries need that sid's chroot lacks. */
let bookwormLibraries: string;
let libraries: Sandbox;

beforeAll(async () => {
  [PORT] = await freePorts(1);
  PG18.check();
  libraries = new Sandbox('bookworm-libs-');
  bookwormLibraries = gatherBookwormLibraries(libraries);
});
afterAll(() => {
  libraries?.cleanup();
});

let sandbox: Sandbox;
let servers: Server[];
beforeEach(() => {
  sandbox = new Sandbox('upgrade-');
  servers = [];
});
afterEach(async () => {
  for (const server of servers) {
    await server.kill();
  }
  sandbox.cleanup();
});

test('the stand-in for the shared OS release: PostgreSQL 15 runs in the chroot with the libraries gathered', () => {
  expect(fs.readdirSync(bookwormLibraries)).toEqual(expect.arrayContaining(['libicuuc.so.72', 'libxml2.so.2']));
  expect(PG18.runOk([path.join(libraries.dir, 'postgresql-15', 'bin', 'postgres'), '--version'], { LD_LIBRARY_PATH: bookwormLibraries })).toMatch(/PostgreSQL\) 15\./);
});

/** Pod 0 of the instance `pg` on the sandbox's volume (the same claim across re-syntheses), run by `install`. */
function pod(install: Installation, props: PostgresStatefulSetProps, tls?: { [key: string]: string }): SimulatedPod {
  const chart = Testing.chart();
  new PostgresStatefulSet(chart, 'Db', {
    statefulSetName: 'pg', secretName: 'pg-secret', port: PORT,
    ...(tls ? { tlsSecret: kplus.Secret.fromSecretName(chart, 'Tls', 'pg-tls') } : {}),
    ...props,
  });
  const secrets = { 'pg-secret': { POSTGRES_PASSWORD: PASSWORD }, ...(tls ? { 'pg-tls': tls } : {}) };
  return new SimulatedPod({ objects: synth(chart), secrets }, { ordinal: 0, sandbox, install });
}

async function boot(p: SimulatedPod): Promise<Server> {
  const server = await p.boot();
  servers.push(server);
  return server;
}

/** What the upgrade container needs besides the pod's environment: the shared OS release's libraries. */
const withLibraries = (name: string) => withLibrariesIn(bookwormLibraries)(name);

/** An init container's name and exit status, with its output when it failed. */
const result = (i: InitResult) => `${i.name}: ${i.status}${i.status === 0 ? '' : `\n${i.output}`}`;

/** An instance made with PostgreSQL 15, with rows, a database and a role of its own; stopped. */
async function writtenBy15(props: PostgresStatefulSetProps = {}, tls?: { [key: string]: string }): Promise<SimulatedPod> {
  const old = pod(PG15, { image: PG15.image, ...props }, tls);
  const server = await boot(old);
  server.sql('CREATE TABLE keep (id int PRIMARY KEY, name text); INSERT INTO keep SELECT i, md5(i::text) FROM generate_series(1, 5000) i', 'postgres', PASSWORD, 'postgres');
  server.sql('CREATE DATABASE "Shop"', 'postgres', PASSWORD, 'postgres');
  server.sql('CREATE ROLE app LOGIN PASSWORD \'app-Pa55\'', 'postgres', PASSWORD, 'postgres');
  server.sql('CREATE TABLE orders (id int); INSERT INTO orders VALUES (7)', 'postgres', PASSWORD, 'Shop');
  await server.stop();
  return old;
}

/** The rows, database and role of `writtenBy15`, read from the upgraded server. */
function expectKept(server: Server): void {
  expect(server.sql('SELECT current_setting(\'server_version_num\')::int / 10000', 'postgres', PASSWORD, 'postgres')).toBe('18');
  expect(server.sql('SELECT count(*), sum(length(name)) FROM keep', 'postgres', PASSWORD, 'postgres')).toBe('5000|160000');
  expect(server.sql('SELECT id FROM orders', 'postgres', PASSWORD, 'Shop')).toBe('7');
  expect(server.login('app', 'app-Pa55').ok).toBe(true);
  expect(server.login('postgres', PASSWORD).ok).toBe(true);
}

test('dump and restore (the OS releases differ): 15 -> 18 by changing the image, every row kept, the old data kept for a rollback', async () => {
  // GIVEN data written by PostgreSQL 15 in its layout (volume at /var/lib/postgresql/data, PGDATA pgdata/)
  const old = await writtenBy15();
  // WHEN the instance runs PostgreSQL 18 (its layout: PGDATA 18/docker) with the upgrade option
  const next = pod(PG18, { image: PG18.image, majorUpgrade: PostgresMajorUpgrade.fromImage(PG15.image) });
  const inits = next.runInitContainers(installFor);
  // THEN the old image dumps, the new one restores, and the new data directory is moved into place
  expect(inits.map(result)).toEqual(['upgrade-dump: 0', 'upgrade: 0']);
  expect(inits[0].output).toContain(`dumping PostgreSQL 15 from ${old.pgData}`);
  expect(inits[1].output).toContain(`upgraded to PostgreSQL 18 in ${next.pgData}; the PostgreSQL 15 data is kept in ${old.pgData}`);
  expect(fs.readdirSync(path.dirname(next.pgData)).filter((f) => /upgrad/.test(f))).toEqual([]); // no staging, marker or dump left
  // AND PostgreSQL 18 starts on it with everything, pg_hba.conf carried over (standbys admitted)
  const server = await boot(next);
  expectKept(server);
  expect(fs.readFileSync(path.join(next.pgData, 'pg_hba.conf'), 'utf-8')).toMatch(/^host replication all all scram-sha-256 # postgres-statefulset: standbys$/m);
  expect(server.log).toContain(`other data directories on the volume, not used: ${old.pgData} (PostgreSQL 15)`);
  // AND the upgrade does not run twice
  await server.stop();
  expect(next.runInitContainers(installFor).map((i) => i.output).join('')).toContain(`${next.pgData} holds PostgreSQL 18: nothing to upgrade; remove majorUpgrade`);
  // AND the old data still starts with the old image (the rollback), untouched
  const back = await boot(pod(PG15, { image: PG15.image }));
  expect(back.sql('SELECT count(*) FROM keep', 'postgres', PASSWORD, 'postgres')).toBe('5000');
});

test('pg_upgrade (the same OS release): 15 -> 18 with the old image\'s binaries copied into the pod, every row kept', async () => {
  const old = await writtenBy15();
  const next = pod(PG18, { image: PG18.image, majorUpgrade: PostgresMajorUpgrade.fromImageWith(PG15.image, MajorUpgradeMethod.PG_UPGRADE) });
  const inits = next.runInitContainers(installFor, withLibraries);
  expect(inits.map(result)).toEqual(['upgrade-binaries: 0', 'upgrade: 0']);
  expect(inits[0].output).toContain('copied PostgreSQL 15 (usr/lib/postgresql/15 usr/share/postgresql/15) for pg_upgrade');
  expect(inits[1].output).toContain(`upgrading ${old.pgData} (PostgreSQL 15`);
  expect(inits[1].output).toContain('Upgrade Complete');
  const server = await boot(next);
  expectKept(server);
  await server.stop();
  // the old data directory was not modified: it still starts with the old image
  const back = await boot(pod(PG15, { image: PG15.image }));
  expect(back.sql('SELECT count(*) FROM orders', 'postgres', PASSWORD, 'Shop')).toBe('1');
});

test('with TLS: the upgrade\'s own servers run without the certificates the pod\'s start steps prepare, and the upgraded server serves TLS', async () => {
  // GIVEN an instance serving TLS on PostgreSQL 15 (the Secret cert-manager writes: certificate, key, CA)
  const dir = sandbox.mkdir('pki');
  const ca = makeCa(dir, 'ca');
  const certificate = makeServerCertificate(dir, 'pg', ca, ['pg-0.pg', 'localhost']);
  const tls = { 'tls.crt': certificate.crt, 'tls.key': certificate.key, 'ca.crt': ca.crt };
  await writtenBy15({}, tls);
  // WHEN it is upgraded to 18 by dump and restore (the restore's server gets the pod's arguments, ssl_cert_file among them)
  const next = pod(PG18, { image: PG18.image, majorUpgrade: PostgresMajorUpgrade.fromImage(PG15.image) }, tls);
  expect(next.args.join(' ')).toContain('ssl_cert_file=');
  const inits = next.runInitContainers(installFor);
  // THEN the upgrade completes, and PostgreSQL 18 serves TLS with every row
  expect(inits.map(result)).toEqual(['upgrade-dump: 0', 'upgrade: 0']);
  const server = await boot(next);
  expectKept(server);
  expect(server.sql('SHOW ssl', 'postgres', PASSWORD, 'postgres')).toBe('on');
});

test('killed mid-way, the upgrade starts that step over on the next start; killed between the moves, it finishes them; the same path for both majors is kept aside', async () => {
  // GIVEN both majors at one PGDATA path (pinned pgData), and a dump written
  const layout = { dataMountPath: '/data', pgData: '/data/pgdata' };
  const old = await writtenBy15(layout);
  const next = pod(PG18, { image: PG18.image, majorUpgrade: PostgresMajorUpgrade.fromImage(PG15.image), ...layout });
  expect(next.runInitContainer('upgrade-dump', { install: PG15 }).status).toBe(0);
  // WHEN the new image's container is killed while it restores
  const upgrading = next.startInitContainer('upgrade', PG18);
  await waitFor('the restore to start', () => {
    if (upgrading.child.exitCode !== null) {
      throw new Error(`the upgrade container ended (${upgrading.child.exitCode}) before: ${upgrading.output()}`);
    }
    return upgrading.output().includes('restoring the dump') && fs.existsSync(`${old.pgData}.upgrading/PG_VERSION`);
  }, 60_000, 20);
  await killGroup(upgrading.child);
  expect(fs.readFileSync(path.join(old.pgData, 'PG_VERSION'), 'utf-8').trim()).toBe('15'); // nothing moved yet
  // THEN the next start restores again, from the dump already written, and moves it into place, keeping the old one aside
  const again = next.runInitContainers(installFor);
  expect(again.map(result)).toEqual(['upgrade-dump: 0', 'upgrade: 0']);
  expect(again[0].output).toContain('the dump of');
  expect(again[1].output).toContain(`the PostgreSQL 15 data is kept in ${old.pgData}.pg15`);
  expectKept(await boot(next));
  await servers[servers.length - 1].stop();

  // WHEN a start was killed between moving the old data aside and moving the new one in
  PG18.runOk(['mv', next.pgData, `${next.pgData}.upgrading`]);
  fs.writeFileSync(`${next.pgData}.upgrade-complete`, '2026-12-01T00:00:00Z\n');
  // THEN the next start finishes the move
  const resumed = next.runInitContainers(installFor);
  expect(resumed[1].output).toContain('the upgraded data directory is complete: moving it into place');
  expectKept(await boot(next));
});

test('the volume lacks room for the dump and the new data directory: the upgrade refuses, saying how much it needs, and changes nothing', async () => {
  if (!IS_ROOT) {
    throw new Error('this test mounts a small tmpfs as the volume: run the tests as root (CI does)');
  }
  // GIVEN a volume of 96 MiB holding the old data
  const volume = sandbox.mkdir('volume-0');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=96m,mode=1777', 'tmpfs', volume]);
  try {
    const old = await writtenBy15();
    const next = pod(PG18, { image: PG18.image, majorUpgrade: PostgresMajorUpgrade.fromImage(PG15.image) });
    const inits = next.runInitContainers(installFor);
    expect(inits).toHaveLength(1);
    expect(inits[0].status).toBe(1);
    expect(inits[0].output).toMatch(/the volume has \d+ MiB free, the upgrade needs about \d+ MiB \(PostgreSQL 15 data: \d+ MiB\): grow the claim/);
    expect(fs.readdirSync(volume).sort()).toEqual(['pgdata']); // nothing written beside the old data
    expect(fs.existsSync(path.join(old.pgData, 'PG_VERSION'))).toBe(true);
  } finally {
    for (const server of servers.splice(0)) {
      await server.kill();
    }
    execFileSync('umount', [volume]);
  }
});

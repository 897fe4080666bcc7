// The data guard, proven against a real PostgreSQL: the container's own command (its start steps,
// then the image's entrypoint) runs on a "volume" holding databases in the layouts the library
// and the image have used, and either lets the image initialise or start, or refuses with where
// the data is, which major, and the ways forward (in the log and in the termination message,
// which the pod's status shows). Old data is written by PostgreSQL 15, the new image is 18.
import * as fs from 'fs';
import * as path from 'path';
import { Testing } from 'cdk8s';
import { PostgresStatefulSet, PostgresStatefulSetProps } from '../lib';
import { freePorts, Installation, PG15, PG18, Sandbox, Server } from './pg/harness';
import { SimulatedPod } from './pg/pod';
import { synth } from './util';

jest.setTimeout(60_000);

let PORT: number;
beforeAll(async () => {
  [PORT] = await freePorts(1);
  PG18.check();
});

let sandbox: Sandbox;
let servers: Server[];
beforeEach(() => {
  sandbox = new Sandbox('guard-');
  servers = [];
});
afterEach(async () => {
  for (const server of servers) {
    await server.kill();
  }
  sandbox.cleanup();
});

/** Pod `ordinal` of an instance run by `pg`, on the sandbox's volume of that ordinal (the same claim across re-syntheses). */
function pod(pg: Installation, props: PostgresStatefulSetProps, ordinal = 0, env: { [name: string]: string } = {}) {
  const chart = Testing.chart();
  new PostgresStatefulSet(chart, 'Db', { statefulSetName: 'pg', secretName: 'pg-secret', port: PORT, image: pg.image, ...props });
  const termination = path.join(sandbox.dir, `termination-${ordinal}`);
  const p = new SimulatedPod({ objects: synth(chart), secrets: { 'pg-secret': { POSTGRES_PASSWORD: 'tes6Aev8', POSTGRES_REPLICATION_PASSWORD: 'r' } } },
    { ordinal, sandbox, install: pg, env: { POSTGRES_STATEFULSET_TERMINATION_LOG: termination, ...env } });
  return { pod: p, termination: () => (fs.existsSync(termination) ? fs.readFileSync(termination, 'utf-8') : '') };
}

async function boot(p: SimulatedPod): Promise<Server> {
  const server = await p.boot();
  servers.push(server);
  return server;
}

test('a volume without a database (only lost+found) is initialised', async () => {
  const { pod: p } = pod(PG15, {});
  fs.mkdirSync(path.join(p.volume, 'lost+found'));
  const server = await boot(p);
  expect(server.log).toContain(`no database on the volume: PostgreSQL 15 initialises ${p.pgData}`);
});

test('a new major\'s layout over the old one\'s data refuses to start, and says where the data is, which major, and the ways forward', async () => {
  // GIVEN an instance made with an older image, with a row (layout: volume at /var/lib/postgresql/data, PGDATA in pgdata/)
  const old = pod(PG15, {});
  const first = await boot(old.pod);
  first.sql('CREATE TABLE keep (id int); INSERT INTO keep VALUES (1)', 'postgres', 'tes6Aev8', 'postgres');
  await first.stop();
  expect(old.pod.pgData).toBe(path.join(old.pod.volume, 'pgdata'));

  // WHEN the app is synthesized again with the default image's major (PostgreSQL 18 and its layout) on the same claim
  const next = pod(PG18, {});
  expect(next.pod.pgData).toBe(path.join(next.pod.volume, '18', 'docker'));
  const refused = next.pod.runStartSteps();

  // THEN the pod does not start: nothing initialises a new, empty database beside the old one
  expect(refused.status).toBe(1);
  const reason = `${next.pod.pgData} is empty, but the volume holds a database elsewhere: ${path.join(next.pod.volume, 'pgdata')} (PostgreSQL 15);`;
  expect(refused.stderr).toContain(reason);
  expect(refused.stderr).toContain('starting would initialise a new, empty database beside it; ways forward: (1) run the image and data layout that wrote it again');
  expect(refused.stderr).toContain('(2) upgrade it: set majorUpgrade to the image it was written with');
  expect(refused.stdout).not.toContain('docker-entrypoint.sh'); // the image's entrypoint never ran
  expect(next.termination()).toContain(`data-guard: ${reason}`);
  expect(fs.existsSync(path.join(next.pod.pgData, 'PG_VERSION'))).toBe(false);

  // AND the old data is untouched: the old manifest starts it again, with its row
  const again = await boot(pod(PG15, {}).pod);
  expect(again.sql('SELECT id FROM keep', 'postgres', 'tes6Aev8', 'postgres')).toBe('1');
});

test('a data directory of another major at PGDATA itself refuses to start', async () => {
  const first = pod(PG15, { dataMountPath: '/data', pgData: '/data/pgdata' });
  await (await boot(first.pod)).stop();
  const next = pod(PG18, { dataMountPath: '/data', pgData: '/data/pgdata' });
  const refused = next.pod.runStartSteps();
  expect(refused.status).toBe(1);
  expect(refused.stderr).toContain(`${next.pod.pgData} holds a PostgreSQL 15 database, but the image runs PostgreSQL 18, which cannot open it; ways forward:`);
});

test('the configured data directory starts, and other data directories on the volume are only mentioned', async () => {
  const { pod: p } = pod(PG15, {});
  await (await boot(p)).stop();
  const kept = path.join(p.volume, 'pgdata.pg14');
  PG15.runOk(['cp', '-a', p.pgData, kept]); // as the postgres user, as a kept copy would be
  const server = await boot(p);
  expect(server.log).toContain(`other data directories on the volume, not used: ${kept} (PostgreSQL 15); remove them when you no longer need them`);
});

test('files that are not a database at PGDATA refuse to start', () => {
  const { pod: p } = pod(PG15, {});
  fs.mkdirSync(p.pgData, { recursive: true });
  fs.writeFileSync(path.join(p.pgData, 'notes.txt'), 'keep me');
  const refused = p.runStartSteps();
  expect(refused.status).toBe(1);
  expect(refused.stderr).toContain('holds files but no database (no PG_VERSION)');
});

test('a standby\'s data directory of another major, or left at another path, is removed so that the standby clones its primary again', () => {
  // GIVEN a standby's volume with a standby data directory of PostgreSQL 15 at the old layout's path
  const old = pod(PG15, { replicas: 2 }, 1);
  PG15.initdb({ ...old.pod.env, PGDATA: old.pod.pgData });
  fs.writeFileSync(path.join(old.pod.pgData, 'standby.signal'), '');
  // WHEN the standby starts with PostgreSQL 18 and its layout
  const next = pod(PG18, { replicas: 2 }, 1, { POSTGRES_REPLICATION_PASSWORD: '' });
  const steps = next.pod.runStartSteps();
  // THEN the old standby data is gone (the replication step then needs its password to clone)
  expect(steps.stdout).toContain(`removing standby data directories left on the volume, to clone the primary again: ${old.pod.pgData} (PostgreSQL 15, a standby);`);
  expect(fs.existsSync(old.pod.pgData)).toBe(false);
  expect(steps.stderr).toContain('no replication password');
});

test('a data directory that is not a standby\'s is never removed, on any pod', () => {
  const old = pod(PG15, { replicas: 2 }, 1);
  PG15.initdb({ ...old.pod.env, PGDATA: old.pod.pgData });
  const next = pod(PG18, { replicas: 2 }, 1);
  const refused = next.pod.runStartSteps();
  expect(refused.status).toBe(1);
  expect(refused.stderr).toContain(`is empty, but the volume holds a database elsewhere: ${old.pod.pgData} (PostgreSQL 15);`);
  expect(fs.existsSync(path.join(old.pod.pgData, 'PG_VERSION'))).toBe(true);
});

// Streaming replication, proven against a real PostgreSQL: the scripts and commands come from
// the synthesized manifests (the ConfigMap, the init container, the probes) and run as the
// kubelet would run them, with each "pod" on loopback.
//
// Stand-ins for what Kubernetes provides, and nothing else:
// - HOSTNAME is the pod name, as the kubelet sets it;
// - PRIMARY_HOST (`<statefulset>-0.<service>`, resolved by cluster DNS) is 127.0.0.1;
// - every pod has its own volume, so PGDATA differs per pod;
// - pods share one loopback here, so pods other than 0 listen on a port of their own (PGPORT);
//   they still reach the primary on the manifest's port (PRIMARY_PORT).
//
// Every test runs against PostgreSQL 15 and 18 (the image is the installation's version), from
// replication-15.pg.test.ts and replication-18.pg.test.ts: one file each, so that jest runs them
// in parallel (they mostly wait: for retries, restarts, streaming).
import { ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Testing } from 'cdk8s';
import { PostgresCredentials, PostgresStatefulSet, PostgresStatefulSetProps } from '../lib';
import { containerEnv, Env, freePorts, Installation, killGroup, Sandbox, Server, waitFor } from './pg/harness';
import { container, oneOfKind, synth } from './util';

let PRIMARY_PORT: number;
let STANDBY_PORTS: number[];
const SUPERUSER_PASSWORD = 'tes6Aev8';
const REPLICATION_PASSWORD = "r3pl'ic\"ate $now";

let sandbox: Sandbox;
let servers: Server[];
let initContainers: ChildProcess[];

/** The manifest of a replicated StatefulSet, and what the pods would see of it. */
function replicated(pg: Installation, props: PostgresStatefulSetProps = {}) {
  const chart = Testing.chart();
  const db = new PostgresStatefulSet(chart, 'Db', {
    image: pg.image, statefulSetName: 'pg', serviceName: 'pg-svc', replicas: 3, port: PRIMARY_PORT,
    dataMountPath: path.join(sandbox.dir, 'pod-0'),
    credentials: PostgresCredentials.fromPassword(SUPERUSER_PASSWORD),
    replicationCredentials: PostgresCredentials.fromPassword(REPLICATION_PASSWORD, { username: 'replicator', passwordKey: 'POSTGRES_REPLICATION_PASSWORD' }),
    ...props,
  });
  const manifest = synth(chart);
  const secret = oneOfKind(manifest, 'Secret');
  const secrets = { [secret.metadata.name]: secret.stringData };
  const sts = oneOfKind(manifest, 'StatefulSet');
  const main = container(manifest);
  const init = sts.spec.template.spec.initContainers[0];
  const scripts = oneOfKind(manifest, 'ConfigMap', 'pg-replication').data;
  const scriptsMount = init.volumeMounts.find((m: any) => m.name === 'replication').mountPath;
  const initdbSource = sts.spec.template.spec.volumes.find((v: any) => v.name === 'initdb').projected.sources[0].configMap;
  return { pg, db, manifest, main, init, scripts, scriptsMount, initdbSource, secrets };
}

type Spec = ReturnType<typeof replicated>;

/** What pod `ordinal` sees: its env (with the stand-ins above) and a way to run a mounted script. */
function pod(spec: Spec, ordinal: number, initOverrides: Env = {}) {
  const pgData = ordinal === 0 ? containerEnv(spec.main, spec.secrets).PGDATA : path.join(sandbox.mkdir(`pod-${ordinal}`), 'pgdata');
  const overrides: Env = { HOSTNAME: `pg-${ordinal}`, PGDATA: pgData, ...(ordinal === 0 ? {} : { PGPORT: String(STANDBY_PORTS[ordinal - 1]) }) };
  const mainEnv = { ...containerEnv(spec.main, spec.secrets), ...overrides };
  const initEnv = { ...containerEnv(spec.init, spec.secrets), ...overrides, PRIMARY_HOST: '127.0.0.1', ...initOverrides };
  const scriptsDir = sandbox.mkdir('scripts');
  for (const [name, content] of Object.entries(spec.scripts)) {
    fs.writeFileSync(path.join(scriptsDir, name), content as string);
  }
  /** A container command, with the ConfigMap mount point mapped to where the files are here. */
  const command = (argv: string[]) => argv.map((a) => a.startsWith(`${spec.scriptsMount}/`) ? path.join(scriptsDir, a.slice(spec.scriptsMount.length + 1)) : a);
  return {
    mainEnv,
    initEnv,
    socketDir: sandbox.mkdir(`run-${ordinal}`),
    /** Runs the init container to completion. */
    runInitContainer: () => spec.pg.run(command(spec.init.command), initEnv, { timeoutMs: 60_000 }),
    /** Starts the init container, which may wait for the primary; `output()` is what it printed so far. */
    startInitContainer: () => {
      const child = spec.pg.start(command(spec.init.command), initEnv);
      initContainers.push(child);
      let output = '';
      child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
      child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
      const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      return { child, exit, output: () => output };
    },
    readiness: () => spec.pg.run(command(spec.main.readinessProbe.exec.command), mainEnv),
  };
}

/** Starts a pod's main container as the image does (the entrypoint, with the initdb.d ConfigMap items). */
async function startContainer(spec: Spec, p: ReturnType<typeof pod>) {
  const initdbD = spec.initdbSource.items.map((item: any) => ({ name: item.path, content: spec.scripts[item.key], mode: item.mode }));
  const server = await spec.pg.startPod({ env: p.mainEnv, socketDir: p.socketDir, args: spec.main.args, initdbD });
  servers.push(server);
  return server;
}

/** Brings up pod 0 as the image would: init container, then the entrypoint (initdb, the initdb.d script, postgres). */
async function startPrimary(spec: Spec) {
  const p0 = pod(spec, 0);
  const init = p0.runInitContainer();
  expect(init.stdout).toContain('primary with an empty data directory');
  expect(init.status).toBe(0);
  const server = await startContainer(spec, p0);
  expect(server.log).toContain('created replication role replicator');
  return { ...p0, server };
}

async function startStandby(spec: Spec, ordinal: number, p = pod(spec, ordinal)) {
  const server = await startContainer(spec, p);
  expect(server.log).toContain('Skipping initialization'); // cloned by the init container
  return { ...p, server };
}

const sql = (server: Server, query: string) => server.sql(query, 'postgres', SUPERUSER_PASSWORD, 'postgres');

/** Registers the tests, with their set-up, for one installation. */
export function replicationTests(pg: Installation): void {
  beforeAll(async () => {
    [PRIMARY_PORT, ...STANDBY_PORTS] = await freePorts(3);
  });
  beforeEach(() => {
    sandbox = new Sandbox('repl-');
    servers = [];
    initContainers = [];
  });
  afterEach(async () => {
    for (const child of initContainers) {
      await killGroup(child); // one that still waits or retries when a test fails
    }
    for (const server of servers) {
      await server.kill();
    }
    sandbox.cleanup();
  });

  test('pod 0 initialises as the primary, a standby clones it, streams, rejects writes, and resumes after a restart', async () => {
    const spec = replicated(pg);

    // GIVEN the standby's init container, started before the primary exists: it waits
    const p1 = pod(spec, 1);
    const cloning = p1.startInitContainer();
    await waitFor('the standby to wait for the primary', () => cloning.output().includes(`waiting for the primary 127.0.0.1:${PRIMARY_PORT}`));

    // WHEN the primary comes up: initdb runs the replication role script
    const primary = await startPrimary(spec);
    expect(sql(primary.server, 'SELECT rolreplication FROM pg_roles WHERE rolname = \'replicator\'')).toBe('t');
    expect(fs.readFileSync(path.join(primary.mainEnv.PGDATA, 'pg_hba.conf'), 'utf-8')).toMatch(/^host replication replicator all scram-sha-256$/m);
    expect(primary.server.login('replicator', REPLICATION_PASSWORD).ok).toBe(true); // the Secret's password, checked
    expect(primary.readiness().status).toBe(0);

    // THEN the standby clones it into its empty volume, as a standby
    expect(await cloning.exit).toBe(0);
    expect(cloning.output()).toContain('cloned: starting as a hot standby');
    expect(cloning.output()).not.toContain('pg_basebackup failed');
    expect(fs.existsSync(path.join(p1.mainEnv.PGDATA, 'standby.signal'))).toBe(true);
    expect(fs.existsSync(`${p1.mainEnv.PGDATA}.clone`)).toBe(false);
    expect(fs.statSync(p1.mainEnv.PGDATA).mode & 0o777).toBe(0o700);

    // AND it starts as a hot standby that streams from the primary
    const standby = await startStandby(spec, 1, p1);
    await waitFor('the standby to stream', () => sql(primary.server, 'SELECT count(*) FROM pg_stat_replication WHERE state = \'streaming\'') === '1');
    expect(sql(primary.server, 'SELECT application_name FROM pg_stat_replication')).toBe('pg-1');
    await waitFor('the standby to be ready', () => standby.readiness().status === 0);

    // a row written on the primary is read on the standby
    sql(primary.server, 'CREATE TABLE company (id int PRIMARY KEY, name text NOT NULL); INSERT INTO company VALUES (1, \'anynines GmbH\')');
    await waitFor('the row to reach the standby', () => sql(standby.server, 'SELECT count(*) FROM company WHERE id = 1') === '1');
    expect(sql(standby.server, 'SELECT name FROM company')).toBe('anynines GmbH');

    // the standby rejects writes
    const write = pg.run(['psql', '-c', 'INSERT INTO company VALUES (2, \'x\')'], standby.server.clientEnv('postgres', SUPERUSER_PASSWORD));
    expect(write.status).not.toBe(0);
    expect(write.stderr).toContain('cannot execute INSERT in a read-only transaction');

    // a restarted standby keeps its data and resumes streaming
    await standby.server.stop();
    const reinit = p1.runInitContainer();
    expect(reinit.stdout).toContain('standby data present');
    expect(reinit.status).toBe(0);
    const restarted = await startStandby(spec, 1, p1);
    expect(restarted.server.log).not.toMatch(/entering standby mode[\s\S]*database system was not properly shut down/);
    sql(primary.server, 'INSERT INTO company VALUES (2, \'written while the standby restarted\')');
    await waitFor('the standby to catch up', () => sql(restarted.server, 'SELECT count(*) FROM company') === '2');
    await waitFor('the standby to be ready again', () => restarted.readiness().status === 0);
  }, 120_000);

  test('a standby is not ready before it has streamed, and readiness does not flap while the primary restarts', async () => {
    const spec = replicated(pg);
    const primary = await startPrimary(spec);
    const p1 = pod(spec, 1);
    expect(p1.runInitContainer().status).toBe(0);

    // the primary goes away before the standby's first start
    await primary.server.stop();
    const standby = await startStandby(spec, 1, p1);
    const notYet = standby.readiness();
    expect(notYet.status).toBe(1);
    expect(notYet.stdout).toContain('standby has not streamed from the primary since it started');

    // once it streams it is ready, and stays ready while the primary restarts
    const back = await startContainer(spec, primary);
    await waitFor('the standby to be ready', () => standby.readiness().status === 0);
    await back.stop();
    expect(standby.readiness().status).toBe(0);

    // pod 0's readiness is its own: a primary, not in recovery
    await startContainer(spec, primary);
    expect(primary.readiness().status).toBe(0);
  }, 120_000);

  test('raising replicas on a running instance: the standby retries its clone until pod 0 restarts on the new template', async () => {
    // GIVEN pod 0 initialised and running from the one-replica manifest: no replication role, no pg_hba.conf line
    const single = (() => {
      const chart = Testing.chart();
      new PostgresStatefulSet(chart, 'Db', {
        image: pg.image, statefulSetName: 'pg', serviceName: 'pg-svc', port: PRIMARY_PORT, dataMountPath: path.join(sandbox.dir, 'pod-0'),
        credentials: PostgresCredentials.fromPassword(SUPERUSER_PASSWORD),
      });
      const manifest = synth(chart);
      const secret = oneOfKind(manifest, 'Secret');
      return { env: containerEnv(container(manifest), { [secret.metadata.name]: secret.stringData }), args: container(manifest).args };
    })();
    const spec = replicated(pg);
    const p0 = pod(spec, 0);
    const old = await pg.startPod({ env: single.env, socketDir: p0.socketDir, args: single.args });
    servers.push(old);

    // WHEN replicas is raised: the StatefulSet controller creates pod 1 (new template) before it replaces pod 0
    const p1 = pod(spec, 1);
    const cloning = p1.startInitContainer();
    // THEN pod 1's clone is refused, and it retries, saying what to do
    await waitFor('the clone to be refused', () => /pg_basebackup failed[\s\S]*pg_basebackup failed/.test(cloning.output()), 30_000);
    expect(cloning.output()).toContain('no pg_hba.conf entry for replication connection');
    expect(cloning.output()).toContain('kubectl delete pod pg-0');
    expect(fs.existsSync(p1.mainEnv.PGDATA) && fs.readdirSync(p1.mainEnv.PGDATA).length > 0).toBe(false);

    // WHEN pod 0 restarts on the new template (kubectl delete pod pg-0): its init container creates the role
    await old.stop();
    const init = p0.runInitContainer();
    expect(`${init.stdout}${init.stderr}`).toContain('primary: replication role created');
    expect(init.status).toBe(0);
    expect(p0.runInitContainer().stdout).toContain('replication role and pg_hba.conf line present');
    const primary = await startContainer(spec, p0);
    expect(primary.login('replicator', REPLICATION_PASSWORD).ok).toBe(true);

    // THEN pod 1's next attempt clones it, and it streams
    expect(await cloning.exit).toBe(0);
    expect(cloning.output()).toContain('cloned: starting as a hot standby');
    const standby = await startStandby(spec, 1, p1);
    await waitFor('the standby to be ready', () => standby.readiness().status === 0);
  }, 120_000);

  test('a standby with the wrong replication password is refused, and says so while it retries', async () => {
    const spec = replicated(pg);
    await startPrimary(spec);
    const p1 = pod(spec, 1, { POSTGRES_REPLICATION_PASSWORD: 'not-the-secret' });
    const cloning = p1.startInitContainer();
    await waitFor('the clone to be refused', () => cloning.output().includes('retrying in 2 s'), 30_000);
    expect(cloning.output()).toContain('password authentication failed for user "replicator"');
    expect(fs.existsSync(p1.mainEnv.PGDATA) && fs.readdirSync(p1.mainEnv.PGDATA).length > 0).toBe(false);
  }, 60_000);

  describe('the init container refuses data directories that would diverge', () => {
    test('pod 0 holding a standby, a standby holding a promoted database, or a volume of stray files', async () => {
      const spec = replicated(pg);
      const primary = await startPrimary(spec);
      const p1 = pod(spec, 1);
      expect(p1.runInitContainer().status).toBe(0);

      // a standby whose data directory is no longer a standby's (promoted)
      fs.rmSync(path.join(p1.mainEnv.PGDATA, 'standby.signal'));
      const promoted = p1.runInitContainer();
      expect(promoted.status).toBe(1);
      expect(promoted.stderr).toContain('holds a database that is not a standby (was it promoted?)');

      // pod 0 holding a standby's data directory
      await primary.server.stop();
      fs.writeFileSync(path.join(primary.mainEnv.PGDATA, 'standby.signal'), '');
      const p0 = pod(spec, 0).runInitContainer();
      expect(p0.status).toBe(1);
      expect(p0.stderr).toContain('pod 0 is the primary, but');

      // a standby volume with files but no database
      const p2 = pod(spec, 2);
      fs.mkdirSync(p2.mainEnv.PGDATA, { recursive: true });
      fs.writeFileSync(path.join(p2.mainEnv.PGDATA, 'notes.txt'), 'keep me');
      const stray = p2.runInitContainer();
      expect(stray.status).toBe(1);
      expect(stray.stderr).toContain('holds files but no database; refusing to overwrite them');
      expect(fs.readFileSync(path.join(p2.mainEnv.PGDATA, 'notes.txt'), 'utf-8')).toBe('keep me');
    }, 120_000);
  });
}

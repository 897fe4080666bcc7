// Streaming replication, proven against a real PostgreSQL: the scripts and commands come from
// the synthesized manifests (the scripts ConfigMap, the container's command and start steps, the
// probes) and run as the kubelet would run them, with each "pod" on loopback (see pg/pod.ts for
// the stand-ins), the image's entrypoint standing in as test/pg/entrypoint.sh.
//
// The tests run against PostgreSQL 15 and 18 (the image is the installation's version), from
// replication-15.pg.test.ts and replication-18.pg.test.ts: one file each, so that jest runs them
// in parallel (they mostly wait: for retries, restarts, streaming). Those that prove the start
// steps' own handling (a rotated or renamed role, a password's bytes, the refusals before
// anything is created, a wrong superuser password, the line an older database gets) run on 18
// only, the default image's major (`majorIndependentTest`); clone, streaming, readiness,
// diverging data directories and the server's password method run on both.
import * as fs from 'fs';
import * as path from 'path';
import { Testing } from 'cdk8s';
import { PostgresCredentials, PostgresStatefulSet, PostgresStatefulSetProps } from '../lib';
import { freePorts, Installation, killGroup, majorIndependentTest, Sandbox, Server, SuiteOptions, waitFor } from './pg/harness';
import { Manifest, Running, SimulatedPod } from './pg/pod';
import { oneOfKind, synth } from './util';

export function replicationTests(pg: Installation, options: SuiteOptions = {}): void {
  const independent = majorIndependentTest(options);
  let PRIMARY_PORT: number;
  let STANDBY_PORTS: number[];
  beforeAll(async () => {
    [PRIMARY_PORT, ...STANDBY_PORTS] = await freePorts(3);
    pg.check();
  });
  const SUPERUSER_PASSWORD = 'tes6Aev8';
  const REPLICATION_PASSWORD = "r3pl'ic\"ate $now: \\ ok";

  let sandbox: Sandbox;
  let servers: Server[];
  let running: Running[];
  beforeEach(() => {
    sandbox = new Sandbox('repl-');
    servers = [];
    running = [];
  });
  afterEach(async () => {
    for (const r of running) {
      await killGroup(r.child); // a standby that still waits or retries when a test fails
    }
    for (const server of servers) {
      await server.kill();
    }
    sandbox.cleanup();
  });

  /** The manifest of an instance of `replicas` pods, and the Secret the pods read. */
  function instance(props: PostgresStatefulSetProps = {}, replicationPassword: string | undefined = REPLICATION_PASSWORD): Manifest & { db: PostgresStatefulSet } {
    const chart = Testing.chart();
    const db = new PostgresStatefulSet(chart, 'Db', {
      image: pg.image, statefulSetName: 'pg', serviceName: 'pg-svc', replicas: 3, port: PRIMARY_PORT,
      secretName: 'pg-secret',
      ...props,
    });
    const objects = synth(chart);
    const secret = { POSTGRES_PASSWORD: SUPERUSER_PASSWORD, ...(replicationPassword !== undefined ? { POSTGRES_REPLICATION_PASSWORD: replicationPassword } : {}) };
    return { db, objects, secrets: { 'pg-secret': secret } };
  }

  /** Pod `ordinal` of an instance; pods other than 0 listen on a port of their own. */
  function pod(manifest: Manifest, ordinal: number, env = {}) {
    return new SimulatedPod(manifest, { ordinal, sandbox, install: pg, port: ordinal === 0 ? PRIMARY_PORT : STANDBY_PORTS[ordinal - 1], env });
  }

  /** Runs a pod's container: its start steps, then the image's entrypoint; the server's log holds both. */
  async function boot(p: SimulatedPod): Promise<Server> {
    const server = await p.boot();
    servers.push(server);
    return server;
  }

  /** Starts a standby's start steps in the background (it may wait for its primary). */
  function startSteps(p: SimulatedPod): Running {
    const r = p.startStartSteps();
    running.push(r);
    return r;
  }

  const sql = (server: Server, query: string) => server.sql(query, 'postgres', SUPERUSER_PASSWORD, 'postgres');
  const roles = (server: Server) => sql(server, 'SELECT string_agg(rolname, \',\' ORDER BY rolname) FROM pg_roles WHERE rolname !~ \'^pg_\'');

  /** Whether a query succeeds yet (a standby that has not replayed a table throws). */
  function tryCount(server: Server, query: string): string | undefined {
    try {
      return sql(server, query);
    } catch {
      return undefined;
    }
  }

  test('pod 0 initialises as the primary, a standby creates the replication role, clones it, streams, rejects writes, and resumes after a restart', async () => {
    const manifest = instance();
    const p0 = pod(manifest, 0);
    const p1 = pod(manifest, 1);

    // GIVEN the standby's container, started before the primary exists: it waits
    const cloning = startSteps(p1);
    await waitFor('the standby to wait for the primary', () => cloning.output().includes(`waiting for the primary 127.0.0.1:${PRIMARY_PORT}`));

    // WHEN the primary comes up: initdb admits the standbys in pg_hba.conf (the role comes from the first standby)
    const primary = await boot(p0);
    expect(primary.log).toContain('pg_hba.conf admits replication connections');
    expect(fs.readFileSync(path.join(p0.pgData, 'pg_hba.conf'), 'utf-8')).toMatch(/^host replication all all scram-sha-256 # postgres-statefulset: standbys$/m);
    expect(p0.probe('readinessProbe').status).toBe(0);

    // THEN the standby creates the role with the Secret's password, clones the primary into its empty volume, as a standby
    expect(await cloning.exit).toBe(0);
    expect(cloning.output()).toContain('the primary has the replication role replicator, with the Secret\'s password');
    expect(cloning.output()).toContain('cloned: starting as a hot standby');
    expect(cloning.output()).not.toContain('pg_basebackup failed');
    expect(primary.login('replicator', REPLICATION_PASSWORD).ok).toBe(true);
    expect(sql(primary, 'SHOW wal_keep_size')).toBe('1GB'); // WAL kept for standbys that fall behind
    expect(fs.existsSync(path.join(p1.pgData, 'standby.signal'))).toBe(true);
    expect(fs.existsSync(`${p1.pgData}.clone`)).toBe(false);
    expect(fs.statSync(p1.pgData).mode & 0o777).toBe(0o700);
    // the standby's connection names its password file; no password is stored in its configuration
    const autoConf = fs.readFileSync(path.join(p1.pgData, 'postgresql.auto.conf'), 'utf-8');
    expect(autoConf).toContain(`passfile=''${p1.pgData}.pgpass''`);
    expect(autoConf).not.toContain('password=');
    expect(fs.statSync(`${p1.pgData}.pgpass`).mode & 0o777).toBe(0o600);

    // AND it starts as a hot standby that streams from the primary
    const standby = await boot(p1);
    await waitFor('the standby to stream', () => sql(primary, 'SELECT count(*) FROM pg_stat_replication WHERE state = \'streaming\'') === '1');
    expect(sql(primary, 'SELECT application_name FROM pg_stat_replication')).toBe('pg-1');
    await waitFor('the standby to be ready', () => p1.probe('readinessProbe').status === 0);

    // a row written on the primary is read on the standby
    sql(primary, 'CREATE TABLE company (id int PRIMARY KEY, name text NOT NULL); INSERT INTO company VALUES (1, \'anynines GmbH\')');
    await waitFor('the row to reach the standby', () => tryCount(standby, 'SELECT count(*) FROM company WHERE id = 1') === '1');
    expect(sql(standby, 'SELECT name FROM company')).toBe('anynines GmbH');

    // the standby rejects writes
    const write = pg.run(['psql', '-h', '127.0.0.1', '-U', 'postgres', '-d', 'postgres', '-c', 'INSERT INTO company VALUES (2, \'x\')'], { ...p1.env, PGPASSWORD: SUPERUSER_PASSWORD });
    expect(write.status).not.toBe(0);
    expect(write.stderr).toContain('cannot execute INSERT in a read-only transaction');

    // a restarted standby keeps its data and resumes streaming
    pg.runOk(['pg_ctl', 'stop', '-D', p1.pgData, '-m', 'fast', '-w'], p1.env);
    await standby.waitForExit();
    const restarted = await boot(p1);
    expect(restarted.log).not.toContain('cloning');
    expect(restarted.log).not.toMatch(/entering standby mode[\s\S]*database system was not properly shut down/);
    sql(primary, 'INSERT INTO company VALUES (2, \'written while the standby restarted\')');
    await waitFor('the standby to catch up', () => tryCount(restarted, 'SELECT count(*) FROM company') === '2');
    await waitFor('the standby to be ready again', () => p1.probe('readinessProbe').status === 0);
  }, 120_000);

  test('raising replicas changes nothing in the pod template: pod 0 of one replica serves standbys without a restart', async () => {
    // GIVEN pod 0 of the one-replica instance, running, with the replication password not even in the Secret yet
    const single = instance({ replicas: 1 }, undefined);
    const three = instance({ replicas: 3 });
    const sts = (m: Manifest) => oneOfKind(m.objects, 'StatefulSet');
    expect(sts(single).spec.template).toEqual(sts(three).spec.template);
    const p0 = pod(single, 0);
    const primary = await boot(p0);
    sql(primary, 'CREATE TABLE keep (id int); INSERT INTO keep VALUES (42)');

    // WHEN replicas is raised (and the password put into the Secret): the StatefulSet only adds pods
    const p1 = pod(three, 1);
    const standby = await boot(p1);
    // THEN the new pod clones the running primary and streams; the primary never restarted
    await waitFor('the standby to be ready', () => p1.probe('readinessProbe').status === 0);
    expect(sql(standby, 'SELECT id FROM keep')).toBe('42');
    expect(primary.exited).toBe(false);

    // AND scaling down and up again: the standby's retained volume resumes streaming
    pg.runOk(['pg_ctl', 'stop', '-D', p1.pgData, '-m', 'fast', '-w'], p1.env);
    await standby.waitForExit();
    sql(primary, 'INSERT INTO keep VALUES (43)');
    const back = await boot(pod(three, 1));
    await waitFor('the standby to catch up', () => tryCount(back, 'SELECT count(*) FROM keep') === '2');
  }, 120_000);

  test('a standby is not ready before it has streamed, and readiness does not flap while the primary restarts', async () => {
    const manifest = instance();
    const p0 = pod(manifest, 0);
    const p1 = pod(manifest, 1);
    const primary = await boot(p0);
    expect(p1.runStartSteps().status).toBe(0); // cloned

    // the primary goes away before the standby's first start
    pg.runOk(['pg_ctl', 'stop', '-D', p0.pgData, '-m', 'fast', '-w'], p0.env);
    await primary.waitForExit();
    await boot(p1);
    const notYet = p1.probe('readinessProbe');
    expect(notYet.status).toBe(1);
    expect(notYet.stdout).toContain('standby has not streamed from the primary since it started');
    expect(p1.probe('livenessProbe').status).toBe(0);

    // once it streams it is ready, and stays ready while the primary restarts
    const back = await boot(p0);
    await waitFor('the standby to be ready', () => p1.probe('readinessProbe').status === 0);
    pg.runOk(['pg_ctl', 'stop', '-D', p0.pgData, '-m', 'fast', '-w'], p0.env);
    await back.waitForExit();
    expect(p1.probe('readinessProbe').status).toBe(0);

    // pod 0's readiness is its own: a primary, not in recovery
    await boot(p0);
    expect(p0.probe('readinessProbe').status).toBe(0);
  }, 120_000);

  independent('a database initialised by an older version of the library (no pg_hba.conf line): pod 0 adds the line when it restarts, without starting a server', async () => {
    // GIVEN pod 0's volume, initialised without the line, and a standby that cannot clone it yet
    const manifest = instance();
    const p0 = pod(manifest, 0);
    const old = await boot(p0);
    fs.writeFileSync(path.join(p0.pgData, 'pg_hba.conf'), fs.readFileSync(path.join(p0.pgData, 'pg_hba.conf'), 'utf-8').replace(/^host replication .*$/m, ''));
    pg.runOk(['pg_ctl', 'reload', '-D', p0.pgData], p0.env);
    const p1 = pod(manifest, 1);
    const cloning = startSteps(p1);
    await waitFor('the clone to be refused', () => /pg_basebackup failed[\s\S]*pg_basebackup failed/.test(cloning.output()), 30_000);
    expect(cloning.output()).toContain('no pg_hba.conf entry for replication connection');
    expect(cloning.output()).toContain('pod 0 has not started since this version of the library was applied');

    // WHEN pod 0 restarts on the current template
    pg.runOk(['pg_ctl', 'stop', '-D', p0.pgData, '-m', 'fast', '-w'], p0.env);
    await old.waitForExit();
    const primary = await boot(p0);
    expect(primary.log).toContain('pg_hba.conf now admits replication connections');
    expect(primary.log.match(/database system is ready to accept connections/g)).toHaveLength(1); // no temporary server

    // THEN the standby's next attempt clones it
    expect(await cloning.exit).toBe(0);
    expect(cloning.output()).toContain('cloned: starting as a hot standby');
    expect((await boot(p1)).exited).toBe(false);
  }, 120_000);

  independent('a rotated replication password reaches the role and a standby\'s password file when the standby restarts', async () => {
    const manifest = instance();
    const p0 = pod(manifest, 0);
    const primary = await boot(p0);
    const first = await boot(pod(manifest, 1));
    await waitFor('the standby to stream', () => sql(primary, 'SELECT count(*) FROM pg_stat_replication WHERE state = \'streaming\'') === '1');
    pg.runOk(['pg_ctl', 'stop', '-D', first.env.PGDATA, '-m', 'fast', '-w'], first.env);
    await first.waitForExit();

    // WHEN the Secret holds a new password and the standby restarts
    const rotated = 'n3w-passw0rd';
    const p1 = pod({ ...manifest, secrets: { 'pg-secret': { ...manifest.secrets['pg-secret'], POSTGRES_REPLICATION_PASSWORD: rotated } } }, 1);
    const restarted = await boot(p1);
    // THEN it streams again with the new password, which the primary's role now has
    await waitFor('the standby to stream again', () => sql(primary, 'SELECT count(*) FROM pg_stat_replication WHERE state = \'streaming\'') === '1');
    expect(fs.readFileSync(`${p1.pgData}.pgpass`, 'utf-8')).toBe('*:*:*:replicator:n3w-passw0rd\n');
    expect(restarted.exited).toBe(false);
    expect(primary.login('replicator', rotated).ok).toBe(true);
    expect(primary.login('replicator', REPLICATION_PASSWORD).ok).toBe(false);
  }, 120_000);

  independent('a renamed replication role reaches the primary and the standby when the standby restarts, without touching pod 0', async () => {
    const manifest = instance();
    const primary = await boot(pod(manifest, 0));
    const first = await boot(pod(manifest, 1));
    await waitFor('the standby to stream', () => sql(primary, 'SELECT usename FROM pg_stat_replication WHERE state = \'streaming\'') === 'replicator');
    pg.runOk(['pg_ctl', 'stop', '-D', first.env.PGDATA, '-m', 'fast', '-w'], first.env);
    await first.waitForExit();

    const renamed = pod(instance({ replicationCredentials: PostgresCredentials.expectSecret({ username: 'standby' }) }), 1);
    await boot(renamed);
    await waitFor('the standby to stream as the new role', () => sql(primary, 'SELECT usename FROM pg_stat_replication WHERE state = \'streaming\'') === 'standby');
    expect(fs.readFileSync(path.join(renamed.pgData, 'postgresql.auto.conf'), 'utf-8')).toContain('primary_conninfo = \'user=\'\'standby\'\'');
  }, 120_000);

  independent('a standby with a wrong superuser password cannot prepare the primary, and says so while it retries', async () => {
    const manifest = instance();
    await boot(pod(manifest, 0));
    const p1 = pod(manifest, 1, { POSTGRES_PASSWORD: 'not-the-secret' });
    const cloning = startSteps(p1);
    await waitFor('the connection to be refused', () => cloning.output().includes('retrying in 2 s'), 30_000);
    expect(cloning.output()).toContain('password authentication failed for user "postgres"');
    expect(cloning.output()).toContain('check the superuser password in the Secret');
    expect(fs.existsSync(p1.pgData) && fs.readdirSync(p1.pgData).length > 0).toBe(false);
  }, 60_000);

  describe('data directories that would diverge are refused', () => {
    test('pod 0 holding a standby, a standby holding a promoted database, or a volume of stray files', async () => {
      const manifest = instance();
      const p0 = pod(manifest, 0);
      const primary = await boot(p0);
      const p1 = pod(manifest, 1);
      expect(p1.runStartSteps().status).toBe(0);

      // a standby whose data directory is no longer a standby's (promoted)
      fs.rmSync(path.join(p1.pgData, 'standby.signal'));
      const promoted = p1.runStartSteps();
      expect(promoted.status).toBe(1);
      expect(promoted.stderr).toContain('holds a database that is not a standby (was it promoted?)');

      // pod 0 holding a standby's data directory
      pg.runOk(['pg_ctl', 'stop', '-D', p0.pgData, '-m', 'fast', '-w'], p0.env);
      await primary.waitForExit();
      fs.writeFileSync(path.join(p0.pgData, 'standby.signal'), '');
      const standbyAt0 = p0.runStartSteps();
      expect(standbyAt0.status).toBe(1);
      expect(standbyAt0.stderr).toContain('pod 0 is the primary, but');

      // a volume with files but no database
      const p2 = pod(manifest, 2);
      fs.mkdirSync(p2.pgData, { recursive: true });
      fs.writeFileSync(path.join(p2.pgData, 'notes.txt'), 'keep me');
      const stray = p2.runStartSteps();
      expect(stray.status).toBe(1);
      expect(stray.stderr).toContain('holds files but no database (no PG_VERSION)');
      expect(fs.readFileSync(path.join(p2.pgData, 'notes.txt'), 'utf-8')).toBe('keep me');
    }, 120_000);
  });

  describe('no prop or secret value is ever SQL or shell text', () => {
    independent('the role takes the password byte for byte: quotes, backslashes, colons, dollars and SQL in it create nothing else', async () => {
      const password = "x'; CREATE ROLE evil SUPERUSER LOGIN PASSWORD 'e'; --\\ $HOME `id` \"$(id)\" '' a:b";
      const manifest = instance({}, password);
      const primary = await boot(pod(manifest, 0));
      const p1 = pod(manifest, 1);
      const standby = await boot(p1);
      expect(standby.log).toContain('cloned: starting as a hot standby');
      expect(primary.login('replicator', password).ok).toBe(true);
      expect(primary.login('replicator', password.slice(0, -1)).ok).toBe(false);
      expect(roles(primary)).toBe('postgres,replicator');
      await waitFor('the standby to stream with that password', () => sql(primary, 'SELECT count(*) FROM pg_stat_replication WHERE state = \'streaming\'') === '1');
    }, 60_000);

    for (const [what, password] of [
      ['SQL after a line break', "x\nCREATE ROLE evil SUPERUSER LOGIN PASSWORD 'e';\n"],
      ['a trailing newline (kubectl create secret --from-file)', 'secret\n'],
    ]) {
      independent(`a replication password with ${what} is refused with the reason before anything is created`, async () => {
        const manifest = instance({}, password);
        const primary = await boot(pod(manifest, 0));
        const refused = pod(manifest, 1).runStartSteps();
        expect(refused.status).toBe(1);
        expect(refused.stderr).toContain('the replication password holds a line break, which a password file cannot hold');
        expect(refused.stderr).toContain('recreate the Secret with --from-literal');
        expect(roles(primary)).toBe('postgres');
      }, 60_000);
    }

    test('an upper-case PASSWORD_ENCRYPTION: pg_hba.conf gets the method the server uses, and standbys log in', async () => {
      // GIVEN a database of MD5 passwords initialised without the line (by an older version of the library)
      const manifest = instance({ parameters: { PASSWORD_ENCRYPTION: 'MD5' } });
      const p0 = pod(manifest, 0);
      const old = await boot(p0);
      fs.writeFileSync(path.join(p0.pgData, 'pg_hba.conf'), fs.readFileSync(path.join(p0.pgData, 'pg_hba.conf'), 'utf-8').replace(/^host replication .*$/m, ''));
      pg.runOk(['pg_ctl', 'stop', '-D', p0.pgData, '-m', 'fast', '-w'], p0.env);
      await old.waitForExit();
      // WHEN pod 0 restarts: the line names md5 as PostgreSQL spells it, and the primary starts
      const primary = await boot(p0);
      expect(fs.readFileSync(path.join(p0.pgData, 'pg_hba.conf'), 'utf-8')).toMatch(/^host replication all all md5 # postgres-statefulset: standbys$/m);
      // THEN a standby creates the role (hashed with md5) and clones
      const standby = await boot(pod(manifest, 1));
      expect(standby.log).toContain('cloned: starting as a hot standby');
      expect(sql(primary, 'SELECT rolpassword LIKE \'md5%\' FROM pg_authid WHERE rolname = \'replicator\'')).toBe('t');
    }, 60_000);
  });
}

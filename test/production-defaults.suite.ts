// The production defaults, proven against a real PostgreSQL: every command and value below is
// read from the synthesized StatefulSet, not copied from the library. The tests that start a
// server run against PostgreSQL 15 and 18 (the image is the installation's version), from
// production-defaults-15.pg.test.ts and production-defaults-18.pg.test.ts: one file each, so
// that jest runs them in parallel (they mostly wait for servers to start and stop). The preStop
// hook through gosu, which tests the hook's wrapper, runs on 18 only, the default image's major
// (`majorIndependentTest`).
import * as fs from 'fs';
import * as path from 'path';
import { Duration, Testing } from 'cdk8s';
import { PostgresCredentials, PostgresStatefulSet, PostgresStatefulSetProps } from '../lib';
import { containerEnv, freePorts, Installation, IS_ROOT, killGroup, majorIndependentTest, Sandbox, Server, SuiteOptions, waitFor } from './pg/harness';
import { SimulatedPod } from './pg/pod';
import { container, oneOfKind, synth } from './util';

const PASSWORD = 'tes6Aev8';
let PORT: number;

function synthesize(props: PostgresStatefulSetProps) {
  const chart = Testing.chart();
  const db = new PostgresStatefulSet(chart, 'Db', {
    port: PORT,
    credentials: PostgresCredentials.fromPassword(PASSWORD, { username: 'admin' }),
    ...props,
  });
  const manifest = synth(chart);
  const c = container(manifest);
  const secret = oneOfKind(manifest, 'Secret');
  return { db, manifest, container: c, podSpec: oneOfKind(manifest, 'StatefulSet').spec.template.spec, secrets: { [secret.metadata.name]: secret.stringData } };
}

let sandbox: Sandbox;
let servers: Server[];

/**
 * Starts pod 0 of a synthesized StatefulSet: its container's own command (start steps, then the
 * image's entrypoint, which initialises and starts the server). The data volume is "mounted" in
 * the sandbox (dataMountPath), so PGDATA and the preStop command of the manifest name real
 * directories and run unchanged.
 */
async function startFromManifest(pg: Installation, props: PostgresStatefulSetProps = {}, options: { asRoot?: boolean } = {}) {
  const s = synthesize({ image: pg.image, dataMountPath: sandbox.mkdir('volume'), ...props });
  const pod = new SimulatedPod({ objects: s.manifest, secrets: s.secrets }, { ordinal: 0, sandbox, install: pg });
  const server = await pod.boot(options);
  servers.push(server);
  return { ...s, pod, env: pod.env, server };
}

/** An idle psql session over TCP, as a pooled connection would be: stop it with killGroup. */
function idleClient(pg: Installation) {
  return pg.start(['psql', '-X', '-h', '127.0.0.1', '-p', String(PORT), '-U', 'admin', '-d', 'admin'], { PGPASSWORD: PASSWORD });
}

const idleClients = (server: Server) => server.sql(
  'SELECT count(*) FROM pg_stat_activity WHERE backend_type = \'client backend\' AND pid <> pg_backend_pid()', 'admin', PASSWORD);

/** Registers the tests that start servers, with their set-up, for one installation. */
export function productionDefaultsTests(pg: Installation, options: SuiteOptions = {}): void {
  const independent = majorIndependentTest(options);
  beforeAll(async () => {
    [PORT] = await freePorts(1);
  });
  beforeEach(() => {
    sandbox = new Sandbox();
    servers = [];
  });
  afterEach(async () => {
    for (const server of servers) {
      await server.kill();
    }
    sandbox.cleanup();
  });

  describe('probes', () => {
    test('the startup, readiness and liveness probes pass against a running server and fail against a stopped one', async () => {
      const { pod, server } = await startFromManifest(pg);
      const kinds = ['startupProbe', 'readinessProbe', 'livenessProbe'] as const;
      for (const kind of kinds) {
        const result = pod.probe(kind);
        expect(`${kind} -> ${result.status} ${result.stdout}${result.stderr}`).toBe(`${kind} -> 0 `);
      }
      await server.stop();
      for (const kind of kinds) {
        expect(`${kind} -> ${pod.probe(kind).status === 0 ? 'passes' : 'fails'}`).toBe(`${kind} -> fails`);
      }
      expect(pod.probe('readinessProbe').stdout).toContain('not accepting connections');
    }, 60_000);

    test('a server that answers but rejects connections (as in crash recovery) is not live-killed, nor ready', async () => {
      // GIVEN a server that answers "rejecting connections": in recovery without hot standby, as
      // during crash recovery after a backend crash
      const { pod, server } = await startFromManifest(pg);
      await server.stop();
      fs.writeFileSync(path.join(pod.pgData, 'standby.signal'), '');
      const recovering = pg.start([...pod.args, '-c', 'hot_standby=off', '-c', `unix_socket_directories=${sandbox.mkdir('run-r')}`,
        '-c', 'listen_addresses=127.0.0.1'], pod.env);
      try {
        await waitFor('the server to reject connections', () => pg.run(['pg_isready', '-h', '127.0.0.1', '-p', pod.env.PGPORT], pod.env).status === 1);
        // THEN liveness passes, readiness and startup fail
        expect(pod.probe('livenessProbe').status).toBe(0);
        expect(pod.probe('startupProbe').status).not.toBe(0);
        const readiness = pod.probe('readinessProbe');
        expect(readiness.stdout).toContain('the database system is not accepting connections');
        expect(readiness.status).not.toBe(0);
      } finally {
        // an immediate stop removes the server's shared memory (/dev/shm/PostgreSQL.*, a System V
        // segment), which a SIGKILL of the postmaster would leave behind
        pg.run(['pg_ctl', 'stop', '-D', pod.pgData, '-m', 'immediate', '-w'], pod.env);
        await killGroup(recovering);
      }
    }, 60_000);

    test('while a standby clones its primary (the clone directory exists), startup and liveness pass and readiness fails', () => {
      const s = synthesize({ image: pg.image, dataMountPath: sandbox.mkdir('volume') });
      const pod = new SimulatedPod({ objects: s.manifest, secrets: s.secrets }, { ordinal: 1, sandbox, install: pg });
      fs.mkdirSync(`${pod.pgData}.clone`, { recursive: true });
      expect(pod.probe('startupProbe').status).toBe(0);
      expect(pod.probe('livenessProbe').status).toBe(0);
      expect(pod.probe('readinessProbe').status).not.toBe(0);
      fs.rmSync(`${pod.pgData}.clone`, { recursive: true });
      expect(pod.probe('startupProbe').status).not.toBe(0);
      expect(pod.probe('livenessProbe').status).not.toBe(0);
    });
  });

  describe('fast shutdown', () => {
    test('with an idle client connected, the preStop command stops the server cleanly within the grace period', async () => {
      // GIVEN a server with an idle client, started as the pod starts it
      const { pod, podSpec, server } = await startFromManifest(pg, { terminationGracePeriod: Duration.seconds(20) });
      const client = idleClient(pg);
      try {
        await waitFor('the idle client to connect', () => /^[1-9]/.test(idleClients(server)));

        // WHEN the kubelet runs the preStop hook
        const started = Date.now();
        const result = pod.preStop({ timeoutMs: podSpec.terminationGracePeriodSeconds * 1000 });
        const seconds = (Date.now() - started) / 1000;

        // THEN the server is down within the grace period, after a fast shutdown
        expect(result.status).toBe(0);
        await server.waitForExit(5_000);
        expect(seconds).toBeLessThan(podSpec.terminationGracePeriodSeconds);
        expect(server.log).toContain('received fast shutdown request');
        expect(server.log).toContain('database system is shut down');
      } finally {
        await killGroup(client);
      }

      // AND the next start finds a cleanly shut down database
      const next = await pod.boot();
      servers.push(next);
      expect(next.log).toMatch(/database system was shut down at/);
      expect(next.log).not.toMatch(/not properly shut down|automatic recovery in progress/);
    }, 60_000);

    test('without it, the kubelet\'s SIGTERM is a smart shutdown that waits for the idle client', async () => {
      const { env, server } = await startFromManifest(pg);
      const client = idleClient(pg);
      try {
        await waitFor('the idle client to connect', () => /^[1-9]/.test(idleClients(server)));
        const pid = fs.readFileSync(path.join(env.PGDATA, 'postmaster.pid'), 'utf-8').split('\n')[0];
        process.kill(Number(pid), 'SIGTERM');
        await server.waitForLog(/received smart shutdown request/);
        await new Promise((resolve) => setTimeout(resolve, 2000));
        expect(server.exited).toBe(false);
      } finally {
        await killGroup(client);
      }
    }, 60_000);

    independent('without the restricted profile the container may run as root: the hook stops the server as postgres through gosu', async () => {
      // GIVEN a pod without the restricted profile and no runAsUser: the image's user decides (root;
      // the entrypoint continues as postgres)
      const { pod, env, server } = await startFromManifest(pg, { restrictedSecurityContext: false }, { asRoot: IS_ROOT });
      const preStop = pod.preStopCommand();
      expect(preStop.slice(0, 2)).toEqual(['sh', '-c']);
      expect(preStop.slice(4)).toEqual(['pg_ctl', 'stop', '-D', env.PGDATA, '-m', 'fast', '-w', '-t', '54']);

      // WHEN the kubelet runs it: as root (when the tests run as root), with a gosu standing in for
      // the image's (/usr/local/bin/gosu), or else as the postgres user
      let result;
      if (IS_ROOT) {
        const bin = sandbox.mkdir('bin');
        fs.writeFileSync(path.join(bin, 'gosu'), '#!/bin/sh\nuser="$1"; shift\nexec runuser -u "$user" -- "$@"\n', { mode: 0o755 });
        result = pg.run(preStop, { ...env, PATH: `${bin}:${pg.bin}:/usr/bin:/bin:/usr/sbin:/sbin` }, { asRoot: true, timeoutMs: 30_000 });
      } else {
        result = pg.run(preStop, env, { timeoutMs: 30_000 });
      }

      // THEN the server stops with a fast shutdown
      expect(`${result.status} ${result.stderr}`).toBe('0 ');
      await server.waitForExit(5_000);
      expect(server.log).toContain('received fast shutdown request');
    }, 60_000);
  });

  describe('non-root, on a volume whose root holds lost+found', () => {
    test('PGDATA is created inside the mount, by the non-root user, and initdb succeeds there', async () => {
      // GIVEN a volume as the kubelet prepares it for fsGroup: root-owned, group-writable, with lost+found
      const { container: c, secrets } = synthesize({ image: pg.image });
      const env = containerEnv(c, secrets);
      const mount = path.join(sandbox.dir, 'mnt');
      fs.mkdirSync(path.join(mount, 'lost+found'), { recursive: true });
      fs.chmodSync(path.join(mount, 'lost+found'), 0o700);
      fs.chmodSync(mount, 0o1777);
      const pgData = path.join(mount, path.relative(c.volumeMounts.find((m: any) => m.name === 'data').mountPath, env.PGDATA));
      expect(path.relative(mount, pgData)).toBe(pg.major >= 18 ? '18/docker' : 'pgdata'); // the image's layout

      // WHEN the data directory is the mount itself, initdb refuses (the exercise's CrashLoopBackOff)
      const atRoot = pg.run(['initdb', '--username=admin', '-D', mount], env);
      expect(atRoot.status).not.toBe(0);
      expect(atRoot.stderr).toMatch(/exists but is not empty[\s\S]*lost\+found/);

      // THEN with PGDATA in a subdirectory it initialises and runs, as a non-root user
      const server = await pg.startPod({ env: { ...env, PGDATA: pgData }, socketDir: sandbox.mkdir('run'), args: c.args });
      servers.push(server);
      expect(server.sql('SELECT current_setting(\'data_directory\') || \' \' || (SELECT rolname FROM pg_roles WHERE oid = 10)', 'admin', PASSWORD))
        .toBe(`${pgData} admin`);
      expect(pg.runOk(['id', '-u']).trim()).not.toBe('0');
      expect(fs.statSync(pgData).mode & 0o777).toBe(0o700);
    }, 60_000);
  });

  describe('configuration reaches the server', () => {
    test('parameters rendered as -c arguments are accepted and in effect', async () => {
      const parameters = { shared_buffers: '64MB', max_connections: '40', work_mem: '8MB', log_min_duration_statement: '250ms' };
      const { container: c, server } = await startFromManifest(pg, { parameters });
      expect(c.args).toEqual(['postgres', '-c', 'log_min_duration_statement=250ms', '-c', 'max_connections=40',
        '-c', 'shared_buffers=64MB', '-c', 'work_mem=8MB']);
      for (const [name, value] of Object.entries(parameters)) {
        expect(`${name}=${server.sql(`SHOW ${name}`, 'admin', PASSWORD)}`).toBe(`${name}=${value}`);
      }
    }, 60_000);

    test('an unknown parameter passes the construct\'s name check but is refused by postgres itself', () => {
      const { container: c, secrets } = synthesize({ image: pg.image, dataMountPath: sandbox.mkdir('volume'), parameters: { shared_bufers: '64MB' } });
      const env = containerEnv(c, secrets);
      pg.initdb(env);
      const result = pg.run([...c.args, '-C', 'shared_buffers'], env);
      expect(result.status).not.toBe(0);
      expect(result.stderr).toContain('unrecognized configuration parameter "shared_bufers"');
    }, 60_000);

    test('POSTGRES_USER, POSTGRES_DB, the password from the Secret and POSTGRES_INITDB_ARGS (data checksums)', async () => {
      const { server, env } = await startFromManifest(pg, { databaseName: 'orders' });
      expect([env.POSTGRES_USER, env.POSTGRES_DB, env.POSTGRES_INITDB_ARGS]).toEqual(['admin', 'orders', '--data-checksums']);
      expect(server.sql('SELECT current_user || \' \' || current_database()', 'admin', PASSWORD, 'orders')).toBe('admin orders');
      expect(server.sql('SHOW data_checksums', 'admin', PASSWORD, 'postgres')).toBe('on');
      // the password is checked over TCP (see the harness: loopback is not trusted here)
      expect(server.login('admin', PASSWORD)).toEqual({ ok: true, error: '' });
      expect(server.login('admin', 'wrong').error).toContain('password authentication failed for user "admin"');
    }, 60_000);
  });
}

/** The tests that only read the manifest (of the default image): registered once. */
export function manifestTests(): void {
  test('the startup probe allows an hour for initdb and crash recovery, checking every second', () => {
    const { container: c } = synthesize({});
    expect(c.startupProbe.periodSeconds * c.startupProbe.failureThreshold).toBe(3600);
    expect(c.startupProbe.periodSeconds).toBe(1);
  });

  test.each([[45, 40], [10, 9], [2, 1], [1, 1], [3600, 3240]])('the preStop hook leaves a margin before the kubelet\'s SIGKILL: grace period %p s, pg_ctl waits %p s', (grace, wait) => {
    const { container: c } = synthesize({ terminationGracePeriod: Duration.seconds(grace) });
    expect(c.lifecycle.preStop.exec.command).toEqual(['pg_ctl', 'stop', '-D', '/var/lib/postgresql/18/docker', '-m', 'fast', '-w', '-t', String(wait)]);
  });
}

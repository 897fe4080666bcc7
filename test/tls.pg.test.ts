// TLS, proven against a real PostgreSQL with a CA and certificates made by openssl: the scripts,
// parameters, probes and client settings come from the synthesized manifests and run as the
// kubelet would run them (test/tls-fixtures.ts has the stand-ins for Secret volumes and mounts).
//
// Stand-ins for what Kubernetes provides, and nothing else:
// - the Services' and pods' DNS names resolve to 127.0.0.1: clients keep the name as PGHOST (what
//   the certificate is checked against) and connect to PGHOSTADDR=127.0.0.1;
// - the pod's fsGroup is the postgres user's group here (the server runs as postgres);
// - 127.0.0.1 stands for the network between pods (the harness removes initdb's loopback trust).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { PostgresCertificate, PostgresCredentials, PostgresSmokeTest, PostgresStatefulSet, PostgresStatefulSetProps } from '../lib';
import { containerEnv, Env, freePorts, initdb, IS_ROOT, killGroup, PG_BIN, run, runInitScripts, runOk, Sandbox, Server, start, waitFor } from './pg/harness';
import { conninfo, KeyPair, makeCa, makeServerCertificate, relocateMounts, writeConfigMapVolume, writeSecretVolume } from './tls-fixtures';
import { container, oneOfKind, synth } from './util';

const PASSWORD = 'tes6Aev8';
let PORT: number;
let STANDBY_PORT: number;
/** The group the kubelet gives the Secret's files (fsGroup): one the server user has. */
const FS_GROUP = IS_ROOT ? Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf-8' }).stdout.trim()) : process.getgid!();
const POSTGRES_UID = IS_ROOT ? Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf-8' }).stdout.trim()) : process.getuid!();

let pkiDir: string;
let ca: KeyPair;
let otherCa: KeyPair;
let certificate: KeyPair;
beforeAll(async () => {
  [PORT, STANDBY_PORT] = await freePorts(2);
  // the certificate a PostgresCertificate would have cert-manager issue: its DNS names
  const { db } = synthesize();
  pkiDir = new Sandbox('tls-pki-').dir;
  ca = makeCa(pkiDir, 'ca');
  otherCa = makeCa(pkiDir, 'other-ca');
  certificate = makeServerCertificate(pkiDir, 'orders', ca, PostgresCertificate.dnsNamesOf(db));
});
afterAll(() => {
  fs.rmSync(pkiDir, { recursive: true, force: true });
});

let sandbox: Sandbox;
let servers: Server[];
beforeEach(() => {
  sandbox = new Sandbox('tls-');
  servers = [];
});
afterEach(async () => {
  for (const server of servers) {
    await server.kill();
  }
  sandbox.cleanup();
});

/** A database in namespace `shop` with TLS from the Secret `orders-tls`, a connected Deployment and a smoke test. */
function synthesize(props: PostgresStatefulSetProps = {}) {
  const chart = new Chart(Testing.app(), 'test', { namespace: 'shop' });
  const db = new PostgresStatefulSet(chart, 'Orders', {
    statefulSetName: 'orders', serviceName: 'orders', port: PORT,
    dataMountPath: sandbox ? path.join(sandbox.dir, 'volume') : '/var/lib/postgresql',
    credentials: PostgresCredentials.fromPassword(PASSWORD),
    tlsSecret: kplus.Secret.fromSecretName(chart, 'OrdersTls', 'orders-tls'),
    ...props,
  });
  const api = new kplus.Deployment(chart, 'Api', { containers: [{ image: 'example/api:1.0' }] });
  db.connect(api);
  new PostgresSmokeTest(chart, 'Smoke', { database: db });
  const manifest = synth(chart);
  const secret = oneOfKind(manifest, 'Secret');
  return {
    db, manifest,
    main: container(manifest),
    volumes: oneOfKind(manifest, 'StatefulSet').spec.template.spec.volumes as any[],
    initContainers: (oneOfKind(manifest, 'StatefulSet').spec.template.spec.initContainers ?? []) as any[],
    client: oneOfKind(manifest, 'Deployment').spec.template.spec,
    job: oneOfKind(manifest, 'Job').spec.template.spec,
    secrets: { [secret.metadata.name]: secret.stringData },
  };
}

type Synthesized = ReturnType<typeof synthesize>;

/**
 * A pod of a synthesized instance (pod 0 unless `ordinal` says otherwise): its volumes in the
 * sandbox (the Secret volumes as the kubelet writes them, with `fsGroup`; the ConfigMaps), and its
 * containers' environment, arguments and commands with the mount paths moved there. Pods other
 * than 0 have a data directory and a port of their own (they share one loopback).
 */
function pod(s: Synthesized, options: { fsGroup?: number; ordinal?: number } = {}) {
  const fsGroup = 'fsGroup' in options ? options.fsGroup : FS_GROUP;
  const ordinal = options.ordinal ?? 0;
  const volume = (name: string) => s.volumes.find((v) => v.name === name);
  const dir = (name: string) => path.join(sandbox.dir, `pod-${ordinal}`, name);
  const dirs: { [volume: string]: string } = {};
  for (const v of s.volumes) {
    if (v.secret && v.name.startsWith('tls')) {
      dirs[v.name] = dir(v.name);
      writeSecretVolume(dirs[v.name], v, { 'tls.crt': certificate.crt, 'tls.key': certificate.key, 'ca.crt': ca.crt }, fsGroup);
    } else if (v.configMap) {
      dirs[v.name] = dir(v.name);
      writeConfigMapVolume(dirs[v.name], oneOfKind(s.manifest, 'ConfigMap', v.configMap.name).data);
    } else if (v.name === 'tls-server') {
      dirs[v.name] = sandbox.mkdir(`pod-${ordinal}/${v.name}`); // an emptyDir
    }
  }
  const relocate = relocateMounts(s.main, (name) => dirs[name]);
  const own: Env = { HOSTNAME: `orders-${ordinal}`, ...(ordinal === 0 ? {} : { PGDATA: path.join(sandbox.mkdir(`pod-${ordinal}/data`), 'pgdata'), PGPORT: String(STANDBY_PORT) }) };
  const env: Env = { ...Object.fromEntries(Object.entries(containerEnv(s.main, s.secrets)).map(([k, v]) => [k, relocate(v)])), ...own };
  const args: string[] = s.main.args.map(relocate);
  const socketDir = sandbox.mkdir(`pod-${ordinal}/run`);
  const initdbFiles = volume('initdb').projected.sources.flatMap((source: any) => source.configMap.items.map((item: any) => ({
    name: item.path, mode: item.mode, content: oneOfKind(s.manifest, 'ConfigMap', source.configMap.name).data[item.key],
  })));
  const init = s.initContainers[0];
  const relocateInit = init ? relocateMounts(init, (name) => dirs[name]) : (v: string) => v;
  const initEnv: Env = init ? {
    ...Object.fromEntries(Object.entries(containerEnv(init, s.secrets)).map(([k, v]) => [k, relocateInit(v)])),
    ...own,
    // cluster DNS: PRIMARY_HOST, pod 0's name behind the headless Service, is this host (only standbys connect to it;
    // pod 0's init container connects to a socket, which PGHOSTADDR would override)
    ...(ordinal === 0 ? {} : { PGHOSTADDR: '127.0.0.1' }),
  } : {};
  return {
    dirs, env, args, socketDir, initEnv,
    /** The container's start steps, as its command runs them: `sh <step> <args>`. */
    startSteps: () => env.POSTGRES_STATEFULSET_START_STEPS.split(':').map((step) => run(['sh', step, ...args], env)),
    /** A first start: the start steps, the image's initialisation with the initdb scripts, then postgres. */
    initialise: async () => {
      for (const step of env.POSTGRES_STATEFULSET_START_STEPS.split(':')) {
        runOk(['sh', step, ...args], env);
      }
      initdb(env);
      runInitScripts(env, socketDir, initdbFiles);
      return startServer();
    },
    /** A start of the container on an initialised data directory: the start steps, then postgres (the image skips initialisation). */
    start: async () => {
      for (const step of env.POSTGRES_STATEFULSET_START_STEPS.split(':')) {
        runOk(['sh', step, ...args], env);
      }
      return startServer();
    },
    readiness: () => run(s.main.readinessProbe.exec.command.map(relocate), env),
    /** The init container's command with its arguments, as the kubelet runs it. */
    initCommand: () => [...init.command, ...(init.args ?? [])].map(relocateInit),
  };

  async function startServer() {
    const server = await Server.start(env, socketDir, args);
    servers.push(server);
    return server;
  }
}

/** Connects over TCP to 127.0.0.1 as if to `host` (the name the certificate is checked against) and says whether the connection uses TLS. */
function connect(host: string, params: { [key: string]: string } = {}, user = 'postgres') {
  const result = run(['psql', '-X', '-tA', '-d', conninfo({ host, hostaddr: '127.0.0.1', port: PORT, user, dbname: 'postgres', ...params }),
    '-c', 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'], { PGPASSWORD: PASSWORD, PGCONNECT_TIMEOUT: '5' });
  return { ok: result.status === 0, ssl: result.stdout.trim() === 't', error: result.stderr.trim() };
}

const verifyFull = (rootCert = ca.crtFile) => ({ sslmode: 'verify-full', sslrootcert: rootCert });

describe('a database that requires TLS (tlsSecret; tlsRequired by default)', () => {
  test('verify-full succeeds with the names of its Services and pods; a wrong CA, a name not in the certificate and plaintext are refused', async () => {
    // GIVEN pod 0, initialised and started as the kubelet and the image would
    const s = synthesize();
    const p = pod(s);
    const server = await p.initialise();

    // THEN the server reads copies of the Secret's files that it owns, mode 0600
    for (const file of ['server.crt', 'server.key']) {
      const stat = fs.statSync(path.join(p.dirs['tls-server'], file));
      expect([file, stat.uid, stat.mode & 0o777]).toEqual([file, POSTGRES_UID, 0o600]);
    }
    expect(server.log).not.toMatch(/FATAL|could not load/);

    // AND every name the Services and pods are reached by verifies against the CA
    for (const host of [s.db.host, s.db.serviceDnsName, 'orders', ...s.db.podDnsNames, 'orders-0.orders', 'orders.shop.svc']) {
      expect({ host, ...connect(host, verifyFull()) }).toEqual({ host, ok: true, ssl: true, error: '' });
    }

    // AND a CA that did not issue the certificate, or a name the certificate does not hold, fail the verification
    expect(connect(s.db.host, verifyFull(otherCa.crtFile)).error).toContain('certificate verify failed');
    const wrongName = connect('orders-1.orders.shop.svc.cluster.local', verifyFull());
    expect(wrongName.ok).toBe(false);
    expect(wrongName.error).toMatch(/server certificate for "orders" \(and \d+ other names?\) does not match host name "orders-1.orders.shop.svc.cluster.local"/);

    // AND connections without TLS are refused, replication connections too
    const plain = connect(s.db.host, { sslmode: 'disable' });
    expect(plain.ok).toBe(false);
    expect(plain.error).toContain('pg_hba.conf rejects connection for host "127.0.0.1", user "postgres", database "postgres", no encryption');
    const plainReplication = run(['psql', '-X', '-d', conninfo({ host: '127.0.0.1', port: PORT, user: 'postgres', replication: 'true', sslmode: 'disable' }),
      '-c', 'IDENTIFY_SYSTEM'], { PGPASSWORD: PASSWORD });
    expect(plainReplication.stderr).toContain('pg_hba.conf rejects replication connection for host "127.0.0.1", user "postgres", no encryption');
    expect(connect(s.db.host, { sslmode: 'require' })).toEqual({ ok: true, ssl: true, error: '' });

    // AND the probes pass (the readiness command runs pg_isready after its reload check)
    const relocate = relocateMounts(s.main, (name) => p.dirs[name]);
    for (const probe of [s.main.startupProbe, s.main.readinessProbe, s.main.livenessProbe]) {
      const result = run(probe.exec.command.map(relocate), p.env);
      expect(`${result.status} ${result.stdout}`).toBe(`0 127.0.0.1:${PORT} - accepting connections\n`);
    }
  }, 60_000);

  test('a workload wired with connect() verifies the server through PGSSLMODE, PGSSLROOTCERT and DATABASE_URL; the smoke test too', async () => {
    const s = synthesize();
    await pod(s).initialise();

    // GIVEN the connected Deployment's container, its CA volume written as the kubelet writes it
    const client = s.client.containers[0];
    const caVolume = s.client.volumes.find((v: any) => v.name === client.volumeMounts[0].name);
    expect(caVolume.secret.items).toEqual([{ key: 'ca.crt', path: 'ca.crt' }]); // the CA only, never the server's key
    const caDir = path.join(sandbox.dir, 'client-ca');
    writeSecretVolume(caDir, caVolume, { 'ca.crt': ca.crt });
    const relocate = relocateMounts(client, () => caDir);
    const env: Env = Object.fromEntries(Object.entries(containerEnv(client, s.secrets)).map(([k, v]) => [k, relocate(v)]));
    expect(env.PGSSLMODE).toBe('verify-full');
    const query = ['-X', '-tA', '-c', 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'];

    // WHEN it connects with its environment, or with DATABASE_URL alone (and the password)
    const byEnv = run(['psql', ...query], { ...env, PGHOSTADDR: '127.0.0.1' });
    const byUrl = run(['psql', env.DATABASE_URL, ...query], { PGPASSWORD: env.PGPASSWORD, PGHOSTADDR: '127.0.0.1' });

    // THEN both verify the server and use TLS
    expect(`${byEnv.status} ${byEnv.stdout}${byEnv.stderr}`).toBe('0 t\n');
    expect(`${byUrl.status} ${byUrl.stdout}${byUrl.stderr}`).toBe('0 t\n');
    // a wrong CA in the volume is refused: the client really verifies
    writeSecretVolume(caDir, caVolume, { 'ca.crt': otherCa.crt });
    expect(run(['psql', ...query], { ...env, PGHOSTADDR: '127.0.0.1' }).stderr).toContain('certificate verify failed');
    writeSecretVolume(caDir, caVolume, { 'ca.crt': ca.crt });

    // AND the smoke test's Job connects over TLS, and reports a certificate it refuses at once (not as a server that does not answer)
    const job = s.job.containers[0];
    const jobCaDir = path.join(sandbox.dir, 'job-ca');
    writeSecretVolume(jobCaDir, s.job.volumes[0], { 'ca.crt': ca.crt });
    const jobRelocate = relocateMounts(job, () => jobCaDir);
    const jobEnv: Env = { ...Object.fromEntries(Object.entries(containerEnv(job, s.secrets)).map(([k, v]) => [k, jobRelocate(v)])), PGHOSTADDR: '127.0.0.1' };
    const smoke = run(job.command, jobEnv);
    expect(`${smoke.status} ${smoke.stderr}`).toBe('0 ');
    expect(smoke.stdout).toContain(`smoke test: connected to ${s.db.host}:${PORT} as postgres and ran the query`);
    const started = Date.now();
    const refused = run(job.command, { ...jobEnv, PGHOST: 'orders-7.orders' });
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain('does not match host name "orders-7.orders"');
    expect(Date.now() - started).toBeLessThan(10_000);
  }, 60_000);

  test('a database initialised without TLS gets the rule at its next start; a start with nothing to change writes nothing; tlsRequired: false takes it out', async () => {
    // GIVEN a database initialised before TLS was turned on
    const s = synthesize();
    const p = pod(s);
    initdb(p.env);
    const hba = path.join(p.env.PGDATA, 'pg_hba.conf');
    const before = fs.readFileSync(hba, 'utf-8');
    expect(before).not.toContain('hostnossl all');

    // WHEN the pod starts on the TLS template
    const [first] = p.startSteps();
    expect(`${first.status} ${first.stderr}`).toBe('0 ');
    expect(first.stdout).toContain('pg_hba.conf: connections over the network without TLS are refused');
    const rewritten = fs.readFileSync(hba, 'utf-8');
    const inode = fs.statSync(hba).ino;

    // THEN the rule is in place, before the image's rule for every host
    expect(rewritten).toMatch(/# BEGIN TLS required[^\n]*\nhostnossl all +all all reject\nhostnossl replication all all reject\n# END TLS required\nhost +all +all +all +scram-sha-256/);
    // and a second start changes nothing, and does not write the file
    const [second] = p.startSteps();
    expect(`${second.status} ${second.stdout}${second.stderr}`).toBe('0 ');
    expect(fs.statSync(hba).ino).toBe(inode);
    expect(fs.readFileSync(hba, 'utf-8')).toBe(rewritten);
    const server = await Server.start(p.env, p.socketDir, p.args);
    servers.push(server);
    expect(connect(s.db.host, { sslmode: 'disable' }).error).toContain('no encryption');
    runOk(['pg_ctl', 'stop', '-D', p.env.PGDATA, '-m', 'fast', '-w'], p.env);
    await server.waitForExit();

    // WHEN it starts with tlsRequired: false
    const optional = synthesize({ tlsRequired: false });
    const q = pod(optional);
    const [step] = q.startSteps();
    expect(`${step.status} ${step.stdout}${step.stderr}`).toBe('0 pg_hba.conf: connections without TLS are accepted (tlsRequired: false)\n');

    // THEN pg_hba.conf is as it was, and both kinds of connections are accepted
    expect(fs.readFileSync(hba, 'utf-8')).toBe(before.endsWith('\n') ? before : `${before}\n`);
    servers.push(await Server.start(q.env, q.socketDir, q.args));
    expect(connect(s.db.host, { sslmode: 'disable' })).toEqual({ ok: true, ssl: false, error: '' });
    expect(connect(s.db.host, verifyFull())).toEqual({ ok: true, ssl: true, error: '' });
  }, 60_000);
});

describe('pg_hba.conf as the image writes it', () => {
  // initdb's file (loopback trust, as in the image), the image's rule, and replication's line
  const IMAGE_HBA = `# TYPE  DATABASE        USER            ADDRESS                 METHOD

# "local" is for Unix domain socket connections only
local   all             all                                     trust
# IPv4 local connections:
host    all             all             127.0.0.1/32            trust
# IPv6 local connections:
host    all             all             ::1/128                 trust
# Allow replication connections from localhost, by a user with the
# replication privilege.
local   replication     all                                     trust
host    replication     all             127.0.0.1/32            trust
host    replication     all             ::1/128                 trust

host all all all scram-sha-256

host replication replicator all scram-sha-256 # postgres-statefulset: standbys
`;

  test('the rule goes after the loopback lines (connections inside the pod, the probes\', keep the image\'s rules) and before every rule for other hosts; taken out, the file is as before', () => {
    const s = synthesize({ replicas: 2, replicationCredentials: PostgresCredentials.fromPassword('r3plicate') });
    const p = pod(s);
    const pgData = path.join(sandbox.mkdir('hba'), 'pgdata');
    runOk(['mkdir', '-m', '700', pgData]);
    runOk(['sh', '-c', 'cat > "$PGDATA/pg_hba.conf"'], { PGDATA: pgData }, { input: IMAGE_HBA });
    const script = path.join(p.dirs['tls-scripts'], 'initdb-tls.sh');

    // WHEN the initdb script runs (as the image runs it after writing pg_hba.conf)
    const required = run(['sh', script], { ...p.env, PGDATA: pgData });
    expect(`${required.status} ${required.stderr}`).toBe('0 ');
    const [head, tail] = IMAGE_HBA.split('host all all all scram-sha-256');
    expect(fs.readFileSync(path.join(pgData, 'pg_hba.conf'), 'utf-8')).toBe(`${head}# BEGIN TLS required: connections over the network without TLS are refused (PostgresStatefulSet tlsRequired; rewritten at every start)
hostnossl all         all all reject
hostnossl replication all all reject
# END TLS required
host all all all scram-sha-256${tail}`);

    // AND replication's own check of its line is not fooled by the block
    expect(run(['grep', '-c', 'postgres-statefulset', path.join(pgData, 'pg_hba.conf')]).stdout.trim()).toBe('1');

    // WHEN TLS is no longer required
    const optional = run(['sh', script], { ...p.env, PGDATA: pgData, POSTGRES_TLS_REQUIRED: 'false' });
    expect(optional.status).toBe(0);
    expect(fs.readFileSync(path.join(pgData, 'pg_hba.conf'), 'utf-8')).toBe(IMAGE_HBA);
  });
});

describe('file modes', () => {
  (IS_ROOT ? test : test.skip)('what PostgreSQL accepts for the key (be-secure-common.c): root-owned 0640 at most, owned by the server user 0600 at most; a Secret volume\'s default 0644 is refused', async () => {
    // GIVEN a data directory, and the key in files of the owners and modes a Secret volume or a copy can have
    const s = synthesize();
    const p = pod(s);
    initdb(p.env);
    const results: string[] = [];
    for (const [owner, mode] of [['root', 0o440], ['root', 0o640], ['root', 0o644], ['root', 0o660], ['postgres', 0o600], ['postgres', 0o640]] as const) {
      const dir = sandbox.mkdir(`key-${owner}-${mode.toString(8)}`);
      const key = path.join(dir, 'server.key');
      fs.writeFileSync(key, certificate.key);
      fs.chownSync(key, owner === 'root' ? 0 : POSTGRES_UID, FS_GROUP);
      fs.chmodSync(key, mode);
      // WHEN the server starts with it
      const args = ['postgres', '-c', 'ssl=on', '-c', `ssl_cert_file=${certificate.crtFile}`, '-c', `ssl_key_file=${key}`];
      let outcome: string;
      try {
        const server = await Server.start(p.env, p.socketDir, args);
        outcome = 'starts';
        await server.kill();
      } catch (e) {
        outcome = (/FATAL: +(.*)/.exec((e as Error).message)?.[1] ?? (e as Error).message).replace(dir, '<dir>');
      }
      results.push(`${owner} ${mode.toString(8)}: ${outcome}`);
    }
    // THEN
    expect(results).toEqual([
      'root 440: starts',
      'root 640: starts',
      'root 644: private key file "<dir>/server.key" has group or world access',
      'root 660: private key file "<dir>/server.key" has group or world access',
      'postgres 600: starts',
      'postgres 640: private key file "<dir>/server.key" has group or world access',
    ]);
    // and the manifest's Secret volume gives the files 0440, never the 0644 default
    expect(s.volumes.find((v) => v.name === 'tls').secret.defaultMode).toBe(0o440);
  }, 60_000);

  (IS_ROOT ? test : test.skip)('restrictedSecurityContext: false: the start step runs as root, gives the copies to postgres, and the server it starts as postgres serves TLS', async () => {
    // GIVEN the pod of a container that starts as root (the image drops to postgres itself): no fsGroup, root-owned files
    const s = synthesize({ restrictedSecurityContext: false });
    expect(oneOfKind(s.manifest, 'StatefulSet').spec.template.spec.securityContext).toBeUndefined();
    const p = pod(s, { fsGroup: undefined });
    expect(fs.statSync(path.join(p.dirs.tls, 'tls.key')).mode & 0o777).toBe(0o440);
    initdb(p.env);

    // a non-root user cannot read them: the step says why, and what fixes it
    const [denied] = p.startSteps();
    expect(denied.status).toBe(1);
    expect(denied.stderr).toContain('cannot read');
    expect(denied.stderr).toContain('the pod needs an fsGroup');

    // WHEN the start step runs as root, as the container does
    const steps = p.env.POSTGRES_STATEFULSET_START_STEPS.split(':');
    for (const step of steps) {
      const result = spawnSync('sh', [step, ...p.args], { encoding: 'utf-8', env: { ...p.env, PATH: `${PG_BIN}:/usr/bin:/bin:/usr/sbin:/sbin` } });
      expect(`${result.status} ${result.stderr}`).toBe('0 ');
    }

    // THEN the copies are postgres's, mode 0600, and so is pg_hba.conf, which it rewrote
    for (const file of [path.join(p.dirs['tls-server'], 'server.key'), path.join(p.dirs['tls-server'], 'server.crt'), path.join(p.env.PGDATA, 'pg_hba.conf')]) {
      const stat = fs.statSync(file);
      expect([path.basename(file), stat.uid, stat.mode & 0o777]).toEqual([path.basename(file), POSTGRES_UID, 0o600]);
    }
    servers.push(await Server.start(p.env, p.socketDir, p.args));
    expect(connect(s.db.host, verifyFull())).toEqual({ ok: true, ssl: true, error: '' });
    expect(connect(s.db.host, { sslmode: 'disable' }).error).toContain('no encryption');
  }, 60_000);
});

describe('renewal', () => {
  test('a certificate the kubelet updates in the Secret volume is served after the next readiness probe, without a restart, with one reload per update', async () => {
    // GIVEN a running server
    const s = synthesize();
    const p = pod(s);
    const server = await p.initialise();
    expect(p.readiness().status).toBe(0);
    expect(server.log).not.toContain('received SIGHUP');

    // WHEN cert-manager renews the certificate (here from another CA, to tell the two apart) and the kubelet updates the volume
    const renewed = makeServerCertificate(sandbox.mkdir('renewed'), 'renewed', otherCa, PostgresCertificate.dnsNamesOf(s.db));
    writeSecretVolume(p.dirs.tls, s.volumes.find((v) => v.name === 'tls'), { 'tls.crt': renewed.crt, 'tls.key': renewed.key }, FS_GROUP);
    // the server still serves the old one
    expect(connect(s.db.host, verifyFull(otherCa.crtFile)).error).toContain('certificate verify failed');

    // THEN the next readiness probe installs it and reloads the server, and reports the readiness as before
    const probe = p.readiness();
    expect(probe.status).toBe(0);
    expect(probe.stdout).toMatch(new RegExp(`127.0.0.1:${PORT} - accepting connections\n$`));
    await server.waitForLog(/received SIGHUP, reloading configuration files/);
    // it says so in the server's log (the container's log: it writes to the postmaster's stderr, which in a pod is a
    // pipe of the container runtime; here a socket, which cannot be opened by path, so it falls back to its own output)
    expect(`${server.log}${probe.stdout}`).toContain('postgres-statefulset: the TLS Secret changed: installed its certificate and key, and reloaded the server');
    await waitFor('the renewed certificate to be served', () => connect(s.db.host, verifyFull(otherCa.crtFile)).ok);
    expect(connect(s.db.host, verifyFull(ca.crtFile)).error).toContain('certificate verify failed');

    // AND later probes do not reload again
    p.readiness();
    p.readiness();
    expect(server.log.match(/received SIGHUP/g)).toHaveLength(1);

    // WHEN an update cannot be loaded (a key that does not match the certificate)
    writeSecretVolume(p.dirs.tls, s.volumes.find((v) => v.name === 'tls'), { 'tls.crt': renewed.crt, 'tls.key': certificate.key }, FS_GROUP);
    expect(p.readiness().status).toBe(0);
    // THEN PostgreSQL says so and keeps serving the certificate it has
    await server.waitForLog(/private key does not match|key values mismatch/);
    expect(connect(s.db.host, verifyFull(otherCa.crtFile))).toEqual({ ok: true, ssl: true, error: '' });
  }, 60_000);
});


describe('replication over TLS', () => {
  const REPLICATION_PASSWORD = 'r3pl1cate';
  const replicated = () => synthesize({
    replicas: 3,
    replicationCredentials: PostgresCredentials.fromPassword(REPLICATION_PASSWORD, { username: 'replicator', passwordKey: 'POSTGRES_REPLICATION_PASSWORD' }),
  });

  test('raising replicas on a database that serves TLS: pod 0\'s init container creates the replication role with a temporary server that does not need the certificate (the PostgreSQL container copies it later)', async () => {
    // GIVEN pod 0 initialised and running with one replica and TLS
    const single = pod(synthesize());
    const old = await single.initialise();
    runOk(['pg_ctl', 'stop', '-D', single.env.PGDATA, '-m', 'fast', '-w'], single.env);
    await old.waitForExit();

    // WHEN pod 0 is recreated on the replicated template: a new pod, whose emptyDir holds no copy of the certificate yet
    const s = replicated();
    const p0 = pod(s);
    fs.rmSync(p0.dirs['tls-server'], { recursive: true });
    fs.mkdirSync(p0.dirs['tls-server'], { mode: 0o777 });
    fs.chmodSync(p0.dirs['tls-server'], 0o777);
    const init = run(p0.initCommand(), p0.initEnv, { timeoutMs: 60_000 });

    // THEN its init container creates the role, and the PostgreSQL container starts and serves TLS
    expect(`${init.status} ${init.stdout}${init.stderr}`).toContain('primary: replication role created');
    expect(init.status).toBe(0);
    await p0.start();
    expect(connect(s.db.podDnsNames[0], verifyFull())).toEqual({ ok: true, ssl: true, error: '' });
    const hba = fs.readFileSync(path.join(p0.env.PGDATA, 'pg_hba.conf'), 'utf-8');
    expect(hba.indexOf('hostnossl replication all all reject')).toBeLessThan(hba.indexOf('host replication replicator all'));
  }, 60_000);

  test('a standby clones and streams with sslmode=verify-full, against the CA and the primary\'s pod name; a name or a CA the certificate does not match stops the clone, saying why', async () => {
    // GIVEN pod 0, the primary, requiring TLS
    const s = replicated();
    const primary = await pod(s).initialise();
    const sql = (query: string) => primary.sql(query, 'postgres', PASSWORD, 'postgres');

    // WHEN pod 1's init container clones it (PRIMARY_HOST is the manifest's pod name, orders-0.orders)
    const p1 = pod(s, { ordinal: 1 });
    expect(p1.initEnv).toMatchObject({ PRIMARY_HOST: 'orders-0.orders', PGSSLMODE: 'verify-full' });
    const clone = run(p1.initCommand(), p1.initEnv, { timeoutMs: 60_000 });
    expect(`${clone.status} ${clone.stderr}`).toBe('0 ');
    expect(clone.stdout).toContain('cloned: starting as a hot standby');

    // THEN the standby's connection to the primary verifies it too: pg_basebackup wrote the settings into primary_conninfo
    const conf = fs.readFileSync(path.join(p1.env.PGDATA, 'postgresql.auto.conf'), 'utf-8');
    const conninfoOf = /^primary_conninfo = '(.*)'$/m.exec(conf)?.[1].replace(/''/g, '\'');
    expect(conninfoOf).toContain('host=\'orders-0.orders\'');
    expect(conninfoOf).toContain('sslmode=\'verify-full\'');
    expect(conninfoOf).toContain(`sslrootcert='${path.join(p1.dirs['tls-ca'], 'ca.crt')}'`);

    // AND it starts, streams over TLS, and is ready
    const standby = await pod(s, { ordinal: 1 }).start();
    await waitFor('the standby to stream', () => sql('SELECT count(*) FROM pg_stat_replication WHERE state = \'streaming\'') === '1');
    expect(sql('SELECT r.application_name, s.ssl FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid)')).toBe('orders-1|t');
    await waitFor('the standby to be ready', () => p1.readiness().status === 0);
    sql('CREATE TABLE company (name text); INSERT INTO company VALUES (\'anynines GmbH\')');
    // (until the table reaches the standby, the query fails)
    await waitFor('the row to reach the standby', () => run(['psql', '-X', '-tA', '-d', conninfo({ host: '127.0.0.1', port: STANDBY_PORT, user: 'postgres', dbname: 'postgres' }),
      '-c', 'SELECT count(*) FROM company'], { PGPASSWORD: PASSWORD }).stdout.trim() === '1');
    expect(standby.sql('SELECT name FROM company', 'postgres', PASSWORD, 'postgres')).toBe('anynines GmbH');

    // WHEN a standby reaches the primary by a name the certificate does not hold, or trusts another CA
    for (const [override, reason] of [
      [{ PRIMARY_HOST: 'orders-0.elsewhere' }, 'does not match host name "orders-0.elsewhere"'],
      [{ PGSSLROOTCERT: otherCa.crtFile }, 'certificate verify failed'],
    ] as const) {
      const p2 = pod(s, { ordinal: 2 });
      const child = start(p2.initCommand(), { ...p2.initEnv, ...override });
      let output = '';
      child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
      child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
      try {
        // THEN the clone is refused with libpq's reason, and retried (not waited on as a primary that does not answer)
        // (stdout and stderr are two pipes: the retry message may arrive before libpq's reason)
        await waitFor(`the clone to be refused: ${reason}`, () => output.includes('pg_basebackup failed') && output.includes(reason), 20_000)
          .catch((e) => { throw new Error(`${e.message}; the init container said:\n${output}`); });
        expect(output).not.toContain('waiting for the primary');
      } finally {
        await killGroup(child);
      }
      expect(fs.existsSync(p2.env.PGDATA)).toBe(false);
    }
  }, 90_000);
});

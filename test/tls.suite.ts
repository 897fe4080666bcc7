// TLS, proven against a real PostgreSQL with a CA and certificates made by openssl: the pods run
// their container's own command (the start steps, TLS's among them, then the image's
// entrypoint), with the synthesized Secret volumes written as the kubelet writes them, and their
// probes; the connected workload and the smoke test connect with their own environment and CA
// volume. See pg/pod.ts and pg/volumes.ts for the stand-ins of Kubernetes; besides those:
// - the Services' and pods' DNS names resolve to 127.0.0.1: clients keep the name as PGHOST (what
//   the certificate is checked against) and connect to PGHOSTADDR=127.0.0.1, and so do the
//   standbys (`dnsNames`: PRIMARY_HOST stays `orders-0.orders`);
// - the pod's fsGroup is the postgres user's group here (the server runs as postgres).
//
// The tests that start servers run from tls-15.pg.test.ts and tls-18.pg.test.ts (the image is the
// installation's version; one file each, so that jest runs them in parallel): those that depend on
// the major on both, the others on 18, the default image's major (see `tlsTests`).
// `tlsScriptTests` (scripts on a pg_hba.conf of the image, no server) runs once.
import * as fs from 'fs';
import * as path from 'path';
import { Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { PostgresCertificate, PostgresCredentials, PostgresSmokeTest, PostgresStatefulSet, PostgresStatefulSetProps } from '../lib';
import { Env, freePorts, Installation, IS_ROOT, killGroup, majorIndependentTest, PG15, POSTGRES_IDS, Sandbox, Server, SuiteOptions, waitFor } from './pg/harness';
import { Running, SimulatedPod } from './pg/pod';
import { PodVolumes } from './pg/volumes';
import { conninfo, KeyPair, makeCa, makeServerCertificate } from './tls-fixtures';
import { oneOfKind, synth } from './util';

const PASSWORD = 'tes6Aev8';
const REPLICATION_PASSWORD = 'r3pl1cate';
/** The server user's ids here (the pods' fsGroup stands for its group). */
const POSTGRES_UID = IS_ROOT ? POSTGRES_IDS!.uid : process.getuid!();

/** The PKI of the tests: a CA, another CA that issued nothing the server serves, and the server's certificate for `dnsNames`. */
interface Pki {
  readonly dir: string;
  readonly ca: KeyPair;
  readonly otherCa: KeyPair;
  readonly certificate: KeyPair;
}

function makePki(dnsNames: string[]): Pki {
  const dir = new Sandbox('tls-pki-').dir;
  const ca = makeCa(dir, 'ca');
  return { dir, ca, otherCa: makeCa(dir, 'other-ca'), certificate: makeServerCertificate(dir, 'orders', ca, dnsNames) };
}

/** A database in namespace `shop` with TLS from the Secret `orders-tls`, a connected Deployment and a smoke test. */
function synthesizeWith(pki: Pki | undefined, props: PostgresStatefulSetProps) {
  const chart = new Chart(Testing.app(), 'test', { namespace: 'shop' });
  const db = new PostgresStatefulSet(chart, 'Orders', {
    statefulSetName: 'orders', serviceName: 'orders',
    credentials: PostgresCredentials.fromPassword(PASSWORD),
    tlsSecret: kplus.Secret.fromSecretName(chart, 'OrdersTls', 'orders-tls'),
    ...props,
  });
  const api = new kplus.Deployment(chart, 'Api', { containers: [{ image: 'example/api:1.0' }] });
  db.connect(api);
  new PostgresSmokeTest(chart, 'Smoke', { database: db });
  const objects = synth(chart);
  const secret = oneOfKind(objects, 'Secret');
  // the Secret cert-manager writes: kubernetes.io/tls, with the issuing CA's certificate
  const tls: { [key: string]: string } = pki ? { 'tls.crt': pki.certificate.crt, 'tls.key': pki.certificate.key, 'ca.crt': pki.ca.crt } : {};
  return {
    db, objects,
    secrets: { [secret.metadata.name]: secret.stringData as { [key: string]: string }, 'orders-tls': tls },
    podSpec: oneOfKind(objects, 'StatefulSet').spec.template.spec,
    client: oneOfKind(objects, 'Deployment').spec.template.spec,
    job: oneOfKind(objects, 'Job').spec.template.spec,
  };
}

type Synthesized = ReturnType<typeof synthesizeWith>;

/**
 * Registers the tests that start servers, with their set-up, for one installation. Those whose
 * outcome depends on the server or the client tools of the major (TLS itself, the key PostgreSQL
 * accepts, the reload, pg_basebackup and the standby's connection) run on every major; those that
 * prove shell steps, the clients' settings and the pod template (`majorIndependent`) on the
 * default image's major only: pass `{ majorIndependent: true }` once.
 */
export function tlsTests(pg: Installation, options: SuiteOptions = {}): void {
  const independent = majorIndependentTest(options);
  let PORT: number;
  let STANDBY_PORTS: number[];
  let pki: Pki;
  beforeAll(async () => {
    [PORT, ...STANDBY_PORTS] = await freePorts(3);
    pg.check();
    // the certificate a PostgresCertificate would have cert-manager issue: its DNS names
    pki = makePki(PostgresCertificate.dnsNamesOf(synthesizeWith(undefined, {}).db));
  });
  afterAll(() => {
    fs.rmSync(pki.dir, { recursive: true, force: true });
  });

  let sandbox: Sandbox;
  let servers: Server[];
  let running: Running[];
  beforeEach(() => {
    sandbox = new Sandbox('tls-');
    servers = [];
    running = [];
  });
  afterEach(async () => {
    for (const r of running) {
      await killGroup(r.child);
    }
    for (const server of servers) {
      await server.kill();
    }
    sandbox.cleanup();
  });

  const synthesize = (props: PostgresStatefulSetProps = {}) => synthesizeWith(pki, { image: pg.image, port: PORT, ...props });

  /** Pod `ordinal` of an instance: pods other than 0 listen on a port of their own, and reach pod 0 by its name. */
  function pod(s: Synthesized, ordinal = 0, env: Env = {}): SimulatedPod {
    return new SimulatedPod({ objects: s.objects, secrets: s.secrets },
      { ordinal, sandbox, install: pg, port: ordinal === 0 ? PORT : STANDBY_PORTS[ordinal - 1], dnsNames: true, env });
  }

  /** Runs a pod's container: its start steps, then the image's entrypoint. */
  async function boot(p: SimulatedPod, options: { asRoot?: boolean } = {}): Promise<Server> {
    const server = await p.boot(options);
    servers.push(server);
    return server;
  }

  /** What the start steps printed, without the line of the entrypoint that stands where the image's would start. */
  const stepsOutput = (result: { stdout: string }) => result.stdout.replace(/^docker-entrypoint\.sh .*\n/m, '');

  /** Connects over TCP to 127.0.0.1 as if to `host` (the name the certificate is checked against) and says whether the connection uses TLS. */
  function connect(host: string, params: { [key: string]: string } = {}, user = 'postgres') {
    const result = pg.run(['psql', '-X', '-tA', '-d', conninfo({ host, hostaddr: '127.0.0.1', port: PORT, user, dbname: 'postgres', ...params }),
      '-c', 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'], { PGPASSWORD: PASSWORD, PGCONNECT_TIMEOUT: '5' });
    return { ok: result.status === 0, ssl: result.stdout.trim() === 't', error: result.stderr.trim() };
  }

  const verifyFull = (rootCert = pki.ca.crtFile) => ({ sslmode: 'verify-full', sslrootcert: rootCert });
  const sql = (server: Server, query: string) => server.sql(query, 'postgres', PASSWORD, 'postgres');
  const hbaOf = (p: SimulatedPod) => fs.readFileSync(path.join(p.pgData, 'pg_hba.conf'), 'utf-8');

  describe('a database that requires TLS (tlsSecret; tlsRequired by default)', () => {
    test('verify-full succeeds with the names of its Services and pods; a wrong CA, a name not in the certificate and plaintext are refused', async () => {
      // GIVEN pod 0, started as the kubelet and the image start it
      const s = synthesize();
      const p = pod(s);
      const server = await boot(p);

      // THEN the server reads copies of the Secret's files that it owns, mode 0600, which the start step made
      for (const file of ['server.crt', 'server.key']) {
        const stat = fs.statSync(path.join(p.volumeDir('tls-server'), file));
        expect([file, stat.uid, stat.mode & 0o777]).toEqual([file, POSTGRES_UID, 0o600]);
      }
      expect(server.log).not.toMatch(/FATAL|could not load/);

      // AND every name the Services and pods are reached by verifies against the CA
      for (const host of [s.db.host, s.db.serviceDnsName, 'orders', ...s.db.podDnsNames, 'orders-0.orders', 'orders.shop.svc']) {
        expect({ host, ...connect(host, verifyFull()) }).toEqual({ host, ok: true, ssl: true, error: '' });
      }

      // AND a CA that did not issue the certificate, or a name the certificate does not hold, fail the verification
      expect(connect(s.db.host, verifyFull(pki.otherCa.crtFile)).error).toContain('certificate verify failed');
      const wrongName = connect('orders-1.orders.shop.svc.cluster.local', verifyFull());
      expect(wrongName.ok).toBe(false);
      expect(wrongName.error).toMatch(/server certificate for "orders" \(and \d+ other names?\) does not match host name "orders-1.orders.shop.svc.cluster.local"/);

      // AND connections without TLS are refused, replication connections too
      const plain = connect(s.db.host, { sslmode: 'disable' });
      expect(plain.ok).toBe(false);
      expect(plain.error).toContain('pg_hba.conf rejects connection for host "127.0.0.1", user "postgres", database "postgres", no encryption');
      const plainReplication = pg.run(['psql', '-X', '-d', conninfo({ host: '127.0.0.1', port: PORT, user: 'postgres', replication: 'true', sslmode: 'disable' }),
        '-c', 'IDENTIFY_SYSTEM'], { PGPASSWORD: PASSWORD });
      expect(plainReplication.stderr).toContain('pg_hba.conf rejects replication connection for host "127.0.0.1", user "postgres", no encryption');
      expect(connect(s.db.host, { sslmode: 'require' })).toEqual({ ok: true, ssl: true, error: '' });

      // AND the probes pass (they connect to 127.0.0.1, over TLS without verifying a name; readiness after its reload check)
      for (const kind of ['startupProbe', 'readinessProbe', 'livenessProbe'] as const) {
        const result = p.probe(kind);
        expect(`${kind} -> ${result.status} ${result.stdout}${result.stderr}`).toBe(`${kind} -> 0 `);
      }
    }, 60_000);

    independent('a workload wired with connect() verifies the server through PGSSLMODE, PGSSLROOTCERT and DATABASE_URL; the smoke test too', async () => {
      const s = synthesize();
      await boot(pod(s));

      // GIVEN the connected Deployment's container, its CA volume written as the kubelet writes it
      const client = s.client.containers[0];
      const caVolume = s.client.volumes.find((v: any) => v.name === client.volumeMounts[0].name);
      expect(caVolume.secret.items).toEqual([{ key: 'ca.crt', path: 'ca.crt' }]); // the CA only, never the server's key
      const clientPod = new PodVolumes({ objects: s.objects, secrets: s.secrets }, s.client, { dir: sandbox.mkdir('client'), sandbox });
      const env: Env = { ...clientPod.env(client), PGHOSTADDR: '127.0.0.1' };
      expect(env.PGSSLMODE).toBe('verify-full');
      expect(env.PGSSLROOTCERT).toBe(path.join(clientPod.dir(caVolume.name)!, 'ca.crt'));
      const query = ['-X', '-tA', '-c', 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'];

      // WHEN it connects with its environment, or with DATABASE_URL alone (and the password)
      const byEnv = pg.run(['psql', ...query], env);
      const byUrl = pg.run(['psql', env.DATABASE_URL, ...query], { PGPASSWORD: env.PGPASSWORD, PGHOSTADDR: '127.0.0.1' });

      // THEN both verify the server and use TLS
      expect(`${byEnv.status} ${byEnv.stdout}${byEnv.stderr}`).toBe('0 t\n');
      expect(`${byUrl.status} ${byUrl.stdout}${byUrl.stderr}`).toBe('0 t\n');
      // a wrong CA in the volume is refused: the client really verifies
      clientPod.updateSecret('orders-tls', { ...s.secrets['orders-tls'], 'ca.crt': pki.otherCa.crt });
      expect(pg.run(['psql', ...query], env).stderr).toContain('certificate verify failed');

      // AND the smoke test's Job connects over TLS, and reports a certificate it refuses at once (not as a server that does not answer)
      const job = s.job.containers[0];
      const jobPod = new PodVolumes({ objects: s.objects, secrets: s.secrets }, s.job, { dir: sandbox.mkdir('job'), sandbox });
      const jobEnv: Env = { ...jobPod.env(job), PGHOSTADDR: '127.0.0.1' };
      const smoke = pg.run(jobPod.command(job), jobEnv);
      expect(`${smoke.status} ${smoke.stderr}`).toBe('0 ');
      expect(smoke.stdout).toContain(`smoke test: connected to ${s.db.host}:${PORT} as postgres and ran the query`);
      const started = Date.now();
      const refused = pg.run(jobPod.command(job), { ...jobEnv, PGHOST: 'orders-7.orders' });
      expect(refused.status).not.toBe(0);
      expect(refused.stderr).toContain('does not match host name "orders-7.orders"');
      expect(Date.now() - started).toBeLessThan(10_000);
    }, 60_000);

    independent('a database initialised without TLS gets the rule at its next start; a start with nothing to change writes nothing; tlsRequired: false takes it out', async () => {
      // GIVEN a database initialised before TLS was turned on
      const before = await boot(pod(synthesize({ tlsSecret: undefined })));
      await before.stop();
      const s = synthesize();
      const p = pod(s);
      const hba = path.join(p.pgData, 'pg_hba.conf');
      const original = fs.readFileSync(hba, 'utf-8');
      expect(original).not.toContain('hostnossl all');

      // WHEN the pod starts on the TLS template: its start steps, up to the image's entrypoint
      const first = p.runStartSteps();
      expect(`${first.status} ${first.stderr}`).toBe('0 ');
      expect(first.stdout).toContain('pg_hba.conf: connections over the network without TLS are refused');
      const rewritten = fs.readFileSync(hba, 'utf-8');
      const inode = fs.statSync(hba).ino;

      // THEN the rule is in place, before the image's rule for every host
      expect(rewritten).toMatch(/# BEGIN TLS required[^\n]*\nhostnossl all +all all reject\nhostnossl replication all all reject\n# END TLS required\nhost +all +all +all +scram-sha-256/);
      // and a second start changes nothing, and does not write the file
      const second = p.runStartSteps();
      expect(`${second.status} ${stepsOutput(second)}${second.stderr}`).toBe('0 ');
      expect(fs.statSync(hba).ino).toBe(inode);
      expect(fs.readFileSync(hba, 'utf-8')).toBe(rewritten);
      const server = await boot(p);
      expect(server.log).not.toContain('pg_hba.conf:');
      expect(connect(s.db.host, { sslmode: 'disable' }).error).toContain('no encryption');
      await server.stop();

      // WHEN it starts with tlsRequired: false
      const q = pod(synthesize({ tlsRequired: false }));
      const step = q.runStartSteps();
      expect(`${step.status} ${stepsOutput(step)}${step.stderr}`).toBe('0 pg_hba.conf: connections without TLS are accepted (tlsRequired: false)\n');

      // THEN pg_hba.conf is as it was, and both kinds of connections are accepted
      expect(fs.readFileSync(hba, 'utf-8')).toBe(original.endsWith('\n') ? original : `${original}\n`);
      await boot(q);
      expect(connect(s.db.host, { sslmode: 'disable' })).toEqual({ ok: true, ssl: false, error: '' });
      expect(connect(s.db.host, verifyFull())).toEqual({ ok: true, ssl: true, error: '' });
    }, 60_000);
  });

  describe('file modes', () => {
    (IS_ROOT ? test : test.skip)('what PostgreSQL accepts for the key (be-secure-common.c): root-owned 0640 at most, owned by the server user 0600 at most; a Secret volume\'s default 0644 is refused', async () => {
      // GIVEN a data directory, and the key in files of the owners and modes a Secret volume or a copy can have
      const s = synthesize();
      const p = pod(s);
      pg.initdb(p.env);
      const results: string[] = [];
      for (const [owner, mode] of [['root', 0o440], ['root', 0o640], ['root', 0o644], ['root', 0o660], ['postgres', 0o600], ['postgres', 0o640]] as const) {
        const dir = sandbox.mkdir(`key-${owner}-${mode.toString(8)}`);
        const key = path.join(dir, 'server.key');
        fs.writeFileSync(key, pki.certificate.key);
        fs.chownSync(key, owner === 'root' ? 0 : POSTGRES_UID, POSTGRES_IDS!.gid);
        fs.chmodSync(key, mode);
        // WHEN the server starts with it
        const args = ['postgres', '-c', 'ssl=on', '-c', `ssl_cert_file=${pki.certificate.crtFile}`, '-c', `ssl_key_file=${key}`];
        let outcome: string;
        try {
          const server = await pg.startPod({ env: p.env, socketDir: p.socketDir, args });
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
      expect(s.podSpec.volumes.find((v: any) => v.name === 'tls').secret.defaultMode).toBe(0o440);
    }, 60_000);

    independent('restrictedSecurityContext: false: the container starts as root; its start step gives the copies and pg_hba.conf to postgres, and the server the image starts as postgres serves TLS', async () => {
      // GIVEN the pod of a container that starts as root (the image drops to postgres itself): no fsGroup, root-owned files
      const s = synthesize({ restrictedSecurityContext: false });
      expect(s.podSpec.securityContext).toBeUndefined();
      const p = pod(s);
      const secretKey = fs.statSync(path.join(p.volumeDir('tls'), 'tls.key'));
      expect([secretKey.uid, secretKey.gid, secretKey.mode & 0o777]).toEqual([0, 0, 0o440]);

      // a non-root user cannot read them: the step says why, and what fixes it
      const denied = p.runStartSteps();
      expect(denied.status).toBe(1);
      expect(denied.stderr).toContain('cannot read');
      expect(denied.stderr).toContain('the pod needs an fsGroup');

      // WHEN the container starts as root, as it does without runAsUser
      await boot(p, { asRoot: true });

      // THEN the copies are postgres's, mode 0600, and the server serves TLS and requires it
      for (const file of ['server.key', 'server.crt']) {
        const stat = fs.statSync(path.join(p.volumeDir('tls-server'), file));
        expect([file, stat.uid, stat.mode & 0o777]).toEqual([file, POSTGRES_UID, 0o600]);
      }
      expect(connect(s.db.host, verifyFull())).toEqual({ ok: true, ssl: true, error: '' });
      expect(connect(s.db.host, { sslmode: 'disable' }).error).toContain('no encryption');
      await servers.pop()!.stop();

      // AND when the start step, as root, rewrites pg_hba.conf (here: TLS no longer required), the file stays postgres's,
      // mode 0600, which the server the image starts as postgres reads
      const q = pod(synthesize({ restrictedSecurityContext: false, tlsRequired: false }));
      const server = await boot(q, { asRoot: true });
      expect(server.log).toContain('pg_hba.conf: connections without TLS are accepted (tlsRequired: false)');
      const hba = fs.statSync(path.join(q.pgData, 'pg_hba.conf'));
      expect([hba.uid, hba.mode & 0o777]).toEqual([POSTGRES_UID, 0o600]);
      expect(connect(s.db.host, { sslmode: 'disable' })).toEqual({ ok: true, ssl: false, error: '' });
    }, 60_000, IS_ROOT);
  });

  describe('renewal', () => {
    test('a certificate the kubelet updates in the Secret volume is served after the next readiness probe, without a restart, with one reload per update', async () => {
      // GIVEN a running server
      const s = synthesize();
      const p = pod(s);
      const server = await boot(p);
      expect(p.probe('readinessProbe').status).toBe(0);
      expect(server.log).not.toContain('received SIGHUP');

      // WHEN cert-manager renews the certificate (here from another CA, to tell the two apart) and the kubelet updates the volume
      const renewed = makeServerCertificate(sandbox.mkdir('renewed'), 'renewed', pki.otherCa, PostgresCertificate.dnsNamesOf(s.db));
      p.updateSecret('orders-tls', { 'tls.crt': renewed.crt, 'tls.key': renewed.key, 'ca.crt': pki.otherCa.crt });
      // the server still serves the old one
      expect(connect(s.db.host, verifyFull(pki.otherCa.crtFile)).error).toContain('certificate verify failed');

      // THEN the next readiness probe installs it and reloads the server, and reports the readiness as before
      const probe = p.probe('readinessProbe');
      expect(probe.status).toBe(0);
      await server.waitForLog(/received SIGHUP, reloading configuration files/);
      // it says so in the server's log (the container's log: it writes to the postmaster's stderr, which in a pod is a
      // pipe of the container runtime; here a socket, which cannot be opened by path, so it falls back to its own output)
      expect(`${server.log}${probe.stdout}`).toContain('postgres-statefulset: the TLS Secret changed: installed its certificate and key, and reloaded the server');
      await waitFor('the renewed certificate to be served', () => connect(s.db.host, verifyFull(pki.otherCa.crtFile)).ok);
      expect(connect(s.db.host, verifyFull(pki.ca.crtFile)).error).toContain('certificate verify failed');

      // AND later probes do not reload again
      expect(p.probe('readinessProbe').status).toBe(0);
      expect(p.probe('readinessProbe').status).toBe(0);
      expect(server.log.match(/received SIGHUP/g)).toHaveLength(1);

      // WHEN an update cannot be loaded (a key that does not match the certificate)
      p.updateSecret('orders-tls', { 'tls.crt': renewed.crt, 'tls.key': pki.certificate.key, 'ca.crt': pki.otherCa.crt });
      expect(p.probe('readinessProbe').status).toBe(0);
      // THEN PostgreSQL says so and keeps serving the certificate it has
      await server.waitForLog(/private key does not match|key values mismatch/);
      expect(connect(s.db.host, verifyFull(pki.otherCa.crtFile))).toEqual({ ok: true, ssl: true, error: '' });
    }, 60_000);
  });

  describe('replication over TLS', () => {
    const replicated = (props: PostgresStatefulSetProps = {}) => synthesize({
      replicas: 3,
      replicationCredentials: PostgresCredentials.fromPassword(REPLICATION_PASSWORD, { username: 'replicator', passwordKey: 'POSTGRES_REPLICATION_PASSWORD' }),
      ...props,
    });
    const streamingOverTls = (primary: Server) => sql(primary,
      'SELECT string_agg(r.application_name || \':\' || s.ssl, \',\' ORDER BY r.application_name) FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid) WHERE r.state = \'streaming\'');

    test('a standby clones and streams with sslmode=verify-full, against the CA and the primary\'s pod name; a name or a CA the certificate does not match stops the clone, saying why', async () => {
      // GIVEN pod 0, the primary, requiring TLS
      const s = replicated();
      const primary = await boot(pod(s));

      // WHEN pod 1's start step clones it (PRIMARY_HOST is the manifest's pod name, orders-0.orders)
      const p1 = pod(s, 1);
      expect(p1.env).toMatchObject({
        PRIMARY_HOST: 'orders-0.orders',
        POSTGRES_REPLICATION_SSLMODE: 'verify-full',
        POSTGRES_REPLICATION_SSLROOTCERT: path.join(p1.volumeDir('tls-ca'), 'ca.crt'),
      });
      const clone = p1.runStartSteps();
      expect(`${clone.status} ${clone.stderr}`).toBe('0 ');
      expect(clone.stdout).toContain('the primary has the replication role replicator');
      expect(clone.stdout).toContain('cloned: starting as a hot standby');

      // THEN the standby's connection to the primary verifies it too: the step wrote the settings into primary_conninfo
      const conf = fs.readFileSync(path.join(p1.pgData, 'postgresql.auto.conf'), 'utf-8');
      const conninfoOf = /^primary_conninfo = '(.*)'$/m.exec(conf)?.[1].replace(/''/g, '\'');
      expect(conninfoOf).toContain('host=\'orders-0.orders\'');
      expect(conninfoOf).toContain('sslmode=\'verify-full\'');
      expect(conninfoOf).toContain(`sslrootcert='${path.join(p1.volumeDir('tls-ca'), 'ca.crt')}'`);

      // AND it starts, streams over TLS, and is ready
      const standby = await boot(p1);
      await waitFor('the standby to stream over TLS', () => streamingOverTls(primary) === 'orders-1:true').catch((e) => { throw new Error(`${e.message}\n${standby.log}`); });
      await waitFor('the standby to be ready', () => p1.probe('readinessProbe').status === 0);
      sql(primary, 'CREATE TABLE company (name text); INSERT INTO company VALUES (\'anynines GmbH\')');
      await waitFor('the row to reach the standby', () => sql(standby, 'SELECT count(*) FROM company') === '1');
      expect(sql(standby, 'SELECT name FROM company')).toBe('anynines GmbH');

      // WHEN a standby reaches the primary by a name the certificate does not hold, or trusts another CA
      for (const [override, reason] of [
        [{ PRIMARY_HOST: 'orders-0.elsewhere' }, 'does not match host name "orders-0.elsewhere"'],
        [{ POSTGRES_REPLICATION_SSLROOTCERT: pki.otherCa.crtFile }, 'certificate verify failed'],
      ] as const) {
        const p2 = pod(s, 2, override);
        const cloning = p2.startStartSteps();
        running.push(cloning);
        // THEN its connections are refused with libpq's reason, and retried (not waited on as a primary that does not answer)
        // (stdout and stderr are two pipes: the retry message may arrive before libpq's reason)
        await waitFor(`the connection to be refused: ${reason}`, () => cloning.output().includes('retrying in 2 s') && cloning.output().includes(reason), 20_000)
          .catch((e) => { throw new Error(`${e.message}; the start step said:\n${cloning.output()}`); });
        expect(cloning.output()).not.toContain('waiting for the primary');
        expect(cloning.output()).not.toContain('cloning');
        await killGroup(cloning.child);
        expect(fs.existsSync(path.join(p2.pgData, 'PG_VERSION'))).toBe(false);
      }
    }, 90_000);

    independent('raising replicas on a database that serves TLS: the running primary serves the new standby over TLS without a restart; pod 0 recreated (its emptyDir empty) installs the certificate again', async () => {
      // GIVEN pod 0 of a one-replica instance, running, with TLS; raising replicas changes nothing in the pod template
      const single = replicated({ replicas: 1 });
      const three = replicated();
      const template = (s: Synthesized) => oneOfKind(s.objects, 'StatefulSet').spec.template;
      expect(template(single)).toEqual(template(three));
      const p0 = pod(single);
      const primary = await boot(p0);
      sql(primary, 'CREATE TABLE keep (id int); INSERT INTO keep VALUES (42)');

      // WHEN replicas is raised: the StatefulSet adds pod 1
      const p1 = pod(three, 1);
      const standby = await boot(p1);

      // THEN it creates the replication role on the primary and clones it over TLS, verifying it, and streams; the primary never restarted
      expect(standby.log).toContain('cloned: starting as a hot standby');
      await waitFor('the standby to stream over TLS', () => streamingOverTls(primary) === 'orders-1:true');
      await waitFor('the standby to be ready', () => p1.probe('readinessProbe').status === 0);
      expect(sql(standby, 'SELECT id FROM keep')).toBe('42');
      expect(primary.exited).toBe(false);
      // the rule that refuses replication without TLS comes before the line that admits the standbys
      const hba = hbaOf(p0);
      expect(hba.indexOf('hostnossl replication all all reject')).toBeGreaterThan(-1);
      expect(hba.indexOf('hostnossl replication all all reject')).toBeLessThan(hba.indexOf('host replication all all scram-sha-256 # postgres-statefulset: standbys'));

      // WHEN pod 0 is recreated: a new pod, whose emptyDir holds no copy of the certificate
      await primary.stop();
      const again = pod(three);
      expect(fs.readdirSync(again.volumeDir('tls-server'))).toEqual([]);
      const restarted = await boot(again);

      // THEN its start step installs the certificate before the image starts the server, which serves TLS; the standby streams again
      expect(restarted.log).not.toMatch(/FATAL|could not load/);
      expect(connect(three.db.podDnsNames[0], verifyFull())).toEqual({ ok: true, ssl: true, error: '' });
      await waitFor('the standby to stream again', () => streamingOverTls(restarted) === 'orders-1:true');
    }, 90_000);
  });
}

/** Tests of the TLS scripts on a pg_hba.conf of the image, without a server (the same on every major). */
export function tlsScriptTests(): void {
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

host replication all all scram-sha-256 # postgres-statefulset: standbys
`;

  let sandbox: Sandbox;
  beforeEach(() => {
    sandbox = new Sandbox('tls-hba-');
  });
  afterEach(() => {
    sandbox.cleanup();
  });

  describe('pg_hba.conf as the image writes it', () => {
    test('the rule goes after the loopback lines (connections inside the pod, the probes\', keep the image\'s rules) and before every rule for other hosts; replication\'s start step still finds its line; taken out, the file is as before', () => {
      const chart = new Chart(Testing.app(), 'test', { namespace: 'shop' });
      new PostgresStatefulSet(chart, 'Orders', {
        statefulSetName: 'orders', image: PG15.image, replicas: 2, credentials: PostgresCredentials.fromPassword(PASSWORD),
        replicationCredentials: PostgresCredentials.fromPassword('r3plicate'), tlsSecret: kplus.Secret.fromSecretName(chart, 'OrdersTls', 'orders-tls'),
      });
      const objects = synth(chart);
      const secret = oneOfKind(objects, 'Secret');
      const p = new SimulatedPod({ objects, secrets: { [secret.metadata.name]: secret.stringData, 'orders-tls': { 'tls.crt': 'x', 'tls.key': 'x', 'ca.crt': 'x' } } },
        { ordinal: 0, sandbox, install: PG15 });
      const pgData = path.join(sandbox.mkdir('hba'), 'pgdata');
      PG15.runOk(['mkdir', '-m', '700', pgData]);
      PG15.runOk(['sh', '-c', 'cat > "$PGDATA/pg_hba.conf" && echo 15 > "$PGDATA/PG_VERSION"'], { PGDATA: pgData }, { input: IMAGE_HBA });
      const env = { ...p.env, PGDATA: pgData };

      // WHEN the initdb script runs (as the image runs it after writing pg_hba.conf)
      const required = PG15.run(['sh', p.map('/etc/postgres-statefulset/initdb-tls.sh')], env);
      expect(`${required.status} ${required.stderr}`).toBe('0 ');
      const [head, tail] = IMAGE_HBA.split('host all all all scram-sha-256');
      const withRule = `${head}# BEGIN TLS required: connections over the network without TLS are refused (PostgresStatefulSet tlsRequired; rewritten at every start)
hostnossl all         all all reject
hostnossl replication all all reject
# END TLS required
host all all all scram-sha-256${tail}`;
      expect(fs.readFileSync(path.join(pgData, 'pg_hba.conf'), 'utf-8')).toBe(withRule);

      // AND replication's start step on pod 0 is not fooled by the block: it finds its line, and changes nothing
      const replication = PG15.run(['sh', p.map('/etc/postgres-statefulset/replication.sh'), ...p.args], env);
      expect(`${replication.status} ${replication.stdout}${replication.stderr}`).toBe('0 ');
      expect(fs.readFileSync(path.join(pgData, 'pg_hba.conf'), 'utf-8')).toBe(withRule);

      // WHEN TLS is no longer required
      const optional = PG15.run(['sh', p.map('/etc/postgres-statefulset/initdb-tls.sh')], { ...env, POSTGRES_TLS_REQUIRED: 'false' });
      expect(optional.status).toBe(0);
      expect(fs.readFileSync(path.join(pgData, 'pg_hba.conf'), 'utf-8')).toBe(IMAGE_HBA);
    });
  });
}

// Backups and restores, proven against a real PostgreSQL: the pods run their container's own
// command (the start steps, physical backups' pg_hba.conf step among them, then the image's
// entrypoint) and their restore init container, the backup Job's pod runs its command, each with
// its volumes where it mounts them (see pg/pod.ts and pg/volumes.ts for the stand-ins of
// Kubernetes); archive_command and restore_command come from the manifests too. Besides those:
// - a claim is a directory of the sandbox (`claim-<name>`), shared by the pods that mount it;
// - the pods' DNS names in the backup Job's environment (`pg-0.pg-svc`, `pg-1.pg-svc`) are
//   127.0.0.1, each pod with a port of its own; POSTGRES_STATEFULSET_TERMINATION_LOG points the
//   termination message (/dev/termination-log) to a file;
// - initdb's `host ... trust` lines for 127.0.0.1 are removed after a logical restore's initdb,
//   as the harness does after its own (loopback stands for every other pod here).
//
// The tests run against PostgreSQL 15 and 18 (the image is the installation's version: the
// Job, the restore init container and the pods run it), from backup-15.pg.test.ts and
// backup-18.pg.test.ts, so that jest runs them in parallel. The Job's failures to connect and the
// retention, which the Job's script decides, run on 18 only, the default image's major
// (`majorIndependentTest`); backups, restores, their refusals and a full disk run on both.
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { BackupKind, BackupStorage, PostgresCredentials, PostgresStatefulSet, PostgresStatefulSetProps } from '../lib';
import { Env, freePorts, Installation, IS_ROOT, majorIndependentTest, Sandbox, Server, SuiteOptions, waitFor } from './pg/harness';
import { Manifest, SimulatedPod } from './pg/pod';
import { PodVolumes } from './pg/volumes';
import { makeCa, makeServerCertificate } from './tls-fixtures';
import { allOfKind, oneOfKind, synth } from './util';

const SUPERUSER_PASSWORD = 'tes6Aev8';
const REPLICATION_PASSWORD = 'r3pl1cate';
const APP_PASSWORD = "app's pa$$word";
/** A database name that is shell, SQL and connection-string syntax at once. */
const ODD_DATABASE = `host=/nonexistent dbname=x 'quoted' "double" $(id) \`id\` \\ ;`;

/** Everything of a table, as one checksum. */
const TABLE_SUM = 'SELECT count(*) || \':\' || md5(string_agg(t::text, \',\' ORDER BY id)) FROM orders t';

/** The complete backups (directories named like an id, with a backup.json) under a kind's directory, oldest first. */
function backupsIn(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((name) => /^\d{8}T\d{6}Z$/.test(name) && fs.existsSync(path.join(dir, name, 'backup.json'))).sort() : [];
}

/** Mounts a small tmpfs on a directory (root, with the right to mount); returns the unmount, or undefined when it cannot mount. */
function mountTmpfs(dir: string, size: string): (() => void) | undefined {
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0777`, 'tmpfs', dir], { encoding: 'utf-8' });
  if (mount.status !== 0) {
    return undefined;
  }
  return () => {
    spawnSync('umount', [dir]);
  };
}

/** Registers the tests, with their set-up, for one installation. */
export function backupTests(pg: Installation, options: SuiteOptions = {}): void {
  const independent = majorIndependentTest(options);
  let P0: number;
  let P1: number;
  let UNUSED: number;
  beforeAll(async () => {
    [P0, P1, UNUSED] = await freePorts(3);
    pg.check();
  });

  let sandbox: Sandbox;
  let servers: Server[] = [];
  /** Each group of tests has its own "cluster": a sandbox for the volumes and claims, and its servers. */
  function cluster(): void {
    beforeAll(() => {
      sandbox = new Sandbox('backup-');
      servers = [];
    });
    afterAll(async () => {
      for (const server of servers) {
        await server.kill();
      }
      sandbox.cleanup();
    });
  }

  /** The Secret cert-manager would write for the instance: a certificate for its names, its key, the CA (one per sandbox). */
  const pki = new Map<Sandbox, { [key: string]: string }>();
  function tlsSecret(): { [key: string]: string } {
    if (!pki.has(sandbox)) {
      const dir = sandbox.mkdir('pki');
      const ca = makeCa(dir, 'ca');
      const certificate = makeServerCertificate(dir, 'pg', ca, ['pg-0.pg-svc', 'localhost']);
      pki.set(sandbox, { 'tls.crt': certificate.crt, 'tls.key': certificate.key, 'ca.crt': ca.crt });
    }
    return pki.get(sandbox)!;
  }

  /** The directory standing for the backup claim, `pg-backups`. */
  const claimDir = () => path.join(sandbox.dir, 'claim-pg-backups');
  const terminationLog = () => path.join(sandbox.dir, 'termination-log');

  /** The termination message a container wrote (and forget it). */
  function termination(): string {
    const text = fs.existsSync(terminationLog()) ? fs.readFileSync(terminationLog(), 'utf-8') : '';
    fs.rmSync(terminationLog(), { force: true });
    return text;
  }

  /** The manifest of instance 'pg', its pods, and its backup Job's pod. */
  function instance(props: PostgresStatefulSetProps, options: { tls?: boolean } = {}) {
    const chart = Testing.chart();
    new PostgresStatefulSet(chart, 'Db', {
      image: pg.image, statefulSetName: 'pg', serviceName: 'pg-svc', port: P0,
      credentials: PostgresCredentials.fromPassword(SUPERUSER_PASSWORD),
      ...(options.tls ? { tlsSecret: kplus.Secret.fromSecretName(chart, 'Tls', 'pg-tls') } : {}),
      ...props,
    });
    const objects = synth(chart);
    const secret = oneOfKind(objects, 'Secret');
    const manifest: Manifest = { objects, secrets: { [secret.metadata.name]: secret.stringData, ...(options.tls ? { 'pg-tls': tlsSecret() } : {}) } };
    const cronJobs = allOfKind(objects, 'CronJob');
    const jobPod = cronJobs.length > 0 ? cronJobs[0].spec.jobTemplate.spec.template.spec : undefined;
    const hosts = (value: string) => value.replace(/pg-0\.pg-svc:\d+/, `127.0.0.1:${P0}`).replace(/pg-1\.pg-svc:\d+/, `127.0.0.1:${P1}`);
    let jobs = 0;
    return {
      objects,
      /** Pod `ordinal` (pod 0 listens on the manifest's port, pod 1 on one of its own). */
      pod: (ordinal: number, env: Env = {}) => new SimulatedPod(manifest,
        { ordinal, sandbox, install: pg, port: ordinal === 0 ? P0 : P1, env: { POSTGRES_STATEFULSET_TERMINATION_LOG: terminationLog(), ...env } }),
      /** Runs the backup Job's container to completion, in a new pod. */
      backupJob: (overrides: Env = {}, wrapper: string[] = []) => {
        const volumes = new PodVolumes(manifest, jobPod, { dir: sandbox.mkdir(`job-${++jobs}`), sandbox });
        const c = jobPod.containers[0];
        const env: Env = { ...volumes.env(c), POSTGRES_STATEFULSET_TERMINATION_LOG: terminationLog() };
        env.BACKUP_PRIMARY = hosts(env.BACKUP_PRIMARY);
        if (env.BACKUP_STANDBYS) {
          env.BACKUP_STANDBYS = hosts(env.BACKUP_STANDBYS);
        }
        return pg.run([...wrapper, ...volumes.command(c)], { ...env, ...overrides }, { timeoutMs: 120_000 });
      },
    };
  }

  type Instance = ReturnType<typeof instance>;

  /** Runs a pod's container: its start steps, then the image's entrypoint (which initialises an empty volume). */
  async function boot(p: SimulatedPod): Promise<Server> {
    const server = await p.boot();
    servers.push(server);
    return server;
  }

  /** Pod 0 of `db` on a new volume, initialised and started; `before`: first initialised by the instance of these props (as before a feature was enabled). */
  async function newPrimary(db: Instance, before?: PostgresStatefulSetProps): Promise<{ p0: SimulatedPod; primary: Server }> {
    if (before) {
      await (await boot(instance(before).pod(0))).stop();
    }
    const p0 = db.pod(0);
    return { p0, primary: await boot(p0) };
  }

  /** After a logical restore's initdb: initdb's trusted TCP lines go, as in the harness. */
  function untrustLoopback(pgData: string): void {
    const hba = path.join(pgData, 'pg_hba.conf');
    fs.writeFileSync(hba, fs.readFileSync(hba, 'utf-8').split('\n').filter((line) => !/^host\S*\s.*\strust\s*$/.test(line)).join('\n'));
  }

  /** The server stops, and its pod's volume goes (the StatefulSet and its claims are deleted). */
  async function stopAndDestroy(server: Server, p: SimulatedPod): Promise<void> {
    await server.stop();
    fs.rmSync(p.volume, { recursive: true, force: true });
  }

  const sql = (server: Server, query: string, database = 'postgres') => server.sql(query, 'postgres', SUPERUSER_PASSWORD, database);

  describe('logical backups', () => {
    cluster();
    let source: Instance;
    let p0: SimulatedPod;
    let primary: Server;
    let before: { orders: string; odd: string };
    const logicalDir = () => path.join(claimDir(), 'pg', 'logical');
    const oddSum = (server: Server) => pg.runOk(['psql', '-h', '127.0.0.1', '-U', 'postgres', '-tAc', TABLE_SUM],
      { PGPORT: String(server.port), PGPASSWORD: SUPERUSER_PASSWORD, PGDATABASE: ODD_DATABASE }).trim();

    beforeAll(async () => {
      // GIVEN an instance with logical backups, its data: a role with a password, a database it owns, and an oddly named one
      source = instance({ databaseName: 'app', backup: { kind: BackupKind.LOGICAL, keepLast: 2, keepDays: 3 } });
      ({ p0, primary } = await newPrimary(source));
      sql(primary, `CREATE ROLE app LOGIN PASSWORD '${APP_PASSWORD.replace(/'/g, '\'\'')}'; ALTER DATABASE app OWNER TO app`);
      primary.sql('CREATE TABLE orders (id int PRIMARY KEY, item text NOT NULL); INSERT INTO orders SELECT i, md5(i::text) FROM generate_series(1, 20000) i',
        'app', APP_PASSWORD, 'app');
      sql(primary, `CREATE DATABASE "${ODD_DATABASE.replace(/"/g, '""')}"`);
      const odd = pg.run(['psql', '-h', '127.0.0.1', '-U', 'postgres', '-v', 'ON_ERROR_STOP=1', '-c',
        'CREATE TABLE orders (id int PRIMARY KEY, item text); INSERT INTO orders VALUES (1, \'in the odd database\')'],
      { PGPORT: String(P0), PGPASSWORD: SUPERUSER_PASSWORD, PGDATABASE: ODD_DATABASE });
      expect(odd.stderr).toBe('');
      before = { orders: primary.sql(TABLE_SUM, 'app', APP_PASSWORD, 'app'), odd: oddSum(primary) };
    }, 60_000);

    independent('a failed backup fails the Job with the reason and leaves nothing that looks like a backup: wrong password, server down', () => {
      // a wrong password
      const wrong = source.backupJob({ PGPASSWORD: 'not-the-password' });
      expect(wrong.status).toBe(1);
      expect(wrong.stderr).toContain('backup: cannot connect to 127.0.0.1:');
      expect(wrong.stderr).toContain('password authentication failed for user "postgres"');
      expect(termination()).toContain('password authentication failed');

      // the server down
      const down = source.backupJob({ BACKUP_PRIMARY: `127.0.0.1:${UNUSED}` });
      expect(down.status).toBe(1);
      expect(down.stderr).toMatch(/backup: cannot connect to 127\.0\.0\.1:\d+: .*Connection refused/s);
      expect(fs.existsSync(logicalDir()) ? fs.readdirSync(logicalDir()) : []).toEqual([]);
    }, 60_000);

    // On every major: pg_dump's own handling of the write error decides the message, and the claim
    // is a real tmpfs only for PostgreSQL 15 (the host's), as root.
    test('a failed backup fails the Job with the reason and leaves nothing that looks like a backup: a full disk', () => {
      // the claim is a 256 KiB tmpfs (or, unprivileged or in the chroot, which does not see a mount
      // made after it, a 256 KiB file size limit), the dump over 500 KiB
      const full = sandbox.mkdir('full');
      let result;
      const unmount = IS_ROOT && !pg.root ? mountTmpfs(full, '256k') : undefined;
      if (unmount) {
        try {
          result = source.backupJob({ BACKUP_DIR: path.join(full, 'pg') });
          expect(result.stderr).toContain('No space left on device');
        } finally {
          unmount();
        }
      } else {
        result = source.backupJob({ BACKUP_DIR: path.join(full, 'pg') }, ['sh', '-c', 'ulimit -f 512 && exec "$@"', 'ulimit']);
        expect(result.stderr).toContain('File size limit exceeded');
      }
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/backup: pg_dump of database 'app' failed|backup: the dump of database 'app' does not read back/);
      expect(termination()).toMatch(/database 'app'/);
      expect(backupsIn(path.join(full, 'pg', 'logical'))).toEqual([]);
    }, 60_000);

    independent('retention keeps the newest keepLast and those younger than keepDays, deletes only complete backups, and clears leftovers', () => {
      // GIVEN complete backups finished 1, 2, 5 and 10 days ago, a directory named like a backup but
      // without backup.json (not complete: never touched), and leftovers of interrupted runs
      const now = Math.floor(Date.now() / 1000);
      const day = 86_400;
      const fake = (daysAgo: number, complete = true) => {
        const id = new Date((now - daysAgo * day) * 1000).toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '');
        const dir = path.join(logicalDir(), id);
        fs.mkdirSync(path.join(dir, 'databases'), { recursive: true });
        fs.writeFileSync(path.join(dir, 'globals.sql'), '-- fake\n');
        if (complete) {
          fs.writeFileSync(path.join(dir, 'backup.json'), `{"kind" : "logical", "id": "${id}", "finishedEpoch": ${now - daysAgo * day}, "bytes": 8}\n`);
        }
        return id;
      };
      const [tenDays, fiveDays, twoDays, oneDay] = [fake(10), fake(5), fake(2), fake(1)];
      const incomplete = fake(20, false);
      fs.mkdirSync(path.join(logicalDir(), '.partial-20200101T000000Z'));
      fs.mkdirSync(path.join(logicalDir(), `.deleting-${tenDays}x`));
      if (IS_ROOT) {
        // the Job runs as the database's user, who owns everything on the claim
        spawnSync('chown', ['-R', 'postgres:postgres', logicalDir()]);
      }

      // WHEN a backup runs with keepLast 2 and keepDays 3
      const result = source.backupJob();
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);

      // THEN it keeps itself and the one before it (keepLast), and the one of 2 days ago (keepDays);
      // it deletes the complete backups of 5 and 10 days ago, and nothing else
      const newest = backupsIn(logicalDir()).pop()!;
      expect(newest > oneDay).toBe(true);
      expect(fs.readdirSync(logicalDir()).sort()).toEqual([incomplete, twoDays, oneDay, newest].sort());
      expect(result.stdout).toContain(`deleting ${fiveDays} (retention: the newest 2, and those younger than 3 days)`);
      expect(result.stdout).toContain(`deleting ${tenDays}`);
      expect(result.stdout).toContain('left by an interrupted run');
      fs.rmSync(path.join(logicalDir(), incomplete), { recursive: true });
    }, 60_000);

    test('rows, backup, data destroyed, restore into a new instance\'s empty volume by its init container: rows, roles and databases identical', async () => {
      // WHEN the backup Job runs (keeping the newest only, without an age rule)
      const backup = source.backupJob({ BACKUP_KEEP_LAST: '1', BACKUP_KEEP_DAYS: '' });
      expect(backup.stderr).toBe('');
      expect(backup.status).toBe(0);
      const [id] = backupsIn(logicalDir());
      expect(backup.stdout).toContain(`backup: complete: ${path.join(logicalDir(), id)}`);
      expect(fs.readdirSync(logicalDir())).toEqual([id]); // the older backups went

      // THEN the backup is a verified archive per database, the roles, and a manifest
      const manifest = JSON.parse(fs.readFileSync(path.join(logicalDir(), id, 'backup.json'), 'utf-8'));
      expect(manifest).toMatchObject({ kind: 'logical', id, source: { host: '127.0.0.1', standby: false }, superuser: 'postgres' });
      expect(manifest.postgresVersionNum).toBeGreaterThanOrEqual(pg.major * 10000);
      expect(manifest.bytes).toBeGreaterThan(100_000);
      expect(Date.parse(manifest.finishedAt)).toBeGreaterThanOrEqual(Date.parse(manifest.startedAt));
      expect(manifest.databases.map((d: any) => d.name).sort()).toEqual(['app', ODD_DATABASE, 'postgres'].sort());
      for (const database of manifest.databases) {
        expect(pg.runOk(['pg_restore', '--list', path.join(logicalDir(), id, database.file)])).toContain('Format: CUSTOM');
      }
      expect(fs.readFileSync(path.join(logicalDir(), id, 'globals.sql'), 'utf-8')).toMatch(/CREATE ROLE app;[\s\S]*ALTER ROLE app WITH .*LOGIN/);

      // WHEN the StatefulSet and its claim go, and a new instance (serving TLS: the restore's own
      // server runs without the certificates the pod's start steps prepare) restores the backup into its empty volume
      await stopAndDestroy(primary, p0);
      const target = instance({ databaseName: 'app', restoreFrom: { claimName: 'pg-backups' } }, { tls: true });
      const t0 = target.pod(0);
      const restored = t0.runInitContainer('restore');
      expect(restored.stderr).not.toMatch(/restore \[|ERROR|FATAL/); // initdb's own warning about trust for local connections, as in the image
      expect(restored.status).toBe(0);
      expect(restored.stdout).toContain(`restoring ${path.join(claimDir(), 'pg', 'logical', id)}`);
      expect(fs.existsSync(path.join(t0.pgData, 'PG_VERSION'))).toBe(true);
      expect(fs.existsSync(`${t0.pgData}.restore`)).toBe(false);
      expect(fs.statSync(t0.pgData).mode & 0o777).toBe(0o700);
      untrustLoopback(t0.pgData);
      // and the PostgreSQL container starts on it: the image skips initialisation
      const server = await boot(t0);
      expect(server.log).toContain('Skipping initialization');

      // THEN rows, the oddly named database, the role and its password are back; the superuser logs in with the Secret's password
      expect(server.sql(TABLE_SUM, 'app', APP_PASSWORD, 'app')).toBe(before.orders);
      expect(oddSum(server)).toBe(before.odd);
      expect(sql(server, 'SELECT pg_catalog.pg_get_userbyid(datdba) FROM pg_database WHERE datname = \'app\'')).toBe('app');
      expect(server.login('postgres', 'not-the-password').ok).toBe(false);
      expect(sql(server, 'SHOW data_checksums')).toBe('on'); // initialised with the instance's initdb arguments
      expect(sql(server, 'SHOW ssl')).toBe('on');

      // AND the next start (or a standby) leaves the restored data alone
      const again = target.pod(0).runInitContainer('restore');
      expect(again.stdout).toContain('holds a database: nothing to restore');
      expect(again.status).toBe(0);
      expect(target.pod(1).runInitContainer('restore').stdout).toContain('not pod 0: nothing to restore');

      // WHEN the restored instance, serving TLS, gets logical backups: the Job verifies the server as the standbys do
      const withBackups = instance({ databaseName: 'app', restoreFrom: { claimName: 'pg-backups' }, backup: { kind: BackupKind.LOGICAL } }, { tls: true });
      const byName = { BACKUP_PRIMARY: `pg-0.pg-svc:${P0}`, PGHOSTADDR: '127.0.0.1' }; // the pod's name, which the certificate holds
      const verified = withBackups.backupJob({ ...byName, BACKUP_KEEP_LAST: '1', BACKUP_KEEP_DAYS: '' });
      // THEN it backs up over TLS, with sslmode=verify-full against the instance's CA
      expect(verified.stderr).toBe('');
      expect(verified.status).toBe(0);
      // AND a server whose certificate another CA signed is refused, and no backup is left
      const otherCa = path.join(sandbox.mkdir('other-pki'), 'ca.crt');
      fs.writeFileSync(otherCa, makeCa(path.dirname(otherCa), 'other').crt, { mode: 0o644 });
      const complete = backupsIn(logicalDir()).length;
      const refused = withBackups.backupJob({ ...byName, PGSSLROOTCERT: otherCa });
      expect(refused.status).not.toBe(0);
      expect(refused.stderr).toMatch(/certificate verify failed/);
      expect(termination()).toMatch(/certificate verify failed/);
      expect(backupsIn(logicalDir()).length).toBe(complete);
    }, 60_000);

    test('a restore from a missing or damaged backup refuses with the reason, and leaves the data directory empty', () => {
      const [good] = backupsIn(logicalDir()).slice(-1);
      const fresh = () => path.join(sandbox.mkdir(`volume-0-${Math.random().toString(36).slice(2)}`), 'pgdata');
      const restore = (db: Instance, pgData: string) => db.pod(0).runInitContainer('restore', { env: { PGDATA: pgData } });
      const refused = (result: ReturnType<typeof pg.run>, pgData: string, reason: string | RegExp) => {
        expect(result.status).toBe(1);
        expect(result.stderr).toMatch(reason);
        expect(termination()).toMatch(reason);
        expect(fs.existsSync(path.join(pgData, 'PG_VERSION'))).toBe(false);
        expect(fs.existsSync(pgData) && fs.readdirSync(pgData).length > 0).toBe(false);
        expect(fs.existsSync(`${pgData}.restore`)).toBe(false);
      };

      // no backups of that StatefulSet on the claim
      let pgData = fresh();
      refused(restore(instance({ restoreFrom: { claimName: 'pg-backups', sourceStatefulSetName: 'orders' } }), pgData), pgData,
        `no logical backups: ${path.join(claimDir(), 'orders', 'logical')} does not exist on the claim`);

      // a backup that is not there
      pgData = fresh();
      refused(restore(instance({ restoreFrom: { claimName: 'pg-backups', backup: '20000101T000000Z' } }), pgData), pgData,
        `20000101T000000Z is not a complete backup; complete backups: ${good}\n`);

      // the newest backup damaged: a copy of the good one with the app database's dump cut in half
      // (its table of contents is intact: pg_restore --list passes, the restore itself fails)
      const damaged = `${good.slice(0, 9)}235959Z`;
      fs.cpSync(path.join(logicalDir(), good), path.join(logicalDir(), damaged), { recursive: true });
      const manifest = JSON.parse(fs.readFileSync(path.join(logicalDir(), damaged, 'backup.json'), 'utf-8'));
      const dump = path.join(logicalDir(), damaged, manifest.databases.find((d: any) => d.name === 'app').file);
      fs.truncateSync(dump, Math.floor(fs.statSync(dump).size / 2));
      if (IS_ROOT) {
        spawnSync('chown', ['-R', 'postgres:postgres', path.join(logicalDir(), damaged)]);
      }
      const target = instance({ databaseName: 'app', restoreFrom: { claimName: 'pg-backups' } });
      pgData = fresh();
      refused(restore(target, pgData), pgData, new RegExp(`restoring databases/\\d+\\.dump failed \\(above\\); nothing was moved into ${pgData}`));

      // its roles cut short
      fs.writeFileSync(path.join(logicalDir(), damaged, 'globals.sql'), '--\n-- PostgreSQL database cluster dump\n--\nCREATE ROLE app;\n');
      pgData = fresh();
      refused(restore(target, pgData), pgData, 'globals.sql is truncated: the backup is damaged');
    }, 60_000);
  });

  describe('physical backups with a WAL archive', () => {
    cluster();
    test('from a streaming standby; rows identical after a restore to the end of the archive; a restore to a point in time; a damaged backup refused', async () => {
      const physicalDir = path.join(claimDir(), 'pg', 'physical');
      const replicated: PostgresStatefulSetProps = {
        databaseName: 'app',
        replicas: 2,
        replicationCredentials: PostgresCredentials.fromPassword(REPLICATION_PASSWORD),
      };
      const props: PostgresStatefulSetProps = {
        ...replicated,
        backup: {
          kind: BackupKind.PHYSICAL, walArchive: true,
          storage: BackupStorage.newClaim({ accessModes: [kplus.PersistentVolumeAccessMode.READ_WRITE_MANY] }),
        },
      };
      // GIVEN a primary whose volume was initialised before physical backups were enabled: its start step admits
      // the superuser's replication connections (on a new volume the same script runs from /docker-entrypoint-initdb.d)
      const source = instance(props);
      const { p0, primary } = await newPrimary(source, replicated);
      expect(primary.log).toContain('backup-hba: admitted replication connections of postgres (scram-sha-256) for physical backups');
      const hba = fs.readFileSync(path.join(p0.pgData, 'pg_hba.conf'), 'utf-8');
      expect(hba).toMatch(/^host replication "postgres" all scram-sha-256 # physical backups: pg_basebackup as the superuser$/m);
      expect(pg.runOk(['sh', p0.map('/etc/postgres-statefulset-backup/backup-hba.sh')], p0.env)).toBe(''); // once only
      expect(fs.readFileSync(path.join(p0.pgData, 'pg_hba.conf'), 'utf-8')).toBe(hba);
      // AND a standby that cloned it (its start step) and streams; the primary archives its WAL
      const p1 = source.pod(1);
      const standby = await boot(p1);
      expect(standby.log).toContain('cloned: starting as a hot standby');
      await waitFor('the standby to stream', () => sql(primary, 'SELECT count(*) FROM pg_stat_replication WHERE state = \'streaming\'') === '1');
      sql(primary, 'CREATE TABLE orders (id int PRIMARY KEY, item text NOT NULL); INSERT INTO orders SELECT i, md5(i::text) FROM generate_series(1, 1000) i');

      // WHEN the backup Job runs
      const backup = source.backupJob();
      expect(backup.stderr).toBe('');
      expect(backup.status).toBe(0);

      // THEN it took the backup from the standby, verified, with the WAL it needs and a manifest
      expect(backup.stdout).toContain(`backing up 127.0.0.1:${P1} (standby)`);
      const [id] = backupsIn(physicalDir);
      expect(fs.readdirSync(path.join(physicalDir, id)).sort()).toEqual(['backup.json', 'backup_manifest', 'base.tar.gz', 'pg_wal.tar.gz']);
      const manifest = JSON.parse(fs.readFileSync(path.join(physicalDir, id, 'backup.json'), 'utf-8'));
      expect(manifest).toMatchObject({ kind: 'physical', id, source: { standby: true }, startWal: expect.stringMatching(/^[0-9A-F]{24}$/) });
      expect(manifest.systemIdentifier).toBe(sql(primary, 'SELECT system_identifier::text FROM pg_control_system()'));
      // and the archive keeps what is needed from that backup on (pg_archivecleanup), in the directory of this database system
      const archive = path.join(claimDir(), 'pg', 'wal', manifest.systemIdentifier);
      const segments = () => fs.readdirSync(archive).filter((f) => /^[0-9A-F]{24}\.gz$/.test(f)).sort();
      expect(segments().every((f) => f >= `${manifest.startWal}.gz`)).toBe(true);

      // WHEN rows are written after it, a point in time is noted, and more rows are written and archived
      // (the restore picks the newest backup that finished before the target, in whole seconds)
      await waitFor('the second the backup finished in to pass', () => Date.now() / 1000 >= manifest.finishedEpoch + 1, 5_000, 50);
      sql(primary, 'INSERT INTO orders SELECT i, \'after the backup\' FROM generate_series(1001, 2000) i');
      const pause = () => new Promise((resolve) => setTimeout(resolve, 20)); // commit times and the target differ by more than their millisecond
      await pause();
      const pointInTime = sql(primary, 'SELECT to_char(clock_timestamp() AT TIME ZONE \'UTC\', \'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"\')');
      const atPointInTime = sql(primary, TABLE_SUM);
      await pause();
      sql(primary, 'INSERT INTO orders SELECT i, \'after the point in time\' FROM generate_series(2001, 3000) i');
      const last = sql(primary, 'SELECT pg_walfile_name(pg_current_wal_lsn())');
      sql(primary, 'SELECT pg_switch_wal()');
      await waitFor('the last segment to be archived', () => sql(primary, 'SELECT last_archived_wal FROM pg_stat_archiver') >= last);
      const atEnd = sql(primary, TABLE_SUM);

      // AND the StatefulSet and its claims go
      await stopAndDestroy(standby, p1);
      await stopAndDestroy(primary, p0);

      // THEN a new instance restored from the backup (its init container) replays the archive to its end: every row
      const latest = instance({ ...props, restoreFrom: { claimName: 'pg-backups', kind: BackupKind.PHYSICAL } });
      const l0 = latest.pod(0);
      const restored = l0.runInitContainer('restore');
      expect(restored.stderr).toBe('');
      expect(restored.status).toBe(0);
      expect(restored.stdout).toContain(`recovering to the end of the WAL archive ${archive}`);
      // the restore's server archived the history file of the timeline it started (the next recovery picks another)
      expect(fs.existsSync(path.join(archive, '00000002.history.gz'))).toBe(true);
      let server = await boot(l0);
      expect(sql(server, TABLE_SUM)).toBe(atEnd);
      expect(sql(server, 'SELECT pg_is_in_recovery()')).toBe('f');
      // taken from a standby, whose configuration names its primary, it no longer does
      expect(pg.runOk(['tar', '-xzOf', path.join(physicalDir, id, 'base.tar.gz'), 'postgresql.auto.conf'])).toContain('primary_conninfo');
      expect(fs.readFileSync(path.join(l0.pgData, 'postgresql.auto.conf'), 'utf-8')).not.toContain('primary_conninfo');
      expect(server.login('postgres', SUPERUSER_PASSWORD).ok).toBe(true);
      // a primary again, which standbys clone (with the replication password the restore gave the role)
      const clone = latest.pod(1).runStartSteps();
      expect(`${clone.status} ${clone.stderr}`).toBe('0 ');
      expect(clone.stdout).toContain('cloned: starting as a hot standby');
      await stopAndDestroy(server, l0);
      fs.rmSync(latest.pod(1).volume, { recursive: true, force: true });

      // AND one restored to the point in time has the rows written before it, not those after
      const pitr = instance({ ...props, restoreFrom: { claimName: 'pg-backups', kind: BackupKind.PHYSICAL, targetTime: pointInTime } });
      const r0 = pitr.pod(0);
      const recovered = r0.runInitContainer('restore');
      expect(recovered.stderr).toBe('');
      expect(recovered.status).toBe(0);
      expect(recovered.stdout).toContain(`recovering to ${new Date(pointInTime).toISOString().replace('T', ' ').replace('Z', '+00')} from the WAL archive`);
      server = await boot(r0);
      expect(sql(server, TABLE_SUM)).toBe(atPointInTime);
      expect(sql(server, 'SELECT count(*) FROM orders WHERE item = \'after the point in time\'')).toBe('0');
      expect(fs.existsSync(path.join(archive, '00000003.history.gz'))).toBe(true);
      await stopAndDestroy(server, r0);

      // AND a backup that does not match its manifest (gzip intact: a file changed after the manifest was
      // written, here the manifest's record of it, with the manifest's own checksum made to match) is refused
      const manifestFile = path.join(physicalDir, id, 'backup_manifest');
      const text = fs.readFileSync(manifestFile, 'utf-8');
      const tampered = text.replace(/("Path": "PG_VERSION", "Size": )(\d+)/, (_m, key, size) => `${key}${Number(size) + 1}`);
      expect(tampered).not.toBe(text);
      const body = tampered.slice(0, tampered.indexOf('"Manifest-Checksum"'));
      fs.writeFileSync(manifestFile, `${body}"Manifest-Checksum": "${createHash('sha256').update(body).digest('hex')}"}\n`);
      const d0 = latest.pod(0);
      const refused = d0.runInitContainer('restore');
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain('the backup does not match its manifest (pg_verifybackup, above): it is damaged or incomplete');
      expect(termination()).toContain('does not match its manifest');
      expect(refused.stderr).toMatch(/"PG_VERSION" has size \d+ on disk but size \d+ in the manifest/);
      expect(fs.existsSync(d0.pgData) && fs.readdirSync(d0.pgData).length > 0).toBe(false);
      expect(fs.existsSync(`${d0.pgData}.restore`)).toBe(false);
    }, 90_000);
  });
}

// Backups, proven against a real PostgreSQL: the backup Job's command, the start step, the initdb
// script and archive_command come from the synthesized manifests and run as the kubelet and the image would run them, each "pod" on loopback.
//
// Stand-ins for what Kubernetes provides, and nothing else:
// - a claim is a directory of the sandbox; each container's mounts (the claim, the ConfigMaps of
//   scripts) map to directories here, and so do the values of its environment and arguments that
//   name a path under a mount;
// - the pods' DNS names (`pg-0.pg-svc`, `pg-1.pg-svc`) are 127.0.0.1, each pod with a port of its own;
// - HOSTNAME is the pod name; TERMINATION_LOG points the termination message (/dev/termination-log) to a file.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Testing } from 'cdk8s';
import { BackupKind, PostgresCredentials, PostgresStatefulSet, PostgresStatefulSetProps } from '../lib';
import { containerEnv, Env, freePorts, initdb, IS_ROOT, run, runInitScripts, runOk, Sandbox, Server } from './pg/harness';
import { allOfKind, container, oneOfKind, podSpec, synth } from './util';

const SUPERUSER_PASSWORD = 'tes6Aev8';
const APP_PASSWORD = "app's pa$$word";
/** A database name that is shell, SQL and connection-string syntax at once. */
const ODD_DATABASE = `host=/nonexistent dbname=x 'quoted' "double" $(id) \`id\` \\ ;`;

let P0: number;
let P1: number;
let UNUSED: number;
beforeAll(async () => {
  [P0, P1, UNUSED] = await freePorts(3);
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

/** A directory standing in for the backup claim. */
function claimDir(): string {
  return path.join(sandbox.dir, 'claim');
}

/** The manifest of instance 'pg', and what its containers see of it, with their mounts mapped to directories of the sandbox. */
function instance(props: PostgresStatefulSetProps) {
  const chart = Testing.chart();
  new PostgresStatefulSet(chart, 'Db', {
    statefulSetName: 'pg', serviceName: 'pg-svc', port: P0, dataMountPath: path.join(sandbox.dir, 'pod-0'),
    credentials: PostgresCredentials.fromPassword(SUPERUSER_PASSWORD),
    ...props,
  });
  const manifest = synth(chart);
  const secret = oneOfKind(manifest, 'Secret');
  const secrets = { [secret.metadata.name]: secret.stringData };
  const scriptsDir = sandbox.mkdir('scripts');
  for (const configMap of allOfKind(manifest, 'ConfigMap')) {
    for (const [name, content] of Object.entries(configMap.data)) {
      fs.writeFileSync(path.join(scriptsDir, name), content as string);
    }
  }
  const pod = podSpec(manifest);
  const cronJobs = allOfKind(manifest, 'CronJob');
  const jobPod = cronJobs.length > 0 ? cronJobs[0].spec.jobTemplate.spec.template.spec : undefined;

  /** Mount path -> directory here, for a container of a pod: the claim, or the scripts. */
  const mounts = (podSpecOf: any, c: any): [string, string][] => (c.volumeMounts ?? []).flatMap((m: any) => {
    const volume = (podSpecOf.volumes ?? []).find((v: any) => v.name === m.name); // none for the claim template's data volume
    if (volume?.persistentVolumeClaim) {
      return [[m.mountPath, claimDir()]];
    }
    return volume?.configMap || volume?.projected ? [[m.mountPath, scriptsDir]] : [];
  });
  const mapper = (podSpecOf: any, c: any) => {
    const pairs = mounts(podSpecOf, c);
    return (value: string) => pairs.reduce((v, [from, to]) => v.split(`${from}/`).join(`${to}/`), value);
  };
  const envOf = (podSpecOf: any, c: any, overrides: Env = {}): Env => {
    const map = mapper(podSpecOf, c);
    const env = containerEnv(c, secrets);
    return { ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, map(v)])), TERMINATION_LOG: path.join(sandbox.dir, 'termination-log'), ...overrides };
  };
  const main = container(manifest);
  const hosts = (value: string) => value.replace(/pg-0\.pg-svc:\d+/, `127.0.0.1:${P0}`).replace(/pg-1\.pg-svc:\d+/, `127.0.0.1:${P1}`);
  return {
    manifest,
    main,
    /** The PostgreSQL container of pod `ordinal`: its environment and its args. */
    mainEnv: (ordinal = 0) => envOf(pod, main, ordinal === 0 ? { HOSTNAME: 'pg-0' }
      : { HOSTNAME: `pg-${ordinal}`, PGDATA: path.join(sandbox.mkdir(`pod-${ordinal}`), 'pgdata'), PGPORT: String(P1) }),
    mainArgs: (): string[] => ((main.args ?? ['postgres']) as string[]).map(mapper(pod, main)),
    /** The files the image runs from /docker-entrypoint-initdb.d. */
    initdbFiles: () => (pod.volumes.find((v: any) => v.name === 'initdb')?.projected.sources ?? []).flatMap((s: any) => s.configMap.items.map((item: any) => ({
      name: item.path, content: fs.readFileSync(path.join(scriptsDir, item.key), 'utf-8'), mode: item.mode,
    }))),
    /** The start steps the PostgreSQL container runs before the image's entrypoint. */
    startSteps: (): string[] => (containerEnv(main, secrets).POSTGRES_STATEFULSET_START_STEPS ?? '').split(':').filter((s) => s).map(mapper(pod, main)),
    /** Runs the backup Job's container to completion. */
    backupJob: (overrides: Env = {}, wrapper: string[] = []) => {
      const c = jobPod.containers[0];
      const env = envOf(jobPod, c);
      env.BACKUP_PRIMARY = hosts(env.BACKUP_PRIMARY);
      if (env.BACKUP_STANDBYS) {
        env.BACKUP_STANDBYS = hosts(env.BACKUP_STANDBYS);
      }
      return run([...wrapper, ...(c.command as string[]).map(mapper(jobPod, c))], { ...env, ...overrides }, { timeoutMs: 120_000 });
    },
  };
}

type Instance = ReturnType<typeof instance>;

/** Starts pod `ordinal`'s PostgreSQL container on its data directory: the start steps, then the server. */
async function startPod(db: Instance, ordinal = 0): Promise<Server> {
  const env = db.mainEnv(ordinal);
  for (const step of db.startSteps()) {
    runOk(['sh', step, ...db.mainArgs()], env);
  }
  const server = await Server.start(env, sandbox.mkdir(`run-${ordinal}`), db.mainArgs());
  servers.push(server);
  return server;
}

/** Pod 0 of a new instance: initialised as the image does (initdb, then the initdb.d files), then started. */
async function startNewPrimary(db: Instance): Promise<Server> {
  const env = db.mainEnv(0);
  initdb(env);
  const files = db.initdbFiles();
  if (files.length > 0) {
    runInitScripts(env, sandbox.mkdir('run-init'), files);
  }
  return startPod(db, 0);
}

const sql = (server: Server, query: string, database = 'postgres') => server.sql(query, 'postgres', SUPERUSER_PASSWORD, database);

/** The complete backups (directories named like an id, with a backup.json) under a kind's directory, oldest first. */
function backupsIn(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((name) => /^\d{8}T\d{6}Z$/.test(name) && fs.existsSync(path.join(dir, name, 'backup.json'))).sort() : [];
}

function termination(): string {
  const file = path.join(sandbox.dir, 'termination-log');
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf-8') : '';
  fs.rmSync(file, { force: true });
  return text;
}

describe('logical backups', () => {
  cluster();
  let source: Instance;
  let primary: Server;
  const logicalDir = () => path.join(claimDir(), 'pg', 'logical');

  beforeAll(async () => {
    // GIVEN an instance with logical backups, its data: a role with a password, a database it owns, and an oddly named one
    source = instance({ databaseName: 'app', backup: { kind: BackupKind.LOGICAL, keepLast: 2, keepDays: 3 } });
    primary = await startNewPrimary(source);
    sql(primary, `CREATE ROLE app LOGIN PASSWORD '${APP_PASSWORD.replace(/'/g, '\'\'')}'; ALTER DATABASE app OWNER TO app`);
    primary.sql('CREATE TABLE orders (id int PRIMARY KEY, item text NOT NULL); INSERT INTO orders SELECT i, md5(i::text) FROM generate_series(1, 50000) i',
      'app', APP_PASSWORD, 'app');
    sql(primary, `CREATE DATABASE "${ODD_DATABASE.replace(/"/g, '""')}"`);
    const odd = run(['psql', '-h', '127.0.0.1', '-U', 'postgres', '-v', 'ON_ERROR_STOP=1', '-c',
      'CREATE TABLE orders (id int PRIMARY KEY, item text); INSERT INTO orders VALUES (1, \'in the odd database\')'],
    { ...primary.env, PGPASSWORD: SUPERUSER_PASSWORD, PGDATABASE: ODD_DATABASE });
    expect(odd.stderr).toBe('');
  }, 60_000);

  test('a failed backup fails the Job with the reason and leaves nothing that looks like a backup: wrong password, server down, a full disk', () => {
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

    // a full disk: the claim is a 256 KiB tmpfs (or, unprivileged, a 256 KiB file size limit), the dump about a megabyte
    const full = sandbox.mkdir('full');
    let result;
    if (IS_ROOT) {
      const unmount = mountTmpfs(full, '256k');
      try {
        result = source.backupJob({ BACKUP_DIR: path.join(full, 'pg') });
        expect(result.stderr).toContain('No space left on device');
      } finally {
        unmount();
      }
    } else {
      result = source.backupJob({ BACKUP_DIR: path.join(full, 'pg') }, ['sh', '-c', 'ulimit -f 512 && exec "$@"', 'ulimit']);
    }
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/backup: pg_dump of database 'app' failed|backup: the dump of database 'app' does not read back/);
    expect(termination()).toMatch(/database 'app'/);
    expect(backupsIn(path.join(full, 'pg', 'logical'))).toEqual([]);
  }, 60_000);

  test('retention keeps the newest keepLast and those younger than keepDays, deletes only complete backups, and clears leftovers', () => {
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

    // AND with keepLast 1 and no age rule, only the newest stays
    const again = source.backupJob({ BACKUP_KEEP_LAST: '1', BACKUP_KEEP_DAYS: '' });
    expect(again.status).toBe(0);
    expect(fs.readdirSync(logicalDir()).sort()).toEqual([incomplete, backupsIn(logicalDir()).pop()!].sort());
    fs.rmSync(path.join(logicalDir(), incomplete), { recursive: true });
  }, 60_000);
});

/** Mounts a small tmpfs on a directory (root only); returns the unmount. */
function mountTmpfs(dir: string, size: string): () => void {
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0777`, 'tmpfs', dir], { encoding: 'utf-8' });
  if (mount.status !== 0) {
    throw new Error(`cannot mount a tmpfs on ${dir}: ${mount.stderr}`);
  }
  return () => {
    spawnSync('umount', [dir]);
  };
}

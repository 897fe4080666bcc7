// A real PostgreSQL server (Debian's package) on loopback, run the way the official image
// runs it in a pod, for tests that execute the commands and scripts of synthesized manifests.
//
// What stands in for the pod:
// - the container's environment is the `env` of the synthesized container (literal values;
//   `secretKeyRef`s are resolved from the Secret the test supplies), with the image's PATH
//   (the server binaries first);
// - processes run as the non-root `postgres` user (`runuser` when the tests run as root),
//   like the container running as uid 999;
// - each server gets its own socket directory, standing in for the emptyDir the pod mounts
//   at /var/run/postgresql;
// - initialisation does what the image's entrypoint does for an empty PGDATA: create the
//   directory (mode 700), run initdb with POSTGRES_USER, the password and POSTGRES_INITDB_ARGS,
//   and allow password logins over TCP in pg_hba.conf;
// - one difference: initdb's pg_hba.conf trusts TCP connections from 127.0.0.1, which in a pod
//   come from the pod itself, but here stand for every other pod too (standbys, clients, the
//   smoke test). Those lines are removed, so that every TCP login checks its password; only the
//   socket stays trusted, as in the image.
import { ChildProcess, spawn, spawnSync, SpawnSyncReturns } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';

/** The newest installed server's bin directory, e.g. /usr/lib/postgresql/15/bin. */
export const PG_BIN = (() => {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root)
    ? fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, 'bin', 'pg_ctl'))).sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error('No PostgreSQL server in /usr/lib/postgresql/*/bin: install Debian\'s postgresql package (.ci/run does)');
  }
  return path.join(root, versions[0], 'bin');
})();

/** Major version of the installed server. */
export const PG_MAJOR = Number(path.basename(path.dirname(PG_BIN)));

/** Whether the tests run as root (then servers run as postgres through runuser). */
export const IS_ROOT = process.getuid?.() === 0;

/**
 * Where the servers' files go: memory (/dev/shm) when it has room, so that initdb, checkpoints
 * and clones cost no disk I/O; the system's temporary directory otherwise. It changes how fast
 * files are written, not what the servers do.
 */
const SCRATCH = (() => {
  try {
    const stats = fs.statfsSync('/dev/shm');
    if (stats.bavail * stats.bsize >= 2 * 1024 ** 3) {
      fs.accessSync('/dev/shm', fs.constants.W_OK);
      return '/dev/shm';
    }
  } catch {
    // no usable /dev/shm
  }
  return os.tmpdir();
})();

export type Env = { [name: string]: string };

/** The command line that runs `argv` as the postgres user. */
function asPostgres(argv: string[]): string[] {
  return IS_ROOT ? ['runuser', '-u', 'postgres', '--', ...argv] : argv;
}

/** The process environment: the container's, the image's PATH (server binaries first, after PATH_PREFIX when given). */
function processEnv(env: Env): NodeJS.ProcessEnv {
  const { PATH_PREFIX: prefix, ...rest } = env;
  return { ...rest, PATH: `${prefix ? `${prefix}:` : ''}${PG_BIN}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin`, LANG: 'C.UTF-8', HOME: os.tmpdir() };
}

/** Runs a command as the postgres user and waits for it. */
export function run(argv: string[], env: Env = {}, options: { input?: string; timeoutMs?: number } = {}): SpawnSyncReturns<string> {
  const [cmd, ...args] = asPostgres(argv);
  return spawnSync(cmd, args, {
    env: processEnv(env),
    encoding: 'utf-8',
    input: options.input,
    timeout: options.timeoutMs ?? 60_000,
  });
}

/** Runs a command as the postgres user and fails with its output if it exits non-zero. */
export function runOk(argv: string[], env: Env = {}, options: { input?: string; timeoutMs?: number } = {}): string {
  const result = run(argv, env, options);
  if (result.status !== 0) {
    throw new Error(`${argv.join(' ')} exited ${result.status ?? result.signal ?? result.error}:\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

/** Starts a long-running command as the postgres user, in a process group of its own (see `killGroup`). */
export function start(argv: string[], env: Env = {}): ChildProcess {
  const [cmd, ...args] = asPostgres(argv);
  return spawn(cmd, args, { env: processEnv(env), stdio: ['pipe', 'pipe', 'pipe'], detached: true });
}

/** Kills a command from `start` with everything it started (runuser, a script, its children). */
export async function killGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
    return;
  }
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    return; // already gone
  }
  await exited;
}

/** A temporary directory the postgres user may write to; removed by `cleanup()`. */
export class Sandbox {
  public readonly dir: string;

  constructor(prefix = 'pg-') {
    this.dir = fs.mkdtempSync(path.join(SCRATCH, prefix));
    fs.chmodSync(this.dir, 0o777);
  }

  /** A subdirectory the postgres user owns. */
  public mkdir(name: string): string {
    const dir = path.join(this.dir, name);
    fs.mkdirSync(dir, { recursive: true });
    fs.chmodSync(dir, 0o777);
    return dir;
  }

  public cleanup(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The environment of a synthesized container: literal values, and secretKeyRefs from `secrets`. */
export function containerEnv(container: any, secrets: { [secretName: string]: { [key: string]: string } } = {}): Env {
  const env: Env = {};
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined) {
      env[variable.name] = variable.value;
    } else if (variable.valueFrom?.secretKeyRef) {
      const { name, key, optional } = variable.valueFrom.secretKeyRef;
      const value = secrets[name]?.[key];
      if (value === undefined && optional) {
        continue; // the kubelet leaves the variable unset
      }
      if (value === undefined) {
        throw new Error(`the test supplies no Secret ${name} with key ${key} for ${variable.name}`);
      }
      env[variable.name] = value;
    } else {
      throw new Error(`unsupported env source for ${variable.name}: ${JSON.stringify(variable.valueFrom)}`);
    }
  }
  return env;
}

/** Distinct TCP ports on 127.0.0.1 that nothing listens on (so that parallel test runs do not collide). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, () => new Promise<net.Server>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  })));
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Waits until `check` returns true, polling every `intervalMs` (checks that start processes,
 * such as psql or a probe script, cost CPU on every poll).
 */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 30_000, intervalMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await sleep(intervalMs);
  }
}

/**
 * Initialises an empty data directory as the image's entrypoint does (docker_create_db_directories,
 * docker_init_database_dir, pg_setup_hba_conf, docker_setup_db).
 *
 * initdb takes seconds, so each test process runs it once per combination of the inputs that
 * shape the result (user, password, initdb arguments, database) and copies that result into
 * PGDATA for the next test that asks for the same.
 */
export function initdb(env: Env): string {
  const pgData = env.PGDATA;
  const key = crypto.createHash('sha256')
    .update(JSON.stringify([env.POSTGRES_USER, env.POSTGRES_PASSWORD, env.POSTGRES_INITDB_ARGS, env.POSTGRES_DB]))
    .digest('hex').slice(0, 16);
  const template = path.join(templates(), key);
  if (!fs.existsSync(template)) {
    const building = `${template}.building`;
    runEntrypointInit({ ...env, PGDATA: building });
    fs.renameSync(building, template);
  }
  runOk(['mkdir', '-p', pgData]);
  runOk(['chmod', '00700', pgData]);
  runOk(['cp', '-a', `${template}/.`, pgData]);
  return pgData;
}

let templateDir: string | undefined;
function templates(): string {
  if (templateDir === undefined) {
    const dir = fs.mkdtempSync(path.join(SCRATCH, 'pg-templates-'));
    fs.chmodSync(dir, 0o777);
    process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    templateDir = dir;
  }
  return templateDir;
}

function runEntrypointInit(env: Env): void {
  runOk(['mkdir', '-p', env.PGDATA]);
  runOk(['chmod', '00700', env.PGDATA]);
  // the entrypoint's own line: POSTGRES_INITDB_ARGS is evaluated by bash
  runOk(['bash', '-c', 'eval \'initdb --username="$POSTGRES_USER" --pwfile=<(printf "%s\\n" "$POSTGRES_PASSWORD") \'"$POSTGRES_INITDB_ARGS"'], env);
  const hba = path.join(env.PGDATA, 'pg_hba.conf');
  const trustedTcp = /^host\S*\s.*\strust\s*$/;
  fs.writeFileSync(hba, fs.readFileSync(hba, 'utf-8').split('\n').filter((line) => !trustedTcp.test(line)).join('\n'));
  const method = PG_MAJOR >= 14 ? 'scram-sha-256' : 'md5';
  runOk(['sh', '-c', `printf '\\nhost all all all ${method}\\n' >> "$PGDATA/pg_hba.conf"`], env);
  const database = env.POSTGRES_DB ?? env.POSTGRES_USER ?? 'postgres';
  if (database !== 'postgres') {
    runOk(['postgres', '--single', '-D', env.PGDATA, 'postgres'], env, { input: `CREATE DATABASE "${database}";\n` });
  }
}

/**
 * Runs the files of /docker-entrypoint-initdb.d as the image's entrypoint does after initdb
 * (docker_temp_server_start, docker_process_init_files, docker_temp_server_stop): against a
 * temporary server that listens on its socket only; `*.sh` files are run when executable, `*.sql`
 * files through psql.
 */
export function runInitScripts(env: Env, socketDir: string, files: { name: string; content: string; mode: number }[]): string {
  const dir = fs.mkdtempSync(path.join(SCRATCH, 'initdb.d-'));
  fs.chmodSync(dir, 0o777);
  try {
    for (const file of files) {
      fs.writeFileSync(path.join(dir, file.name), file.content, { mode: file.mode });
      fs.chmodSync(path.join(dir, file.name), file.mode);
    }
    const log = path.join(dir, 'server.log');
    runOk(['pg_ctl', '-D', env.PGDATA, '-w', '-l', log, '-o', `-c listen_addresses='' -c unix_socket_directories=${socketDir} -p ${env.PGPORT}`, 'start'], env);
    let output = '';
    try {
      const clientEnv = { ...env, PGHOST: socketDir };
      for (const file of files.map((f) => f.name).sort()) {
        const full = path.join(dir, file);
        if (file.endsWith('.sh')) {
          if ((fs.statSync(full).mode & 0o111) === 0) {
            throw new Error(`${file} is not executable: the entrypoint would source it into its own shell`);
          }
          output += runOk([full], clientEnv);
        } else if (file.endsWith('.sql')) {
          output += runOk(['psql', '-v', 'ON_ERROR_STOP=1', '--username', env.POSTGRES_USER, '--no-password', '--no-psqlrc', '-f', full], clientEnv);
        }
      }
    } finally {
      runOk(['pg_ctl', '-D', env.PGDATA, '-m', 'fast', '-w', 'stop'], env);
    }
    return output;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A PostgreSQL server process, started with the container's environment and arguments. */
export class Server {
  /**
   * Starts `postgres` (the image's CMD, or the container's `args`) as the postgres user.
   *
   * @param env       the container environment (PGDATA, PGPORT, ...)
   * @param socketDir stands in for the emptyDir at /var/run/postgresql
   * @param args      the container's args, `postgres` first
   */
  public static async start(env: Env, socketDir: string, args: string[] = ['postgres']): Promise<Server> {
    if (args[0] !== 'postgres') {
      throw new Error(`expected the container to run postgres, got ${args.join(' ')}`);
    }
    const child = start([...args, '-c', `unix_socket_directories=${socketDir}`, '-c', 'listen_addresses=127.0.0.1'], env);
    const server = new Server(child, env);
    await server.waitForLog(/database system is ready to accept (read-only )?connections/);
    return server;
  }

  private _log = '';
  private _exited = false;

  private constructor(public readonly process: ChildProcess, public readonly env: Env) {
    const append = (chunk: Buffer) => { this._log += chunk.toString(); };
    process.stdout?.on('data', append);
    process.stderr?.on('data', append);
    process.on('exit', () => { this._exited = true; });
  }

  /** Everything the server logged so far. */
  public get log(): string {
    return this._log;
  }

  public get exited(): boolean {
    return this._exited;
  }

  public async waitForLog(pattern: RegExp, timeoutMs = 30_000): Promise<void> {
    await waitFor(`the server to log ${pattern}\n${this._log}`, () => pattern.test(this._log) || this._exited, timeoutMs, 50);
    if (!pattern.test(this._log)) {
      throw new Error(`the server exited before logging ${pattern}:\n${this._log}`);
    }
  }

  public async waitForExit(timeoutMs = 30_000): Promise<void> {
    await waitFor('the server to exit', () => this._exited, timeoutMs, 50);
  }

  /** Runs SQL over TCP on loopback as a user, who must give the right password. */
  public sql(query: string, user: string, password: string, database = user): string {
    return runOk(['psql', '-h', '127.0.0.1', '-U', user, '-d', database, '-v', 'ON_ERROR_STOP=1', '-tAc', query],
      { ...this.env, PGPASSWORD: password }).trim();
  }

  /** Whether `user` can log in over TCP with `password` (the error when not). */
  public login(user: string, password: string, database = 'postgres'): { ok: boolean; error: string } {
    const result = run(['psql', '-h', '127.0.0.1', '-U', user, '-d', database, '--no-password', '-tAc', 'SELECT 1'],
      { ...this.env, PGPASSWORD: password });
    return { ok: result.status === 0, error: result.stderr.trim() };
  }

  /** Stops the server if it still runs (immediate mode: test cleanup only). */
  public async kill(): Promise<void> {
    if (!this._exited) {
      run(['pg_ctl', 'stop', '-D', this.env.PGDATA, '-m', 'immediate'], this.env);
      await this.waitForExit();
    }
  }
}

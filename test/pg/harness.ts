// Real PostgreSQL servers on loopback, run the way the official image runs them in a pod, for
// tests that execute the commands and scripts of synthesized manifests. Two installations:
//
// - PG15: Debian bookworm's postgresql-15 on the host (/usr/lib/postgresql/15/bin);
// - PG18: Debian sid's postgresql-18 in a chroot (scripts/pg18-chroot.sh builds and mounts it;
//   PG18_CHROOT_DIR overrides where). Commands run through `chroot <dir> ...` as the postgres
//   user (same uid and gid as the host's), with the environment passed explicitly. The chroot
//   shares the host's network, and the scratch directory the tests use (SCRATCH, normally
//   /dev/shm) is mounted at the same path inside it, so ports and paths mean the same on both.
//
// Every helper takes the installation it targets (PG15 when not given), and servers of either can
// be reached over TCP with the client tools of either (`server.sql(..., PG15)`).
//
// What stands in for the pod:
// - the container's environment is the `env` of the synthesized container (literal values;
//   `secretKeyRef`s resolved from the Secret the test supplies), over the image's (PATH with the
//   server binaries first, PG_MAJOR; LANG is C.UTF-8 where the image has en_US.utf8);
// - processes run as the non-root `postgres` user (when the tests run as root: spawned with its
//   uid and gid, or by `chroot --userspec`), like the container running as uid 999; a pod may start as root instead
//   (`asRoot`, a container without runAsUser), and its entrypoint continues as postgres;
// - a pod starts through test/pg/entrypoint.sh, a stand-in for the image's docker-entrypoint.sh
//   that follows its documented steps (read its header): the container's args, env and
//   /docker-entrypoint-initdb.d go in, a running server (or a failed start, as the image's) comes
//   out. Each pod gets its own socket directory, standing in for the emptyDir the pod mounts at
//   /var/run/postgresql;
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

/** Whether the tests run as root (then servers run as postgres: spawned with its ids, or through chroot). */
export const IS_ROOT = process.getuid?.() === 0;

const REPO = path.resolve(__dirname, '..', '..');
const CHROOT_SCRIPT = path.join(REPO, 'scripts', 'pg18-chroot.sh');

/**
 * Where the servers' files go: memory (/dev/shm) when it has room, so that initdb, checkpoints
 * and clones cost no disk I/O; a directory under the system's temporary directory otherwise
 * (mounted into the PostgreSQL 18 chroot at the same path). It changes how fast files are
 * written, not what the servers do.
 */
export const SCRATCH = (() => {
  try {
    const stats = fs.statfsSync('/dev/shm');
    if (stats.bavail * stats.bsize >= 2 * 1024 ** 3) {
      fs.accessSync('/dev/shm', fs.constants.W_OK);
      return '/dev/shm';
    }
  } catch {
    // no usable /dev/shm
  }
  const dir = path.join(os.tmpdir(), 'cdk8s-postgres-statefulset-tests');
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, 0o1777);
  return dir;
})();

export type Env = { [name: string]: string };

export interface RunOptions {
  /** Text for the command's standard input. */
  readonly input?: string;
  /** @default 60 s */
  readonly timeoutMs?: number;
  /** Run as root instead of postgres (the container's user when it may run as root); tests running as root only. */
  readonly asRoot?: boolean;
}

/** The host's postgres user, whose ids the chroot's postgres user has too. */
export const POSTGRES_IDS = (() => {
  const line = fs.readFileSync('/etc/passwd', 'utf-8').split('\n').find((l) => l.startsWith('postgres:'));
  return line ? { uid: Number(line.split(':')[2]), gid: Number(line.split(':')[3]) } : undefined;
})();

/**
 * A PostgreSQL installation: its major, where its binaries are, and how to run them.
 * Use the instances PG15 and PG18 (or INSTALLS, to run a test on each).
 */
export class Installation {
  private checked = false;
  private _version: string | undefined;

  /**
   * @param major the major version
   * @param root  the chroot it lives in; undefined for the host
   */
  constructor(public readonly major: number, public readonly root: string | undefined) {}

  /** E.g. "PostgreSQL 18 (sid chroot)": for test names (`describe.each(INSTALLS)('%s', ...)`). */
  public get name(): string {
    return `PostgreSQL ${this.major} (${this.root ? 'sid chroot' : 'host'})`;
  }

  public toString(): string {
    return this.name;
  }

  /** The bin directory, as its own processes see it (inside the chroot for PG18). */
  public get bin(): string {
    return `/usr/lib/postgresql/${this.major}/bin`;
  }

  /** The server's version, e.g. "18.6". */
  public get version(): string {
    if (this._version === undefined) {
      const output = this.runOk(['postgres', '--version']);
      const match = /\(PostgreSQL\) (\d+(?:\.\d+)?)/.exec(output);
      if (!match) {
        throw new Error(`${this.name}: unexpected postgres --version output: ${output}`);
      }
      this._version = match[1];
    }
    return this._version;
  }

  /** The official image of this installation's version, e.g. "postgres:18.6": for a test's `image` prop. */
  public get image(): string {
    return `postgres:${this.version}`;
  }

  /** A path of this installation's file system as the host sees it. */
  public hostPath(p: string): string {
    return this.root ? path.join(this.root, p) : p;
  }

  /**
   * Throws, saying what to do, when the installation cannot run here: not installed, or (PG18)
   * the chroot missing or not mounted (mounted here when the tests run as root).
   */
  public check(): void {
    if (this.checked) {
      return;
    }
    if (!this.root) {
      if (!fs.existsSync(path.join(this.bin, 'pg_ctl')) || !fs.existsSync(path.join(this.bin, 'psql'))) {
        throw new Error(`${this.name} is not installed (no ${this.bin}/pg_ctl or psql): apt-get install postgresql-${this.major} postgresql-client-${this.major} (.ci/run does)`);
      }
    } else {
      const build = process.env.PG18_CHROOT_DIR
        ? `sudo PG18_CHROOT_DIR=${this.root} scripts/pg18-chroot.sh ensure (about a minute; .ci/run does it)`
        : 'sudo scripts/pg18-chroot.sh ensure (about a minute; .ci/run does it), or set PG18_CHROOT_DIR to where it is';
      if (!fs.existsSync(path.join(this.root, 'etc', 'cdk8s-postgres-statefulset-chroot')) || !fs.existsSync(this.hostPath(path.join(this.bin, 'postgres')))) {
        throw new Error(`${this.name} is missing: no finished chroot at ${this.root}. Build it with: ${build}`);
      }
      if (!IS_ROOT) {
        throw new Error(`${this.name} runs in a chroot, which needs root: run the tests as root`);
      }
      if (POSTGRES_IDS === undefined) {
        throw new Error('the host has no postgres user: apt-get install postgresql-15 (.ci/run does)');
      }
      if (this.missingMounts().length > 0) {
        const mount = spawnSync(CHROOT_SCRIPT, ['mount', ...(SCRATCH.startsWith('/dev/shm/') || SCRATCH === '/dev/shm' ? [] : [SCRATCH])], {
          encoding: 'utf-8', env: { ...process.env, PG18_CHROOT_DIR: this.root }, timeout: 60_000,
        });
        const missing = this.missingMounts();
        if (missing.length > 0) {
          throw new Error(`${this.name}: ${missing.join(', ')} not mounted, and scripts/pg18-chroot.sh mount failed (${mount.status}):\n${mount.stdout}${mount.stderr}`);
        }
      }
    }
    this.checked = true;
  }

  private missingMounts(): string[] {
    const mounted = new Set(fs.readFileSync('/proc/mounts', 'utf-8').split('\n').map((line) => line.split(' ')[1]));
    const needed = [path.join(this.root!, 'proc'), path.join(this.root!, 'dev', 'shm')];
    if (!(SCRATCH === '/dev/shm' || SCRATCH.startsWith('/dev/shm/'))) {
      needed.push(path.join(this.root!, SCRATCH));
    }
    return needed.filter((m) => !mounted.has(m));
  }

  /**
   * The command line that runs `argv` with this installation, and the user ids to spawn it with:
   * as postgres (or root with `asRoot`). When the tests run as root, a host command is spawned
   * with postgres's uid and gid and no supplementary groups (Node switches in the child;
   * `runuser` cost a PAM session, about 7 ms, per command), a chroot command switches in chroot
   * (`--userspec`). Either way HOME is a temporary directory (`processEnv`) and USER/LOGNAME are
   * not set: nothing the pods run reads them.
   */
  public command(argv: string[], options: { asRoot?: boolean } = {}): { argv: string[]; ids?: { uid: number; gid: number } } {
    this.check();
    if (options.asRoot && !IS_ROOT) {
      throw new Error(`cannot run ${argv[0]} as root: the tests do not run as root`);
    }
    if (this.root) {
      const user = options.asRoot ? [] : [`--userspec=${POSTGRES_IDS!.uid}:${POSTGRES_IDS!.gid}`, `--groups=${POSTGRES_IDS!.gid}`];
      return { argv: ['/usr/sbin/chroot', ...user, this.root, ...argv] };
    }
    return IS_ROOT && !options.asRoot ? { argv, ids: { uid: POSTGRES_IDS!.uid, gid: POSTGRES_IDS!.gid } } : { argv };
  }

  /** The environment of a process: the image's defaults (PATH with this bin first, PG_MAJOR, LANG), then `env`. */
  public processEnv(env: Env): NodeJS.ProcessEnv {
    return {
      PATH: `${this.bin}:/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin`,
      LANG: 'C.UTF-8',
      PG_MAJOR: String(this.major),
      ...env,
      HOME: this.root ? '/tmp' : os.tmpdir(),
    };
  }

  /** Runs a command (as postgres, unless `asRoot`) and waits for it. */
  public run(argv: string[], env: Env = {}, options: RunOptions = {}): SpawnSyncReturns<string> {
    const { argv: [cmd, ...args], ids } = this.command(argv, options);
    return spawnSync(cmd, args, {
      ...ids,
      env: this.processEnv(env),
      encoding: 'utf-8',
      input: options.input,
      timeout: options.timeoutMs ?? 60_000,
      // a script's TERM trap waits for its current command: a hung one would hold the test forever
      killSignal: 'SIGKILL',
    });
  }

  /** Runs a command and fails with its output if it exits non-zero; returns its standard output. */
  public runOk(argv: string[], env: Env = {}, options: RunOptions = {}): string {
    const result = this.run(argv, env, options);
    if (result.status !== 0) {
      throw new Error(`${this.name}: ${argv.join(' ')} exited ${result.status ?? result.signal ?? result.error}:\n${result.stdout}\n${result.stderr}`);
    }
    return result.stdout;
  }

  /** Starts a long-running command, in a process group of its own (see `killGroup`). */
  public start(argv: string[], env: Env = {}, options: { asRoot?: boolean } = {}): ChildProcess {
    const { argv: [cmd, ...args], ids } = this.command(argv, options);
    return spawn(cmd, args, { ...ids, env: this.processEnv(env), stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  }

  /** See the module function `initdb`. */
  public initdb(env: Env, options: InitdbOptions = {}): string {
    return initdb(env, { ...options, install: this });
  }

  /** See `Server.pod`. */
  public startPod(pod: Omit<PodOptions, 'install'>): Promise<Server> {
    return Server.pod({ ...pod, install: this });
  }
}

/** PostgreSQL 15, Debian bookworm's, on the host. */
export const PG15 = new Installation(15, undefined);

/** PostgreSQL 18, Debian sid's, in the chroot scripts/pg18-chroot.sh builds. */
export const PG18 = new Installation(18, path.resolve(process.env.PG18_CHROOT_DIR ?? '/var/cache/cdk8s-postgres-statefulset/pg18-sid'));

/** Both, oldest first: `describe.each(INSTALLS)('%s', (pg) => ...)`. */
export const INSTALLS: readonly Installation[] = [PG15, PG18];

/** What a suite's function takes besides the installation it runs on. */
export interface SuiteOptions {
  /**
   * Register the suite's major-independent tests (`majorIndependentTest`) too: for the default
   * image's major, PostgreSQL 18, in one file of the suite.
   * @default false
   */
  readonly majorIndependent?: boolean;
}

/**
 * The `test` of a suite's major-independent tests: those whose outcome depends on this library's
 * steps and scripts (how a value is quoted, what is refused before anything is created, which
 * role, file or rule a restart updates), where what PostgreSQL itself does (refuse a wrong
 * password, report it) has been the same in every supported major.
 * They are registered only where `options.majorIndependent` says, the default image's major: a
 * second run on another major would cost its CPU time and test nothing more. What depends on the
 * major (initdb, the server's settings and authentication, TLS, pg_basebackup and pg_dump,
 * recovery, the replication views the probes read, the tools' messages) is registered with `test`
 * and runs on every major.
 */
export function majorIndependentTest(options: SuiteOptions): (name: string, fn: jest.ProvidesCallback, timeout?: number, when?: boolean) => void {
  return (name, fn, timeout, when = true) => {
    if (options.majorIndependent) {
      (when ? test : test.skip)(name, fn, timeout); // skipped, and listed as such, where `when` is false
    }
  };
}

/** The host installation's bin directory (PG15). */
export const PG_BIN = PG15.bin;

/** The host installation's major (15). */
export const PG_MAJOR = PG15.major;

/** Runs a command with PostgreSQL 15 on the host, as postgres; see `Installation.run`. */
export function run(argv: string[], env: Env = {}, options: RunOptions = {}): SpawnSyncReturns<string> {
  return PG15.run(argv, env, options);
}

/** Runs a command with PostgreSQL 15 on the host, as postgres, failing when it fails; see `Installation.runOk`. */
export function runOk(argv: string[], env: Env = {}, options: RunOptions = {}): string {
  return PG15.runOk(argv, env, options);
}

/** Starts a command with PostgreSQL 15 on the host, as postgres; see `Installation.start`. */
export function start(argv: string[], env: Env = {}): ChildProcess {
  return PG15.start(argv, env);
}

/** Kills a command from `start` with everything it started (chroot, a script, its children). */
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

/** A temporary directory the postgres user may write to (also inside the chroot); removed by `cleanup()`. */
export class Sandbox {
  public readonly dir: string;

  constructor(prefix = 'pg-') {
    this.dir = fs.mkdtempSync(path.join(SCRATCH, prefix));
    fs.chmodSync(this.dir, 0o777);
  }

  /** A subdirectory the postgres user may write to. */
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

/**
 * Distinct TCP ports on 127.0.0.1 that nothing listens on, for servers a test file keeps for its
 * whole run. Not from the kernel's ephemeral range (a port it hands out with `listen(0)` is free
 * only for that moment: any outgoing connection, a psql of another test file for one, may take it
 * as its local port before the server binds it, and the server then fails with "Address already
 * in use"). Each jest worker takes its ports from a block of its own below that range, so test
 * files running in parallel never pick the same port; within the block, ports that something
 * listens on (a server left over from an earlier file) are skipped.
 */
export async function freePorts(count: number): Promise<number[]> {
  const ephemeralLow = (() => {
    try {
      return Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf-8').trim().split(/\s+/)[0]) || 32768;
    } catch {
      return 32768;
    }
  })();
  const BLOCK = 500;
  const blocks = Math.max(1, Math.floor((ephemeralLow - 10_000) / BLOCK));
  const worker = Number(process.env.JEST_WORKER_ID ?? 0);
  const first = 10_000 + (worker % blocks) * BLOCK;
  const offset = crypto.randomInt(BLOCK);
  const ports: number[] = [];
  for (let i = 0; i < BLOCK && ports.length < count; i++) {
    const port = first + (offset + i) % BLOCK;
    if (await canListen(port)) {
      ports.push(port);
    }
  }
  if (ports.length < count) {
    throw new Error(`freePorts: fewer than ${count} free ports in ${first}-${first + BLOCK - 1}`);
  }
  return ports;
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Waits until `check` returns true, polling every `intervalMs` (checks that start processes,
 * such as psql or a probe script, cost CPU on every poll). A check that throws counts as "not
 * yet" (a standby that has not replayed a CREATE TABLE yet answers "relation does not exist");
 * the timeout's error gives the last error it threw.
 */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000, intervalMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let lastError: unknown;
    try {
      if (await check()) {
        return;
      }
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const reason = lastError === undefined ? '' : `; the last check threw: ${lastError instanceof Error ? lastError.message : String(lastError)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${reason}`);
    }
    await sleep(intervalMs);
  }
}

// ---------------------------------------------------------------------------------------------
// Pods: the image's entrypoint

/** A file of /docker-entrypoint-initdb.d (a ConfigMap item: its path, content and mode). */
export interface InitFile {
  readonly name: string;
  readonly content: string | Buffer;
  /** @default 0o644 */
  readonly mode?: number;
}

export interface InitdbOptions {
  /** @default PG15 */
  readonly install?: Installation;
  /** The container's args (`postgres` first, or flags only): they shape pg_hba.conf and the temporary server. @default ['postgres'] */
  readonly args?: string[];
  /** The files of /docker-entrypoint-initdb.d, or a directory holding them. @default none */
  readonly initdbD?: readonly InitFile[] | string;
  /** Stands in for the pod's /var/run/postgresql. @default a new directory */
  readonly socketDir?: string;
  /**
   * Whether initdb's result may be copied from an earlier initdb with the same inputs (see the
   * entrypoint's HARNESS_INITDB_CACHE). @default true
   */
  readonly cache?: boolean;
  /**
   * Start the container as root, as a pod without runAsUser does (the image's default user): the
   * entrypoint gives PGDATA and the socket directory to postgres and continues as postgres.
   * Tests running as root only. @default false (the container runs as postgres, as with the restricted profile)
   */
  readonly asRoot?: boolean;
}

export interface PodOptions extends InitdbOptions {
  /** The container's environment (`containerEnv(...)` plus stand-ins); PGDATA is required. */
  readonly env: Env;
  /** Stands in for the emptyDir at /var/run/postgresql. */
  readonly socketDir: string;
}

/**
 * This process's scratch files: the entrypoint (where the chroot sees it too), initdb.d copies,
 * socket directories, and initdb's results (the entrypoint's HARNESS_INITDB_CACHE) unless the jest
 * run shares them (`createRunFiles`). Removed after the test file, or when the process exits; jest
 * may end its workers without an exit event, so each process also removes those of test
 * processes that are gone, and the run directories of jest processes that are gone (the
 * directories' names hold the process id).
 */
let harnessDir: string | undefined;
function harnessFiles(): { dir: string; entrypoint: string; emptyDir: string; initdbCache: string } {
  if (harnessDir === undefined) {
    for (const name of fs.readdirSync(SCRATCH)) {
      const pid = /^pg-(?:harness|run)-(\d+)-/.exec(name)?.[1];
      if (pid !== undefined && !processExists(Number(pid))) {
        fs.rmSync(path.join(SCRATCH, name), { recursive: true, force: true });
      }
    }
    const dir = fs.mkdtempSync(path.join(SCRATCH, `pg-harness-${process.pid}-`));
    fs.chmodSync(dir, 0o777);
    process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    fs.copyFileSync(path.join(__dirname, 'entrypoint.sh'), path.join(dir, 'entrypoint.sh'));
    fs.chmodSync(path.join(dir, 'entrypoint.sh'), 0o755);
    fs.mkdirSync(path.join(dir, 'initdb.d-empty'), { mode: 0o755 });
    fs.mkdirSync(path.join(dir, 'initdb'));
    fs.chmodSync(path.join(dir, 'initdb'), 0o777);
    harnessDir = dir;
  }
  // the run's directory, where this process (and so the chroot) sees it
  const runDir = process.env[RUN_DIR_VARIABLE];
  const shared = runDir !== undefined && path.dirname(runDir) === SCRATCH && fs.existsSync(runDir);
  return {
    dir: harnessDir, entrypoint: path.join(harnessDir, 'entrypoint.sh'), emptyDir: path.join(harnessDir, 'initdb.d-empty'),
    initdbCache: shared ? runDir : path.join(harnessDir, 'initdb'),
  };
}

/**
 * The environment variable that names the jest run's directory of initdb results, shared by all
 * its test files (each file has scratch files of its own): the same inputs give the same initdb
 * result in any file, and initdb costs about half a second of CPU. Set by `createRunFiles` in
 * jest's globalSetup, before the workers start (they inherit it); without it, a test file keeps
 * initdb's results to itself.
 */
const RUN_DIR_VARIABLE = 'PG_HARNESS_RUN_DIR';

/** jest's globalSetup (test/global-setup.ts): the run's directory of initdb results; returns it. */
export function createRunFiles(): string {
  const dir = fs.mkdtempSync(path.join(SCRATCH, `pg-run-${process.pid}-`));
  fs.chmodSync(dir, 0o777); // the entrypoint writes there as postgres
  process.env[RUN_DIR_VARIABLE] = dir;
  return dir;
}

/** The initdb cache the entrypoint gets in this process (the run's, or this test file's own). */
export function initdbCacheDir(): string {
  return harnessFiles().initdbCache;
}

/** jest's globalTeardown (test/global-teardown.ts): removes it (or a later run does, once this process is gone). */
export function removeRunFiles(): void {
  const dir = process.env[RUN_DIR_VARIABLE];
  if (dir !== undefined) {
    fs.rmSync(dir, { recursive: true, force: true });
    delete process.env[RUN_DIR_VARIABLE];
  }
}

// jest loads this module afresh for each test file, in workers that run many files: each file's
// scratch files go when it ends.
if (typeof afterAll === 'function') {
  afterAll(() => {
    if (harnessDir !== undefined) {
      fs.rmSync(harnessDir, { recursive: true, force: true });
      harnessDir = undefined;
    }
  });
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The stand-in entrypoint (test/pg/entrypoint.sh), where both installations can run it. */
export function entrypoint(): string {
  return harnessFiles().entrypoint;
}

/** A directory holding the stand-in entrypoint as `docker-entrypoint.sh`, the name a container's command runs it by. */
export function entrypointBin(): string {
  const bin = path.join(harnessFiles().dir, 'bin');
  if (!fs.existsSync(bin)) {
    fs.mkdirSync(bin, { mode: 0o755 });
    fs.symlinkSync(entrypoint(), path.join(bin, 'docker-entrypoint.sh'));
  }
  return bin;
}

function scratchDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(harnessFiles().dir, prefix));
  fs.chmodSync(dir, 0o777);
  return dir;
}

/** A directory standing in for /docker-entrypoint-initdb.d. */
function initdbDir(files: readonly InitFile[] | string | undefined): string {
  if (files === undefined) {
    return harnessFiles().emptyDir;
  }
  if (typeof files === 'string') {
    return files;
  }
  const dir = scratchDir('initdb.d-');
  fs.chmodSync(dir, 0o755);
  for (const file of files) {
    const full = path.join(dir, file.name);
    fs.writeFileSync(full, file.content);
    fs.chmodSync(full, file.mode ?? 0o644);
  }
  return dir;
}

/** The entrypoint's environment for a pod. */
function entrypointEnv(install: Installation, env: Env, options: InitdbOptions): Env {
  if (!env.PGDATA) {
    throw new Error('the container environment has no PGDATA: the harness needs the data directory in the sandbox');
  }
  install.check();
  const socketDir = options.socketDir ?? scratchDir('socket-');
  if (IS_ROOT && POSTGRES_IDS && fs.existsSync(socketDir)) {
    fs.chownSync(socketDir, POSTGRES_IDS.uid, POSTGRES_IDS.gid); // the pod's /var/run/postgresql belongs to postgres
  }
  return {
    ...env,
    HARNESS_INITDB_D: initdbDir(options.initdbD),
    HARNESS_SOCKET_DIR: socketDir,
    ...(options.cache === false ? {} : { HARNESS_INITDB_CACHE: harnessFiles().initdbCache }),
  };
}

/**
 * After the entrypoint failed: stops the temporary server it may have left running (in a pod
 * the container's end takes it down; here pg_ctl started it in a session of its own).
 */
function stopLeftover(install: Installation, pgData: string): void {
  if (fs.existsSync(path.join(pgData, 'postmaster.pid'))) {
    install.run(['pg_ctl', 'stop', '-D', pgData, '-m', 'immediate', '-w'], { PGDATA: pgData });
  }
}

/**
 * Initialises PGDATA as the image's entrypoint does on a pod's first start, without starting the
 * server afterwards (the entrypoint exits where it would exec postgres); nothing happens when
 * PGDATA already holds a database. The initdb.d files run as in the image. Returns PGDATA.
 */
export function initdb(env: Env, options: InitdbOptions = {}): string {
  const install = options.install ?? PG15;
  const args = options.args ?? ['postgres'];
  try {
    install.runOk([entrypoint(), ...args], { ...entrypointEnv(install, env, options), HARNESS_INIT_ONLY: '1' }, { timeoutMs: 120_000, asRoot: options.asRoot });
  } catch (error) {
    stopLeftover(install, env.PGDATA);
    throw error;
  }
  return env.PGDATA;
}

/**
 * Runs initdb.d files against an initialised PGDATA as the image's entrypoint runs them after
 * initdb (its temporary socket-only server, started under `args`, then the files in sorted
 * order, then a fast stop); returns what they printed. Prefer `Server.pod` with `initdbD`,
 * which runs them during the initialisation itself, as the image does.
 */
export function runInitScripts(env: Env, socketDir: string, files: readonly InitFile[], options: { install?: Installation; args?: string[] } = {}): string {
  const install = options.install ?? PG15;
  const script = '. "$1"; shift; read_settings; export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"; '
    + 'start_temp_server "$@"; run_init_files "$HARNESS_INITDB_D"/*; stop_temp_server';
  try {
    return install.runOk(['bash', '-c', script, 'runInitScripts', entrypoint(), ...(options.args ?? ['postgres'])],
      { ...env, HARNESS_INITDB_D: initdbDir(files), HARNESS_SOCKET_DIR: socketDir });
  } catch (error) {
    stopLeftover(install, env.PGDATA);
    throw error;
  }
}

/** A PostgreSQL server started as a pod starts it (through the entrypoint), with either installation. */
export class Server {
  /**
   * Starts a pod's container: the entrypoint with the container's args and environment, which
   * initialises an empty PGDATA (running the initdb.d files) and then exec's postgres. Resolves
   * once the server accepts connections; rejects with the container's log when it exits first.
   */
  public static async pod(pod: PodOptions): Promise<Server> {
    const install = pod.install ?? PG15;
    const args = pod.args ?? ['postgres'];
    if (!(args[0] === 'postgres' || args[0]?.startsWith('-'))) {
      throw new Error(`expected the container to run postgres, got ${args.join(' ')}`);
    }
    const env = entrypointEnv(install, pod.env, pod);
    const child = install.start([entrypoint(), ...args], env, { asRoot: pod.asRoot });
    return Server.accepting(child, pod, install);
  }

  /**
   * Starts a pod's container with its own command (`command` and `args` of the synthesized
   * container, paths already mapped to this machine), with the stand-in entrypoint on the PATH as
   * `docker-entrypoint.sh`, where the official image has it: the container's start steps run, then
   * exec the entrypoint, which initialises an empty PGDATA and exec's postgres. Resolves once the
   * server accepts connections; rejects with the container's output when it exits first.
   */
  public static async container(pod: PodOptions & { readonly command: string[] }): Promise<Server> {
    const install = pod.install ?? PG15;
    const env = { ...entrypointEnv(install, pod.env, pod), PATH: `${entrypointBin()}:${install.processEnv({}).PATH}` };
    const child = install.start(pod.command, env, { asRoot: pod.asRoot });
    return Server.accepting(child, pod, install);
  }

  /** The server of a started container, once it accepts connections; on failure, the container and any server it left are stopped. */
  private static async accepting(child: ChildProcess, pod: PodOptions, install: Installation): Promise<Server> {
    const server = new Server(child, pod.env, install, pod.socketDir);
    try {
      await server.waitForLog(/(init process complete|Skipping initialization)[\s\S]*database system is ready to accept (read-only )?connections/, 120_000);
    } catch (error) {
      await killGroup(child);
      stopLeftover(install, pod.env.PGDATA);
      throw error;
    }
    return server;
  }

  /**
   * `Server.pod` with positional arguments.
   *
   * @param env       the container environment (PGDATA, PGPORT, ...)
   * @param socketDir stands in for the emptyDir at /var/run/postgresql
   * @param args      the container's args, `postgres` first
   */
  public static start(env: Env, socketDir: string, args: string[] = ['postgres'], options: { install?: Installation; initdbD?: readonly InitFile[] | string } = {}): Promise<Server> {
    return Server.pod({ env, socketDir, args, ...options });
  }

  private _log = '';
  private _exited = false;

  private constructor(public readonly process: ChildProcess, public readonly env: Env, public readonly install: Installation, public readonly socketDir: string) {
    const append = (chunk: Buffer) => { this._log += chunk.toString(); };
    process.stdout?.on('data', append);
    process.stderr?.on('data', append);
    process.on('exit', () => { this._exited = true; });
  }

  /** The TCP port on 127.0.0.1. */
  public get port(): number {
    return Number(this.env.PGPORT ?? 5432);
  }

  /** Everything the container logged so far (the entrypoint's initialisation, then the server's). */
  public get log(): string {
    return this._log;
  }

  public get exited(): boolean {
    return this._exited;
  }

  public async waitForLog(pattern: RegExp, timeoutMs = 30_000): Promise<void> {
    try {
      await waitFor(`the server to log ${pattern}`, () => pattern.test(this._log) || this._exited, timeoutMs, 50);
    } catch (error) {
      throw new Error(`${(error as Error).message}; its log:\n${this._log}`);
    }
    if (!pattern.test(this._log)) {
      throw new Error(`the server exited (${this.install.name}) before logging ${pattern}:\n${this._log}`);
    }
  }

  public async waitForExit(timeoutMs = 30_000): Promise<void> {
    await waitFor('the server to exit', () => this._exited, timeoutMs, 50);
  }

  /** libpq's environment for a TCP login to this server as `user` (for any client: psql, pg_dump, ...). */
  public clientEnv(user: string, password: string, database = user): Env {
    return { PGHOST: '127.0.0.1', PGPORT: String(this.port), PGUSER: user, PGPASSWORD: password, PGDATABASE: database };
  }

  /**
   * Runs SQL over TCP on loopback as a user, who must give the right password, with the psql of
   * `client` (this server's installation unless given: PG15's psql against a PG18 server works too).
   */
  public sql(query: string, user: string, password: string, database = user, client: Installation = this.install): string {
    return client.runOk(['psql', '-X', '-v', 'ON_ERROR_STOP=1', '-tAc', query], this.clientEnv(user, password, database)).trim();
  }

  /** Whether `user` can log in over TCP with `password` (the error when not). */
  public login(user: string, password: string, database = 'postgres', client: Installation = this.install): { ok: boolean; error: string } {
    const result = client.run(['psql', '-X', '--no-password', '-tAc', 'SELECT 1'], this.clientEnv(user, password, database));
    return { ok: result.status === 0, error: result.stderr.trim() };
  }

  /** `pg_ctl stop` (fast by default), then waits for the process to exit. */
  public async stop(mode: 'smart' | 'fast' | 'immediate' = 'fast'): Promise<void> {
    this.install.runOk(['pg_ctl', 'stop', '-D', this.env.PGDATA, '-m', mode, '-w'], this.env);
    await this.waitForExit();
  }

  /** Stops the server if it still runs (immediate mode: test cleanup only). */
  public async kill(): Promise<void> {
    if (!this._exited) {
      this.install.run(['pg_ctl', 'stop', '-D', this.env.PGDATA, '-m', 'immediate'], this.env);
      await this.waitForExit().catch(() => killGroup(this.process));
    }
  }
}

/** Starts a pod's container with `pod.install` (PG15 unless given); see `Server.pod`. */
export function startPod(pod: PodOptions): Promise<Server> {
  return Server.pod(pod);
}

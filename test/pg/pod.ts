// A pod of a synthesized StatefulSet, simulated on this machine for tests that run what the
// manifests say against a real PostgreSQL: the PostgreSQL container's command (its start steps,
// then the image's entrypoint), its environment, its probes and preStop hook, with the scripts
// ConfigMap's files where the container mounts them.
//
// Stand-ins for what Kubernetes provides, and nothing else:
// - HOSTNAME is the pod name, as the kubelet sets it;
// - the pod's data volume is a directory of the sandbox, "mounted" at the manifest's data mount
//   path: the manifest's paths under the mount are mapped onto it (PGDATA, the mount itself);
// - PRIMARY_HOST (`<statefulset>-0.<service>`, resolved by cluster DNS) is 127.0.0.1;
// - pods share one loopback here, so each pod listens on a port of its own (PGPORT), and reaches
//   the primary on the manifest's port (PRIMARY_PORT), which pod 0 listens on;
// - paths under the scripts ConfigMap's mount point are mapped to a directory holding its files.
// The container runs its own command: its start steps, then the image's entrypoint, which here is
// the harness's stand-in (test/pg/entrypoint.sh) on the PATH as `docker-entrypoint.sh`, with the
// installation (PostgreSQL 15 on the host, 18 in the sid chroot) standing for the image.
import { ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { containerEnv, Env, InitFile, Installation, PG15, Sandbox, Server } from './harness';

const SCRIPTS_DIR = '/etc/postgres-statefulset';

/** What a test knows of a synthesized instance. */
export interface Manifest {
  readonly objects: any[];
  /** The Secrets the pods read, by name and key (the test supplies those the manifest does not render). */
  readonly secrets: { [name: string]: { [key: string]: string } };
}

export interface PodOptions {
  readonly ordinal: number;
  readonly sandbox: Sandbox;
  /** What stands for the image. @default PG15 */
  readonly install?: Installation;
  /** The port this pod's server listens on (pod 0: the manifest's port, which standbys reach it on). */
  readonly port?: number;
  /** Environment to add or replace (after the stand-ins). */
  readonly env?: Env;
}

/** A started container command (start steps): its output so far and its exit. */
/** An init container's name, exit status and output. */
export interface InitResult {
  readonly name: string;
  readonly status: number | null;
  readonly output: string;
}

export interface Running {
  readonly child: ChildProcess;
  readonly exit: Promise<number | null>;
  output(): string;
}

export class SimulatedPod {
  public readonly name: string;
  public readonly env: Env;
  /** Where this pod's data volume is. */
  public readonly volume: string;
  public readonly socketDir: string;
  public readonly args: string[];
  private readonly container: any;
  private readonly podSpec: any;
  public readonly install: Installation;
  private readonly scriptsDir: string;
  private readonly mountPath: string;
  /** Mount paths of the pod's emptyDirs and other ConfigMaps (of init containers), and the directories standing in for them. */
  private readonly otherMounts: [string, string][] = [];

  constructor(private readonly manifest: Manifest, private readonly options: PodOptions) {
    const sts = manifest.objects.find((o) => o.kind === 'StatefulSet');
    this.podSpec = sts.spec.template.spec;
    this.container = this.podSpec.containers[0];
    this.name = `${sts.metadata.name}-${options.ordinal}`;
    this.install = options.install ?? PG15;
    this.mountPath = this.container.volumeMounts.find((m: any) => m.name === 'data').mountPath.replace(/\/+$/, '');
    this.volume = options.sandbox.mkdir(`volume-${options.ordinal}`);
    this.socketDir = options.sandbox.mkdir(`run-${options.ordinal}`);
    this.scriptsDir = options.sandbox.mkdir(`scripts-${options.ordinal}`);
    const scripts = manifest.objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('-scripts'));
    for (const [file, content] of Object.entries(scripts?.data ?? {})) {
      fs.writeFileSync(path.join(this.scriptsDir, file), content as string);
    }
    const volumes = new Map<string, any>((this.podSpec.volumes ?? []).map((v: any) => [v.name, v]));
    for (const c of this.podSpec.initContainers ?? []) {
      for (const m of c.volumeMounts ?? []) {
        const v = volumes.get(m.name);
        if (m.name === 'data' || m.mountPath === SCRIPTS_DIR || this.otherMounts.some(([p]) => p === m.mountPath) || !(v?.emptyDir || v?.configMap)) {
          continue;
        }
        const dir = options.sandbox.mkdir(`${m.name}-${options.ordinal}`);
        const data = v.configMap ? manifest.objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === v.configMap.name)?.data ?? {} : {};
        for (const [file, content] of Object.entries(data)) {
          fs.writeFileSync(path.join(dir, file), content as string);
        }
        this.otherMounts.push([m.mountPath.replace(/\/+$/, ''), dir]);
      }
    }
    const env = containerEnv(this.container, manifest.secrets);
    this.env = {
      ...env,
      HOSTNAME: this.name,
      PGDATA: this.onVolume(env.PGDATA),
      ...(env.POSTGRES_STATEFULSET_DATA_MOUNT ? { POSTGRES_STATEFULSET_DATA_MOUNT: this.volume } : {}),
      ...(options.port !== undefined ? { PGPORT: String(options.port) } : {}),
      ...(env.PRIMARY_HOST ? { PRIMARY_HOST: '127.0.0.1' } : {}),
      ...(env.POSTGRES_STATEFULSET_START_STEPS ? { POSTGRES_STATEFULSET_START_STEPS: env.POSTGRES_STATEFULSET_START_STEPS.split(':').map((p) => this.map(p)).join(':') } : {}),
      ...options.env,
    };
    this.args = this.container.args ?? ['postgres'];
  }

  public get pgData(): string {
    return this.env.PGDATA;
  }

  /** A path of the manifest, where it is here (the data volume, the scripts, the emptyDirs of init containers). */
  public map(p: string): string {
    if (p === SCRIPTS_DIR || p.startsWith(`${SCRIPTS_DIR}/`)) {
      return path.join(this.scriptsDir, p.slice(SCRIPTS_DIR.length));
    }
    for (const [mountPath, dir] of this.otherMounts) {
      if (p === mountPath || p.startsWith(`${mountPath}/`)) {
        return path.join(dir, p.slice(mountPath.length));
      }
    }
    return this.onVolume(p);
  }

  /**
   * Runs the pod's init containers in order, as the kubelet does before the PostgreSQL container:
   * each with its command and args, its environment (paths mapped) and the installation `installFor`
   * gives for its image (an upgrade's init containers run the old image and the new one). Stops at
   * the first that fails; returns their results.
   */
  public runInitContainers(installFor: (image: string) => Installation, env: (name: string) => Env = () => ({})) {
    const results: InitResult[] = [];
    for (const init of this.podSpec.initContainers ?? []) {
      const result = this.runInitContainer(init.name, installFor(init.image), env(init.name));
      results.push(result);
      if (result.status !== 0) {
        break;
      }
    }
    return results;
  }

  /** Runs one init container to completion, by `install`. */
  public runInitContainer(name: string, install: Installation, env: Env = {}): InitResult {
    const [command, own] = this.initContainer(name);
    const result = install.run(command, { ...own, ...env }, { timeoutMs: 300_000 });
    return { name, status: result.status, output: `${result.stdout}${result.stderr}` };
  }

  /** Starts one init container in the background (to interrupt it). */
  public startInitContainer(name: string, install: Installation, env: Env = {}): Running {
    const [command, own] = this.initContainer(name);
    const child = install.start(command, { ...own, ...env });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    return { child, exit, output: () => output };
  }

  /** An init container's command and environment, as the kubelet gives them, with the manifest's paths mapped. */
  private initContainer(name: string): [string[], Env] {
    const init = (this.podSpec.initContainers ?? []).find((c: any) => c.name === name);
    if (!init) {
      throw new Error(`the pod has no init container ${name}`);
    }
    const own = containerEnv(init, this.manifest.secrets);
    const mapped = Object.fromEntries(Object.entries(own).map(([k, v]) => [k, this.map(v)]));
    return [[...(init.command ?? []), ...(init.args ?? [])].map((a: string) => this.map(a)), { ...mapped, HOSTNAME: this.name, PGPORT: this.env.PGPORT }];
  }

  /** The container's command and arguments, as the kubelet runs them, with the manifest's paths mapped. */
  public containerCommand(): string[] {
    const command: string[] = this.container.command ?? ['docker-entrypoint.sh'];
    return [...command, ...this.args].map((a) => this.map(a));
  }

  /**
   * Runs the container's start steps to completion: its command, with an entrypoint that stops
   * where the image's would initialise and start PostgreSQL (for steps that refuse, or prepare).
   */
  public runStartSteps(env: Env = {}) {
    return this.install.run(this.containerCommand(), { ...this.withEntrypointStub(), ...env }, { timeoutMs: 60_000 });
  }

  /** Starts the container's start steps in the background (a standby waiting for its primary). */
  public startStartSteps(env: Env = {}): Running {
    const child = this.install.start(this.containerCommand(), { ...this.withEntrypointStub(), ...env });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    return { child, exit, output: () => output };
  }

  /**
   * Starts the container as the kubelet does: its command (the start steps, then the image's
   * entrypoint: initdb and the /docker-entrypoint-initdb.d files on an empty PGDATA, then
   * postgres). Resolves once the server accepts connections; `server.log` holds the output.
   */
  public async boot(options: { asRoot?: boolean } = {}): Promise<Server> {
    return Server.container({
      install: this.install,
      command: this.containerCommand(),
      args: this.args,
      env: this.env,
      socketDir: this.socketDir,
      initdbD: this.initdbFiles(),
      asRoot: options.asRoot,
    });
  }

  /** Runs a probe of the PostgreSQL container ('startupProbe', 'readinessProbe', 'livenessProbe'). */
  public probe(kind: 'startupProbe' | 'readinessProbe' | 'livenessProbe') {
    return this.install.run(this.container[kind].exec.command.map((a: string) => this.map(a)), this.withSocket());
  }

  /** The preStop hook's command, with the manifest's paths mapped. */
  public preStopCommand(): string[] {
    return this.container.lifecycle.preStop.exec.command.map((a: string) => this.map(a));
  }

  /** Runs the preStop hook (as root with `asRoot`, as a container without runAsUser runs it). */
  public preStop(options: { asRoot?: boolean; env?: Env; timeoutMs?: number } = {}) {
    return this.install.run(this.preStopCommand(), { ...this.withSocket(), ...options.env }, { asRoot: options.asRoot, timeoutMs: options.timeoutMs });
  }

  /** The /docker-entrypoint-initdb.d files the pod mounts, from the manifest's ConfigMaps. */
  public initdbFiles(): InitFile[] {
    const volume = (this.podSpec.volumes ?? []).find((v: any) => v.name === 'initdb');
    const configMaps = new Map(this.manifest.objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, o.data ?? {}]));
    return (volume?.projected.sources ?? []).flatMap((source: any) => {
      const data = configMaps.get(source.configMap.name);
      if (!data) {
        throw new Error(`the test has no ConfigMap ${source.configMap.name} for /docker-entrypoint-initdb.d`);
      }
      const items = source.configMap.items ?? Object.keys(data).map((key) => ({ key, path: key }));
      return items.map((item: any) => ({ name: item.path, content: data[item.key], mode: item.mode ?? 0o644 }));
    });
  }

  /** The environment with an entrypoint on the PATH that stops where the image's would initialise and start PostgreSQL. */
  private withEntrypointStub(): Env {
    const bin = this.options.sandbox.mkdir('entrypoint-stub');
    const entrypoint = path.join(bin, 'docker-entrypoint.sh');
    if (!fs.existsSync(entrypoint)) {
      fs.writeFileSync(entrypoint, '#!/bin/sh\necho "docker-entrypoint.sh $*"\n', { mode: 0o755 });
    }
    return { ...this.withSocket(), PATH: `${bin}:${this.install.processEnv({}).PATH}` };
  }

  /** The environment, with PGHOST the pod's socket directory for tools that would use the image's default one. */
  private withSocket(): Env {
    return { ...this.env, HARNESS_SOCKET_DIR: this.socketDir };
  }

  private onVolume(p: string): string {
    const normal = p.replace(/\/+$/, '');
    if (normal === this.mountPath) {
      return this.volume;
    }
    if (normal.startsWith(`${this.mountPath}/`)) {
      return path.join(this.volume, normal.slice(this.mountPath.length + 1));
    }
    return p;
  }
}

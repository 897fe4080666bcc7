// A pod of a synthesized StatefulSet, simulated on this machine for tests that run what the
// manifests say against a real PostgreSQL: the PostgreSQL container's command (its start steps,
// then the image's entrypoint), its environment, its probes and preStop hook, its init containers,
// with its volumes where its containers mount them.
//
// Stand-ins for what Kubernetes provides, and nothing else:
// - HOSTNAME is the pod name, as the kubelet sets it;
// - the pod's data volume (its claim template's) is a directory of the sandbox, `volume-<ordinal>`,
//   the same for every pod of that ordinal (a StatefulSet's claim outlives its pods);
// - its other volumes are written as the kubelet writes them, in a directory of this pod (a new
//   SimulatedPod is a new pod: its emptyDirs are empty, its Secret volumes written afresh), and
//   other claims are directories shared by the pods of the sandbox: see volumes.ts;
// - paths under the containers' mounts are mapped onto those directories (PGDATA, the scripts,
//   the Secrets' files, `-c ssl_cert_file=...`);
// - PRIMARY_HOST (`<statefulset>-0.<service>`, resolved by cluster DNS) is 127.0.0.1; or, with
//   `dnsNames`, it keeps its name (what a standby verifies the primary's certificate against) and
//   libpq reaches it at 127.0.0.1 through PGHOSTADDR (set on standbys only: pod 0 connects to
//   its own temporary server by socket while it initialises, which PGHOSTADDR would override);
// - pods share one loopback here, so each pod listens on a port of its own (PGPORT), and reaches
//   the primary on the manifest's port (PRIMARY_PORT), which pod 0 listens on.
// The container runs its own command: its start steps, then the image's entrypoint, which here is
// the harness's stand-in (test/pg/entrypoint.sh) on the PATH as `docker-entrypoint.sh`, with the
// installation (PostgreSQL 15 on the host, 18 in the sid chroot) standing for the image.
import { ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Env, InitFile, Installation, PG15, Sandbox, Server } from './harness';
import { Manifest, PodVolumes } from './volumes';

export type { Manifest } from './volumes';

/** The image's socket directory: a pod mounting a volume there gets the harness's socket directory of the pod. */
const SOCKET_DIR = '/var/run/postgresql';

/** Pods simulated by this process: each has a directory of its own. */
let podCount = 0;

export interface PodOptions {
  readonly ordinal: number;
  readonly sandbox: Sandbox;
  /** What stands for the image. @default PG15 */
  readonly install?: Installation;
  /** The port this pod's server listens on (pod 0: the manifest's port, which standbys reach it on). */
  readonly port?: number;
  /** Environment to add or replace in the pod's containers (after the stand-ins). */
  readonly env?: Env;
  /** Directories of the claims the pod mounts besides its data volume, by claim name. @default `<sandbox>/claim-<name>` */
  readonly claims?: { [claimName: string]: string };
  /**
   * Keep PRIMARY_HOST the manifest's DNS name, reached at 127.0.0.1 through PGHOSTADDR on standbys
   * (see the file's header), for tests of names: verify-full. @default false: PRIMARY_HOST is 127.0.0.1
   */
  readonly dnsNames?: boolean;
}

/** An init container's name, exit status and output. */
export interface InitResult {
  readonly name: string;
  readonly status: number | null;
  readonly output: string;
}

/** A started container command (start steps, an init container): its output so far and its exit. */
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
  public readonly install: Installation;
  /** The pod's volumes, where they are here. */
  public readonly volumes: PodVolumes;
  private readonly container: any;
  private readonly podSpec: any;
  private readonly mapMain: (value: string) => string;

  constructor(private readonly manifest: Manifest, private readonly options: PodOptions) {
    const sts = manifest.objects.find((o) => o.kind === 'StatefulSet');
    this.podSpec = sts.spec.template.spec;
    this.container = this.podSpec.containers[0];
    this.name = `${sts.metadata.name}-${options.ordinal}`;
    this.install = options.install ?? PG15;
    this.volume = options.sandbox.mkdir(`volume-${options.ordinal}`);
    this.socketDir = options.sandbox.mkdir(`run-${options.ordinal}`);
    const socketVolume = (this.container.volumeMounts ?? []).find((m: any) => m.mountPath.replace(/\/+$/, '') === SOCKET_DIR)?.name;
    this.volumes = new PodVolumes(manifest, this.podSpec, {
      dir: options.sandbox.mkdir(`pod-${options.ordinal}.${++podCount}`),
      sandbox: options.sandbox,
      claims: options.claims,
      volumeDirs: { data: this.volume, ...(socketVolume ? { [socketVolume]: this.socketDir } : {}) },
    });
    this.mapMain = this.volumes.mapper(this.container);
    this.env = this.containerEnv(this.container);
    this.args = (this.container.args ?? ['postgres']).map(this.mapMain);
  }

  public get pgData(): string {
    return this.env.PGDATA;
  }

  /** A path (or a value naming paths) of the PostgreSQL container, where it is here (the data volume, the scripts, the Secrets). */
  public map(p: string): string {
    return this.mapMain(p);
  }

  /** Where a volume of the pod is, by name. */
  public volumeDir(name: string): string {
    const dir = this.volumes.dir(name);
    if (dir === undefined) {
      throw new Error(`the pod has no volume ${name} here`);
    }
    return dir;
  }

  /** The container's command and arguments, as the kubelet runs them, with the manifest's paths mapped. */
  public containerCommand(): string[] {
    const command: string[] = this.container.command ?? ['docker-entrypoint.sh'];
    return [...command.map(this.mapMain), ...this.args];
  }

  /** The kubelet's update of the pod's volumes of a Secret that changed: see `PodVolumes.updateSecret`. */
  public updateSecret(secretName: string, data: { [key: string]: string }): void {
    this.volumes.updateSecret(secretName, data);
  }

  /**
   * Runs an init container of the pod to completion: its command, with its environment and
   * mounts (the same volumes as the pod's other containers), as postgres (or root with `asRoot`),
   * by the pod's installation or `install` (the one standing for the container's image).
   */
  public runInitContainer(name: string, options: { install?: Installation; env?: Env; asRoot?: boolean; timeoutMs?: number } = {}) {
    const container = this.initContainer(name);
    return (options.install ?? this.install).run(this.volumes.command(container), { ...this.containerEnv(container), ...options.env },
      { asRoot: options.asRoot, timeoutMs: options.timeoutMs ?? 120_000 });
  }

  /**
   * Runs the pod's init containers in order, as the kubelet does before the PostgreSQL container,
   * each by the installation `installFor` gives for its image (an upgrade's init containers run
   * the old image and the new one), with `env(name)` added. Stops at the first that fails.
   */
  public runInitContainers(installFor: (image: string) => Installation, env: (name: string) => Env = () => ({})): InitResult[] {
    const results: InitResult[] = [];
    for (const init of this.podSpec.initContainers ?? []) {
      const result = this.runInitContainer(init.name, { install: installFor(init.image), env: env(init.name), timeoutMs: 300_000 });
      results.push({ name: init.name, status: result.status, output: `${result.stdout}${result.stderr}` });
      if (result.status !== 0) {
        break;
      }
    }
    return results;
  }

  /** Starts an init container in the background (to interrupt it), by `install`. */
  public startInitContainer(name: string, install: Installation, env: Env = {}): Running {
    const container = this.initContainer(name);
    return running(install.start(this.volumes.command(container), { ...this.containerEnv(container), ...env }));
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
    return running(this.install.start(this.containerCommand(), { ...this.withEntrypointStub(), ...env }));
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
    return this.install.run(this.container[kind].exec.command.map(this.mapMain), this.withSocket());
  }

  /** The preStop hook's command, with the manifest's paths mapped. */
  public preStopCommand(): string[] {
    return this.container.lifecycle.preStop.exec.command.map(this.mapMain);
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

  private initContainer(name: string): any {
    const container = (this.podSpec.initContainers ?? []).find((c: any) => c.name === name);
    if (!container) {
      throw new Error(`the pod has no init container ${name}: ${JSON.stringify((this.podSpec.initContainers ?? []).map((c: any) => c.name))}`);
    }
    return container;
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

  /** A container's environment, its paths mapped, with the pod's stand-ins (see the file's header) and the test's own. */
  private containerEnv(container: any): Env {
    const env = this.volumes.env(container);
    const primary: Env = env.PRIMARY_HOST === undefined ? {}
      : this.options.dnsNames ? (this.options.ordinal > 0 ? { PGHOSTADDR: '127.0.0.1' } : {})
        : { PRIMARY_HOST: '127.0.0.1' };
    return {
      ...env,
      HOSTNAME: this.name,
      ...(this.options.port !== undefined ? { PGPORT: String(this.options.port) } : {}),
      ...primary,
      ...this.options.env,
    };
  }
}

/** A process started in the background, its output gathered. */
function running(child: ChildProcess): Running {
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exit, output: () => output };
}

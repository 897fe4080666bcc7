// The volumes of a pod of a synthesized manifest, as the kubelet provides them, in directories of
// a test's sandbox, and the paths of its containers mapped onto them:
// - a Secret volume is written as the kubelet's AtomicWriter writes it: the files in a timestamped
//   directory, owned by root with the volume's mode (its items' own modes) and, with the pod's
//   fsGroup, the fsGroup's group and at least group read (SetVolumeOwnership; a Secret volume is
//   read-only), a `..data` link to that directory, and a link per key to `..data/<key>`; an
//   update (`updateSecret`) writes a new directory and swaps `..data` in one rename. The pod's
//   fsGroup stands for the server user's group here: the host's postgres group (which the
//   PostgreSQL 18 chroot's postgres user has too);
// - a ConfigMap volume is its data as files (its items, with their modes);
// - an emptyDir is an empty directory of the pod (mode 0777, as the kubelet makes it);
// - a persistentVolumeClaim is a directory per claim, shared by every pod of the sandbox
//   (`claim-<name>`), unless the test says where it is;
// - a path a container's command, args, environment or probes give under one of its mounts is
//   mapped onto the volume's directory: wherever it occurs in the value (`ssl_cert_file=/run/...`,
//   `sh /etc/.../archive-wal.sh %p %f`, `a:b` lists), as a whole path component (a mount at
//   /data maps /data/x, not /database nor /x/data). Mounts at /tmp and /dev/shm are the machine's
//   own and stay where they are.
// Projected volumes (the initdb files) are the harness's business (`SimulatedPod.initdbFiles`).
// When the tests do not run as root, files are the test user's: ownership cannot be given away.
import * as fs from 'fs';
import * as path from 'path';
import { containerEnv, Env, IS_ROOT, POSTGRES_IDS, Sandbox } from './harness';

/** What a test knows of a synthesized instance. */
export interface Manifest {
  readonly objects: any[];
  /** The Secrets the pods read, by name and key (the test supplies those the manifest does not render). */
  readonly secrets: { [name: string]: { [key: string]: string } };
}

/** Mount paths that are the machine's own here (not mapped). */
const MACHINE_MOUNTS = ['/tmp', '/dev/shm'];

let generation = 0;

/**
 * Writes (or updates) a Secret volume as the kubelet does: `volume.secret` of the manifest (its
 * items, defaultMode and optional) filled from `data`. With `fsGroup`, the files are
 * group-owned by it and at least group-readable; without, they are root's with the volume's mode.
 */
export function writeSecretVolume(dir: string, volume: any, data: { [key: string]: string } | undefined, fsGroup?: number): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, 0o755);
  if (data === undefined) {
    if (volume.secret.optional) {
      return;
    }
    throw new Error(`the test supplies no Secret ${volume.secret.secretName} for the volume ${volume.name}`);
  }
  const items: { key: string; path: string; mode?: number }[] = volume.secret.items ?? Object.keys(data).map((key) => ({ key, path: key }));
  const mode = (volume.secret.defaultMode ?? 0o644) | (fsGroup !== undefined ? 0o440 : 0);
  const stamp = `..${new Date().toISOString().replace(/[-:]/g, '_').replace('T', '_').replace('Z', '')}.${process.pid}${++generation}`;
  const target = path.join(dir, stamp);
  fs.mkdirSync(target);
  fs.chmodSync(target, 0o755);
  for (const item of items) {
    if (data[item.key] === undefined) {
      throw new Error(`the test supplies no key ${item.key} in the Secret ${volume.secret.secretName} for the volume ${volume.name}`);
    }
    const file = path.join(target, item.path);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, data[item.key]);
    if (IS_ROOT) {
      fs.chownSync(file, 0, fsGroup ?? 0);
    }
    fs.chmodSync(file, item.mode !== undefined ? item.mode | (fsGroup !== undefined ? 0o440 : 0) : mode);
  }
  const previous = fs.existsSync(path.join(dir, '..data')) ? fs.readlinkSync(path.join(dir, '..data')) : undefined;
  fs.symlinkSync(stamp, path.join(dir, '..data_tmp'));
  fs.renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
  for (const item of items) {
    const top = item.path.split('/')[0];
    const link = path.join(dir, top);
    if (!fs.existsSync(link)) {
      fs.symlinkSync(path.join('..data', top), link);
    }
  }
  if (previous !== undefined) {
    fs.rmSync(path.join(dir, previous), { recursive: true, force: true });
  }
}

/** Writes a ConfigMap volume: `volume.configMap` of the manifest (its items and modes) filled from `data`. */
export function writeConfigMapVolume(dir: string, volume: any, data: { [key: string]: string } | undefined): void {
  fs.mkdirSync(dir, { recursive: true });
  if (data === undefined) {
    if (volume.configMap.optional) {
      return;
    }
    throw new Error(`the manifest has no ConfigMap ${volume.configMap.name} for the volume ${volume.name}`);
  }
  const items: { key: string; path: string; mode?: number }[] = volume.configMap.items ?? Object.keys(data).map((key) => ({ key, path: key }));
  for (const item of items) {
    const file = path.join(dir, item.path);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, data[item.key]);
    fs.chmodSync(file, item.mode ?? volume.configMap.defaultMode ?? 0o644);
  }
}

export interface PodVolumesOptions {
  /** The pod's own directory: its Secret, ConfigMap and emptyDir volumes go there. */
  readonly dir: string;
  readonly sandbox: Sandbox;
  /** Directories of volumes the test provides, by volume name (a claim template's volume, the socket directory). */
  readonly volumeDirs?: { [volumeName: string]: string };
  /** Directories of claims, by claim name. @default `<sandbox>/claim-<name>` */
  readonly claims?: { [claimName: string]: string };
}

/** The volumes of one pod (see the file's header). */
export class PodVolumes {
  private readonly dirs = new Map<string, string>();
  /** The group the kubelet gives the pod's Secret files: the pod has an fsGroup, which stands for the server user's group. */
  private readonly fsGroup: number | undefined;

  constructor(private readonly manifest: Manifest, private readonly podSpec: any, options: PodVolumesOptions) {
    this.fsGroup = podSpec.securityContext?.fsGroup !== undefined ? (IS_ROOT ? POSTGRES_IDS?.gid : process.getgid?.()) : undefined;
    for (const [name, dir] of Object.entries(options.volumeDirs ?? {})) {
      this.dirs.set(name, dir);
    }
    for (const volume of podSpec.volumes ?? []) {
      if (this.dirs.has(volume.name)) {
        continue;
      } else if (volume.secret) {
        const dir = path.join(options.dir, volume.name);
        writeSecretVolume(dir, volume, manifest.secrets[volume.secret.secretName], this.fsGroup);
        this.dirs.set(volume.name, dir);
      } else if (volume.configMap) {
        const dir = path.join(options.dir, volume.name);
        const configMap = manifest.objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === volume.configMap.name);
        writeConfigMapVolume(dir, volume, configMap?.data);
        this.dirs.set(volume.name, dir);
      } else if (volume.emptyDir) {
        const dir = path.join(options.dir, volume.name);
        fs.mkdirSync(dir, { recursive: true });
        fs.chmodSync(dir, 0o777);
        this.dirs.set(volume.name, dir);
      } else if (volume.persistentVolumeClaim) {
        const claim = volume.persistentVolumeClaim.claimName;
        const dir = options.claims?.[claim] ?? path.join(options.sandbox.dir, `claim-${claim}`);
        fs.mkdirSync(dir, { recursive: true });
        fs.chmodSync(dir, 0o777);
        this.dirs.set(volume.name, dir);
      }
    }
  }

  /** Where a volume of the pod is (undefined: not mapped, e.g. the projected initdb files). */
  public dir(volumeName: string): string | undefined {
    return this.dirs.get(volumeName);
  }

  /** A function that maps the paths under a container's mounts onto the volumes' directories, wherever they occur in a value. */
  public mapper(container: any): (value: string) => string {
    const mounts = new Map<string, string>();
    for (const mount of container.volumeMounts ?? []) {
      const from = mount.mountPath.replace(/\/+$/, '');
      const to = this.dirs.get(mount.name);
      if (to !== undefined && !MACHINE_MOUNTS.includes(from)) {
        mounts.set(from, mount.subPath ? path.join(to, mount.subPath) : to);
      }
    }
    if (mounts.size === 0) {
      return (value) => value;
    }
    const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const alternatives = [...mounts.keys()].sort((a, b) => b.length - a.length).map(escape).join('|');
    const pattern = new RegExp(`(?<![\\w.~/-])(${alternatives})(?![\\w.~-])`, 'g');
    return (value) => value.replace(pattern, (from) => mounts.get(from)!);
  }

  /** A container's environment (literal values, and secretKeyRefs from the manifest's Secrets) with its paths mapped. */
  public env(container: any): Env {
    const map = this.mapper(container);
    return Object.fromEntries(Object.entries(containerEnv(container, this.manifest.secrets)).map(([name, value]) => [name, map(value)]));
  }

  /** A container's command and args as the kubelet runs them (the image's entrypoint when it has no command: `fallback`), paths mapped. */
  public command(container: any, fallback: string[] = []): string[] {
    const map = this.mapper(container);
    return [...(container.command ?? fallback), ...(container.args ?? [])].map(map);
  }

  /**
   * The kubelet's update of the pod's volumes of a Secret that changed (a renewed certificate):
   * each is written anew, and its `..data` link swapped to the new files.
   */
  public updateSecret(secretName: string, data: { [key: string]: string }): void {
    for (const volume of this.podSpec.volumes ?? []) {
      if (volume.secret?.secretName === secretName && this.dirs.has(volume.name)) {
        writeSecretVolume(this.dirs.get(volume.name)!, volume, data, this.fsGroup);
      }
    }
  }
}

// Stand-ins for what the TLS tests need besides a real PostgreSQL (test/pg/harness.ts):
// - a CA and certificates, made by openssl for the names a test asks for;
// - Secret volumes as the kubelet writes them (AtomicWriter): the files in a timestamped
//   directory, owned by root with the volume's mode and, with an fsGroup, the fsGroup's group and
//   at least group read (SetVolumeOwnership), a `..data` link to that directory, and a link per
//   key to `..data/<key>`; an update writes a new directory and swaps `..data` in one rename;
// - volume mounts: every path the manifest gives a container (its args, environment, probe
//   commands) under a volume's mount path is moved to a directory of the test.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { IS_ROOT } from './pg/harness';

/** Runs openssl (as the test's user) and fails with its output if it fails. */
function openssl(args: string[], cwd: string): void {
  const result = spawnSync('openssl', args, { cwd, encoding: 'utf-8' });
  if (result.status !== 0) {
    throw new Error(`openssl ${args.join(' ')} exited ${result.status}:\n${result.stderr}`);
  }
}

export interface KeyPair {
  /** PEM certificate (for a CA: its self-signed certificate). */
  readonly crt: string;
  /** PEM private key. */
  readonly key: string;
  /** Files holding them. */
  readonly crtFile: string;
  readonly keyFile: string;
}

/** A CA made by openssl in `dir`: an ECDSA P-256 key and a self-signed CA certificate. */
export function makeCa(dir: string, name: string): KeyPair {
  fs.mkdirSync(dir, { recursive: true });
  openssl(['req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-sha256', '-days', '2',
    '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-keyout', `${name}.key`, '-out', `${name}.crt`], dir);
  return read(dir, name);
}

/** A server certificate for `dnsNames`, signed by `ca`, made by openssl in `dir`. */
export function makeServerCertificate(dir: string, name: string, ca: KeyPair, dnsNames: string[]): KeyPair {
  fs.writeFileSync(path.join(dir, `${name}.ext`),
    `subjectAltName=${dnsNames.map((n) => `DNS:${n}`).join(',')}\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n`);
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${dnsNames[0]}`,
    '-keyout', `${name}.key`, '-out', `${name}.csr`], dir);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', ca.crtFile, '-CAkey', ca.keyFile, '-CAcreateserial', '-sha256', '-days', '1',
    '-extfile', `${name}.ext`, '-out', `${name}.crt`], dir);
  return read(dir, name);
}

function read(dir: string, name: string): KeyPair {
  const crtFile = path.join(dir, `${name}.crt`);
  const keyFile = path.join(dir, `${name}.key`);
  fs.chmodSync(crtFile, 0o644);
  return { crt: fs.readFileSync(crtFile, 'utf-8'), key: fs.readFileSync(keyFile, 'utf-8'), crtFile, keyFile };
}

let generation = 0;

/**
 * Writes (or updates) a Secret volume as the kubelet does: the volume of the manifest (its items
 * and defaultMode) filled from `data`. With `fsGroup`, the files are group-owned by it and at least
 * group-readable; without, they are root's with the volume's mode. (When the tests do not run as
 * root, the files are the test user's: ownership cannot be given away.)
 */
export function writeSecretVolume(dir: string, volume: any, data: { [key: string]: string }, fsGroup?: number): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, 0o755);
  const items: { key: string; path: string; mode?: number }[] = volume.secret.items ?? Object.keys(data).map((key) => ({ key, path: key }));
  const mode = (volume.secret.defaultMode ?? 0o644) | (fsGroup !== undefined ? 0o440 : 0);
  const stamp = `..${new Date().toISOString().replace(/[-:]/g, '_').replace('T', '_').replace('Z', '')}.${process.pid}${++generation}`;
  const target = path.join(dir, stamp);
  fs.mkdirSync(target);
  fs.chmodSync(target, 0o755);
  for (const item of items) {
    if (data[item.key] === undefined) {
      throw new Error(`the test supplies no key ${item.key} for the Secret ${volume.secret.secretName}`);
    }
    const file = path.join(target, item.path);
    fs.writeFileSync(file, data[item.key]);
    if (IS_ROOT) {
      fs.chownSync(file, 0, fsGroup ?? 0);
    }
    fs.chmodSync(file, item.mode ?? mode);
  }
  const previous = fs.existsSync(path.join(dir, '..data')) ? fs.readlinkSync(path.join(dir, '..data')) : undefined;
  fs.symlinkSync(stamp, path.join(dir, '..data_tmp'));
  fs.renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
  for (const item of items) {
    const link = path.join(dir, item.path);
    if (!fs.existsSync(link)) {
      fs.symlinkSync(path.join('..data', item.path), link);
    }
  }
  if (previous !== undefined) {
    fs.rmSync(path.join(dir, previous), { recursive: true, force: true });
  }
}

/** Writes a ConfigMap's data as files into a directory (a ConfigMap volume). */
export function writeConfigMapVolume(dir: string, data: { [key: string]: string }): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const [key, content] of Object.entries(data)) {
    fs.writeFileSync(path.join(dir, key), content);
  }
}

/**
 * Moves the mount paths of a container's volumes to directories of the test (`dirOf` a volume's
 * name; undefined: left where it is): returns a function that rewrites every path under them.
 */
export function relocateMounts(container: any, dirOf: (volumeName: string) => string | undefined): (value: string) => string {
  const mounts: { from: string; to: string }[] = (container.volumeMounts ?? [])
    .map((m: any) => ({ from: m.mountPath.replace(/\/+$/, ''), to: dirOf(m.name) }))
    .filter((m: { to?: string }) => m.to !== undefined)
    .sort((a: any, b: any) => b.from.length - a.from.length);
  return (value: string) => {
    for (const { from, to } of mounts) {
      value = value.replace(new RegExp(`${from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=/|$|&)`, 'g'), to);
    }
    return value;
  };
}

/** A conninfo string for libpq: every value quoted. */
export function conninfo(params: { [key: string]: string | number }): string {
  return Object.entries(params).map(([k, v]) => `${k}='${String(v).replace(/\\/g, '\\\\').replace(/'/g, '\\\'')}'`).join(' ');
}

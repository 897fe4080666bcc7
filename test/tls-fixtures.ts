// What the TLS tests need besides a real PostgreSQL (test/pg/harness.ts) and pods (test/pg/pod.ts,
// whose Secret volumes are written as the kubelet writes them: test/pg/volumes.ts): a CA and
// certificates, made by openssl for the names a test asks for, and libpq connection strings.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

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

/** A conninfo string for libpq: every value quoted. */
export function conninfo(params: { [key: string]: string | number }): string {
  return Object.entries(params).map(([k, v]) => `${k}='${String(v).replace(/\\/g, '\\\\').replace(/'/g, '\\\'')}'`).join(' ');
}

// TLS (internal): what it contributes to the pod (the Secret volumes, the server's parameters,
// its scripts in the instance's scripts ConfigMap, the start step that installs the certificate
// and keeps pg_hba.conf right, a readiness probe that reloads a renewed certificate, and the
// settings standbys verify the primary with), and what clients of the database need (the CA,
// verify-full): connection.ts and smoke-test.ts use it. An instance without `tlsSecret` has none of it.
import { IConstruct } from 'constructs';
import { IPostgresDatabase } from './database';
import { isReadyCommand } from './probes';
import { Problems } from './problems';
import { Volume, VolumeMount } from './render/manifest';
import { PodContribution } from './render/pod-template';
import { InstanceSpec, TlsSpec } from './resolve';
import { SCRIPTS_DIR } from './shell';
import * as scripts from './tls-scripts';

/** Where the server Secret (tls.crt, tls.key) is mounted in the PostgreSQL container. */
export const TLS_SECRET_DIR = '/run/secrets/postgresql-tls';
/** Where the CA Secret's CA certificate is mounted in every container of the pod, as `ca.crt`. */
export const TLS_CA_DIR = '/run/secrets/postgresql-tls-ca';
/** The CA certificate standbys verify the primary with. */
export const TLS_CA_FILE = `${TLS_CA_DIR}/ca.crt`;
/** The memory-backed emptyDir the server reads its certificate and key from (copies owned by the server user). */
export const TLS_SERVER_DIR = '/run/postgresql-tls';
/** Where clients of the database find its CA certificate: `<dir>/<Secret name>/<key>`. */
export const CLIENT_CA_DIR = '/run/secrets/postgresql-ca';

const SECRET_VOLUME = 'tls';
const CA_VOLUME = 'tls-ca';
const SERVER_VOLUME = 'tls-server';

/** The server parameters TLS sets; the caller may not set them (tls-rules.ts). */
export const TLS_PARAMETERS: { [name: string]: string } = {
  ssl: 'on',
  ssl_cert_file: `${TLS_SERVER_DIR}/server.crt`,
  ssl_key_file: `${TLS_SERVER_DIR}/server.key`,
};

/** What a database tells its clients about TLS, by database construct. */
const DATABASE_TLS = new WeakMap<IConstruct, { readonly caNamespace?: string }>();

/**
 * What TLS adds to the pod: the Secret volumes (the server's certificate and key, mode 0440 for
 * root and the fsGroup; the CA, readable by every user since it is public), the emptyDir the
 * server reads its copies from, the server parameters, the start step and initdb script, the
 * settings the standbys' replication step verifies the primary with, and a readiness command that
 * reloads a renewed certificate before it runs the readiness command of `others` (the pod's own,
 * `pg_isready`, when none has one).
 *
 * @param db the database construct: its clients learn where its CA Secret is
 */
export function tlsContribution(db: IConstruct, spec: InstanceSpec, tls: TlsSpec, others: PodContribution[]): PodContribution {
  // the CA Secret is in the database's namespace: clients there can mount it
  DATABASE_TLS.set(db, { caNamespace: spec.effectiveNamespace });
  const readiness = others.map((c) => c.probeCommands?.readiness).find((c) => c !== undefined) ?? isReadyCommand(spec.port, spec.superuser.username);
  return {
    env: [
      { name: 'POSTGRES_TLS_SOURCE', value: TLS_SECRET_DIR },
      { name: 'POSTGRES_TLS_DIR', value: TLS_SERVER_DIR },
      { name: 'POSTGRES_TLS_REQUIRED', value: String(tls.required) },
      // for the standbys' connections to the primary only: the probes connect to 127.0.0.1, which no certificate names
      { name: 'POSTGRES_REPLICATION_SSLMODE', value: 'verify-full' },
      { name: 'POSTGRES_REPLICATION_SSLROOTCERT', value: TLS_CA_FILE },
    ],
    parameters: TLS_PARAMETERS,
    scripts: {
      [scripts.START_SCRIPT]: scripts.startScript(),
      [scripts.INITDB_SCRIPT]: scripts.initdbScript(),
      [scripts.READINESS_SCRIPT]: scripts.readinessScript(),
    },
    volumes: [
      {
        name: SECRET_VOLUME,
        secret: {
          secretName: tls.secret.name,
          items: [{ key: 'tls.crt', path: 'tls.crt' }, { key: 'tls.key', path: 'tls.key' }],
          defaultMode: 0o440,
        },
      },
      ...tlsCaVolumes(spec),
      { name: SERVER_VOLUME, emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
    ],
    volumeMounts: [
      { name: SECRET_VOLUME, mountPath: TLS_SECRET_DIR, readOnly: true },
      ...tlsCaMounts(spec),
      { name: SERVER_VOLUME, mountPath: TLS_SERVER_DIR },
    ],
    initdbFiles: [{
      configMap: {
        name: spec.names.scripts,
        items: [{ key: scripts.INITDB_SCRIPT, path: scripts.INITDB_SCRIPT_TARGET, mode: 0o555 }],
      },
    }],
    startSteps: [`${SCRIPTS_DIR}/${scripts.START_SCRIPT}`],
    probeCommands: { readiness: ['sh', `${SCRIPTS_DIR}/${scripts.READINESS_SCRIPT}`, ...readiness] },
  };
}

/** The CA volume of the pod (the CA certificate as `ca.crt`), when the instance serves TLS; the backup Job's pod has it too. */
export function tlsCaVolumes(spec: InstanceSpec): Volume[] {
  return spec.tls ? [{
    name: CA_VOLUME,
    secret: { secretName: spec.tls.caSecret.name, items: [{ key: spec.tls.caKey, path: 'ca.crt' }], defaultMode: 0o444 },
  }] : [];
}

/** The mount of the CA certificate, for the PostgreSQL container (a standby's start step verifies the primary with it) and the backup Job's. */
export function tlsCaMounts(spec: InstanceSpec): VolumeMount[] {
  return spec.tls ? [{ name: CA_VOLUME, mountPath: TLS_CA_DIR, readOnly: true }] : [];
}

/** How a client verifies the server: the CA certificate, from a Secret it mounts. */
export interface ClientTls {
  /** The Secret with the CA certificate, in the client's namespace. */
  readonly caSecretName: string;
  readonly caKey: string;
  /** Name of the volume of the CA Secret in the client's pod. */
  readonly volumeName: string;
  /** Where the volume is mounted. */
  readonly mountPath: string;
  /** The CA certificate's file: PGSSLROOTCERT. */
  readonly rootCert: string;
}

/** What a client needs to know about a database's TLS and where it runs. */
export interface ClientTlsRequest {
  /** Another Secret with the CA certificate, in the client's namespace. */
  readonly caSecretName?: string;
  readonly caKey?: string;
  /** The client's namespace, when known. */
  readonly namespace?: string;
}

/**
 * How a client of `db` verifies it, or undefined when the database does not serve TLS (or the
 * request cannot work: then a problem is recorded).
 */
export function clientTls(db: IPostgresDatabase, request: ClientTlsRequest, problems: Problems): ClientTls | undefined {
  if (db.tlsCaSecretName === undefined) {
    if (request.caSecretName !== undefined) {
      problems.add('options.tlsCaSecret', request.caSecretName, 'only applies to a database that serves TLS',
        'remove options.tlsCaSecret, or give the database tlsSecret (PostgresStatefulSet) or tlsCaSecret (fromServiceName)');
    }
    return undefined;
  }
  const caNamespace = DATABASE_TLS.get(db)?.caNamespace;
  if (request.caSecretName === undefined && caNamespace !== undefined && request.namespace !== undefined && request.namespace !== caNamespace) {
    problems.add('workload', request.namespace,
      `runs in another namespace than the database's CA Secret '${db.tlsCaSecretName}' ('${caNamespace}'): a pod mounts Secrets of its own namespace `
      + 'only, and without the CA the workload cannot verify the server (sslmode=verify-full)',
      `copy the CA certificate into a Secret in namespace '${request.namespace}' and pass it as options.tlsCaSecret, or run the workload in namespace '${caNamespace}'`);
    return undefined;
  }
  const caSecretName = request.caSecretName ?? db.tlsCaSecretName;
  const caKey = request.caKey ?? (request.caSecretName !== undefined ? undefined : db.tlsCaKey) ?? 'ca.crt';
  const mountPath = `${CLIENT_CA_DIR}/${caSecretName}`;
  return {
    caSecretName,
    caKey,
    volumeName: `postgresql-ca-${fnv1a(caSecretName)}`,
    mountPath,
    rootCert: `${mountPath}/${caKey}`,
  };
}

/** The read-only mount of a client's CA certificate volume. */
export function clientCaMount(tls: ClientTls): VolumeMount {
  return { name: tls.volumeName, mountPath: tls.mountPath, readOnly: true };
}

/** The Secret volume of a client's CA certificate (only that key: the Secret may hold the server's key too). */
export function clientCaVolume(tls: ClientTls): Volume {
  return { name: tls.volumeName, secret: { secretName: tls.caSecretName, items: [{ key: tls.caKey, path: tls.caKey }], defaultMode: 0o444 } };
}

/** A short, stable digest of a name (32-bit FNV-1a, 8 hex digits): the library loads nothing but its peers. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf-8')) {
    hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

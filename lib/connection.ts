// Wiring clients to a database (internal): the libpq environment and the NetworkPolicy rule.
// Mistakes in the options are recorded as problems of the database, reported at synth with
// every other problem of the app.
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { SUPERUSER_DEFAULTS } from './roles';
import { IPostgresDatabase, PostgresConnectOptions } from './database';
import { Problems } from './problems';
import { clientCaVolume, ClientTls, clientTls } from './tls';

/** One environment variable: a literal, or a key of a Secret. */
export interface ClientEnvVar {
  readonly name: string;
  readonly value?: string;
  readonly secretKeyRef?: { readonly name: string; readonly key: string };
}

/** Where a client connects, and as whom. */
export interface ClientSettings {
  readonly host: string;
  readonly port: number;
  readonly databaseName: string;
  readonly username: string;
  readonly secretName: string;
  readonly passwordKey: string;
  readonly readOnly: boolean;
  /** How the client verifies the server, when the database serves TLS. */
  readonly tls?: ClientTls;
}

/**
 * Resolves the connect options against a database; records a problem of `problems` for
 * options that cannot work, and returns undefined for them.
 *
 * @param namespace the client's namespace, when known
 */
export function clientSettings(db: IPostgresDatabase, options: PostgresConnectOptions, problems: Problems, namespace?: string): ClientSettings | undefined {
  const credentials = options.credentials;
  let ok = true;
  if (credentials?.rendersSecret) {
    problems.add('options.credentials', credentials,
      'must reference a Secret: the password belongs to the Secret the database role was created with',
      'use PostgresCredentials.fromSecretName() or fromSecret()');
    ok = false;
  }
  if (options.databaseName !== undefined && options.databaseName === '') {
    problems.add('options.databaseName', options.databaseName, 'must not be empty', 'give the name of a database, or leave it unset');
    ok = false;
  }
  if (credentials?.username !== undefined && credentials.username === '') {
    problems.add('options.credentials username', credentials.username, 'must not be empty', 'give the role to connect as');
    ok = false;
  }
  const tls = clientTls(db, { caSecretName: options.tlsCaSecret?.name, caKey: options.tlsCaKey, namespace }, problems);
  if (!ok || (db.tlsCaSecretName !== undefined && !tls)) {
    return undefined;
  }
  return {
    host: options.readOnly ? db.readOnlyHost : db.host,
    port: db.port,
    databaseName: options.databaseName ?? db.databaseName,
    username: credentials?.username ?? db.username,
    secretName: credentials?.secretName ?? db.secretName,
    passwordKey: credentials?.passwordKey ?? (credentials ? SUPERUSER_DEFAULTS.passwordKey : db.passwordKey),
    readOnly: options.readOnly ?? false,
    tls,
  };
}

/**
 * The standard libpq variables, plus a password-less `DATABASE_URL` (libpq and most drivers add
 * PGPASSWORD); its user and database are percent-encoded, as URIs require. With TLS,
 * `PGSSLMODE=verify-full` and `PGSSLROOTCERT`, which the URL repeats (`sslmode`, `sslrootcert`)
 * for drivers that read the URL alone.
 */
export function clientEnv(settings: ClientSettings): ClientEnvVar[] {
  const query = settings.tls ? `?sslmode=verify-full&sslrootcert=${encodeURIComponent(settings.tls.rootCert).replace(/%2F/g, '/')}` : '';
  const url = `postgresql://${encodeURIComponent(settings.username)}@${settings.host}:${settings.port}/${encodeURIComponent(settings.databaseName)}${query}`;
  const env: ClientEnvVar[] = [
    { name: 'PGHOST', value: settings.host },
    { name: 'PGPORT', value: String(settings.port) },
    { name: 'PGDATABASE', value: settings.databaseName },
    { name: 'PGUSER', value: settings.username },
    { name: 'PGPASSWORD', secretKeyRef: { name: settings.secretName, key: settings.passwordKey } },
    ...(settings.tls ? [{ name: 'PGSSLMODE', value: 'verify-full' }, { name: 'PGSSLROOTCERT', value: settings.tls.rootCert }] : []),
    { name: 'DATABASE_URL', value: url },
  ];
  if (settings.readOnly) {
    env.push({ name: 'PGOPTIONS', value: '-c default_transaction_read_only=on' });
  }
  return env;
}

/**
 * Sets the client environment on a cdk8s-plus workload (with TLS, mounts the CA certificate) and
 * admits it to the database's NetworkPolicy.
 */
export function connectWorkload(db: IPostgresDatabase & Construct, workload: kplus.AbstractPod, options: PostgresConnectOptions = {}): void {
  const problems = Problems.of(db, `connect(${workload.node.path})`);
  const settings = clientSettings(db, options, problems, workload.metadata.namespace);
  const containers = options.container ? [options.container] : workload.containers;
  if (containers.length === 0) {
    problems.add('workload', workload.node.path, 'has no container', 'add its containers before connect(), or pass options.container');
  }
  if (settings?.tls && options.container && ![...workload.containers, ...workload.initContainers].includes(options.container)) {
    problems.add('options.container', options.container.name ?? '(unnamed)', `is not a container of ${workload.node.path}, whose pod must mount the CA certificate`,
      'pass a container of the workload');
  } else if (settings?.tls) {
    const volume = caVolume(db, workload, settings.tls);
    if (CA_KEYS.get(volume) !== settings.tls.caKey) {
      problems.add('CA key', settings.tls.caKey, `differs from the key '${CA_KEYS.get(volume)}' of the same Secret '${settings.tls.caSecretName}' `
        + 'that another connect() mounted in this workload', 'keep one CA certificate per Secret, under one key');
    }
    for (const container of containers.filter((c) => !c.mounts.some((m) => m.path === settings.tls!.mountPath))) {
      container.mount(settings.tls.mountPath, volume, { readOnly: true });
    }
  }
  if (settings) {
    for (const variable of clientEnv(settings)) {
      const value = variable.secretKeyRef
        ? kplus.EnvValue.fromSecretValue({ secret: importedSecret(db, variable.secretKeyRef.name), key: variable.secretKeyRef.key })
        : kplus.EnvValue.fromValue(variable.value ?? '');
      for (const container of containers) {
        container.env.addVariable(variable.name, value);
      }
    }
  }
  db.allowFrom(workload);
}

/** The key each CA volume this library created projects. */
const CA_KEYS = new WeakMap<kplus.Volume, string>();

/** The workload's volume of a CA Secret: one per Secret, shared by every database that uses it. */
function caVolume(scope: Construct, workload: kplus.AbstractPod, tls: ClientTls): kplus.Volume {
  const existing = [...workload.volumes, ...workload.containers.flatMap((c) => c.mounts.map((m) => m.volume))]
    .find((v) => v.name === tls.volumeName && CA_KEYS.has(v));
  if (existing) {
    return existing;
  }
  const k8sVolume = clientCaVolume(tls);
  const volume = kplus.Volume.fromSecret(scope, `ClientCa-${workload.node.addr}-${tls.volumeName}`, importedSecret(scope, tls.caSecretName), {
    name: k8sVolume.name,
    items: { [tls.caKey]: { path: tls.caKey } },
    defaultMode: k8sVolume.secret!.defaultMode,
  });
  CA_KEYS.set(volume, tls.caKey);
  return volume;
}

function importedSecret(scope: Construct, name: string): kplus.ISecret {
  const id = `ClientSecret-${name}`;
  return (scope.node.tryFindChild(id) as kplus.ISecret | undefined) ?? kplus.Secret.fromSecretName(scope, id, name);
}

// Wiring clients to a database (internal): the libpq environment and the NetworkPolicy rule.
// Mistakes in the options are recorded as problems of the database, reported at synth with
// every other problem of the app.
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { SUPERUSER_DEFAULTS } from './roles';
import { IPostgresDatabase, PostgresConnectOptions } from './database';
import { Problems } from './problems';

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
}

/**
 * Resolves the connect options against a database; records a problem of `problems` for
 * options that cannot work, and returns undefined for them.
 */
export function clientSettings(db: IPostgresDatabase, options: PostgresConnectOptions, problems: Problems): ClientSettings | undefined {
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
  if (!ok) {
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
  };
}

/**
 * The standard libpq variables, plus a password-less `DATABASE_URL` (libpq and most drivers add
 * PGPASSWORD); its user and database are percent-encoded, as URIs require.
 */
export function clientEnv(settings: ClientSettings): ClientEnvVar[] {
  const url = `postgresql://${encodeURIComponent(settings.username)}@${settings.host}:${settings.port}/${encodeURIComponent(settings.databaseName)}`;
  const env: ClientEnvVar[] = [
    { name: 'PGHOST', value: settings.host },
    { name: 'PGPORT', value: String(settings.port) },
    { name: 'PGDATABASE', value: settings.databaseName },
    { name: 'PGUSER', value: settings.username },
    { name: 'PGPASSWORD', secretKeyRef: { name: settings.secretName, key: settings.passwordKey } },
    { name: 'DATABASE_URL', value: url },
  ];
  if (settings.readOnly) {
    env.push({ name: 'PGOPTIONS', value: '-c default_transaction_read_only=on' });
  }
  return env;
}

/** Sets the client environment on a cdk8s-plus workload and admits it to the database's NetworkPolicy. */
export function connectWorkload(db: IPostgresDatabase & Construct, workload: kplus.AbstractPod, options: PostgresConnectOptions = {}): void {
  const problems = Problems.of(db, `connect(${workload.node.path})`);
  const settings = clientSettings(db, options, problems);
  const containers = options.container ? [options.container] : workload.containers;
  if (containers.length === 0) {
    problems.add('workload', workload.node.path, 'has no container', 'add its containers before connect(), or pass options.container');
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

function importedSecret(scope: Construct, name: string): kplus.ISecret {
  const id = `ClientSecret-${name}`;
  return (scope.node.tryFindChild(id) as kplus.ISecret | undefined) ?? kplus.Secret.fromSecretName(scope, id, name);
}

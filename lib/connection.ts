// Wiring clients to a database (internal): the libpq environment and the NetworkPolicy rule.
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { IPostgresDatabase, PostgresConnectOptions } from './database';

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

/** Resolves the connect options against a database. */
export function clientSettings(db: IPostgresDatabase, options: PostgresConnectOptions = {}): ClientSettings {
  const credentials = options.credentials;
  if (credentials?.rendersSecret) {
    throw new Error(`[${db.node.path}] connect(): options.credentials must reference a Secret, got PostgresCredentials.fromPassword() `
      + '(the password belongs to the Secret the database role was created with). '
      + 'Fix: use PostgresCredentials.fromSecretName() or fromSecret()');
  }
  const username = credentials?.username ?? db.username;
  return {
    host: options.readOnly ? db.readOnlyHost : db.host,
    port: db.port,
    databaseName: options.databaseName ?? db.databaseName,
    username,
    secretName: credentials?.secretName ?? db.secretName,
    passwordKey: credentials?.passwordKey ?? (credentials ? 'POSTGRES_PASSWORD' : db.passwordKey),
    readOnly: options.readOnly ?? false,
  };
}

/** The standard libpq variables, plus a password-less `DATABASE_URL` (libpq and most drivers add PGPASSWORD). */
export function clientEnv(settings: ClientSettings): ClientEnvVar[] {
  const env: ClientEnvVar[] = [
    { name: 'PGHOST', value: settings.host },
    { name: 'PGPORT', value: String(settings.port) },
    { name: 'PGDATABASE', value: settings.databaseName },
    { name: 'PGUSER', value: settings.username },
    { name: 'PGPASSWORD', secretKeyRef: { name: settings.secretName, key: settings.passwordKey } },
    { name: 'DATABASE_URL', value: `postgresql://${settings.username}@${settings.host}:${settings.port}/${settings.databaseName}` },
  ];
  if (settings.readOnly) {
    env.push({ name: 'PGOPTIONS', value: '-c default_transaction_read_only=on' });
  }
  return env;
}

/** Sets the client environment on a cdk8s-plus workload and admits it to the database's NetworkPolicy. */
export function connectWorkload(db: IPostgresDatabase & Construct, workload: kplus.AbstractPod, options: PostgresConnectOptions = {}): void {
  const env = clientEnv(clientSettings(db, options));
  const containers = options.container ? [options.container] : workload.containers;
  if (containers.length === 0) {
    throw new Error(`[${db.node.path}] connect(): the workload must have a container, got ${workload.node.path} with none. `
      + 'Fix: add its containers before connect(), or pass options.container');
  }
  for (const variable of env) {
    const value = variable.secretKeyRef
      ? kplus.EnvValue.fromSecretValue({ secret: importedSecret(db, variable.secretKeyRef.name), key: variable.secretKeyRef.key })
      : kplus.EnvValue.fromValue(variable.value ?? '');
    for (const container of containers) {
      container.env.addVariable(variable.name, value);
    }
  }
  db.allowFrom(workload);
}

function importedSecret(scope: Construct, name: string): kplus.ISecret {
  const id = `ClientSecret-${name}`;
  return (scope.node.tryFindChild(id) as kplus.ISecret | undefined) ?? kplus.Secret.fromSecretName(scope, id, name);
}


// Wiring clients to a database (internal): the libpq environment on any workload (lib/workload.ts),
// and the NetworkPolicy rule.
// Mistakes in the options are recorded as problems of the database, reported at synth with
// every other problem of the app.
import { ApiObject } from 'cdk8s';
import { Construct, IConstruct } from 'constructs';
import { SUPERUSER_DEFAULTS } from './roles';
import { IPostgresDatabase, PostgresConnectOptions } from './database';
import { caKeyNeed } from './instance-prerequisites';
import { addNeeds } from './prerequisite-registry';
import { EnvVar } from './render/manifest';
import { sortedKeys } from './stable-json';
import { Problems, Report } from './problems';
import { clientCaMount, clientCaVolume, ClientTls, clientTls } from './tls';
import { apiObjectOf, containersOf, editAtSynth, markConnected, noPodTemplate, podTemplateOf, renderPods, setField } from './workload';

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
export function clientEnv(settings: ClientSettings): EnvVar[] {
  const query = settings.tls ? `?sslmode=verify-full&sslrootcert=${encodeURIComponent(settings.tls.rootCert).replace(/%2F/g, '/')}` : '';
  const url = `postgresql://${encodeURIComponent(settings.username)}@${settings.host}:${settings.port}/${encodeURIComponent(settings.databaseName)}${query}`;
  const env: EnvVar[] = [
    { name: 'PGHOST', value: settings.host },
    { name: 'PGPORT', value: String(settings.port) },
    { name: 'PGDATABASE', value: settings.databaseName },
    { name: 'PGUSER', value: settings.username },
    { name: 'PGPASSWORD', valueFrom: { secretKeyRef: { key: settings.passwordKey, name: settings.secretName } } },
    ...(settings.tls ? [{ name: 'PGSSLMODE', value: 'verify-full' }, { name: 'PGSSLROOTCERT', value: settings.tls.rootCert }] : []),
    { name: 'DATABASE_URL', value: url },
  ];
  if (settings.readOnly) {
    env.push({ name: 'PGOPTIONS', value: '-c default_transaction_read_only=on' });
  }
  return env;
}

/**
 * Wires a workload, whatever built it, to a database: the ApiObject underneath gets the client
 * environment on its pod template's containers each time it renders, and the workload is admitted
 * to the database's NetworkPolicy. With TLS, the pod mounts the CA certificate (its key alone) in
 * those containers. The pod template is read at synth: the mistakes that only it shows (no pod
 * template, no container, a container name that is not there) are reported then.
 */
export function connectWorkload(db: IPostgresDatabase & Construct, workload: IConstruct, options: PostgresConnectOptions = {}): void {
  const problems = Problems.of(db, `connect(${workload.node.path})`);
  const containerName = targetContainer(options, problems);
  const object = apiObjectOf(workload);
  if (!object) {
    problems.add('workload', workload.node.path, 'has no Kubernetes object: it is neither an ApiObject nor a construct whose default child is one',
      'pass the workload itself: a Deployment, StatefulSet, DaemonSet, Job, CronJob or Pod of cdk8s-plus, or an ApiObject such as KubeDeployment');
    return;
  }
  const settings = clientSettings(db, options, problems, object.metadata.namespace);
  if (settings?.tls) {
    const mounted = caKeys(object);
    const key = mounted.get(settings.tls.volumeName);
    if (key !== undefined && key !== settings.tls.caKey) {
      problems.add('CA key', settings.tls.caKey, `differs from the key '${key}' of the same Secret '${settings.tls.caSecretName}' `
        + 'that another connect() mounted in this workload', 'keep one CA certificate per Secret, under one key');
    }
    mounted.set(settings.tls.volumeName, key ?? settings.tls.caKey);
  }
  problems.checkAtSynth((add) => checkPodTemplate(workload, object, containerName, add));
  markConnected(db, object);
  if (settings) {
    const env = clientEnv(settings).map(sortedKeys);
    const tls = settings.tls;
    editAtSynth(object, (json) => {
      setClientEnv(json, env, containerName);
      if (tls) {
        mountCa(json, tls, containerName);
      }
    });
    addNeeds(db, () => [{
      kind: 'Secret',
      namespace: object.metadata.namespace,
      name: settings.secretName,
      description: `the password ${workload.node.path} connects with`,
      keys: [{
        key: settings.passwordKey,
        description: `password of the role '${settings.username}' (PGPASSWORD of ${workload.node.path})`,
        optional: false,
        placeholder: '<password>',
      }],
      requiredBy: workload.node.path,
    }, ...(tls ? [{
      kind: 'Secret' as const,
      namespace: object.metadata.namespace,
      name: tls.caSecretName,
      description: `the CA certificate ${workload.node.path} verifies the database with`,
      keys: [caKeyNeed(tls.caKey, 'the client verifies')],
      requiredBy: workload.node.path,
    }] : [])]);
  }
  db.allowFrom(workload);
}

/** The CA key each CA volume that connect() added to a workload projects, by volume name. */
const CA_KEYS = new WeakMap<ApiObject, Map<string, string>>();

function caKeys(object: ApiObject): Map<string, string> {
  let keys = CA_KEYS.get(object);
  if (!keys) {
    keys = new Map();
    CA_KEYS.set(object, keys);
  }
  return keys;
}

/**
 * Mounts the CA Secret (its CA key alone: the Secret may also hold a server's private key) in
 * the containers of a rendered workload (the one named, or all): one volume per Secret, shared
 * by every database that uses it.
 */
function mountCa(json: any, tls: ClientTls, containerName: string | undefined): void {
  const pod = podTemplateOf(json);
  if (!pod) {
    return;
  }
  const volumes: any[] = Array.isArray(pod.spec.volumes) ? [...pod.spec.volumes] : [];
  if (!volumes.some((v) => v?.name === tls.volumeName)) {
    volumes.push(sortedKeys(clientCaVolume(tls)));
    setField(pod.spec, 'volumes', volumes);
  }
  for (const container of containersOf(pod, containerName)) {
    const mounts: any[] = Array.isArray(container.volumeMounts) ? [...container.volumeMounts] : [];
    if (!mounts.some((m) => m?.mountPath === tls.mountPath)) {
      mounts.push(sortedKeys(clientCaMount(tls)));
      setField(container, 'volumeMounts', mounts);
    }
  }
}

/** The container `options` name, if any: `containerName`, or the name of the deprecated `container` (also when they differ, a problem). */
function targetContainer(options: PostgresConnectOptions, problems: Problems): string | undefined {
  const fromContainer = options.container?.name;
  if (options.containerName !== undefined && fromContainer !== undefined && options.containerName !== fromContainer) {
    problems.add('options.containerName', options.containerName, `and options.container ('${fromContainer}') name different containers`,
      'give containerName alone');
    return fromContainer;
  }
  return options.containerName ?? fromContainer;
}

/** At synth: the workload renders a pod template with containers, among them the one named. */
function checkPodTemplate(workload: IConstruct, object: ApiObject, containerName: string | undefined, add: Report): void {
  const path = workload.node.path;
  const noContainer = () => add('workload', path, 'has no container', 'add its containers, or connect another workload');
  const plusContainers = (workload as { containers?: unknown }).containers;
  if (Array.isArray(plusContainers) && plusContainers.length === 0) {
    noContainer(); // a cdk8s-plus workload without containers does not render
    return;
  }
  const rendered = renderPods(object);
  if (rendered.error !== undefined) {
    add('workload', path, rendered.error, 'fix the workload, or connect another one');
    return;
  }
  const pod = rendered.pod;
  if (!pod) {
    add('workload', path, noPodTemplate(rendered.kind), 'connect a Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob or Pod');
    return;
  }
  const names = containersOf(pod).map((c: any) => c?.name);
  if (names.length === 0) {
    noContainer();
  } else if (containerName !== undefined && !names.includes(containerName)) {
    add('options.containerName', containerName, `names no container of ${path}, whose containers are ${names.map((n: string) => `'${n}'`).join(', ')}`,
      `use one of them, or leave containerName unset to connect every container`);
  }
}

/**
 * Sets the client environment on the containers of a rendered workload (the one named, or
 * all): a variable it already has is replaced where it is, the others are appended.
 */
function setClientEnv(json: any, env: any[], containerName: string | undefined): void {
  const pod = podTemplateOf(json);
  for (const container of pod ? containersOf(pod, containerName) : []) {
    const merged: any[] = Array.isArray(container.env) ? [...container.env] : [];
    for (const variable of env) {
      const at = merged.findIndex((e) => e?.name === variable.name);
      if (at >= 0) {
        merged[at] = variable;
      } else {
        merged.push(variable);
      }
    }
    setField(container, 'env', merged);
  }
}

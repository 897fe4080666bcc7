// Validate: small rules over the resolved spec and the props as written (internal). Each rule
// records its problems; every problem of every construct is reported together when cdk8s
// validates the app, before anything is written. A rule reads the spec for its logic and shows
// the caller's own value (never a default they did not write).
import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { backupRules } from './backup-rules';
import { PostgresCredentials } from './credentials';
import { checkLayout } from './data-layout';
import * as formats from './formats';
import { DEFAULT_IMAGE } from './image';
import { checkParameters, integerParameter } from './parameters';
import { Problems } from './problems';
import { PostgresStatefulSetProps } from './props';
import { InstanceSpec } from './resolve';
import { checkUpgrade } from './upgrade';
import { checkResources, kibibytes } from './resources';
import { tls } from './tls-rules';

/** What a rule sees. */
interface Context {
  readonly spec: InstanceSpec;
  readonly props: PostgresStatefulSetProps;
  readonly problems: Problems;
}

type Rule = (context: Context) => void;

const DNS_LABEL_FIX = 'use lowercase letters, digits and \'-\', starting with a letter, at most 63 characters';

/** Every rule, in the order the problems are reported. */
const RULES: Rule[] = [
  replicas,
  image,
  majorVersion,
  port,
  storage,
  dataPaths,
  names,
  namespace,
  labels,
  credentials,
  durations,
  parameters,
  initdbArgs,
  initScripts,
  securityIds,
  resources,
  replicationSettingsNeedReplicas,
  replicationCredentials,
  replication,
  ({ spec, props, problems }) => checkUpgrade(problems, spec, props),
  tls,
  backupRules,
];

/** Runs every rule. */
export function validate(spec: InstanceSpec, props: PostgresStatefulSetProps, problems: Problems): void {
  const context = { spec, props, problems };
  for (const rule of RULES) {
    rule(context);
  }
}

function replicas({ spec, problems }: Context): void {
  problems.check('replicas', spec.replicas, Number.isInteger(spec.replicas) && spec.replicas >= 1 ? undefined : 'must be a positive integer',
    'set replicas to 1 or more');
}

function image({ spec, problems }: Context): void {
  problems.check('image', spec.image.reference, spec.image.invalid,
    `pin the image to a release, e.g. '${DEFAULT_IMAGE}', or to a digest ('postgres@sha256:...')`);
}

function majorVersion({ spec, props, problems }: Context): void {
  const given = props.postgresMajorVersion;
  const tagMajor = spec.image.parsed?.majorVersion;
  if (given !== undefined && (!Number.isInteger(given) || given < 10)) {
    problems.add('postgresMajorVersion', given, 'must be a PostgreSQL major version, 10 or later', 'give the major version of the image, e.g. 18');
  } else if (given !== undefined && tagMajor !== undefined && given !== tagMajor) {
    problems.add('postgresMajorVersion', given, `differs from the image tag, which says ${tagMajor}`, 'remove postgresMajorVersion, or fix the image');
  } else if (spec.image.major === undefined && spec.image.parsed) {
    problems.add('image', spec.image.reference, 'does not tell the PostgreSQL major version (its tag does not start with it)',
      'set postgresMajorVersion, e.g. 18, so that the data layout and scripts fit the image');
  }
}

function port({ spec, problems }: Context): void {
  problems.check('port', spec.port, formats.tcpPort(spec.port), 'use a port from 1 to 65535, usually 5432');
}

function storage({ spec, problems }: Context): void {
  problems.check('storage', spec.storage.size, kibibytes(spec.storage.size) > 0 ? undefined : 'must be larger than zero',
    'request at least Size.mebibytes(1); a useful database needs gibibytes');
}

function dataPaths({ spec, props, problems }: Context): void {
  const { mountPath, pgData } = spec.storage;
  const mountOk = formats.pathSegments(mountPath) !== undefined;
  problems.check('dataMountPath', mountPath, mountOk ? undefined : 'must be an absolute path without \'.\' or \'..\' segments',
    'mount the data volume at an absolute path such as /var/lib/postgresql/data');
  const example = `'${mountPath.replace(/\/+$/, '')}/pgdata'`;
  if (formats.pathSegments(pgData) === undefined) {
    problems.add('pgData', pgData, 'must be an absolute path without \'.\' or \'..\' segments', `use a subdirectory of the data mount, e.g. ${example}`);
  } else if (mountOk && formats.samePath(pgData, mountPath)) {
    problems.add('pgData', pgData, 'must not be the data mount path itself (the volume root holds lost+found, and initdb refuses a directory that is not empty)',
      `use a subdirectory, e.g. ${example}`);
  } else if (mountOk && !formats.isStrictSubdirectory(pgData, mountPath)) {
    problems.add('pgData', pgData, `must be a subdirectory of dataMountPath '${mountPath}', or the data is not on the persistent volume`,
      `use a subdirectory, e.g. ${example}${props.pgData !== undefined && props.dataMountPath === undefined ? ', or set dataMountPath' : ''}`);
  } else if (mountOk && spec.image.major !== undefined) {
    checkLayout(problems, spec.image.major, mountPath, pgData);
  }
}

/** A name the caller gave, or one generated from the construct path (then the fix is to give one). */
function checkName(problems: Problems, prop: string, given: string | undefined, resolved: string, reason: string | undefined, fix: string): void {
  if (reason !== undefined) {
    problems.add(given !== undefined ? prop : `${prop} (generated from the construct path)`, resolved, reason, given !== undefined ? fix : `set ${prop}`);
  }
}

function names({ spec, props, problems }: Context): void {
  if (props.statefulSetName !== undefined && props.metadata?.name !== undefined && props.statefulSetName !== props.metadata.name) {
    problems.add('metadata.name', props.metadata.name, `differs from statefulSetName '${props.statefulSetName}'`, 'set only one of them');
  }
  checkName(problems, props.statefulSetName === undefined && props.metadata?.name !== undefined ? 'metadata.name' : 'statefulSetName',
    props.statefulSetName ?? props.metadata?.name, spec.names.statefulSet, formats.dns1123Label(spec.names.statefulSet, 52),
    'use lowercase letters, digits and \'-\', at most 52 characters (pods add \'-<ordinal>\' and a 63-character controller-revision-hash label)');
  checkName(problems, 'serviceName', props.serviceName, spec.names.service, formats.dns1035Label(spec.names.service), DNS_LABEL_FIX);
  const referenced = spec.superuser.referenced;
  if (referenced && props.secretName !== undefined) {
    problems.add('secretName', props.secretName,
      `conflicts with credentials, which reference Secret '${spec.superuser.secretName}': the password would come from two places`,
      'remove secretName, or use PostgresCredentials.fromPassword()/expectSecret() so that the construct owns the Secret named secretName');
  }
  checkName(problems, referenced ? 'credentials secret name' : 'secretName', referenced ? spec.superuser.secretName : props.secretName,
    spec.superuser.secretName, formats.dns1123Subdomain(spec.superuser.secretName), 'use lowercase letters, digits, \'-\' and \'.\'');
  if (props.storageClassName !== undefined) {
    problems.check('storageClassName', props.storageClassName, formats.dns1123Subdomain(props.storageClassName),
      'use the name of a StorageClass (kubectl get storageclass), or leave it unset for the cluster default');
  }
  if (props.containerName !== undefined) {
    problems.check('containerName', props.containerName, formats.dns1123Label(props.containerName), 'use lowercase letters, digits and \'-\'');
  }
  if (props.portName !== undefined) {
    problems.check('portName', props.portName, formats.portName(props.portName), 'use a short name such as postgresql');
  }
  if (props.accessModes !== undefined && props.accessModes.length === 0) {
    problems.add('accessModes', props.accessModes, 'must not be empty', 'use [PersistentVolumeAccessMode.READ_WRITE_ONCE]');
  }
  problems.check('clusterDomain', spec.dns.clusterDomain, formats.dns1123Subdomain(spec.dns.clusterDomain),
    'use the cluster\'s DNS domain, usually cluster.local');
}

function namespace({ props, problems }: Context): void {
  const value = props.metadata?.namespace;
  if (value !== undefined) {
    problems.check('metadata.namespace', value, formats.dns1123Label(value), 'use the name of a namespace: lowercase letters, digits and \'-\', at most 63 characters');
  }
}

function labels({ props, problems }: Context): void {
  problems.check('labels', props.labels, props.labels ? formats.labels(props.labels) : undefined, 'use valid Kubernetes label keys and values');
  problems.check('selectorLabels', props.selectorLabels,
    props.selectorLabels === undefined ? undefined
      : Object.keys(props.selectorLabels).length === 0 ? 'must not be empty' : formats.labels(props.selectorLabels),
    'give at least one valid label that no other workload in the namespace uses');
}

function credentials({ spec, props, problems }: Context): void {
  const superuser = spec.superuser;
  problems.check('credentials passwordKey', superuser.passwordKey, formats.secretKey(superuser.passwordKey), 'use a key such as POSTGRES_PASSWORD');
  problems.check('credentials username', superuser.username, formats.roleName(superuser.username), 'use a name such as postgres');
  if (props.databaseName !== undefined) {
    problems.check('databaseName', props.databaseName, formats.roleName(props.databaseName), 'use a name such as app');
  }
  if (superuser.rendered && !superuser.password) {
    problems.add('credentials', '', 'has an empty password (PostgresCredentials.fromPassword())',
      'supply a non-empty password, or use PostgresCredentials.expectSecret() and create the Secret with kubectl');
  }
}

function durations({ spec, props, problems }: Context): void {
  const seconds = (d: Duration) => d.toSeconds({ integral: false });
  problems.check('terminationGracePeriod', spec.gracePeriod, formats.wholeSeconds(seconds(spec.gracePeriod), 1),
    'give PostgreSQL time to stop cleanly, e.g. Duration.seconds(60)');
  if (props.startupTimeout !== undefined) {
    problems.check('startupTimeout', props.startupTimeout, formats.wholeSeconds(seconds(props.startupTimeout), 1),
      'allow for initdb and crash recovery, e.g. Duration.minutes(30)');
  }
}

function parameters({ props, problems }: Context): void {
  checkParameters(problems, props.parameters ?? {});
}

function initdbArgs({ props, problems }: Context): void {
  for (const arg of props.initdbArgs ?? []) {
    problems.check('initdbArgs', arg, /^[A-Za-z0-9=_.:/,+-]+$/.test(arg) ? undefined
      : 'has an argument with characters the image would interpret (it evaluates POSTGRES_INITDB_ARGS in a shell)',
    'use plain initdb options such as --data-checksums or --locale-provider=icu');
  }
}

/** What the image runs from /docker-entrypoint-initdb.d; it ignores every other file. */
const INIT_SCRIPT_FILE = /\.(sh|sql|sql\.gz|sql\.xz|sql\.zst)$/;

function initScripts({ props, problems }: Context): void {
  // the keys are known when the ConfigMap is defined in this app (cdk8s-plus ConfigMap), not when it is imported by name
  const configMap = props.initScripts as (kplus.IConfigMap & { data?: unknown; binaryData?: unknown }) | undefined;
  if (!configMap || typeof configMap.data !== 'object' || configMap.data === null) {
    return;
  }
  const keys = [...Object.keys(configMap.data), ...Object.keys((configMap.binaryData as object | undefined) ?? {})];
  for (const key of keys.filter((k) => !INIT_SCRIPT_FILE.test(k))) {
    problems.add('initScripts', key, 'holds a file the image ignores: it runs only *.sh, *.sql, *.sql.gz, *.sql.xz and *.sql.zst',
      'rename the key with one of those extensions, or remove it');
  }
}

function securityIds({ props, problems }: Context): void {
  for (const [prop, value] of [['runAsUser', props.runAsUser], ['runAsGroup', props.runAsGroup], ['fsGroup', props.fsGroup]] as const) {
    if (value !== undefined) {
      problems.check(prop, value, Number.isInteger(value) && value >= 1 && value < 2 ** 31 ? undefined : 'must be a non-root numeric id (1 or more)',
        'use the id of the image\'s postgres user: 999 for Debian-based images, 70 for Alpine-based ones');
    }
  }
}

function resources({ spec, problems }: Context): void {
  checkResources(problems, spec.resources, spec.sharedMemory);
}

function replicationSettingsNeedReplicas({ spec, props, problems }: Context): void {
  if (spec.replication.services || !(spec.replicas <= 1 || !Number.isInteger(spec.replicas))) {
    return;
  }
  for (const prop of ['readWriteServiceName', 'readOnlyServiceName'] as const) {
    if (props[prop] !== undefined) {
      problems.add(prop, props[prop], `names a Service rendered with streaming replication only, but replicas is ${spec.replicas}`,
        `remove ${prop}, or set replicas to 2 or more`);
    }
  }
}

/** The replication role and its password: checked with one replica too, since the pods carry them from the start. */
function replicationCredentials({ spec, props, problems }: Context): void {
  const given: PostgresCredentials | undefined = props.replicationCredentials;
  const credentials = spec.replication.credentials;
  const { username, passwordKey, secretName } = credentials;
  if (username === spec.superuser.username) {
    problems.add('replicationCredentials username', username, `must not be the superuser '${spec.superuser.username}'`,
      'use a role of its own, such as the default \'replicator\'');
  } else {
    problems.check('replicationCredentials username', username, formats.roleName(username), 'use a name such as replicator');
  }
  problems.check('replicationCredentials passwordKey', passwordKey, formats.secretKey(passwordKey), 'use a key such as POSTGRES_REPLICATION_PASSWORD');
  if (secretName === spec.superuser.secretName && passwordKey === spec.superuser.passwordKey) {
    problems.add('replicationCredentials passwordKey', passwordKey, `is the superuser's password key in Secret '${secretName}'`,
      'give the replication password a key of its own, e.g. POSTGRES_REPLICATION_PASSWORD');
  }
  if (credentials.rendered && !spec.superuser.rendered) {
    problems.add('replicationCredentials', given,
      'render a password into a Secret, but credentials do not: both passwords go into the construct\'s Secret',
      'use PostgresCredentials.fromPassword() for both, or reference Secrets for both');
  } else if (credentials.rendered && !credentials.password) {
    problems.add('replicationCredentials', given, 'has an empty password', 'supply a non-empty password');
  } else if (spec.replication.services && spec.superuser.rendered && !credentials.rendered && !credentials.referenced) {
    problems.add('replicationCredentials', given,
      'must supply a password too, since credentials render the Secret that would hold it',
      'set replicationCredentials: PostgresCredentials.fromPassword(<password>, { username: \'replicator\' }), or reference another Secret');
  }
}

function replication({ spec, props, problems }: Context): void {
  const services = spec.replication.services;
  if (!services) {
    return;
  }
  const major = spec.image.major;
  if (major !== undefined && major < 12) {
    problems.add('replicas', spec.replicas, `needs PostgreSQL 12 or later for streaming replication (standby.signal), but the image runs ${major}`,
      'use a newer image, or one replica');
  }
  const maxWalSenders = integerParameter(spec.parameters, 'max_wal_senders') ?? 10;
  const needed = spec.replicas - 1 + 2;
  if (needed > maxWalSenders) {
    problems.add('replicas', spec.replicas,
      `needs ${needed} WAL senders (one per standby, two for a clone), more than max_wal_senders ${maxWalSenders}`,
      `set parameters: { max_wal_senders: '${spec.replicas + 1}' } or more`);
  }
  for (const [prop, suffix, name] of [['readWriteServiceName', 'rw', services.readWrite], ['readOnlyServiceName', 'ro', services.readOnly]] as const) {
    const reason = formats.dns1035Label(name);
    if (reason === undefined) {
      continue;
    }
    if (props[prop] !== undefined) {
      problems.add(prop, name, reason, DNS_LABEL_FIX);
    } else if (props.serviceName !== undefined) {
      problems.add('serviceName', props.serviceName, `leaves no room for the '-${suffix}' suffix of the ${prop.replace(/Name$/, '')} (${reason})`,
        `shorten serviceName, or set ${prop}`);
    }
  }
}

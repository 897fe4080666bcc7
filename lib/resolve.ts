// Resolve: the props of a PostgresStatefulSet, with every default applied, as one read-only spec
// (internal). Defaults live here and nowhere else; validate.ts checks the spec and the props,
// render/ writes the objects from the spec alone.
//
// Resolving never fails: a value that is wrong is kept as given (validate.ts reports it), and
// what depends on it falls back to what the image would do.
import { ApiObjectMetadata, Chart, Cron, Duration, Names, Size, SizeRoundingBehavior } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { IConstruct } from 'constructs';
import { BackupKind } from './backup';
import { BACKUP_MOUNT, RESTORE_MOUNT } from './backup-scripts';
import { ClaimRetentionPolicy } from './claim-retention';
import { PostgresCredentials } from './credentials';
import { defaultLayout } from './data-layout';
import { DEFAULT_CLUSTER_DOMAIN, serviceDnsName } from './dns';
import { DEFAULT_IMAGE, ImageReference, parseImage, postgresUserId } from './image';
import { MajorUpgradeMethod } from './major-upgrade';
import { normaliseParameters } from './parameters';
import { PostgresStatefulSetProps } from './props';
import { DEFAULT_RESOURCES } from './resources';
import { REPLICATION_DEFAULTS, resolveCredentials, ResolvedCredentials, SUPERUSER_DEFAULTS } from './roles';
import { resolveUpgrade } from './upgrade';

export type Labels = { readonly [key: string]: string };

/** Everything a PostgresStatefulSet renders, decided. */
export interface InstanceSpec {
  /** Names of the objects. */
  readonly names: {
    readonly statefulSet: string;
    readonly service: string;
    /** The Secret the superuser password is read from (the construct's own, or a referenced one). */
    readonly secret: string;
    /** The ConfigMap of the scripts the pods run. */
    readonly scripts: string;
  };
  /** The caller's metadata for the StatefulSet. */
  readonly metadata?: ApiObjectMetadata;
  /** Namespace written on every object (from `metadata`); otherwise the chart's applies. */
  readonly namespace?: string;
  /** The namespace the objects end up in, when known: `metadata`'s, else the chart's. */
  readonly effectiveNamespace?: string;
  /** Labels of every object and of the pods: the caller's labels and the selector labels. */
  readonly labels: Labels;
  /** Labels that select this instance's pods. */
  readonly selectorLabels: Labels;
  readonly dns: {
    readonly clusterDomain: string;
    /** The headless Service. */
    readonly service: string;
    /** Where clients read and write. */
    readonly host: string;
    /** Where clients only read. */
    readonly readOnlyHost: string;
  };
  readonly image: {
    readonly reference: string;
    /** The parsed reference; undefined when it cannot be used. */
    readonly parsed?: ImageReference;
    /** Why the reference cannot be used. */
    readonly invalid?: string;
    /** PostgreSQL major version: the caller's, else the tag's. */
    readonly major?: number;
    /** uid and gid of the image's postgres user. */
    readonly postgresUid: number;
    readonly pullPolicy: string;
  };
  readonly replicas: number;
  readonly port: number;
  readonly portName: string;
  readonly containerName: string;
  readonly storage: {
    readonly size: Size;
    readonly className?: string;
    readonly accessModes: string[];
    readonly mountPath: string;
    readonly pgData: string;
    readonly whenDeleted: ClaimRetentionPolicy;
    readonly whenScaled: ClaimRetentionPolicy;
  };
  readonly superuser: ResolvedCredentials;
  /** `POSTGRES_PASSWORD_FILE` from a Secret volume instead of `POSTGRES_PASSWORD`. */
  readonly passwordAsFile: boolean;
  readonly databaseName: string;
  /** The caller's server parameters, names in lower case. */
  readonly parameters: { readonly [name: string]: string };
  readonly initdbArgs: string[];
  readonly initScripts?: kplus.IConfigMap;
  readonly security: {
    /** The Pod Security Standard "restricted" profile. */
    readonly restricted: boolean;
    readonly runAsUser?: number;
    readonly runAsGroup?: number;
    readonly fsGroup?: number;
    readonly fsGroupChangePolicy?: string;
    readonly readOnlyRootFilesystem: boolean;
    readonly automountServiceAccountToken: boolean;
    /** The container may run as root (no user given outside the restricted profile): switch to postgres where needed. */
    readonly mayRunAsRoot: boolean;
  };
  readonly resources: kplus.ContainerResources;
  readonly sharedMemory: Size;
  /** The pg_isready probes; undefined when switched off. */
  readonly probes?: { readonly startupTimeout: Duration };
  readonly gracePeriod: Duration;
  /** The fast-shutdown preStop hook. */
  readonly fastShutdown: boolean;
  readonly podDisruptionBudget: boolean;
  readonly spreadAcrossNodes: boolean;
  /** Peers a NetworkPolicy admits; undefined: no NetworkPolicy. */
  readonly allowedClients?: IConstruct[];
  /** A major version upgrade of the data on the volume; undefined without `majorUpgrade`. */
  readonly upgrade?: UpgradeSpec;
  /**
   * Streaming replication. Every pod carries it, so that raising `replicas` changes nothing in the
   * pod template; with one replica it is dormant.
   */
  readonly replication: ReplicationSpec;
  /** TLS; undefined without `tlsSecret`. */
  readonly tls?: TlsSpec;
  /** Scheduled backups; undefined without the `backup` prop. */
  readonly backup?: BackupSpec;
  /** Initialisation from a backup; undefined without the `restoreFrom` prop. */
  readonly restore?: RestoreSpec;
}

/** Streaming replication: pod 0 is the primary, the other pods clone it and stream. */
export interface ReplicationSpec {
  readonly credentials: ResolvedCredentials;
  /** Pod 0 behind the headless Service, as the standbys reach it. */
  readonly primaryHost: string;
  /** The read-write and read-only Services, with more than one replica. */
  readonly services?: ReplicaServices;
}

/** A major version upgrade. */
export interface UpgradeSpec {
  readonly fromImage: string;
  /** The major the data was written with, from the image's tag. */
  readonly fromMajor?: number;
  readonly method: MajorUpgradeMethod;
}

/** The Services clients of a replicated instance use. */
export interface ReplicaServices {
  readonly readWrite: string;
  readonly readOnly: string;
  readonly readWriteDnsName: string;
  readonly readOnlyDnsName: string;
}

/** Applies every default to the props. */
export function resolve(scope: IConstruct, props: PostgresStatefulSetProps): InstanceSpec {
  const credentials = props.credentials ?? PostgresCredentials.expectSecret();
  const replicas = props.replicas ?? 1;
  const statefulSet = props.statefulSetName ?? props.metadata?.name ?? Names.toDnsLabel(scope, { maxLen: 52 });
  const service = props.serviceName ?? Names.toDnsLabel(scope, { extra: ['svc'] });
  const ownSecret = props.secretName ?? Names.toDnsLabel(scope, { extra: ['secret'] });
  const superuser = resolveCredentials(credentials, SUPERUSER_DEFAULTS, ownSecret);
  const effectiveNamespace = props.metadata?.namespace ?? Chart.of(scope).namespace;
  const clusterDomain = props.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN;
  const dnsName = (name: string) => serviceDnsName(name, effectiveNamespace, clusterDomain);

  const reference = props.image ?? DEFAULT_IMAGE;
  const parsedImage = parseImage(reference);
  const parsed = typeof parsedImage === 'string' ? undefined : parsedImage;
  const invalid = typeof parsedImage === 'string' ? parsedImage : undefined;
  const major = props.postgresMajorVersion ?? parsed?.majorVersion;
  const layout = defaultLayout(major, props.dataMountPath);

  const selectorLabels = props.selectorLabels ?? {
    'app.kubernetes.io/name': 'postgresql',
    'app.kubernetes.io/instance': Names.toLabelValue(scope),
  };
  const replication = resolveReplication(scope, props, { replicas, credentials: superuser, statefulSet, service, dnsName });
  const restricted = props.restrictedSecurityContext ?? true;
  const postgresUid = postgresUserId(reference);
  const multiple = replicas > 1;

  const instance: InstanceSpec = {
    names: { statefulSet, service, secret: superuser.secretName, scripts: `${statefulSet}-scripts` },
    metadata: props.metadata,
    namespace: props.metadata?.namespace,
    effectiveNamespace,
    labels: { ...props.labels, ...selectorLabels },
    selectorLabels,
    dns: {
      clusterDomain,
      service: dnsName(service),
      host: replication.services?.readWriteDnsName ?? dnsName(service),
      readOnlyHost: replication.services?.readOnlyDnsName ?? dnsName(service),
    },
    image: { reference, parsed, invalid, major, postgresUid, pullPolicy: props.imagePullPolicy ?? kplus.ImagePullPolicy.IF_NOT_PRESENT },
    replicas,
    port: props.port ?? 5432,
    portName: props.portName ?? 'postgresql',
    containerName: props.containerName ?? 'postgres',
    storage: {
      size: props.storage ?? Size.gibibytes(10),
      className: props.storageClassName,
      accessModes: props.accessModes ?? [kplus.PersistentVolumeAccessMode.READ_WRITE_ONCE],
      mountPath: layout.dataMountPath,
      pgData: props.pgData ?? layout.pgData,
      whenDeleted: props.claimRetentionWhenDeleted ?? ClaimRetentionPolicy.RETAIN,
      whenScaled: props.claimRetentionWhenScaled ?? ClaimRetentionPolicy.RETAIN,
    },
    superuser,
    passwordAsFile: props.passwordAsFile ?? false,
    databaseName: props.databaseName ?? superuser.username,
    parameters: normaliseParameters(props.parameters),
    initdbArgs: props.initdbArgs ?? ['--data-checksums'],
    initScripts: props.initScripts,
    security: restricted ? {
      restricted,
      runAsUser: props.runAsUser ?? postgresUid,
      runAsGroup: props.runAsGroup ?? postgresUid,
      fsGroup: props.fsGroup ?? postgresUid,
      fsGroupChangePolicy: props.fsGroupChangePolicy ?? kplus.FsGroupChangePolicy.ON_ROOT_MISMATCH,
      readOnlyRootFilesystem: props.readOnlyRootFilesystem ?? true,
      automountServiceAccountToken: props.automountServiceAccountToken ?? false,
      mayRunAsRoot: false,
    } : {
      // a platform such as OpenShift assigns the ids, or the image runs as root and drops to postgres itself
      restricted,
      runAsUser: props.runAsUser,
      runAsGroup: props.runAsGroup,
      fsGroup: props.fsGroup,
      fsGroupChangePolicy: props.fsGroup !== undefined ? props.fsGroupChangePolicy ?? kplus.FsGroupChangePolicy.ON_ROOT_MISMATCH : undefined,
      readOnlyRootFilesystem: props.readOnlyRootFilesystem ?? true,
      automountServiceAccountToken: props.automountServiceAccountToken ?? false,
      mayRunAsRoot: props.runAsUser === undefined,
    },
    resources: props.resources ?? DEFAULT_RESOURCES,
    sharedMemory: props.sharedMemorySize ?? Size.mebibytes(256),
    probes: (props.probes ?? true) ? { startupTimeout: props.startupTimeout ?? Duration.hours(1) } : undefined,
    gracePeriod: props.terminationGracePeriod ?? Duration.seconds(60),
    fastShutdown: props.fastShutdown ?? true,
    podDisruptionBudget: props.podDisruptionBudget ?? multiple,
    // preferred anti-affinity is harmless with one pod, and a default that followed replicas would change the pod template
    spreadAcrossNodes: props.spreadAcrossNodes ?? true,
    allowedClients: props.allowedClients,
    upgrade: resolveUpgrade(props.majorUpgrade, reference),
    replication,
    tls: resolveTls(props),
  };
  return { ...instance, ...resolveBackups(scope, props, instance) };
}

function resolveReplication(scope: IConstruct, props: PostgresStatefulSetProps, instance: {
  replicas: number; credentials: ResolvedCredentials; statefulSet: string; service: string; dnsName: (service: string) => string;
}): ReplicationSpec {
  // by default, the replication password is another key of the Secret that holds the superuser's
  const credentials = resolveCredentials(props.replicationCredentials ?? PostgresCredentials.expectSecret(), REPLICATION_DEFAULTS,
    instance.credentials.secretName);
  return {
    credentials,
    primaryHost: `${instance.statefulSet}-0.${instance.service}`,
    services: instance.replicas > 1 ? resolveReplicaServices(scope, props, instance.dnsName) : undefined,
  };
}

function resolveReplicaServices(scope: IConstruct, props: PostgresStatefulSetProps, dnsName: (service: string) => string): ReplicaServices {
  const readWrite = props.readWriteServiceName
    ?? (props.serviceName !== undefined ? `${props.serviceName}-rw` : Names.toDnsLabel(scope, { extra: ['rw'] }));
  const readOnly = props.readOnlyServiceName
    ?? (props.serviceName !== undefined ? `${props.serviceName}-ro` : Names.toDnsLabel(scope, { extra: ['ro'] }));
  return { readWrite, readOnly, readWriteDnsName: dnsName(readWrite), readOnlyDnsName: dnsName(readOnly) };
}

/** TLS: the server's certificate and key from a `kubernetes.io/tls` Secret, the CA from that Secret or another. */
export interface TlsSpec {
  /** The Secret with `tls.crt` and `tls.key`. */
  readonly secret: kplus.ISecret;
  /** The Secret with the CA certificate clients and standbys verify the server with. */
  readonly caSecret: kplus.ISecret;
  /** Key of the CA certificate in `caSecret`. */
  readonly caKey: string;
  /** Connections over the network without TLS are refused. */
  readonly required: boolean;
}

/** The CA certificate's key in a Secret cert-manager writes. */
export const DEFAULT_TLS_CA_KEY = 'ca.crt';

function resolveTls(props: PostgresStatefulSetProps): TlsSpec | undefined {
  if (!props.tlsSecret) {
    return undefined;
  }
  return {
    secret: props.tlsSecret,
    caSecret: props.tlsCaSecret ?? props.tlsSecret,
    caKey: props.tlsCaKey ?? DEFAULT_TLS_CA_KEY,
    required: props.tlsRequired ?? true,
  };
}

// ---------------------------------------------------------------------------------------------
// Backups and restores (backup.ts: the props; backups.ts, restore.ts: what is rendered)

/** Scheduled backups: a CronJob writing to a claim, and, with a WAL archive, what the pods add. */
export interface BackupSpec {
  readonly kind: BackupKind;
  /** The cron expression. */
  readonly schedule: string;
  readonly timeZone?: string;
  readonly claim: {
    readonly name: string;
    /** The claim the construct renders; undefined for an existing claim. */
    readonly create?: { readonly size: Size; readonly className?: string; readonly accessModes: string[] };
  };
  readonly keepLast: number;
  readonly keepDays?: number;
  readonly preferStandby: boolean;
  readonly walArchive: boolean;
  readonly resources: kplus.ContainerResources;
  readonly deadline: Duration;
  readonly backoffLimit: number;
  readonly cronJobName: string;
  /** The ConfigMap of the backup scripts. */
  readonly configMapName: string;
  /** The instance's directory on the claim, as the Job and the pods mount it. */
  readonly directory: string;
  /** `host:port` of pod 0 behind the headless Service. */
  readonly primary: string;
  /** `host:port` of the standbys to try first, in ordinal order (none with one replica or preferStandby false). */
  readonly standbys: string[];
  /** Labels of the backup objects and the Job's pods: never the instance's selector labels. */
  readonly labels: Labels;
}

/** Initialisation of pod 0's empty data directory from a backup. */
export interface RestoreSpec {
  readonly claimName: string;
  readonly kind: BackupKind;
  /** A backup id; undefined: the newest (that fits the target time). */
  readonly backup?: string;
  /** The StatefulSet whose backups are restored. */
  readonly source: string;
  /** The source's directory on the claim, as the restore container mounts it. */
  readonly directory: string;
  /** The target time as given, and as PostgreSQL and the script read it; undefined: no target. */
  readonly targetTime?: { readonly given: string; readonly postgres?: string; readonly epoch?: number };
  /** The ConfigMap of the restore scripts. */
  readonly configMapName: string;
}

function resolveBackups(scope: IConstruct, props: PostgresStatefulSetProps, instance: InstanceSpec): { backup?: BackupSpec; restore?: RestoreSpec } {
  const { statefulSet, service } = instance.names;
  const host = (ordinal: number) => `${statefulSet}-${ordinal}.${service}:${instance.port}`;
  const options = props.backup;
  let backup: BackupSpec | undefined;
  if (options) {
    const storage = options.storage;
    const replicas = Number.isInteger(instance.replicas) ? Math.max(1, instance.replicas) : 1;
    const preferStandby = options.preferStandby ?? true;
    // the caller's labels, without the selector's keys: a backup pod must never be selected as a database pod
    const own = Object.fromEntries(Object.entries(props.labels ?? {}).filter(([key]) => !(key in instance.selectorLabels)));
    backup = {
      kind: options.kind ?? BackupKind.LOGICAL,
      schedule: (options.schedule ?? Cron.daily()).expressionString,
      timeZone: options.timeZone,
      claim: {
        name: storage?.claimName ?? `${statefulSet}-backups`,
        create: storage === undefined || storage.createsClaim ? {
          size: storage?.storage ?? twice(instance.storage.size),
          className: storage?.storageClassName,
          accessModes: storage?.accessModes ?? [kplus.PersistentVolumeAccessMode.READ_WRITE_ONCE],
        } : undefined,
      },
      keepLast: options.keepLast ?? 7,
      keepDays: options.keepDays,
      preferStandby,
      walArchive: options.walArchive ?? false,
      resources: options.resources ?? BACKUP_RESOURCES,
      deadline: options.deadline ?? Duration.hours(6),
      backoffLimit: options.backoffLimit ?? 2,
      cronJobName: `${statefulSet}-backup`,
      configMapName: `${statefulSet}-backup`,
      directory: `${BACKUP_MOUNT}/${statefulSet}`,
      primary: host(0),
      standbys: preferStandby ? Array.from({ length: replicas - 1 }, (_, i) => host(i + 1)) : [],
      labels: {
        ...own,
        'app.kubernetes.io/name': 'postgresql-backup',
        'app.kubernetes.io/instance': Names.toLabelValue(scope, { extra: ['backup'] }),
      },
    };
  }
  const from = props.restoreFrom;
  const restore: RestoreSpec | undefined = from ? {
    claimName: from.claimName,
    kind: from.kind ?? BackupKind.LOGICAL,
    backup: from.backup,
    source: from.sourceStatefulSetName ?? statefulSet,
    directory: `${RESTORE_MOUNT}/${from.sourceStatefulSetName ?? statefulSet}`,
    targetTime: from.targetTime !== undefined ? { given: from.targetTime, ...parseTargetTime(from.targetTime) } : undefined,
    configMapName: `${statefulSet}-restore`,
  } : undefined;
  return { backup, restore };
}

/** The backup Job's container: a client that mostly waits on the server and the disk. */
const BACKUP_RESOURCES: kplus.ContainerResources = {
  cpu: { request: kplus.Cpu.millis(100) },
  memory: { request: Size.mebibytes(256), limit: Size.gibibytes(1) },
};

/** Twice a size, in the largest whole binary unit. */
function twice(size: Size): Size {
  const kib = size.toKibibytes({ rounding: SizeRoundingBehavior.NONE }) * 2;
  if (kib % (1024 * 1024) === 0) {
    return Size.gibibytes(kib / (1024 * 1024));
  }
  return kib % 1024 === 0 ? Size.mebibytes(kib / 1024) : Size.kibibytes(kib);
}

/** RFC 3339 with a time zone; fractions of a second allowed. */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * A recovery target time in UTC with a numeric offset, as PostgreSQL reads it at start (before it
 * loads the time zone abbreviations, so not 'Z'), and in seconds since the epoch; nothing when it
 * is not a real time in RFC 3339.
 */
function parseTargetTime(value: string): { postgres?: string; epoch?: number } {
  const match = RFC3339.exec(value);
  if (!match) {
    return {};
  }
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number);
  const calendar = new Date(Date.UTC(year, month - 1, day)); // Date.parse rolls 2025-02-30 over to March
  const ms = Date.parse(value.replace(' ', 'T'));
  if (Number.isNaN(ms) || calendar.getUTCMonth() !== month - 1 || calendar.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) {
    return {};
  }
  return { postgres: new Date(ms).toISOString().replace('T', ' ').replace('Z', '+00'), epoch: Math.floor(ms / 1000) };
}

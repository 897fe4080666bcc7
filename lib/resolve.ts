// Resolve: the props of a PostgresStatefulSet, with every default applied, as one read-only spec
// (internal). Defaults live here and nowhere else; validate.ts checks the spec and the props,
// render/ writes the objects from the spec alone.
//
// Resolving never fails: a value that is wrong is kept as given (validate.ts reports it), and
// what depends on it falls back to what the image would do.
import { ApiObjectMetadata, Chart, Duration, Names, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { IConstruct } from 'constructs';
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

  return {
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
  };
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

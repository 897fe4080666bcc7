import { ApiObject, ApiObjectMetadata, Chart, Duration, Names, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import * as checks from './checks';
import { ClaimRetentionPolicy } from './claim-retention';
import { connectWorkload } from './connection';
import { PostgresCredentials } from './credentials';
import { IPostgresDatabase, PostgresConnectOptions, PostgresDatabaseImportOptions } from './database';
import { checkLayout, defaultLayout } from './data-layout';
import { DEFAULT_IMAGE, parseImage, postgresUserId } from './image';
import { ImportedPostgresDatabase } from './imported-database';
import { checkParameters, parameterArgs } from './parameters';
import { fastShutdownCommand, isReadyCommand, probes } from './probes';
import * as replication from './replication';
import { checkResources, DEFAULT_RESOURCES, kibibytes, renderResources } from './resources';
import { containerSecurityContext, podSecurityContext } from './security';

const DATA_VOLUME = 'data';
const SOCKET_DIR = '/var/run/postgresql';
const INITDB_DIR = '/docker-entrypoint-initdb.d';
const PASSWORD_DIR = '/run/secrets/postgresql';

/**
 * Properties of a `PostgresStatefulSet`.
 */
export interface PostgresStatefulSetProps {
  /**
   * Metadata of the StatefulSet: labels, annotations, and a namespace for every object.
   *
   * A `name` given here is the StatefulSet's name, as with `statefulSetName`.
   * The chart's namespace and labels apply as to any cdk8s object.
   *
   * @default - the chart's namespace and labels; a generated name
   */
  readonly metadata?: ApiObjectMetadata;

  /**
   * Name of the StatefulSet. Pods are named `<statefulSetName>-<ordinal>`.
   *
   * At most 52 characters: Kubernetes adds an 11-character suffix for the pods'
   * `controller-revision-hash` label, whose values are limited to 63 characters.
   *
   * @default - a name generated from the construct path
   */
  readonly statefulSetName?: string;

  /**
   * Name of the headless Service that gives the pods stable DNS names.
   *
   * @default - a name generated from the construct path
   */
  readonly serviceName?: string;

  /**
   * Name of the Secret this construct owns: the one it renders for
   * `PostgresCredentials.fromPassword()`, or expects to exist for `PostgresCredentials.expectSecret()`.
   *
   * Not allowed with `PostgresCredentials.fromSecret()` or `fromSecretName()`, which name their own Secret.
   *
   * @default - a name generated from the construct path
   */
  readonly secretName?: string;

  /**
   * Number of pods.
   *
   * @default 1
   */
  readonly replicas?: number;

  /**
   * Container image running PostgreSQL: the official `postgres` image or one built on it.
   *
   * It must be pinned: a tag (`postgres:18.4`), a digest (`postgres@sha256:...`) or both.
   * A missing tag or `latest` is rejected, since the image would change under a running database.
   *
   * @default 'postgres:18.4'
   */
  readonly image?: string;

  /**
   * When the kubelet pulls the image.
   *
   * @default kplus.ImagePullPolicy.IF_NOT_PRESENT
   */
  readonly imagePullPolicy?: kplus.ImagePullPolicy;

  /**
   * Name of the PostgreSQL container.
   *
   * @default 'postgres'
   */
  readonly containerName?: string;

  /**
   * TCP port PostgreSQL listens on, in the pod and on the Service.
   *
   * @default 5432
   */
  readonly port?: number;

  /**
   * Name of the container port and Service port.
   *
   * @default 'postgresql'
   */
  readonly portName?: string;

  /**
   * Storage requested for each pod's data volume, written out as given (`Size.gibibytes(1)` is `1Gi`).
   *
   * @see https://kubernetes.io/docs/concepts/storage/persistent-volumes/#resources
   * @default Size.gibibytes(10)
   */
  readonly storage?: Size;

  /**
   * Storage class of the data volumes.
   *
   * @see https://kubernetes.io/docs/concepts/storage/storage-classes/
   * @default - no storageClassName field: the cluster's default storage class
   */
  readonly storageClassName?: string;

  /**
   * Access modes of the data volumes.
   *
   * @default [kplus.PersistentVolumeAccessMode.READ_WRITE_ONCE]
   */
  readonly accessModes?: kplus.PersistentVolumeAccessMode[];

  /**
   * Where the data volume is mounted in the container.
   *
   * @default - '/var/lib/postgresql' for images of PostgreSQL 18 and later, '/var/lib/postgresql/data' before
   */
  readonly dataMountPath?: string;

  /**
   * The data directory (`PGDATA`). It must be a strict subdirectory of `dataMountPath`:
   * a volume's root often holds `lost+found`, and `initdb` refuses a directory that is not empty.
   *
   * @default - '/var/lib/postgresql/<major>/docker' for images of PostgreSQL 18 and later
   * (the image's own layout), '<dataMountPath>/pgdata' before
   */
  readonly pgData?: string;

  /**
   * How long Kubernetes waits for PostgreSQL to stop before it kills it.
   *
   * @see https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-termination
   * @default Duration.seconds(60)
   */
  readonly terminationGracePeriod?: Duration;

  /**
   * Superuser name and where its password comes from.
   *
   * @default PostgresCredentials.expectSecret(): user 'postgres', password under key
   * 'POSTGRES_PASSWORD' of the Secret named `secretName`, created outside cdk8s
   */
  readonly credentials?: PostgresCredentials;

  /**
   * Labels added to every object this construct renders and to its pods.
   *
   * @default - none besides the selector labels and the chart's labels
   */
  readonly labels?: { [key: string]: string };

  /**
   * Labels that select this database's pods (StatefulSet selector, Service selector).
   *
   * They are immutable once the StatefulSet exists.
   *
   * @default - `app.kubernetes.io/name: postgresql` and `app.kubernetes.io/instance: <unique value
   * derived from the construct path>`, so that two instances never select each other's pods
   */
  readonly selectorLabels?: { [key: string]: string };

  /**
   * The cluster's DNS domain, used for the DNS name attributes.
   *
   * @default 'cluster.local'
   */
  readonly clusterDomain?: string;

  /**
   * PostgreSQL major version of the image, when its tag does not start with it
   * (a digest alone, or a custom tag).
   *
   * @default - read from the image tag (`18.4` is 18)
   */
  readonly postgresMajorVersion?: number;

  /**
   * Name of the database created when the data directory is initialised (`POSTGRES_DB`).
   *
   * @default - the superuser's name, as in the image
   */
  readonly databaseName?: string;

  /**
   * PostgreSQL server parameters, passed as `-c name=value` arguments to `postgres`.
   *
   * @see https://www.postgresql.org/docs/current/runtime-config.html
   * @default - the image's postgresql.conf
   */
  readonly parameters?: { [name: string]: string };

  /**
   * Extra `initdb` arguments (`POSTGRES_INITDB_ARGS`), used when an empty data directory is initialised.
   *
   * @default ['--data-checksums']
   */
  readonly initdbArgs?: string[];

  /**
   * A ConfigMap of `*.sql`, `*.sql.gz` and `*.sh` files that the image runs, in name order,
   * when it initialises an empty data directory (mounted at `/docker-entrypoint-initdb.d`).
   *
   * @default - no init scripts
   */
  readonly initScripts?: kplus.IConfigMap;

  /**
   * Mount the password as a file and pass `POSTGRES_PASSWORD_FILE` instead of `POSTGRES_PASSWORD`.
   *
   * @default false
   */
  readonly passwordAsFile?: boolean;

  /**
   * Probe PostgreSQL with `pg_isready`: a startup probe (every second, for up to `startupTimeout`),
   * then readiness and liveness probes.
   *
   * @default true
   */
  readonly probes?: boolean;

  /**
   * How long the startup probe waits for PostgreSQL to accept connections (initdb, crash recovery)
   * before the kubelet restarts the container.
   *
   * @default Duration.hours(1)
   */
  readonly startupTimeout?: Duration;

  /**
   * Stop PostgreSQL with a fast shutdown (`pg_ctl stop -m fast`) in a `preStop` hook, so that it
   * disconnects clients and stops cleanly within the grace period, whatever the image's stop signal.
   *
   * @default true
   */
  readonly fastShutdown?: boolean;

  /**
   * Security contexts that meet the Pod Security Standard "restricted" profile: non-root user,
   * no privilege escalation, no capabilities, RuntimeDefault seccomp profile.
   *
   * `false` is for platforms that set these themselves (OpenShift's security context
   * constraints): only `runAsUser`, `runAsGroup` and `fsGroup` given explicitly, and
   * `readOnlyRootFilesystem`, are rendered. Without `runAsUser` the image may run as root and
   * drop to its postgres user itself; the `preStop` hook then does the same (gosu, su-exec).
   *
   * @see https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted
   * @default true
   */
  readonly restrictedSecurityContext?: boolean;

  /**
   * User the container runs as (the image's `postgres` user).
   *
   * @default 999, the official Debian-based image's postgres user; 70 when the image tag names Alpine (`18.4-alpine`)
   */
  readonly runAsUser?: number;

  /**
   * Group the container runs as.
   *
   * @default the image's postgres group: 999, or 70 when the image tag names Alpine
   */
  readonly runAsGroup?: number;

  /**
   * Group that owns the data volume, so that the non-root user can write to it.
   *
   * @default the image's postgres group: 999, or 70 when the image tag names Alpine
   */
  readonly fsGroup?: number;

  /**
   * When the kubelet changes the ownership of the data volume to `fsGroup`.
   *
   * @default kplus.FsGroupChangePolicy.ON_ROOT_MISMATCH
   */
  readonly fsGroupChangePolicy?: kplus.FsGroupChangePolicy;

  /**
   * Make the container's root filesystem read-only; the socket directory and `/tmp` get
   * their own writable emptyDir volumes.
   *
   * @default true
   */
  readonly readOnlyRootFilesystem?: boolean;

  /**
   * Mount a service account token into the pods. PostgreSQL does not talk to the Kubernetes API.
   *
   * @default false
   */
  readonly automountServiceAccountToken?: boolean;

  /**
   * Size of the memory-backed `/dev/shm`. Container runtimes give 64 MB, which parallel
   * queries outgrow ("could not resize shared memory segment"). It counts against the memory
   * limit. `Size.mebibytes(0)` keeps the runtime's default.
   *
   * @default Size.mebibytes(256)
   */
  readonly sharedMemorySize?: Size;

  /**
   * CPU and memory requests and limits of the PostgreSQL container. Replaces the default as a whole.
   *
   * @default - requests 250m CPU and 1Gi memory; memory limited to 1Gi; no CPU limit
   */
  readonly resources?: kplus.ContainerResources;

  /**
   * A PodDisruptionBudget with `maxUnavailable: 1`, so that voluntary disruptions (node drains)
   * take down one pod at a time.
   *
   * @default - true when replicas > 1
   */
  readonly podDisruptionBudget?: boolean;

  /**
   * Prefer to schedule the pods on different nodes (preferred pod anti-affinity on `kubernetes.io/hostname`).
   *
   * @default - true when replicas > 1
   */
  readonly spreadAcrossNodes?: boolean;

  /**
   * What happens to the data volumes when the StatefulSet is deleted.
   *
   * @default ClaimRetentionPolicy.RETAIN
   */
  readonly claimRetentionWhenDeleted?: ClaimRetentionPolicy;

  /**
   * What happens to the data volume of a pod removed by scaling down.
   *
   * @default ClaimRetentionPolicy.RETAIN
   */
  readonly claimRetentionWhenScaled?: ClaimRetentionPolicy;

  /**
   * Name and password of the role the standbys replicate with, when `replicas` > 1.
   *
   * Its password must differ from the superuser's entry: give another key of the same Secret
   * (the default), or another Secret. With `credentials: PostgresCredentials.fromPassword()`,
   * give `PostgresCredentials.fromPassword()` here too: both go into the construct's Secret.
   *
   * @default - PostgresCredentials.expectSecret(): user 'replicator', password under key
   * 'POSTGRES_REPLICATION_PASSWORD' of the Secret that holds the superuser password
   */
  readonly replicationCredentials?: PostgresCredentials;

  /**
   * Name of the read-write Service (pod 0, the primary), when `replicas` > 1.
   *
   * @default - `<serviceName>-rw` when serviceName is given, else generated from the construct path
   */
  readonly readWriteServiceName?: string;

  /**
   * Name of the read-only Service (every Ready pod), when `replicas` > 1.
   *
   * @default - `<serviceName>-ro` when serviceName is given, else generated from the construct path
   */
  readonly readOnlyServiceName?: string;

  /**
   * Pods allowed to connect. When set, a NetworkPolicy denies every other ingress to the
   * database pods; `allowFrom()` adds more peers later.
   *
   * @default - no NetworkPolicy: any pod that can reach the pods may try to connect
   */
  readonly allowedClients?: kplus.INetworkPolicyPeer[];
}

/**
 * PostgreSQL as a Kubernetes StatefulSet, without an operator.
 *
 * Renders a headless Service that gives every pod a stable DNS name, a StatefulSet whose
 * pods run the official `postgres` image with one persistent volume each (from a volume
 * claim template), and, when the password is supplied, the Secret holding it.
 *
 * The defaults are meant for production: the password reaches the pods through a
 * `secretKeyRef` only; `PGDATA` is a subdirectory of the mounted volume, so `initdb` never
 * meets the volume's `lost+found`; probes with `pg_isready`, a startup probe that leaves
 * crash recovery alone, a fast shutdown before the kubelet's SIGTERM, restricted security
 * contexts with a read-only root filesystem, a memory-backed `/dev/shm`, resource requests
 * and limits, claims retained when the StatefulSet goes, and, with more than one replica, a
 * PodDisruptionBudget and spreading over nodes.
 */
export class PostgresStatefulSet extends Construct implements IPostgresDatabase {
  /**
   * A database this app does not manage, known by its Service name: for wiring clients with
   * `connect()` and for `PostgresSmokeTest`.
   *
   * @param serviceName the Service clients connect to (for a `PostgresStatefulSet` with
   * replication, its read-write Service)
   */
  public static fromServiceName(scope: Construct, id: string, serviceName: string, options: PostgresDatabaseImportOptions): IPostgresDatabase {
    return new ImportedPostgresDatabase(scope, id, serviceName, options);
  }

  /** Name of the StatefulSet; pods are `<statefulSetName>-<ordinal>`. */
  public readonly statefulSetName: string;

  /** Name of the headless Service. */
  public readonly serviceName: string;

  /** Name of the Secret holding the superuser password. */
  public readonly secretName: string;

  /** Key of the superuser password in `secretName`. */
  public readonly passwordKey: string;

  /** Name of the superuser role. */
  public readonly username: string;

  /** Name of the database created at initialisation. */
  public readonly databaseName: string;

  /** Number of pods. */
  public readonly replicas: number;

  /** The PostgreSQL image. */
  public readonly image: string;

  /**
   * PostgreSQL major version of the image.
   *
   * @default - unknown: the image tag does not tell and `postgresMajorVersion` was not given
   */
  public readonly postgresMajorVersion?: number;

  /** TCP port PostgreSQL listens on. */
  public readonly port: number;

  /** Storage requested for each pod. */
  public readonly storage: Size;

  /** Where the data volume is mounted. */
  public readonly dataMountPath: string;

  /** The data directory (`PGDATA`). */
  public readonly pgData: string;

  /** Grace period given to PostgreSQL to stop. */
  public readonly terminationGracePeriod: Duration;

  /**
   * Namespace of the objects.
   *
   * @default - none: the namespace `kubectl` applies them to
   */
  public readonly namespace?: string;

  /** The cluster's DNS domain. */
  public readonly clusterDomain: string;

  /**
   * DNS name of the headless Service, `<service>.<namespace>.svc.<clusterDomain>`.
   *
   * When no namespace is set (neither on the chart nor in `metadata`), it is the Service name
   * alone, which resolves from pods in the same namespace.
   */
  public readonly serviceDnsName: string;

  /**
   * DNS name for reading and writing: the read-write Service with replication, the headless
   * Service with one replica.
   */
  public readonly host: string;

  /** DNS name for read-only connections: the read-only Service with replication, else `host`. */
  public readonly readOnlyHost: string;

  /**
   * Name of the read-write Service, which selects pod 0 (the primary).
   *
   * @default - none: one replica, no replication
   */
  public readonly readWriteServiceName?: string;

  /**
   * DNS name of the read-write Service.
   *
   * @default - none: one replica, no replication
   */
  public readonly readWriteServiceDnsName?: string;

  /**
   * Name of the read-only Service, which selects every Ready pod (the primary included).
   *
   * @default - none: one replica, no replication
   */
  public readonly readOnlyServiceName?: string;

  /**
   * DNS name of the read-only Service.
   *
   * @default - none: one replica, no replication
   */
  public readonly readOnlyServiceDnsName?: string;

  /**
   * Name of the replication role.
   *
   * @default - none: one replica, no replication
   */
  public readonly replicationUsername?: string;

  /** The StatefulSet. */
  public readonly statefulSet: ApiObject;

  /** The headless Service. */
  public readonly service: ApiObject;

  /**
   * The Secret holding the superuser password, when this construct renders it.
   *
   * @default - none: the Secret is created outside this construct
   */
  public readonly secret?: ApiObject;

  /**
   * The PodDisruptionBudget.
   *
   * @default - none (see the `podDisruptionBudget` prop)
   */
  public readonly podDisruptionBudget?: ApiObject;

  /**
   * The NetworkPolicy that admits only the allowed clients.
   *
   * @default - none (see the `allowedClients` prop)
   */
  public readonly networkPolicy?: kplus.NetworkPolicy;

  private readonly _selectorLabels: { [key: string]: string };
  private readonly replication?: { username: string; passwordKey: string; secretName: string; authMethod: string; scripts: ApiObject };

  constructor(scope: Construct, id: string, props: PostgresStatefulSetProps = {}) {
    super(scope, id);
    const problems = new checks.Problems(this, 'PostgresStatefulSet');

    const credentials = props.credentials ?? PostgresCredentials.expectSecret();
    this.replicas = props.replicas ?? 1;
    this.image = props.image ?? DEFAULT_IMAGE;
    this.port = props.port ?? 5432;
    this.storage = props.storage ?? Size.gibibytes(10);
    this.terminationGracePeriod = props.terminationGracePeriod ?? Duration.seconds(60);
    this.clusterDomain = props.clusterDomain ?? 'cluster.local';
    this.namespace = props.metadata?.namespace ?? Chart.of(this).namespace;
    this.username = credentials.username ?? 'postgres';
    this.passwordKey = credentials.passwordKey ?? 'POSTGRES_PASSWORD';
    this.databaseName = props.databaseName ?? this.username;

    const image = parseImage(this.image);
    const tagMajor = typeof image === 'string' ? undefined : image.majorVersion;
    this.postgresMajorVersion = props.postgresMajorVersion ?? tagMajor;
    const layout = defaultLayout(this.postgresMajorVersion, props.dataMountPath);
    this.dataMountPath = layout.dataMountPath;
    this.pgData = props.pgData ?? layout.pgData;

    if (props.statefulSetName !== undefined && props.metadata?.name !== undefined && props.statefulSetName !== props.metadata.name) {
      problems.add('metadata.name', props.metadata.name, `differs from statefulSetName '${props.statefulSetName}'`, 'set only one of them');
    }
    this.statefulSetName = props.statefulSetName ?? props.metadata?.name ?? Names.toDnsLabel(this, { maxLen: 52 });
    this.serviceName = props.serviceName ?? Names.toDnsLabel(this, { extra: ['svc'] });
    if (credentials.referencesSecret && props.secretName !== undefined) {
      problems.add('secretName', props.secretName,
        `conflicts with credentials, which reference Secret '${credentials.secretName}': the password would come from two places`,
        'remove secretName, or use PostgresCredentials.fromPassword()/expectSecret() so that the construct owns the Secret named secretName');
    }
    this.secretName = credentials.secretName ?? props.secretName ?? Names.toDnsLabel(this, { extra: ['secret'] });

    this._selectorLabels = props.selectorLabels ?? {
      'app.kubernetes.io/name': 'postgresql',
      'app.kubernetes.io/instance': Names.toLabelValue(this),
    };
    const labels = { ...props.labels, ...this._selectorLabels };
    const namespace = props.metadata?.namespace;

    this.serviceDnsName = this.namespace !== undefined
      ? `${this.serviceName}.${this.namespace}.svc.${this.clusterDomain}`
      : this.serviceName;

    const resources = props.resources ?? DEFAULT_RESOURCES;
    const sharedMemory = props.sharedMemorySize ?? Size.mebibytes(256);
    const multiple = this.replicas > 1;
    const dnsName = (service: string) => this.namespace !== undefined ? `${service}.${this.namespace}.svc.${this.clusterDomain}` : service;
    const replicationCredentials = props.replicationCredentials ?? PostgresCredentials.expectSecret();
    const replicationUser = replicationCredentials.username ?? 'replicator';
    const replicationKey = replicationCredentials.passwordKey ?? 'POSTGRES_REPLICATION_PASSWORD';
    if (multiple) {
      this.replicationUsername = replicationUser;
      this.readWriteServiceName = props.readWriteServiceName
        ?? (props.serviceName !== undefined ? `${props.serviceName}-rw` : Names.toDnsLabel(this, { extra: ['rw'] }));
      this.readOnlyServiceName = props.readOnlyServiceName
        ?? (props.serviceName !== undefined ? `${props.serviceName}-ro` : Names.toDnsLabel(this, { extra: ['ro'] }));
      this.readWriteServiceDnsName = dnsName(this.readWriteServiceName);
      this.readOnlyServiceDnsName = dnsName(this.readOnlyServiceName);
    }
    this.host = this.readWriteServiceDnsName ?? this.serviceDnsName;
    this.readOnlyHost = this.readOnlyServiceDnsName ?? this.host;

    // Every check runs, so that all problems of this construct are reported together.
    problems.check('replicas', this.replicas,
      Number.isInteger(this.replicas) && this.replicas >= 1 ? undefined : 'must be a positive integer',
      'set replicas to 1 or more');
    problems.check('image', this.image, typeof image === 'string' ? image : undefined,
      `pin the image to a release, e.g. '${DEFAULT_IMAGE}', or to a digest ('postgres@sha256:...')`);
    this.checkMajorVersion(problems, props, tagMajor);
    problems.check('port', this.port, checks.tcpPort(this.port), 'use a port from 1 to 65535, usually 5432');
    problems.check('storage', this.storage, kibibytes(this.storage) > 0 ? undefined : 'must be larger than zero',
      'request at least Size.mebibytes(1); a useful database needs gibibytes');
    this.checkDataPaths(problems, props);
    this.checkNames(problems, props, credentials);
    problems.check('terminationGracePeriod', this.terminationGracePeriod, wholeSeconds(this.terminationGracePeriod, 1),
      'give PostgreSQL time to stop cleanly, e.g. Duration.seconds(60)');
    if (props.startupTimeout !== undefined) {
      problems.check('startupTimeout', props.startupTimeout, wholeSeconds(props.startupTimeout, 1),
        'allow for initdb and crash recovery, e.g. Duration.minutes(30)');
    }
    problems.check('labels', props.labels, props.labels ? checks.labels(props.labels) : undefined, 'use valid Kubernetes label keys and values');
    problems.check('selectorLabels', props.selectorLabels,
      props.selectorLabels === undefined ? undefined
        : Object.keys(props.selectorLabels).length === 0 ? 'must not be empty' : checks.labels(props.selectorLabels),
      'give at least one valid label that no other workload in the namespace uses');
    problems.check('clusterDomain', this.clusterDomain, checks.dns1123Subdomain(this.clusterDomain), 'use the cluster\'s DNS domain, usually cluster.local');
    if (credentials.rendersSecret && !credentials._password) {
      problems.add('credentials', 'PostgresCredentials.fromPassword(\'\')', 'has an empty password',
        'supply a non-empty password, or use PostgresCredentials.expectSecret() and create the Secret with kubectl');
    }
    checkParameters(problems, props.parameters ?? {});
    for (const arg of props.initdbArgs ?? []) {
      problems.check('initdbArgs', arg, /^[A-Za-z0-9=_.:/,+-]+$/.test(arg) ? undefined
        : 'has an argument with characters the image would interpret (it evaluates POSTGRES_INITDB_ARGS in a shell)',
      'use plain initdb options such as --data-checksums or --locale-provider=icu');
    }
    for (const [prop, value] of [['runAsUser', props.runAsUser], ['runAsGroup', props.runAsGroup], ['fsGroup', props.fsGroup]] as const) {
      if (value !== undefined) {
        problems.check(prop, value, Number.isInteger(value) && value >= 1 && value < 2 ** 31 ? undefined : 'must be a non-root numeric id (1 or more)',
          'use the id of the image\'s postgres user: 999 for Debian-based images, 70 for Alpine-based ones');
      }
    }
    checkResources(problems, resources, sharedMemory);
    this.checkReplication(problems, props, credentials, replicationCredentials);

    if (credentials.rendersSecret) {
      this.secret = new k8s.KubeSecret(this, 'Secret', {
        metadata: { name: this.secretName, namespace, labels },
        type: 'Opaque',
        stringData: {
          [this.passwordKey]: credentials._password ?? '',
          ...(multiple && replicationCredentials.rendersSecret ? { [replicationKey]: replicationCredentials._password ?? '' } : {}),
        },
      });
    }

    const servicePorts = [{ name: props.portName ?? 'postgresql', port: this.port }];
    this.service = new k8s.KubeService(this, 'Service', {
      metadata: { name: this.serviceName, namespace, labels },
      spec: {
        clusterIp: 'None',
        // with replication, standbys must find pod 0 by name before any pod is Ready
        publishNotReadyAddresses: multiple ? true : undefined,
        selector: this._selectorLabels,
        ports: servicePorts,
      },
    });

    if (multiple) {
      const authMethod = replicationAuthMethod(this.postgresMajorVersion, props.parameters);
      const scripts = new k8s.KubeConfigMap(this, 'ReplicationScripts', {
        metadata: { name: `${this.statefulSetName}-replication`, namespace, labels },
        data: {
          [replication.INIT_SCRIPT]: replication.initContainerScript(authMethod),
          [replication.INITDB_SCRIPT]: replication.initdbScript(authMethod),
          [replication.READINESS_SCRIPT]: replication.readinessScript(),
        },
      });
      this.replication = {
        username: replicationUser,
        passwordKey: replicationKey,
        secretName: replicationCredentials.secretName ?? this.secretName,
        authMethod,
        scripts,
      };
      new k8s.KubeService(this, 'ReadWriteService', {
        metadata: { name: this.readWriteServiceName, namespace, labels },
        spec: {
          selector: { ...this._selectorLabels, 'statefulset.kubernetes.io/pod-name': `${this.statefulSetName}-0` },
          ports: servicePorts,
        },
      });
      new k8s.KubeService(this, 'ReadOnlyService', {
        metadata: { name: this.readOnlyServiceName, namespace, labels },
        spec: { selector: this._selectorLabels, ports: servicePorts },
      });
    }

    this.statefulSet = new k8s.KubeStatefulSet(this, 'Resource', {
      metadata: {
        ...props.metadata,
        name: this.statefulSetName,
        labels: { ...props.metadata?.labels, ...labels },
      },
      spec: {
        serviceName: this.serviceName,
        replicas: this.replicas,
        selector: { matchLabels: this._selectorLabels },
        persistentVolumeClaimRetentionPolicy: {
          whenDeleted: props.claimRetentionWhenDeleted ?? ClaimRetentionPolicy.RETAIN,
          whenScaled: props.claimRetentionWhenScaled ?? ClaimRetentionPolicy.RETAIN,
        },
        template: {
          metadata: { labels },
          spec: this.renderPodSpec(props, resources, sharedMemory, multiple),
        },
        volumeClaimTemplates: [{
          metadata: { name: DATA_VOLUME, labels: this._selectorLabels },
          spec: {
            accessModes: props.accessModes ?? [kplus.PersistentVolumeAccessMode.READ_WRITE_ONCE],
            storageClassName: props.storageClassName,
            resources: { requests: { storage: k8s.Quantity.fromString(this.storage.asString()) } },
          },
        }],
      },
    });
    this.statefulSet.addDependency(this.service);
    if (this.secret) {
      this.statefulSet.addDependency(this.secret);
    }
    if (this.replication) {
      this.statefulSet.addDependency(this.replication.scripts);
    }

    if (props.podDisruptionBudget ?? multiple) {
      this.podDisruptionBudget = new k8s.KubePodDisruptionBudget(this, 'DisruptionBudget', {
        metadata: { namespace, labels },
        spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: this._selectorLabels } },
      });
    }

    if (props.allowedClients !== undefined) {
      this.networkPolicy = new kplus.NetworkPolicy(this, 'NetworkPolicy', {
        metadata: { namespace, labels },
        selector: this.pods,
        ingress: { default: kplus.NetworkPolicyTrafficDefault.DENY },
      });
      if (multiple) {
        this.allowFrom(this.pods); // standbys stream from the primary
      }
      for (const peer of props.allowedClients) {
        this.allowFrom(peer);
      }
    }
  }

  /** Labels that select this database's pods (a copy). */
  public get selectorLabels(): { [key: string]: string } {
    return { ...this._selectorLabels };
  }

  /**
   * DNS names of the pods, `<statefulSetName>-<ordinal>.<serviceDnsName>`, in ordinal order.
   */
  public get podDnsNames(): string[] {
    return Array.from({ length: Math.max(0, Math.floor(this.replicas)) },
      (_, ordinal) => `${this.statefulSetName}-${ordinal}.${this.serviceDnsName}`);
  }

  /**
   * Admits a peer (pods, a namespace, a cdk8s-plus workload) to the PostgreSQL port.
   *
   * Only meaningful with a NetworkPolicy (`allowedClients`); without one every pod may already connect.
   *
   * @returns whether a NetworkPolicy rule was added
   */
  public allowFrom(peer: kplus.INetworkPolicyPeer): boolean {
    if (!this.networkPolicy) {
      return false;
    }
    this.networkPolicy.addIngressRule(peer, [kplus.NetworkPolicyPort.tcp(this.port)]);
    return true;
  }

  /**
   * Wires a workload to this database: sets `PGHOST`, `PGPORT`, `PGDATABASE`, `PGUSER`,
   * `PGPASSWORD` (by `secretKeyRef`) and `DATABASE_URL` (without the password) on its containers,
   * and admits it to the NetworkPolicy when there is one (`allowedClients`).
   */
  public connect(workload: kplus.AbstractPod, options: PostgresConnectOptions = {}): void {
    connectWorkload(this, workload, options);
  }

  /** The pods of this database, as a cdk8s-plus selector. */
  private get pods(): kplus.Pods {
    const existing = this.node.tryFindChild('Pods') as kplus.Pods | undefined;
    return existing ?? kplus.Pods.select(this, 'Pods', { labels: this._selectorLabels });
  }

  private renderPodSpec(props: PostgresStatefulSetProps, resources: kplus.ContainerResources, sharedMemory: Size, multiple: boolean): k8s.PodSpec {
    const restricted = props.restrictedSecurityContext ?? true;
    const imageUid = postgresUserId(this.image);
    const readOnlyRoot = props.readOnlyRootFilesystem ?? true;
    const passwordAsFile = props.passwordAsFile ?? false;
    const volumes: k8s.Volume[] = [];
    const dataMount: k8s.VolumeMount = { name: DATA_VOLUME, mountPath: this.dataMountPath };
    const mounts: k8s.VolumeMount[] = [dataMount];
    if (readOnlyRoot) {
      volumes.push({ name: 'run', emptyDir: {} }, { name: 'tmp', emptyDir: {} });
      mounts.push({ name: 'run', mountPath: SOCKET_DIR }, { name: 'tmp', mountPath: '/tmp' });
    }
    if (kibibytes(sharedMemory) > 0) {
      volumes.push({ name: 'shm', emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString(sharedMemory.asString()) } });
      mounts.push({ name: 'shm', mountPath: '/dev/shm' });
    }
    if (passwordAsFile) {
      volumes.push({
        name: 'password',
        secret: { secretName: this.secretName, items: [{ key: this.passwordKey, path: 'password' }], defaultMode: 0o440 },
      });
      mounts.push({ name: 'password', mountPath: PASSWORD_DIR, readOnly: true });
    }
    const scriptsMount: k8s.VolumeMount = { name: 'replication', mountPath: replication.SCRIPTS_DIR, readOnly: true };
    if (this.replication) {
      volumes.push({ name: 'replication', configMap: { name: this.replication.scripts.name } });
      mounts.push(scriptsMount);
    }
    const initdbSources: k8s.VolumeProjection[] = [];
    if (this.replication) {
      initdbSources.push({
        configMap: {
          name: this.replication.scripts.name,
          items: [{ key: replication.INITDB_SCRIPT, path: replication.INITDB_SCRIPT_TARGET, mode: 0o555 }],
        },
      });
    }
    if (props.initScripts) {
      initdbSources.push({ configMap: { name: props.initScripts.name } });
    }
    if (initdbSources.length > 0) {
      volumes.push({ name: 'initdb', projected: { sources: initdbSources } });
      mounts.push({ name: 'initdb', mountPath: INITDB_DIR, readOnly: true });
    }

    const password: k8s.EnvVar = passwordAsFile
      ? { name: 'POSTGRES_PASSWORD_FILE', value: `${PASSWORD_DIR}/password` }
      : { name: 'POSTGRES_PASSWORD', valueFrom: { secretKeyRef: { name: this.secretName, key: this.passwordKey } } };
    const pgEnv: k8s.EnvVar[] = [
      { name: 'PGDATA', value: this.pgData },
      { name: 'PGPORT', value: String(this.port) },
    ];
    const replicationEnv: k8s.EnvVar[] = this.replication ? [
      { name: 'POSTGRES_REPLICATION_USER', value: this.replication.username },
      {
        name: 'POSTGRES_REPLICATION_PASSWORD',
        valueFrom: { secretKeyRef: { name: this.replication.secretName, key: this.replication.passwordKey } },
      },
    ] : [];
    const env: k8s.EnvVar[] = [
      password,
      pgEnv[0],
      { name: 'POSTGRES_USER', value: this.username },
      { name: 'POSTGRES_DB', value: this.databaseName },
      pgEnv[1],
      ...replicationEnv,
    ];
    const initdbArgs = props.initdbArgs ?? ['--data-checksums'];
    if (initdbArgs.length > 0) {
      env.push({ name: 'POSTGRES_INITDB_ARGS', value: initdbArgs.join(' ') });
    }

    const readyCommand = isReadyCommand(this.port, this.username);
    const readinessCommand = this.replication ? ['sh', `${replication.SCRIPTS_DIR}/${replication.READINESS_SCRIPT}`] : readyCommand;
    const probe = probes(readyCommand, readinessCommand, props.startupTimeout ?? Duration.hours(1));
    const withProbes = props.probes ?? true;
    const parameters = parameterArgs({ ...(this.replication ? walRetention(this.postgresMajorVersion) : {}), ...props.parameters });
    const containerSecurity = restricted ? containerSecurityContext(readOnlyRoot) : (readOnlyRoot ? { readOnlyRootFilesystem: true } : undefined);
    const renderedResources = renderResources(resources);

    const container: k8s.Container = {
      name: props.containerName ?? 'postgres',
      image: this.image,
      imagePullPolicy: props.imagePullPolicy ?? kplus.ImagePullPolicy.IF_NOT_PRESENT,
      args: parameters.length > 0 ? ['postgres', ...parameters] : undefined,
      env,
      ports: [{ name: props.portName ?? 'postgresql', containerPort: this.port }],
      resources: renderedResources,
      startupProbe: withProbes ? probe.startup : undefined,
      readinessProbe: withProbes ? probe.readiness : undefined,
      livenessProbe: withProbes ? probe.liveness : undefined,
      lifecycle: (props.fastShutdown ?? true)
        ? { preStop: { exec: { command: fastShutdownCommand(this.pgData, this.terminationGracePeriod, !restricted && props.runAsUser === undefined) } } }
        : undefined,
      securityContext: containerSecurity,
      volumeMounts: mounts,
    };

    // Clones the primary into an empty volume before a standby's PostgreSQL starts (same image,
    // user and security context as the server).
    const initContainers: k8s.Container[] | undefined = this.replication ? [{
      name: 'replication-init',
      image: this.image,
      imagePullPolicy: container.imagePullPolicy,
      command: ['sh', `${replication.SCRIPTS_DIR}/${replication.INIT_SCRIPT}`],
      env: [
        ...pgEnv,
        { name: 'PRIMARY_HOST', value: `${this.statefulSetName}-0.${this.serviceName}` },
        { name: 'PRIMARY_PORT', value: String(this.port) },
        ...replicationEnv,
      ],
      resources: renderedResources,
      securityContext: containerSecurity,
      volumeMounts: [dataMount, scriptsMount, ...(readOnlyRoot ? [{ name: 'tmp', mountPath: '/tmp' }] : [])],
    }] : undefined;

    return {
      terminationGracePeriodSeconds: this.terminationGracePeriod.toSeconds({ integral: false }),
      automountServiceAccountToken: props.automountServiceAccountToken ?? false,
      securityContext: restricted ? podSecurityContext({
        runAsUser: props.runAsUser ?? imageUid,
        runAsGroup: props.runAsGroup ?? imageUid,
        fsGroup: props.fsGroup ?? imageUid,
        fsGroupChangePolicy: props.fsGroupChangePolicy ?? kplus.FsGroupChangePolicy.ON_ROOT_MISMATCH,
      }) : explicitIds(props),
      affinity: (props.spreadAcrossNodes ?? multiple) ? {
        podAntiAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [{
            weight: 100,
            podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: this._selectorLabels } },
          }],
        },
      } : undefined,
      initContainers,
      containers: [container],
      volumes: volumes.length > 0 ? volumes : undefined,
    };
  }

  private checkReplication(problems: checks.Problems, props: PostgresStatefulSetProps,
    credentials: PostgresCredentials, replicationCredentials: PostgresCredentials): void {
    if (this.replicas <= 1 || !Number.isInteger(this.replicas)) {
      for (const prop of ['replicationCredentials', 'readWriteServiceName', 'readOnlyServiceName'] as const) {
        if (props[prop] !== undefined) {
          problems.add(prop, prop === 'replicationCredentials' ? replicationCredentials.username ?? 'replicator' : props[prop],
            `only applies to streaming replication, but replicas is ${this.replicas}`, `remove ${prop}, or set replicas to 2 or more`);
        }
      }
      return;
    }
    if (this.postgresMajorVersion !== undefined && this.postgresMajorVersion < 12) {
      problems.add('replicas', this.replicas, `needs PostgreSQL 12 or later for streaming replication (standby.signal), but the image runs ${this.postgresMajorVersion}`,
        'use a newer image, or one replica');
    }
    const replicationUser = replicationCredentials.username ?? 'replicator';
    const replicationKey = replicationCredentials.passwordKey ?? 'POSTGRES_REPLICATION_PASSWORD';
    problems.check('replicationCredentials username', replicationUser,
      replicationUser === this.username ? `must not be the superuser '${this.username}'` : roleName(replicationUser),
      'use a role of its own, such as the default \'replicator\'');
    const replicationSecret = replicationCredentials.secretName ?? this.secretName;
    if (replicationSecret === this.secretName && replicationKey === this.passwordKey) {
      problems.add('replicationCredentials passwordKey', replicationKey,
        `is the superuser's password key in Secret '${this.secretName}'`, 'give the replication password a key of its own, e.g. POSTGRES_REPLICATION_PASSWORD');
    }
    if (credentials.rendersSecret && !replicationCredentials.rendersSecret && !replicationCredentials.referencesSecret) {
      problems.add('replicationCredentials', replicationUser,
        'must supply a password too, since credentials render the Secret that would hold it',
        'set replicationCredentials: PostgresCredentials.fromPassword(<password>, { username: \'replicator\' }), or reference another Secret');
    } else if (replicationCredentials.rendersSecret && !credentials.rendersSecret) {
      problems.add('replicationCredentials', replicationUser,
        'render a password into a Secret, but credentials do not: both passwords go into the construct\'s Secret',
        'use PostgresCredentials.fromPassword() for both, or reference Secrets for both');
    } else if (replicationCredentials.rendersSecret && !replicationCredentials._password) {
      problems.add('replicationCredentials', replicationUser, 'has an empty password', 'supply a non-empty password');
    }
    const maxWalSenders = Number(props.parameters?.max_wal_senders ?? 10);
    if (this.replicas - 1 + 2 > maxWalSenders) {
      problems.add('replicas', this.replicas,
        `needs ${this.replicas - 1 + 2} WAL senders (one per standby, two for a clone), more than max_wal_senders ${maxWalSenders}`,
        `set parameters: { max_wal_senders: '${this.replicas + 1}' } or more`);
    }
    problems.check('readWriteServiceName', this.readWriteServiceName, checks.dns1035Label(this.readWriteServiceName ?? ''),
      'use lowercase letters, digits and \'-\', starting with a letter, at most 63 characters');
    problems.check('readOnlyServiceName', this.readOnlyServiceName, checks.dns1035Label(this.readOnlyServiceName ?? ''),
      'use lowercase letters, digits and \'-\', starting with a letter, at most 63 characters');
  }

  private checkMajorVersion(problems: checks.Problems, props: PostgresStatefulSetProps, tagMajor: number | undefined): void {
    const given = props.postgresMajorVersion;
    if (given !== undefined && (!Number.isInteger(given) || given < 10)) {
      problems.add('postgresMajorVersion', given, 'must be a PostgreSQL major version, 10 or later', 'give the major version of the image, e.g. 18');
    } else if (given !== undefined && tagMajor !== undefined && given !== tagMajor) {
      problems.add('postgresMajorVersion', given, `differs from the image tag, which says ${tagMajor}`, 'remove postgresMajorVersion, or fix the image');
    } else if (this.postgresMajorVersion === undefined && typeof parseImage(this.image) !== 'string') {
      problems.add('image', this.image, 'does not tell the PostgreSQL major version (its tag does not start with it)',
        'set postgresMajorVersion, e.g. 18, so that the data layout and scripts fit the image');
    }
  }

  private checkDataPaths(problems: checks.Problems, props: PostgresStatefulSetProps): void {
    const mountOk = checks.pathSegments(this.dataMountPath) !== undefined;
    problems.check('dataMountPath', this.dataMountPath, mountOk ? undefined : 'must be an absolute path without \'.\' or \'..\' segments',
      'mount the data volume at an absolute path such as /var/lib/postgresql/data');
    const example = `'${this.dataMountPath.replace(/\/+$/, '')}/pgdata'`;
    if (checks.pathSegments(this.pgData) === undefined) {
      problems.add('pgData', this.pgData, 'must be an absolute path without \'.\' or \'..\' segments', `use a subdirectory of the data mount, e.g. ${example}`);
    } else if (mountOk && checks.samePath(this.pgData, this.dataMountPath)) {
      problems.add('pgData', this.pgData, 'must not be the data mount path itself (the volume root holds lost+found, and initdb refuses a directory that is not empty)',
        `use a subdirectory, e.g. ${example}`);
    } else if (mountOk && !checks.isStrictSubdirectory(this.pgData, this.dataMountPath)) {
      problems.add('pgData', this.pgData, `must be a subdirectory of dataMountPath '${this.dataMountPath}', or the data is not on the persistent volume`,
        `use a subdirectory, e.g. ${example}${props.pgData !== undefined && props.dataMountPath === undefined ? ', or set dataMountPath' : ''}`);
    } else if (mountOk && this.postgresMajorVersion !== undefined) {
      checkLayout(problems, this.postgresMajorVersion, this.dataMountPath, this.pgData);
    }
  }

  private checkNames(problems: checks.Problems, props: PostgresStatefulSetProps, credentials: PostgresCredentials): void {
    problems.check(props.statefulSetName !== undefined || props.metadata?.name === undefined ? 'statefulSetName' : 'metadata.name',
      this.statefulSetName, checks.dns1123Label(this.statefulSetName, 52),
      'use lowercase letters, digits and \'-\', at most 52 characters (pods add \'-<ordinal>\' and a 63-character controller-revision-hash label)');
    problems.check('serviceName', this.serviceName, checks.dns1035Label(this.serviceName),
      'use lowercase letters, digits and \'-\', starting with a letter, at most 63 characters');
    problems.check(credentials.referencesSecret ? 'credentials secret name' : 'secretName', this.secretName, checks.dns1123Subdomain(this.secretName),
      'use lowercase letters, digits, \'-\' and \'.\'');
    problems.check('credentials passwordKey', this.passwordKey,
      /^[-._a-zA-Z0-9]{1,253}$/.test(this.passwordKey) ? undefined : 'must be a Secret key: letters, digits, \'-\', \'_\' and \'.\'',
      'use a key such as POSTGRES_PASSWORD');
    problems.check('credentials username', this.username, roleName(this.username), 'use a name such as postgres');
    problems.check('databaseName', this.databaseName, roleName(this.databaseName), 'use a name such as app');
    if (props.storageClassName !== undefined) {
      problems.check('storageClassName', props.storageClassName, checks.dns1123Subdomain(props.storageClassName),
        'use the name of a StorageClass (kubectl get storageclass), or leave it unset for the cluster default');
    }
    if (props.containerName !== undefined) {
      problems.check('containerName', props.containerName, checks.dns1123Label(props.containerName), 'use lowercase letters, digits and \'-\'');
    }
    if (props.portName !== undefined) {
      problems.check('portName', props.portName, checks.portName(props.portName), 'use a short name such as postgresql');
    }
    if (props.accessModes !== undefined && props.accessModes.length === 0) {
      problems.add('accessModes', props.accessModes, 'must not be empty', 'use [PersistentVolumeAccessMode.READ_WRITE_ONCE]');
    }
  }
}

/**
 * The pg_hba.conf method for replication connections: the form the role's password is stored
 * in (`password_encryption`, scram-sha-256 from PostgreSQL 14, md5 before).
 */
function replicationAuthMethod(major: number | undefined, parameters: { [name: string]: string } | undefined): string {
  return parameters?.password_encryption ?? (major !== undefined && major < 14 ? 'md5' : 'scram-sha-256');
}

/**
 * WAL the primary keeps for standbys that fall behind or restart (no replication slots, so
 * a standby that is gone for good never fills the primary's disk). Parameters override it.
 */
function walRetention(major: number | undefined): { [name: string]: string } {
  return major !== undefined && major < 13 ? { wal_keep_segments: '64' } : { wal_keep_size: '1GB' };
}

/** Checks that a duration is a whole number of seconds and at least `min` seconds. */
function wholeSeconds(duration: Duration, min: number): string | undefined {
  const seconds = duration.toSeconds({ integral: false });
  if (!Number.isInteger(seconds)) {
    return 'must be a whole number of seconds';
  }
  return seconds < min ? `must be at least ${min} second${min === 1 ? '' : 's'}` : undefined;
}

/** PostgreSQL role and database names that need no quoting anywhere. */
function roleName(value: string): string | undefined {
  return /^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(value) ? undefined
    : 'must be a PostgreSQL name of letters, digits and \'_\' (at most 63), not starting with a digit';
}

/**
 * Without the restricted profile, the ids the caller gives explicitly (nothing else: a platform
 * such as OpenShift assigns them, or the image runs as root and drops to postgres itself).
 */
function explicitIds(props: PostgresStatefulSetProps): k8s.PodSecurityContext | undefined {
  const ids = {
    runAsUser: props.runAsUser,
    runAsGroup: props.runAsGroup,
    fsGroup: props.fsGroup,
    fsGroupChangePolicy: props.fsGroup !== undefined ? props.fsGroupChangePolicy ?? kplus.FsGroupChangePolicy.ON_ROOT_MISMATCH : undefined,
  };
  return Object.values(ids).some((v) => v !== undefined) ? ids : undefined;
}

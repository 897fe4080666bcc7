import { ApiObject, ApiObjectMetadata, Chart, Duration, Names, Size, SizeRoundingBehavior } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import * as checks from './checks';
import { PostgresCredentials } from './credentials';
import { parseImage } from './image';

/** The image used when `image` is not given: a current, supported major, pinned to a minor release. */
const DEFAULT_IMAGE = 'postgres:18.4';
const DATA_VOLUME = 'data';

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
}

/**
 * PostgreSQL as a Kubernetes StatefulSet, without an operator.
 *
 * Renders a headless Service that gives every pod a stable DNS name, a StatefulSet whose
 * pods run the official `postgres` image with one persistent volume each (from a volume
 * claim template), and, when the password is supplied, the Secret holding it.
 *
 * Pods receive the superuser password through a `secretKeyRef` only. `PGDATA` is a
 * subdirectory of the mounted volume, so `initdb` never meets the volume's `lost+found`.
 */
export class PostgresStatefulSet extends Construct {
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

  /** Number of pods. */
  public readonly replicas: number;

  /** The PostgreSQL image. */
  public readonly image: string;

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

  private readonly _selectorLabels: { [key: string]: string };

  constructor(scope: Construct, id: string, props: PostgresStatefulSetProps = {}) {
    super(scope, id);
    const problems = new checks.Problems('PostgresStatefulSet');
    this.node.addValidation({ validate: () => problems.items });

    const credentials = props.credentials ?? PostgresCredentials.expectSecret();
    this.replicas = props.replicas ?? 1;
    this.image = props.image ?? DEFAULT_IMAGE;
    this.port = props.port ?? 5432;
    this.storage = props.storage ?? Size.gibibytes(10);
    this.terminationGracePeriod = props.terminationGracePeriod ?? Duration.seconds(60);
    this.clusterDomain = props.clusterDomain ?? 'cluster.local';
    this.namespace = props.metadata?.namespace ?? Chart.of(this).namespace;
    this.username = credentials.username;
    this.passwordKey = credentials.passwordKey;

    const image = parseImage(this.image);
    const major = typeof image === 'string' ? undefined : image.majorVersion;
    const imageLayout = major !== undefined && major >= 18;
    this.dataMountPath = props.dataMountPath ?? (imageLayout ? '/var/lib/postgresql' : '/var/lib/postgresql/data');
    this.pgData = props.pgData ?? (imageLayout && props.dataMountPath === undefined
      ? `/var/lib/postgresql/${major}/docker`
      : `${this.dataMountPath.replace(/\/+$/, '')}/pgdata`);

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

    this.serviceDnsName = this.namespace !== undefined
      ? `${this.serviceName}.${this.namespace}.svc.${this.clusterDomain}`
      : this.serviceName;

    // Every check runs, so that all problems of this construct are reported together.
    problems.check('replicas', this.replicas,
      Number.isInteger(this.replicas) && this.replicas >= 1 ? undefined : 'must be a positive integer',
      'set replicas to 1 or more');
    problems.check('image', this.image, typeof image === 'string' ? image : undefined,
      `pin the image to a release, e.g. '${DEFAULT_IMAGE}', or to a digest ('postgres@sha256:...')`);
    problems.check('port', this.port, checks.tcpPort(this.port), 'use a port from 1 to 65535, usually 5432');
    problems.check('storage', this.storage,
      this.storage.toKibibytes({ rounding: SizeRoundingBehavior.NONE }) > 0 ? undefined : 'must be larger than zero',
      'request at least Size.mebibytes(1); a useful database needs gibibytes');
    this.checkDataPaths(problems, props);
    this.checkNames(problems, props, credentials);
    problems.check('terminationGracePeriod', this.terminationGracePeriod, wholeSeconds(this.terminationGracePeriod, 1),
      'give PostgreSQL time to stop cleanly, e.g. Duration.seconds(60)');
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

    if (credentials.rendersSecret) {
      this.secret = new k8s.KubeSecret(this, 'Secret', {
        metadata: { name: this.secretName, namespace: props.metadata?.namespace, labels },
        type: 'Opaque',
        stringData: { [this.passwordKey]: credentials._password ?? '' },
      });
    }

    this.service = new k8s.KubeService(this, 'Service', {
      metadata: { name: this.serviceName, namespace: props.metadata?.namespace, labels },
      spec: {
        clusterIp: 'None',
        selector: this._selectorLabels,
        ports: [{ name: props.portName ?? 'postgresql', port: this.port }],
      },
    });

    const env: k8s.EnvVar[] = [
      { name: 'POSTGRES_PASSWORD', valueFrom: { secretKeyRef: { name: this.secretName, key: this.passwordKey } } },
      { name: 'PGDATA', value: this.pgData },
      { name: 'POSTGRES_USER', value: this.username },
      { name: 'PGPORT', value: String(this.port) },
    ];

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
        template: {
          metadata: { labels },
          spec: {
            terminationGracePeriodSeconds: this.terminationGracePeriod.toSeconds({ integral: false }),
            containers: [{
              name: props.containerName ?? 'postgres',
              image: this.image,
              imagePullPolicy: props.imagePullPolicy ?? kplus.ImagePullPolicy.IF_NOT_PRESENT,
              env,
              ports: [{ name: props.portName ?? 'postgresql', containerPort: this.port }],
              volumeMounts: [{ name: DATA_VOLUME, mountPath: this.dataMountPath }],
            }],
          },
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

  private checkDataPaths(problems: checks.Problems, props: PostgresStatefulSetProps): void {
    const mountOk = checks.pathSegments(this.dataMountPath) !== undefined;
    problems.check('dataMountPath', this.dataMountPath, mountOk ? undefined : 'must be an absolute path without \'.\' or \'..\' segments',
      'mount the data volume at an absolute path such as /var/lib/postgresql/data');
    if (checks.pathSegments(this.pgData) === undefined) {
      problems.add('pgData', this.pgData, 'must be an absolute path without \'.\' or \'..\' segments',
        `use a subdirectory of the data mount, e.g. '${this.dataMountPath.replace(/\/+$/, '')}/pgdata'`);
    } else if (mountOk && checks.samePath(this.pgData, this.dataMountPath)) {
      problems.add('pgData', this.pgData, `must not be the data mount path itself (the volume root holds lost+found, and initdb refuses a directory that is not empty)`,
        `use a subdirectory, e.g. '${this.dataMountPath.replace(/\/+$/, '')}/pgdata'`);
    } else if (mountOk && !checks.isStrictSubdirectory(this.pgData, this.dataMountPath)) {
      problems.add('pgData', this.pgData, `must be a subdirectory of dataMountPath '${this.dataMountPath}', or the data is not on the persistent volume`,
        `use a subdirectory, e.g. '${this.dataMountPath.replace(/\/+$/, '')}/pgdata'${props.pgData !== undefined && props.dataMountPath === undefined ? ', or set dataMountPath' : ''}`);
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
    problems.check('credentials username', this.username,
      /^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(this.username) ? undefined : 'must be a PostgreSQL role name of letters, digits and \'_\' (at most 63), not starting with a digit',
      'use a name such as postgres');
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

/** Checks that a duration is a whole number of seconds and at least `min` seconds. */
function wholeSeconds(duration: Duration, min: number): string | undefined {
  const seconds = duration.toSeconds({ integral: false });
  if (!Number.isInteger(seconds)) {
    return 'must be a whole number of seconds';
  }
  return seconds < min ? `must be at least ${min} second${min === 1 ? '' : 's'}` : undefined;
}

import { ApiObject, Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct, IConstruct } from 'constructs';
import { PostgresBackup } from './backups';
import { connectWorkload } from './connection';
import { IPostgresDatabase, PostgresConnectOptions, PostgresDatabaseImportOptions } from './database';
import { podDnsName } from './dns';
import { ImportedPostgresDatabase } from './imported-database';
import { instanceNeeds } from './instance-prerequisites';
import { claimNames, NamedObject } from './name-claims';
import { Problems } from './problems';
import { PostgresPrerequisite } from './prerequisite';
import { addNeeds, prerequisitesOfConstruct } from './prerequisite-registry';
import { PostgresStatefulSetProps } from './props';
import { renderDisruptionBudget } from './render/disruption-budget';
import { admitClient, renderNetworkPolicy } from './render/network-policy';
import { PodContribution, renderPodTemplate } from './render/pod-template';
import { renderSecret } from './render/secret';
import { renderHeadlessService } from './render/services';
import { renderStatefulSet } from './render/stateful-set';
import { dataGuardContribution } from './data-guard';
import { renderScripts } from './render/scripts';
import { Replication, replicationContribution } from './replication';
import { upgradeContribution } from './upgrade';
import { InstanceSpec, resolve } from './resolve';
import { tlsContribution } from './tls';
import { Restore } from './restore';
import { validate } from './validate';

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

  // TLS

  /**
   * Name of the Secret with the server certificate and key (`tls.crt`, `tls.key`).
   *
   * @default - none: no TLS
   */
  public readonly tlsSecretName?: string;

  /**
   * Name of the Secret with the CA certificate clients and standbys verify the server with.
   *
   * @default - none: no TLS
   */
  public readonly tlsCaSecretName?: string;

  /**
   * Key of the CA certificate in `tlsCaSecretName`.
   *
   * @default - none: no TLS
   */
  public readonly tlsCaKey?: string;

  /** Whether connections from other pods without TLS are refused. */
  public readonly tlsRequired: boolean;

  /**
   * The scheduled backups: the CronJob, its claim and its scripts.
   *
   * @default - none (see the `backup` prop)
   */
  public readonly backup?: PostgresBackup;

  /** The resolved spec every attribute and object comes from. */
  private readonly spec: InstanceSpec;

  constructor(scope: Construct, id: string, props: PostgresStatefulSetProps = {}) {
    super(scope, id);

    // resolve: every default, once
    const spec = resolve(this, props);
    this.spec = spec;

    // validate: every problem of every construct is reported together at synth
    const problems = Problems.of(this, 'PostgresStatefulSet');
    validate(spec, props, problems);
    claimNames(this, problems, spec.effectiveNamespace, namedObjects(spec));
    addNeeds(this, () => instanceNeeds(this, spec));

    // render, in manifest order: what the StatefulSet needs comes before it
    this.secret = renderSecret(this, spec);
    const restore = spec.restore ? new Restore(this, 'Restore', spec, spec.restore) : undefined;
    this.backup = spec.backup ? PostgresBackup._render(this, spec, spec.backup) : undefined;
    const replication = replicationContribution(spec);
    const contributions: PodContribution[] = [
      ...(restore ? [restore.podContribution()] : []),
      upgradeContribution(spec),
      dataGuardContribution(spec),
      ...(spec.tls ? [tlsContribution(this, spec, spec.tls, [replication])] : []), // its readiness wraps replication's
      replication,
      ...(this.backup ? [this.backup._podContribution()] : []),
    ];
    renderScripts(this, spec, contributions);
    this.service = renderHeadlessService(this, spec);
    if (spec.replication.services) {
      new Replication(this, 'Replication', spec, spec.replication.services);
    }
    this.statefulSet = renderStatefulSet(this, spec, renderPodTemplate(spec, contributions));
    this.podDisruptionBudget = renderDisruptionBudget(this, spec);
    this.networkPolicy = renderNetworkPolicy(this, spec);
    for (const peer of spec.allowedClients ?? []) {
      this.allowFrom(peer);
    }
    if (this.backup && this.networkPolicy) {
      this.allowFrom(this.backup._jobPods()); // the backup Jobs connect to the pods
    }

    // attributes
    this.statefulSetName = spec.names.statefulSet;
    this.serviceName = spec.names.service;
    this.secretName = spec.superuser.secretName;
    this.passwordKey = spec.superuser.passwordKey;
    this.username = spec.superuser.username;
    this.databaseName = spec.databaseName;
    this.replicas = spec.replicas;
    this.image = spec.image.reference;
    this.postgresMajorVersion = spec.image.major;
    this.port = spec.port;
    this.storage = spec.storage.size;
    this.dataMountPath = spec.storage.mountPath;
    this.pgData = spec.storage.pgData;
    this.terminationGracePeriod = spec.gracePeriod;
    this.namespace = spec.effectiveNamespace;
    this.clusterDomain = spec.dns.clusterDomain;
    this.serviceDnsName = spec.dns.service;
    this.host = spec.dns.host;
    this.readOnlyHost = spec.dns.readOnlyHost;
    this.readWriteServiceName = spec.replication.services?.readWrite;
    this.readWriteServiceDnsName = spec.replication.services?.readWriteDnsName;
    this.readOnlyServiceName = spec.replication.services?.readOnly;
    this.readOnlyServiceDnsName = spec.replication.services?.readOnlyDnsName;
    this.replicationUsername = spec.replication.credentials.username;
    this.tlsSecretName = spec.tls?.secret.name;
    this.tlsCaSecretName = spec.tls?.caSecret.name;
    this.tlsCaKey = spec.tls?.caKey;
    this.tlsRequired = spec.tls?.required ?? false;
  }

  /** Labels that select this database's pods (a copy). */
  public get selectorLabels(): { [key: string]: string } {
    return { ...this.spec.selectorLabels };
  }

  /**
   * DNS names of the pods, `<statefulSetName>-<ordinal>.<serviceDnsName>`, in ordinal order.
   */
  public get podDnsNames(): string[] {
    return Array.from({ length: Number.isInteger(this.replicas) ? Math.max(0, this.replicas) : 0 },
      (_, ordinal) => podDnsName(this.statefulSetName, ordinal, this.serviceDnsName));
  }

  /**
   * What must exist in the cluster before the first `kubectl apply`, which the manifests refer
   * to but do not contain: the Secret with the passwords and the keys it must hold (unless
   * `PostgresCredentials.fromPassword()` renders it), the Secrets of workloads connected from
   * another namespace, an init scripts ConfigMap made elsewhere, the storage class. Each comes
   * with the `kubectl` command that creates it, with placeholders for the passwords.
   *
   * `PostgresSynth.prerequisitesOf(app)` lists them for a whole app, without what the app
   * renders itself; `PostgresSynth.synthOrReport(app)` prints them after a synth.
   */
  public get prerequisites(): PostgresPrerequisite[] {
    return prerequisitesOfConstruct(this);
  }

  /**
   * Admits a peer to the PostgreSQL port: a workload of any cdk8s-plus major or imported class
   * (`KubeDeployment`, ...) by the selector of its pods, read at synth, or pods or namespaces
   * selected with cdk8s-plus (`Pods.select()`, `Namespaces.select()`).
   *
   * Only meaningful with a NetworkPolicy (`allowedClients`); without one every pod may already connect.
   *
   * @returns whether a NetworkPolicy rule was added
   */
  public allowFrom(peer: IConstruct): boolean {
    if (!this.networkPolicy) {
      return false;
    }
    admitClient(this, this.networkPolicy, this.spec, peer);
    return true;
  }

  /**
   * Wires a workload to this database: sets `PGHOST`, `PGPORT`, `PGDATABASE`, `PGUSER`,
   * `PGPASSWORD` (by `secretKeyRef`) and `DATABASE_URL` (without the password) on the containers
   * of its pod template, and admits it to the NetworkPolicy when there is one (`allowedClients`).
   * With TLS, it mounts the CA certificate and adds `PGSSLMODE=verify-full` and `PGSSLROOTCERT`
   * (in `DATABASE_URL` too).
   *
   * The workload is a Deployment, StatefulSet, DaemonSet, Job, CronJob or Pod of any cdk8s-plus
   * major, an object of the app's own `cdk8s import` (`KubeDeployment`, `KubeJob`, `KubePod`, ...),
   * or any construct whose default child is one; its pod template is read at synth.
   */
  public connect(workload: IConstruct, options: PostgresConnectOptions = {}): void {
    connectWorkload(this, workload, options);
  }
}

/** The objects an instance writes under names of its own, and the props the names come from. */
function namedObjects(spec: InstanceSpec): NamedObject[] {
  const objects: NamedObject[] = [
    { kind: 'StatefulSet', name: spec.names.statefulSet, prop: 'statefulSetName' },
    { kind: 'Service', name: spec.names.service, prop: 'serviceName' },
  ];
  if (spec.superuser.rendered) {
    objects.push({ kind: 'Secret', name: spec.superuser.secretName, prop: 'secretName' });
  }
  objects.push({ kind: 'ConfigMap', name: spec.names.scripts, prop: 'statefulSetName' });
  const services = spec.replication.services;
  if (services) {
    objects.push(
      { kind: 'Service', name: services.readWrite, prop: 'readWriteServiceName' },
      { kind: 'Service', name: services.readOnly, prop: 'readOnlyServiceName' },
    );
  }
  return objects;
}

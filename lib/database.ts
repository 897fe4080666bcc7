import * as kplus from 'cdk8s-plus-27';
import { IConstruct } from 'constructs';
import { PostgresCredentials } from './credentials';

/**
 * A PostgreSQL database that workloads can connect to: one this app runs
 * (`PostgresStatefulSet`), or one it only knows by name (`PostgresStatefulSet.fromServiceName()`).
 */
export interface IPostgresDatabase extends IConstruct {
  /** DNS name for reads and writes. */
  readonly host: string;

  /** DNS name for read-only connections (the same as `host` without replication). */
  readonly readOnlyHost: string;

  /** TCP port PostgreSQL listens on. */
  readonly port: number;

  /** Name of the database clients connect to by default. */
  readonly databaseName: string;

  /** Role clients connect as by default. */
  readonly username: string;

  /** Name of the Secret holding that role's password. */
  readonly secretName: string;

  /** Key of the password in `secretName`. */
  readonly passwordKey: string;

  /**
   * Name of the Secret holding the CA certificate clients verify the server with. When set,
   * `connect()` mounts that certificate and connects with `sslmode=verify-full`.
   *
   * @default - the database does not serve TLS
   */
  readonly tlsCaSecretName?: string;

  /**
   * Key of the CA certificate in `tlsCaSecretName`.
   *
   * @default - the database does not serve TLS
   */
  readonly tlsCaKey?: string;

  /**
   * Admits a peer to the PostgreSQL port, when the database has a NetworkPolicy.
   *
   * The peer is a workload, by the selector of its pods (read at synth): a Deployment,
   * StatefulSet, DaemonSet, Job, CronJob or Pod of any cdk8s-plus major, an object of an app's
   * own `cdk8s import` (`KubeDeployment`, ...) or any ApiObject with a pod template; or pods or
   * namespaces selected with cdk8s-plus (`Pods.select()`, `Namespaces.select()`). Anything
   * else is a problem reported at synth.
   *
   * @returns whether a NetworkPolicy rule was added
   */
  allowFrom(peer: IConstruct): boolean;

  /**
   * Wires a workload to the database: sets the libpq environment variables (`PGHOST`,
   * `PGPORT`, `PGDATABASE`, `PGUSER`, `PGPASSWORD` by `secretKeyRef`, and `DATABASE_URL`
   * without the password) on the containers of its pod template, and admits it to the
   * database's NetworkPolicy. When the database serves TLS, it mounts the CA certificate and
   * adds `PGSSLMODE=verify-full` and `PGSSLROOTCERT` (and both to `DATABASE_URL`).
   *
   * The workload is a Deployment, StatefulSet, DaemonSet, Job, CronJob or Pod of any cdk8s-plus
   * major, an object of an app's own `cdk8s import` (`KubeDeployment`, `KubeStatefulSet`,
   * `KubeJob`, `KubeCronJob`, `KubePod`, ...), or any construct whose default child is such an
   * object. The variables are added to its rendered pod template at synth, to every container it
   * has then (or to `options.containerName`); a workload without a pod template or without that
   * container is a problem reported at synth.
   */
  connect(workload: IConstruct, options?: PostgresConnectOptions): void;
}

/**
 * How a workload connects to a database.
 */
export interface PostgresConnectOptions {
  /**
   * Name of the container that connects.
   *
   * @default - every container of the workload's pod template (init containers excepted)
   */
  readonly containerName?: string;

  /**
   * The cdk8s-plus-27 container that connects.
   *
   * @default - every container of the workload's pod template (init containers excepted)
   * @deprecated use `containerName`, which works with every cdk8s-plus major and imported classes
   */
  readonly container?: kplus.Container;

  /**
   * Connect through the read-only Service, with `default_transaction_read_only=on` (`PGOPTIONS`).
   *
   * @default false
   */
  readonly readOnly?: boolean;

  /**
   * Another role to connect as, with its password in a Secret
   * (`PostgresCredentials.fromSecretName()` or `fromSecret()`).
   *
   * @default - the database's superuser credentials
   */
  readonly credentials?: PostgresCredentials;

  /**
   * The database to connect to.
   *
   * @default - the database's `databaseName`
   */
  readonly databaseName?: string;

  /**
   * A Secret with the CA certificate of a database that serves TLS, in the workload's namespace,
   * for a workload that cannot mount the database's own (a pod mounts Secrets of its own
   * namespace only).
   *
   * @default - the database's `tlsCaSecretName`
   */
  readonly tlsCaSecret?: kplus.ISecret;

  /**
   * Key of the CA certificate in `tlsCaSecret`.
   *
   * @default - 'ca.crt' with `tlsCaSecret`, else the database's `tlsCaKey`
   */
  readonly tlsCaKey?: string;
}

/**
 * What an imported database is known by.
 */
export interface PostgresDatabaseImportOptions {
  /**
   * Role and Secret to connect with. The Secret must be in the namespace of the connecting
   * workloads; reference it with `PostgresCredentials.fromSecretName()` or `fromSecret()`.
   */
  readonly credentials: PostgresCredentials;

  /**
   * Namespace of the Service.
   *
   * @default - none: the Service name alone, which resolves in the namespace of the connecting pods
   */
  readonly namespace?: string;

  /**
   * The cluster's DNS domain.
   *
   * @default 'cluster.local'
   */
  readonly clusterDomain?: string;

  /**
   * TCP port of the Service.
   *
   * @default 5432
   */
  readonly port?: number;

  /**
   * Name of the database clients connect to.
   *
   * @default - the role's name
   */
  readonly databaseName?: string;

  /**
   * Name of a Service for read-only connections.
   *
   * @default - the same Service as for reads and writes
   */
  readonly readOnlyServiceName?: string;

  /**
   * The Secret holding the CA certificate of a database that serves TLS, in the namespace of
   * the connecting workloads: `connect()` mounts it and connects with `sslmode=verify-full`.
   *
   * @default - the database does not serve TLS: clients connect without it
   */
  readonly tlsCaSecret?: kplus.ISecret;

  /**
   * Key of the CA certificate in `tlsCaSecret`.
   *
   * @default 'ca.crt'
   */
  readonly tlsCaKey?: string;
}

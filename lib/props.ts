// The props of a PostgresStatefulSet (public): what the caller may say. Defaults are applied in
// resolve.ts, checked in validate.ts, and rendered by render/.
import { ApiObjectMetadata, Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { IConstruct } from 'constructs';
import { PostgresBackupOptions, PostgresRestoreOptions } from './backup';
import { ClaimRetentionPolicy } from './claim-retention';
import { PostgresCredentials } from './credentials';
import { PostgresMajorUpgrade } from './major-upgrade';

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
   * Names are case-insensitive, as in PostgreSQL, and written out in lower case; two names
   * that differ only by case are an error. `password_encryption` is `scram-sha-256` or `md5`.
   * The construct manages `port`, `data_directory`, the configuration file locations,
   * `listen_addresses` and `unix_socket_directories`.
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
   * A ConfigMap of `*.sh`, `*.sql`, `*.sql.gz`, `*.sql.xz` and `*.sql.zst` files that the image
   * runs, in name order, when it initialises an empty data directory (mounted at
   * `/docker-entrypoint-initdb.d`). The image ignores other files: when the ConfigMap is defined
   * in the app, such keys are an error.
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
   * Rendered with one replica too, so that the pod template stays the same when replicas are
   * raised. While `restoreFrom` names a claim other than the instance's WAL archive, the pods keep
   * to one node instead (the claim may be ReadWriteOnce).
   *
   * @default true
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
   * Pods allowed to connect: workloads of any cdk8s-plus major or imported class, or pods and
   * namespaces selected with cdk8s-plus (see `allowFrom()`). When set, a NetworkPolicy denies
   * every other ingress to the database pods; `allowFrom()` and `connect()` add more later.
   *
   * @default - no NetworkPolicy: any pod that can reach the pods may try to connect
   */
  readonly allowedClients?: IConstruct[];

  /**
   * Upgrade data written by an older PostgreSQL major version to the image's: name the image it
   * was written with. Pod 0 upgrades before PostgreSQL starts (pg_upgrade, or dump and restore),
   * keeps the old data directory, and the StatefulSet runs pod 0 alone until the option is removed.
   *
   * Without it, a pod whose volume holds data of another major refuses to start, saying so.
   *
   * @default - no upgrade
   */
  readonly majorUpgrade?: PostgresMajorUpgrade;

  // TLS

  /**
   * Serve TLS with the certificate and key of this Secret of type `kubernetes.io/tls`
   * (keys `tls.crt` and `tls.key`), e.g. the one cert-manager writes for a `PostgresCertificate`.
   *
   * No certificate is generated at synth time. The certificate must name every host clients and
   * standbys connect to (`PostgresCertificate.dnsNamesOf()` lists them). The pods read the Secret at
   * every start, and a renewed certificate without a restart: the readiness probe reloads the server
   * when the kubelet has updated the Secret's files (with `probes: false`, restart the pods instead).
   * Standbys replicate with `sslmode=verify-full`, and `connect()` gives clients
   * `PGSSLMODE=verify-full` with the CA mounted.
   *
   * @see https://www.postgresql.org/docs/current/ssl-tcp.html
   * @default - no TLS: connections are not encrypted
   */
  readonly tlsSecret?: kplus.ISecret;

  /**
   * Refuse connections from other pods that do not use TLS (`hostnossl ... reject` in
   * `pg_hba.conf`, before the image's rules; connections over loopback inside the pod keep the
   * image's rules). `false` accepts both, e.g. while clients move to TLS.
   *
   * pg_hba.conf is in the data directory: the pods rewrite the rule at every start. Turn TLS off
   * in two steps: first `tlsRequired: false` (and let the pods restart), then remove `tlsSecret`.
   *
   * @default true
   */
  readonly tlsRequired?: boolean;

  /**
   * The Secret holding the certificate of the CA that issued the server certificate, which
   * standbys and clients verify the server with. It must be in the database's namespace.
   *
   * @default - `tlsSecret`, whose `ca.crt` cert-manager fills with the issuing CA
   */
  readonly tlsCaSecret?: kplus.ISecret;

  /**
   * Key of the CA certificate in `tlsCaSecret`.
   *
   * @default 'ca.crt'
   */
  readonly tlsCaKey?: string;

  // Backups and restores

  /**
   * Scheduled backups: a CronJob that runs the instance's image with the superuser's
   * credentials, takes a logical or physical backup (from a streaming standby when there is one),
   * verifies it, writes it with a small manifest to a claim, and deletes old ones. A failed
   * backup fails the Job and leaves no complete-looking backup.
   *
   * @default - no backups
   */
  readonly backup?: PostgresBackupOptions;

  /**
   * Initialise the instance from a backup instead of an empty database: when pod 0 starts with
   * an empty data directory, an init container restores the backup next to it and moves it into
   * place once complete (a failed restore leaves it empty and fails the pod, with the reason).
   * Standbys clone pod 0 as usual. A data directory that holds a database is never touched, so
   * the prop may stay after the restore (the claim stays mounted while it does, and the pods keep
   * to one node, as a ReadWriteOnce claim needs: remove it to let them spread).
   *
   * @default - an empty data directory is initialised by the image (initdb)
   */
  readonly restoreFrom?: PostgresRestoreOptions;
}

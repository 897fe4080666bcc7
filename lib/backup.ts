// Backups and restores: the public types of the `backup` and `restoreFrom` props.
import { Cron, Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';

/**
 * What a scheduled backup copies.
 */
export enum BackupKind {
  /**
   * `pg_dump` in its custom format for every database that accepts connections (templates
   * excepted), and `pg_dumpall --globals-only` for roles and tablespaces.
   *
   * Restores into any later major version and rebuilds indexes; a restore takes longer than a
   * physical one for large databases; no point-in-time recovery.
   */
  LOGICAL = 'logical',

  /**
   * `pg_basebackup`: the whole data directory as gzip-compressed tar files, with the WAL it needs
   * to be consistent (`-X stream`), and PostgreSQL's `backup_manifest`.
   *
   * Restores only into the same major version; a restore copies files and replays WAL, so it is
   * fast; with `walArchive`, the base of point-in-time recovery.
   */
  PHYSICAL = 'physical',
}

/**
 * A claim the construct creates for the backups.
 */
export interface BackupClaimOptions {
  /**
   * Name of the PersistentVolumeClaim.
   *
   * @default - '<statefulSetName>-backups'
   */
  readonly claimName?: string;

  /**
   * Storage requested for the backups.
   *
   * @default - twice the data volume (`storage`)
   */
  readonly storage?: Size;

  /**
   * Storage class of the claim. Prefer one whose reclaim policy is `Retain`, so that deleting the
   * claim by mistake does not delete the backups with it.
   *
   * @default - no storageClassName field: the cluster's default storage class
   */
  readonly storageClassName?: string;

  /**
   * Access modes of the claim. A WAL archive (`walArchive`) with more than one replica needs
   * `ReadWriteMany`: every pod of the StatefulSet mounts the claim.
   *
   * @default [kplus.PersistentVolumeAccessMode.READ_WRITE_ONCE]
   */
  readonly accessModes?: kplus.PersistentVolumeAccessMode[];
}

/**
 * Where the backups are written: a PersistentVolumeClaim the construct creates, or one that exists.
 */
export class BackupStorage {
  /**
   * A claim the construct renders (so `kubectl delete -f` of the manifests deletes it, and, with
   * a `Delete` reclaim policy, the backups: copy them off the cluster).
   */
  public static newClaim(options: BackupClaimOptions = {}): BackupStorage {
    return new BackupStorage(true, options.claimName, options.storage, options.storageClassName, options.accessModes);
  }

  /**
   * A PersistentVolumeClaim that exists in the instance's namespace, created outside this app
   * (so that it outlives it). Nothing is rendered for it.
   *
   * @param claimName name of the claim
   */
  public static existingClaim(claimName: string): BackupStorage {
    return new BackupStorage(false, claimName);
  }

  /**
   * Name of the claim, when given.
   *
   * @default - '<statefulSetName>-backups' for a new claim
   */
  public readonly claimName?: string;

  /**
   * Storage requested for a new claim, when given.
   *
   * @default - twice the data volume
   */
  public readonly storage?: Size;

  /**
   * Storage class of a new claim, when given.
   *
   * @default - the cluster's default storage class
   */
  public readonly storageClassName?: string;

  /**
   * Access modes of a new claim, when given.
   *
   * @default - ReadWriteOnce
   */
  public readonly accessModes?: kplus.PersistentVolumeAccessMode[];

  /** Whether the construct renders the claim. */
  public readonly createsClaim: boolean;

  private constructor(createsClaim: boolean, claimName?: string, storage?: Size, storageClassName?: string,
    accessModes?: kplus.PersistentVolumeAccessMode[]) {
    this.createsClaim = createsClaim;
    this.claimName = claimName;
    this.storage = storage;
    this.storageClassName = storageClassName;
    this.accessModes = accessModes;
  }
}

/**
 * Scheduled backups of a `PostgresStatefulSet`: a CronJob that runs the instance's image with
 * its superuser credentials, writes a verified backup to a claim, and deletes old ones.
 */
export interface PostgresBackupOptions {
  /**
   * What each backup copies.
   *
   * @default BackupKind.LOGICAL
   */
  readonly kind?: BackupKind;

  /**
   * When backups run, in the CronJob's time zone (`timeZone`). The minute must be given: a
   * schedule that runs every minute is refused.
   *
   * @default Cron.daily(): every day at 00:00
   */
  readonly schedule?: Cron;

  /**
   * Time zone of the schedule, as a name of the IANA time zone database (`Europe/Berlin`).
   *
   * @see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#time-zones
   * @default - the time zone of the kube-controller-manager, usually UTC
   */
  readonly timeZone?: string;

  /**
   * Where the backups go.
   *
   * @default BackupStorage.newClaim(): a claim '<statefulSetName>-backups' twice the size of the data volume
   */
  readonly storage?: BackupStorage;

  /**
   * Keep the newest `keepLast` complete backups. With `keepDays` too, a backup is kept when
   * either keeps it. The newest complete backup is never deleted.
   *
   * @default 7
   */
  readonly keepLast?: number;

  /**
   * Keep every complete backup that finished less than `keepDays` days ago (in addition to the
   * newest `keepLast`).
   *
   * @default - no age-based retention: `keepLast` alone
   */
  readonly keepDays?: number;

  /**
   * Take the backup from a standby that streams from the primary, when there is one, so that
   * the primary only serves the WAL. With replicas > 1 and logical backups this sets
   * `hot_standby_feedback=on` (a long dump on a standby would otherwise be cancelled by
   * recovery conflicts; the primary then keeps the row versions a running dump still needs).
   *
   * @default true
   */
  readonly preferStandby?: boolean;

  /**
   * Archive the primary's WAL to the backup claim (`archive_mode=on`, an `archive_command` that
   * writes each segment gzip-compressed under a temporary name and renames it), for
   * point-in-time recovery from a physical backup. Needs `kind: BackupKind.PHYSICAL`.
   *
   * Every pod of the StatefulSet then mounts the claim: with more than one replica it must be
   * `ReadWriteMany`. A segment is archived when it is full or after `archive_timeout` (5 min
   * by default: the recovery point objective), so an idle database adds little; a busy one
   * archives every 16 MB of WAL.
   *
   * @default false
   */
  readonly walArchive?: boolean;

  /**
   * CPU and memory of the backup Job's container.
   *
   * @default - requests 100m CPU and 256Mi memory; memory limited to 1Gi
   */
  readonly resources?: kplus.ContainerResources;

  /**
   * How long one backup Job may run (`activeDeadlineSeconds`), retries included.
   *
   * @default Duration.hours(6)
   */
  readonly deadline?: Duration;

  /**
   * How many times a failed backup is retried in a new pod before the Job fails (`backoffLimit`).
   *
   * @default 2
   */
  readonly backoffLimit?: number;
}

/**
 * A backup to initialise a new instance from.
 */
export interface PostgresRestoreOptions {
  /**
   * The PersistentVolumeClaim that holds the backups, in the instance's namespace (for example
   * the claim the instance's own `backup` created: `<statefulSetName>-backups`).
   */
  readonly claimName: string;

  /**
   * The kind of backup to restore.
   *
   * @default BackupKind.LOGICAL
   */
  readonly kind?: BackupKind;

  /**
   * The backup to restore: the name of its directory on the claim, its start time in UTC
   * (`20250131T020000Z`).
   *
   * @default - the newest complete backup; with `targetTime`, the newest that finished before it
   */
  readonly backup?: string;

  /**
   * The StatefulSet whose backups to restore (they are in `<statefulSetName>/` on the claim).
   *
   * @default - this instance's statefulSetName
   */
  readonly sourceStatefulSetName?: string;

  /**
   * Point-in-time recovery: replay the archived WAL up to this time, given in RFC 3339 with a
   * time zone (`2025-01-31T14:05:00Z`, `2025-01-31T15:05:00+01:00`). Needs a physical backup
   * and the source's WAL archive (`walArchive`).
   *
   * @default - a physical backup is replayed to the end of the WAL archive when there is one
   * (the latest state), else to the end of the backup
   */
  readonly targetTime?: string;
}

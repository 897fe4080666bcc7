// Scheduled backups of a PostgresStatefulSet (the `backup` prop): the construct owns the
// ConfigMap of its scripts, the backup claim when it creates one, and the CronJob, and
// contributes to the pod what the backups need there (pg_hba.conf for physical backups, the WAL
// archive, hot_standby_feedback for logical backups taken from standbys).
import { ApiObject } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import { BackupKind } from './backup';
import * as scripts from './backup-scripts';
import { claimNames } from './name-claims';
import { Problems } from './problems';
import { BACKUP_VOLUME, SCRIPTS_VOLUME, walArchiveEnv } from './render/backup-volumes';
import { EnvVar, PodSpec, renderObject, Volume, VolumeMount } from './render/manifest';
import { containerSecurity, PodContribution, podSecurity } from './render/pod-template';
import { BackupSpec, InstanceSpec } from './resolve';
import { renderResources } from './resources';
import { TLS_CA_FILE, tlsCaMounts, tlsCaVolumes } from './tls';

/**
 * The scheduled backups of a `PostgresStatefulSet` (its `backup` prop): a CronJob, the ConfigMap
 * of its scripts and, unless an existing claim is given, the claim the backups are written to.
 *
 * Each run takes one backup from a streaming standby when there is one, else from the primary,
 * writes it under a temporary name, verifies it, writes `backup.json` (time, size, PostgreSQL
 * version, databases, kind) and renames it; then deletes complete backups beyond the retention.
 * The claim holds `<statefulSetName>/<kind>/<id>/` per backup, `<id>` being the start time in
 * UTC (`20250131T020000Z`), and `<statefulSetName>/wal/` with a WAL archive.
 */
export class PostgresBackup extends Construct {
  /** @internal */
  public static _render(scope: Construct, spec: InstanceSpec, backup: BackupSpec): PostgresBackup {
    return new PostgresBackup(scope, 'Backup', spec, backup);
  }

  /** The CronJob. */
  public readonly cronJob: ApiObject;

  /** Name of the CronJob (`<statefulSetName>-backup`); its Jobs are `<cronJobName>-<minutes since the epoch>`. */
  public readonly cronJobName: string;

  /** The ConfigMap of the backup scripts. */
  public readonly configMap: ApiObject;

  /** Name of the claim the backups are written to. */
  public readonly claimName: string;

  /**
   * The claim, when this construct renders it.
   *
   * @default - none: an existing claim (`BackupStorage.existingClaim()`)
   */
  public readonly claim?: ApiObject;

  /** What each backup copies. */
  public readonly kind: BackupKind;

  /** The instance's directory on the claim: `<statefulSetName>`, which holds `<kind>/<id>/` per backup. */
  public readonly directory: string;

  /** The command the backup Job's container runs. */
  public readonly command: string[];

  /** Labels of the backup Job's pods (never the instance's selector labels). */
  private readonly podLabels: { [key: string]: string };

  private constructor(scope: Construct, id: string, private readonly spec: InstanceSpec, private readonly backup: BackupSpec) {
    super(scope, id);
    claimNames(scope, Problems.of(scope, 'PostgresStatefulSet'), spec.effectiveNamespace, [
      { kind: 'CronJob', name: backup.cronJobName, prop: 'statefulSetName' },
      { kind: 'ConfigMap', name: backup.configMapName, prop: 'statefulSetName' },
      ...(backup.claim.create ? [{ kind: 'PersistentVolumeClaim', name: backup.claim.name, prop: 'backup.storage claimName' }] : []),
    ]);
    const metadata = (name: string) => ({ name, namespace: spec.namespace, labels: backup.labels });
    this.kind = backup.kind;
    this.claimName = backup.claim.name;
    this.directory = backup.directory.slice(scripts.BACKUP_MOUNT.length + 1);
    this.cronJobName = backup.cronJobName;
    this.command = ['sh', `${scripts.BACKUP_SCRIPTS_DIR}/${scripts.BACKUP_SCRIPT}`];
    this.podLabels = { ...backup.labels, 'app.kubernetes.io/component': 'backup' };

    this.configMap = renderObject(this, 'Scripts', k8s.KubeConfigMap, {
      metadata: metadata(backup.configMapName),
      data: {
        [scripts.BACKUP_SCRIPT]: scripts.backupScript(),
        [scripts.ARCHIVE_SCRIPT]: scripts.archiveScript(),
        [scripts.HBA_SCRIPT]: scripts.hbaScript(),
      },
    });
    const create = backup.claim.create;
    this.claim = create ? renderObject(this, 'Claim', k8s.KubePersistentVolumeClaim, {
      metadata: metadata(backup.claim.name),
      spec: {
        accessModes: create.accessModes,
        storageClassName: create.className,
        resources: { requests: { storage: create.size.asString() } },
      },
    }) : undefined;
    const deadline = backup.deadline.toSeconds({ integral: false });
    this.cronJob = renderObject(this, 'Resource', k8s.KubeCronJob, {
      metadata: metadata(backup.cronJobName),
      spec: {
        schedule: backup.schedule,
        timeZone: backup.timeZone,
        // one backup at a time; a run missed while the previous one ran starts late, within its deadline
        concurrencyPolicy: 'Forbid',
        startingDeadlineSeconds: deadline,
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 3,
        jobTemplate: {
          metadata: { labels: backup.labels },
          spec: {
            backoffLimit: backup.backoffLimit,
            activeDeadlineSeconds: deadline,
            template: { metadata: { labels: this.podLabels }, spec: this.podSpec() },
          },
        },
      },
    });
  }

  /**
   * The backup Job's pods, as a NetworkPolicy peer (created when asked: only an instance with a
   * NetworkPolicy needs it).
   *
   * @internal
   */
  public _jobPods(): kplus.INetworkPolicyPeer {
    return kplus.Pods.select(this, 'Pods', { labels: this.podLabels });
  }

  /**
   * What the backups add to the database pods: for physical backups, the superuser's
   * replication connections in pg_hba.conf (a start step, and an initdb script for a new data
   * directory); with a WAL archive, the claim, `archive_mode`, `archive_command` and
   * `archive_timeout`; for logical backups, `hot_standby_feedback` (for the dumps taken from standbys).
   *
   * @internal
   */
  public _podContribution(): PodContribution {
    const backup = this.backup;
    const physical = backup.kind === BackupKind.PHYSICAL;
    const parameters: { [name: string]: string } = {};
    if (!physical) {
      // whatever replicas is (it does nothing on a primary), so that raising replicas does not change the pod template
      parameters.hot_standby_feedback = 'on';
    }
    if (backup.walArchive) {
      Object.assign(parameters, { archive_mode: 'on', archive_command: scripts.ARCHIVE_COMMAND, archive_timeout: '5min' });
    }
    const scriptsVolume: Volume = { name: SCRIPTS_VOLUME, configMap: { name: this.configMap.name } };
    const scriptsMount: VolumeMount = { name: SCRIPTS_VOLUME, mountPath: scripts.BACKUP_SCRIPTS_DIR, readOnly: true };
    return {
      parameters,
      volumes: [
        ...(physical ? [scriptsVolume] : []),
        ...(backup.walArchive ? [{ name: BACKUP_VOLUME, persistentVolumeClaim: { claimName: backup.claim.name } }] : []),
      ],
      volumeMounts: [
        ...(physical ? [scriptsMount] : []),
        ...(backup.walArchive ? [{ name: BACKUP_VOLUME, mountPath: scripts.BACKUP_MOUNT }] : []),
      ],
      env: backup.walArchive ? walArchiveEnv(backup) : undefined,
      startSteps: physical ? [`${scripts.BACKUP_SCRIPTS_DIR}/${scripts.HBA_SCRIPT}`] : undefined,
      initdbFiles: physical ? [{
        configMap: { name: this.configMap.name, items: [{ key: scripts.HBA_SCRIPT, path: scripts.HBA_INITDB_TARGET, mode: 0o555 }] },
      }] : undefined,
    };
  }

  /** The backup Job's pod: the instance's image, user, security context; the claim, the scripts, a writable /tmp. */
  private podSpec(): PodSpec {
    const { spec, backup } = this;
    const superuser = spec.superuser;
    const env: EnvVar[] = [
      { name: 'BACKUP_KIND', value: backup.kind },
      { name: 'BACKUP_DIR', value: backup.directory },
      { name: 'BACKUP_PRIMARY', value: backup.primary },
      ...(backup.standbys.length > 0 ? [{ name: 'BACKUP_STANDBYS', value: backup.standbys.join(' ') }] : []),
      { name: 'BACKUP_KEEP_LAST', value: String(backup.keepLast) },
      ...(backup.keepDays !== undefined ? [{ name: 'BACKUP_KEEP_DAYS', value: String(backup.keepDays) }] : []),
      ...(backup.walArchive ? [{ name: 'BACKUP_WAL_ARCHIVE', value: '1' }] : []),
      { name: 'PGUSER', value: superuser.username },
      { name: 'PGPASSWORD', valueFrom: { secretKeyRef: { name: superuser.secretName, key: superuser.passwordKey } } },
      { name: 'PGAPPNAME', value: 'postgres-statefulset-backup' },
      { name: 'PGCONNECT_TIMEOUT', value: '10' },
      // under TLS, the Job verifies the server as the standbys do (by the pod's name, which the certificate must hold)
      ...(spec.tls ? [{ name: 'PGSSLMODE', value: 'verify-full' }, { name: 'PGSSLROOTCERT', value: TLS_CA_FILE }] : []),
      { name: 'HOME', value: '/tmp' },
    ];
    // with a WAL archive on a claim only one node can mount, the Job runs where pod 0 runs
    const beside = backup.walArchive && !backup.claim.create?.accessModes.includes('ReadWriteMany') ? {
      podAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [{
          topologyKey: 'kubernetes.io/hostname',
          labelSelector: { matchLabels: { ...spec.selectorLabels, 'statefulset.kubernetes.io/pod-name': `${spec.names.statefulSet}-0` } },
        }],
      },
    } : undefined;
    return {
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      securityContext: podSecurity(spec),
      affinity: beside,
      containers: [{
        name: 'backup',
        image: spec.image.reference,
        imagePullPolicy: spec.image.pullPolicy,
        command: this.command,
        env,
        resources: renderResources(backup.resources),
        securityContext: containerSecurity(spec),
        volumeMounts: [
          { name: BACKUP_VOLUME, mountPath: scripts.BACKUP_MOUNT },
          { name: SCRIPTS_VOLUME, mountPath: scripts.BACKUP_SCRIPTS_DIR, readOnly: true },
          { name: 'tmp', mountPath: '/tmp' },
          ...tlsCaMounts(spec),
        ],
      }],
      volumes: [
        { name: BACKUP_VOLUME, persistentVolumeClaim: { claimName: backup.claim.name } },
        { name: SCRIPTS_VOLUME, configMap: { name: this.configMap.name } },
        { name: 'tmp', emptyDir: {} },
        ...tlsCaVolumes(spec),
      ],
    };
  }
}


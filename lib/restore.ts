// Initialisation from a backup (the `restoreFrom` prop), as an internal construct: it owns the
// ConfigMap of the restore scripts and contributes the init container that fills pod 0's empty
// data directory before the PostgreSQL container's start steps and the image's entrypoint run.
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import * as scripts from './backup-scripts';
import { claimNames } from './name-claims';
import { Problems } from './problems';
import { BACKUP_VOLUME, walArchiveEnv, walArchiveMounts } from './render/backup-volumes';
import { EnvVar, renderObject } from './render/manifest';
import { dataEnv, dataMount, initContainer, passwordEnv, passwordMounts, PodContribution, tmpMounts } from './render/pod-template';
import { InstanceSpec, RestoreSpec } from './resolve';
import { kibibytes } from './resources';

const SCRIPTS_VOLUME = 'restore-scripts';
const SOURCE_VOLUME = 'restore-source';

export class Restore extends Construct {
  /** The ConfigMap of the scripts. */
  public readonly configMap: ApiObject;

  constructor(scope: Construct, id: string, private readonly spec: InstanceSpec, private readonly restore: RestoreSpec) {
    super(scope, id);
    claimNames(scope, Problems.of(scope, 'PostgresStatefulSet'), spec.effectiveNamespace, [
      { kind: 'ConfigMap', name: restore.configMapName, prop: 'statefulSetName' },
    ]);
    this.configMap = renderObject(this, 'Scripts', k8s.KubeConfigMap, {
      metadata: { name: restore.configMapName, namespace: spec.namespace, labels: spec.labels },
      data: {
        [scripts.RESTORE_SCRIPT]: scripts.restoreScript(),
        [scripts.RESTORE_WAL_SCRIPT]: scripts.restoreWalScript(),
      },
    });
  }

  /**
   * The init container that restores the backup into pod 0's empty data directory (before the
   * PostgreSQL container, whose data guard and replication step then find a database), its scripts and the
   * claim to restore from, mounted read-only. With a WAL archive, its temporary server archives
   * as the PostgreSQL container does (a point-in-time recovery's new timeline history file must
   * reach the archive, or a later recovery could choose the same timeline).
   */
  public podContribution(): PodContribution {
    const { spec, restore } = this;
    const archive = spec.backup?.walArchive === true ? spec.backup : undefined;
    // the WAL archive's claim is in the pod already when it is the one to restore from
    const source = archive?.claim.name === restore.claimName ? BACKUP_VOLUME : SOURCE_VOLUME;
    const target = restore.targetTime;
    const env: EnvVar[] = [
      ...dataEnv(spec),
      { name: 'POSTGRES_USER', value: spec.superuser.username },
      passwordEnv(spec),
      { name: 'POSTGRES_DB', value: spec.databaseName },
      ...(spec.initdbArgs.length > 0 ? [{ name: 'POSTGRES_INITDB_ARGS', value: spec.initdbArgs.join(' ') }] : []),
      // the restored replication role gets the Secret's password, when the Secret has one
      { name: 'POSTGRES_REPLICATION_USER', value: spec.replication.credentials.username },
      {
        name: 'POSTGRES_REPLICATION_PASSWORD',
        valueFrom: { secretKeyRef: { name: spec.replication.credentials.secretName, key: spec.replication.credentials.passwordKey, optional: true } },
      },
      ...(archive ? walArchiveEnv(archive) : []),
      { name: 'RESTORE_DIR', value: restore.directory },
      { name: 'RESTORE_KIND', value: restore.kind },
      ...(restore.backup !== undefined ? [{ name: 'RESTORE_BACKUP', value: restore.backup }] : []),
      ...(target?.postgres !== undefined ? [
        { name: 'RESTORE_TARGET_TIME', value: target.postgres },
        { name: 'RESTORE_TARGET_EPOCH', value: String(target.epoch) },
      ] : []),
    ];
    return {
      // Every pod mounts the claim (one template), which may be ReadWriteOnce: a volume attaches to
      // one node, so the pods keep to one node while restoreFrom is set (each is scheduled beside a
      // running pod of the instance; the first anywhere). Not for the instance's own WAL archive
      // claim, which is ReadWriteMany whenever there is more than one replica.
      podAffinity: source === SOURCE_VOLUME ? {
        requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: spec.selectorLabels } }],
      } : undefined,
      volumes: [
        { name: SCRIPTS_VOLUME, configMap: { name: this.configMap.name } },
        ...(source === SOURCE_VOLUME ? [{ name: SOURCE_VOLUME, persistentVolumeClaim: { claimName: restore.claimName, readOnly: true } }] : []),
      ],
      initContainers: (pod) => [initContainer(spec, {
        name: 'restore',
        command: ['sh', `${scripts.RESTORE_SCRIPTS_DIR}/${scripts.RESTORE_SCRIPT}`],
        args: pod.serverArgs.length > 0 ? pod.serverArgs : undefined,
        env,
        volumeMounts: [
          dataMount(spec),
          { name: SCRIPTS_VOLUME, mountPath: scripts.RESTORE_SCRIPTS_DIR, readOnly: true },
          { name: source, mountPath: scripts.RESTORE_MOUNT, readOnly: true },
          ...(archive ? walArchiveMounts() : []),
          ...tmpMounts(spec),
          // the temporary server builds indexes with parallel workers in dynamic shared memory
          ...(kibibytes(spec.sharedMemory) > 0 ? [{ name: 'shm', mountPath: '/dev/shm' }] : []),
          ...passwordMounts(spec),
        ],
      })],
    };
  }
}

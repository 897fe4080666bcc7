// Streaming replication as an internal construct: it owns the ConfigMap of its scripts and the
// read-write and read-only Services, and contributes its init container, environment and
// readiness to the pod template. An instance with one replica creates none of it.
import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import { dataEnv, dataMount, initContainer, passwordEnv, passwordMounts, PodContribution, tmpMounts } from './render/pod-template';
import { renderClientService } from './render/services';
import * as scripts from './replication-scripts';
import { InstanceSpec, ReplicationSpec } from './resolve';
import { tlsCaMounts, tlsClientEnv } from './tls';

const SCRIPTS_VOLUME = 'replication';

export class Replication extends Construct {
  /** The ConfigMap of the scripts. */
  public readonly configMap: k8s.KubeConfigMap;

  constructor(scope: Construct, id: string, private readonly spec: InstanceSpec, private readonly replication: ReplicationSpec) {
    super(scope, id);
    this.configMap = new k8s.KubeConfigMap(this, 'Scripts', {
      metadata: { name: replication.configMapName, namespace: spec.namespace, labels: spec.labels },
      data: {
        [scripts.INIT_SCRIPT]: scripts.initContainerScript(),
        [scripts.INITDB_SCRIPT]: scripts.initdbScript(),
        [scripts.READINESS_SCRIPT]: scripts.readinessScript(),
      },
    });
    renderClientService(this, 'ReadWriteService', spec, replication.readWriteService,
      { ...spec.selectorLabels, 'statefulset.kubernetes.io/pod-name': `${spec.names.statefulSet}-0` });
    renderClientService(this, 'ReadOnlyService', spec, replication.readOnlyService, spec.selectorLabels);
  }

  /**
   * What replication adds to the pod: the replication role's environment, the scripts, the
   * init container that clones the primary, the initdb script that creates the role, WAL
   * retention and a role-aware readiness.
   */
  public podContribution(): PodContribution {
    const { spec, replication } = this;
    const credentials = replication.credentials;
    const env: k8s.EnvVar[] = [
      { name: 'POSTGRES_REPLICATION_USER', value: credentials.username },
      { name: 'POSTGRES_REPLICATION_PASSWORD', valueFrom: { secretKeyRef: { name: credentials.secretName, key: credentials.passwordKey } } },
    ];
    const scriptsMount: k8s.VolumeMount = { name: SCRIPTS_VOLUME, mountPath: scripts.SCRIPTS_DIR, readOnly: true };
    return {
      env,
      parameters: walRetention(spec.image.major),
      volumes: [{ name: SCRIPTS_VOLUME, configMap: { name: this.configMap.name } }],
      volumeMounts: [scriptsMount],
      initdbFiles: [{
        configMap: {
          name: this.configMap.name,
          items: [{ key: scripts.INITDB_SCRIPT, path: scripts.INITDB_SCRIPT_TARGET, mode: 0o555 }],
        },
      }],
      readinessCommand: ['sh', `${scripts.SCRIPTS_DIR}/${scripts.READINESS_SCRIPT}`],
      // Clones the primary into an empty volume before a standby's PostgreSQL starts.
      initContainers: (pod) => [initContainer(spec, {
        name: 'replication-init',
        command: ['sh', `${scripts.SCRIPTS_DIR}/${scripts.INIT_SCRIPT}`],
        args: pod.serverArgs.length > 0 ? pod.serverArgs : undefined,
        env: [
          ...dataEnv(spec),
          { name: 'PRIMARY_HOST', value: replication.primaryHost },
          { name: 'PRIMARY_PORT', value: String(spec.port) },
          ...env,
          { name: 'POSTGRES_USER', value: spec.superuser.username },
          passwordEnv(spec),
          ...tlsClientEnv(spec), // with TLS, the clone (and so streaming) verifies the primary: sslmode=verify-full
        ],
        volumeMounts: [dataMount(spec), scriptsMount, ...tmpMounts(spec), ...passwordMounts(spec), ...tlsCaMounts(spec)],
      })],
    };
  }
}

/**
 * WAL the primary keeps for standbys that fall behind or restart (no replication slots, so
 * a standby that is gone for good never fills the primary's disk). Parameters override it.
 */
function walRetention(major: number | undefined): { [name: string]: string } {
  return major !== undefined && major < 13 ? { wal_keep_segments: '64' } : { wal_keep_size: '1GB' };
}

// Streaming replication (internal). Every pod carries it (scripts, environment, start step,
// readiness), whatever `replicas` is, so that raising `replicas` changes nothing in the pod
// template and restarts no pod; with more than one replica, the Replication construct owns the
// read-write and read-only Services clients use.
import { Construct } from 'constructs';
import { EnvVar } from './render/manifest';
import { PodContribution } from './render/pod-template';
import { renderClientService } from './render/services';
import * as scripts from './replication-scripts';
import { InstanceSpec, ReplicaServices } from './resolve';
import { SCRIPTS_DIR } from './shell';

/** The read-write Service (pod 0, the primary) and the read-only one (every Ready pod). */
export class Replication extends Construct {
  constructor(scope: Construct, id: string, spec: InstanceSpec, services: ReplicaServices) {
    super(scope, id);
    renderClientService(this, 'ReadWriteService', spec, services.readWrite,
      { ...spec.selectorLabels, 'statefulset.kubernetes.io/pod-name': `${spec.names.statefulSet}-0` });
    renderClientService(this, 'ReadOnlyService', spec, services.readOnly, spec.selectorLabels);
  }
}

/**
 * What replication adds to every pod: the replication role's environment (its password from an
 * optional Secret key, so that a single instance starts without it), the start step that admits
 * the standbys on pod 0 or clones the primary on the others, the initdb script, and probes that
 * know the roles and the clone.
 */
export function replicationContribution(spec: InstanceSpec): PodContribution {
  const { credentials, primaryHost } = spec.replication;
  const script = (name: string) => `${SCRIPTS_DIR}/${name}`;
  const env: EnvVar[] = [
    { name: 'POSTGRES_REPLICATION_USER', value: credentials.username },
    {
      name: 'POSTGRES_REPLICATION_PASSWORD',
      valueFrom: { secretKeyRef: { name: credentials.secretName, key: credentials.passwordKey, optional: true } },
    },
    { name: 'PRIMARY_HOST', value: primaryHost },
    { name: 'PRIMARY_PORT', value: String(spec.port) },
  ];
  return {
    env,
    scripts: {
      [scripts.START_SCRIPT]: scripts.START,
      [scripts.INITDB_SCRIPT]: scripts.INITDB,
      [scripts.READINESS_SCRIPT]: scripts.READINESS,
      [scripts.PROBE_SCRIPT]: scripts.PROBE,
    },
    startSteps: [script(scripts.START_SCRIPT)],
    initdbFiles: [{
      configMap: {
        name: spec.names.scripts,
        items: [{ key: scripts.INITDB_SCRIPT, path: scripts.INITDB_SCRIPT_TARGET, mode: 0o555 }],
      },
    }],
    probeCommands: {
      startup: ['sh', script(scripts.PROBE_SCRIPT), 'startup'],
      readiness: ['sh', script(scripts.READINESS_SCRIPT)],
      liveness: ['sh', script(scripts.PROBE_SCRIPT), 'liveness'],
    },
  };
}

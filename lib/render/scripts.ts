// Render: the ConfigMap of the scripts the pods run (internal), from what the features contribute.
import { Construct } from 'constructs';
import * as k8s from '../../imports/k8s';
import { InstanceSpec } from '../resolve';
import { PodContribution } from './pod-template';

/** The ConfigMap the pods mount at SCRIPTS_DIR; none when no feature has a script. */
export function renderScripts(scope: Construct, spec: InstanceSpec, contributions: PodContribution[]): k8s.KubeConfigMap | undefined {
  const data = Object.assign({}, ...contributions.map((c) => c.scripts ?? {}));
  if (Object.keys(data).length === 0) {
    return undefined;
  }
  return new k8s.KubeConfigMap(scope, 'Scripts', {
    metadata: { name: spec.names.scripts, namespace: spec.namespace, labels: spec.labels },
    data,
  });
}

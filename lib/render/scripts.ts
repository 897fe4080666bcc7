// Render: the ConfigMap of the scripts the pods run (internal), from what the features contribute.
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import * as k8s from '../../imports/k8s';
import { InstanceSpec } from '../resolve';
import { renderObject } from './manifest';
import { PodContribution } from './pod-template';

/** The ConfigMap the pods mount at SCRIPTS_DIR; none when no feature has a script. */
export function renderScripts(scope: Construct, spec: InstanceSpec, contributions: PodContribution[]): ApiObject | undefined {
  const data = Object.assign({}, ...contributions.map((c) => c.scripts ?? {}));
  if (Object.keys(data).length === 0) {
    return undefined;
  }
  return renderObject(scope, 'Scripts', k8s.KubeConfigMap, {
    metadata: { name: spec.names.scripts, namespace: spec.namespace, labels: spec.labels },
    data,
  });
}

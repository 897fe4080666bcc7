// Render: the PodDisruptionBudget (internal).
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import * as k8s from '../../imports/k8s';
import { InstanceSpec } from '../resolve';
import { renderObject } from './manifest';

/** `maxUnavailable: 1`: node drains take down one pod at a time; none when switched off. */
export function renderDisruptionBudget(scope: Construct, spec: InstanceSpec): ApiObject | undefined {
  if (!spec.podDisruptionBudget) {
    return undefined;
  }
  return renderObject(scope, 'DisruptionBudget', k8s.KubePodDisruptionBudget, {
    metadata: { namespace: spec.namespace, labels: spec.labels },
    spec: { maxUnavailable: 1, selector: { matchLabels: spec.selectorLabels } },
  });
}

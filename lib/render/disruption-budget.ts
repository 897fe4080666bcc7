// Render: the PodDisruptionBudget (internal).
import { Construct } from 'constructs';
import * as k8s from '../../imports/k8s';
import { InstanceSpec } from '../resolve';

/** `maxUnavailable: 1`: node drains take down one pod at a time; none when switched off. */
export function renderDisruptionBudget(scope: Construct, spec: InstanceSpec): k8s.KubePodDisruptionBudget | undefined {
  if (!spec.podDisruptionBudget) {
    return undefined;
  }
  return new k8s.KubePodDisruptionBudget(scope, 'DisruptionBudget', {
    metadata: { namespace: spec.namespace, labels: spec.labels },
    spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: spec.selectorLabels } },
  });
}

// Render: the NetworkPolicy that admits only the allowed clients (internal).
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { InstanceSpec } from '../resolve';

/**
 * A NetworkPolicy that denies every ingress to the pods but the allowed peers' (added with
 * `admit`); none without `allowedClients`. With replication, the pods admit each other
 * (standbys stream from the primary).
 */
export function renderNetworkPolicy(scope: Construct, spec: InstanceSpec): kplus.NetworkPolicy | undefined {
  if (spec.allowedClients === undefined) {
    return undefined;
  }
  const pods = kplus.Pods.select(scope, 'Pods', { labels: spec.selectorLabels });
  const policy = new kplus.NetworkPolicy(scope, 'NetworkPolicy', {
    metadata: { namespace: spec.namespace, labels: spec.labels },
    selector: pods,
    ingress: { default: kplus.NetworkPolicyTrafficDefault.DENY },
  });
  if (spec.replication.services) {
    admit(policy, spec, pods);
  }
  return policy;
}

/** Admits a peer to the PostgreSQL port. */
export function admit(policy: kplus.NetworkPolicy, spec: InstanceSpec, peer: kplus.INetworkPolicyPeer): void {
  policy.addIngressRule(peer, [kplus.NetworkPolicyPort.tcp(spec.port)]);
}

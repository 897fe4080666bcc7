// Render: the NetworkPolicy that admits only the allowed clients (internal).
import { ApiObject } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct, IConstruct } from 'constructs';
import { Problems, Report } from '../problems';
import { sortedKeys } from '../stable-json';
import { InstanceSpec } from '../resolve';
import { apiObjectOf, editAtSynth, isConnected, noPodTemplate, PodTemplateJson, renderPods, WORKLOAD_KINDS } from '../workload';

/**
 * A NetworkPolicy that denies every ingress to the pods but the allowed peers' (added with
 * `admitClient`); none without `allowedClients`. With replication, the pods admit each other
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

/** Admits a cdk8s-plus peer (pods, namespaces, an IP block) to the PostgreSQL port. */
export function admit(policy: kplus.NetworkPolicy, spec: InstanceSpec, peer: kplus.INetworkPolicyPeer): void {
  policy.addIngressRule(peer, [kplus.NetworkPolicyPort.tcp(spec.port)]);
}

/**
 * Admits a client to the PostgreSQL port: a workload of any kind and origin by the selector of
 * its pods, read when the policy renders; another NetworkPolicy peer of cdk8s-plus (pods or
 * namespaces selected by labels, an IP block) as cdk8s-plus renders it. A workload kind goes by
 * its pods even when it is a cdk8s-plus peer too, so that every major of cdk8s-plus and every
 * imported class gives the same rule.
 */
export function admitClient(db: IConstruct, policy: kplus.NetworkPolicy, spec: InstanceSpec, peer: IConstruct): void {
  const object = apiObjectOf(peer);
  const isPlusPeer = typeof (peer as Partial<kplus.INetworkPolicyPeer>).toNetworkPolicyPeerConfig === 'function';
  const problems = Problems.of(db, `allowFrom(${peer.node.path})`);
  if (object && (WORKLOAD_KINDS.includes(object.kind) || !isPlusPeer)) {
    const admitted = ADMITTED.get(policy) ?? new Set<ApiObject>();
    ADMITTED.set(policy, admitted);
    if (admitted.has(object)) {
      return; // allowedClients and connect(), or two connect() calls: one rule
    }
    const marker = String(admitted.size); // a number for each workload the policy admits, in order
    admitted.add(object);
    problems.checkAtSynth((add) => {
      const pod = readPods(db, object, peer, add);
      if (pod && !pod.selector) {
        add('peer', peer.node.path, 'has no labels on its pods for the NetworkPolicy to admit them by', 'give its pod template labels (or a selector)');
      }
    });
    // A rule in its place among cdk8s-plus's (rules stay in the order they were added), for pods
    // no other pod has; at synth its peer becomes the workload's pods.
    admit(policy, spec, kplus.Pods.select(db, `AdmittedWorkload${marker}`, { labels: { [PLACEHOLDER_LABEL]: marker } }));
    editAtSynth(ApiObject.of(policy), (json) => {
      const rules: any[] = Array.isArray(json?.spec?.ingress) ? json.spec.ingress : [];
      const at = rules.findIndex((r) => r?.from?.[0]?.podSelector?.matchLabels?.[PLACEHOLDER_LABEL] === marker);
      if (at < 0) {
        return;
      }
      const pod = renderPods(object).pod;
      if (!pod?.selector) {
        rules.splice(at, 1); // reported at synth
        return;
      }
      const namespaceSelector = pod.namespace !== undefined ? { matchLabels: { [kplus.Namespace.NAME_LABEL]: pod.namespace } } : undefined;
      rules[at] = { ...rules[at], from: [sortedKeys(namespaceSelector ? { namespaceSelector, podSelector: pod.selector } : { podSelector: pod.selector })] };
    });
  } else if (isPlusPeer) {
    admit(policy, spec, peer as kplus.INetworkPolicyPeer);
  } else {
    problems.add('peer', peer.node.path,
      'is neither a workload (an ApiObject with a pod template, or a construct whose default child is one) nor a NetworkPolicy peer of cdk8s-plus',
      'pass the workload, or pods or namespaces selected with cdk8s-plus (Pods.select(), Namespaces.select())');
  }
}

/** The workloads a policy admits already, in the order they were admitted. */
const ADMITTED = new WeakMap<kplus.NetworkPolicy, Set<ApiObject>>();

/** The label of the pod selector that holds a workload's place among the rules until synth. */
const PLACEHOLDER_LABEL = 'postgres-statefulset.io/admitted-workload';

/** The pods of a peer, read at synth; reports a peer that has none, unless connect() already did. */
function readPods(db: IConstruct, object: ApiObject, peer: IConstruct, add: Report): PodTemplateJson | undefined {
  const { kind, pod, error } = renderPods(object);
  if (isConnected(db, object)) {
    return pod;
  }
  if (error !== undefined) {
    add('peer', peer.node.path, error, 'fix the workload, or admit another one');
  } else if (!pod) {
    add('peer', peer.node.path, noPodTemplate(kind),
      'admit a Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob or Pod, or pods selected with cdk8s-plus (Pods.select())');
  }
  return pod;
}

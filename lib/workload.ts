// The user's workloads, whatever built them (internal): a cdk8s-plus workload of any major, an
// object of an app's own `cdk8s import` (KubeDeployment, KubeJob, ...) or a plain ApiObject. They
// all end as an ApiObject whose JSON holds a pod template at a known path; cdk8s-plus renders its
// spec lazily, so the template is read from the object's JSON at synth, never at the call.
import { ApiObject } from 'cdk8s';
import { IConstruct } from 'constructs';

/** Kinds whose objects run pods from a template (or are a pod). */
export const WORKLOAD_KINDS = ['Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ReplicationController', 'Job', 'CronJob'];

/**
 * The ApiObject a construct is, or holds as its default child (a cdk8s-plus workload's
 * `Resource`), searched down the default children; undefined when there is none.
 */
export function apiObjectOf(construct: IConstruct): ApiObject | undefined {
  let current: IConstruct | undefined = construct;
  while (current !== undefined) {
    if (ApiObject.isApiObject(current)) {
      return current;
    }
    current = current.node.defaultChild;
  }
  return undefined;
}

/** A label selector as Kubernetes writes it. */
export interface LabelSelectorJson {
  readonly matchLabels?: { [key: string]: string };
  readonly matchExpressions?: unknown[];
}

/** The pod part of a workload's rendered JSON. */
export interface PodTemplateJson {
  /** The pod spec (`spec` of a Pod, `spec.template.spec`, or a CronJob's `spec.jobTemplate.spec.template.spec`). */
  readonly spec: any;
  /** What selects the pods: the workload's selector, else the pod labels; undefined when neither has a label. */
  readonly selector?: LabelSelectorJson;
  /** The workload's namespace, when written on it. */
  readonly namespace?: string;
}

/** The pod template of a rendered object, or undefined when it has none at the usual paths. */
export function podTemplateOf(json: any): PodTemplateJson | undefined {
  const spec = json?.spec;
  const namespace: string | undefined = json?.metadata?.namespace;
  if (Array.isArray(spec?.containers)) {
    return { spec, selector: labelSelector(undefined, json.metadata?.labels), namespace }; // a Pod
  }
  const owner = spec?.jobTemplate?.spec?.template ? spec.jobTemplate.spec : spec; // a CronJob's Job
  const template = owner?.template;
  if (!template || typeof template.spec !== 'object' || template.spec === null) {
    return undefined;
  }
  return { spec: template.spec, selector: labelSelector(owner.selector, template.metadata?.labels), namespace };
}

/** The containers of a pod template (the one named, or all; init containers excepted). */
export function containersOf(pod: PodTemplateJson, name?: string): any[] {
  const containers: any[] = Array.isArray(pod.spec.containers) ? pod.spec.containers : [];
  return name === undefined ? containers : containers.filter((c) => c?.name === name);
}

/** An object rendered now to read its pod template: its kind and pod template, or why it cannot be rendered. */
export function renderPods(object: ApiObject): { readonly kind?: string; readonly pod?: PodTemplateJson; readonly error?: string } {
  let json: any;
  try {
    json = object.toJson();
  } catch (e) {
    return { error: `cannot be rendered to read its pod template (${(e as Error).message})` };
  }
  return { kind: json?.kind, pod: podTemplateOf(json) };
}

/** What is wrong with an object of `kind` that has no pod template. */
export function noPodTemplate(kind: string | undefined): string {
  return `has no pod template: a ${kind ?? 'object'} has none at spec.template, spec.jobTemplate.spec.template or spec`;
}

/**
 * The workload's selector (a LabelSelector, or a ReplicationController's map of labels), else
 * its pod labels.
 */
function labelSelector(selector: any, podLabels: any): LabelSelectorJson | undefined {
  if (selector && typeof selector === 'object') {
    const isLabelSelector = 'matchLabels' in selector || 'matchExpressions' in selector;
    const result: LabelSelectorJson = isLabelSelector ? selector : { matchLabels: selector };
    if (Object.keys(result.matchLabels ?? {}).length > 0 || (result.matchExpressions ?? []).length > 0) {
      return result;
    }
  }
  return podLabels && Object.keys(podLabels).length > 0 ? { matchLabels: podLabels } : undefined;
}

const CONNECTED = new WeakMap<IConstruct, WeakSet<ApiObject>>();

/** Records that `connect()` of a database checks the pod template of an object (so that allowFrom does not report it again). */
export function markConnected(db: IConstruct, object: ApiObject): void {
  const objects = CONNECTED.get(db) ?? new WeakSet<ApiObject>();
  objects.add(object);
  CONNECTED.set(db, objects);
}

/** Whether `connect()` of a database checks the pod template of an object. */
export function isConnected(db: IConstruct, object: ApiObject): boolean {
  return CONNECTED.get(db)?.has(object) ?? false;
}

/** A change to an object's rendered JSON, made in place on the fresh copy each render returns. */
export type JsonEdit = (json: any) => void;

const EDITS = new WeakMap<ApiObject, JsonEdit[]>();

/**
 * Edits an object's JSON every time it is rendered, after its own rendering (cdk8s-plus's lazy
 * spec, JSON patches and the conversion to Kubernetes' field names), in the order the edits
 * were added. This is how the library adds to objects it does not own, whatever built them.
 */
export function editAtSynth(object: ApiObject, edit: JsonEdit): void {
  const edits = EDITS.get(object);
  if (edits) {
    edits.push(edit);
    return;
  }
  const list = [edit];
  EDITS.set(object, list);
  const render = object.toJson;
  Object.defineProperty(object, 'toJson', {
    configurable: true,
    writable: true,
    value: function toJson(this: ApiObject) {
      const json = render.call(this);
      list.forEach((e) => e(json));
      return json;
    },
  });
}

/**
 * Sets a field of an object the way cdk8s writes objects: keys in alphabetical order (as its
 * rendering and the imported classes write them), unless the object's keys are in another order.
 */
export function setField(target: any, key: string, value: unknown): void {
  const keys = Object.keys(target);
  if (key in target || !isSorted(keys)) {
    target[key] = value;
    return;
  }
  const entries = Object.entries(target);
  for (const k of keys) {
    delete target[k];
  }
  for (const [k, v] of [...entries, [key, value] as [string, unknown]].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    target[k] = v;
  }
}

function isSorted(keys: string[]): boolean {
  return keys.every((k, i) => i === 0 || keys[i - 1] <= k);
}

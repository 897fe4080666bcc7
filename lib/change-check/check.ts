// The change check (internal): pairs each PostgreSQL StatefulSet of the new manifests with the
// same StatefulSet in the baseline, and runs every rule on each pair; instances only on one side
// are new or removed.
import { clientChanges } from './clients';
import { dataLocationChanges, portChanges } from './data-location';
import { Change, claims, Finding, InstanceReport, kubectl, SEVERITY_ORDER } from './findings';
import { variantChanges } from './image-variant';
import { ignoredChanges, secretValues, SecretValues } from './initialisation';
import { Instance, readInstance } from './instance';
import { majorChanges } from './major-version';
import { otherObjectChanges } from './other-objects';
import { CheckInputError, ManifestSet, SourcedObject } from './manifests';
import { rejectedChanges } from './statefulset-spec';

export interface CheckOptions {
  /**
   * The baseline is the cluster (`kubectl get`; so is a List, which is what kubectl prints): its
   * StatefulSets that the manifests do not have are someone else's, not removed; an object
   * without a namespace is compared with the one in kubectl's current namespace.
   */
  readonly live?: boolean;
}

export interface CheckResult {
  /** What was compared with what. */
  readonly manifests: string;
  readonly baseline: string;
  /** The instances on both sides, with what changed (an empty list of findings: nothing to report). */
  readonly changed: InstanceReport[];
  /** New instances, and removed ones (not with a baseline from the cluster), with their notes or problems. */
  readonly added: InstanceReport[];
  readonly removed: InstanceReport[];
  /**
   * Other objects on both sides whose change the API server refuses or limits (claims of their own,
   * Jobs), by `<kind> <namespace>/<name>`; none with a baseline from the cluster.
   */
  readonly objects: InstanceReport[];
  /** StatefulSets of the new manifests that do not run PostgreSQL. */
  readonly otherStatefulSets: number;
  /** With a baseline from the cluster: its PostgreSQL StatefulSets that the manifests do not have. */
  readonly notInManifests: number;
}

interface Read {
  readonly instance: Instance;
  /** For objects from kubectl: the namespace kubectl was asked for ('' for its current one). */
  readonly namespaceAsked?: string;
}

function instances(set: ManifestSet): { found: Read[]; others: number } {
  const found: Read[] = [];
  const seen = new Set<string>();
  let others = 0;
  for (const { object, source, namespaceAsked } of set.objects as SourcedObject[]) {
    if (object.kind !== 'StatefulSet') {
      continue;
    }
    const instance = readInstance(object, source);
    if (instance === undefined) {
      others++;
    } else if (!seen.has(instance.id)) {
      seen.add(instance.id);
      found.push({ instance, namespaceAsked });
    }
  }
  return { found, others };
}

/**
 * The baseline's instance for a new one: the same namespace and name. From the cluster, an object
 * without a namespace goes to kubectl's current namespace: it is the one of that name there (the
 * one kubectl listed without -n, or the only one of that name in a saved List).
 */
function baselineOf(after: Instance, old: Read[], cluster: boolean): Read | undefined {
  const exact = old.find((r) => r.instance.name === after.name && (r.instance.namespace ?? '') === (after.namespace ?? ''));
  if (exact !== undefined || !cluster || after.namespace !== undefined) {
    return exact;
  }
  const named = old.filter((r) => r.instance.name === after.name && (r.namespaceAsked === undefined || r.namespaceAsked === ''));
  return named.length === 1 ? named[0] : undefined;
}

/** Compares the new manifests with the baseline. Throws CheckInputError when the baseline has no StatefulSet at all. */
export function checkChanges(baseline: ManifestSet, next: ManifestSet, options: CheckOptions = {}): CheckResult {
  // objects from the cluster (kubectl, or its List saved to a file): those the manifests lack are not removed
  const cluster = options.live === true || baseline.listed;
  if (!baseline.listed && !baseline.objects.some((o) => o.object.kind === 'StatefulSet')) {
    const kinds = [...new Set(baseline.objects.map((o) => o.object.kind))].sort();
    throw new CheckInputError(`the baseline ${baseline.description} holds no StatefulSet${kinds.length > 0 ? ` (only ${kinds.join(', ')})` : ''}: nothing to compare with. `
      + 'A baseline is manifests as synthesized (dist/, or a git commit of it), or `kubectl get statefulsets -o json`.');
  }
  const old = instances(baseline);
  const now = instances(next);
  const secrets: SecretValues = { before: secretValues(baseline.objects.map((o) => o.object)), after: secretValues(next.objects.map((o) => o.object)) };
  const matched = new Set<Read>();
  const pairs = now.found.map(({ instance: after }) => {
    const before = baselineOf(after, old.found, cluster);
    if (before !== undefined) {
      matched.add(before);
    }
    return { after, before: before?.instance };
  });
  const unmatched = old.found.filter((r) => !matched.has(r)).map((r) => r.instance);

  const changed: InstanceReport[] = [];
  const added: InstanceReport[] = [];
  for (const { after, before } of pairs) {
    if (before === undefined) {
      added.push({ id: after.id, source: after.source, findings: [newInstance(after, unmatched)] });
      continue;
    }
    const change: Change = { before, after, applyFile: after.source, staleServices: staleServices(before, baseline, next) };
    const findings: Finding[] = [
      ...rejectedChanges(change),
      ...majorChanges(change),
      ...variantChanges(change),
      ...dataLocationChanges(change),
      ...ignoredChanges(change, secrets),
      ...portChanges(change),
      ...clientChanges(change),
    ].sort((a, b) => SEVERITY_ORDER.indexOf(a.severity) - SEVERITY_ORDER.indexOf(b.severity));
    changed.push({ id: after.id, source: after.source, baselineSource: before.source, findings });
  }
  const removed = cluster ? [] : unmatched.map((before) => ({ id: before.id, baselineSource: before.source, findings: [removedInstance(before)] }));
  return {
    manifests: next.description,
    baseline: baseline.description,
    changed,
    added,
    removed,
    objects: cluster ? [] : otherObjectChanges(baseline.objects, next.objects),
    otherStatefulSets: now.others,
    notInManifests: cluster ? unmatched.length : 0,
  };
}

/** Services of the baseline, in the instance's namespace, that select its pods and that the new manifests do not have. */
function staleServices(before: Instance, baseline: ManifestSet, next: ManifestSet): string[] {
  const key = (o: any) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;
  const kept = new Set(next.objects.filter((o) => o.object.kind === 'Service').map((o) => key(o.object)));
  const labels: { [k: string]: string } = before.object.spec?.template?.metadata?.labels ?? {};
  const selects = (selector: { [k: string]: string }) => Object.entries(selector).length > 0 && Object.entries(selector)
    .every(([k, v]) => labels[k] === v || (k === 'statefulset.kubernetes.io/pod-name' && String(v).startsWith(`${before.name}-`)));
  return baseline.objects.map((o) => o.object)
    .filter((o) => o.kind === 'Service' && (o.metadata?.namespace ?? '') === (before.namespace ?? '') && !kept.has(key(o)) && selects(o.spec?.selector ?? {}))
    .map((o) => String(o.metadata.name));
}

function sameLabels(a: any, b: any): boolean {
  return a !== undefined && b !== undefined && JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());
}

/** A new instance: empty claims, a new database; unsafe when it looks like an existing instance renamed or moved. */
function newInstance(after: Instance, unmatched: Instance[]): Finding {
  const template = after.dataMount?.volume ?? 'data';
  const predecessor = unmatched.find((before) => (before.name === after.name && before.namespace !== after.namespace)
    || ((before.namespace ?? '') === (after.namespace ?? '') && (
      (before.object.spec?.serviceName !== undefined && before.object.spec.serviceName === after.object.spec?.serviceName)
      || sameLabels(before.object.spec?.selector?.matchLabels, after.object.spec?.selector?.matchLabels))));
  if (predecessor !== undefined) {
    const moved = predecessor.name === after.name;
    const shares = sameLabels(predecessor.object.spec?.selector?.matchLabels, after.object.spec?.selector?.matchLabels) && !moved
      ? ` Both have the same selector: while ${predecessor.id} exists (\`kubectl apply\` does not delete it), Services that select by it send clients to the pods of both, some to the old database and some to the new, empty one.`
      : '';
    return {
      severity: 'unsafe',
      category: 'data left behind',
      title: `new StatefulSet ${after.id} looks like ${predecessor.id} ${moved ? 'moved to another namespace' : 'renamed'}`,
      explanation: [`A StatefulSet's pods use the claims named after it, in its namespace: ${after.id} gets new, empty claims (${claims(after, template).join(', ')}) and initialises a new, empty database, while the data stays in ${claims(predecessor, predecessor.dataMount?.volume ?? 'data').join(', ')}${predecessor.namespace ? ` in ${predecessor.namespace}` : ''}.${shares}`],
      steps: [{ say: `Keep the name and namespace (statefulSetName: '${predecessor.name}'${predecessor.namespace ? `, namespace ${predecessor.namespace}` : ''}); or move the data: create the new instance, copy the data into it (pg_dumpall | psql), switch the clients, then delete ${predecessor.id} and its claims.` }],
    };
  }
  return {
    severity: 'note',
    category: 'new',
    title: `new instance ${after.id}`,
    explanation: [`Its pods get new, empty claims (${claims(after, template).join(', ')}) and initialise a new database.`],
    steps: [],
  };
}

/** A removed instance: `kubectl apply` leaves it running, and its claims outlive it by default. */
function removedInstance(before: Instance): Finding {
  const template = before.dataMount?.volume ?? 'data';
  const claimsKept = before.whenDeleted === 'Delete'
    ? `Its persistentVolumeClaimRetentionPolicy.whenDeleted is Delete: deleting the StatefulSet deletes its claims (${claims(before, template).join(', ')}) and the data.`
    : `Deleting the StatefulSet keeps its claims (${claims(before, template).join(', ')}) and the data: persistentVolumeClaimRetentionPolicy.whenDeleted is Retain. Delete them when the data is no longer needed.`;
  return {
    severity: 'note',
    category: 'removed',
    title: `removed instance ${before.id}`,
    explanation: [`\`kubectl apply -f\` does not delete it: it keeps running until it is deleted. ${claimsKept}`],
    steps: [{ say: 'To remove it:', commands: [kubectl(before, 'delete', 'statefulset', before.name)] }],
  };
}

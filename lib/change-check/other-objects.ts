// The change check's rules for objects other than the instances' StatefulSets (internal): those
// the API server refuses to change in place, found in both the baseline and the new manifests
// under the same kind, namespace and name. A claim of its own (the backup claim, whose default
// size follows the data volume's) takes only a larger storage request, and only where its class
// allows expansion; a Job's pod template never changes. Objects from the cluster (--live: kubectl
// lists StatefulSets only) are not compared here.
import { stableJson } from '../stable-json';
import { Finding, InstanceReport, kubectl, storageClassCheck } from './findings';
import { SourcedObject } from './manifests';
import { compareQuantities, parseQuantity } from './quantity';

const show = (value: unknown) => (value === undefined ? '(not set)' : JSON.stringify(value));

/** Where an object is, for `kubectl -n`. */
const at = (object: any) => ({ namespace: object.metadata?.namespace });

/** The objects of `kind` by `<namespace>/<name>`, the first of each (the sets are already checked for duplicates by cdk8s). */
function byKey(objects: readonly SourcedObject[], kind: string): Map<string, SourcedObject> {
  const found = new Map<string, SourcedObject>();
  for (const sourced of objects) {
    const o = sourced.object;
    const key = `${o?.metadata?.namespace ?? ''}/${o?.metadata?.name}`;
    if (o?.kind === kind && typeof o.metadata?.name === 'string' && !found.has(key)) {
      found.set(key, sourced);
    }
  }
  return found;
}

const idOf = (o: any) => `${o.kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;

/** A claim of its own: its spec is fixed once created, except a larger storage request. */
function claimFindings(before: any, after: any): Finding[] {
  const findings: Finding[] = [];
  const name = after.metadata.name;
  const recreate = `Keep it as it was (for the backup claim: give BackupStorage.newClaim() the class, access modes and size it has); or create a claim under another name, copy what it holds, and point the instance at it.`;
  for (const field of ['storageClassName', 'accessModes', 'volumeMode'] as const) {
    const [a, b] = [before.spec?.[field], after.spec?.[field]];
    if (a === undefined && b !== undefined) {
      // the claim got the API server's default then (the cluster's default class, Filesystem): the same value is no change
      findings.push({
        severity: 'note',
        category: 'claim field set',
        title: `${field} of PersistentVolumeClaim ${name}: (not set) -> ${show(b)}`,
        explanation: [`The claim got a default ${field} when it was created. If that is ${show(b)}, nothing changes; otherwise \`kubectl apply\` fails for this object ("spec is immutable after creation except resources.requests").`],
        steps: [{ say: 'Compare with what the claim has:', commands: [kubectl(at(after), 'get', 'pvc', name, '-o', `jsonpath={.spec.${field}}`)] }],
      });
    } else if (stableJson(a) !== stableJson(b)) {
      findings.push({
        severity: 'rejected',
        category: 'rejected by the API server',
        title: `${field} of PersistentVolumeClaim ${name}: ${show(a)} -> ${show(b)}`,
        explanation: ['A claim\'s spec cannot change once it exists, except a larger storage request: `kubectl apply` fails for this object ("spec is immutable after creation except resources.requests").'],
        steps: [{ say: recreate }],
      });
    }
  }
  const [a, b] = [before.spec?.resources?.requests?.storage, after.spec?.resources?.requests?.storage];
  const [qa, qb] = [parseQuantity(a), parseQuantity(b)];
  if (qa && qb && compareQuantities(qa, qb) !== 0) {
    const className = after.spec?.storageClassName ?? before.spec?.storageClassName;
    if (compareQuantities(qb, qa) < 0) {
      findings.push({
        severity: 'rejected',
        category: 'rejected by the API server',
        title: `storage of PersistentVolumeClaim ${name}: ${qa.text} -> ${qb.text}: shrinking a claim is impossible`,
        explanation: ['Kubernetes never shrinks a claim: `kubectl apply` fails for this object ("field can not be less than previous value").'],
        steps: [{ say: `Keep it at ${qa.text} (for the backup claim, whose default size is twice the data volume's: BackupStorage.newClaim({ size: Size.gibibytes(...) })).` }],
      });
    } else {
      findings.push({
        severity: 'note',
        category: 'claim grows',
        title: `storage of PersistentVolumeClaim ${name}: ${qa.text} -> ${qb.text} (grows)`,
        explanation: ['The API server accepts a larger request only when the claim\'s storage class allows volume expansion; otherwise `kubectl apply` fails for this object. (The backup claim\'s default size is twice the data volume\'s: it grows with `storage`.)'],
        steps: [{
          say: 'Check that the class allows expansion: this must print true. If it does not, keep the claim\'s size (for the backup claim: BackupStorage.newClaim({ size })).',
          commands: typeof className === 'string' && className !== ''
            ? [storageClassCheck(className)]
            : [
              `${kubectl(at(after), 'get', 'pvc', name, '-o', 'jsonpath={.spec.storageClassName}')}   # the class the claim got (the cluster's default when it was created)`,
              storageClassCheck('<that class>'),
            ],
        }],
      });
    }
  }
  return findings;
}

/** A Job whose pod template changed under the same name. */
function jobFindings(before: any, after: any): Finding[] {
  if (stableJson(before.spec?.template) === stableJson(after.spec?.template)) {
    return [];
  }
  return [{
    severity: 'rejected',
    category: 'rejected by the API server',
    title: `the pod template of Job ${after.metadata.name} changes`,
    explanation: ['A Job\'s pod template cannot change once the Job exists: `kubectl apply` fails for this object ("field is immutable"). (PostgresSmokeTest names its Job after a hash of its template, so that a changed test is a new Job.)'],
    steps: [
      { say: 'Delete the Job (it has run; its pods go with it), then apply: the new one runs.', commands: [kubectl(at(before), 'delete', 'job', before.metadata.name)] },
    ],
  }];
}

/** Reports on the claims and Jobs found on both sides whose changes the API server refuses or limits. */
export function otherObjectChanges(baseline: readonly SourcedObject[], next: readonly SourcedObject[]): InstanceReport[] {
  const reports: InstanceReport[] = [];
  const rules: Array<[string, (before: any, after: any) => Finding[]]> = [['PersistentVolumeClaim', claimFindings], ['Job', jobFindings]];
  for (const [kind, rule] of rules) {
    const old = byKey(baseline, kind);
    for (const [key, now] of byKey(next, kind)) {
      const was = old.get(key);
      const findings = was ? rule(was.object, now.object) : [];
      if (findings.length > 0) {
        reports.push({ id: idOf(now.object), source: now.source, baselineSource: was!.source, findings });
      }
    }
  }
  return reports;
}

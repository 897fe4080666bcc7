// Changes to a StatefulSet's spec that the API server refuses as an update (internal):
// `Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals',
// 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds'`.
// The rest of the spec is compared as the API server compares it: with its defaults filled in
// (a live object has them, a manifest does not) and quantities by value.
import { Change, claims, claimSelector, Finding, kubectl, pods, replaceStatefulSet, sh, Step, storageClassCheck } from './findings';
import { compareQuantities, parseQuantity } from './quantity';

/** The spec fields an update may change. */
const MUTABLE = new Set(['replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy', 'minReadySeconds']);
/** What the API server fills in when a field is absent. */
const SPEC_DEFAULTS: { [field: string]: unknown } = { podManagementPolicy: 'OrderedReady', revisionHistoryLimit: 10 };
const CATEGORY = 'rejected by the API server';
const FORBIDDEN = 'The API server refuses to update this field of an existing StatefulSet (`Forbidden: updates to statefulset spec for fields other than ...`): `kubectl apply` fails.';

/** Deep equality of JSON values, with quantities (strings or numbers that parse as one) compared by value where `quantities` says. */
function same(a: unknown, b: unknown, quantities = false): boolean {
  if (quantities) {
    const [qa, qb] = [parseQuantity(a), parseQuantity(b)];
    if (qa && qb) {
      return compareQuantities(qa, qb) === 0;
    }
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => same(v, b[i], quantities));
  }
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].every((k) => same((a as any)[k], (b as any)[k], quantities || k === 'resources'));
  }
  return a === b || (a === undefined && b === null) || (a === null && b === undefined);
}

/** A claim template as the API server keeps it: volumeMode defaulted; apiVersion, kind, status and empty metadata dropped. */
function normalClaimTemplate(template: any): any {
  const metadata = Object.fromEntries(Object.entries(template?.metadata ?? {})
    .filter(([key, value]) => ['name', 'labels', 'annotations'].includes(key) && value !== null && !(typeof value === 'object' && Object.keys(value as object).length === 0)));
  return { metadata, spec: { volumeMode: 'Filesystem', ...(template?.spec ?? {}) } };
}

function show(value: unknown): string {
  return value === undefined || value === null ? '(not set)' : typeof value === 'string' ? value : JSON.stringify(value);
}

/** Every change to the StatefulSet's spec that an update cannot make, with the steps that make it. */
export function rejectedChanges(change: Change): Finding[] {
  const before = change.before.object.spec ?? {};
  const after = change.after.object.spec ?? {};
  const fields = [...new Set([...Object.keys(before), ...Object.keys(after), ...Object.keys(SPEC_DEFAULTS)])].filter((f) => !MUTABLE.has(f));
  const selectorChanged = !same(before.selector, after.selector);
  const findings: Finding[] = [];
  for (const field of fields) {
    if (field === 'volumeClaimTemplates') {
      findings.push(...claimTemplateChanges(change, selectorChanged));
      continue;
    }
    const [a, b] = [before[field] ?? SPEC_DEFAULTS[field], after[field] ?? SPEC_DEFAULTS[field]];
    if (same(a, b)) {
      continue;
    }
    if (field === 'serviceName') {
      findings.push(serviceNameChange(change, a, b));
    } else if (field === 'selector') {
      findings.push(selectorChange(change, a, b));
    } else if (field === 'podManagementPolicy') {
      findings.push({
        severity: 'rejected',
        category: CATEGORY,
        title: `podManagementPolicy: ${show(a)} -> ${show(b)}`,
        explanation: [FORBIDDEN,
          'The policy only says how pods are started and stopped (OrderedReady: one at a time, in order; Parallel: together); the running pods are not affected by replacing the object.'],
        steps: replaceStatefulSet(change),
      });
    } else {
      findings.push({
        severity: 'rejected',
        category: CATEGORY,
        title: `spec.${field}: ${show(a)} -> ${show(b)}`,
        explanation: [FORBIDDEN],
        steps: replaceStatefulSet(change),
      });
    }
  }
  return findings;
}

function serviceNameChange(change: Change, a: unknown, b: unknown): Finding {
  const { before, after } = change;
  const standbys = pods(before).slice(1);
  const steps: Step[] = [
    ...replaceStatefulSet(change, `this creates the Service ${show(b)} and the new StatefulSet, which adopts the running pods`),
    {
      say: `Restart the pods: a pod's DNS name (<pod>.<service>) is set when the pod is created, so the running pods answer only under ${show(a)} until they are replaced.`,
      commands: [kubectl(after, 'rollout', 'restart', 'statefulset', after.name), kubectl(after, 'rollout', 'status', 'statefulset', after.name)],
    },
  ];
  if (standbys.length > 0) {
    steps.push({
      say: `Rebuild the standbys: each streams from the primary at the host name pg_basebackup wrote into its configuration (${before.name}-0.${show(a)}), which stops resolving. One at a time, after the primary is Ready (the claim is deleted with its data, then cloned again):`,
      commands: standbys.map((pod) => `${kubectl(after, 'delete', 'pvc', `${before.dataMount?.volume ?? 'data'}-${pod}`, '--wait=false')} && ${kubectl(after, 'delete', 'pod', pod)}`),
    });
  }
  const stale = change.staleServices.length > 0 ? change.staleServices : [String(a)];
  steps.push({
    say: `Point clients that use ${show(a)} (or <pod>.${show(a)}) at the new names, then delete the Services the manifests no longer have, which \`kubectl apply\` leaves in place:`,
    commands: [kubectl(before, 'delete', 'service', ...stale)],
  });
  return {
    severity: 'rejected',
    category: CATEGORY,
    title: `serviceName: ${show(a)} -> ${show(b)}`,
    explanation: [FORBIDDEN,
      `serviceName is the headless Service that gives each pod its DNS name (${before.name}-0.${show(a)}). Changing it renames every pod's DNS name: clients and standbys that use the old names lose the database.`],
    steps,
  };
}

function selectorChange(change: Change, a: any, b: any): Finding {
  const { before, after } = change;
  const labels = Object.entries(b?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  const steps: Step[] = [
    replaceStatefulSet(change)[0],
    {
      say: 'Give the running pods the new labels, so that the new StatefulSet adopts them instead of colliding with them (pod names are taken):',
      commands: pods(before).map((pod) => kubectl(before, 'label', 'pod', pod, ...labels, '--overwrite')),
    },
    { say: 'Apply: the new StatefulSet adopts the pods, and its Services select them by the new labels; a rolling update then replaces the pods with ones that carry only the template\'s labels.', commands: [`kubectl apply -f ${sh(change.applyFile)}`] },
  ];
  if (claimSelector(before) !== undefined) {
    steps.push({
      say: 'Label the existing claims too: they keep the labels they were created with, which `kubectl get pvc -l` uses to find them:',
      commands: claims(before, before.dataMount?.volume ?? 'data').map((claim) => kubectl(before, 'label', 'pvc', claim, ...labels, '--overwrite')),
    });
  }
  return {
    severity: 'rejected',
    category: CATEGORY,
    title: `selector: ${show(a?.matchLabels ?? a)} -> ${show(b?.matchLabels ?? b)}`,
    explanation: [FORBIDDEN,
      'The selector is how the StatefulSet (and its Services) find its pods. A StatefulSet with the new selector does not own the running pods, whose names it needs: they must get the new labels first. The claims are found by name (<template>-<pod>), not by label, so the data stays attached.'
      + (after.claimLabels !== undefined ? ' The claim templates\' labels change with it.' : '')],
    steps,
  };
}

/** Changes to the volume claim templates: storage (grown, or not shrinkable), class, access modes, others. */
function claimTemplateChanges(change: Change, selectorChanged: boolean): Finding[] {
  const byName = (list: unknown) => new Map<string, any>(((Array.isArray(list) ? list : []) as any[]).map((t) => [String(t?.metadata?.name), normalClaimTemplate(t)]));
  const before = byName(change.before.object.spec?.volumeClaimTemplates);
  const after = byName(change.after.object.spec?.volumeClaimTemplates);
  const findings: Finding[] = [];
  for (const [name, old] of before) {
    const next = after.get(name);
    if (next === undefined) {
      findings.push({
        severity: 'rejected',
        category: CATEGORY,
        title: `volume claim template ${name} removed`,
        explanation: [FORBIDDEN, `The claims ${claims(change.before, name).join(', ')} stay, with their data, but no pod mounts them any more.`],
        steps: replaceStatefulSet(change),
      });
      continue;
    }
    const { resources: oldResources, storageClassName: oldClass, accessModes: oldModes, ...oldRest } = old.spec;
    const { resources: newResources, storageClassName: newClass, accessModes: newModes, ...newRest } = next.spec;
    const storageChange = storage(change, name, oldResources?.requests?.storage, newResources?.requests?.storage, oldClass);
    if (storageChange) {
      findings.push(storageChange);
    }
    const { requests: oldRequests, ...oldOtherResources } = oldResources ?? {};
    const { requests: newRequests, ...newOtherResources } = newResources ?? {};
    const { storage: _a, ...oldOtherRequests } = oldRequests ?? {};
    const { storage: _b, ...newOtherRequests } = newRequests ?? {};
    if (!same(oldClass, newClass)) {
      findings.push(claimsKeep(change, name, `storage class: ${show(oldClass)} -> ${show(newClass)}`, 'their storage class'));
    }
    if (!same(oldModes, newModes)) {
      findings.push(claimsKeep(change, name, `access modes: ${show(oldModes)} -> ${show(newModes)}`, 'their access modes'));
    }
    const labelsOnly = !same(old.metadata, next.metadata) && same(oldRest, newRest) && same(oldOtherResources, newOtherResources, true) && same(oldOtherRequests, newOtherRequests, true);
    if (!same(old.metadata, next.metadata) && !(selectorChanged && labelsOnly)) {
      findings.push({
        severity: 'rejected',
        category: CATEGORY,
        title: `volume claim template ${name} metadata: ${show(old.metadata)} -> ${show(next.metadata)}`,
        explanation: [FORBIDDEN, 'Existing claims keep the labels and annotations they were created with; only new claims get the new ones.'],
        steps: replaceStatefulSet(change),
      });
    }
    for (const [what, a, b] of [['spec', oldRest, newRest], ['resources', oldOtherResources, newOtherResources], ['requests', oldOtherRequests, newOtherRequests]] as const) {
      if (!same(a, b, what !== 'spec')) {
        findings.push({
          severity: 'rejected',
          category: CATEGORY,
          title: `volume claim template ${name} ${what}: ${show(a)} -> ${show(b)}`,
          explanation: [FORBIDDEN, 'Existing claims keep what they were created with; only claims of new pods get the new template.'],
          steps: replaceStatefulSet(change),
        });
      }
    }
  }
  for (const name of after.keys()) {
    if (!before.has(name)) {
      findings.push({
        severity: 'rejected',
        category: CATEGORY,
        title: `volume claim template ${name} added`,
        explanation: [FORBIDDEN, `Replacing the object creates new, empty claims (${claims(change.after, name).join(', ')}) when the pods are recreated.`],
        steps: replaceStatefulSet(change),
      });
    }
  }
  return findings;
}

/** A change of a claim property that existing claims cannot take (class, access modes). */
function claimsKeep(change: Change, template: string, title: string, what: string): Finding {
  return {
    severity: 'rejected',
    category: CATEGORY,
    title: `volume claim template ${template} ${title}`,
    explanation: [FORBIDDEN,
      `Existing claims (${claims(change.before, template).join(', ')}) cannot change ${what}: they are bound to their volumes. Replacing the StatefulSet object makes only the claims of new pods different, and the pods\' data stays where it is.`,
      'To move the data, create a new instance (another name) with the new setting, copy the data into it (pg_dumpall | psql, or pg_basebackup), switch the clients, then delete the old StatefulSet and its claims. Otherwise keep the old setting.'],
    steps: [{ say: `Keep the setting as it was; or move the data to a new instance as described.` }],
  };
}

/**
 * A change of the storage request: growing takes steps, shrinking is impossible, an equal value is
 * no change. `className` is the class the existing claims were created with.
 */
function storage(change: Change, template: string, a: unknown, b: unknown, className: unknown): Finding | undefined {
  if (same(a, b, true)) {
    return undefined;
  }
  const [qa, qb] = [parseQuantity(a), parseQuantity(b)];
  const title = `storage of ${template}: ${show(a)} -> ${show(b)}`;
  if (!qa || !qb) {
    return { severity: 'rejected', category: CATEGORY, title, explanation: [FORBIDDEN, 'One of the sizes is not a Kubernetes quantity.'], steps: replaceStatefulSet(change) };
  }
  const { before } = change;
  if (compareQuantities(qb, qa) < 0) {
    return {
      severity: 'rejected',
      category: CATEGORY,
      title: `${title}: shrinking storage is impossible`,
      explanation: [FORBIDDEN,
        `Kubernetes never shrinks a claim (a smaller spec.resources.requests.storage is refused), so the pods keep ${qa.text} volumes whatever the StatefulSet says.`,
        'To use less storage, move the data into a new instance with smaller claims (pg_dumpall | psql), switch the clients, then delete the old StatefulSet and its claims.'],
      steps: [{ say: `Keep the storage at ${qa.text}.` }],
    };
  }
  const claimNames = claims(before, template);
  const patch = JSON.stringify({ spec: { resources: { requests: { storage: qb.text } } } });
  const listClaims = claimSelector(before);
  const classCheck = typeof className === 'string' && className !== ''
    ? [storageClassCheck(className)]
    : [
      `${kubectl(before, 'get', 'pvc', claimNames[0], '-o', 'jsonpath={.spec.storageClassName}')}   # the class the claims got (the cluster's default when they were created)`,
      storageClassCheck('<that class>'),
    ];
  return {
    severity: 'rejected',
    category: CATEGORY,
    title: `${title} (grows)`,
    explanation: [FORBIDDEN,
      'A StatefulSet never resizes the claims it already created, so the claims are grown one by one, then the StatefulSet object is replaced (its pods keep running) so that it accepts the new template.'],
    steps: [
      {
        say: 'Check that the claims\' storage class allows volume expansion: this must print true. If it does not, the claims cannot grow in place: keep the old size, or move the data to a new instance with larger claims (pg_dumpall | psql).',
        commands: classCheck,
      },
      {
        say: `Grow each pod's claim${listClaims ? ` (claims kept from an earlier scale-down have higher ordinals and keep their size unless patched too; \`${kubectl(before, 'get', 'pvc', '-l', listClaims)}\` lists them all)` : ''}:`,
        commands: claimNames.map((claim) => kubectl(before, 'patch', 'pvc', claim, '-p', patch)),
      },
      {
        say: 'Wait until each claim reports the new capacity; a FileSystemResizePending condition means the file system grows when the pod restarts (kubectl delete pod <pod>):',
        commands: claimNames.map((claim) => kubectl(before, 'get', 'pvc', claim, '-o', 'jsonpath={.status.capacity.storage}')),
      },
      ...replaceStatefulSet(change),
    ],
  };
}

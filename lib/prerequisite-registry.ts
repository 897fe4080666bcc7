// Prerequisites (internal): what the manifests use but do not contain, which must exist before the
// first `kubectl apply`: the Secrets with the passwords (and their keys), an init scripts ConfigMap
// made elsewhere, the storage class. Constructs register what they need; the list of an app merges
// them and leaves out what the app renders itself.
import { ApiObject } from 'cdk8s';
import { IConstruct } from 'constructs';
import { PostgresPrerequisite, PostgresPrerequisiteKey } from './prerequisite';
import { shellWord } from './shell';

/** A key, and the placeholder of its value in the command. */
export interface KeyNeed extends PostgresPrerequisiteKey {
  readonly placeholder: string;
  /** The value comes from a file (a certificate, a key), not a literal. */
  readonly fromFile?: boolean;
}

/** What a construct needs, before it is merged with what others need. */
export interface Need {
  readonly kind: 'Secret' | 'ConfigMap' | 'StorageClass';
  readonly namespace?: string;
  readonly name: string;
  readonly description: string;
  readonly keys: KeyNeed[];
  readonly requiredBy: string;
  /** The Secret's type, when not Opaque. */
  readonly secretType?: string;
}

type NeedsOf = () => Need[];

const REGISTRY = new WeakMap<IConstruct, NeedsOf[]>();

/** Registers what a construct needs; `needs` runs when the list is asked for, so it may read what was added since. */
export function addNeeds(scope: IConstruct, needs: NeedsOf): void {
  const list = REGISTRY.get(scope) ?? [];
  list.push(needs);
  REGISTRY.set(scope, list);
}

/** What one construct needs, merged (not filtered by what the app renders). */
export function prerequisitesOfConstruct(scope: IConstruct): PostgresPrerequisite[] {
  return merge((REGISTRY.get(scope) ?? []).flatMap((needs) => needs()));
}

/** What every construct under the scopes needs, merged, without what the constructs under them render themselves. */
export function prerequisitesUnder(...scopes: IConstruct[]): PostgresPrerequisite[] {
  const constructs = scopes.flatMap((scope) => scope.node.findAll());
  const objects = constructs.filter((c): c is ApiObject => ApiObject.isApiObject(c));
  const rendered = new Set(objects.map((o) => objectKey(o.kind, o.metadata.namespace, o.name)));
  // the Secrets that cert-manager writes for the app's Certificates
  for (const certificate of objects.filter((o) => o.kind === 'Certificate' && o.apiGroup === 'cert-manager.io')) {
    const secretName = certificate.toJson()?.spec?.secretName;
    if (typeof secretName === 'string') {
      rendered.add(objectKey('Secret', certificate.metadata.namespace, secretName));
    }
  }
  const needs = constructs.flatMap((c) => (REGISTRY.get(c) ?? []).flatMap((n) => n()))
    .filter((need) => !rendered.has(objectKey(need.kind, need.namespace, need.name)));
  return merge(needs);
}

function objectKey(kind: string, namespace: string | undefined, name: string): string {
  return `${kind}\u0000${kind === 'StorageClass' ? '' : namespace ?? ''}\u0000${name}`;
}

/**
 * One prerequisite per object: its keys in the order first needed, each described by the first
 * need of it and optional only when every need of it is.
 */
function merge(needs: Need[]): PostgresPrerequisite[] {
  const byObject = new Map<string, { need: Need; descriptions: string[]; keys: Map<string, KeyNeed>; requiredBy: string[] }>();
  for (const need of needs) {
    const id = objectKey(need.kind, need.namespace, need.name);
    let entry = byObject.get(id);
    if (!entry) {
      entry = { need, descriptions: [], keys: new Map(), requiredBy: [] };
      byObject.set(id, entry);
    } else if (need.secretType !== undefined && entry.need.secretType === undefined) {
      entry.need = { ...entry.need, secretType: need.secretType };
    }
    addOnce(entry.descriptions, need.description);
    addOnce(entry.requiredBy, need.requiredBy);
    for (const key of need.keys) {
      const known = entry.keys.get(key.key);
      if (!known) {
        entry.keys.set(key.key, key);
      } else {
        entry.keys.set(key.key, { ...known, optional: known.optional && key.optional }); // described by its first need
      }
    }
  }
  return [...byObject.values()].map(({ need, descriptions, keys, requiredBy }) => {
    const merged = [...keys.values()];
    return {
      kind: need.kind,
      namespace: need.kind === 'StorageClass' ? undefined : need.namespace,
      name: need.name,
      description: descriptions.join('; '),
      keys: merged.map((k) => ({ key: k.key, description: k.description, optional: k.optional })),
      requiredBy,
      command: command(need, merged),
    };
  });
}

function addOnce(list: string[], item: string): void {
  if (!list.includes(item)) {
    list.push(item);
  }
}

/** The kubectl line that creates the object (or, for a StorageClass, shows it). */
function command(need: Need, keys: KeyNeed[]): string {
  const namespace = need.namespace !== undefined && need.kind !== 'StorageClass' ? ` -n ${shellWord(need.namespace)}` : '';
  switch (need.kind) {
    case 'Secret':
      return `kubectl${namespace} create secret generic ${shellWord(need.name)}`
        + (need.secretType ? ` --type=${shellWord(need.secretType)}` : '')
        + keys.map((k) => ` --from-${k.fromFile ? 'file' : 'literal'}=${shellWord(k.key)}=${k.placeholder}`).join('');
    case 'ConfigMap':
      return `kubectl${namespace} create configmap ${shellWord(need.name)} --from-file=<directory of the scripts>`;
    case 'StorageClass':
      return `kubectl get storageclass ${shellWord(need.name)}`;
  }
}

/**
 * The prerequisites as a short text for a terminal: each object, its keys, and the command;
 * empty when there are none.
 */
export function describePrerequisites(prerequisites: PostgresPrerequisite[]): string {
  if (prerequisites.length === 0) {
    return '';
  }
  const lines = ['Create before the first kubectl apply (replace each <...>):'];
  for (const p of prerequisites) {
    const where = p.kind === 'StorageClass' ? ', which the cluster provides'
      : p.namespace !== undefined ? ` in namespace ${p.namespace}` : ' in the namespace you apply to';
    lines.push(`  ${p.kind} ${p.name}${where}, for ${p.requiredBy.join(', ')}:`);
    for (const k of p.keys) {
      lines.push(`    ${k.key}${k.optional ? ' (optional)' : ''}: ${k.description}`);
    }
    lines.push(`    ${p.command}`);
  }
  return lines.join('\n');
}

// Values with object keys in sorted order (internal): the same text for the same value, whatever
// order its keys were written in (as cdk8s writes manifests, and as a hand-written or
// `kubectl get` baseline may not).

/** A value with the keys of every object sorted, as cdk8s writes them. */
export function sortedKeys<T>(value: T): T {
  if (Array.isArray(value)) {
    return value.map(sortedKeys) as unknown as T;
  }
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortedKeys((value as any)[k])])) as T;
  }
  return value;
}

/** The value as JSON, object keys sorted at every level (undefined values left out, as JSON.stringify does). */
export function stableJson(value: unknown): string {
  return JSON.stringify(sortedKeys(value));
}

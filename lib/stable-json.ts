// JSON with object keys in sorted order (internal): the same text for the same value, whatever
// order its keys were written in (as cdk8s writes manifests, and as a hand-written or
// `kubectl get` baseline may not). Undefined values are left out, as JSON.stringify does.

/** The value as JSON, object keys sorted at every level. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => (v !== null && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]))
    : v));
}

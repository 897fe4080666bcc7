/**
 * What happens to the data volumes (PersistentVolumeClaims) of a StatefulSet's pods.
 *
 * @see https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#persistentvolumeclaim-retention
 */
export enum ClaimRetentionPolicy {
  /** Keep the claims, and the data: a later pod with the same ordinal reuses them. */
  RETAIN = 'Retain',
  /** Delete the claims, and with most storage classes the data. */
  DELETE = 'Delete',
}

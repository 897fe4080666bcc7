// DNS names of Services and StatefulSet pods (internal).

/** The default cluster DNS domain. */
export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';

/**
 * `<service>.<namespace>.svc.<clusterDomain>`; without a namespace, the Service name alone, which
 * resolves from pods of the namespace the objects are applied to.
 */
export function serviceDnsName(service: string, namespace: string | undefined, clusterDomain: string): string {
  return namespace !== undefined ? `${service}.${namespace}.svc.${clusterDomain}` : service;
}

/** A StatefulSet pod behind its headless Service: `<statefulSet>-<ordinal>.<service DNS name>`. */
export function podDnsName(statefulSet: string, ordinal: number, headlessServiceDnsName: string): string {
  return `${statefulSet}-${ordinal}.${headlessServiceDnsName}`;
}

// The formats Kubernetes and PostgreSQL accept for names, labels, ports and paths (internal).
//
// Each check returns undefined when the value is fine, or the reason it is not,
// phrased so that it reads after the prop name: "serviceName <reason>".

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** A name that must be an RFC 1123 DNS label (most object names that end up in a hostname). */
export function dns1123Label(value: string, maxLength = 63): string | undefined {
  if (value.length > maxLength) {
    return `must be at most ${maxLength} characters long (it is ${value.length})`;
  }
  if (!DNS1123_LABEL.test(value)) {
    return 'must be a DNS-1123 label: lowercase letters, digits and \'-\', starting and ending with a letter or digit';
  }
  return undefined;
}

/** A name that must be an RFC 1123 DNS subdomain (Secret, ConfigMap, StorageClass names). */
export function dns1123Subdomain(value: string): string | undefined {
  if (value.length > 253) {
    return `must be at most 253 characters long (it is ${value.length})`;
  }
  if (!DNS1123_SUBDOMAIN.test(value)) {
    return 'must be a DNS-1123 subdomain: lowercase letters, digits, \'-\' and \'.\', starting and ending with a letter or digit';
  }
  return undefined;
}

/** A name that must be an RFC 1035 DNS label (Service names). */
export function dns1035Label(value: string): string | undefined {
  if (value.length > 63) {
    return `must be at most 63 characters long (it is ${value.length})`;
  }
  if (!DNS1035_LABEL.test(value)) {
    return 'must be a DNS-1035 label: lowercase letters, digits and \'-\', starting with a letter and ending with a letter or digit';
  }
  return undefined;
}

/** A container or service port name (IANA_SVC_NAME). */
export function portName(value: string): string | undefined {
  if (value.length > 15 || !IANA_SVC_NAME.test(value) || value.includes('--') || !/[a-z]/.test(value)) {
    return 'must be an IANA service name: at most 15 lowercase letters, digits and \'-\', with at least one letter, no \'--\', not starting or ending with \'-\'';
  }
  return undefined;
}

/** A TCP port number. */
export function tcpPort(value: number): string | undefined {
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    return 'must be an integer from 1 to 65535';
  }
  return undefined;
}

/** Label keys and values as Kubernetes accepts them. */
export function labels(value: { [key: string]: string }): string | undefined {
  for (const [key, labelValue] of Object.entries(value)) {
    const slash = key.lastIndexOf('/');
    const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
    const name = slash >= 0 ? key.slice(slash + 1) : key;
    if ((prefix !== undefined && dns1123Subdomain(prefix) !== undefined) || name.length > 63 || !LABEL_NAME.test(name)) {
      return `has an invalid label key '${key}': use [prefix/]name, name at most 63 characters of letters, digits, '-', '_' and '.'`;
    }
    if (typeof labelValue !== 'string' || labelValue.length > 63 || !LABEL_VALUE.test(labelValue)) {
      return `has an invalid value for label '${key}': at most 63 characters of letters, digits, '-', '_' and '.', starting and ending with a letter or digit`;
    }
  }
  return undefined;
}

/** Splits an absolute POSIX path into its segments, or returns undefined if it is not absolute and normal. */
export function pathSegments(value: string): string[] | undefined {
  if (!value.startsWith('/')) {
    return undefined;
  }
  const segments = value.split('/').filter((segment) => segment !== '');
  if (segments.some((segment) => segment === '.' || segment === '..')) {
    return undefined;
  }
  return segments;
}

/** Whether `child` is a strict subdirectory of `parent` (both absolute paths). */
export function isStrictSubdirectory(child: string, parent: string): boolean {
  const c = pathSegments(child);
  const p = pathSegments(parent);
  if (!c || !p || c.length <= p.length) {
    return false;
  }
  return p.every((segment, index) => c[index] === segment);
}

/** Whether two absolute paths name the same directory. */
export function samePath(a: string, b: string): boolean {
  const x = pathSegments(a);
  const y = pathSegments(b);
  return !!x && !!y && x.length === y.length && x.every((segment, index) => y[index] === segment);
}

/** PostgreSQL role and database names that need no quoting anywhere (SQL, pg_hba.conf, connection strings). */
export function roleName(value: string): string | undefined {
  return /^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(value) ? undefined
    : 'must be a PostgreSQL name of letters, digits and \'_\' (at most 63), not starting with a digit';
}

/** A key of a Secret or ConfigMap. */
export function secretKey(value: string): string | undefined {
  return /^[-._a-zA-Z0-9]{1,253}$/.test(value) ? undefined : 'must be a Secret key: letters, digits, \'-\', \'_\' and \'.\'';
}

/** A duration that is a whole number of seconds, at least `min` seconds. */
export function wholeSeconds(seconds: number, min: number): string | undefined {
  if (!Number.isInteger(seconds)) {
    return 'must be a whole number of seconds';
  }
  return seconds < min ? `must be at least ${min} second${min === 1 ? '' : 's'}` : undefined;
}

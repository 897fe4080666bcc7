// Input checks shared by the constructs of this library (internal, not exported from index.ts).
//
// Each check returns undefined when the value is fine, or the reason it is not,
// phrased so that it reads after the prop name: "replicas <reason>".

import { IConstruct } from 'constructs';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/**
 * Collects the problems of one construct, so that all of them are reported together
 * when cdk8s validates the app (before anything is written).
 *
 * The validation is registered on the construct with the first problem only: cdk8s validates
 * the whole app once for every chart it synthesizes, so a validation on every construct of
 * every chart costs time quadratic in the number of charts, for nothing when all is well.
 */
export class Problems {
  private readonly _items: string[] = [];

  constructor(private readonly scope: IConstruct, private readonly subject: string) {}

  /**
   * Records a problem with a prop.
   *
   * @param prop  the prop as the caller spelled it
   * @param value the value received
   * @param reason what is wrong, read after the prop name ("must be ...")
   * @param fix    what to do about it
   */
  public add(prop: string, value: unknown, reason: string, fix: string): void {
    if (this._items.length === 0) {
      this.scope.node.addValidation({ validate: () => [...this._items] });
    }
    this._items.push(`${this.subject}: ${prop} ${reason}, got ${show(value)}. Fix: ${fix}`);
  }

  /** Records a problem with a prop when `reason` is defined. */
  public check(prop: string, value: unknown, reason: string | undefined, fix: string): void {
    if (reason !== undefined) {
      this.add(prop, value, reason, fix);
    }
  }
}

/** Renders a value received from a caller for an error message. */
export function show(value: unknown): string {
  if (value === undefined) {
    return 'undefined';
  }
  if (typeof value === 'string') {
    return `'${value}'`;
  }
  if (typeof value === 'object' && value !== null && typeof (value as any).asString === 'function') {
    return (value as any).asString(); // cdk8s Size
  }
  if (typeof value === 'object' && value !== null && typeof (value as any).toHumanString === 'function') {
    return (value as any).toHumanString(); // cdk8s Duration
  }
  return JSON.stringify(value);
}

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

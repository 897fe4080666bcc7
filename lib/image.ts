// Container image references (internal): `[registry[:port]/]repository[:tag][@digest]`.

/** The image used when none is given: a current, supported major, pinned to a minor release. */
export const DEFAULT_IMAGE = 'postgres:18.4';

const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

/** A parsed image reference. */
export interface ImageReference {
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
  /** The PostgreSQL major version read from the tag (`17.6`, `18.4-bookworm`, `12`), if the tag starts with one. */
  readonly majorVersion?: number;
}

/**
 * The uid and gid of the `postgres` user in the official image: 999 in the Debian-based
 * variants, 70 in the Alpine-based ones (tags such as `18.4-alpine3.22`).
 */
export function postgresUserId(image: string): number {
  const parsed = parseImage(image);
  return typeof parsed !== 'string' && parsed.tag !== undefined && /(^|[.\-_])alpine/.test(parsed.tag) ? 70 : 999;
}

/** Parses an image reference, or explains why it cannot be used. */
export function parseImage(image: string): ImageReference | string {
  if (image.trim() !== image || image === '' || /\s/.test(image)) {
    return 'must be an image reference such as \'postgres:18.4\' without whitespace';
  }
  const at = image.indexOf('@');
  const digest = at >= 0 ? image.slice(at + 1) : undefined;
  const name = at >= 0 ? image.slice(0, at) : image;
  if (digest !== undefined && !DIGEST.test(digest)) {
    return 'has a digest that is not \'sha256:\' followed by 64 lowercase hex digits';
  }
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  const tag = colon > slash ? name.slice(colon + 1) : undefined;
  const repository = colon > slash ? name.slice(0, colon) : name;
  if (repository === '' || repository.endsWith('/')) {
    return 'has no repository name';
  }
  const components = repository.split('/');
  const hasDomain = components.length > 1 && (/[.:]/.test(components[0]) || components[0] === 'localhost');
  const path = hasDomain ? components.slice(1) : components;
  if (path.some((component) => /[A-Z]/.test(component))) {
    return 'has upper-case letters in its repository name, which image references do not allow (only a registry host may have them)';
  }
  if (!path.every((component) => PATH_COMPONENT.test(component))) {
    return 'has a repository name that is not lower-case letters, digits and separators (\'.\', \'_\', \'__\', \'-\')';
  }
  if (tag !== undefined && !TAG.test(tag)) {
    return `has an invalid tag '${tag}'`;
  }
  if (tag === undefined && digest === undefined) {
    return 'has no tag, which means \'latest\' and changes under a running database';
  }
  if (tag === 'latest' && digest === undefined) {
    return 'uses the \'latest\' tag, which changes under a running database';
  }
  const major = tag !== undefined ? /^(\d+)(?=$|[.\-_])/.exec(tag) : null;
  return { repository, tag, digest, majorVersion: major ? Number(major[1]) : undefined };
}

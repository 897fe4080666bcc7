/** Validates Kubernetes objects strictly against the schema of one Kubernetes version. */
export declare class StrictSchema {
  /** The Kubernetes version whose schema is used. */
  readonly version: string;
  /** @param version the Kubernetes version whose schema is used (default 1.27.0) */
  constructor(version?: string);
  /** Returns the problems found in one object, as `"<json pointer>: <problem>"` strings; empty when valid. */
  validate(object: unknown): string[];
}
export declare const DEFAULT_VERSION: string;

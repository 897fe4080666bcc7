// What the manifests use but do not contain, which must exist before the first `kubectl apply`
// (public types; lib/prerequisite-registry.ts collects them).

/** A key that a prerequisite Secret must hold. */
export interface PostgresPrerequisiteKey {
  /** The key. */
  readonly key: string;

  /** What its value is, and who reads it. */
  readonly description: string;

  /**
   * Whether the pods start without it. An optional key is read later: the replication password
   * once `replicas` is raised above 1.
   */
  readonly optional: boolean;
}

/**
 * Something the manifests refer to but do not contain, which must exist in the cluster before
 * the first `kubectl apply`, or pods wait for it: a Secret with passwords, a ConfigMap, a
 * StorageClass.
 */
export interface PostgresPrerequisite {
  /** Kind of the object: `Secret`, `ConfigMap` or `StorageClass`. */
  readonly kind: string;

  /**
   * Namespace of the object.
   *
   * @default - none: the namespace the manifests are applied to (a StorageClass has none)
   */
  readonly namespace?: string;

  /** Name of the object. */
  readonly name: string;

  /** What it is for. */
  readonly description: string;

  /** The keys it must hold, with what each is for (a Secret's); empty for other kinds. */
  readonly keys: PostgresPrerequisiteKey[];

  /** Paths of the constructs that need it. */
  readonly requiredBy: string[];

  /**
   * A command that creates it, with a `<...>` placeholder for every value (never a password:
   * the shell refuses to run the line until each is replaced); for a StorageClass, which the
   * cluster provides, a command that shows whether it exists.
   */
  readonly command: string;
}

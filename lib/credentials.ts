import * as kplus from 'cdk8s-plus-27';

/**
 * Options shared by every way of supplying PostgreSQL credentials.
 */
export interface PostgresCredentialsOptions {
  /**
   * Name of the PostgreSQL role these credentials are for.
   *
   * For the superuser this becomes `POSTGRES_USER`, which the official image only reads
   * when it initialises an empty data directory.
   *
   * @default - 'postgres' for the superuser, 'replicator' for replication
   */
  readonly username?: string;

  /**
   * Key of the Secret entry that holds the password.
   *
   * @default - 'POSTGRES_PASSWORD' for the superuser, 'POSTGRES_REPLICATION_PASSWORD' for replication
   */
  readonly passwordKey?: string;
}

/**
 * Where a PostgreSQL password comes from.
 *
 * Pods only ever receive the password through a `secretKeyRef` (or a Secret volume);
 * it is never written into a pod spec. No password is ever generated at synth time:
 * a generated password would change on every synth and stop matching the database,
 * which reads it once, when it initialises its data directory.
 *
 * - `expectSecret()` (the default): the Secret named by the construct's `secretName`
 *   is created outside cdk8s, as in `kubectl create secret generic <name> --from-literal=POSTGRES_PASSWORD=...`.
 *   Nothing is rendered and no password is in the manifests.
 * - `fromSecretName()` / `fromSecret()`: a Secret managed elsewhere (External Secrets,
 *   Sealed Secrets, another chart). Nothing is rendered.
 * - `fromPassword()`: the construct renders the Secret. The password is then in the
 *   synthesized YAML (base64 is not encryption): use it only when that is acceptable.
 */
export class PostgresCredentials {
  /**
   * Expect the construct's own Secret (named by its `secretName` prop) to exist in the cluster.
   *
   * Nothing is rendered; create the Secret before the pods start, for example with
   * `kubectl create secret generic <secretName> --from-literal=POSTGRES_PASSWORD=<password>`.
   */
  public static expectSecret(options: PostgresCredentialsOptions = {}): PostgresCredentials {
    return new PostgresCredentials('expected', options);
  }

  /**
   * Reference an existing Secret by name. Nothing is rendered.
   *
   * @param secretName name of a Secret in the same namespace as the database
   */
  public static fromSecretName(secretName: string, options: PostgresCredentialsOptions = {}): PostgresCredentials {
    return new PostgresCredentials('referenced', options, secretName);
  }

  /**
   * Reference a Secret construct (for example `kplus.Secret.fromSecretName(...)`, or a
   * Secret another construct of this app renders). Nothing is rendered for it here.
   */
  public static fromSecret(secret: kplus.ISecret, options: PostgresCredentialsOptions = {}): PostgresCredentials {
    return new PostgresCredentials('referenced', options, secret.name);
  }

  /**
   * Render the construct's Secret with this password.
   *
   * The password is written into the synthesized manifests (as `stringData`). Do not put
   * passwords in your source code: read it from the environment or a file at synth time,
   * and keep the synthesized Secret out of version control, or prefer `expectSecret()`.
   */
  public static fromPassword(password: string, options: PostgresCredentialsOptions = {}): PostgresCredentials {
    return new PostgresCredentials('rendered', options, undefined, password);
  }

  /**
   * Name of the PostgreSQL role, when given.
   *
   * @default - the default of the role these credentials are used for
   */
  public readonly username?: string;

  /**
   * Key of the Secret entry that holds the password, when given.
   *
   * @default - the default of the role these credentials are used for
   */
  public readonly passwordKey?: string;

  /**
   * Name of the referenced Secret, for `fromSecretName()` and `fromSecret()`.
   *
   * @default - the construct's own Secret
   */
  public readonly secretName?: string;

  /** @internal */
  public readonly _password?: string;

  private readonly source: Source;

  private constructor(source: Source, options: PostgresCredentialsOptions, secretName?: string, password?: string) {
    this.source = source;
    this.username = options.username;
    this.passwordKey = options.passwordKey;
    this.secretName = secretName;
    this._password = password;
  }

  /** Whether the construct renders the Secret that holds this password. */
  public get rendersSecret(): boolean {
    return this.source === 'rendered';
  }

  /** Whether the password lives in a Secret that this construct does not own. */
  public get referencesSecret(): boolean {
    return this.source === 'referenced';
  }

  /**
   * How the caller wrote these credentials, for error messages: the factory and the options
   * given, with the password hidden.
   *
   * @internal
   */
  public _describe(): string {
    const options = [
      this.username !== undefined ? `username: '${this.username}'` : undefined,
      this.passwordKey !== undefined ? `passwordKey: '${this.passwordKey}'` : undefined,
    ].filter((o) => o !== undefined);
    const optionsArg = options.length > 0 ? `{ ${options.join(', ')} }` : undefined;
    const first = this.source === 'rendered' ? (this._password ? '<password>' : "''")
      : this.source === 'referenced' ? `'${this.secretName}'` : undefined;
    const factory = this.source === 'rendered' ? 'fromPassword' : this.source === 'referenced' ? 'fromSecretName' : 'expectSecret';
    return `PostgresCredentials.${factory}(${[first, optionsArg].filter((a) => a !== undefined).join(', ')})`;
  }
}

type Source = 'expected' | 'referenced' | 'rendered';

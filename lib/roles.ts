// The roles an instance knows, and where their passwords are read from, with every default
// applied (internal).
import { PostgresCredentials } from './credentials';

/** The defaults of one role: its name and the key of its password. */
export interface RoleDefaults {
  readonly username: string;
  readonly passwordKey: string;
}

/** The superuser: `POSTGRES_USER` and `POSTGRES_PASSWORD`, as the image names them. */
export const SUPERUSER_DEFAULTS: RoleDefaults = { username: 'postgres', passwordKey: 'POSTGRES_PASSWORD' };

/** The role the standbys replicate with, its password next to the superuser's. */
export const REPLICATION_DEFAULTS: RoleDefaults = { username: 'replicator', passwordKey: 'POSTGRES_REPLICATION_PASSWORD' };

/** Credentials with every default applied: the role, and the Secret and key its password is read from. */
export interface ResolvedCredentials {
  readonly username: string;
  readonly secretName: string;
  readonly passwordKey: string;
  /** The password, when the construct renders it into its own Secret. */
  readonly password?: string;
  /** The construct renders the Secret (`fromPassword()`). */
  readonly rendered: boolean;
  /** The Secret is someone else's (`fromSecretName()`, `fromSecret()`). */
  readonly referenced: boolean;
}

/**
 * Applies a role's defaults to credentials.
 *
 * @param ownSecretName the Secret the construct owns (renders or expects), used unless the credentials reference another
 */
export function resolveCredentials(credentials: PostgresCredentials, defaults: RoleDefaults, ownSecretName: string): ResolvedCredentials {
  return {
    username: credentials.username ?? defaults.username,
    secretName: credentials.secretName ?? ownSecretName,
    passwordKey: credentials.passwordKey ?? defaults.passwordKey,
    password: credentials._password,
    rendered: credentials.rendersSecret,
    referenced: credentials.referencesSecret,
  };
}

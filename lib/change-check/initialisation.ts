// Changes the database ignores once it is initialised (internal): the official image reads
// POSTGRES_USER, POSTGRES_DB, POSTGRES_INITDB_ARGS and the password only when it initialises an
// empty data directory, and the replication role is created once. Applied to a running
// instance, such a change does nothing in the database, while clients, probes and scripts start
// using the new value.
import { Change, Finding, kubectl, kubectlExec, psqlCommand, PsqlStep, sh, Step } from './findings';
import { Instance, PasswordSource } from './instance';

const CATEGORY = 'ignored by the database';
const ONLY_AT_INIT = 'The official image reads it only when it initialises an empty data directory; an initialised database keeps what it was created with. (If the instance has never run, there is nothing to do.)';

/** A psql step on pod 0 as a Step. */
function onPrimary(before: Instance, say: string, psql: PsqlStep): Step {
  return { say, commands: [psqlCommand(before, `${before.name}-0`, psql)], psql };
}

/** Every change to what the image reads only at initialisation. */
export function ignoredChanges(change: Change, secrets: SecretValues): Finding[] {
  const { before, after } = change;
  const findings: Finding[] = [];
  if (before.username !== after.username) {
    findings.push(usernameChange(change));
  }
  if (before.database !== after.database) {
    findings.push(databaseChange(change));
  }
  if (before.initdbArgs !== after.initdbArgs) {
    findings.push({
      severity: 'unsafe',
      category: CATEGORY,
      title: `POSTGRES_INITDB_ARGS: ${before.initdbArgs || '(none)'} -> ${after.initdbArgs || '(none)'}`,
      explanation: [`${ONLY_AT_INIT} initdb options apply to a new cluster only: the running database keeps the options it was initialised with, whatever the manifest says.`],
      steps: [{
        say: 'Change what can change on a running cluster with its own command (data checksums: pg_checksums --enable, on the stopped server, from PostgreSQL 12; encoding and locale: per database, CREATE DATABASE ... ENCODING ... LOCALE ...); for the rest, initialise a new instance with the options and move the data into it (pg_dumpall | psql). Or keep the old options, so that the manifest says what the database has.',
      }],
    });
  }
  findings.push(...passwordChange(change, 'superuser', before.password, after.password, before.username, secrets));
  if (before.replicationUser !== undefined && after.replicationUser !== undefined && before.replicationUser !== after.replicationUser) {
    findings.push(replicationUserChange(change, before.replicationUser, after.replicationUser));
  }
  if (before.replicationUser !== undefined && after.replicationUser !== undefined) {
    // the standbys carry the replication password to the primary's role when they restart: a note, not a problem
    findings.push(...passwordChange(change, 'replication', before.replicationPassword, after.replicationPassword, before.replicationUser, secrets)
      .map((f): Finding => ({
        severity: 'note',
        category: f.category,
        title: f.title,
        explanation: [`Each standby sets the primary's ${after.replicationUser} role to the password it reads, and writes it into its own password file, when it starts: `
          + 'the rollout restarts them when the pod template changes; after a change of the Secret\'s value alone, restart them.'],
        steps: [{ say: 'When only the value changed, restart the standbys:', commands: [kubectl(after, 'rollout', 'restart', 'statefulset', after.name)] }],
      })));
  }
  return findings;
}

function usernameChange(change: Change): Finding {
  const { before, after } = change;
  const [old, next] = [before.username, after.username];
  const helper = 'postgres_statefulset_rename';
  return {
    severity: 'unsafe',
    category: CATEGORY,
    title: `POSTGRES_USER: ${old} -> ${next}`,
    explanation: [`${ONLY_AT_INIT} The superuser stays ${old}; no role ${next} is created, so every login as ${next} fails (clients, the smoke test${before.replicas > 1 ? ', the readiness check of the pods' : ''}).`],
    steps: [
      { say: `Either keep the superuser's name (username: '${old}'), or rename the role before applying. A session cannot rename its own role, so a helper superuser does it (the image trusts connections over the pod's socket):` },
      onPrimary(before, 'Create the helper:', { user: old, database: 'postgres', variables: { helper }, sql: 'CREATE ROLE :"helper" SUPERUSER LOGIN;' }),
      onPrimary(before, `Rename ${old} to ${next} as the helper:`, { user: helper, database: 'postgres', variables: { old, new: next }, sql: 'ALTER ROLE :"old" RENAME TO :"new";' }),
      onPrimary(before, 'Drop the helper:', { user: next, database: 'postgres', variables: { helper }, sql: 'DROP ROLE :"helper";' }),
      {
        say: `A password hashed with MD5 (the default before PostgreSQL 14) is cleared by the rename, because MD5 salts with the role name; set it again (it prompts):`,
        commands: [kubectlExec(before, `${before.name}-0`, ['psql', '-U', next, '-d', 'postgres', '-c', `\\password ${sqlIdentifier(next)}`], 'it')],
      },
      { say: 'Then apply.', commands: [`kubectl apply -f ${sh(change.applyFile)}`] },
    ],
  };
}

/** An identifier for a psql backslash command (\password takes one, not a variable). */
function sqlIdentifier(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

function databaseChange(change: Change): Finding {
  const { before, after } = change;
  const [old, next] = [before.database, after.database];
  const steps: Step[] = [
    onPrimary(before, `Either create ${next}, empty (clients that expect the data of ${old} find none there):`,
      { user: before.username, database: 'postgres', variables: { db: next, owner: before.username }, sql: 'CREATE DATABASE :"db" OWNER :"owner";' }),
  ];
  if (old !== 'postgres') {
    steps.push(onPrimary(before, `Or rename ${old} to ${next}, keeping its data (no session may be connected to it):`,
      { user: before.username, database: 'postgres', variables: { old, new: next }, sql: 'ALTER DATABASE :"old" RENAME TO :"new";' }));
  }
  steps.push({ say: `Or keep the database name (databaseName: '${old}'). Then apply.`, commands: [`kubectl apply -f ${sh(change.applyFile)}`] });
  return {
    severity: 'unsafe',
    category: CATEGORY,
    title: `POSTGRES_DB: ${old} -> ${next}`,
    explanation: [`${ONLY_AT_INIT} The database ${next} is not created; ${old} stays, so clients that connect to ${next} fail with 'database "${next}" does not exist'.`],
    steps,
  };
}

function replicationUserChange(change: Change, old: string, next: string): Finding {
  const { before } = change;
  return {
    severity: 'note',
    category: CATEGORY,
    title: `replication role (POSTGRES_REPLICATION_USER): ${old} -> ${next}`,
    explanation: [
      `Each standby creates ${next} on the primary (or sets its password) and connects as it when it restarts, which the rollout does; `
      + `the primary's pg_hba.conf line admits any role with the REPLICATION attribute, so pod 0 needs nothing. ${old} stays on the primary, unused once every standby has restarted.`,
    ],
    steps: [
      onPrimary(before, `When every standby streams as ${next}, drop ${old}:`,
        { user: before.username, database: 'postgres', variables: { old }, sql: 'DROP ROLE :"old";' }),
    ],
  };
}

/** Password values of rendered Secrets, by `<namespace>/<name>` then key, to see a value change without showing it. */
export type SecretValues = { before: Map<string, Map<string, string>>; after: Map<string, Map<string, string>> };

/** The values of the Secrets in a list of objects (stringData, else decoded data). */
export function secretValues(objects: any[]): Map<string, Map<string, string>> {
  const values = new Map<string, Map<string, string>>();
  for (const object of objects.filter((o) => o?.kind === 'Secret' && typeof o.metadata?.name === 'string')) {
    const keys = new Map<string, string>();
    for (const [key, value] of Object.entries(object.data ?? {})) {
      keys.set(key, Buffer.from(String(value), 'base64').toString('utf-8'));
    }
    for (const [key, value] of Object.entries(object.stringData ?? {})) {
      keys.set(key, String(value));
    }
    values.set(`${object.metadata.namespace ?? ''}/${object.metadata.name}`, keys);
  }
  return values;
}

function passwordChange(change: Change, role: 'superuser' | 'replication', a: PasswordSource | undefined, b: PasswordSource | undefined, roleName: string, secrets: SecretValues): Finding[] {
  const { before, after } = change;
  const what = role === 'superuser' ? `the superuser's password (${roleName})` : `the replication role's password (${roleName})`;
  const rotate: Step = role === 'superuser'
    ? {
      say: `Or change the password in the database to the one the manifest now points at (it prompts; type that password), then apply:`,
      commands: [kubectlExec(before, `${before.name}-0`, ['psql', '-U', roleName, '-d', 'postgres', '-c', `\\password ${sqlIdentifier(roleName)}`], 'it'),
        `kubectl apply -f ${sh(change.applyFile)}`],
    }
    : {
      say: 'Or change the password in the database to the new one (on the primary: \\password, it prompts), apply, then rebuild the standbys or set their primary_conninfo: pg_basebackup wrote the old password there.',
      commands: [kubectlExec(before, `${before.name}-0`, ['psql', '-U', before.username, '-d', 'postgres', '-c', `\\password ${sqlIdentifier(roleName)}`], 'it'),
        `kubectl apply -f ${sh(change.applyFile)}`],
    };
  if (a === undefined || b === undefined) {
    return [];
  }
  if (a.describe !== b.describe) {
    const copy: Step | undefined = a.secretName !== undefined && b.secretName !== undefined && b.key !== undefined
      ? {
        say: `Either put the database's current password under the new name before applying, e.g. when the Secret ${b.secretName} does not exist yet (the password goes through a pipe, never the command line):`,
        commands: [`${kubectl(before, 'get', 'secret', a.secretName, '-o', `jsonpath={.data.${a.key!.replace(/\./g, '\\.')}}`)} | base64 -d | ${kubectl(after, 'create', 'secret', 'generic', b.secretName, `--from-file=${b.key}=/dev/stdin`)}`],
      }
      : undefined;
    return [{
      severity: 'unsafe',
      category: CATEGORY,
      title: `${what}: ${a.describe} -> ${b.describe}`,
      explanation: [`${ONLY_AT_INIT} The database keeps the password it has; the pods${role === 'superuser' ? ' and the clients wired to this instance' : ' (standbys that clone)'} now read it from ${b.describe}, so unless that holds the same password, their logins fail.`],
      steps: copy ? [copy, rotate] : [rotate],
    }];
  }
  if (a.literal !== undefined && b.literal !== undefined && a.literal !== b.literal) {
    return [{
      severity: 'unsafe',
      category: CATEGORY,
      title: `${what}: the literal value in the manifest changes`,
      explanation: [`${ONLY_AT_INIT} The database keeps the password it has, and the pods would use the new one: their logins fail. (A password is better kept in a Secret than in the manifest.)`],
      steps: [{ say: 'Change it in the database first: on the primary, \\password (it prompts; type the new password), then apply.', commands: [rotate.commands![0], `kubectl apply -f ${sh(change.applyFile)}`] }],
    }];
  }
  if (a.secretName !== undefined && a.key !== undefined) {
    const id = `${before.namespace ?? ''}/${a.secretName}`;
    const old = secrets.before.get(id)?.get(a.key);
    const next = secrets.after.get(`${after.namespace ?? ''}/${a.secretName}`)?.get(a.key);
    if (old !== undefined && next !== undefined && old !== next) {
      return [{
        severity: 'unsafe',
        category: CATEGORY,
        title: `${what}: the value in the rendered Secret ${a.secretName} (key ${a.key}) changes`,
        explanation: [`${ONLY_AT_INIT} Changing the Secret does not change the password in the database, and the pods${role === 'superuser' ? ' and clients' : ''} would use the new one: their logins fail.`],
        steps: [{ say: 'Change it in the database first (the README\'s "Rotating the superuser password"): on the primary, \\password (it prompts; type the new password):', commands: [rotate.commands![0]] },
          { say: 'Then apply.', commands: [`kubectl apply -f ${sh(change.applyFile)}`] }],
      }];
    }
  }
  return [];
}

// Streaming replication with the official image and no operator (internal): the scripts the
// pods run, rendered into a ConfigMap. Pod 0 is the primary; every other pod clones it with
// pg_basebackup and runs as a hot standby.
//
// The scripts read everything from the container environment:
//   HOSTNAME                        the pod name, `<statefulset>-<ordinal>` (set by Kubernetes)
//   PGDATA, PGPORT                  as in the PostgreSQL container
//   PRIMARY_HOST, PRIMARY_PORT      pod 0 behind the headless Service, `<statefulset>-0.<service>`
//   POSTGRES_REPLICATION_USER       the replication role
//   POSTGRES_REPLICATION_PASSWORD   its password, from a Secret
//   POSTGRES_USER, POSTGRES_PASSWORD[_FILE]  the superuser (role creation, readiness check)
//
// No prop or secret value is ever part of a script: the scripts are the same text for every
// instance, and values reach them as environment variables, psql variables and arguments.

import { AS_POSTGRES } from './security';

/** Script keys in the ConfigMap, and where the pods find them. */
export const SCRIPTS_DIR = '/etc/postgres-statefulset';
export const INIT_SCRIPT = 'replication-init.sh';
export const READINESS_SCRIPT = 'readiness.sh';
export const INITDB_SCRIPT = 'initdb-replication.sh';
/** Name of the initdb script in /docker-entrypoint-initdb.d: sorts before the user's scripts. */
export const INITDB_SCRIPT_TARGET = '00-postgres-statefulset-replication.sh';

/**
 * Shell functions shared by the scripts. `replication_role` creates the replication role (or
 * sets its password) through psql variables, so that no value is ever part of the SQL or shell
 * text, against the server on the socket `$PGHOST` names (the image's temporary server at
 * initialisation, the init container's own otherwise), then admits it in pg_hba.conf with the
 * method that server hashes passwords with (`SHOW password_encryption`, from its configuration
 * and the container's `-c` arguments). The keyword `all` does not match replication connections.
 */
const ROLE_FUNCTIONS = `HBA_MARK='# postgres-statefulset: standbys'
hba_line_present() { grep -qF 'postgres-statefulset' "$PGDATA/pg_hba.conf"; }
superuser_password() {
  if [ -n "\${POSTGRES_PASSWORD_FILE:-}" ]; then cat "$POSTGRES_PASSWORD_FILE"; else printf '%s' "\${POSTGRES_PASSWORD:-}"; fi
}
replication_role() {
  PGPASSWORD="\${PGPASSWORD:-$(superuser_password)}" psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password \\
    --username "$POSTGRES_USER" --dbname postgres --port "$PGPORT" \\
    --set role="$POSTGRES_REPLICATION_USER" --set password="$POSTGRES_REPLICATION_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE %I', :'role') WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = :'role')
\\gexec
ALTER ROLE :"role" WITH REPLICATION LOGIN PASSWORD :'password';
SQL
  method=$(PGPASSWORD="\${PGPASSWORD:-$(superuser_password)}" psql -X -A -t -q --no-password \\
    --username "$POSTGRES_USER" --dbname postgres --port "$PGPORT" -c 'SHOW password_encryption')
  case "$method" in md5|scram-sha-256) ;; *) echo "unexpected password_encryption '$method'" >&2; return 1 ;; esac
  printf '\\nhost replication %s all %s %s\\n' "$POSTGRES_REPLICATION_USER" "$method" "$HBA_MARK" >> "$PGDATA/pg_hba.conf"
}
`;

/**
 * Run by the image's entrypoint when pod 0 initialises an empty data directory, against its
 * socket-only temporary server (started with the container's arguments): creates the
 * replication role, then admits it in pg_hba.conf.
 */
export function initdbScript(): string {
  return `#!/bin/sh
# postgres-statefulset: create the replication role on the primary (first initialisation only).
set -eu
${ROLE_FUNCTIONS}
replication_role
echo "postgres-statefulset: created replication role $POSTGRES_REPLICATION_USER"
`;
}

/**
 * The init container of every pod, run before PostgreSQL starts, with the server's `-c`
 * arguments as its own arguments.
 *
 * Every pod: refuses a replication password PostgreSQL cannot use (empty, or with a line break,
 * which `kubectl create secret --from-file` keeps from the file: a standby's configuration cannot
 * hold it).
 *
 * Pod 0 (primary): with an empty data directory, nothing to do (the image initialises it and its
 * initdb script creates the role). With a database initialised before replication was enabled,
 * it starts a temporary server on a private socket with the container's arguments, creates the
 * replication role there as the initdb script does, admits it in pg_hba.conf and stops the
 * server, unless the pg_hba.conf line is already there. It refuses a data directory that belongs
 * to a standby.
 *
 * Other pods (standbys): with a standby's data directory, nothing to do (PostgreSQL resumes
 * streaming). With an empty one, it waits until the primary accepts connections, clones it with
 * \`pg_basebackup -R\` into a sibling directory and moves that into place, so that an interrupted
 * clone never looks like a database. A failed clone is retried every 2 s, saying why it may fail:
 * when \`replicas\` is raised on a running instance, the StatefulSet controller creates the new
 * pods before it replaces pod 0, whose old template has no replication role, until pod 0 is
 * restarted; retrying (rather than failing into CrashLoopBackOff) lets the clone start as soon as
 * it is. It refuses a data directory that holds a database which is
 * not a standby (a promoted pod would otherwise serve diverging data) or files but no database.
 */
export function initContainerScript(): string {
  return `#!/bin/sh
# postgres-statefulset: prepare this pod's data directory for streaming replication.
set -eu
ordinal="\${HOSTNAME##*-}"
say() { echo "replication-init [$HOSTNAME]: $*"; }
fail() { say "$*" >&2; exit 1; }
${AS_POSTGRES}
${ROLE_FUNCTIONS}
case "$POSTGRES_REPLICATION_PASSWORD" in
  '') fail "the replication password (POSTGRES_REPLICATION_PASSWORD) is empty: put it in the Secret" ;;
  *'
'*) fail "the replication password holds a line break, which PostgreSQL's configuration files cannot hold (a standby keeps it in postgresql.auto.conf); kubectl create secret --from-file keeps a file's trailing newline: recreate the Secret with --from-literal, or from a file without the newline" ;;
esac

if [ "$ordinal" = 0 ]; then
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    say "primary with an empty data directory: the image initialises it and creates the replication role"
    exit 0
  fi
  [ ! -e "$PGDATA/standby.signal" ] || fail "pod 0 is the primary, but $PGDATA holds a standby (standby.signal); refusing to start"
  if hba_line_present; then
    say "primary: replication role and pg_hba.conf line present"
    exit 0
  fi
  say "primary initialised before replication was enabled: creating the replication role"
  socket=$(mktemp -d)
  [ "$(id -u)" != 0 ] || chown postgres "$socket"
  as_postgres postgres "$@" -c listen_addresses= -c ssl=off -c "unix_socket_directories=$socket" &
  server=$!
  stop_server() { as_postgres pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null 2>&1 || true; wait "$server" || true; }
  trap stop_server EXIT
  until pg_isready -q -h "$socket" -p "$PGPORT"; do
    kill -0 "$server" 2>/dev/null || fail "the temporary server stopped (see above)"
    sleep 0.2
  done
  PGHOST="$socket" replication_role || fail "creating the replication role failed (see above)"
  say "primary: replication role created"
  exit 0
fi

if [ -s "$PGDATA/PG_VERSION" ]; then
  [ -e "$PGDATA/standby.signal" ] || fail "$PGDATA holds a database that is not a standby (was it promoted?); rebuild this pod's volume to make it a standby again"
  say "standby data present: PostgreSQL resumes streaming from $PRIMARY_HOST"
  exit 0
fi
if [ -d "$PGDATA" ] && [ -n "$(ls -A "$PGDATA")" ]; then
  fail "$PGDATA holds files but no database; refusing to overwrite them"
fi

until PGSSLMODE=prefer pg_isready -q -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U "$POSTGRES_REPLICATION_USER"; do
  say "waiting for the primary $PRIMARY_HOST:$PRIMARY_PORT to accept connections"
  sleep 2
done
clone="\${PGDATA%/}.clone"
mkdir -p "$(dirname "$clone")"
say "cloning $PRIMARY_HOST:$PRIMARY_PORT into $PGDATA"
until rm -rf "$clone" && PGPASSWORD="$POSTGRES_REPLICATION_PASSWORD" pg_basebackup --no-password \\
  -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U "$POSTGRES_REPLICATION_USER" -d "application_name=$HOSTNAME" \\
  -D "$clone" -R -X stream -c fast; do
  say "pg_basebackup failed (above); retrying in 2 s. If the primary refused $POSTGRES_REPLICATION_USER"\\
" ('no pg_hba.conf entry for replication connection', 'password authentication failed'), pod 0 runs without"\\
" replication or with another password: after raising replicas on a running instance, restart pod 0 on the"\\
" new template (kubectl delete pod \${HOSTNAME%-*}-0); otherwise check the replication password in the Secret"
  sleep 2
done
chmod 700 "$clone"
if [ -d "$PGDATA" ]; then rmdir "$PGDATA"; fi
mv "$clone" "$PGDATA"
say "cloned: starting as a hot standby"
`;
}

/**
 * Readiness of a pod of a replicated StatefulSet, run every second: one psql over TCP on
 * loopback (connecting proves the server accepts connections) and shell builtins otherwise.
 * Pod 0 is ready when it is not in recovery. A standby is ready when it is in recovery and has
 * streamed from the primary since PostgreSQL started: a new or restarted standby is not ready
 * before it streams, and a standby whose primary restarts stays ready (it records the server
 * start time it streamed in, next to PGDATA), so readiness does not flap with the connection.
 */
export function readinessScript(): string {
  return `#!/bin/sh
# postgres-statefulset: readiness of a primary or hot standby.
set -u
if [ -z "\${POSTGRES_PASSWORD:-}" ] && [ -n "\${POSTGRES_PASSWORD_FILE:-}" ]; then
  IFS= read -r POSTGRES_PASSWORD < "$POSTGRES_PASSWORD_FILE" || true
fi
state=$(PGPASSWORD="\${POSTGRES_PASSWORD:-}" PGCONNECT_TIMEOUT=3 psql -X -A -t -q --no-password \\
  -h 127.0.0.1 -p "$PGPORT" -U "$POSTGRES_USER" -d postgres \\
  -c "SELECT pg_is_in_recovery(), coalesce((SELECT status FROM pg_stat_wal_receiver), 'stopped'), pg_postmaster_start_time()" 2>&1) \\
  || { echo "not accepting connections: $state"; exit 1; }
IFS='|' read -r recovery receiver started <<EOF
$state
EOF
if [ "\${HOSTNAME##*-}" = 0 ]; then
  [ "$recovery" = f ] || { echo "pod 0 must be the primary, but it is in recovery"; exit 1; }
  exit 0
fi
[ "$recovery" = t ] || { echo "not a standby: not in recovery"; exit 1; }
marker="\${PGDATA%/}.streamed"
streamed=
[ ! -r "$marker" ] || IFS= read -r streamed < "$marker" || true
if [ "$receiver" = streaming ]; then
  [ "$streamed" = "$started" ] || printf '%s\\n' "$started" > "$marker"
  exit 0
fi
[ "$streamed" != "$started" ] || exit 0
echo "standby has not streamed from the primary since it started (WAL receiver: $receiver)"
exit 1
`;
}

// Streaming replication with the official image and no operator (internal): the scripts the
// pods run. Pod 0 is the primary; every other pod clones it with pg_basebackup and runs as a hot
// standby. Every pod carries them whatever `replicas` is, so that raising `replicas` changes
// nothing in the pod template: the StatefulSet only adds pods, and no pod restarts.
//
// The scripts read everything from the container environment:
//   HOSTNAME                        the pod name, `<statefulset>-<ordinal>` (set by Kubernetes)
//   PGDATA, PGPORT                  as in the PostgreSQL container
//   PRIMARY_HOST, PRIMARY_PORT      pod 0 behind the headless Service, `<statefulset>-0.<service>`
//   POSTGRES_REPLICATION_USER       the replication role
//   POSTGRES_REPLICATION_PASSWORD   its password, from a Secret (the key may be missing while
//                                   there is one replica)
//   POSTGRES_USER, POSTGRES_PASSWORD[_FILE]  the superuser
// and the server's arguments as "$@" (`postgres -c name=value ...`).
//
// No prop or secret value is ever part of a script: the scripts are the same text for every
// instance, and values reach them as environment variables, psql variables and arguments.
import { AS_POSTGRES, MAJORS, ORDINAL, SAY_FAIL } from './shell';

/** Script keys in the instance's scripts ConfigMap. */
export const START_SCRIPT = 'replication.sh';
export const READINESS_SCRIPT = 'readiness.sh';
export const PROBE_SCRIPT = 'probe.sh';
export const INITDB_SCRIPT = 'initdb-replication.sh';
/** Name of the initdb script in /docker-entrypoint-initdb.d: sorts before the user's scripts. */
export const INITDB_SCRIPT_TARGET = '00-postgres-statefulset-replication.sh';

/**
 * The pg_hba.conf line that admits the standbys: replication connections of any role with the
 * REPLICATION attribute (only those may replicate), with a password hashed as the server hashes
 * them, marked as this library's. It names no role, so that the role can be renamed, or created
 * later by a standby, without touching the primary. The keyword `all` in the database column
 * does not match replication connections, hence a line of its own. `hba_add` takes what
 * `SHOW password_encryption` or `postgres -C password_encryption` says (`on` is md5 before
 * PostgreSQL 14).
 */
const HBA = `HBA_MARK='# postgres-statefulset: standbys'
hba_present() { grep -q "^host replication all all [a-z0-9-]* $HBA_MARK\\$" "$PGDATA/pg_hba.conf"; }
hba_add() {
  case "$1" in on|md5) method=md5 ;; scram-sha-256) method=scram-sha-256 ;; *) echo "unexpected password_encryption '$1'" >&2; return 1 ;; esac
  printf '\\nhost replication all all %s %s\\n' "$method" "$HBA_MARK" >> "$PGDATA/pg_hba.conf"
}`;

/**
 * Run by the image's entrypoint when pod 0 initialises an empty data directory, against its
 * socket-only temporary server (started with the container's arguments): admits the standbys'
 * role in pg_hba.conf. The role itself is created by the first standby, with the password it has.
 */
export const INITDB = `#!/bin/sh
# postgres-statefulset: admit the standbys in pg_hba.conf (first initialisation only).
set -eu
${HBA}
hba_present || hba_add "$(psql -X -A -t -q --no-password --username "$POSTGRES_USER" --dbname postgres --port "$PGPORT" -c 'SHOW password_encryption')"
echo "postgres-statefulset: pg_hba.conf admits replication connections"
`;

/**
 * A start step of every pod, before the image's entrypoint.
 *
 * Pod 0 (the primary): with an empty data directory, nothing to do (the image initialises it and
 * its initdb script admits the standbys). With a database, it refuses a standby's data directory
 * (pod 0 is always the primary) and makes sure pg_hba.conf admits replication connections, adding
 * the line with the method `postgres -C password_encryption` gives for the server's arguments when
 * it is missing (a database initialised by an older version of this library).
 * Nothing else: the primary never needs the replication password.
 *
 * Other pods (standbys): every start writes the replication password from the Secret into a
 * password file next to PGDATA (refused when empty or with a line break, which a password file
 * cannot hold); the standby's primary_conninfo names that file and holds no password, so a
 * rotated password reaches a standby when it restarts; it also writes the standby's
 * primary_conninfo (role, password file, primary host and port, application name) from the
 * environment. With a standby's data directory, PostgreSQL then resumes streaming; when the
 * primary answers within 2 s, the step first creates the role or sets its password to the
 * Secret's (a rotated password or a renamed role reaches the primary when the standbys restart;
 * a standby never waits for its primary to start). With an empty one, it waits until the primary accepts
 * connections, then, as the superuser over the network (psql variables only), creates the
 * replication role or sets its password to the Secret's, and sets WAL retention for standbys
 * (`wal_keep_size` 1GB, `wal_keep_segments` 64 before 13, unless the server's arguments set it),
 * and clones the primary with `pg_basebackup -R` into a sibling directory that is moved into
 * place, so an interrupted clone never looks like a database. A failed clone is retried every
 * 2 s, saying why. It refuses a data directory holding a database that is not a standby (a
 * promoted pod would serve diverging data).
 */
export const START = `#!/bin/sh
# postgres-statefulset: prepare this pod's data directory for streaming replication.
set -eu
STEP=replication
${SAY_FAIL}
${AS_POSTGRES}
${MAJORS}
${HBA}
${ORDINAL}
[ "\${1:-}" != postgres ] || shift

if [ "$ordinal" = 0 ]; then
  [ -s "$PGDATA/PG_VERSION" ] || exit 0
  [ ! -e "$PGDATA/standby.signal" ] || fail "pod 0 is the primary, but $PGDATA holds a standby (standby.signal); refusing to start"
  hba_present && exit 0
  hba_add "$(as_postgres postgres -C password_encryption "$@")" || fail "could not read password_encryption from the server's configuration"
  say "pg_hba.conf now admits replication connections"
  exit 0
fi

case "\${POSTGRES_REPLICATION_PASSWORD:-}" in
  '') fail "no replication password: put it into the Secret under the key POSTGRES_REPLICATION_PASSWORD names in the pod spec (the key is optional while there is one replica)" ;;
  *'
'*) fail "the replication password holds a line break, which a password file cannot hold; kubectl create secret --from-file keeps a file's trailing newline: recreate the Secret with --from-literal, or from a file without the newline" ;;
esac
# with TLS, the standby's connections to the primary verify its certificate (and only those: the
# probes connect to 127.0.0.1, which no certificate names)
if [ -n "\${POSTGRES_REPLICATION_SSLMODE:-}" ]; then
  PGSSLMODE="$POSTGRES_REPLICATION_SSLMODE"; PGSSLROOTCERT="\${POSTGRES_REPLICATION_SSLROOTCERT:-}"; export PGSSLMODE PGSSLROOTCERT
fi
# the standby's password file, rewritten from the Secret on every start (primary_conninfo names it, and holds no password)
passfile="\${PGDATA%/}.pgpass"
# on a new volume, PGDATA's parent may not exist yet (/var/lib/postgresql/18/docker)
mkdir -p "$(dirname "$passfile")"
escape() { printf '%s' "$1" | sed 's/[\\\\:]/\\\\&/g'; }
(umask 077 && printf '*:*:*:%s:%s\\n' "$(escape "$POSTGRES_REPLICATION_USER")" "$(escape "$POSTGRES_REPLICATION_PASSWORD")" > "$passfile.tmp")
mv "$passfile.tmp" "$passfile"
superuser_password() {
  if [ -n "\${POSTGRES_PASSWORD_FILE:-}" ]; then cat "$POSTGRES_PASSWORD_FILE"; else printf '%s' "\${POSTGRES_PASSWORD:-}"; fi
}
on_primary() {
  PGPASSWORD="$(superuser_password)" PGCONNECT_TIMEOUT=5 psql -X -v ON_ERROR_STOP=1 -q --no-password \\
    -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" --username "$POSTGRES_USER" --dbname postgres "$@"
}
prepare_primary() {
  on_primary --set role="$POSTGRES_REPLICATION_USER" --set password="$POSTGRES_REPLICATION_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE %I', :'role') WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = :'role')
\\gexec
ALTER ROLE :"role" WITH REPLICATION LOGIN PASSWORD :'password';
SELECT CASE WHEN current_setting('server_version_num')::int >= 130000 THEN 'wal_keep_size' ELSE 'wal_keep_segments' END AS keep,
       CASE WHEN current_setting('server_version_num')::int >= 130000 THEN '1GB' ELSE '64' END AS amount \\gset
SELECT format('ALTER SYSTEM SET %I = %L', :'keep', :'amount')
  FROM pg_catalog.pg_settings WHERE name = :'keep' AND source IN ('default', 'configuration file') AND setting::bigint = 0
\\gexec
SELECT pg_catalog.pg_reload_conf();
SQL
}

# the standby's primary_conninfo, written from the environment on every start (a renamed role, a
# changed port or Service reach a standby when it restarts): values quoted for a connection
# string, then the whole for postgresql.auto.conf
conninfo_value() { printf "'%s'" "$(printf '%s' "$1" | sed "s/[\\\\']/\\\\&/g")"; }
write_conninfo() {
  conninfo="user=$(conninfo_value "$POSTGRES_REPLICATION_USER") passfile=$(conninfo_value "$passfile") host=$(conninfo_value "$PRIMARY_HOST")"
  conninfo="$conninfo port=$(conninfo_value "$PRIMARY_PORT") application_name=$(conninfo_value "$HOSTNAME")"
  if [ -n "\${PGSSLMODE:-}" ]; then conninfo="$conninfo sslmode=$(conninfo_value "$PGSSLMODE") sslrootcert=$(conninfo_value "$PGSSLROOTCERT")"; fi
  auto="$1/postgresql.auto.conf"
  { grep -v '^primary_conninfo = ' "$auto" 2>/dev/null || true
    printf "primary_conninfo = '%s'\\n" "$(printf '%s' "$conninfo" | sed "s/'/''/g")"; } > "$auto.new"
  mv "$auto.new" "$auto"
}

if [ -s "$PGDATA/PG_VERSION" ]; then
  [ -e "$PGDATA/standby.signal" ] || fail "$PGDATA holds a database that is not a standby (was it promoted?); rebuild this pod's volume to make it a standby again: kubectl delete pvc <claim of this pod> and the pod"
  write_conninfo "$PGDATA"
  # a rotated password reaches the primary's role when a standby restarts; a standby never waits for the primary to start
  if PGSSLMODE=prefer pg_isready -q -t 2 -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" && prepare_primary >/dev/null 2>&1; then
    say "the primary's replication role has the Secret's password"
  fi
  exit 0
fi

# (whether the primary answers at all: a certificate that verify-full refuses is reported by the connections below)
until PGSSLMODE=prefer pg_isready -q -h "$PRIMARY_HOST" -p "$PRIMARY_PORT"; do
  say "waiting for the primary $PRIMARY_HOST:$PRIMARY_PORT to accept connections"
  sleep 2
done
until primary_major=$(on_primary -A -t -c "SELECT current_setting('server_version_num')::int / 10000"); do
  say "could not connect to the primary as $POSTGRES_USER (above); retrying in 2 s: check the superuser password in the Secret\${PGSSLMODE:+, and that the primary's certificate names $PRIMARY_HOST and is signed by the CA in $PGSSLROOTCERT (sslmode=$PGSSLMODE)}"
  sleep 2
done
[ "$primary_major" = "$(image_major)" ] || fail "the primary runs PostgreSQL $primary_major and this pod's image $(image_major): a standby must run the primary's major version"
until prepare_primary >/dev/null; do
  say "could not create the replication role on the primary (above); retrying in 2 s"
  sleep 2
done
say "the primary has the replication role $POSTGRES_REPLICATION_USER, with the Secret's password"

clone="\${PGDATA%/}.clone"
mkdir -p "$(dirname "$clone")"
say "cloning $PRIMARY_HOST:$PRIMARY_PORT into $PGDATA"
until rm -rf "$clone" && PGPASSFILE="$passfile" pg_basebackup --no-password \\
  -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U "$POSTGRES_REPLICATION_USER" -d "application_name=$HOSTNAME" \\
  -D "$clone" -R -X stream -c fast; do
  say "pg_basebackup failed (above); retrying in 2 s: if the primary refused $POSTGRES_REPLICATION_USER"\\
" ('no pg_hba.conf entry for replication connection'), pod 0 has not started since this version of the library"\\
" was applied; if it said 'password authentication failed', check the replication password in the Secret"
  sleep 2
done
chmod 700 "$clone"
write_conninfo "$clone"
if [ -d "$PGDATA" ]; then rmdir "$PGDATA"; fi
mv "$clone" "$PGDATA"
say "cloned: starting as a hot standby"
`;

/**
 * Readiness, run every second: one psql over TCP on loopback (connecting proves the server
 * accepts connections) and shell builtins otherwise. Pod 0 is ready when it is not in recovery.
 * A standby is ready when it is in recovery and has streamed from the primary since PostgreSQL
 * started: a new or restarted standby is not ready before it streams, and a standby whose
 * primary restarts stays ready (it records the server start time it streamed in, next to
 * PGDATA), so readiness does not flap with the connection.
 */
export const READINESS = `#!/bin/sh
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

/**
 * The startup and liveness probes: `pg_isready` over TCP on loopback ("accepting" for startup;
 * "accepting" or "rejecting", the postmaster answering, for liveness), and either passes while a
 * standby clones its primary (the clone directory exists), which takes as long as the data takes
 * to copy and is not a server failing to start.
 */
export const PROBE = `#!/bin/sh
# postgres-statefulset: startup and liveness probes.
pg_isready -q -h 127.0.0.1 -p "$PGPORT" -U "$POSTGRES_USER"
status=$?
[ -d "\${PGDATA%/}.clone" ] && exit 0
case "$1" in
  startup) [ "$status" = 0 ] ;;
  liveness) [ "$status" -le 1 ] ;;
  *) echo "usage: probe.sh startup|liveness" >&2; exit 2 ;;
esac
`;

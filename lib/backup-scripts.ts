// Backups and restores with the official image and no operator (internal): the scripts the
// backup Job, the PostgreSQL container and the restore init container run, rendered into
// ConfigMaps. The same text for every instance: values reach them only through environment
// variables, psql variables (`:'name'`) and arguments; database names come from the server and
// are passed as data (PGDATABASE), never as shell or SQL text.
//
// Layout of a backup claim (mounted at BACKUP_MOUNT):
//   <statefulset>/logical/<id>/backup.json           the manifest: kind, times, size, version, databases
//   <statefulset>/logical/<id>/globals.sql           pg_dumpall --globals-only (roles, tablespaces)
//   <statefulset>/logical/<id>/databases/<oid>.dump  pg_dump --format=custom, one per database
//   <statefulset>/physical/<id>/backup.json
//   <statefulset>/physical/<id>/base.tar.gz, pg_wal.tar.gz, backup_manifest   pg_basebackup -F tar -z -X stream
//   <statefulset>/wal/<system identifier>/<segment>.gz   the WAL archive (walArchive)
// <id> is the start time in UTC, 20250131T020000Z. A backup is written as `.partial-<id>` and
// renamed to `<id>` once verified and described by backup.json: a directory named like an id
// with a backup.json is a complete backup, and nothing else is. Retention renames a backup to
// `.deleting-<id>` before removing it, so that an interrupted deletion never leaves a partial
// backup under a complete backup's name.

import { AS_POSTGRES } from './shell';

/** Where the backup claim is mounted (backup Job; with a WAL archive, the PostgreSQL and restore containers). */
export const BACKUP_MOUNT = '/backups';
/** Where the restore init container mounts the claim it restores from, read-only. */
export const RESTORE_MOUNT = '/restore';
/** Where the backup scripts are mounted. */
export const BACKUP_SCRIPTS_DIR = '/etc/postgres-statefulset-backup';
export const BACKUP_SCRIPT = 'backup.sh';
export const ARCHIVE_SCRIPT = 'archive-wal.sh';
export const HBA_SCRIPT = 'backup-hba.sh';
/** Name of the pg_hba.conf script in /docker-entrypoint-initdb.d. */
export const HBA_INITDB_TARGET = '00-postgres-statefulset-backup.sh';
/** Where the restore scripts are mounted. */
export const RESTORE_SCRIPTS_DIR = '/etc/postgres-statefulset-restore';
export const RESTORE_SCRIPT = 'restore.sh';
export const RESTORE_WAL_SCRIPT = 'restore-wal.sh';

/**
 * The pg_hba.conf line that lets the superuser make replication connections (pg_basebackup);
 * the keyword `all` in the image's line does not match them. The comment marks it (it must not
 * contain the replication feature's own marker, which that feature greps for).
 */
const HBA_MARK = '# physical backups: pg_basebackup as the superuser';

/** The archive_command of a WAL archive: the segment's path relative to PGDATA and its file name. */
export const ARCHIVE_COMMAND = `sh ${BACKUP_SCRIPTS_DIR}/${ARCHIVE_SCRIPT} %p %f`;

/**
 * Shell functions the scripts share: messages (stdout, and for a failure stderr and the
 * container's termination message), the list of complete backups, and reading a field of a
 * backup.json (our own keys; values that are digits, letters or '.', '-', ':').
 */
const COMMON = `say() { echo "$LOG_PREFIX: $*"; }
fail() {
  echo "$LOG_PREFIX: $*" >&2
  printf '%s\\n' "$LOG_PREFIX: $*" 2>/dev/null > "\${POSTGRES_STATEFULSET_TERMINATION_LOG:-/dev/termination-log}" || true
  exit 1
}
complete_backups() { # <directory>: the ids of the complete backups in it, oldest first
  [ -d "$1" ] || return 0
  for entry in $(ls -1 "$1" | grep -E '^[0-9]{8}T[0-9]{6}Z$' | LC_ALL=C sort); do
    [ ! -f "$1/$entry/backup.json" ] || echo "$entry"
  done
}
json_field() { # <key> <backup.json>
  sed -n 's/.*"'"$1"'" *: *"\\{0,1\\}\\([0-9A-Za-z._:-]*\\)"\\{0,1\\}.*/\\1/p' "$2" | tail -n 1
}
`;

/**
 * The backup Job's container. Environment:
 *   BACKUP_KIND            logical | physical
 *   BACKUP_DIR             the instance's directory on the claim
 *   BACKUP_PRIMARY         host:port of pod 0
 *   BACKUP_STANDBYS        host:port of the standbys to try first (space-separated; may be empty)
 *   BACKUP_KEEP_LAST       keep the newest N complete backups
 *   BACKUP_KEEP_DAYS       and those younger than N days (empty: no age rule)
 *   BACKUP_WAL_ARCHIVE     1 when the pods archive WAL to BACKUP_DIR/wal (its retention follows the physical backups)
 *   PGUSER, PGPASSWORD     the superuser, from its Secret
 *
 * A standby is used when it is in recovery and streams from the primary (an idle or
 * disconnected one would give an old copy); otherwise the primary. Every step that fails fails
 * the Job with the reason; the partial backup is removed (a killed run leaves `.partial-<id>`,
 * removed by the next run, and never taken for a backup). Retention runs only after a backup
 * succeeded and only deletes complete backups beyond what it keeps; the newest is always kept.
 */
export function backupScript(): string {
  return `#!/bin/sh
# postgres-statefulset: take one backup to the backup claim, verify it, describe it, apply retention.
set -eu
umask 077
LOG_PREFIX=backup
${COMMON}
case "\${BACKUP_KIND:-}" in logical|physical) ;; *) fail "BACKUP_KIND must be logical or physical, got '\${BACKUP_KIND:-}'" ;; esac
root="$BACKUP_DIR/$BACKUP_KIND"
export PGCONNECT_TIMEOUT="\${PGCONNECT_TIMEOUT:-10}"
q() { psql -X -A -t -q --no-password -v ON_ERROR_STOP=1 -d postgres "$@"; }

# 1. The server: a streaming standby when there is one, else the primary.
role_of() { # host port: "<in recovery>|<WAL receiver status>"
  PGHOST="$1" PGPORT="$2" q -c "SELECT pg_is_in_recovery(), coalesce((SELECT status FROM pg_stat_wal_receiver), 'none')" 2>&1
}
host= port= role=
for candidate in \${BACKUP_STANDBYS:-}; do
  if state=$(role_of "\${candidate%:*}" "\${candidate##*:}"); then
    if [ "$state" = 't|streaming' ]; then host=\${candidate%:*} port=\${candidate##*:} role=standby; break; fi
    say "$candidate is not a streaming standby (in recovery|WAL receiver: $state); trying the next"
  else
    say "$candidate: $state"
  fi
done
if [ -z "$host" ]; then
  state=$(role_of "\${BACKUP_PRIMARY%:*}" "\${BACKUP_PRIMARY##*:}") || fail "cannot connect to $BACKUP_PRIMARY: $state"
  host=\${BACKUP_PRIMARY%:*} port=\${BACKUP_PRIMARY##*:} role=primary
  [ "\${state%%|*}" = f ] || role="server in recovery"
fi
export PGHOST="$host" PGPORT="$port"

# 2. A new partial backup; leftovers of interrupted runs are never backups.
mkdir -p "$root" || fail "cannot create $root on the backup volume"
# the id is the start time to the second: a backup that starts in the same second as the last one waits for the next
while started=$(date -u +%Y-%m-%dT%H:%M:%SZ) && id=$(printf '%s' "$started" | tr -d ':-') && [ -e "$root/$id" ]; do sleep 1; done
partial="$root/.partial-$id"
for stale in "$root"/.partial-* "$root"/.deleting-*; do
  [ -e "$stale" ] || continue
  say "removing $stale, left by an interrupted run"
  rm -rf "$stale" || fail "cannot remove $stale (above)"
done
trap 'rm -rf "$partial"' EXIT
trap 'exit 143' TERM INT
mkdir "$partial"

# The databases, and what the manifest says about the server: from the server, as JSON it quotes.
oids=$(q -c "SELECT oid FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY oid" 2>&1) \\
  || fail "cannot list the databases of $host:$port: $oids"
info=$(q -v kind="$BACKUP_KIND" -v host="$host" -v oids="$(echo $oids)" 2>&1 <<'SQL'
SELECT json_build_object(
  'kind', :'kind',
  'source', json_build_object('host', :'host', 'standby', pg_is_in_recovery()),
  'superuser', current_user,
  'postgresVersion', current_setting('server_version'),
  'postgresVersionNum', current_setting('server_version_num')::int,
  'systemIdentifier', (SELECT system_identifier::text FROM pg_control_system()),
  'databases', (SELECT coalesce(json_agg(CASE WHEN :'kind' = 'logical'
      THEN json_build_object('name', datname, 'file', 'databases/' || oid || '.dump')
      ELSE json_build_object('name', datname) END ORDER BY oid), '[]')
    FROM pg_database WHERE oid = ANY (string_to_array(:'oids', ' ')::oid[])))
SQL
) || fail "cannot read the server's description from $host:$port: $info"
say "backing up $host:$port ($role) to $root/$id"

# 3. The backup, verified.
extra=
if [ "$BACKUP_KIND" = logical ]; then
  pg_dumpall --globals-only --no-password -l postgres -f "$partial/globals.sql" || fail "pg_dumpall --globals-only failed (above)"
  tail -n 3 "$partial/globals.sql" | grep -q 'dump complete' || fail "globals.sql is incomplete: the disk may be full"
  mkdir "$partial/databases"
  for oid in $oids; do
    name=$(q -v oid="$oid" 2>&1 <<'SQL'
SELECT datname || '.' FROM pg_database WHERE oid = :'oid'
SQL
    ) || fail "cannot read the name of database $oid: $name"
    name=\${name%.}
    [ -n "$name" ] || fail "database $oid was dropped during the backup"
    dump="$partial/databases/$oid.dump"
    # the name goes to libpq as data: PGDATABASE is never parsed as a connection string
    PGDATABASE="$name" pg_dump --format=custom --no-password --file="$dump" || fail "pg_dump of database '$name' failed (above)"
    # reading the whole archive back catches a truncated file (--list reads only its table of contents)
    pg_restore --file=/dev/null "$dump" || fail "the dump of database '$name' does not read back (pg_restore, above)"
    say "database '$name': $(wc -c < "$dump") bytes"
  done
else
  pg_basebackup --no-password -D "$partial" --format=tar --gzip --wal-method=stream --checkpoint=fast \\
    || fail "pg_basebackup failed (above)"
  for file in base.tar.gz pg_wal.tar.gz; do
    gzip -t "$partial/$file" || fail "$file does not read back (gzip, above)"
  done
  major=$(pg_basebackup --version | sed -n 's/^[^0-9]*\\([0-9][0-9]*\\).*/\\1/p')
  if [ "$major" -ge 13 ]; then
    [ -s "$partial/backup_manifest" ] || fail "pg_basebackup wrote no backup_manifest"
  fi
  if [ "$major" -ge 18 ]; then
    # tar-format verification (PostgreSQL 18); the WAL is checked when a restore extracts it
    pg_verifybackup --no-parse-wal --quiet "$partial" || fail "pg_verifybackup failed (above)"
  fi
  start_wal=$(tar -xzOf "$partial/base.tar.gz" backup_label | sed -n 's/^START WAL LOCATION: .*(file \\([0-9A-F]*\\))$/\\1/p')
  [ -n "$start_wal" ] || fail "base.tar.gz has no backup_label"
  extra=", \\"startWal\\": \\"$start_wal\\""
fi

# 4. The manifest, then the rename that makes it a backup.
finished=$(date -u +%Y-%m-%dT%H:%M:%SZ)
epoch=$(date -u +%s)
bytes=$(find "$partial" -type f -exec stat -c %s {} + | awk '{ total += $1 } END { print total + 0 }')
case "$info" in *'}') ;; *) fail "unexpected server description: $info" ;; esac
printf '%s, "id": "%s", "startedAt": "%s", "finishedAt": "%s", "finishedEpoch": %s, "bytes": %s%s}\\n' \\
  "\${info%?}" "$id" "$started" "$finished" "$epoch" "$bytes" "$extra" > "$partial/backup.json" || fail "cannot write backup.json"
sync "$partial"/* "$partial" || fail "cannot flush the backup to the volume"
mv "$partial" "$root/$id" || fail "cannot rename $partial to $root/$id"
sync "$root" || true
trap - EXIT
say "complete: $root/$id ($bytes bytes)"

# 5. Retention: complete backups only; the newest keep_last, and those younger than keep_days.
keep_last=\${BACKUP_KEEP_LAST:-7}
keep_days=\${BACKUP_KEEP_DAYS:-}
now=$(date -u +%s)
n=0
for backup in $(complete_backups "$root" | sort -r); do
  n=$((n + 1))
  [ "$n" -gt "$keep_last" ] || continue
  if [ -n "$keep_days" ]; then
    finished_epoch=$(json_field finishedEpoch "$root/$backup/backup.json")
    case "$finished_epoch" in
      ''|*[!0-9]*) say "keeping $backup: its backup.json does not say when it finished"; continue ;;
    esac
    [ $((now - finished_epoch)) -ge $((keep_days * 86400)) ] || continue
  fi
  say "deleting $backup (retention: the newest $keep_last\${keep_days:+, and those younger than $keep_days days})"
  { mv "$root/$backup" "$root/.deleting-$backup" && rm -rf "$root/.deleting-$backup"; } \
    || fail "backup $id is complete, but deleting $backup failed (above): the claim fills up until retention works"
done

# The WAL archive of each database system, from the oldest kept physical backup of it on.
if [ "$BACKUP_KIND" = physical ] && [ "\${BACKUP_WAL_ARCHIVE:-}" = 1 ] && [ -d "$BACKUP_DIR/wal" ]; then
  for system_dir in "$BACKUP_DIR"/wal/*; do
    [ -d "$system_dir" ] || continue
    system=\${system_dir##*/}
    oldest=
    for backup in $(complete_backups "$root"); do
      if [ "$(json_field systemIdentifier "$root/$backup/backup.json")" = "$system" ]; then
        oldest=$(json_field startWal "$root/$backup/backup.json")
        break
      fi
    done
    if [ -n "$oldest" ]; then
      pg_archivecleanup -x .gz "$system_dir" "$oldest" \
        || fail "backup $id is complete, but pg_archivecleanup failed (above): the claim fills up until retention works"
    else
      say "deleting the WAL archive of database system $system: no physical backup of it is kept"
      { mv "$system_dir" "$BACKUP_DIR/wal/.deleting-$system" && rm -rf "$BACKUP_DIR/wal/.deleting-$system"; } \
        || fail "backup $id is complete, but deleting $system_dir failed (above): the claim fills up until retention works"
    fi
  done
fi
`;
}

/**
 * The archive_command of a WAL archive, run by the primary in its data directory with the
 * segment's path (relative to it) and file name. It writes into
 * `$BACKUP_WAL_DIR/<system identifier>/` (a database system restored from a logical backup
 * archives apart from the one it came from; one recovered from a physical backup continues its
 * timelines), gzip-compressed, under a temporary name that it renames; a segment archived already
 * with the same content is success, with other content a failure (never overwritten).
 */
export function archiveScript(): string {
  return `#!/bin/sh
# postgres-statefulset: archive one WAL file (archive_command).
set -eu
LOG_PREFIX="archive-wal"
src="$1" name="$2"
# the server runs archive_command in its data directory (a restore's temporary server: not PGDATA yet)
system=$(LC_ALL=C pg_controldata "$PWD" | sed -n 's/^Database system identifier: *//p')
[ -n "$system" ] || { echo "$LOG_PREFIX: cannot read the database system identifier of $PWD" >&2; exit 1; }
dir="$BACKUP_WAL_DIR/$system"
dst="$dir/$name.gz"
if [ -f "$dst" ]; then
  if gzip -dc "$dst" | cmp -s - "$src"; then exit 0; fi
  echo "$LOG_PREFIX: $dst exists with other content; not overwriting it" >&2
  exit 1
fi
mkdir -p "$dir"
tmp="$dir/.$name.$$.tmp"
trap 'rm -f "$tmp"' EXIT
gzip -1 -c < "$src" > "$tmp"
sync "$tmp"
mv "$tmp" "$dst"
sync "$dir" || true
`;
}

/**
 * The restore_command of a restore with a WAL archive: a missing file is the end of the archive
 * (exit 1); a file that does not decompress stops the recovery (exit 126, which PostgreSQL
 * treats as fatal), rather than ending it early as if the archive ended there.
 */
export function restoreWalScript(): string {
  return `#!/bin/sh
# postgres-statefulset: fetch one WAL file from the archive (restore_command).
src="$RESTORE_WAL_DIR/$1.gz"
[ -f "$src" ] || exit 1
if ! gzip -dc "$src" > "$2"; then
  echo "restore-wal: $src does not decompress: the WAL archive is damaged; stopping the recovery" >&2
  exit 126
fi
`;
}

/**
 * Admits the superuser's replication connections (pg_basebackup) in pg_hba.conf, with the
 * method of the image's `host all all all` line. Run on every start before the image's
 * entrypoint (a database initialised before physical backups were enabled, or a standby cloned
 * before) and by the entrypoint after it initialises an empty data directory.
 */
export function hbaScript(): string {
  return `#!/bin/sh
# postgres-statefulset: let the superuser make replication connections, for physical backups.
set -eu
hba="$PGDATA/pg_hba.conf"
[ -s "$PGDATA/PG_VERSION" ] && [ -f "$hba" ] || exit 0
! grep -qF '${HBA_MARK}' "$hba" || exit 0
method=$(awk '$1 == "host" && $2 == "all" && $3 == "all" && $4 == "all" { m = $5 } END { print m }' "$hba")
if [ -z "$method" ]; then
  echo "backup-hba: $hba has no 'host all all all <method>' line to follow; physical backups need a line 'host replication <superuser> all <method>'" >&2
  exit 0
fi
printf '\\nhost replication "%s" all %s %s\\n' "$POSTGRES_USER" "$method" '${HBA_MARK}' >> "$hba"
echo "backup-hba: admitted replication connections of $POSTGRES_USER ($method) for physical backups"
`;
}

/**
 * The restore init container of every pod, run before the PostgreSQL container (its start steps, then the image's
 * entrypoint), with the server's `-c` arguments as its own arguments. Environment:
 *   RESTORE_DIR             the source StatefulSet's directory on the claim
 *   RESTORE_KIND            logical | physical
 *   RESTORE_BACKUP          a backup id (empty: the newest complete one)
 *   RESTORE_TARGET_TIME, RESTORE_TARGET_EPOCH   a point in time (PostgreSQL's form, seconds since the epoch), or empty
 *   PGDATA, PGPORT, POSTGRES_USER, POSTGRES_PASSWORD[_FILE], POSTGRES_DB, POSTGRES_INITDB_ARGS  as in the PostgreSQL container
 *   POSTGRES_REPLICATION_USER, POSTGRES_REPLICATION_PASSWORD  with replication
 *
 * Pods other than 0 and a data directory that holds a database: nothing to do. Otherwise the
 * backup is restored into a sibling of PGDATA (`<PGDATA>.restore`) and moved into place only when
 * it is complete: a physical backup is extracted, checked against its manifest (pg_verifybackup),
 * and recovered by a temporary server (to the end of its WAL, of the WAL archive, or to the target
 * time); a logical one is restored into a data directory initialised as the image does (initdb
 * with the same user, password and arguments, the same pg_hba.conf line), roles first, then each
 * database with `pg_restore --create`. The superuser's and the replication role's passwords are
 * then set from the Secret, POSTGRES_DB is created if the backup lacks it, the settings that
 * connected a standby to its primary are reset (a backup taken from a standby has them), and
 * the server stops cleanly. A missing or damaged backup, or any failed step, fails the container with the reason
 * and removes the staging directory: PGDATA stays empty, so the pod never starts an empty
 * database in its place, and the next start tries again from the beginning (after a kill, it
 * removes what the killed attempt left). The image's initdb.d scripts (initScripts) do not run.
 */
export function restoreScript(): string {
  return `#!/bin/sh
# postgres-statefulset: initialise pod 0's empty data directory from a backup.
set -eu
LOG_PREFIX="restore [$HOSTNAME]"
${COMMON}
${AS_POSTGRES}
scripts=$(cd "$(dirname "$0")" && pwd)
if [ "\${HOSTNAME##*-}" != 0 ]; then
  say "not pod 0: nothing to restore (a standby clones pod 0)"
  exit 0
fi
if [ -s "$PGDATA/PG_VERSION" ]; then
  say "$PGDATA holds a database: nothing to restore"
  exit 0
fi
if [ -d "$PGDATA" ] && [ -n "$(ls -A "$PGDATA")" ]; then
  fail "$PGDATA holds files but no database; refusing to restore over them"
fi

# 1. The backup.
root="$RESTORE_DIR/$RESTORE_KIND"
[ -d "$root" ] || fail "no $RESTORE_KIND backups: $root does not exist on the claim (restoreFrom names the claim the backups were written to, and sourceStatefulSetName the StatefulSet that wrote them)"
target_epoch=\${RESTORE_TARGET_EPOCH:-}
if [ -n "\${RESTORE_BACKUP:-}" ]; then
  id=$RESTORE_BACKUP
  [ -f "$root/$id/backup.json" ] \\
    || fail "$root/$id is not a complete backup; complete backups: $(echo $(complete_backups "$root"))"
  finished=$(json_field finishedEpoch "$root/$id/backup.json")
  if [ -n "$target_epoch" ] && [ "\${finished:-0}" -gt "$target_epoch" ]; then
    fail "backup $id finished after the target time $RESTORE_TARGET_TIME: choose an earlier backup, or none (the newest that fits)"
  fi
else
  id=
  for candidate in $(complete_backups "$root" | sort -r); do
    if [ -n "$target_epoch" ]; then
      # whole seconds: a backup that finished in the target's second may have finished after it
      finished=$(json_field finishedEpoch "$root/$candidate/backup.json")
      [ -n "$finished" ] && [ "$finished" -lt "$target_epoch" ] || continue
    fi
    id=$candidate
    break
  done
  [ -n "$id" ] || fail "no complete $RESTORE_KIND backup in $root\${target_epoch:+ that finished before $RESTORE_TARGET_TIME}"
fi
backup="$root/$id"
say "restoring $backup into $PGDATA"

staging="\${PGDATA%/}.restore"
work=$(mktemp -d)
server=
stop_server() {
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
    as_postgres pg_ctl -D "$staging" -m fast -w -t 3600 stop >/dev/null 2>&1 || kill -9 "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  server=
}
# a failed restore leaves nothing behind: PGDATA stays empty, the staging directory goes
trap 'stop_server; rm -rf "$work" "$staging"' EXIT
trap 'exit 143' TERM INT
rm -rf "$staging"
mkdir -p "$staging"
chmod 700 "$staging" "$work"
[ "$(id -u)" != 0 ] || chown postgres "$staging" "$work"
superuser_password() {
  if [ -n "\${POSTGRES_PASSWORD_FILE:-}" ]; then cat "$POSTGRES_PASSWORD_FILE"; else printf '%s' "\${POSTGRES_PASSWORD:-}"; fi
}
admin=$POSTGRES_USER

# 2. The data directory, in the staging directory.
if [ "$RESTORE_KIND" = physical ]; then
  for file in base.tar.gz pg_wal.tar.gz; do
    [ -f "$backup/$file" ] || fail "$backup/$file is missing: the backup is incomplete"
  done
  tar -xzf "$backup/base.tar.gz" -C "$staging" || fail "cannot extract base.tar.gz (above): the backup is damaged"
  mkdir -p "$staging/pg_wal"
  tar -xzf "$backup/pg_wal.tar.gz" -C "$staging/pg_wal" || fail "cannot extract pg_wal.tar.gz (above): the backup is damaged"
  if [ -f "$backup/backup_manifest" ] && command -v pg_verifybackup >/dev/null 2>&1; then
    pg_verifybackup --quiet --manifest-path="$backup/backup_manifest" "$staging" \\
      || fail "the backup does not match its manifest (pg_verifybackup, above): it is damaged or incomplete"
  fi
  # a backup taken from a standby is restored as a primary
  rm -f "$staging/standby.signal" "$staging/recovery.signal"
  [ "$(id -u)" != 0 ] || chown -R postgres "$staging"
  chmod 700 "$staging"
  admin=$(json_field superuser "$backup/backup.json")
  admin=\${admin:-$POSTGRES_USER}
  system=$(json_field systemIdentifier "$backup/backup.json")
  export RESTORE_WAL_DIR="$RESTORE_DIR/wal/$system"
  if [ -n "$system" ] && [ -d "$RESTORE_WAL_DIR" ]; then
    : > "$staging/recovery.signal"
    set -- "$@" -c "restore_command=sh $scripts/${RESTORE_WAL_SCRIPT} %f %p"
    if [ -n "\${RESTORE_TARGET_TIME:-}" ]; then
      set -- "$@" -c "recovery_target_time=$RESTORE_TARGET_TIME" -c recovery_target_action=promote
      say "recovering to $RESTORE_TARGET_TIME from the WAL archive $RESTORE_WAL_DIR"
    else
      say "recovering to the end of the WAL archive $RESTORE_WAL_DIR"
    fi
  elif [ -n "\${RESTORE_TARGET_TIME:-}" ]; then
    fail "point-in-time recovery needs the WAL archive of database system '$system', but $RESTORE_WAL_DIR does not exist (walArchive was off, or the archive was deleted)"
  else
    say "recovering to the end of the backup (no WAL archive)"
  fi
else
  [ -f "$backup/globals.sql" ] || fail "$backup/globals.sql is missing: the backup is incomplete"
  tail -n 3 "$backup/globals.sql" | grep -q 'dump complete' || fail "$backup/globals.sql is truncated: the backup is damaged"
  dumps=$(grep -o '"file" *: *"databases/[0-9]*\\.dump"' "$backup/backup.json" | sed 's/.*"\\(databases\\/[0-9]*\\.dump\\)"/\\1/')
  for dump in $dumps; do
    pg_restore --list "$backup/$dump" >/dev/null || fail "$backup/$dump is not a readable pg_dump archive (above): the backup is damaged"
  done
  superuser_password > "$work/pwfile"
  [ "$(id -u)" != 0 ] || chown postgres "$work/pwfile"
  set -f
  # shellcheck disable=SC2086 # plain initdb options, as the image passes them
  as_postgres initdb -D "$staging" --username="$POSTGRES_USER" --pwfile="$work/pwfile" \${POSTGRES_INITDB_ARGS:-} >/dev/null \\
    || fail "initdb failed (above)"
  set +f
  rm -f "$work/pwfile"
  auth=\${POSTGRES_HOST_AUTH_METHOD:-$(as_postgres postgres -D "$staging" -C password_encryption "$@")}
  printf '\\nhost all all all %s\\n' "$auth" >> "$staging/pg_hba.conf"
fi

# 3. A temporary server on a private socket: recovery, or the logical restore; then the passwords.
as_postgres postgres -D "$staging" "$@" -c listen_addresses= -c "unix_socket_directories=$work" -c ssl=off > "$work/server.log" 2>&1 &
server=$!
export PGHOST="$work"
polls=0
until [ "$(psql -X -A -t -q --no-password -U "$admin" -d template1 -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ]; do
  if ! kill -0 "$server" 2>/dev/null; then
    cat "$work/server.log" >&2
    fail "the temporary server stopped before the restore finished: $(grep -E 'FATAL|PANIC' "$work/server.log" | tail -n 1)"
  fi
  polls=$((polls + 1))
  [ $((polls % 150)) -ne 0 ] || say "still recovering: $(tail -n 1 "$work/server.log")"
  sleep 0.2
done
psql_admin() { psql -X -q --no-password -v ON_ERROR_STOP=1 -U "$admin" "$@"; }
if [ "$RESTORE_KIND" = logical ]; then
  # roles first: pg_dumpall writes CREATE ROLE for every role, the superuser's included, and
  # ALTER ROLE after it, so that "already exists" is the one error to expect (as its documentation says)
  psql -X -q --no-password -U "$admin" -d template1 -f "$backup/globals.sql" > /dev/null 2> "$work/globals.err" \\
    || { cat "$work/globals.err" >&2; fail "restoring roles and tablespaces failed (above)"; }
  unexpected=$(grep 'ERROR:' "$work/globals.err" | grep -v 'ERROR:  role ".*" already exists$' || true)
  [ -z "$unexpected" ] || { cat "$work/globals.err" >&2; fail "restoring roles and tablespaces failed: $unexpected"; }
  for dump in $dumps; do
    pg_restore --create --clean --if-exists --exit-on-error --no-password -U "$admin" -d template1 "$backup/$dump" \\
      || fail "restoring $dump failed (above); nothing was moved into $PGDATA"
  done
  psql_admin -d template1 -v db="\${POSTGRES_DB:-$POSTGRES_USER}" <<'SQL' || fail "creating POSTGRES_DB failed (above)"
SELECT format('CREATE DATABASE %I', :'db') WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_database WHERE datname = :'db')
\\gexec
SQL
fi
psql_admin -d template1 -v user="$POSTGRES_USER" -v password="$(superuser_password)" \\
  -v replication_user="\${POSTGRES_REPLICATION_USER:-}" -v replication_password="\${POSTGRES_REPLICATION_PASSWORD:-}" <<'SQL' \\
  || fail "setting the passwords from the Secret failed (above)"
SELECT format('CREATE ROLE %I WITH SUPERUSER LOGIN', :'user') WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = :'user')
\\gexec
ALTER ROLE :"user" WITH PASSWORD :'password';
SELECT format('ALTER ROLE %I WITH PASSWORD %L', :'replication_user', :'replication_password')
  WHERE :'replication_user' <> '' AND EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = :'replication_user')
\\gexec
-- a backup taken from a standby carries its connection to the old primary, and the old replication password
ALTER SYSTEM RESET primary_conninfo;
ALTER SYSTEM RESET primary_slot_name;
SQL
as_postgres pg_ctl -D "$staging" -m fast -w -t 3600 stop >/dev/null || fail "the temporary server did not stop cleanly (above)"
wait "$server" || true
server=

# 4. Into place, in one rename.
chmod 700 "$staging"
if [ -d "$PGDATA" ]; then rmdir "$PGDATA"; fi
mv "$staging" "$PGDATA"
say "restored $backup into $PGDATA"
`;
}

// Backups with the official image and no operator (internal): the scripts the backup Job and
// the PostgreSQL container run, rendered into
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

/** Where the backup claim is mounted (backup Job; with a WAL archive, the PostgreSQL container). */
export const BACKUP_MOUNT = '/backups';

/** Where the backup scripts are mounted. */
export const BACKUP_SCRIPTS_DIR = '/etc/postgres-statefulset-backup';
export const BACKUP_SCRIPT = 'backup.sh';
export const ARCHIVE_SCRIPT = 'archive-wal.sh';
export const HBA_SCRIPT = 'backup-hba.sh';
/** Name of the pg_hba.conf script in /docker-entrypoint-initdb.d. */
export const HBA_INITDB_TARGET = '00-postgres-statefulset-backup.sh';

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
  printf '%s\\n' "$LOG_PREFIX: $*" 2>/dev/null > "\${TERMINATION_LOG:-/dev/termination-log}" || true
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
  mv "$root/$backup" "$root/.deleting-$backup" && rm -rf "$root/.deleting-$backup"
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
      pg_archivecleanup -x .gz "$system_dir" "$oldest" || fail "pg_archivecleanup failed (above)"
    else
      say "deleting the WAL archive of database system $system: no physical backup of it is kept"
      mv "$system_dir" "$BACKUP_DIR/wal/.deleting-$system" && rm -rf "$BACKUP_DIR/wal/.deleting-$system"
    fi
  done
fi
`;
}

/**
 * The archive_command of a WAL archive, run by the primary in its data directory with the
 * segment's path (relative to it) and file name. It writes into `$BACKUP_WAL_DIR/<system identifier>/` (a restored
 * database system archives apart from the one it came from, unless it continues its timelines),
 * gzip-compressed, under a temporary name that it renames; a segment archived already with the
 * same content is success, with other content a failure (never overwritten).
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

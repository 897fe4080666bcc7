// Major version upgrades (internal): the scripts the init containers of pod 0 run when the
// instance has `majorUpgrade`. Every step is idempotent and resumable: the new data directory
// is built in `<PGDATA>.upgrading` and only moved into place, after a marker says it is
// complete; the old data directory is never modified (pg_upgrade in copy mode; the dump is read
// from it), and kept until the user removes it.
//
// Environment (besides the pod's: HOSTNAME, PGDATA, PGPORT, POSTGRES_USER, POSTGRES_PASSWORD[_FILE]):
//   POSTGRES_STATEFULSET_DATA_MOUNT   where the data volume is mounted
//   UPGRADE_FROM_MAJOR                the major version the data was written with
//   UPGRADE_METHOD                    pg_upgrade or dump-and-restore
//   OLD_POSTGRES                      (pg_upgrade) where the old image's binaries are copied
// and the server's arguments as "$@" (`-c name=value ...`), for the new server.
import { AS_POSTGRES, MAJORS, ORDINAL, SAY_FAIL } from './shell';

export const BINARIES_SCRIPT = 'upgrade-binaries.sh';
export const DUMP_SCRIPT = 'upgrade-dump.sh';
export const UPGRADE_SCRIPT = 'upgrade.sh';

/** Where to find what, and whether an upgrade is pending (sets `$old`, the old data directory). */
const COMMON = `${SAY_FAIL}
${AS_POSTGRES}
${MAJORS}
${ORDINAL}
[ "\${1:-}" != postgres ] || shift
mount="\${POSTGRES_STATEFULSET_DATA_MOUNT%/}"
pgdata="\${PGDATA%/}"
from="$UPGRADE_FROM_MAJOR"
staging="$pgdata.upgrading"
complete="$pgdata.upgrade-complete"
dump="$pgdata.upgrade-dump.sql"
settings="$pgdata.upgrade-settings"

# every data directory of the old major on the volume, not a standby's, not the one being built
old_directories() {
  find "$mount" -maxdepth 4 -path '*/global/pg_control' 2>/dev/null | sed 's#/global/pg_control$##' | while IFS= read -r dir; do
    [ "$dir" != "$staging" ] && [ ! -e "$dir/standby.signal" ] && [ "$(data_major "$dir")" = "$from" ] && echo "$dir"
  done
}

# true when pod 0 has data of the old major and PGDATA does not hold another major yet
pending() {
  [ "$ordinal" = 0 ] || { say "not pod 0: nothing to upgrade (standbys clone the upgraded primary)"; return 1; }
  if [ -s "$pgdata/PG_VERSION" ] && [ "$(data_major "$pgdata")" != "$from" ]; then
    rm -f "$complete"
    say "$pgdata holds PostgreSQL $(data_major "$pgdata"): nothing to upgrade; remove majorUpgrade from the instance"
    return 1
  fi
  old=$(old_directories)
  [ -n "$old" ] || { say "no PostgreSQL $from data directory on the volume: nothing to upgrade"; return 1; }
  [ "$(printf '%s\\n' "$old" | grep -c .)" = 1 ] || fail "several PostgreSQL $from data directories on the volume ($(printf '%s ' $old)): move all but the one to upgrade off the volume"
  return 0
}
# the new layout's PGDATA may live where nothing exists yet (/var/lib/postgresql/18/docker): the
# upgrade's files go beside it, once the volume is known to have room for them
beside_pgdata() { mkdir -p "$(dirname "$pgdata")"; }

kib() { du -sk "$1" | cut -f1; }
free_kib() { df -Pk "$mount" | awk 'NR == 2 { print $4 }'; }
# needs <kib>: refuses unless the volume has that much room, saying how much is missing
needs() {
  have=$(free_kib)
  [ "$have" -ge "$1" ] || fail "the volume has $((have / 1024)) MiB free, the upgrade needs about $(($1 / 1024)) MiB (PostgreSQL $from data: $(($(kib "$old") / 1024)) MiB): grow the claim (kubectl patch pvc <claim> -p '{\\"spec\\":{\\"resources\\":{\\"requests\\":{\\"storage\\":\\"<size>\\"}}}}' where the storage class allows expansion), or free room on the volume"
}

# a server on a private socket, with arguments as arguments (never joined into shell text):
# start_server <bindir> <datadir> [args...]; stop_server <bindir> <datadir>. No TLS: the
# certificates the pod's server uses are prepared by its own start steps, which have not run; no
# WAL archiving: the archive is not mounted here, and the new database system starts its own.
start_server() {
  bin="$1"; dir="$2"; shift 2
  socket=$(mktemp -d)
  [ "$(id -u)" != 0 ] || chown postgres "$socket"
  as_postgres "$bin/postgres" -D "$dir" "$@" -c listen_addresses= -c "unix_socket_directories=$socket" -c "port=$PGPORT" -c ssl=off -c archive_mode=off \\
    > "$socket/server.log" 2>&1 &
  server_pid=$!
  until "$bin/pg_isready" -q -h "$socket" -p "$PGPORT"; do
    kill -0 "$server_pid" 2>/dev/null || fail "the PostgreSQL server on $dir did not start: $(tail -n 5 "$socket/server.log")"
    sleep 0.2
  done
}
stop_server() { as_postgres "$1/pg_ctl" -D "$2" -m fast -w -t 3600 stop >/dev/null; wait "$server_pid" 2>/dev/null || true; }

superuser_password() {
  if [ -n "\${POSTGRES_PASSWORD_FILE:-}" ]; then cat "$POSTGRES_PASSWORD_FILE"; else printf '%s' "\${POSTGRES_PASSWORD:-}"; fi
}

# the old cluster's settings that the new one must share (pg_upgrade checks them), one per line:
# encoding, collate, ctype, locale provider (c, i or b), its locale, data checksums, install user
read_settings() {
  PGPASSWORD="$(superuser_password)" "$1/psql" -X -A -t -q --no-password -h "$socket" -p "$PGPORT" -U "$POSTGRES_USER" -d template1 <<'SQL'
SELECT pg_encoding_to_char(encoding) AS encoding, datcollate AS lc_collate, datctype AS lc_ctype FROM pg_database WHERE datname = 'template1' \\gset
SELECT current_setting('server_version_num')::int >= 170000 AS v17, current_setting('server_version_num')::int >= 150000 AS v15 \\gset
\\if :v17
SELECT datlocprovider AS provider, coalesce(datlocale, '') AS locale FROM pg_database WHERE datname = 'template1' \\gset
\\elif :v15
SELECT datlocprovider AS provider, coalesce(daticulocale, '') AS locale FROM pg_database WHERE datname = 'template1' \\gset
\\else
SELECT 'c' AS provider, '' AS locale \\gset
\\endif
\\echo :encoding
\\echo :lc_collate
\\echo :lc_ctype
\\echo :provider
\\echo :locale
SHOW data_checksums;
SELECT rolname FROM pg_roles WHERE oid = 10;
SQL
}`;

/**
 * The init container that runs the old image (pg_upgrade): copies that image's PostgreSQL
 * binaries, libraries and share files into OLD_POSTGRES, under the same paths.
 */
export const BINARIES = `#!/bin/sh
# postgres-statefulset: copy the old image's PostgreSQL into the pod, for pg_upgrade.
set -eu
STEP=major-upgrade
${COMMON}
pending || exit 0
[ "$(image_major)" = "$from" ] || fail "majorUpgrade names an image of PostgreSQL $from, but this container's image runs PostgreSQL $(image_major)"
bindir=$(dirname "$(command -v postgres)")
prefix="\${bindir%/bin}"
set -- "\${prefix#/}"
[ ! -d "/usr/share/postgresql/$from" ] || set -- "$@" "usr/share/postgresql/$from"
find "$OLD_POSTGRES" -mindepth 1 -delete
(cd / && tar -cf - "$@") | (cd "$OLD_POSTGRES" && tar -xf -)
printf '%s\\n' "$bindir" > "$OLD_POSTGRES/bindir"
say "copied PostgreSQL $from ($*) for pg_upgrade"
`;

/**
 * The init container that runs the old image (dump and restore): dumps the old data directory
 * with its own server into a file beside PGDATA, written under a temporary name and renamed when
 * complete, with the settings the new data directory must share.
 */
export const DUMP = `#!/bin/sh
# postgres-statefulset: dump the old major's data for the upgrade.
set -eu
STEP=major-upgrade
${COMMON}
pending || exit 0
[ ! -e "$complete" ] || exit 0
[ ! -s "$dump" ] || { say "the dump of $old is complete: the new image restores it"; exit 0; }
[ "$(image_major)" = "$from" ] || fail "majorUpgrade names an image of PostgreSQL $from, but this container's image runs PostgreSQL $(image_major)"
size=$(kib "$old")
needs $((size * 22 / 10 + 65536))
beside_pgdata
bin=$(dirname "$(command -v postgres)")
say "dumping PostgreSQL $from from $old ($((size / 1024)) MiB)"
start_server "$bin" "$old"
trap 'stop_server "$bin" "$old" || true' EXIT
read_settings "$bin" > "$settings.partial" || fail "could not read the settings of $old"
PGPASSWORD="$(superuser_password)" pg_dumpall --no-password -h "$socket" -p "$PGPORT" -U "$POSTGRES_USER" -f "$dump.partial" \\
  || fail "pg_dumpall of $old failed (above)"
stop_server "$bin" "$old"
trap - EXIT
mv "$settings.partial" "$settings"
mv "$dump.partial" "$dump"
say "dumped $old into $dump ($(($(kib "$dump") / 1024)) MiB)"
`;

/**
 * The init container that runs the new image: builds the new data directory (pg_upgrade from
 * the old binaries, or the restore of the dump), carries pg_hba.conf, pg_ident.conf and the
 * settings of postgresql.auto.conf that the new major knows over, marks it complete, then
 * moves it into place (keeping the old one).
 */
export const UPGRADE = `#!/bin/sh
# postgres-statefulset: upgrade pod 0's data to the image's major version.
set -eu
STEP=major-upgrade
${COMMON}
pending || exit 0
new=$(image_major)
[ "$new" -gt "$from" ] || fail "majorUpgrade upgrades from PostgreSQL $from, but the image runs PostgreSQL $new: only upgrades to a newer major"
newbin=$(dirname "$(command -v postgres)")

swap() {
  if [ "$old" = "$pgdata" ]; then
    mv "$pgdata" "$pgdata.pg$from"
    old="$pgdata.pg$from"
  fi
  if [ -d "$pgdata" ]; then rmdir "$pgdata"; fi
  mv "$staging" "$pgdata"
  rm -f "$complete" "$dump" "$settings"
  say "upgraded to PostgreSQL $new in $pgdata; the PostgreSQL $from data is kept in $old: remove it when you no longer need it to roll back (kubectl exec <pod> -- rm -rf $old), and remove majorUpgrade from the instance"
}
if [ -e "$complete" ] && [ -d "$staging" ]; then
  say "the upgraded data directory is complete: moving it into place"
  swap
  exit 0
fi

# settings the new data directory must share with the old one: initdb with them
initdb_new() {
  { IFS= read -r encoding; IFS= read -r collate; IFS= read -r ctype; IFS= read -r provider; IFS= read -r locale
    IFS= read -r checksums; IFS= read -r user; } < "$1"
  set -- --username="$user" --encoding="$encoding" --lc-collate="$collate" --lc-ctype="$ctype"
  case "$provider" in
    i) set -- "$@" --locale-provider=icu --icu-locale="$locale" ;;
    b) set -- "$@" --locale-provider=builtin --builtin-locale="$locale" ;;
  esac
  if [ "$checksums" = on ]; then set -- "$@" --data-checksums; elif [ "$new" -ge 18 ]; then set -- "$@" --no-data-checksums; fi
  pwfile=$(mktemp)
  superuser_password > "$pwfile"; echo >> "$pwfile"
  [ "$(id -u)" != 0 ] || chown postgres "$pwfile"
  rm -rf "$staging"
  as_postgres initdb -D "$staging" --pwfile="$pwfile" "$@" >/dev/null || fail "initdb of the new data directory failed (above)"
  rm -f "$pwfile"
}

size=$(kib "$old")
case "$UPGRADE_METHOD" in
  pg_upgrade)
    needs $((size * 11 / 10 + 65536))
    beside_pgdata
    oldbin="$OLD_POSTGRES$(cat "$OLD_POSTGRES/bindir")"
    [ -x "$oldbin/postgres" ] || fail "the old image's binaries are missing from $OLD_POSTGRES (the init container before this one copies them)"
    say "upgrading $old (PostgreSQL $from, $((size / 1024)) MiB) with pg_upgrade"
    # the old server, once: for its settings, and so that it is shut down cleanly as pg_upgrade requires
    start_server "$oldbin" "$old"
    read_settings "$oldbin" > "$settings" || { stop_server "$oldbin" "$old"; fail "could not read the settings of $old"; }
    stop_server "$oldbin" "$old"
    initdb_new "$settings"
    work=$(mktemp -d); [ "$(id -u)" != 0 ] || chown postgres "$work"
    user=$(sed -n 7p "$settings")
    PGPASSWORD="$(superuser_password)"; export PGPASSWORD
    (cd "$work" && as_postgres pg_upgrade --old-bindir="$oldbin" --new-bindir="$newbin" \\
      --old-datadir="$old" --new-datadir="$staging" --username="$user" --socketdir="$work") \\
      || fail "pg_upgrade failed (above); $old is unchanged: fix the cause and restart the pod, or set the old image again"
    ;;
  dump-and-restore)
    [ -s "$dump" ] && [ -s "$settings" ] || fail "no complete dump of $old (the init container before this one writes it)"
    needs $((size * 11 / 10 + 65536))
    say "restoring the dump of $old (PostgreSQL $from) into PostgreSQL $new"
    initdb_new "$settings"
    start_server "$newbin" "$staging" "$@"
    trap 'stop_server "$newbin" "$staging" || true' EXIT
    errors=$(PGPASSWORD="$(superuser_password)" psql -X -q --no-password -h "$socket" -p "$PGPORT" -U "$POSTGRES_USER" -d postgres -f "$dump" 2>&1 >/dev/null \\
      | grep 'ERROR:' | grep -vF "ERROR:  role \\"$(sed -n 7p "$settings")\\" already exists" || true)
    [ -z "$errors" ] || fail "restoring the dump failed: $errors"
    stop_server "$newbin" "$staging"
    trap - EXIT
    ;;
  *) fail "unknown UPGRADE_METHOD '$UPGRADE_METHOD'" ;;
esac

# carry over the access rules and the settings of ALTER SYSTEM that the new major knows
cp "$old/pg_hba.conf" "$old/pg_ident.conf" "$staging/"
: > "$staging/postgresql.auto.conf.carried"
grep -E '^[a-z_.]+ = ' "$old/postgresql.auto.conf" 2>/dev/null | while IFS= read -r line; do
  name="\${line%% = *}"
  if as_postgres postgres -D "$staging" -C "$name" >/dev/null 2>&1; then printf '%s\\n' "$line"; else say "dropped $name from postgresql.auto.conf: PostgreSQL $new does not know it"; fi
done >> "$staging/postgresql.auto.conf.carried"
{ echo '# Do not edit this file manually!'; echo '# It will be overwritten by the ALTER SYSTEM command.'; cat "$staging/postgresql.auto.conf.carried"; } > "$staging/postgresql.auto.conf"
rm -f "$staging/postgresql.auto.conf.carried"
rm -rf "$staging/pg_upgrade_output.d"
date -u '+%Y-%m-%dT%H:%M:%SZ' > "$complete"
swap
`;

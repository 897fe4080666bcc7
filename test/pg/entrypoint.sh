#!/usr/bin/env bash
# Stand-in for the official postgres image's entrypoint (docker-library/postgres,
# /usr/local/bin/docker-entrypoint.sh), for the tests: it takes the container's args and
# environment and does what the image documents, in the same order:
#
#  1. args that start with a flag are postgres's (`-c x=y` means `postgres -c x=y`); anything but
#     `postgres` (or postgres with --help, --version, --describe-config) is exec'd as it is;
#  2. POSTGRES_PASSWORD, POSTGRES_USER (default postgres), POSTGRES_DB (default the user) and
#     POSTGRES_INITDB_ARGS, each from the variable or from the file its *_FILE variant names
#     (both set is an error);
#  3. creates PGDATA (mode 700) and the socket directory; started as root, it fixes their owner and
#     continues as the postgres user;
#  4. only when $PGDATA/PG_VERSION does not exist (else: "Skipping initialization"):
#     - refuses to initialise without a password unless POSTGRES_HOST_AUTH_METHOD=trust;
#     - runs initdb with POSTGRES_USER, the password (through a file) and POSTGRES_INITDB_ARGS
#       evaluated by bash (so quoting in the variable works as in the image), plus
#       POSTGRES_INITDB_WALDIR as --waldir;
#     - appends `host all all all <method>` to pg_hba.conf, where <method> is
#       POSTGRES_HOST_AUTH_METHOD, or else what `postgres -C password_encryption <container args>`
#       prints (so `-c password_encryption=md5` among the args gives md5);
#     - starts a temporary server with the container's args plus `-c listen_addresses='' -p $PGPORT`
#       (socket only), with PGPASSWORD set to the superuser's password;
#     - creates POSTGRES_DB unless it exists, through psql with a psql variable (any name works);
#     - runs the initdb.d files in sorted order: `*.sh` executed when executable, else sourced
#       into this shell; `*.sql` through psql with ON_ERROR_STOP into POSTGRES_DB; `*.sql.gz`,
#       `*.sql.xz`, `*.sql.zst` decompressed into psql; anything else ignored, with a message;
#     - stops the temporary server (fast) and prints "PostgreSQL init process complete";
#  5. exec's `postgres <args>`.
#
# Where a pod and this machine differ (the harness, test/pg/harness.ts, sets these variables):
# - HARNESS_INITDB_D is the directory standing in for /docker-entrypoint-initdb.d.
# - HARNESS_SOCKET_DIR stands in for /var/run/postgresql (the pod's emptyDir): each pod here has
#   its own. Every server this script starts gets `-c unix_socket_directories=<it>` after the
#   container's args, and its psql calls and the initdb.d files see PGHOST=<it> where the image
#   relies on the compiled-in default socket directory (not when the container sets PGHOST).
# - listen_addresses: the image's postgresql.conf.sample says '*'; here initdb's postgresql.conf
#   gets '127.0.0.1' instead, as pods share this machine's loopback (the harness picks free ports).
# - the `host ... trust` lines initdb writes for 127.0.0.1 and ::1 are removed: here loopback
#   stands for every other pod, so every TCP login checks its password; the socket stays trusted.
# - HARNESS_INITDB_CACHE names a directory of initdb results: initdb runs once for each set of
#   its inputs (its arguments, the password, the locale and time zone of the environment, the
#   user, the binary), and later initialisations with the same inputs copy its result instead,
#   then carry on as above (the pg_hba.conf line, the temporary server, the database, the
#   initdb.d files). Copies share initdb's random parts: the database system identifier, the
#   password's salt. Not with a WAL directory of its own (POSTGRES_INITDB_WALDIR, --waldir).
# - HARNESS_INIT_ONLY=1 exits after the initialisation instead of starting postgres.
# - the initdb of the nss_wrapper case (an arbitrary uid without a passwd entry) is not emulated;
#   the harness runs as postgres (or as the invoking user, who has a passwd entry).
#
# Written for these tests from the image's documentation and observed behaviour. It can also be
# sourced (`. entrypoint.sh`) to call its steps one by one, as the image's own helpers do.
set -Eeo pipefail

harness_initdb_d="${HARNESS_INITDB_D:-/docker-entrypoint-initdb.d}"
harness_socket_dir="${HARNESS_SOCKET_DIR:-/var/run/postgresql}"

# VAR [DEFAULT]: VAR's value, or the content of the file VAR_FILE names, or DEFAULT; exported.
env_or_file() {
  local name="$1" file_name="$1_FILE" value="${2:-}"
  if [ -n "${!name:-}" ] && [ -n "${!file_name:-}" ]; then
    echo "error: both $name and $file_name are set (but are exclusive)" >&2
    exit 1
  fi
  if [ -n "${!name:-}" ]; then
    value="${!name}"
  elif [ -n "${!file_name:-}" ]; then
    value="$(<"${!file_name}")"
  fi
  export "$name=$value"
  unset "$file_name"
}

read_settings() {
  env_or_file POSTGRES_PASSWORD
  env_or_file POSTGRES_USER postgres
  env_or_file POSTGRES_DB "$POSTGRES_USER"
  env_or_file POSTGRES_INITDB_ARGS
  POSTGRES_HOST_AUTH_METHOD="${POSTGRES_HOST_AUTH_METHOD:-}"
  if [ -s "$PGDATA/PG_VERSION" ]; then
    initialised=yes
  else
    initialised=
  fi
}

create_directories() {
  mkdir -p "$PGDATA"
  chmod 00700 "$PGDATA" || : # postgres checks the mode itself later
  mkdir -p "$harness_socket_dir" || :
  chmod 03775 "$harness_socket_dir" || :
  if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
    mkdir -p "$POSTGRES_INITDB_WALDIR"
    if [ "$(id -u)" = 0 ]; then
      find "$POSTGRES_INITDB_WALDIR" \! -user postgres -exec chown postgres '{}' +
    fi
    chmod 700 "$POSTGRES_INITDB_WALDIR"
  fi
  if [ "$(id -u)" = 0 ]; then
    find "$PGDATA" "$harness_socket_dir" \! -user postgres -exec chown postgres '{}' +
  fi
}

refuse_without_password() {
  if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
    cat >&2 <<'EOF'
Error: Database is uninitialized and superuser password is not specified.
       You must specify POSTGRES_PASSWORD to a non-empty value for the
       superuser, or POSTGRES_HOST_AUTH_METHOD=trust (not recommended).
EOF
    exit 1
  fi
  if [ "$POSTGRES_HOST_AUTH_METHOD" = trust ]; then
    echo 'WARNING: POSTGRES_HOST_AUTH_METHOD has been set to "trust": anyone who reaches the port logs in without a password.' >&2
  fi
}

# 18+: data of an older layout where the image's default PGDATA would be (docker-library/postgres#1259).
refuse_old_layout() {
  [ "$PGDATA" = "/var/lib/postgresql/${PG_MAJOR:-}/docker" ] || return 0
  local found=() dir
  for dir in /var/lib/postgresql /var/lib/postgresql/data /var/lib/postgresql/*/docker; do
    [ -s "$dir/PG_VERSION" ] && found+=("$dir")
  done
  if [ "${#found[@]}" -eq 0 ] && [ "${PG_MAJOR:-0}" -ge 18 ] && grep -qE '^\S+ \S+ \S+ \S+ /var/lib/postgresql/data ' /proc/self/mountinfo; then
    found+=('/var/lib/postgresql/data (unused mount/volume)')
  fi
  if [ "${#found[@]}" -gt 0 ]; then
    echo "Error: in 18+, PGDATA defaults to /var/lib/postgresql/$PG_MAJOR/docker, but there is PostgreSQL data in: ${found[*]}" >&2
    exit 1
  fi
}

# Harness: the key of an initdb's result (HARNESS_INITDB_CACHE): its arguments, the password,
# the locale and time zone of the environment, the user and the binary. None (no copy) when the
# arguments name a directory of their own.
initdb_key() {
  local arg
  for arg; do
    case "$arg" in -D* | --pgdata* | -X* | --waldir*) return 0 ;; esac
  done
  {
    command -v initdb
    id -u
    printf '%s\0' "$@" "$POSTGRES_PASSWORD"
    env | { grep -E '^(LANG|LANGUAGE|LC_[A-Z]+|TZ)=' || :; } | sort
  } | sha256sum | cut -c1-16
}

run_initdb() {
  if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
    set -- --waldir "$POSTGRES_INITDB_WALDIR" "$@"
  fi
  # The password goes through a file; POSTGRES_INITDB_ARGS is shell text (evaluated, so quotes in it count).
  local args key=
  eval 'args=(--username="$POSTGRES_USER" '"$POSTGRES_INITDB_ARGS"' "$@")'
  # Harness: HARNESS_INITDB_CACHE (see the header)
  if [ -n "${HARNESS_INITDB_CACHE:-}" ]; then
    key="$(initdb_key "${args[@]}")"
  fi
  local cache_dir="${key:+$HARNESS_INITDB_CACHE/$key}"
  if [ -n "$cache_dir" ] && [ -s "$cache_dir/PG_VERSION" ]; then
    cp -a "$cache_dir/." "$PGDATA/"
    echo "harness: $PGDATA is a copy of an initdb with the same arguments, password, locale and user ($key)"
  else
    initdb "${args[0]}" --pwfile=<(printf "%s\n" "$POSTGRES_PASSWORD") "${args[@]:1}"
    if [ -n "$cache_dir" ]; then
      mkdir "$cache_dir.$$" && cp -a "$PGDATA/." "$cache_dir.$$/" && mv -T "$cache_dir.$$" "$cache_dir" 2>/dev/null || rm -rf "$cache_dir.$$"
    fi
  fi

  # Harness: the image's sample configuration listens on '*'; pods here share loopback.
  sed -i -E "s/^#?listen_addresses = [^#]*/listen_addresses = '127.0.0.1'    /" "$PGDATA/postgresql.conf"
  # Harness: no trusted TCP (see the header).
  sed -i -E '/^host\S*\s.*\strust\s*$/d' "$PGDATA/pg_hba.conf"
}

# The container's args (postgres first, or not): the method for `host all all all` follows the
# server's password_encryption under them, unless POSTGRES_HOST_AUTH_METHOD says otherwise.
append_host_line() {
  [ "${1:-}" = postgres ] && shift
  local method
  method="$(postgres -C password_encryption "$@")"
  POSTGRES_HOST_AUTH_METHOD="${POSTGRES_HOST_AUTH_METHOD:-$method}"
  {
    echo
    [ "$POSTGRES_HOST_AUTH_METHOD" = trust ] && echo '# warning: trust is enabled for all connections'
    echo "host all all all $POSTGRES_HOST_AUTH_METHOD"
  } >>"$PGDATA/pg_hba.conf"
}

# The container's args: a socket-only server on PGPORT, under those args.
start_temp_server() {
  [ "${1:-}" = postgres ] && shift
  set -- "$@" -c listen_addresses='' -p "${PGPORT:-5432}" -c "unix_socket_directories=$harness_socket_dir"
  NOTIFY_SOCKET= PGUSER="${PGUSER:-$POSTGRES_USER}" PGHOST="$harness_socket_dir" \
    pg_ctl -D "$PGDATA" -o "$(printf '%q ' "$@")" -w start
}

stop_temp_server() {
  PGUSER="${PGUSER:-postgres}" PGHOST="$harness_socket_dir" pg_ctl -D "$PGDATA" -m fast -w stop
}

# psql as the superuser over the socket, into POSTGRES_DB (when set), stopping at the first error.
psql_as_superuser() {
  local cmd=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
  [ -n "$POSTGRES_DB" ] && cmd+=(--dbname "$POSTGRES_DB")
  PGHOST="$harness_socket_dir" PGHOSTADDR= "${cmd[@]}" "$@"
}

create_database() {
  local exists
  exists="$(POSTGRES_DB= psql_as_superuser --dbname postgres --set db="$POSTGRES_DB" --tuples-only <<'SQL'
SELECT 1 FROM pg_database WHERE datname = :'db';
SQL
)"
  if [ -z "$exists" ]; then
    POSTGRES_DB= psql_as_superuser --dbname postgres --set db="$POSTGRES_DB" <<'SQL'
CREATE DATABASE :"db";
SQL
    echo
  fi
}

run_init_files() {
  local file restore_pghost=
  # Harness: the files' own psql calls find the pod's socket directory (see the header).
  if [ -z "${PGHOST+set}" ] && [ "$harness_socket_dir" != /var/run/postgresql ]; then
    export PGHOST="$harness_socket_dir"
    restore_pghost=unset
  fi
  echo
  for file; do
    case "$file" in
      *.sh)
        if [ -x "$file" ]; then
          echo "$0: running $file"
          "$file"
        else
          echo "$0: sourcing $file"
          # shellcheck disable=SC1090
          . "$file"
        fi
        ;;
      *.sql) echo "$0: running $file"; psql_as_superuser -f "$file"; echo ;;
      *.sql.gz) echo "$0: running $file"; gunzip -c "$file" | psql_as_superuser; echo ;;
      *.sql.xz) echo "$0: running $file"; xzcat "$file" | psql_as_superuser; echo ;;
      *.sql.zst) echo "$0: running $file"; zstd -dc "$file" | psql_as_superuser; echo ;;
      *) echo "$0: ignoring $file" ;;
    esac
    echo
  done
  if [ "$restore_pghost" = unset ]; then
    unset PGHOST
  fi
}

# Whether the args ask postgres for help or its version (then nothing is initialised).
asks_for_help() {
  local arg
  for arg; do
    case "$arg" in -'?' | --help | --describe-config | -V | --version) return 0 ;; esac
  done
  return 1
}

initialise() {
  refuse_without_password
  refuse_old_layout
  ls "$harness_initdb_d/" >/dev/null # unreadable: fail before initdb, not halfway
  local files=("$harness_initdb_d"/*)

  run_initdb
  append_host_line "$@"
  # for psql when local connections need a password too (e.g. --auth-local=scram-sha-256 in POSTGRES_INITDB_ARGS)
  export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
  start_temp_server "$@"
  create_database
  run_init_files "${files[@]}"
  stop_temp_server
  unset PGPASSWORD
  printf '\nPostgreSQL init process complete; ready for start up.\n\n'
}

main() {
  if [ "${1:0:1}" = - ]; then
    set -- postgres "$@"
  fi
  if [ "$1" = postgres ] && ! asks_for_help "$@"; then
    read_settings
    create_directories
    if [ "$(id -u)" = 0 ]; then
      # the image uses gosu; setpriv (util-linux) also keeps the environment as it is
      HOME="$(getent passwd postgres | cut -d: -f6)" exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
    fi
    if [ -z "$initialised" ]; then
      initialise "$@"
    else
      printf '\nPostgreSQL Database directory appears to contain a database; Skipping initialization\n\n'
    fi
    if [ "${HARNESS_INIT_ONLY:-}" = 1 ]; then
      exit 0
    fi
    if [ -n "${HARNESS_SOCKET_DIR:-}" ]; then
      set -- "$@" -c "unix_socket_directories=$harness_socket_dir"
    fi
  fi
  unset HARNESS_INITDB_D HARNESS_SOCKET_DIR HARNESS_INIT_ONLY
  exec "$@"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  main "$@"
fi

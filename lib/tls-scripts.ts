// TLS with the official image and no operator (internal): the scripts the PostgreSQL container
// runs, rendered into a ConfigMap.
//
// The server does not read the key from the Secret volume: a Secret volume's files are owned by
// root with the volume's mode and, with an fsGroup, the fsGroup's group; PostgreSQL accepts a
// root-owned key at mode 0640 at most and one owned by the server user at 0600 at most, and a
// container started as root (restrictedSecurityContext: false) runs the server as postgres
// without the pod's fsGroup (gosu, su-exec). So at every start the certificate and key are
// copied from the Secret into a memory-backed emptyDir, owned by the server user with mode 0600,
// whatever the ids; the server reads that copy.
//
// The kubelet updates a Secret volume in place when the Secret changes (a renewed certificate):
// it writes the new files into a new directory and swaps the volume's `..data` link to it. The
// readiness probe, run every second, notices the swap, copies the new files and sends the
// postmaster SIGHUP, which makes PostgreSQL load them for new connections (PostgreSQL 10+).
//
// The scripts read everything from the container environment:
//   PGDATA                  the data directory
//   POSTGRES_TLS_SOURCE     where the Secret volume with tls.crt and tls.key is mounted
//   POSTGRES_TLS_DIR        the emptyDir the server reads server.crt and server.key from
//   POSTGRES_TLS_REQUIRED   'true': pg_hba.conf refuses connections over the network without TLS
//
// No prop value is ever part of a script: the scripts are the same text for every instance.

/** Script keys in the ConfigMap, and where the pods find them. */
export const START_SCRIPT = 'tls-start.sh';
export const INITDB_SCRIPT = 'initdb-tls.sh';
export const READINESS_SCRIPT = 'tls-readiness.sh';
/** Name of the initdb script in /docker-entrypoint-initdb.d: sorts before the user's scripts. */
export const INITDB_SCRIPT_TARGET = '00-postgres-statefulset-tls.sh';

/** The first and last line of the block of pg_hba.conf this library manages. */
export const HBA_BEGIN = '# BEGIN TLS required: connections over the network without TLS are refused (PostgresStatefulSet tlsRequired; rewritten at every start)';
export const HBA_END = '# END TLS required';
/** The records of the block: `all` does not match replication connections, so they have their own. */
export const HBA_RECORDS = ['hostnossl all         all all reject', 'hostnossl replication all all reject'];

/**
 * Shell functions shared by the scripts (INSTALL_FUNCTIONS, HBA_FUNCTIONS).
 *
 * `tls_generation` names the directory of the kubelet's latest update of the Secret volume (the
 * target of its `..data` link), or nothing when the directory is not a Secret volume.
 *
 * `tls_install <generation>` copies tls.crt and tls.key of that generation (so that a concurrent
 * update cannot pair a new certificate with an old key) into the server's directory, mode 0600,
 * owned by postgres when run as root, replacing each file in one rename; then records the
 * generation.
 *
 * `tls_hba <required>` rewrites pg_hba.conf: it removes the block's lines wherever they are and,
 * when TLS is required, puts the block before the first `host` record that is not for loopback
 * (the image's own lines for 127.0.0.1 and ::1 stay first: the probes and anything else inside
 * the pod keep connecting over loopback as before); without such a record, at the end. It
 * writes the file only when that changes it, so a start with nothing to do costs one awk and one cmp.
 */
const INSTALL_FUNCTIONS = `tls_generation() { (cd -P "$POSTGRES_TLS_SOURCE/..data" 2>/dev/null && pwd) || true; }
tls_install() {
  from="\${1:-$POSTGRES_TLS_SOURCE}"
  for file in tls.crt tls.key; do
    if [ ! -r "$from/$file" ]; then
      echo "cannot read $POSTGRES_TLS_SOURCE/$file as uid $(id -u) (groups $(id -G)): the Secret must be of type kubernetes.io/tls, and the pod needs an fsGroup (the kubelet gives the Secret's files to root and the fsGroup)" >&2
      return 1
    fi
  done
  (
    umask 077
    cat "$from/tls.crt" > "$POSTGRES_TLS_DIR/server.crt.new" && cat "$from/tls.key" > "$POSTGRES_TLS_DIR/server.key.new"
  ) || return 1
  if [ "$(id -u)" = 0 ]; then chown postgres "$POSTGRES_TLS_DIR/server.crt.new" "$POSTGRES_TLS_DIR/server.key.new" || return 1; fi
  mv -f "$POSTGRES_TLS_DIR/server.crt.new" "$POSTGRES_TLS_DIR/server.crt" || return 1
  mv -f "$POSTGRES_TLS_DIR/server.key.new" "$POSTGRES_TLS_DIR/server.key" || return 1
  printf '%s\\n' "$1" > "$POSTGRES_TLS_DIR/generation"
}
`;

const HBA_FUNCTIONS = `HBA_BEGIN='${HBA_BEGIN}'
HBA_END='${HBA_END}'
tls_hba() {
  hba="$PGDATA/pg_hba.conf"
  new="$PGDATA/pg_hba.conf.tls-new"
  [ -f "$hba" ] || { echo "$hba does not exist" >&2; return 1; }
  if ! (umask 077; awk -v required="$1" -v begin="$HBA_BEGIN" -v end="$HBA_END" \\
    -v nossl='${HBA_RECORDS[0]}' -v nosslrepl='${HBA_RECORDS[1]}' '
    function loopback(address) {
      return address == "127.0.0.1/32" || address == "::1/128" || address == "127.0.0.1" || address == "::1" || address == "localhost"
    }
    function block() { print begin; print nossl; print nosslrepl; print end; placed = 1 }
    $0 == begin || $0 == end || $0 == nossl || $0 == nosslrepl { next }
    required == "true" && !placed && $1 ~ /^host/ && !loopback($4) { block() }
    { print }
    END { if (required == "true" && !placed) block() }
  ' "$hba" > "$new"); then
    rm -f "$new"
    return 1
  fi
  if cmp -s "$new" "$hba"; then
    rm -f "$new"
    return 0
  fi
  if [ "$(id -u)" = 0 ]; then chown postgres "$new" || return 1; fi
  mv -f "$new" "$hba"
  if [ "$1" = true ]; then echo "pg_hba.conf: connections over the network without TLS are refused"; else echo "pg_hba.conf: connections without TLS are accepted (tlsRequired: false)"; fi
}
`;

/**
 * Start step of the PostgreSQL container, before the image's entrypoint, on every start (as the
 * container's user, root included): installs the server's certificate and key from the Secret,
 * and, for an initialised data directory, makes pg_hba.conf say what POSTGRES_TLS_REQUIRED says
 * (an empty one gets it from the initdb script, after the image has written pg_hba.conf).
 */
export function startScript(): string {
  return `#!/bin/sh
# postgres-statefulset: TLS at every start: the server's certificate and key, and pg_hba.conf.
set -eu
say() { echo "tls [\${HOSTNAME:-}]: $*"; }
fail() {
  say "$*" >&2
  if [ -w /dev/termination-log ]; then printf 'tls: %s\\n' "$*" > /dev/termination-log || true; fi
  exit 1
}
${INSTALL_FUNCTIONS}${HBA_FUNCTIONS}
tls_install "$(tls_generation)" || fail "could not install the server certificate and key from $POSTGRES_TLS_SOURCE (see above)"
if [ -s "$PGDATA/PG_VERSION" ]; then
  tls_hba "$POSTGRES_TLS_REQUIRED" || fail "could not update $PGDATA/pg_hba.conf (see above)"
fi
`;
}

/**
 * Run by the image's entrypoint when it initialises an empty data directory (after it has
 * written pg_hba.conf, as the postgres user): makes pg_hba.conf say what POSTGRES_TLS_REQUIRED says.
 */
export function initdbScript(): string {
  return `#!/bin/sh
# postgres-statefulset: pg_hba.conf for TLS (first initialisation; the start step keeps it right afterwards).
set -eu
${HBA_FUNCTIONS}
tls_hba "$POSTGRES_TLS_REQUIRED"
`;
}

/**
 * The readiness probe's command: when the kubelet has updated the Secret volume since the
 * server's files were installed, installs the new ones and sends the postmaster SIGHUP, so that
 * PostgreSQL serves the renewed certificate without a restart; then runs the readiness command
 * it is given ("$@") and exits with its status. Once per update: the generation is recorded
 * even when installing fails (the reason goes to the server's log), so that a Secret that cannot
 * be read is not retried every second.
 *
 * The readiness probe runs only after the startup probe has seen the server accept
 * connections, so the pid in postmaster.pid is the running postmaster's. Its messages go to the
 * postmaster's stderr, which is the container's log.
 */
export function readinessScript(): string {
  return `#!/bin/sh
# postgres-statefulset: readiness, after reloading the server certificate when the Secret has changed.
${INSTALL_FUNCTIONS}
generation=$(tls_generation)
seen=
[ ! -r "$POSTGRES_TLS_DIR/generation" ] || IFS= read -r seen < "$POSTGRES_TLS_DIR/generation" || true
if [ -n "$generation" ] && [ "$generation" != "$seen" ]; then
  pid=
  [ ! -r "$PGDATA/postmaster.pid" ] || IFS= read -r pid < "$PGDATA/postmaster.pid" || true
  log() { { printf 'postgres-statefulset: %s\\n' "$*" > "/proc/$pid/fd/2"; } 2>/dev/null || printf 'postgres-statefulset: %s\\n' "$*"; }
  if output=$(tls_install "$generation" 2>&1); then
    if [ -n "$pid" ] && kill -HUP "$pid" 2>/dev/null; then
      log "the TLS Secret changed: installed its certificate and key, and reloaded the server"
    else
      log "the TLS Secret changed: installed its certificate and key; the server loads them when it starts"
    fi
  else
    printf '%s\\n' "$generation" > "$POSTGRES_TLS_DIR/generation" 2>/dev/null || true
    log "the TLS Secret changed, but its files could not be installed; the server keeps its certificate: $output"
  fi
fi
exec "$@"
`;
}

// Shell text shared by the scripts the pods run (internal). Every script is the same text for
// every instance: values reach it only through the environment, psql variables and "$@".

/** Where the instance's scripts ConfigMap is mounted in the pods. */
export const SCRIPTS_DIR = '/etc/postgres-statefulset';

/**
 * `say` and `fail` for a script named `$STEP`: `fail` prints the reason on stderr and into the
 * container's termination message (`kubectl describe pod`, the pod's status), then exits 1.
 */
export const SAY_FAIL = `say() { echo "postgres-statefulset [$HOSTNAME] $STEP: $*"; }
fail() {
  say "$*" >&2
  printf '%s: %s\\n' "$STEP" "$*" > "\${POSTGRES_STATEFULSET_TERMINATION_LOG:-/dev/termination-log}" 2>/dev/null || true
  exit 1
}`;

/**
 * A shell function that runs a command as the image's postgres user: as it is when the
 * container runs as non-root, through the image's own `gosu` (Debian-based) or `su-exec`
 * (Alpine-based) when it runs as root (pg_ctl and postgres refuse to run as root).
 */
export const AS_POSTGRES = 'as_postgres() { if [ "$(id -u)" != 0 ]; then "$@"; elif command -v gosu >/dev/null 2>&1; then gosu postgres "$@"; '
  + 'else su-exec postgres "$@"; fi; };';

/**
 * The image's PostgreSQL major version (`PG_MAJOR`, set by the official image and inherited by
 * images built on it; else read from `postgres -V`), and the major of a data directory.
 */
export const MAJORS = `image_major() {
  if [ -n "\${PG_MAJOR:-}" ]; then echo "\${PG_MAJOR%%.*}"; return; fi
  postgres -V | sed -n 's/^[^0-9]*\\([0-9][0-9]*\\).*/\\1/p'
}
data_major() { IFS= read -r v < "$1/PG_VERSION" && echo "\${v%%.*}"; }`;

/** A word for a POSIX shell: as it is when it holds nothing the shell interprets, else single-quoted. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** `$ordinal`: the pod's ordinal in its StatefulSet, from its name (`HOSTNAME`, `<statefulset>-<ordinal>`). */
export const ORDINAL = 'ordinal="${HOSTNAME##*-}"';

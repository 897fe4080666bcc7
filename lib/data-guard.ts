// The data guard (internal): a start step of every pod, run before the image's entrypoint could
// run initdb. It looks for databases anywhere on the data volume, in every layout this library or
// the official image has used (`<mount>/pgdata`, the volume root as `/var/lib/postgresql/data`,
// `<mount>/<major>/docker`, ...), and refuses to start when one is there but the configured data
// directory is empty (the image would initialise a new, empty database next to it) or holds
// another major version. The pod's log and status (termination message) say where the data is,
// which major, and the ways forward.
import { InstanceSpec } from './resolve';
import { PodContribution } from './render/pod-template';
import { MAJORS, ORDINAL, SAY_FAIL, SCRIPTS_DIR } from './shell';

export const DATA_GUARD_SCRIPT = 'data-guard.sh';

/**
 * The script. It reads PGDATA and POSTGRES_STATEFULSET_DATA_MOUNT (the volume's mount path).
 *
 * A standby (ordinal > 0) is a copy of the primary: a standby data directory of another major,
 * or one left at another path, is removed so that the pod clones the primary again (it is never
 * the only copy of anything; a data directory that is not a standby's is refused instead).
 */
export const DATA_GUARD = `#!/bin/sh
# postgres-statefulset: never an empty database over existing data.
set -eu
STEP=data-guard
${SAY_FAIL}
${MAJORS}
${ORDINAL}
mount="\${POSTGRES_STATEFULSET_DATA_MOUNT%/}"
pgdata="\${PGDATA%/}"
image=$(image_major)
[ -n "$image" ] || fail "cannot tell the image's PostgreSQL major version (no PG_MAJOR, no postgres -V)"

# every data directory on the volume (a directory with global/pg_control), but PGDATA and one being built
# beside it (a standby's clone, an upgrade, a restore: each is moved into place only when complete)
others=$(find "$mount" -maxdepth 4 -path '*/global/pg_control' 2>/dev/null | sed 's#/global/pg_control$##' \\
  | while IFS= read -r dir; do case "$dir" in "$pgdata"|"$pgdata.clone"|"$pgdata.upgrading"|"$pgdata.restore") ;; *) echo "$dir" ;; esac; done)
describe() {
  printf '%s' "$1 (PostgreSQL $(data_major "$1" 2>/dev/null || echo '?')$( [ -e "$1/standby.signal" ] && echo ', a standby' ))"
}
listed() { echo "$others" | while IFS= read -r dir; do [ -z "$dir" ] || printf ' %s;' "$(describe "$dir")"; done; }
only_standbys() { echo "$others" | while IFS= read -r dir; do [ -z "$dir" ] || [ -e "$dir/standby.signal" ] || echo no; done | grep -q no && return 1 || return 0; }
forward="ways forward: (1) run the image and data layout that wrote it again (image, pgData, dataMountPath); (2) upgrade it: set majorUpgrade to the image it was written with; (3) start empty on purpose: move that directory off the volume first (kubectl exec, or a new claim)"

if [ -s "$pgdata/PG_VERSION" ]; then
  major=$(data_major "$pgdata")
  if [ "$major" != "$image" ]; then
    if [ "$ordinal" != 0 ] && [ -e "$pgdata/standby.signal" ]; then
      say "$pgdata holds a standby of PostgreSQL $major, the image runs $image: removing it, to clone the primary again"
      rm -rf "$pgdata"
    else
      fail "$pgdata holds a PostgreSQL $major database, but the image runs PostgreSQL $image, which cannot open it; $forward"
    fi
  else
    [ -z "$others" ] || say "other data directories on the volume, not used:$(listed) remove them when you no longer need them"
    exit 0
  fi
elif [ -d "$pgdata" ] && [ -n "$(ls -A "$pgdata")" ]; then
  fail "$pgdata holds files but no database (no PG_VERSION); the image would refuse to initialise it: move the files away"
fi

# PGDATA is empty: the image (or, on a standby, the clone) would start a new data directory
if [ -n "$others" ]; then
  if [ "$ordinal" != 0 ] && only_standbys; then
    say "removing standby data directories left on the volume, to clone the primary again:$(listed)"
    echo "$others" | while IFS= read -r dir; do [ -z "$dir" ] || rm -rf "$dir"; done
    exit 0
  fi
  fail "$pgdata is empty, but the volume holds a database elsewhere:$(listed) starting would initialise a new, empty database beside it; $forward"
fi
say "no database on the volume: PostgreSQL $image initialises $pgdata"
`;

/** The guard as a start step of the PostgreSQL container. */
export function dataGuardContribution(spec: InstanceSpec): PodContribution {
  return {
    scripts: { [DATA_GUARD_SCRIPT]: DATA_GUARD },
    env: [{ name: 'POSTGRES_STATEFULSET_DATA_MOUNT', value: spec.storage.mountPath }],
    startSteps: [`${SCRIPTS_DIR}/${DATA_GUARD_SCRIPT}`],
  };
}

#!/usr/bin/env bash
# A cached Debian sid chroot with real PostgreSQL 18 (sid's postgresql-18 and its client tools),
# for the tests that run against both PostgreSQL 15 (Debian bookworm's, on the host) and 18 (the
# major of the default image, postgres:18.x). Runs as root (or through sudo).
#
#   scripts/pg18-chroot.sh ensure      build the chroot when missing, then mount (the default)
#   scripts/pg18-chroot.sh build       build the chroot when missing (about 3 minutes, 350 MB)
#   scripts/pg18-chroot.sh mount       mount what the binaries need (idempotent, cheap)
#   scripts/pg18-chroot.sh mount --if-built   the same, but only a note when there is no chroot
#   scripts/pg18-chroot.sh umount      undo `mount`
#   scripts/pg18-chroot.sh status      exit 0 when built and mounted; say what is missing otherwise
#   scripts/pg18-chroot.sh remove      unmount, then delete the chroot (the next `ensure` rebuilds it)
#
# PG18_CHROOT_DIR overrides where the chroot lives (default
# /var/cache/cdk8s-postgres-statefulset/pg18-sid: kept between runs on the same machine).
# PG18_MIRROR overrides the Debian mirror (default: the host's, else http://deb.debian.org/debian).
#
# The chroot is built in a temporary directory next to its final place and renamed only once
# everything is installed, so a build that fails or is interrupted never passes for a finished
# one (its leftovers are removed by the next build). Builds and mounts take a lock, so parallel
# runs wait for each other.
#
# Inside the chroot:
# - the `postgres` user and group have the host's uid and gid, so files written by either
#   installation belong to the same user;
# - /proc is mounted and the host's /dev/shm is bind-mounted at /dev/shm (the servers' POSIX
#   shared memory, and the tests' scratch directories: a path under /dev/shm names the same file
#   inside and outside). Any further directory given to `mount` (`mount /some/dir`) is
#   bind-mounted at the same path too. The device nodes debootstrap creates (/dev/null, /dev/zero,
#   /dev/urandom, ...) are the chroot's own, so the host's /dev is not mounted;
# - the network namespace is the host's: loopback TCP works between host and chroot processes.
set -euo pipefail

DIR="${PG18_CHROOT_DIR:-/var/cache/cdk8s-postgres-statefulset/pg18-sid}"
DIR="${DIR%/}"
MAJOR=18
SUITE=sid
MARKER=etc/cdk8s-postgres-statefulset-chroot # written last, before the rename: "this chroot is complete"
LOCK="${DIR}.lock"

log() { printf 'pg18-chroot: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

need_root() {
  [ "$(id -u)" = 0 ] || die "needs root (sudo $0 $*): it runs debootstrap, chroot and mount"
}

built() {
  [ -f "$DIR/$MARKER" ] && [ -x "$DIR/usr/lib/postgresql/$MAJOR/bin/postgres" ]
}

# Mount points at or below $1, deepest first, from /proc/mounts (octal escapes decoded).
mounts_under() {
  local root="$1"
  awk '{ print $2 }' /proc/mounts | while IFS= read -r mnt; do
    mnt="$(printf '%b' "${mnt//\\/\\0}")"
    case "$mnt" in "$root" | "$root"/*) printf '%s\n' "$mnt" ;; esac
  done | sort -r | uniq
}

is_mounted() {
  awk '{ print $2 }' /proc/mounts | grep -qxF -- "$1"
}

umount_under() {
  local mnt
  while IFS= read -r mnt; do
    [ -n "$mnt" ] || continue
    umount "$mnt" 2>/dev/null || umount -l "$mnt"
  done < <(mounts_under "$1")
  if [ -n "$(mounts_under "$1")" ]; then
    die "could not unmount everything under $1: $(mounts_under "$1" | tr '\n' ' ')"
  fi
}

# Deletes a chroot directory (one this script made: empty, or a Debian tree), never what is
# mounted into it.
remove_tree() {
  case "$1" in /?*/?*) ;; *) die "refusing to delete $1: not a chroot of this script" ;; esac
  if [ -n "$(ls -A -- "$1")" ] && [ ! -f "$1/etc/debian_version" ] && [ ! -d "$1/debootstrap" ]; then
    die "refusing to delete $1: it does not look like a Debian chroot"
  fi
  umount_under "$1"
  rm -rf --one-file-system -- "$1"
}

# Runs a step of the build in a session of its own, so that an interrupted build (SIGINT, SIGTERM)
# stops it with everything it started (debootstrap's and apt's children) before cleaning up.
step_pid=
step() {
  setsid "$@" &
  step_pid=$!
  local status=0
  wait "$step_pid" || status=$?
  step_pid=
  return "$status"
}

stop_step() {
  if [ -n "$step_pid" ]; then
    kill -TERM -- "-$step_pid" 2>/dev/null || :
    wait "$step_pid" 2>/dev/null || :
  fi
}

with_lock() {
  mkdir -p "$(dirname "$DIR")"
  exec 9>"$LOCK"
  flock 9
}

host_mirror() {
  if [ -n "${PG18_MIRROR:-}" ]; then
    printf '%s\n' "$PG18_MIRROR"
    return
  fi
  local uri
  uri="$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
    | grep -oE 'https?://[^ ]+/debian/?( |$)' | grep -v security | head -n 1 | tr -d ' ' || true)"
  printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}

build() {
  need_root build
  command -v debootstrap >/dev/null || die "debootstrap is not installed: apt-get install debootstrap (.ci/run does)"
  with_lock
  if built; then
    log "PostgreSQL $MAJOR chroot present: $DIR ($(cat "$DIR/$MARKER"))"
    return
  fi
  local parent; parent="$(dirname "$DIR")"
  local leftover
  for leftover in "$DIR".building.* "$DIR"; do
    if [ -e "$leftover" ]; then
      log "removing the unfinished chroot $leftover"
      remove_tree "$leftover"
    fi
  done

  local host_uid host_gid
  host_uid="$(id -u postgres 2>/dev/null)" || die "the host has no postgres user: install Debian's postgresql package first (.ci/run does)"
  host_gid="$(id -g postgres)"

  local tmp; tmp="$(mktemp -d "$DIR.building.XXXXXX")"
  chmod 755 "$tmp"
  # shellcheck disable=SC2064 # expand $tmp now
  trap "stop_step; umount_under '$tmp'" EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  local started=$SECONDS mirror; mirror="$(host_mirror)"

  log "debootstrap --variant=minbase $SUITE from $mirror into $tmp"
  step debootstrap --variant=minbase "$SUITE" "$tmp" "$mirror" >"$parent/debootstrap.log" 2>&1 \
    || { tail -n 30 "$parent/debootstrap.log" >&2; die "debootstrap failed (log: $parent/debootstrap.log)"; }
  log "debootstrap done after $((SECONDS - started)) s"

  mount -t proc proc "$tmp/proc"
  local chroot_env=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive)
  in_tmp() { chroot "$tmp" "${chroot_env[@]}" "$@"; }

  # The postgres user and group with the host's ids, before postgresql-common would create them.
  in_tmp groupadd --system --gid "$host_gid" postgres \
    || die "gid $host_gid (the host's postgres group) is taken in the chroot: $(in_tmp getent group "$host_gid")"
  in_tmp useradd --system --uid "$host_uid" --gid "$host_gid" --home-dir /var/lib/postgresql --shell /bin/bash \
    --comment 'PostgreSQL administrator' postgres \
    || die "uid $host_uid (the host's postgres user) is taken in the chroot: $(in_tmp getent passwd "$host_uid")"
  # No cluster at install time, no service started in the chroot.
  mkdir -p "$tmp/etc/postgresql-common"
  printf 'create_main_cluster = false\n' >"$tmp/etc/postgresql-common/createcluster.conf"
  printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
  chmod 755 "$tmp/usr/sbin/policy-rc.d"

  # sid's Release file may be past its Valid-Until date.
  local apt=(apt-get -q -y -o Acquire::Check-Valid-Until=false -o Acquire::Retries=3 -o Dpkg::Use-Pty=0)
  # xz-utils and zstd: the image's entrypoint decompresses initdb.d/*.sql.xz and *.sql.zst with them.
  local packages=("postgresql-$MAJOR" "postgresql-client-$MAJOR" xz-utils zstd)
  log "apt-get install ${packages[*]}"
  step chroot "$tmp" "${chroot_env[@]}" "${apt[@]}" update >"$parent/apt.log" 2>&1 \
    || { tail -n 30 "$parent/apt.log" >&2; die "apt-get update failed in the chroot (log: $parent/apt.log)"; }
  step chroot "$tmp" "${chroot_env[@]}" "${apt[@]}" install --no-install-recommends "${packages[@]}" >>"$parent/apt.log" 2>&1 \
    || { tail -n 30 "$parent/apt.log" >&2; die "apt-get install failed in the chroot (log: $parent/apt.log)"; }
  in_tmp apt-get clean
  rm -f "$tmp/usr/sbin/policy-rc.d"

  local bin="/usr/lib/postgresql/$MAJOR/bin" tool
  for tool in "$bin"/{postgres,initdb,pg_ctl,pg_upgrade,pg_basebackup,pg_dump,pg_dumpall,pg_isready,psql} /usr/bin/{xzcat,zstd,gunzip,setpriv}; do
    [ -x "$tmp$tool" ] || die "$tool is missing in the chroot"
  done
  [ "$(in_tmp id -u postgres):$(in_tmp id -g postgres)" = "$host_uid:$host_gid" ] || die "the chroot's postgres user does not have the host's ids"
  local version; version="$(in_tmp "$bin/postgres" --version)"
  case "$version" in *" $MAJOR."*) ;; *) die "unexpected server version in the chroot: $version" ;; esac

  umount_under "$tmp"
  trap - EXIT INT TERM
  printf '%s; debootstrap %s from %s; built %s\n' "$version" "$SUITE" "$mirror" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$tmp/$MARKER"
  mv -T "$tmp" "$DIR"
  log "built $DIR in $((SECONDS - started)) s: $version ($(du -sh --one-file-system "$DIR" | cut -f1))"
}

# Bind-mounts $1 at the same path inside the chroot.
bind_same_path() {
  local src="$1" dst="$DIR$1"
  [ -d "$src" ] || die "cannot mount $src: not a directory"
  is_mounted "$dst" && return
  mkdir -p "$dst"
  mount --bind "$src" "$dst"
}

mount_all() {
  local if_built=false
  if [ "${1:-}" = --if-built ]; then
    if_built=true
    shift
  fi
  if ! built; then
    if $if_built; then
      log "no PostgreSQL $MAJOR chroot at $DIR: the tests that need it will fail; build it with: sudo scripts/pg18-chroot.sh ensure"
      return 0
    fi
    die "no PostgreSQL $MAJOR chroot at $DIR: build it with: sudo scripts/pg18-chroot.sh ensure"
  fi
  need_root mount
  with_lock
  is_mounted "$DIR/proc" || mount -t proc proc "$DIR/proc"
  bind_same_path /dev/shm
  local extra
  for extra in "$@"; do
    bind_same_path "$(realpath -- "$extra")"
  done
}

status() {
  if ! built; then
    echo "missing: no PostgreSQL $MAJOR chroot at $DIR (sudo scripts/pg18-chroot.sh ensure)"
    return 1
  fi
  local ok=0
  is_mounted "$DIR/proc" || { echo "not mounted: $DIR/proc (sudo scripts/pg18-chroot.sh mount)"; ok=1; }
  is_mounted "$DIR/dev/shm" || { echo "not mounted: $DIR/dev/shm (sudo scripts/pg18-chroot.sh mount)"; ok=1; }
  [ "$ok" = 0 ] && echo "ready: $DIR ($(cat "$DIR/$MARKER"))"
  return "$ok"
}

command="${1:-ensure}"
[ $# -gt 0 ] && shift
case "$command" in
  ensure) build; mount_all "$@" ;;
  build) build ;;
  mount) mount_all "$@" ;;
  umount | unmount) need_root umount; with_lock; umount_under "$DIR" ;;
  status) status ;;
  remove) need_root remove; with_lock; [ -e "$DIR" ] && remove_tree "$DIR"; log "removed $DIR" ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d' >&2; exit 2 ;;
esac

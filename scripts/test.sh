#!/usr/bin/env bash
# `npm test`: type-check (library, tests, examples, README snippets) while jsii compiles the
# library (when its sources changed) and jsii-pacmak packages it, then run the tests. Both
# halves must pass.
set -euo pipefail
cd "$(dirname "$0")/.."

# PostgreSQL 18 lives in a chroot (scripts/pg18-chroot.sh, which .ci/run builds): mount what its
# binaries need (cheap, idempotent). Without the chroot this prints a note, and the tests that
# need PostgreSQL 18 fail, naming the command that builds it.
if [ "$(id -u)" = 0 ]; then
  scripts/pg18-chroot.sh mount --if-built
fi

# The tools (jest, swc, jsii-pacmak, cdk8s-cli) are tools/'s devDependencies: scripts/tools.js.
if [ ! -x tools/node_modules/.bin/jest ] || [ ! -x tools/node_modules/.bin/jsii-pacmak ]; then
  echo "npm test: the repository's tools are not installed in tools/: run npm ci (its prepare script installs them) or npm ci --prefix tools" >&2
  exit 1
fi

# jsii compiles again only when what it compiles from changed (scripts/build-stamp.js): after
# `npm ci` (whose prepare script builds) or a change to tests only, the build is up to date.
npm run --silent typecheck &
typecheck=$!
if ! node scripts/build-stamp.js check; then
  inputs=$(node scripts/build-stamp.js hash)
  node scripts/build-stamp.js clear
  npm run --silent build
  node scripts/build-stamp.js write "$inputs"
fi
npm run --silent package:js --ignore-scripts
wait "$typecheck"

# The real-PostgreSQL tests spend most of their time waiting (servers starting, standbys retrying
# and streaming, timeouts): with two jest workers per core the cores stay busy. A worker count
# given on the command line wins.
workers=(--maxWorkers="$(($(nproc) * 2))")
for arg in "$@"; do
  case "$arg" in --maxWorkers* | -w | -w=* | -i | --runInBand) workers=() ;; esac
done
tools/node_modules/.bin/jest "${workers[@]}" "$@"

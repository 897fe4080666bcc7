#!/usr/bin/env bash
# `npm test`: type-check (library, tests, examples, README snippets) while jsii compiles the
# library and jsii-pacmak packages it, then run the tests. Both halves must pass.
set -euo pipefail
cd "$(dirname "$0")/.."

npm run --silent typecheck &
typecheck=$!
npm run --silent build
npm run --silent package:js --ignore-scripts
wait "$typecheck"
npx jest "$@"

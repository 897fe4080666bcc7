#!/usr/bin/env bash
# Regenerates imports/k8s.ts from the Kubernetes 1.27 schema.
#
#   scripts/import-k8s.sh            offline: reads validation/k8s-schema/v1.27.0/_definitions.json,
#                                    the cdk8s project's copy of the schema, committed here
#   scripts/import-k8s.sh --online   plain `cdk8s import k8s@1.27.0` (downloads the same file from GitHub)
#
# CDK8S_SCHEMA_DIR overrides the directory the offline run reads from.
set -euo pipefail
cd "$(dirname "$0")/.."

K8S_VERSION=1.27.0
export CDK8S_CHECK_UPGRADE=false
cli=(node_modules/.bin/cdk8s import "k8s@${K8S_VERSION}" --language typescript --output imports)

if [ "${1:-}" = "--online" ]; then
  exec node "${cli[@]}"
fi
export CDK8S_SCHEMA_DIR="${CDK8S_SCHEMA_DIR:-$(pwd)/validation/k8s-schema}"
exec node -r ./scripts/offline-schema.js "${cli[@]}"

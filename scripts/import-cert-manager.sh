#!/usr/bin/env bash
# Regenerates imports/cert-manager.io.ts (cert-manager's Certificate types) from the CRD in
# validation/crds/, offline: `cdk8s import` of a local CRD file reads nothing from the network.
# The same file gives the validation plugin the Certificate's schema (validation/crd-schemas.js).
set -euo pipefail
cd "$(dirname "$0")/.."
export CDK8S_CHECK_UPGRADE=false
exec node node_modules/.bin/cdk8s import --save=false validation/crds/cert-manager.io_certificates.yaml --language typescript --output imports

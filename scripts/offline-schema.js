// Preload for `cdk8s import` without network access.
//
// `cdk8s import k8s@<version>` downloads
// https://raw.githubusercontent.com/cdk8s-team/cdk8s/master/kubernetes-schemas/v<version>/_definitions.json.
// When CDK8S_SCHEMA_DIR is set, this preload answers that download from
// $CDK8S_SCHEMA_DIR/v<version>/_definitions.json instead (the same file, the
// cdk8s project's own copy). Every other download is left alone.
//
// Usage: CDK8S_SCHEMA_DIR=../shared/k8s-schema node -r ./scripts/offline-schema.js node_modules/.bin/cdk8s import k8s@1.27.0
'use strict';
const path = require('path');

const schemaDir = process.env.CDK8S_SCHEMA_DIR;
if (schemaDir) {
  // The package's "exports" hide lib/util, so load it by file path.
  const cliDir = require('./tools').toolPackageDir('cdk8s-cli');
  const util = require(path.join(cliDir, 'lib', 'util.js'));
  const download = util.download;
  const pattern = /\/kubernetes-schemas\/(v[^/]+)\/_definitions\.json$/;
  util.download = async (url) => {
    const match = pattern.exec(url);
    if (!match) {
      return download(url);
    }
    const local = path.resolve(schemaDir, match[1], '_definitions.json');
    process.stderr.write(`offline-schema: reading ${local} instead of ${url}\n`);
    return download(local);
  };
}

// Where the repository's tools are: jest and swc (the tests, and the require hook of `npm run
// synth`), cdk8s-cli (`npm run synth`, the imports), jsii-pacmak (`npm test`'s package) and
// jsii-docgen (API.md). They are the devDependencies of tools/package.json, not of the root
// package.json, which keeps only what the jsii build needs: `npm install <git URL>` of the
// library has npm install the root's devDependencies in its clone, and that is 63 packages
// instead of 486. `npm ci` in the root installs tools/ too (its prepare script, prepare.js).
'use strict';
const path = require('path');

const TOOLS_DIR = path.resolve(__dirname, '..', 'tools');

/** The install command that puts the tools in place. */
const INSTALL = 'npm ci --prefix tools';

/** require.resolve from tools/ ('cdk8s-cli/package.json', '@swc/core'); says how to install them when they are missing. */
function resolveTool(request) {
  try {
    return require.resolve(request, { paths: [TOOLS_DIR] });
  } catch (e) {
    if (e.code !== 'MODULE_NOT_FOUND') throw e;
    throw new Error(`${request} is not installed in tools/: run \`npm ci\` (its prepare script installs the tools) or \`${INSTALL}\``);
  }
}

/** The directory of a package of tools/ ('cdk8s-cli'). */
function toolPackageDir(name) {
  return path.dirname(resolveTool(`${name}/package.json`));
}

/**
 * Runs the cdk8s-cli of tools/ in this process with `args` (`synth ...`), as its own bin script;
 * when it is not installed, prints why, prefixed by `who`, and exits 1 (no stack trace).
 */
function runCdk8sCli(who, args) {
  let cli;
  try {
    cli = path.join(toolPackageDir('cdk8s-cli'), 'bin', 'cdk8s');
  } catch (e) {
    console.error(`${who}: ${e.message}`);
    process.exit(1);
  }
  process.argv = [process.argv[0], cli, ...args];
  require(cli);
}

module.exports = { TOOLS_DIR, INSTALL, resolveTool, toolPackageDir, runCdk8sCli };

// The `prepare` script: compiles the library with jsii (`npm run build`) so that the package
// holds build/ and .jsii wherever npm makes it:
//   - `npm pack` and `npm publish` run `prepare` before they pack;
//   - `npm install <git URL>` (github:owner/repo#ref, git+https://..., git+file://...) runs
//     *only* `prepare`: npm clones the repository into a temporary directory, installs its
//     dependencies and devDependencies there (`npm install`), runs `prepare`, then packs the
//     directory by `files` and installs that;
//   - `npm ci` / `npm install` in a clone of this repository run it too (the build, about 7 s). There it
//     also installs the repository's tools (tests, synth, packaging, API reference; see
//     scripts/tools.js) with `npm ci --prefix tools`: the devDependencies of tools/package.json,
//     apart from the root's so that a git install does not unpack them. Not in a git install,
//     nor for `npm pack` or `npm publish`, which need only the build.
//
// The one case skipped: the `npm install` that npm runs inside a git dependency's clone (it
// marks it with _PACOTE_NO_PREPARE_ in the environment) also runs this package's `prepare`, and
// npm runs `prepare` once more right after it, before packing (that run has
// npm_package_resolved set). Building in both would cost a second jsii compile on every git
// install. If npm ever stops setting either variable, the build simply runs twice (the tools
// are never installed under _PACOTE_NO_PREPARE_ either: see below).
'use strict';
const { spawnSync } = require('child_process');

if (process.env._PACOTE_NO_PREPARE_ && !process.env.npm_package_resolved) {
  console.error('prepare: skipped in the install of a git dependency; npm runs prepare again before it packs');
  process.exit(0);
}

const npm = process.env.npm_execpath
  ? [process.execPath, [process.env.npm_execpath]]
  : ['npm', []];
// The compiler's output goes to stderr: `npm pack --json` prints its JSON on stdout.
const stamp = require('./build-stamp'); // so that `npm test` knows the build is up to date
const inputs = stamp.inputsHash();
stamp.clear();
const result = spawnSync(npm[0], [...npm[1], 'run', '--silent', 'build'], { stdio: ['inherit', 2, 2] });
if (result.status !== 0) {
  process.exit(result.status ?? 1);
}
stamp.write(inputs);

// The tools, for `npm ci` and `npm install` in this repository (and `npm cit`, `npm it`, which
// start with them): `npm ci` in tools/ after `npm ci`, `npm install` there after `npm install`.
// Never in a git install: npm_package_resolved is set in the prepare run that packs the clone,
// _PACOTE_NO_PREPARE_ in the install inside it.
const command = process.env.npm_command;
const install = { ci: 'ci', 'install-ci-test': 'ci', install: 'install', 'install-test': 'install' }[command];
if (install && !process.env.npm_package_resolved && !process.env._PACOTE_NO_PREPARE_) {
  const { TOOLS_DIR } = require('./tools');
  console.error(`prepare: installing the repository's tools (npm ${install} --prefix tools)`);
  const tools = spawnSync(npm[0], [...npm[1], install, '--prefix', TOOLS_DIR, '--no-audit', '--no-fund'], { cwd: TOOLS_DIR, stdio: ['inherit', 2, 2] });
  if (tools.status !== 0) {
    console.error(`prepare: \`npm ${install} --prefix tools\` failed (above); the library is built, but the tests, \`npm run synth\` and the packaging need the tools`);
    process.exit(tools.status ?? 1);
  }
}

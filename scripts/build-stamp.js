// Whether the jsii build (build/lib, build/imports, .jsii) is up to date with what it is made
// from, so that `npm test` compiles again only after a change: `npm run build` costs about 9 s
// of CPU on every run otherwise.
//
//   node scripts/build-stamp.js check     exit 0 when up to date, 1 when not
//   node scripts/build-stamp.js hash      print the hash of the inputs now
//   node scripts/build-stamp.js clear     remove the stamp (before a build)
//   node scripts/build-stamp.js write H   after a successful build whose inputs hashed to H
//
// The stamp (build/.inputs.sha256, ignored by git) holds two SHA-256s:
// - of the inputs: every file of lib/ and imports/, tsconfig.jsii.json, package.json,
//   package-lock.json, README.md and LICENSE (the assembly holds the README), the package.json
//   of each installed package the compiler reads (jsii, TypeScript, @types/node, and the
//   assemblies of cdk8s, cdk8s-plus-27 and constructs), and Node's version;
// - of the outputs, as the build left them: a build changed or removed since (by hand, by a
//   failed jsii run, by `npm run build` of other sources) is not up to date.
// The inputs' hash is taken before the build (a file edited while it ran is not recorded as
// built), and the stamp is removed before the build starts, so a failed build leaves none.
// test.sh and prepare.js (`npm ci`, git installs) do both, so the `npm test` after `npm ci`
// does not compile a second time.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

// another root: for its test
const ROOT = process.env.BUILD_STAMP_ROOT ? path.resolve(process.env.BUILD_STAMP_ROOT) : path.resolve(__dirname, '..');
const STAMP = path.join(ROOT, 'build', '.inputs.sha256');

const COMPILER_PACKAGES = ['jsii', 'typescript', '@types/node', 'cdk8s', 'cdk8s-plus-27', 'constructs'];
const INPUTS = ['lib', 'imports', 'tsconfig.jsii.json', 'package.json', 'package-lock.json', 'README.md', 'LICENSE',
  ...COMPILER_PACKAGES.map((name) => `node_modules/${name}/package.json`)];
const OUTPUTS = ['.jsii', 'build/lib', 'build/imports'];

/** Every file under the given paths (relative to the root), sorted; a missing path is itself recorded. */
function files(paths) {
  const found = [];
  const visit = (rel) => {
    const full = path.join(ROOT, rel);
    if (!fs.existsSync(full)) {
      found.push(`${rel} (missing)`);
    } else if (fs.statSync(full).isDirectory()) {
      for (const entry of fs.readdirSync(full)) visit(path.join(rel, entry));
    } else {
      found.push(rel);
    }
  };
  paths.forEach(visit);
  return found.sort();
}

function hashOf(paths, prefix = '') {
  const hash = crypto.createHash('sha256').update(prefix);
  for (const file of files(paths)) {
    hash.update(`${file}\0`);
    if (!file.endsWith(' (missing)')) hash.update(fs.readFileSync(path.join(ROOT, file)));
    hash.update('\0');
  }
  return hash.digest('hex');
}

const inputsHash = () => hashOf(INPUTS, `node ${process.version}\n`);
const outputsHash = () => hashOf(OUTPUTS);

/** Whether the stamp matches both the inputs and the outputs now. */
function upToDate() {
  let stamp;
  try {
    stamp = fs.readFileSync(STAMP, 'utf-8').split('\n');
  } catch {
    return false;
  }
  return OUTPUTS.every((output) => fs.existsSync(path.join(ROOT, output)))
    && stamp[0] === `inputs ${inputsHash()}` && stamp[1] === `outputs ${outputsHash()}`;
}

function clear() {
  fs.rmSync(STAMP, { force: true });
}

/** Records the build as made from inputs that hashed to `inputs`, and its outputs as they are now. */
function write(inputs) {
  fs.mkdirSync(path.dirname(STAMP), { recursive: true });
  fs.writeFileSync(STAMP, `inputs ${inputs}\noutputs ${outputsHash()}\n`);
}

module.exports = { clear, inputsHash, upToDate, write };

if (require.main === module) {
  const [command, hash] = process.argv.slice(2);
  if (command === 'check') {
    process.exit(upToDate() ? 0 : 1);
  } else if (command === 'hash') {
    console.log(inputsHash());
  } else if (command === 'clear') {
    clear();
  } else if (command === 'write' && /^[0-9a-f]{64}$/.test(hash ?? '')) {
    write(hash);
  } else {
    console.error('usage: node scripts/build-stamp.js check | hash | clear | write <inputs hash>');
    process.exit(2);
  }
}

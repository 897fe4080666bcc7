// Whether the jsii build (build/, .jsii) or the JavaScript package (packages/js/) is up to date
// with what it is made from, so that `npm test` makes them again only after a change:
// `npm run build` costs about 9 s of CPU and `npm run package:js` 3 s, on every run otherwise.
//
//   node scripts/build-stamp.js check <build|package>          exit 0 when up to date, 1 when not
//   node scripts/build-stamp.js hash <build|package>           print the hash of its inputs now
//   node scripts/build-stamp.js write <build|package> [hash]   after the step succeeded
//
// A stamp is a SHA-256 of every input file (path and content) and of Node's version, kept in
// the output directory (ignored by git). An input is what the step reads from this repository:
// the sources, the configuration, the README and LICENSE (the assembly and the package hold
// them), and package-lock.json, which pins jsii, TypeScript and the dependencies' assemblies.
// test.sh takes the hash before the step and writes that one after it, so a file edited while
// the step ran is not recorded as made. prepare.js writes the build stamp after its build
// (`npm ci`, git installs), so that the `npm test` after `npm ci` does not build again.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const ROOT = process.env.BUILD_STAMP_ROOT ? path.resolve(process.env.BUILD_STAMP_ROOT) : path.resolve(__dirname, '..'); // another root: for its test

const BUILD_INPUTS = ['lib', 'imports', 'tsconfig.jsii.json', 'package.json', 'package-lock.json', 'README.md', 'LICENSE'];

const STEPS = {
  build: { inputs: BUILD_INPUTS, outputs: ['.jsii', 'build/lib/index.js'], stamp: 'build/.inputs.sha256' },
  package: { inputs: [...BUILD_INPUTS, 'build', '.jsii', 'validation'], outputs: [], stamp: 'packages/js/.inputs.sha256' },
};

/** Every file under the given paths, relative to the repository, sorted; the stamps excluded. */
function files(paths) {
  const found = [];
  const visit = (rel) => {
    const full = path.join(ROOT, rel);
    if (!fs.existsSync(full)) return;
    if (fs.statSync(full).isDirectory()) {
      for (const entry of fs.readdirSync(full)) visit(path.join(rel, entry));
    } else if (!rel.endsWith('.inputs.sha256') && !rel.endsWith('.tsbuildinfo')) {
      found.push(rel);
    }
  };
  paths.forEach(visit);
  return found.sort();
}

/** The SHA-256 of a step's inputs. */
function inputsHash(step) {
  const hash = crypto.createHash('sha256').update(`node ${process.version}\n`);
  for (const file of files(STEPS[step].inputs)) {
    hash.update(`${file}\0`).update(fs.readFileSync(path.join(ROOT, file))).update('\0');
  }
  return hash.digest('hex');
}

function stampFile(step) {
  return path.join(ROOT, STEPS[step].stamp);
}

/** Whether the step's outputs exist and its stamp matches its inputs now. */
function upToDate(step) {
  const { outputs } = STEPS[step];
  if (!outputs.every((output) => fs.existsSync(path.join(ROOT, output)))) return false;
  try {
    return fs.readFileSync(stampFile(step), 'utf-8').trim() === inputsHash(step);
  } catch {
    return false;
  }
}

/** Records the step as made from `hash` (default: its inputs now). */
function write(step, hash = inputsHash(step)) {
  fs.mkdirSync(path.dirname(stampFile(step)), { recursive: true });
  fs.writeFileSync(stampFile(step), `${hash}\n`);
}

module.exports = { inputsHash, upToDate, write };

if (require.main === module) {
  const [command, step] = process.argv.slice(2);
  if (!STEPS[step] || !['check', 'hash', 'write'].includes(command)) {
    console.error('usage: node scripts/build-stamp.js <check|hash|write> <build|package>');
    process.exit(2);
  }
  if (command === 'check') {
    process.exit(upToDate(step) ? 0 : 1);
  } else if (command === 'hash') {
    console.log(inputsHash(step));
  } else {
    write(step, process.argv[4]);
  }
}

// Runs the example app's TypeScript without a build step, and fast: the `app:` command in
// cdk8s.yaml is `node -r ./scripts/register-ts.js main.ts`.
//
// A CommonJS require hook for `.ts` files. Each file is transpiled by swc (@swc/core, of the
// tools in tools/: scripts/tools.js; with the settings the jest tests use: TypeScript, ES2022, CommonJS) and the
// JavaScript is cached under node_modules/.cache/register-ts/ ($REGISTER_TS_CACHE_DIR if set),
// keyed by a SHA-256 of the source, its path, the swc version and this file. A synth after the
// first one reads the cached JavaScript instead of transpiling imports/k8s.ts (1.2 MB) again,
// and, unlike `node --import tsx`, runs no module-loader thread and no checks on every .js file
// of node_modules. An edited source gets a new key, so a stale cache is never used; each source
// keeps only its newest cache entry. If the cache cannot be written (read-only checkout), the
// file is transpiled in memory on every run.
//
// Types are not checked here (neither does tsx): `npm test` runs tsc and jsii.
// Hand-written files get inline source maps, so stack traces show TypeScript lines;
// the generated imports/ do not (its map would cost time on every run).
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { resolveTool } = require('./tools');

const ROOT = path.resolve(__dirname, '..');
const CACHE_DIR = process.env.REGISTER_TS_CACHE_DIR || path.join(ROOT, 'node_modules', '.cache', 'register-ts');
const GENERATED_DIR = path.join(ROOT, 'imports') + path.sep;

/** The settings of the jest transform in package.json. */
const SWC_OPTIONS = {
  jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
  module: { type: 'commonjs' },
  swcrc: false,
  configFile: false,
};

let swc; // loaded on the first cache miss only
let keyPrefix; // what, besides the source and its path, the output depends on

function hash(...parts) {
  const h = crypto.createHash('sha256');
  for (const part of parts) {
    h.update(part);
    h.update('\0');
  }
  return h.digest('hex');
}

function prefix() {
  if (keyPrefix === undefined) {
    const swcPackage = resolveTool('@swc/core/package.json');
    keyPrefix = hash(JSON.parse(fs.readFileSync(swcPackage, 'utf-8')).version, fs.readFileSync(__filename));
  }
  return keyPrefix;
}

function transpile(source, filename) {
  swc ??= require(resolveTool('@swc/core'));
  const maps = !filename.startsWith(GENERATED_DIR);
  return swc.transformSync(source, {
    ...SWC_OPTIONS,
    filename,
    sourceMaps: maps ? 'inline' : false,
    inlineSourcesContent: false,
  }).code;
}

/** Writes a cache entry atomically (parallel runs may write the same entry) and drops older entries of the source. */
function store(entry, code, sourceTag) {
  try {
    fs.mkdirSync(CACHE_DIR, { recursive: true });
    const temporary = `${entry}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
    fs.writeFileSync(temporary, code);
    fs.renameSync(temporary, entry);
    for (const name of fs.readdirSync(CACHE_DIR)) {
      const other = path.join(CACHE_DIR, name);
      if (name.startsWith(`${sourceTag}-`) && name.endsWith('.js') && other !== entry) {
        fs.rmSync(other, { force: true });
      }
    }
  } catch {
    // No cache: the next run transpiles again.
  }
}

function compiled(filename) {
  const source = fs.readFileSync(filename);
  const sourceTag = hash(filename).slice(0, 16);
  const entry = path.join(CACHE_DIR, `${sourceTag}-${hash(prefix(), filename, source)}.js`);
  try {
    return fs.readFileSync(entry, 'utf-8');
  } catch {
    const code = transpile(source.toString('utf-8'), filename);
    store(entry, code, sourceTag);
    return code;
  }
}

require.extensions['.ts'] = (module, filename) => {
  module._compile(compiled(filename), filename);
};

// Source maps for these files only. While source maps are enabled, Node parses the map of every
// module it loads, eagerly, and the jsii libraries in node_modules (cdk8s, cdk8s-plus-27) carry
// large inline ones: about 0.1 s per synth. So they are off while a module from node_modules
// loads; errors thrown later still show the TypeScript lines of these files.
const NODE_MODULES = `${path.sep}node_modules${path.sep}`;
const loadJs = require.extensions['.js'];
let loadingDependency = 0;
require.extensions['.js'] = (module, filename) => {
  if (!filename.includes(NODE_MODULES)) {
    return loadJs(module, filename);
  }
  if (loadingDependency++ === 0) {
    process.setSourceMapsEnabled(false);
  }
  try {
    return loadJs(module, filename);
  } finally {
    if (--loadingDependency === 0) {
      process.setSourceMapsEnabled(true);
    }
  }
};
process.setSourceMapsEnabled(true);

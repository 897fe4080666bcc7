// Strict validation of Kubernetes objects against the official OpenAPI definitions.
//
// The definitions are the cdk8s project's copy of the Kubernetes schema
// (k8s-schema/v<version>/_definitions.json, the file `cdk8s import` reads).
// They are made strict the way kubeconform's strict mode does it: every object
// schema that declares properties, and neither declares additionalProperties nor
// x-kubernetes-preserve-unknown-fields, gets `additionalProperties: false`, so an
// unknown or misspelt field is an error rather than silently dropped by the API server.
//
// Each object is checked against the definition whose x-kubernetes-group-version-kind
// matches its apiVersion and kind; an unknown apiVersion/kind is itself an error.
// Validators are compiled lazily, once per kind, and shared by every object of that kind.
//
// Compiling a kind's validator takes ajv a few hundred milliseconds (a StatefulSet pulls in
// the whole pod spec), on every `cdk8s synth`. So the code ajv generates for it (ajv
// "standalone" code: the same code ajv runs in memory) is cached on disk, by default under
// node_modules/.cache/k8s-strict-schema/, keyed by a SHA-256 of the schema file, the ajv
// version and this file (which holds the strict transformation, the formats and ajv's
// options). A changed schema, ajv or validator gets a new key and is compiled afresh; each
// Kubernetes version keeps only its newest key. When the cache cannot be read or written,
// the validators are compiled in memory as before. Later runs neither parse the schema nor
// load ajv itself.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const crds = require('./crd-schemas'); // custom resources (cert-manager's Certificate), validated alongside

const DEFAULT_VERSION = '1.27.0';
const SCHEMA_ID = 'k8s';
const AJV_OPTIONS = { allErrors: true, strict: false, validateSchema: false };

const INT32 = 2 ** 31;
const FORMATS = {
  'int32': { type: 'number', validate: (n) => Number.isInteger(n) && n >= -INT32 && n < INT32 },
  'int64': { type: 'number', validate: (n) => Number.isInteger(n) },
  'double': { type: 'number', validate: () => true },
  'byte': /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/,
  'date-time': /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i,
};

/** Adds `additionalProperties: false` to every closed object schema, recursively. */
function makeStrict(schema) {
  if (Array.isArray(schema)) {
    schema.forEach(makeStrict);
    return;
  }
  if (!schema || typeof schema !== 'object') {
    return;
  }
  if (schema.properties
    && schema.additionalProperties === undefined
    && !schema['x-kubernetes-preserve-unknown-fields']) {
    schema.additionalProperties = false;
  }
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'properties' || key === 'definitions') {
      Object.values(value).forEach(makeStrict);
    } else if (typeof value === 'object') {
      makeStrict(value);
    }
  }
}

function gvkKey(apiVersion, kind) {
  return `${apiVersion}/${kind}`;
}

/**
 * Parses a `_definitions.json` document into a strict ajv instance plus a GVK index
 * (`"<apiVersion>/<kind>"` to definition name). With `standalone`, ajv keeps the source
 * of the validators it compiles, so that they can be written to the cache.
 */
function loadSchema(bytes, standalone) {
  const document = JSON.parse(bytes.toString('utf-8'));
  crds.addCrdDefinitions(document.definitions);
  makeStrict(document.definitions);

  const byGvk = {};
  for (const [name, definition] of Object.entries(document.definitions)) {
    for (const gvk of definition['x-kubernetes-group-version-kind'] ?? []) {
      const apiVersion = gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version;
      byGvk[gvkKey(apiVersion, gvk.kind)] = name;
    }
  }

  const Ajv = require('ajv');
  // Generated code refers to the function formats as `formats.<name>`; regular expressions are inlined.
  const ajv = new Ajv({ ...AJV_OPTIONS, ...(standalone ? { code: { source: true, formats: Ajv._`formats` } } : {}) });
  for (const [name, format] of Object.entries(FORMATS)) {
    ajv.addFormat(name, format);
  }
  ajv.addSchema({ $id: SCHEMA_ID, definitions: document.definitions });
  return { ajv, byGvk };
}

function sha256(...parts) {
  const hash = crypto.createHash('sha256');
  for (const part of parts) {
    hash.update(part);
    hash.update('\0');
  }
  return hash.digest('hex');
}

/** node_modules/.cache/k8s-strict-schema, in the node_modules that holds ajv; undefined if there is none. */
function defaultCacheDirectory() {
  try {
    return path.join(path.dirname(path.dirname(require.resolve('ajv/package.json'))), '.cache', 'k8s-strict-schema');
  } catch {
    return undefined;
  }
}

/** Writes a file atomically: parallel processes (jest workers, concurrent synths) may write the same entry. */
function writeAtomically(file, content) {
  const temporary = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(temporary, content);
  fs.renameSync(temporary, file);
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf-8'));
  } catch {
    return undefined;
  }
}

/** Evaluates cached standalone code; undefined when it is missing or unreadable. */
function loadValidator(file) {
  try {
    const code = fs.readFileSync(file, 'utf-8');
    const module = { exports: {} };
    // The code requires ajv's small runtime helpers (ajv/dist/runtime/...) and the formats.
    new Function('module', 'exports', 'require', 'formats', code)(module, module.exports, require, FORMATS);
    return typeof module.exports === 'function' ? module.exports : undefined;
  } catch {
    return undefined;
  }
}

/** The cache of one schema file: `<root>/v<version>/<key>/` with index.json and one `<definition>.js` per kind. */
class ValidatorCache {
  constructor(root, version, schemaBytes) {
    const ajvVersion = JSON.parse(fs.readFileSync(require.resolve('ajv/package.json'), 'utf-8')).version;
    this.versionDirectory = path.join(root, `v${version}`);
    this.key = sha256(schemaBytes, ajvVersion, fs.readFileSync(__filename), crds.fingerprint());
    this.directory = path.join(this.versionDirectory, this.key);
    this.index = readJson(path.join(this.directory, 'index.json'));
  }

  validatorFile(definition) {
    return path.join(this.directory, `${definition.replace(/[^A-Za-z0-9._-]/g, '_')}.js`);
  }

  /** Stores the GVK index and drops the entries of older keys of this Kubernetes version. */
  writeIndex(byGvk) {
    this.index = byGvk;
    try {
      fs.mkdirSync(this.directory, { recursive: true });
      writeAtomically(path.join(this.directory, 'index.json'), JSON.stringify(byGvk));
      for (const name of fs.readdirSync(this.versionDirectory)) {
        if (name !== this.key) {
          fs.rmSync(path.join(this.versionDirectory, name), { recursive: true, force: true });
        }
      }
    } catch {
      // Not cached: compiled again next time.
    }
  }

  writeValidator(definition, code) {
    try {
      fs.mkdirSync(this.directory, { recursive: true });
      writeAtomically(this.validatorFile(definition), code);
    } catch {
      // Not cached: compiled again next time.
    }
  }
}

function describe(error) {
  const where = error.instancePath || '/';
  switch (error.keyword) {
    case 'additionalProperties':
      return `${where}: unknown field "${error.params.additionalProperty}"`;
    case 'required':
      return `${where}: missing required field "${error.params.missingProperty}"`;
    case 'enum':
      return `${where}: must be one of ${JSON.stringify(error.params.allowedValues)}`;
    default:
      return `${where}: ${error.message}`;
  }
}

/**
 * Validates Kubernetes objects strictly against the schema of one Kubernetes version.
 */
class StrictSchema {
  /**
   * @param {string} [version] the Kubernetes version whose schema is used (default 1.27.0)
   * @param {{ schemaFile?: string, cacheDirectory?: string | false }} [options] the `_definitions.json`
   *   to use (default: the copy in k8s-schema/ for `version`); where to cache generated validators
   *   (default: node_modules/.cache/k8s-strict-schema; false: compile in memory every time)
   */
  constructor(version = DEFAULT_VERSION, options = {}) {
    this.version = version;
    this._schemaFile = options.schemaFile ?? path.join(__dirname, 'k8s-schema', `v${version}`, '_definitions.json');
    this._cacheRoot = options.cacheDirectory === false ? undefined : (options.cacheDirectory ?? defaultCacheDirectory());
    this._schemaBytes = undefined;
    this._cache = undefined;
    this._schema = undefined;
    this._validators = new Map();
  }

  _bytes() {
    this._schemaBytes ??= fs.readFileSync(this._schemaFile);
    return this._schemaBytes;
  }

  _openCache() {
    if (this._cache === undefined) {
      try {
        this._cache = this._cacheRoot ? new ValidatorCache(this._cacheRoot, this.version, this._bytes()) : null;
      } catch {
        this._cache = null;
      }
    }
    return this._cache;
  }

  _validatorFor(apiVersion, kind) {
    const key = gvkKey(apiVersion, kind);
    let validator = this._validators.get(key);
    if (validator === undefined) {
      validator = this._loadValidator(key);
      this._validators.set(key, validator);
    }
    return validator;
  }

  _loadValidator(key) {
    const cache = this._openCache();
    if (cache?.index) {
      if (!Object.hasOwn(cache.index, key)) {
        return null;
      }
      const cached = loadValidator(cache.validatorFile(cache.index[key]));
      if (cached) {
        return cached;
      }
    }
    this._schema ??= loadSchema(this._bytes(), Boolean(cache));
    const { ajv, byGvk } = this._schema;
    if (cache && !cache.index) {
      cache.writeIndex(byGvk);
    }
    if (!Object.hasOwn(byGvk, key)) {
      return null;
    }
    const validator = ajv.getSchema(`${SCHEMA_ID}#/definitions/${byGvk[key]}`);
    if (cache) {
      const standaloneCode = require('ajv/dist/standalone').default;
      cache.writeValidator(byGvk[key], standaloneCode(ajv, validator));
    }
    return validator;
  }

  /**
   * Returns the problems found in one object, as `"<json pointer>: <problem>"` strings.
   * An empty array means the object is valid.
   */
  validate(object) {
    if (!object || typeof object !== 'object' || Array.isArray(object)) {
      return ['/: a Kubernetes object must be a mapping'];
    }
    const { apiVersion, kind } = object;
    if (typeof apiVersion !== 'string' || typeof kind !== 'string') {
      return ['/: missing apiVersion or kind'];
    }
    const validator = this._validatorFor(apiVersion, kind);
    if (!validator) {
      return [`/: no Kubernetes ${this.version} schema for apiVersion "${apiVersion}", kind "${kind}"`];
    }
    const problems = [];
    if (typeof object.metadata?.name !== 'string' && typeof object.metadata?.generateName !== 'string') {
      problems.push('/metadata: missing required field "name"');
    }
    if (!validator(object)) {
      problems.push(...validator.errors.map(describe));
    }
    return problems;
  }
}

module.exports = { StrictSchema, DEFAULT_VERSION };

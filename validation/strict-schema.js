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
'use strict';

const fs = require('fs');
const path = require('path');
const Ajv = require('ajv');

const DEFAULT_VERSION = '1.27.0';
const SCHEMA_ID = 'k8s';

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

/** Parses a `_definitions.json` file into a strict ajv instance plus a GVK index. */
function loadSchema(version) {
  const file = path.join(__dirname, 'k8s-schema', `v${version}`, '_definitions.json');
  const document = JSON.parse(fs.readFileSync(file, 'utf-8'));
  makeStrict(document.definitions);

  const byGvk = new Map();
  for (const [name, definition] of Object.entries(document.definitions)) {
    for (const gvk of definition['x-kubernetes-group-version-kind'] ?? []) {
      const apiVersion = gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version;
      byGvk.set(gvkKey(apiVersion, gvk.kind), name);
    }
  }

  const ajv = new Ajv({ allErrors: true, strict: false, validateSchema: false });
  for (const [name, format] of Object.entries(FORMATS)) {
    ajv.addFormat(name, format);
  }
  ajv.addSchema({ $id: SCHEMA_ID, definitions: document.definitions });
  return { ajv, byGvk };
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
  /** @param {string} [version] the Kubernetes version whose schema is used (default 1.27.0) */
  constructor(version = DEFAULT_VERSION) {
    this.version = version;
    this._schema = undefined;
    this._validators = new Map();
  }

  _validatorFor(apiVersion, kind) {
    const key = gvkKey(apiVersion, kind);
    let validator = this._validators.get(key);
    if (validator === undefined) {
      this._schema ??= loadSchema(this.version);
      const definition = this._schema.byGvk.get(key);
      validator = definition ? this._schema.ajv.getSchema(`${SCHEMA_ID}#/definitions/${definition}`) : null;
      this._validators.set(key, validator);
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

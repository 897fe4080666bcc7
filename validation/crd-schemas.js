// Custom resources the library renders (cert-manager's Certificate), validated like the
// Kubernetes objects: the openAPIV3Schema of each served version of each CustomResourceDefinition
// in crds/ becomes one more definition next to the Kubernetes ones, with its
// x-kubernetes-group-version-kind, so that strict-schema.js makes it strict (unknown fields
// rejected), indexes it by apiVersion and kind, compiles and caches its validator like any
// other. Its `metadata`, which a CRD declares as a bare object, is the Kubernetes ObjectMeta, as
// the API server treats it.
//
// Not checked: the CRDs' CEL rules (x-kubernetes-validations), which need the API server.
'use strict';

const fs = require('fs');
const path = require('path');

const CRD_DIRECTORY = path.join(__dirname, 'crds');
const OBJECT_META = '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';

/** The CRD files, in name order. */
function crdFiles() {
  return fs.readdirSync(CRD_DIRECTORY).filter((name) => /\.ya?ml$/.test(name)).sort().map((name) => path.join(CRD_DIRECTORY, name));
}

/** The bytes of every CRD, for the validator cache key: a changed CRD compiles afresh. */
function fingerprint() {
  return Buffer.concat(crdFiles().flatMap((file) => [Buffer.from(path.basename(file)), fs.readFileSync(file)]));
}

/**
 * The `yaml` package cdk8s bundles (cdk8s is a peer dependency of every app that runs this
 * plugin), resolved from cdk8s' own location: the package depends on nothing more.
 */
function yamlParser() {
  return require('module').createRequire(require.resolve('cdk8s'))('yaml');
}

/** Adds a definition for each served version of each CRD in crds/ to a `_definitions.json` document's definitions. */
function addCrdDefinitions(definitions) {
  const YAML = yamlParser();
  for (const file of crdFiles()) {
    for (const crd of YAML.parseAllDocuments(fs.readFileSync(file, 'utf-8')).map((d) => d.toJS())) {
      if (!crd || crd.kind !== 'CustomResourceDefinition') {
        continue;
      }
      const { group, names, versions } = crd.spec;
      for (const version of versions.filter((v) => v.served && v.schema?.openAPIV3Schema)) {
        const schema = structuredClone(version.schema.openAPIV3Schema);
        schema.properties = { ...schema.properties, metadata: { $ref: OBJECT_META } };
        schema['x-kubernetes-group-version-kind'] = [{ group, version: version.name, kind: names.kind }];
        definitions[`crd.${group}.${version.name}.${names.kind}`] = schema;
      }
    }
  }
}

module.exports = { addCrdDefinitions, fingerprint };

// cdk8s validation plugin: every synthesized object must match the official
// Kubernetes schema, with unknown fields rejected (see strict-schema.js).
//
// It ships in the npm package (with the schema files and ajv, bundled). A cdk8s app that has
// the package installed turns it on with one entry in its cdk8s.yaml; `cdk8s synth` then runs it:
//
//   validations:
//     - package: ./node_modules/cdk8s-postgres-statefulset/validation
//       class: StrictKubernetesSchema
//       version: 0.1.0
//       properties:
//         kubernetesVersion: 1.27.0
//
// The `./` form is a local path for cdk8s-cli, loaded as it is. A bare package name
// (`package: cdk8s-postgres-statefulset/validation`) is not looked up in the app's
// node_modules: cdk8s-cli runs `npm install <package>@<version>` into ~/.cdk8s/plugins instead.
// This repository's own cdk8s.yaml names the directory: `package: ./validation`.
//
// It runs offline. When an object fails, the report names it and every problem
// found, `cdk8s synth` exits non-zero, and the manifests of that run are deleted,
// so an invalid manifest is never left in the output directory to be applied.
'use strict';

const fs = require('fs');
const path = require('path');
const { StrictSchema, DEFAULT_VERSION } = require('./strict-schema');

const SCHEMA_DIRECTORY = path.join(__dirname, 'k8s-schema');

class StrictKubernetesSchema {
  /** @param {{ kubernetesVersion?: string }} [properties] */
  constructor(properties = {}) {
    const version = String(properties.kubernetesVersion ?? DEFAULT_VERSION);
    if (!fs.existsSync(path.join(SCHEMA_DIRECTORY, `v${version}`, '_definitions.json'))) {
      const available = fs.readdirSync(SCHEMA_DIRECTORY).map((name) => name.replace(/^v/, ''));
      throw new Error(`StrictKubernetesSchema: kubernetesVersion must be one of the schemas shipped in ${SCHEMA_DIRECTORY}, got ${version}. `
        + `Fix: set properties.kubernetesVersion in cdk8s.yaml to ${available.join(' or ')}`);
    }
    this.schema = new StrictSchema(version);
  }

  async validate(context) {
    let objects = 0;
    let failed = false;
    for (const manifestPath of context.manifests) {
      for (const object of context.parseManifest(manifestPath)) {
        if (object === null || object === undefined) {
          continue; // an empty YAML document
        }
        objects += 1;
        const problems = this.schema.validate(object);
        if (problems.length === 0) {
          continue;
        }
        failed = true;
        context.report.addViolation({
          ruleName: `Kubernetes ${this.schema.version} schema (strict)`,
          recommendation: `${object.kind ?? 'object'} "${object.metadata?.name ?? '?'}" does not match the Kubernetes ${this.schema.version} schema`,
          fix: 'Correct or remove the fields listed under Locations (an escape hatch or a construct wrote a field the API does not have)',
          violatingResources: [{
            resourceName: object.metadata?.name ?? '?',
            locations: problems,
            manifestPath,
          }],
        });
      }
    }
    if (failed && !context.stdout) {
      for (const manifestPath of context.manifests) {
        fs.rmSync(manifestPath, { force: true });
      }
      context.logger.log('Invalid manifests were deleted from the output directory so that they cannot be applied.');
    }
    context.report.submit(failed ? 'failure' : 'success', {
      kubernetesVersion: this.schema.version,
      objects: String(objects),
    });
  }
}

module.exports = { StrictKubernetesSchema };

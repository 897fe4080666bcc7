// cdk8s validation plugin: every synthesized object must match the official
// Kubernetes schema, with unknown fields rejected (see strict-schema.js).
//
// Configured in cdk8s.yaml:
//
//   validations:
//     - package: ./validation
//       class: StrictKubernetesSchema
//       version: 1.0.0
//       properties:
//         kubernetesVersion: 1.27.0
//
// It runs offline. When an object fails, the report names it and every problem
// found, `cdk8s synth` exits non-zero, and the manifests of that run are deleted,
// so an invalid manifest is never left in the output directory to be applied.
'use strict';

const fs = require('fs');
const { StrictSchema, DEFAULT_VERSION } = require('./strict-schema');

class StrictKubernetesSchema {
  /** @param {{ kubernetesVersion?: string }} [properties] */
  constructor(properties = {}) {
    this.schema = new StrictSchema(properties.kubernetesVersion ?? DEFAULT_VERSION);
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

// What a PostgresStatefulSet needs before the first `kubectl apply` (internal): the Secrets it
// reads and does not render, with their keys, an init scripts ConfigMap the app does not render,
// and the storage class its claims name.
import { IConstruct } from 'constructs';
import { Need } from './prerequisite-registry';
import { InstanceSpec } from './resolve';
import { apiObjectOf } from './workload';

/** The instance's needs, from its spec. */
export function instanceNeeds(scope: IConstruct, spec: InstanceSpec): Need[] {
  const path = scope.node.path;
  const namespace = spec.effectiveNamespace;
  const needs: Need[] = [];
  const { superuser } = spec;
  const replication = spec.replication.credentials;
  const secretNeed = (name: string): Need => ({ kind: 'Secret', namespace, name, description: `the passwords of ${path}`, keys: [], requiredBy: path });
  if (!superuser.rendered) {
    needs.push({
      ...secretNeed(superuser.secretName),
      keys: [{
        key: superuser.passwordKey,
        description: `password of the superuser '${superuser.username}'`,
        optional: false,
        placeholder: '<superuser-password>',
      }],
    });
  }
  // a replication password in the Secret this construct renders is rendered with it, or reported when missing
  if (!replication.rendered && !(superuser.rendered && replication.secretName === superuser.secretName)) {
    const single = spec.replicas <= 1;
    needs.push({
      ...secretNeed(replication.secretName),
      keys: [{
        key: replication.passwordKey,
        description: `password of the replication role '${replication.username}'${single ? ', needed once replicas is raised above 1' : ''}`,
        optional: single,
        placeholder: '<replication-password>',
      }],
    });
  }
  if (spec.initScripts && !apiObjectOf(spec.initScripts)) {
    needs.push({
      kind: 'ConfigMap',
      namespace,
      name: spec.initScripts.name,
      description: `the init scripts (*.sh, *.sql, ...) of ${path}, run when its data directory is initialised`,
      keys: [],
      requiredBy: path,
    });
  }
  if (spec.storage.className) {
    needs.push({
      kind: 'StorageClass',
      name: spec.storage.className,
      description: `the storage class of the data volumes of ${path}`,
      keys: [],
      requiredBy: path,
    });
  }
  return needs;
}

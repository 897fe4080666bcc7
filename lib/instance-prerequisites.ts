// What a PostgresStatefulSet needs before the first `kubectl apply` (internal): the Secrets it
// reads and does not render, with their keys, an init scripts ConfigMap the app does not render,
// and the storage class its claims name.
import { IConstruct } from 'constructs';
import { KeyNeed, Need } from './prerequisite-registry';
import { InstanceSpec, TlsSpec } from './resolve';
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
  if (spec.tls) {
    needs.push(...tlsNeeds(path, namespace, spec.tls));
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

/** The key of a Secret that holds the CA certificate, which `verifiers` (e.g. 'the client verifies') verify the server with. */
export function caKeyNeed(key: string, verifiers: string): KeyNeed {
  return {
    key,
    description: `the CA certificate that signed the server's, which ${verifiers} it with (sslmode=verify-full)`,
    optional: false,
    placeholder: '<CA certificate file>',
    fromFile: true,
  };
}

/**
 * The server's certificate and key (a `kubernetes.io/tls` Secret, which cert-manager writes for a
 * PostgresCertificate: then the app's Certificate leaves it out of the list), and the CA
 * certificate, in that Secret or another.
 */
function tlsNeeds(path: string, namespace: string | undefined, tls: TlsSpec): Need[] {
  const ca = caKeyNeed(tls.caKey, 'standbys and clients verify');
  const sameSecret = tls.caSecret.name === tls.secret.name;
  const needs: Need[] = [{
    kind: 'Secret',
    namespace,
    name: tls.secret.name,
    description: `the TLS certificate of ${path}`,
    secretType: 'kubernetes.io/tls',
    keys: [
      { key: 'tls.crt', description: 'the server certificate, for the names of its Services', optional: false, placeholder: '<certificate file>', fromFile: true },
      { key: 'tls.key', description: 'the private key of the server certificate', optional: false, placeholder: '<key file>', fromFile: true },
      ...(sameSecret ? [ca] : []),
    ],
    requiredBy: path,
  }];
  if (!sameSecret) {
    needs.push({ kind: 'Secret', namespace, name: tls.caSecret.name, description: `the CA certificate of ${path}`, keys: [ca], requiredBy: path });
  }
  return needs;
}

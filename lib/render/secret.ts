// Render: the construct's Secret, when the caller supplied the passwords (internal).
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import * as k8s from '../../imports/k8s';
import { InstanceSpec } from '../resolve';
import { renderObject } from './manifest';

/** The Secret with the superuser password, and the replication password when both are rendered; none otherwise. */
export function renderSecret(scope: Construct, spec: InstanceSpec): ApiObject | undefined {
  if (!spec.superuser.rendered) {
    return undefined;
  }
  const replication = spec.replication.credentials;
  return renderObject(scope, 'Secret', k8s.KubeSecret, {
    metadata: { name: spec.superuser.secretName, namespace: spec.namespace, labels: spec.labels },
    type: 'Opaque',
    stringData: {
      [spec.superuser.passwordKey]: spec.superuser.password ?? '',
      ...(replication?.rendered ? { [replication.passwordKey]: replication.password ?? '' } : {}),
    },
  });
}

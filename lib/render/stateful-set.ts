// Render: the StatefulSet (internal).
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import * as k8s from '../../imports/k8s';
import { InstanceSpec } from '../resolve';
import { PodTemplateSpec, renderObject } from './manifest';
import { DATA_VOLUME } from './pod-template';

/** The StatefulSet annotation naming the PostgreSQL container. */
export const CONTAINER_ANNOTATION = 'postgres-statefulset.io/container';
/** The StatefulSet annotation naming the image's PostgreSQL major version. */
export const MAJOR_ANNOTATION = 'postgres-statefulset.io/postgres-major';

/**
 * The StatefulSet, the construct's default child ('Resource'). It is created after the objects
 * it needs (Secret, ConfigMap, Services), so that it follows them in the manifest.
 */
export function renderStatefulSet(scope: Construct, spec: InstanceSpec, template: PodTemplateSpec): ApiObject {
  return renderObject(scope, 'Resource', k8s.KubeStatefulSet, {
    metadata: {
      ...spec.metadata,
      name: spec.names.statefulSet,
      labels: { ...spec.metadata?.labels, ...spec.labels },
      // for tools that read the manifests (the change check): on the StatefulSet, so that no pod restarts when they change
      annotations: {
        ...spec.metadata?.annotations,
        [CONTAINER_ANNOTATION]: spec.containerName,
        ...(spec.image.major !== undefined ? { [MAJOR_ANNOTATION]: String(spec.image.major) } : {}),
      },
    },
    spec: {
      serviceName: spec.names.service,
      // during a major upgrade pod 0 runs alone; the standbys clone it once the option is removed
      replicas: spec.upgrade ? 1 : spec.replicas,
      selector: { matchLabels: spec.selectorLabels },
      persistentVolumeClaimRetentionPolicy: { whenDeleted: spec.storage.whenDeleted, whenScaled: spec.storage.whenScaled },
      template,
      volumeClaimTemplates: [{
        metadata: { name: DATA_VOLUME, labels: spec.selectorLabels },
        spec: {
          accessModes: spec.storage.accessModes,
          storageClassName: spec.storage.className,
          resources: { requests: { storage: spec.storage.size.asString() } },
        },
      }],
    },
  });
}

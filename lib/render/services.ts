// Render: the Services of an instance (internal).
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import * as k8s from '../../imports/k8s';
import { InstanceSpec, Labels } from '../resolve';
import { renderObject, ServicePort } from './manifest';

/** The headless Service that gives every pod a stable DNS name. */
export function renderHeadlessService(scope: Construct, spec: InstanceSpec): ApiObject {
  return renderObject(scope, 'Service', k8s.KubeService, {
    metadata: { name: spec.names.service, namespace: spec.namespace, labels: spec.labels },
    spec: {
      clusterIP: 'None',
      // with replication, standbys must find pod 0 by name before any pod is Ready
      publishNotReadyAddresses: spec.replication.services ? true : undefined,
      selector: spec.selectorLabels,
      ports: servicePorts(spec),
    },
  });
}

/** A ClusterIP Service for clients, over the Ready pods the selector picks. */
export function renderClientService(scope: Construct, id: string, spec: InstanceSpec, name: string, selector: Labels): ApiObject {
  return renderObject(scope, id, k8s.KubeService, {
    metadata: { name, namespace: spec.namespace, labels: spec.labels },
    spec: { selector, ports: servicePorts(spec) },
  });
}

function servicePorts(spec: InstanceSpec): ServicePort[] {
  return [{ name: spec.portName, port: spec.port }];
}

// Render: the Services of an instance (internal).
import { Construct } from 'constructs';
import * as k8s from '../../imports/k8s';
import { InstanceSpec, Labels } from '../resolve';

/** The headless Service that gives every pod a stable DNS name. */
export function renderHeadlessService(scope: Construct, spec: InstanceSpec): k8s.KubeService {
  return new k8s.KubeService(scope, 'Service', {
    metadata: { name: spec.names.service, namespace: spec.namespace, labels: spec.labels },
    spec: {
      clusterIp: 'None',
      // with replication, standbys must find pod 0 by name before any pod is Ready
      publishNotReadyAddresses: spec.replication.services ? true : undefined,
      selector: spec.selectorLabels,
      ports: servicePorts(spec),
    },
  });
}

/** A ClusterIP Service for clients, over the Ready pods the selector picks. */
export function renderClientService(scope: Construct, id: string, spec: InstanceSpec, name: string, selector: Labels): k8s.KubeService {
  return new k8s.KubeService(scope, id, {
    metadata: { name, namespace: spec.namespace, labels: spec.labels },
    spec: { selector, ports: servicePorts(spec) },
  });
}

function servicePorts(spec: InstanceSpec): k8s.ServicePort[] {
  return [{ name: spec.portName, port: spec.port }];
}

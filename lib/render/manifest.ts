// Render: objects as plain cdk8s ApiObjects whose props are already the manifest, in Kubernetes'
// own field names (internal).
//
// The classes of imports/k8s.ts (KubeStatefulSet, ...) take props in TypeScript's names and
// convert them when the object is synthesized: every object, every field of its schema, a new
// object per field set, for every instance of the app. The render functions write the manifest
// directly instead, typed by the same imported interfaces through `Manifest<T>`: the JSON form of
// an imported type, with quantities as strings and the few fields whose Kubernetes name differs
// from the TypeScript one (clusterIP, hostPID, downwardAPI, ...) under the Kubernetes name.
// cdk8s' ApiObject sorts the keys of the manifest as the imported classes wrote them (the
// schema's order, which is alphabetical after apiVersion, kind and metadata).
import { ApiObject, GroupVersionKind } from 'cdk8s';
import { Construct } from 'constructs';
import * as k8s from '../../imports/k8s';

/** The fields of the imported types whose Kubernetes name is not their TypeScript name (test/manifest.test.ts checks the list). */
export const KUBERNETES_NAMES = {
  clusterIp: 'clusterIP',
  clientIp: 'clientIP',
  datasetUuid: 'datasetUUID',
  diskUri: 'diskURI',
  downwardApi: 'downwardAPI',
  externalId: 'externalID',
  hostIp: 'hostIP',
  hostIpc: 'hostIPC',
  hostPid: 'hostPID',
  insecureSkipTlsVerify: 'insecureSkipTLSVerify',
  loadBalancerIp: 'loadBalancerIP',
  nodeId: 'nodeID',
  nonResourceUrLs: 'nonResourceURLs',
  openApiv3Schema: 'openAPIV3Schema',
  pdId: 'pdID',
  podCidr: 'podCIDR',
  podCidRs: 'podCIDRs',
  providerId: 'providerID',
  scaleIo: 'scaleIO',
  setHostnameAsFqdn: 'setHostnameAsFQDN',
  storagePolicyId: 'storagePolicyID',
  targetCpuUtilizationPercentage: 'targetCPUUtilizationPercentage',
  targetWwNs: 'targetWWNs',
  volumeId: 'volumeID',
} as const;

type KubernetesNames = typeof KUBERNETES_NAMES;

/**
 * An imported type (imports/k8s.ts) as it is written in a manifest. `k8s.Quantity` and
 * `k8s.IntOrString` (one shape, `{ value }`) are their value; a type that merely has a `value`
 * (`Sysctl` is `{ name, value }`) is not one of them: it is not assignable to them both ways.
 */
export type Manifest<T> =
  T extends k8s.Quantity | k8s.IntOrString ? ([k8s.Quantity] extends [T] ? string | number : ManifestObject<T>)
    : T extends readonly (infer U)[] ? Manifest<U>[]
      : T extends object ? ManifestObject<T>
        : T;

type ManifestObject<T> = { [K in keyof T as K extends keyof KubernetesNames ? KubernetesNames[K] : K]: Manifest<T[K]> };

export type Container = Manifest<k8s.Container>;
export type EnvVar = Manifest<k8s.EnvVar>;
export type PodAffinity = Manifest<k8s.PodAffinity>;
export type PodSecurityContext = Manifest<k8s.PodSecurityContext>;
export type PodSpec = Manifest<k8s.PodSpec>;
export type PodTemplateSpec = Manifest<k8s.PodTemplateSpec>;
export type Probe = Manifest<k8s.Probe>;
export type ResourceRequirements = Manifest<k8s.ResourceRequirements>;
export type SecurityContext = Manifest<k8s.SecurityContext>;
export type ServicePort = Manifest<k8s.ServicePort>;
export type Volume = Manifest<k8s.Volume>;
export type VolumeMount = Manifest<k8s.VolumeMount>;
export type VolumeProjection = Manifest<k8s.VolumeProjection>;

/** An imported class (`k8s.KubeStatefulSet`, ...): its kind, and its props' type. */
export interface ImportedKind<P> {
  readonly GVK: GroupVersionKind;
  manifest(props?: P): any;
}

/**
 * An object of an imported kind, written as its manifest, e.g.
 * `renderObject(scope, 'Resource', k8s.KubeStatefulSet, { metadata, spec })`.
 */
export function renderObject<P>(scope: Construct, id: string, kind: ImportedKind<P>, manifest: NoInfer<Manifest<P>>): ApiObject {
  return new ApiObject(scope, id, { ...kind.GVK, ...manifest });
}

// Custom resources are validated like the Kubernetes objects: cert-manager's Certificate against
// the openAPIV3Schema of its CRD (validation/crds/), unknown fields rejected, its metadata against
// the Kubernetes ObjectMeta. The types come from `cdk8s import` of the same CRD (imports/).
import { Testing } from 'cdk8s';
import * as cm from '../imports/cert-manager.io';
import { StrictSchema } from '../validation/strict-schema';
import { oneOfKind, synth } from './util';

const schema = new StrictSchema('1.27.0');

function certificate(): any {
  const chart = Testing.chart();
  new cm.Certificate(chart, 'Certificate', {
    metadata: { name: 'orders-tls', namespace: 'shop' },
    spec: {
      secretName: 'orders-tls',
      issuerRef: { name: 'internal-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' },
      dnsNames: ['orders', 'orders.shop.svc.cluster.local'],
      duration: '2160h',
      privateKey: { algorithm: cm.CertificateSpecPrivateKeyAlgorithm.ECDSA, size: 256 },
      usages: [cm.CertificateSpecUsages.SERVER_AUTH],
    },
  });
  return oneOfKind(synth(chart), 'Certificate');
}

test('a Certificate built with the imported types matches the CRD', () => {
  const cert = certificate();
  expect(cert.apiVersion).toBe('cert-manager.io/v1');
  expect(schema.validate(cert)).toEqual([]);
});

test('an unknown field, a missing required field, a wrong type, a value outside an enum, a misspelt metadata field', () => {
  const cert = certificate();
  cert.spec.dnsName = ['orders'];
  delete cert.spec.issuerRef;
  cert.spec.duration = 2160;
  cert.spec.privateKey.algorithm = 'DSA';
  cert.metadata.label = {};
  expect(schema.validate(cert)).toEqual([
    '/metadata: unknown field "label"',
    '/spec: missing required field "issuerRef"',
    '/spec: unknown field "dnsName"',
    '/spec/duration: must be string',
    '/spec/privateKey/algorithm: must be one of ["RSA","ECDSA","Ed25519"]',
  ]);
});

test('a version cert-manager does not serve is no schema\'s', () => {
  expect(schema.validate({ ...certificate(), apiVersion: 'cert-manager.io/v1alpha2' }))
    .toEqual(['/: no Kubernetes 1.27.0 schema for apiVersion "cert-manager.io/v1alpha2", kind "Certificate"']);
});

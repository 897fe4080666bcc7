// The objects the library renders are plain ApiObjects whose props are the manifest
// (lib/render/manifest.ts), not the classes of imports/k8s.ts, which convert their props at every
// synth. These tests hold what that relies on: the Kubernetes names of renamed fields, and the
// imported classes' key order, which is the order cdk8s' ApiObject sorts keys in.
import * as fs from 'fs';
import * as path from 'path';
import { ApiObject, Testing } from 'cdk8s';
import * as k8s from '../imports/k8s';
import { KUBERNETES_NAMES, renderObject } from '../lib/render/manifest';

const source = fs.readFileSync(path.join(__dirname, '..', 'imports', 'k8s.ts'), 'utf-8');

/** Each toJson_ function of imports/k8s.ts: its name and its fields, [Kubernetes name, TypeScript name], in order. */
function conversions(): { name: string; fields: [string, string][] }[] {
  const functions = [...source.matchAll(/export function (toJson_\w+)\([^)]*\)[^{]*\{\n\s+if \(obj === undefined\) \{ return undefined; \}\n\s+const result = \{\n([\s\S]*?)\n\s+\};/g)];
  return functions.map(([, name, body]) => ({
    name,
    fields: [...body.matchAll(/^\s+'([^']+)': .*?\bobj\.(\w+)/gm)].map(([, json, ts]) => [json, ts] as [string, string]),
  }));
}

test('every field of imports/k8s.ts whose Kubernetes name differs is in KUBERNETES_NAMES, the same in every type', () => {
  const all = conversions();
  expect(all.length).toBeGreaterThan(400);
  const renamed = new Map<string, Set<string>>();
  for (const { fields } of all) {
    for (const [json, ts] of fields) {
      if (ts in KUBERNETES_NAMES || json !== ts) {
        renamed.set(ts, (renamed.get(ts) ?? new Set()).add(json));
      }
    }
  }
  // the JSON schema fields of CustomResourceDefinitions, which no object of the library has
  const schemaOnly = [...renamed.keys()].filter((ts) => ts === 'ref' || ts === 'schema' || ts.startsWith('xKubernetes'));
  expect(schemaOnly.sort()).toEqual(['ref', 'schema', 'xKubernetesEmbeddedResource', 'xKubernetesIntOrString', 'xKubernetesListMapKeys',
    'xKubernetesListType', 'xKubernetesMapType', 'xKubernetesPreserveUnknownFields', 'xKubernetesValidations']);
  const expected = Object.fromEntries([...renamed].filter(([ts]) => !schemaOnly.includes(ts)).map(([ts, json]) => [ts, [...json]]));
  expect(expected).toEqual(Object.fromEntries(Object.entries(KUBERNETES_NAMES).map(([ts, json]) => [ts, [json]])));
});

test('the imported classes write fields in sorted order (metadata first at the top), as ApiObject sorts them', () => {
  const unsorted = conversions().filter(({ name, fields }) => {
    const keys = fields.map(([json]) => json);
    const expected = name.startsWith('toJson_Kube') && keys[0] === 'metadata' ? ['metadata', ...keys.slice(1).sort()] : [...keys].sort();
    return keys.join() !== expected.join();
  });
  expect(unsorted.map(({ name }) => name)).toEqual([]);
});

test('an object rendered from its manifest is what the imported class renders from the same props', () => {
  const chart = Testing.chart();
  const pairs: [ApiObject, ApiObject][] = [
    [
      new k8s.KubeService(chart, 'TypedService', {
        metadata: { name: 'svc', labels: { b: '2', a: '1' } },
        spec: { clusterIp: 'None', selector: { z: 'z', a: 'a' }, ports: [{ name: 'pg', port: 5432, targetPort: k8s.IntOrString.fromString('pg') }] },
      }),
      renderObject(chart, 'Service', k8s.KubeService, {
        metadata: { name: 'svc', labels: { b: '2', a: '1' } },
        spec: { clusterIP: 'None', selector: { z: 'z', a: 'a' }, ports: [{ name: 'pg', port: 5432, targetPort: 'pg' }] },
      }),
    ],
    [
      new k8s.KubePodDisruptionBudget(chart, 'TypedBudget', { spec: { maxUnavailable: k8s.IntOrString.fromNumber(1) } }),
      renderObject(chart, 'Budget', k8s.KubePodDisruptionBudget, { spec: { maxUnavailable: 1 } }),
    ],
    [
      new k8s.KubePod(chart, 'TypedPod', {
        metadata: { name: 'pod' },
        spec: {
          hostPid: false,
          containers: [{ name: 'c', resources: { requests: { memory: k8s.Quantity.fromString('1Gi') } }, env: [{ name: 'E', value: undefined }] }],
          volumes: [{ name: 'shm', emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString('64Mi') } }, { name: 'empty', emptyDir: {} }],
          securityContext: { sysctls: [{ name: 'net.core.somaxconn', value: '1024' }] },
        },
      }),
      renderObject(chart, 'Pod', k8s.KubePod, {
        metadata: { name: 'pod' },
        spec: {
          hostPID: false,
          containers: [{ name: 'c', resources: { requests: { memory: '1Gi' } }, env: [{ name: 'E', value: undefined }] }],
          volumes: [{ name: 'shm', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } }, { name: 'empty', emptyDir: {} }],
          securityContext: { sysctls: [{ name: 'net.core.somaxconn', value: '1024' }] },
        },
      }),
    ],
  ];
  for (const [typed, manifest] of pairs) {
    const [expected, actual] = [typed.toJson(), manifest.toJson()];
    delete expected.metadata.name; // generated from the construct path when not given
    delete actual.metadata.name;
    expect(JSON.stringify(actual)).toEqual(JSON.stringify(expected)); // the same keys in the same order
    expect(ApiObject.isApiObject(manifest)).toBe(true);
  }
  expect((pairs[0][1].toJson()).spec.clusterIP).toBe('None');
});

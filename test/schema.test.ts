// Every synthesized object is validated against the official Kubernetes 1.27 schema,
// with unknown fields rejected; and the validation itself is shown to reject bad objects.
import { Chart, Duration, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { ClaimRetentionPolicy, PostgresCredentials, PostgresStatefulSet } from '../lib';
import { PostgresqlExerciseChart } from '../main';
import { StrictSchema } from '../validation/strict-schema';
import { oneOfKind, synth } from './util';

const schema = new StrictSchema('1.27.0');

function problemsOf(manifest: any[]): string[] {
  return manifest.flatMap((o) => schema.validate(o).map((p) => `${o.kind}/${o.metadata?.name}${p}`));
}

describe('synthesized objects match the Kubernetes 1.27 schema', () => {
  test('the defaults', () => {
    const chart = Testing.chart();
    new PostgresStatefulSet(chart, 'Db');
    expect(problemsOf(synth(chart))).toEqual([]);
  });

  test('the example app, with and without a rendered Secret', () => {
    for (const password of [undefined, 'tes6Aev8']) {
      const manifest = synth(new PostgresqlExerciseChart(Testing.app(), 'postgresql', { password }));
      expect(problemsOf(manifest)).toEqual([]);
    }
  });

  test('every prop set', () => {
    const chart = new Chart(Testing.app(), 'test', { namespace: 'db' });
    const api = new kplus.Deployment(chart, 'Api', { containers: [{ image: 'example/api:1.0' }] });
    const scripts = new kplus.ConfigMap(chart, 'Init', { data: { '10-schema.sql': 'CREATE TABLE t (id int);' } });
    new PostgresStatefulSet(chart, 'Db', {
      metadata: { annotations: { a: 'b' }, labels: { c: 'd' } },
      statefulSetName: 'pg', serviceName: 'pg-svc', secretName: 'pg-secret',
      credentials: PostgresCredentials.fromPassword('x', { username: 'admin', passwordKey: 'password' }),
      replicas: 2, image: 'postgres:17.6', imagePullPolicy: kplus.ImagePullPolicy.ALWAYS, containerName: 'db',
      port: 6543, portName: 'pg', storage: Size.gibibytes(5), storageClassName: 'fast',
      accessModes: [kplus.PersistentVolumeAccessMode.READ_WRITE_ONCE_POD],
      dataMountPath: '/data', pgData: '/data/pg', terminationGracePeriod: Duration.seconds(90),
      labels: { team: 'a' }, selectorLabels: { app: 'pg' }, clusterDomain: 'corp.local',
      postgresMajorVersion: 17, databaseName: 'orders', parameters: { shared_buffers: '256MB' }, initdbArgs: ['--data-checksums'],
      initScripts: scripts, passwordAsFile: true, probes: true, startupTimeout: Duration.minutes(30), fastShutdown: true,
      restrictedSecurityContext: true, runAsUser: 70, runAsGroup: 70, fsGroup: 70, fsGroupChangePolicy: kplus.FsGroupChangePolicy.ALWAYS,
      readOnlyRootFilesystem: true, automountServiceAccountToken: false, sharedMemorySize: Size.mebibytes(512),
      resources: { cpu: { request: kplus.Cpu.millis(500), limit: kplus.Cpu.units(2) }, memory: { request: Size.gibibytes(2), limit: Size.gibibytes(2) } },
      podDisruptionBudget: true, spreadAcrossNodes: true,
      claimRetentionWhenDeleted: ClaimRetentionPolicy.DELETE, claimRetentionWhenScaled: ClaimRetentionPolicy.RETAIN,
      allowedClients: [api],
      replicationCredentials: PostgresCredentials.fromPassword('y', { username: 'standby', passwordKey: 'replication' }),
      readWriteServiceName: 'pg-primary', readOnlyServiceName: 'pg-replicas',
    });
    const manifest = synth(chart);
    expect(new Set(manifest.map((o) => o.kind))).toEqual(new Set(['ConfigMap', 'Deployment', 'NetworkPolicy', 'PodDisruptionBudget', 'Secret', 'Service', 'StatefulSet']));
    expect(problemsOf(manifest)).toEqual([]);
  });
});

describe('the validation rejects what the API server would', () => {
  function validStatefulSet(): any {
    const chart = Testing.chart();
    new PostgresStatefulSet(chart, 'Db');
    return oneOfKind(synth(chart), 'StatefulSet');
  }

  test('an unknown field', () => {
    const sts = validStatefulSet();
    sts.spec.template.spec.containers[0].imagePullPolicyy = 'Always';
    expect(schema.validate(sts)).toEqual(['/spec/template/spec/containers/0: unknown field "imagePullPolicyy"']);
  });

  test('an unknown field in metadata', () => {
    const sts = validStatefulSet();
    sts.metadata.label = { a: 'b' };
    expect(schema.validate(sts)).toEqual(['/metadata: unknown field "label"']);
  });

  test('a wrong type', () => {
    const sts = validStatefulSet();
    sts.spec.replicas = '1';
    sts.spec.template.spec.containers[0].ports[0].containerPort = '5432';
    expect(schema.validate(sts)).toEqual([
      '/spec/replicas: must be integer',
      '/spec/template/spec/containers/0/ports/0/containerPort: must be integer',
    ]);
  });

  test('a missing required field', () => {
    const sts = validStatefulSet();
    delete sts.spec.serviceName;
    expect(schema.validate(sts)).toEqual(['/spec: missing required field "serviceName"']);
  });

  test('a kind that does not exist in that API version', () => {
    expect(schema.validate({ apiVersion: 'apps/v1beta1', kind: 'StatefulSet', metadata: { name: 'x' } })).toEqual([
      '/: no Kubernetes 1.27.0 schema for apiVersion "apps/v1beta1", kind "StatefulSet"',
    ]);
  });

  test('a misspelt Service field (clusterIp)', () => {
    expect(schema.validate({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { clusterIp: 'None' } }))
      .toEqual(['/spec: unknown field "clusterIp"']);
  });
});

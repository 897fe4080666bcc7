// connect(), allowFrom() and allowedClients with workloads that are not cdk8s-plus-27's: the
// objects of an app's own `cdk8s import` (imports/k8s.ts here), plain ApiObjects, and constructs
// that hold one as their default child. (cdk8s-plus-27 workloads: client.test.ts; cdk8s-plus-33,
// installed in an app made from cdk8s-cli's template: package.test.ts.)
import { ApiObject, Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import { PostgresCredentials, PostgresStatefulSet } from '../lib';
import { StrictSchema } from '../validation/strict-schema';
import { allOfKind, envVar, errorOf, oneOfKind, synth } from './util';

const LIBPQ = ['PGHOST', 'PGPORT', 'PGDATABASE', 'PGUSER', 'PGPASSWORD', 'DATABASE_URL'];
const labels = { app: 'orders-api' };
const podSpec = (containers: k8s.Container[] = [{ name: 'api', image: 'example/api:1.0' }]): k8s.PodSpec => ({ containers });

/** Each kind of the imported classes, with the pod labels (and selector) the NetworkPolicy must admit it by. */
const KINDS: { kind: string; make: (scope: Construct, id: string) => ApiObject; pod: (o: any) => any }[] = [
  {
    kind: 'Deployment',
    make: (s, id) => new k8s.KubeDeployment(s, id, { spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec: podSpec() } } }),
    pod: (o) => o.spec.template.spec,
  },
  {
    kind: 'StatefulSet',
    make: (s, id) => new k8s.KubeStatefulSet(s, id, {
      spec: { serviceName: 'api', selector: { matchLabels: labels }, template: { metadata: { labels }, spec: podSpec() } },
    }),
    pod: (o) => o.spec.template.spec,
  },
  {
    kind: 'Job',
    make: (s, id) => new k8s.KubeJob(s, id, { spec: { template: { metadata: { labels }, spec: { ...podSpec(), restartPolicy: 'Never' } } } }),
    pod: (o) => o.spec.template.spec,
  },
  {
    kind: 'CronJob',
    make: (s, id) => new k8s.KubeCronJob(s, id, {
      spec: { schedule: '0 3 * * *', jobTemplate: { spec: { template: { metadata: { labels }, spec: { ...podSpec(), restartPolicy: 'Never' } } } } },
    }),
    pod: (o) => o.spec.jobTemplate.spec.template.spec,
  },
  {
    kind: 'Pod',
    make: (s, id) => new k8s.KubePod(s, id, { metadata: { labels }, spec: podSpec() }),
    pod: (o) => o.spec,
  },
];

describe.each(KINDS)('an imported $kind', ({ kind, make, pod }) => {
  test('gets every libpq variable on its containers, and is admitted to the NetworkPolicy by its pod labels', () => {
    // GIVEN an instance with a NetworkPolicy, in a chart with a namespace
    const chart = new Chart(Testing.app(), 'test', { namespace: 'shop' });
    const db = new PostgresStatefulSet(chart, 'Orders', { serviceName: 'orders', databaseName: 'orders', allowedClients: [] });
    const workload = make(chart, 'Api');
    // WHEN
    db.connect(workload);
    // THEN
    const manifest = synth(chart);
    const [c] = pod(oneOfKind(manifest, kind, workload.name)).containers;
    expect(c.env).toEqual([
      { name: 'PGHOST', value: 'orders.shop.svc.cluster.local' },
      { name: 'PGPORT', value: '5432' },
      { name: 'PGDATABASE', value: 'orders' },
      { name: 'PGUSER', value: 'postgres' },
      { name: 'PGPASSWORD', valueFrom: { secretKeyRef: { name: db.secretName, key: 'POSTGRES_PASSWORD' } } },
      { name: 'DATABASE_URL', value: 'postgresql://postgres@orders.shop.svc.cluster.local:5432/orders' },
    ]);
    expect(oneOfKind(manifest, 'NetworkPolicy').spec.ingress).toEqual([{
      from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'shop' } }, podSelector: { matchLabels: labels } }],
      ports: [{ port: 5432, protocol: 'TCP' }],
    }]);
    // AND the objects still match the schema
    const schema = new StrictSchema();
    expect(manifest.flatMap((o) => schema.validate(o).map((p) => `${o.kind}/${o.metadata.name}${p}`))).toEqual([]);
  });
});

test('a Deployment is admitted by its selector, not by every label of its pods', () => {
  const chart = Testing.chart();
  const db = new PostgresStatefulSet(chart, 'Db', { allowedClients: [] });
  const api = new k8s.KubeDeployment(chart, 'Api', {
    spec: { selector: { matchLabels: labels }, template: { metadata: { labels: { ...labels, version: '1.0' } }, spec: podSpec() } },
  });
  db.connect(api);
  expect(oneOfKind(synth(chart), 'NetworkPolicy').spec.ingress[0].from).toEqual([{ podSelector: { matchLabels: labels } }]);
});

test('the variables are added where cdk8s writes them: an existing variable is replaced in place, the others kept, keys in order', () => {
  // GIVEN a container that sets PGHOST itself, among other variables
  const chart = Testing.chart();
  const db = new PostgresStatefulSet(chart, 'Db', { serviceName: 'orders' });
  const api = new k8s.KubeDeployment(chart, 'Api', {
    spec: {
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: podSpec([{ name: 'api', image: 'example/api:1.0', env: [{ name: 'LOG_LEVEL', value: 'debug' }, { name: 'PGHOST', value: 'old-db' }] }]),
      },
    },
  });
  // WHEN
  db.connect(api);
  // THEN
  const [c] = oneOfKind(synth(chart), 'Deployment').spec.template.spec.containers;
  expect(c.env.map((e: any) => e.name)).toEqual(['LOG_LEVEL', 'PGHOST', 'PGPORT', 'PGDATABASE', 'PGUSER', 'PGPASSWORD', 'DATABASE_URL']);
  expect(envVar(c, 'PGHOST').value).toBe('orders');
  expect(envVar(c, 'LOG_LEVEL').value).toBe('debug');
  // a container without env gets it where cdk8s would have written it
  const bare = new k8s.KubeDeployment(chart, 'Bare', { spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec: podSpec() } } });
  db.connect(bare);
  const written = oneOfKind(synth(chart), 'Deployment', bare.name).spec.template.spec.containers[0];
  expect(Object.keys(written)).toEqual(['env', 'image', 'name']);
  expect(Object.keys(envVar(written, 'PGPASSWORD').valueFrom.secretKeyRef)).toEqual(['key', 'name']);
});

test('containerName wires one container; the others and the init containers are left alone', () => {
  const chart = Testing.chart();
  const db = new PostgresStatefulSet(chart, 'Db');
  const api = new k8s.KubeDeployment(chart, 'Api', {
    spec: {
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          initContainers: [{ name: 'migrate', image: 'example/migrate:1.0' }],
          containers: [{ name: 'api', image: 'example/api:1.0' }, { name: 'proxy', image: 'example/proxy:1.0' }],
        },
      },
    },
  });
  db.connect(api, { containerName: 'proxy' });
  const spec = oneOfKind(synth(chart), 'Deployment').spec.template.spec;
  expect(spec.containers.find((c: any) => c.name === 'proxy').env.map((e: any) => e.name)).toEqual(LIBPQ);
  expect(spec.containers.find((c: any) => c.name === 'api').env).toBeUndefined();
  expect(spec.initContainers[0].env).toBeUndefined();
});

test('a construct whose default child is the workload is wired through it, and the containers are those it has at synth', () => {
  // GIVEN a construct of the app's own that holds a KubeDeployment as its default child
  class Service extends Construct {
    public readonly deployment: k8s.KubeDeployment;
    constructor(scope: Construct, id: string) {
      super(scope, id);
      this.deployment = new k8s.KubeDeployment(this, 'Resource', {
        spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec: podSpec() } },
      });
    }
  }
  const chart = Testing.chart();
  const db = new PostgresStatefulSet(chart, 'Db', { allowedClients: [] });
  const service = new Service(chart, 'Api');
  // a cdk8s-plus workload's container added after connect() gets the variables too
  const plus = new kplus.Deployment(chart, 'Plus', { containers: [{ name: 'first', image: 'example/first:1.0' }] });
  // WHEN
  db.connect(service);
  db.connect(plus);
  plus.addContainer({ name: 'second', image: 'example/second:1.0' });
  // THEN
  const manifest = synth(chart);
  expect(envVar(oneOfKind(manifest, 'Deployment', service.deployment.name).spec.template.spec.containers[0], 'PGUSER').value).toBe('postgres');
  const plusContainers = oneOfKind(manifest, 'Deployment', plus.name).spec.template.spec.containers;
  expect(plusContainers.map((c: any) => c.env.map((e: any) => e.name))).toEqual([LIBPQ, LIBPQ]);
  expect(oneOfKind(manifest, 'NetworkPolicy').spec.ingress.map((r: any) => r.from[0].podSelector.matchLabels))
    .toEqual([labels, plus.matchLabels]);
});

test('allowedClients and allowFrom() take imported workloads and cdk8s-plus selections alike', () => {
  const chart = Testing.chart();
  const job = new k8s.KubeJob(chart, 'Report', { spec: { template: { metadata: { labels: { app: 'report' } }, spec: { ...podSpec(), restartPolicy: 'Never' } } } });
  const db = new PostgresStatefulSet(chart, 'Db', { allowedClients: [job, kplus.Pods.select(chart, 'Monitoring', { labels: { app: 'monitoring' } })] });
  expect(db.allowFrom(kplus.Namespaces.select(chart, 'Ops', { names: ['ops'] }))).toBe(true);
  // connecting a workload admitted already adds no second rule
  db.connect(job);
  const ingress = oneOfKind(synth(chart), 'NetworkPolicy').spec.ingress;
  // in the order given: the workload by its pods, cdk8s-plus selections as cdk8s-plus renders them
  expect(ingress.map((r: any) => r.from)).toEqual([
    [{ podSelector: { matchLabels: { app: 'report' } } }],
    [{ podSelector: { matchLabels: { app: 'monitoring' } } }],
    [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ops' } }, podSelector: {} }],
  ]);
  expect(JSON.stringify(ingress)).not.toContain('postgres-statefulset.io/admitted-workload');
});

test('mistakes are reported at synth with every other problem, never thrown at the call', () => {
  // GIVEN workloads that cannot be wired
  const chart = Testing.chart();
  const db = new PostgresStatefulSet(chart, 'Db', { allowedClients: [] });
  const config = new k8s.KubeConfigMap(chart, 'Config', { data: { a: 'b' } });
  const nothing = new Construct(chart, 'Nothing');
  const api = new k8s.KubeDeployment(chart, 'Api', { spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec: podSpec() } } });
  const unlabelled = new k8s.KubePod(chart, 'Unlabelled', { spec: podSpec() });
  const plus = new kplus.Deployment(chart, 'Plus', { containers: [{ name: 'main', image: 'example/main:1.0' }] });
  // WHEN each mistake is made: none throws
  db.connect(config);
  db.connect(nothing);
  db.connect(api, { containerName: 'sidecar' });
  db.connect(plus, { container: plus.containers[0], containerName: 'other' });
  expect(db.allowFrom(unlabelled)).toBe(true);
  db.allowFrom(new Construct(chart, 'Stranger'));
  // THEN synth reports each, once, in the library's form
  const message = errorOf(() => synth(chart));
  const problems = message.split('\n').filter((l) => l.startsWith('  ['));
  expect(problems).toEqual(expect.arrayContaining([
    `  [test/Db] connect(test/Config): workload has no pod template: a ConfigMap has none at spec.template, spec.jobTemplate.spec.template or spec, got 'test/Config'. `
      + 'Fix: connect a Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob or Pod',
    '  [test/Db] connect(test/Nothing): workload has no Kubernetes object: it is neither an ApiObject nor a construct whose default child is one, '
      + 'got \'test/Nothing\'. Fix: pass the workload itself: a Deployment, StatefulSet, DaemonSet, Job, CronJob or Pod of cdk8s-plus, '
      + 'or an ApiObject such as KubeDeployment',
    '  [test/Db] connect(test/Api): options.containerName names no container of test/Api, whose containers are \'api\', got \'sidecar\'. '
      + 'Fix: use one of them, or leave containerName unset to connect every container',
    '  [test/Db] connect(test/Plus): options.containerName and options.container (\'main\') name different containers, got \'other\'. '
      + 'Fix: give containerName alone',
    '  [test/Db] allowFrom(test/Unlabelled): peer has no labels on its pods for the NetworkPolicy to admit them by, got \'test/Unlabelled\'. '
      + 'Fix: give its pod template labels (or a selector)',
    '  [test/Db] allowFrom(test/Stranger): peer is neither a workload (an ApiObject with a pod template, or a construct whose default child is one) '
      + 'nor a NetworkPolicy peer of cdk8s-plus, got \'test/Stranger\'. Fix: pass the workload, or pods or namespaces selected with cdk8s-plus '
      + '(Pods.select(), Namespaces.select())',
  ]));
  // the ConfigMap is reported by connect() only, not again by the allowFrom() it makes
  expect(problems.filter((p) => p.includes('test/Config'))).toHaveLength(1);
  expect(problems).toHaveLength(6);
});

test('a mistake fixed before the next synth is no longer reported', () => {
  const chart = Testing.chart();
  const db = new PostgresStatefulSet(chart, 'Db');
  const plus = new kplus.Deployment(chart, 'Plus', { containers: [{ name: 'main', image: 'example/main:1.0' }] });
  db.connect(plus, { containerName: 'sidecar' });
  expect(errorOf(() => synth(chart))).toContain('options.containerName names no container of test/Plus');
  plus.addContainer({ name: 'sidecar', image: 'example/sidecar:1.0' });
  const containers = oneOfKind(synth(chart), 'Deployment').spec.template.spec.containers;
  expect(containers.map((c: any) => [c.name, c.env?.length ?? 0])).toEqual([['main', 0], ['sidecar', LIBPQ.length]]);
});

test('connect() from another namespace: the pods read the password from a Secret of their own namespace', () => {
  const app = Testing.app();
  const data = new Chart(app, 'data', { namespace: 'data' });
  const shop = new Chart(app, 'shop', { namespace: 'shop' });
  const db = new PostgresStatefulSet(data, 'Orders', { serviceName: 'orders', allowedClients: [] });
  const api = new k8s.KubeDeployment(shop, 'Api', { spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec: podSpec() } } });
  db.connect(api, { credentials: PostgresCredentials.fromSecretName('orders-api', { username: 'orders_api' }) });
  const c = oneOfKind(synth(shop), 'Deployment').spec.template.spec.containers[0];
  expect(envVar(c, 'PGHOST').value).toBe('orders.data.svc.cluster.local');
  expect(envVar(c, 'PGPASSWORD').valueFrom.secretKeyRef).toEqual({ name: 'orders-api', key: 'POSTGRES_PASSWORD' });
  expect(allOfKind(synth(data), 'NetworkPolicy')[0].spec.ingress[0].from).toEqual([
    { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'shop' } }, podSelector: { matchLabels: labels } },
  ]);
  // the Secret is a prerequisite in the client's namespace
  expect(db.prerequisites.filter((p) => p.namespace === 'shop')).toEqual([expect.objectContaining({
    kind: 'Secret', name: 'orders-api', keys: [expect.objectContaining({ key: 'POSTGRES_PASSWORD', optional: false })],
  })]);
});

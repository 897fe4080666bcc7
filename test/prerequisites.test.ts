// What a user must create before the first kubectl apply: PostgresStatefulSet.prerequisites,
// PostgresSynth.prerequisitesOf(app) and the text PostgresSynth prints after a synth.
import { App, Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import * as k8s from '../imports/k8s';
import { CertManagerIssuer, PostgresCertificate, PostgresCredentials, PostgresStatefulSet, PostgresSynth } from '../lib';
import { oneOfKind, synth } from './util';

test('default credentials: the Secret the pods read, under its generated name, with both keys and the command that creates it', () => {
  // GIVEN an instance with default props in a chart with a namespace
  const chart = new Chart(Testing.app(), 'databases', { namespace: 'shop' });
  // WHEN
  const db = new PostgresStatefulSet(chart, 'Orders');
  // THEN the list names the Secret the StatefulSet reads
  const sts = oneOfKind(synth(chart), 'StatefulSet');
  const read = sts.spec.template.spec.containers[0].env.find((e: any) => e.name === 'POSTGRES_PASSWORD').valueFrom.secretKeyRef;
  expect(db.secretName).toMatch(/^databases-orders-secret-[0-9a-f]{8}$/);
  expect(read.name).toBe(db.secretName);
  expect(db.prerequisites).toEqual([{
    kind: 'Secret',
    namespace: 'shop',
    name: db.secretName,
    description: 'the passwords of databases/Orders',
    keys: [
      { key: 'POSTGRES_PASSWORD', description: 'password of the superuser \'postgres\'', optional: false },
      {
        key: 'POSTGRES_REPLICATION_PASSWORD',
        description: 'password of the replication role \'replicator\', needed once replicas is raised above 1',
        optional: true,
      },
    ],
    requiredBy: ['databases/Orders'],
    command: `kubectl -n shop create secret generic ${db.secretName} --from-literal=POSTGRES_PASSWORD=<superuser-password> `
      + '--from-literal=POSTGRES_REPLICATION_PASSWORD=<replication-password>',
  }]);
});

test('with replicas, the replication password is required; in a Secret of its own it is listed apart', () => {
  const chart = Testing.chart();
  const replicated = new PostgresStatefulSet(chart, 'Replicated', { replicas: 3, secretName: 'replicated-credentials' });
  expect(replicated.prerequisites.map((p) => p.keys.map((k) => [k.key, k.optional]))).toEqual([
    [['POSTGRES_PASSWORD', false], ['POSTGRES_REPLICATION_PASSWORD', false]],
  ]);
  const apart = new PostgresStatefulSet(chart, 'Apart', {
    secretName: 'apart-superuser',
    replicationCredentials: PostgresCredentials.fromSecretName('apart-replication', { passwordKey: 'password' }),
  });
  expect(apart.prerequisites.map((p) => [p.name, p.keys.map((k) => k.key), p.command])).toEqual([
    ['apart-superuser', ['POSTGRES_PASSWORD'], 'kubectl create secret generic apart-superuser --from-literal=POSTGRES_PASSWORD=<superuser-password>'],
    ['apart-replication', ['password'], 'kubectl create secret generic apart-replication --from-literal=password=<replication-password>'],
  ]);
});

test('rendered passwords need nothing, and no password ever appears in the list', () => {
  const chart = Testing.chart();
  const db = new PostgresStatefulSet(chart, 'Db', {
    replicas: 2,
    credentials: PostgresCredentials.fromPassword('s3cret-superuser'),
    replicationCredentials: PostgresCredentials.fromPassword('s3cret-replication'),
  });
  expect(db.prerequisites).toEqual([]);
  // one rendered, one expected: only the expected one, without the other's password
  const half = new PostgresStatefulSet(chart, 'Half', {
    credentials: PostgresCredentials.fromPassword('s3cret-half'),
    replicationCredentials: PostgresCredentials.fromSecretName('half-replication'),
  });
  expect(half.prerequisites.map((p) => p.name)).toEqual(['half-replication']);
  expect(JSON.stringify([db.prerequisites, half.prerequisites, PostgresSynth.prerequisitesOf(chart)])).not.toMatch(/s3cret/);
});

test('an init scripts ConfigMap made elsewhere and the storage class are listed; a ConfigMap of the app is not', () => {
  const chart = Testing.chart();
  const elsewhere = new PostgresStatefulSet(chart, 'Elsewhere', {
    secretName: 'elsewhere',
    initScripts: kplus.ConfigMap.fromConfigMapName(chart, 'Scripts', 'orders-init'),
    storageClassName: 'fast-ssd',
  });
  expect(elsewhere.prerequisites.map((p) => [p.kind, p.name, p.namespace, p.command])).toEqual([
    ['Secret', 'elsewhere', undefined, expect.stringMatching(/^kubectl create secret generic elsewhere /)],
    ['ConfigMap', 'orders-init', undefined, 'kubectl create configmap orders-init --from-file=<directory of the scripts>'],
    ['StorageClass', 'fast-ssd', undefined, 'kubectl get storageclass fast-ssd'],
  ]);
  const own = new PostgresStatefulSet(chart, 'Own', {
    secretName: 'own',
    initScripts: new kplus.ConfigMap(chart, 'OwnScripts', { data: { '10-schema.sql': 'CREATE TABLE t (id int);' } }),
  });
  expect(own.prerequisites.map((p) => p.kind)).toEqual(['Secret']);
});

describe('TLS', () => {
  test('the server certificate Secret (kubernetes.io/tls) with its CA, a CA Secret of its own, and a client\'s copy of the CA in its namespace are listed', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'shop', { namespace: 'shop' });
    const db = new PostgresStatefulSet(chart, 'Orders', { secretName: 'orders', tlsSecret: kplus.Secret.fromSecretName(chart, 'Tls', 'orders-tls') });
    expect(db.prerequisites.find((p) => p.name === 'orders-tls')).toEqual({
      kind: 'Secret',
      namespace: 'shop',
      name: 'orders-tls',
      description: 'the TLS certificate of shop/Orders',
      keys: [
        { key: 'tls.crt', description: 'the server certificate, for the names of its Services', optional: false },
        { key: 'tls.key', description: 'the private key of the server certificate', optional: false },
        { key: 'ca.crt', description: 'the CA certificate that signed the server\'s, which standbys and clients verify it with (sslmode=verify-full)', optional: false },
      ],
      requiredBy: ['shop/Orders'],
      command: 'kubectl -n shop create secret generic orders-tls --type=kubernetes.io/tls --from-file=tls.crt=<certificate file> '
        + '--from-file=tls.key=<key file> --from-file=ca.crt=<CA certificate file>',
    });
    const apart = new PostgresStatefulSet(chart, 'Apart', {
      secretName: 'apart', tlsSecret: kplus.Secret.fromSecretName(chart, 'ApartTls', 'apart-tls'),
      tlsCaSecret: kplus.Secret.fromSecretName(chart, 'Ca', 'internal-ca'), tlsCaKey: 'root.crt',
    });
    expect(apart.prerequisites.filter((p) => p.name !== 'apart').map((p) => [p.name, p.keys.map((k) => k.key), p.command])).toEqual([
      ['apart-tls', ['tls.crt', 'tls.key'], 'kubectl -n shop create secret generic apart-tls --type=kubernetes.io/tls --from-file=tls.crt=<certificate file> --from-file=tls.key=<key file>'],
      ['internal-ca', ['root.crt'], 'kubectl -n shop create secret generic internal-ca --from-file=root.crt=<CA certificate file>'],
    ]);
    // a client in another namespace brings a copy of the CA: listed in its namespace
    const web = new Chart(app, 'web', { namespace: 'web' });
    db.connect(new kplus.Deployment(web, 'Api', { containers: [{ image: 'example/api:1.0' }] }), {
      credentials: PostgresCredentials.fromSecretName('orders-app'), tlsCaSecret: kplus.Secret.fromSecretName(web, 'Ca', 'orders-ca'),
    });
    expect(PostgresSynth.prerequisitesOf(app).filter((p) => p.namespace === 'web').map((p) => [p.name, p.keys.map((k) => k.key)])).toEqual([
      ['orders-app', ['POSTGRES_PASSWORD']],
      ['orders-ca', ['ca.crt']],
    ]);
  });

  test('a Secret cert-manager writes for the app\'s PostgresCertificate is not listed', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'shop', { namespace: 'shop' });
    const db = new PostgresStatefulSet(chart, 'Orders', { secretName: 'orders', tlsSecret: kplus.Secret.fromSecretName(chart, 'Tls', 'orders-tls') });
    new PostgresCertificate(chart, 'Cert', { database: db, issuer: CertManagerIssuer.clusterIssuer('internal-ca') });
    expect(PostgresSynth.prerequisitesOf(app).map((p) => p.name)).toEqual(['orders']);
  });
});

describe('PostgresSynth.prerequisitesOf(app)', () => {
  test('merges what several constructs need of one object, and leaves out what the app renders', () => {
    // GIVEN two instances sharing a Secret, a connected workload, a database this app does not
    // manage, and an instance whose Secret the app renders itself
    const app = Testing.app();
    const chart = new Chart(app, 'shop', { namespace: 'shop' });
    const a = new PostgresStatefulSet(chart, 'A', { credentials: PostgresCredentials.fromSecretName('shared', { username: 'a' }) });
    new PostgresStatefulSet(chart, 'B', { credentials: PostgresCredentials.fromSecretName('shared', { username: 'b', passwordKey: 'B_PASSWORD' }), replicas: 2 });
    a.connect(new kplus.Deployment(chart, 'Api', { containers: [{ image: 'example/api:1.0' }] }));
    const legacy = PostgresStatefulSet.fromServiceName(chart, 'Legacy', 'legacy-db', {
      namespace: 'data', credentials: PostgresCredentials.fromSecretName('legacy-credentials', { passwordKey: 'password' }),
    });
    legacy.connect(new k8s.KubeCronJob(chart, 'Nightly', {
      spec: { schedule: '0 3 * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'n', image: 'example/n:1' }] } } } } },
    }));
    const rendered = new PostgresStatefulSet(chart, 'Rendered', { secretName: 'rendered' });
    new k8s.KubeSecret(chart, 'RenderedSecret', { metadata: { name: 'rendered' }, stringData: {} });
    expect(rendered.prerequisites.map((p) => p.name)).toEqual(['rendered']); // the instance cannot know

    // WHEN
    const list = PostgresSynth.prerequisitesOf(app);

    // THEN one entry per object, the keys of both instances, the client's need merged in
    expect(list.map((p) => [p.kind, p.namespace, p.name, p.keys.map((k) => `${k.key}${k.optional ? '?' : ''}`), p.requiredBy])).toEqual([
      ['Secret', 'shop', 'shared', ['POSTGRES_PASSWORD', 'POSTGRES_REPLICATION_PASSWORD', 'B_PASSWORD'], ['shop/A', 'shop/Api', 'shop/B']],
      ['Secret', 'shop', 'legacy-credentials', ['password'], ['shop/Nightly']],
    ]);
    // B needs the replication key (two replicas) where A would not: required
    expect(list[0].keys.find((k) => k.key === 'POSTGRES_REPLICATION_PASSWORD')?.optional).toBe(false);
    expect(list[1].command).toBe('kubectl -n shop create secret generic legacy-credentials --from-literal=password=<password>');
  });

  test('the text: each object, its keys, the command', () => {
    const app = new App({ outdir: Testing.app().outdir });
    const chart = new Chart(app, 'databases');
    new PostgresStatefulSet(chart, 'Orders', { secretName: 'orders-credentials', storageClassName: 'fast-ssd' });
    expect(PostgresSynth.describePrerequisites(PostgresSynth.prerequisitesOf(app))).toBe([
      'Create before the first kubectl apply (replace each <...>):',
      '  Secret orders-credentials in the namespace you apply to, for databases/Orders:',
      '    POSTGRES_PASSWORD: password of the superuser \'postgres\'',
      '    POSTGRES_REPLICATION_PASSWORD (optional): password of the replication role \'replicator\', needed once replicas is raised above 1',
      '    kubectl create secret generic orders-credentials --from-literal=POSTGRES_PASSWORD=<superuser-password> '
        + '--from-literal=POSTGRES_REPLICATION_PASSWORD=<replication-password>',
      '  StorageClass fast-ssd, which the cluster provides, for databases/Orders:',
      '    kubectl get storageclass fast-ssd',
    ].join('\n'));
    expect(PostgresSynth.describePrerequisites([])).toBe('');
  });
});

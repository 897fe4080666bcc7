// Wiring clients to a database: connect() on a cdk8s-plus workload, the NetworkPolicy it
// admits, and databases this app does not manage (fromServiceName).
import { Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { PostgresCredentials, PostgresSmokeTest, PostgresStatefulSet } from '../lib';
import { StrictSchema } from '../validation/strict-schema';
import { allOfKind, envVar, errorOf, oneOfKind, synth } from './util';

function apiDeployment(chart: Chart, id = 'Api') {
  return new kplus.Deployment(chart, id, { containers: [{ name: 'api', image: 'example/api:1.0', portNumber: 8080 }] });
}

function deploymentContainer(manifest: any[], name: string, container = 'api') {
  return oneOfKind(manifest, 'Deployment', name).spec.template.spec.containers.find((c: any) => c.name === container);
}

test('a Deployment wired to an instance gets every libpq variable, the password by secretKeyRef only', () => {
  // GIVEN
  const chart = new Chart(Testing.app(), 'test', { namespace: 'shop' });
  const db = new PostgresStatefulSet(chart, 'Orders', { serviceName: 'orders', databaseName: 'orders', port: 6543 });
  const api = apiDeployment(chart);
  // WHEN
  db.connect(api);
  // THEN
  const c = deploymentContainer(synth(chart), api.name);
  expect(c.env).toEqual([
    { name: 'PGHOST', value: 'orders.shop.svc.cluster.local' },
    { name: 'PGPORT', value: '6543' },
    { name: 'PGDATABASE', value: 'orders' },
    { name: 'PGUSER', value: 'postgres' },
    { name: 'PGPASSWORD', valueFrom: { secretKeyRef: { name: db.secretName, key: 'POSTGRES_PASSWORD' } } },
    { name: 'DATABASE_URL', value: 'postgresql://postgres@orders.shop.svc.cluster.local:6543/orders' },
  ]);
});

test('with replication, writers get the read-write Service and readers the read-only one, read-only by default', () => {
  const chart = Testing.chart();
  const db = new PostgresStatefulSet(chart, 'Orders', { serviceName: 'orders', replicas: 3 });
  const writer = apiDeployment(chart, 'Writer');
  const reader = apiDeployment(chart, 'Reader');
  db.connect(writer);
  db.connect(reader, { readOnly: true });
  const manifest = synth(chart);
  const w = deploymentContainer(manifest, writer.name);
  const r = deploymentContainer(manifest, reader.name);
  expect(envVar(w, 'PGHOST').value).toBe('orders-rw');
  expect(envVar(w, 'PGOPTIONS')).toBeUndefined();
  expect(envVar(r, 'PGHOST').value).toBe('orders-ro');
  expect(envVar(r, 'PGOPTIONS').value).toBe('-c default_transaction_read_only=on');
  expect(db.readOnlyHost).toBe('orders-ro');
});

test('with a NetworkPolicy, the same call admits the workload; without one, no policy appears', () => {
  const chart = Testing.chart();
  const guarded = new PostgresStatefulSet(chart, 'Guarded', { allowedClients: [] });
  const open = new PostgresStatefulSet(chart, 'Open');
  const api = apiDeployment(chart);
  guarded.connect(api);
  open.connect(api);
  const policies = allOfKind(synth(chart), 'NetworkPolicy');
  expect(policies).toHaveLength(1);
  expect(policies[0].spec.podSelector.matchLabels).toEqual(guarded.selectorLabels);
  expect(policies[0].spec.ingress).toEqual([{ from: [{ podSelector: { matchLabels: api.matchLabels } }], ports: [{ port: 5432, protocol: 'TCP' }] }]);
});

test('one container of several, another role, another database', () => {
  const chart = Testing.chart();
  const db = new PostgresStatefulSet(chart, 'Db', { databaseName: 'orders' });
  const api = new kplus.Deployment(chart, 'Api', {
    containers: [{ name: 'api', image: 'example/api:1.0' }, { name: 'proxy', image: 'example/proxy:1.0' }],
  });
  db.connect(api, {
    container: api.containers[0],
    credentials: PostgresCredentials.fromSecretName('orders-app', { username: 'orders_app', passwordKey: 'password' }),
    databaseName: 'reporting',
  });
  const manifest = synth(chart);
  const c = deploymentContainer(manifest, api.name);
  expect(envVar(c, 'PGUSER').value).toBe('orders_app');
  expect(envVar(c, 'PGDATABASE').value).toBe('reporting');
  expect(envVar(c, 'PGPASSWORD').valueFrom.secretKeyRef).toEqual({ name: 'orders-app', key: 'password' });
  expect(deploymentContainer(manifest, api.name, 'proxy').env).toBeUndefined();
});

test('connect() reports credentials that would render a password, and workloads without containers, at synth with the other problems', () => {
  // GIVEN an instance with a problem of its own
  const chart = Testing.chart();
  const db = new PostgresStatefulSet(chart, 'Db', { replicas: 0 });
  const api = apiDeployment(chart);
  // WHEN two connect() calls are wrong too: neither throws at the call
  db.connect(api, { credentials: PostgresCredentials.fromPassword('x', { username: 'app' }) });
  db.connect(new kplus.Deployment(chart, 'Empty'));
  // THEN synth reports all three, and never the password
  const message = errorOf(() => synth(chart));
  expect(message).toContain('[test/Db] PostgresStatefulSet: replicas must be a positive integer, got 0');
  expect(message).toContain('[test/Db] connect(test/Api): options.credentials must reference a Secret: the password belongs to the Secret '
    + 'the database role was created with, got PostgresCredentials.fromPassword(<password>, { username: \'app\' }). '
    + 'Fix: use PostgresCredentials.fromSecretName() or fromSecret()');
  expect(message).toContain('[test/Db] connect(test/Empty): workload has no container, got \'test/Empty\'. '
    + 'Fix: add its containers, or connect another workload');
  expect(message).not.toContain("'x'");
});

test('DATABASE_URL percent-encodes the user and the database', () => {
  const chart = Testing.chart();
  const db = new PostgresStatefulSet(chart, 'Db', { serviceName: 'sales' });
  const api = apiDeployment(chart);
  db.connect(api, { credentials: PostgresCredentials.fromSecretName('report', { username: 'report@eu' }), databaseName: 'sales/eu?x=1' });
  const c = deploymentContainer(synth(chart), api.name);
  expect(envVar(c, 'DATABASE_URL').value).toBe('postgresql://report%40eu@sales:5432/sales%2Feu%3Fx%3D1');
  expect(new URL(envVar(c, 'DATABASE_URL').value).pathname).toBe('/sales%2Feu%3Fx%3D1');
  expect(decodeURIComponent(new URL(envVar(c, 'DATABASE_URL').value).username)).toBe('report@eu');
  expect(envVar(c, 'PGDATABASE').value).toBe('sales/eu?x=1'); // libpq variables are taken as they are
  expect(envVar(c, 'PGUSER').value).toBe('report@eu');
});

describe('a database this app does not manage', () => {
  test('fromServiceName wires clients with the given Service, namespace and Secret', () => {
    const chart = Testing.chart();
    const legacy = PostgresStatefulSet.fromServiceName(chart, 'Legacy', 'legacy-db', {
      namespace: 'data', port: 5433, databaseName: 'crm',
      credentials: PostgresCredentials.fromSecretName('legacy-db-credentials', { username: 'crm', passwordKey: 'password' }),
      readOnlyServiceName: 'legacy-db-replicas',
    });
    const api = apiDeployment(chart);
    legacy.connect(api);
    const manifest = synth(chart);
    expect(manifest.map((o) => o.kind)).toEqual(['Deployment']);
    const c = deploymentContainer(manifest, api.name);
    expect(c.env).toEqual([
      { name: 'PGHOST', value: 'legacy-db.data.svc.cluster.local' },
      { name: 'PGPORT', value: '5433' },
      { name: 'PGDATABASE', value: 'crm' },
      { name: 'PGUSER', value: 'crm' },
      { name: 'PGPASSWORD', valueFrom: { secretKeyRef: { name: 'legacy-db-credentials', key: 'password' } } },
      { name: 'DATABASE_URL', value: 'postgresql://crm@legacy-db.data.svc.cluster.local:5433/crm' },
    ]);
    expect(legacy.readOnlyHost).toBe('legacy-db-replicas.data.svc.cluster.local');
    expect(legacy.allowFrom(api)).toBe(false);
  });

  test('its credentials must reference a Secret (reported at synth)', () => {
    const chart = Testing.chart();
    PostgresStatefulSet.fromServiceName(chart, 'Legacy', 'legacy-db', { credentials: PostgresCredentials.expectSecret() });
    expect(errorOf(() => synth(chart))).toContain('[test/Legacy] PostgresStatefulSet.fromServiceName: options.credentials must name an existing Secret '
      + '(this app renders no Secret for a database it does not manage, and has no secretName for it), got PostgresCredentials.expectSecret(). '
      + 'Fix: use PostgresCredentials.fromSecretName() or fromSecret()');
  });

  test('an invalid Service name, namespace, read-only Service, cluster domain or port is reported at synth, all at once', () => {
    const chart = Testing.chart();
    PostgresStatefulSet.fromServiceName(chart, 'Legacy', 'Legacy_DB', {
      port: 0, namespace: 'Not A Namespace!', readOnlyServiceName: 'ro_svc', clusterDomain: 'Cluster_Local',
      credentials: PostgresCredentials.fromSecretName('s'),
    });
    const message = errorOf(() => synth(chart));
    expect(message).toContain('[test/Legacy] PostgresStatefulSet.fromServiceName: serviceName must be a DNS-1035 label');
    expect(message).toContain('[test/Legacy] PostgresStatefulSet.fromServiceName: options.namespace must be a DNS-1123 label: lowercase letters, '
      + 'digits and \'-\', starting and ending with a letter or digit, got \'Not A Namespace!\'');
    expect(message).toContain('[test/Legacy] PostgresStatefulSet.fromServiceName: options.readOnlyServiceName must be a DNS-1035 label');
    expect(message).toContain('[test/Legacy] PostgresStatefulSet.fromServiceName: options.clusterDomain must be a DNS-1123 subdomain');
    expect(message).toContain('[test/Legacy] PostgresStatefulSet.fromServiceName: options.port must be an integer from 1 to 65535, got 0');
  });

  test('a smoke test can target it', () => {
    const chart = Testing.chart();
    const legacy = PostgresStatefulSet.fromServiceName(chart, 'Legacy', 'legacy-db', { credentials: PostgresCredentials.fromSecretName('legacy') });
    new PostgresSmokeTest(chart, 'Smoke', { database: legacy });
    const job = oneOfKind(synth(chart), 'Job');
    expect(job.spec.template.spec.containers[0].image).toBe('postgres:18.4');
    expect(envVar(job.spec.template.spec.containers[0], 'PGHOST').value).toBe('legacy-db');
  });
});

test('wired workloads and smoke tests match the Kubernetes 1.27 schema', () => {
  const chart = new Chart(Testing.app(), 'test', { namespace: 'shop' });
  const db = new PostgresStatefulSet(chart, 'Db', { replicas: 2, allowedClients: [] });
  db.connect(apiDeployment(chart), { readOnly: true });
  new PostgresSmokeTest(chart, 'Smoke', { database: db });
  const schema = new StrictSchema();
  expect(synth(chart).flatMap((o) => schema.validate(o).map((p) => `${o.kind}/${o.metadata.name}${p}`))).toEqual([]);
});

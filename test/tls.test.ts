// TLS in the manifests: what the pods mount and run, what clients receive, the cert-manager
// Certificate, and the synth errors for TLS settings that cannot work. The scripts and commands
// run against a real PostgreSQL in tls.suite.ts.
import { ApiObject, Chart, Duration, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import {
  CertManagerIssuer, PostgresCertificate, PostgresCredentials, PostgresSmokeTest, PostgresStatefulSet, PostgresStatefulSetProps,
} from '../lib';
import { StrictSchema } from '../validation/strict-schema';
import { allOfKind, container, envVar, errorOf, oneOfKind, podSpec, synth } from './util';

const schema = new StrictSchema('1.27.0');

function problemsOf(manifest: any[]): string[] {
  return manifest.flatMap((o) => schema.validate(o).map((p) => `${o.kind}/${o.metadata?.name}${p}`));
}

/** An instance in namespace `shop` that serves TLS from the Secret `orders-tls`. */
function orders(props: PostgresStatefulSetProps = {}, chart = new Chart(Testing.app(), 'test', { namespace: 'shop' })) {
  const db = new PostgresStatefulSet(chart, 'Orders', {
    statefulSetName: 'orders', serviceName: 'orders',
    tlsSecret: kplus.Secret.fromSecretName(chart, 'OrdersTls', 'orders-tls'),
    ...props,
  });
  return { chart, db };
}

const volume = (manifest: any[], name: string) => podSpec(manifest).volumes.find((v: any) => v.name === name);
const mount = (c: any, name: string) => (c.volumeMounts ?? []).find((m: any) => m.name === name);

describe('the pods of an instance that serves TLS', () => {
  test('mount the certificate and key (mode 0440), the CA alone, and a memory emptyDir the server reads copies from; run the start step; reload from readiness', () => {
    // GIVEN
    const { chart, db } = orders();
    // WHEN
    const manifest = synth(chart);
    const c = container(manifest);
    // THEN the server's Secret: the two keys only, readable by root and the fsGroup, never by others
    expect(volume(manifest, 'tls')).toEqual({
      name: 'tls',
      secret: { secretName: 'orders-tls', items: [{ key: 'tls.crt', path: 'tls.crt' }, { key: 'tls.key', path: 'tls.key' }], defaultMode: 0o440 },
    });
    expect(volume(manifest, 'tls-ca')).toEqual({
      name: 'tls-ca', secret: { secretName: 'orders-tls', items: [{ key: 'ca.crt', path: 'ca.crt' }], defaultMode: 0o444 },
    });
    expect(volume(manifest, 'tls-server')).toEqual({ name: 'tls-server', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } });
    expect(mount(c, 'tls')).toEqual({ name: 'tls', mountPath: '/run/secrets/postgresql-tls', readOnly: true });
    expect(mount(c, 'tls-server')).toEqual({ name: 'tls-server', mountPath: '/run/postgresql-tls' });
    // the server reads the copies the start step makes
    expect(c.args).toEqual(['postgres', '-c', 'ssl=on', '-c', 'ssl_cert_file=/run/postgresql-tls/server.crt', '-c', 'ssl_key_file=/run/postgresql-tls/server.key']);
    // after the data guard, before replication's step
    expect(envVar(c, 'POSTGRES_STATEFULSET_START_STEPS').value)
      .toBe('/etc/postgres-statefulset/data-guard.sh:/etc/postgres-statefulset/tls-start.sh:/etc/postgres-statefulset/replication.sh');
    expect(envVar(c, 'POSTGRES_TLS_REQUIRED').value).toBe('true');
    expect(c.command[0]).toBe('sh');
    // readiness installs a renewed certificate, then runs the pod's own readiness; the other probes are as without TLS
    expect(c.readinessProbe.exec.command).toEqual(['sh', '/etc/postgres-statefulset/tls-readiness.sh', 'sh', '/etc/postgres-statefulset/readiness.sh']);
    expect(c.startupProbe.exec.command).toEqual(['sh', '/etc/postgres-statefulset/probe.sh', 'startup']);
    // the scripts in the instance's ConfigMap, and the initdb script for a first start
    expect(Object.keys(oneOfKind(manifest, 'ConfigMap', 'orders-scripts').data)).toEqual(expect.arrayContaining(['initdb-tls.sh', 'tls-readiness.sh', 'tls-start.sh']));
    expect(volume(manifest, 'initdb').projected.sources).toEqual([
      { configMap: { name: 'orders-scripts', items: [{ key: 'initdb-tls.sh', path: '00-postgres-statefulset-tls.sh', mode: 0o555 }] } },
      { configMap: { name: 'orders-scripts', items: [{ key: 'initdb-replication.sh', path: '00-postgres-statefulset-replication.sh', mode: 0o555 }] } },
    ]);
    // attributes
    expect([db.tlsSecretName, db.tlsCaSecretName, db.tlsCaKey, db.tlsRequired]).toEqual(['orders-tls', 'orders-tls', 'ca.crt', true]);
    expect(problemsOf(manifest)).toEqual([]);
  });

  test('with replication, standbys clone (and so stream) with sslmode=verify-full against the CA, and only their connections to the primary', () => {
    const { chart } = orders({
      replicas: 3,
      tlsCaSecret: kplus.Secret.fromSecretName(Testing.chart(), 'Ca', 'internal-ca'),
      tlsCaKey: 'root.pem',
    });
    const manifest = synth(chart);
    const c = container(manifest);
    expect(envVar(c, 'POSTGRES_REPLICATION_SSLMODE').value).toBe('verify-full');
    expect(envVar(c, 'POSTGRES_REPLICATION_SSLROOTCERT').value).toBe('/run/secrets/postgresql-tls-ca/ca.crt');
    expect(envVar(c, 'PRIMARY_HOST').value).toBe('orders-0.orders');
    expect(mount(c, 'tls-ca')).toEqual({ name: 'tls-ca', mountPath: '/run/secrets/postgresql-tls-ca', readOnly: true });
    expect(podSpec(manifest).initContainers).toBeUndefined();
    expect(volume(manifest, 'tls-ca').secret).toEqual({ secretName: 'internal-ca', items: [{ key: 'root.pem', path: 'ca.crt' }], defaultMode: 0o444 });
    // the PostgreSQL container itself has no PGSSLMODE: its probes and local tools connect over loopback
    expect(envVar(c, 'PGSSLMODE')).toBeUndefined();
    // readiness: the reload check, then replication's own readiness
    expect(c.readinessProbe.exec.command).toEqual(['sh', '/etc/postgres-statefulset/tls-readiness.sh', 'sh', '/etc/postgres-statefulset/readiness.sh']);
    expect(volume(manifest, 'initdb').projected.sources.map((s: any) => s.configMap.items[0].path))
      .toEqual(['00-postgres-statefulset-tls.sh', '00-postgres-statefulset-replication.sh']);
    expect(problemsOf(manifest)).toEqual([]);
  });

  test('tlsRequired: false accepts connections without TLS too; the caller\'s other parameters still apply', () => {
    const { chart, db } = orders({ tlsRequired: false, parameters: { ssl_min_protocol_version: 'TLSv1.3' } });
    const c = container(synth(chart));
    expect(envVar(c, 'POSTGRES_TLS_REQUIRED').value).toBe('false');
    expect(c.args).toContain('ssl_min_protocol_version=TLSv1.3');
    expect(db.tlsRequired).toBe(false);
  });

  test('without tlsSecret, nothing of TLS is rendered', () => {
    const chart = Testing.chart();
    const db = new PostgresStatefulSet(chart, 'Db', { replicas: 2 });
    const manifest = synth(chart);
    expect(JSON.stringify(oneOfKind(manifest, 'StatefulSet'))).not.toMatch(/tls|ssl/i);
    expect(allOfKind(manifest, 'ConfigMap').map((c) => c.metadata.name)).toEqual([`${db.statefulSetName}-scripts`]);
    expect(Object.keys(oneOfKind(manifest, 'ConfigMap').data).filter((k) => /tls/.test(k))).toEqual([]);
    expect([db.tlsSecretName, db.tlsCaSecretName, db.tlsCaKey, db.tlsRequired]).toEqual([undefined, undefined, undefined, false]);
  });
});

describe('synth errors', () => {
  test('TLS settings without a Secret, and ssl=on without one', () => {
    const chart = Testing.chart();
    new PostgresStatefulSet(chart, 'Db', {
      tlsRequired: true, tlsCaKey: 'ca.pem', tlsCaSecret: kplus.Secret.fromSecretName(chart, 'Ca', 'ca'), parameters: { SSL: 'on' },
    });
    const message = errorOf(() => synth(chart));
    const fix = 'Fix: set tlsSecret to the kubernetes.io/tls Secret of the server certificate (e.g. the one a PostgresCertificate has cert-manager write)';
    expect(message).toContain(`[test/Db] PostgresStatefulSet: tlsRequired only applies with TLS, but tlsSecret is not set, got true. ${fix}, or remove tlsRequired`);
    expect(message).toContain(`[test/Db] PostgresStatefulSet: tlsCaSecret only applies with TLS, but tlsSecret is not set, got 'Secret ca'. ${fix}, or remove tlsCaSecret`);
    expect(message).toContain(`[test/Db] PostgresStatefulSet: tlsCaKey only applies with TLS, but tlsSecret is not set, got 'ca.pem'. ${fix}, or remove tlsCaKey`);
    expect(message).toContain('[test/Db] PostgresStatefulSet: parameters[\'ssl\'] turns TLS on without a certificate and key (the image has none, so PostgreSQL would not start), got \'on\'. '
      + `${fix} instead`);
  });

  test('parameters TLS manages, a bad key, and Secrets of this app that lack a key the pods read or live in another namespace', () => {
    const chart = new Chart(Testing.app(), 'test', { namespace: 'shop' });
    const tlsSecret = new kplus.TlsSecret(chart, 'Tls', { tlsCert: 'cert', tlsKey: 'key', metadata: { name: 'orders-tls' } });
    const other = new kplus.Secret(chart, 'Ca', { metadata: { name: 'ca', namespace: 'pki' }, stringData: { 'ca.crt': 'x' } });
    new PostgresStatefulSet(chart, 'A', { tlsSecret, parameters: { ssl: 'off', ssl_key_file: '/k' } });
    new PostgresStatefulSet(chart, 'B', { tlsSecret, tlsCaSecret: other, tlsCaKey: 'bad key' });
    new PostgresStatefulSet(chart, 'C', { tlsSecret: new kplus.Secret(chart, 'Plain', { metadata: { name: 'plain' }, stringData: { 'tls.crt': 'c' } }) });
    const message = errorOf(() => synth(chart));
    expect(message).toContain('[test/A] PostgresStatefulSet: parameters[\'ssl\'] is managed with tlsSecret (the server reads a copy of the Secret\'s files), got \'off\'. '
      + 'Fix: remove it from parameters, or remove tlsSecret to turn TLS off');
    expect(message).toContain('[test/A] PostgresStatefulSet: parameters[\'ssl_key_file\'] is managed with tlsSecret');
    expect(message).toContain('[test/A] PostgresStatefulSet: tlsSecret has no key \'ca.crt\': the CA certificate that standbys and clients verify the server with cannot be found, '
      + 'got \'orders-tls\'. Fix: add the CA certificate to the Secret under \'ca.crt\', or give the Secret that holds it as tlsCaSecret (and its key as tlsCaKey)');
    expect(message).toContain('[test/B] PostgresStatefulSet: tlsCaKey must be a Secret key: letters, digits, \'-\', \'_\' and \'.\', got \'bad key\'.');
    expect(message).toContain('[test/B] PostgresStatefulSet: tlsCaSecret has no key \'bad key\'');
    expect(message).toContain('[test/B] PostgresStatefulSet: tlsCaSecret is in namespace \'pki\', but the database in \'shop\': a pod mounts Secrets of its own namespace only, '
      + 'got \'ca\'. Fix: define the Secret in namespace \'shop\'');
    expect(message).toContain('[test/C] PostgresStatefulSet: tlsSecret has no key \'tls.key\': the pods read the server certificate and key under \'tls.crt\' and \'tls.key\', got \'plain\'. '
      + 'Fix: use a Secret of type kubernetes.io/tls (kplus.TlsSecret, or the one cert-manager writes)');
  });

  test('a Secret referenced by name is the cluster\'s to check: no error', () => {
    const { chart } = orders({ tlsCaSecret: kplus.Secret.fromSecretName(Testing.chart(), 'Ca', 'ca'), tlsCaKey: 'root.pem' });
    expect(() => synth(chart)).not.toThrow();
  });
});

describe('connect()', () => {
  test('gives verify-full with the CA mounted (its key alone), in the environment and DATABASE_URL', () => {
    const { chart, db } = orders({ replicas: 2 });
    const api = new kplus.Deployment(chart, 'Api', { containers: [{ name: 'api', image: 'example/api:1.0' }] });
    db.connect(api);
    const manifest = synth(chart);
    const spec = oneOfKind(manifest, 'Deployment').spec.template.spec;
    const c = spec.containers[0];
    const rootCert = '/run/secrets/postgresql-ca/orders-tls/ca.crt';
    expect(envVar(c, 'PGSSLMODE').value).toBe('verify-full');
    expect(envVar(c, 'PGSSLROOTCERT').value).toBe(rootCert);
    expect(envVar(c, 'DATABASE_URL').value).toBe(`postgresql://postgres@orders-rw.shop.svc.cluster.local:5432/postgres?sslmode=verify-full&sslrootcert=${rootCert}`);
    expect(c.volumeMounts).toEqual([{ name: spec.volumes[0].name, mountPath: '/run/secrets/postgresql-ca/orders-tls', readOnly: true }]);
    // the CA only: the Secret also holds the server's private key
    expect(spec.volumes).toEqual([{ name: spec.volumes[0].name, secret: { secretName: 'orders-tls', items: [{ key: 'ca.crt', path: 'ca.crt' }], defaultMode: 0o444 } }]);
    expect(problemsOf(manifest)).toEqual([]);
  });

  test('two databases with one CA Secret share one volume; a database without TLS adds nothing; an imported one with tlsCaSecret gets verify-full', () => {
    const chart = new Chart(Testing.app(), 'test', { namespace: 'shop' });
    const ca = kplus.Secret.fromSecretName(chart, 'Ca', 'internal-ca');
    const a = new PostgresStatefulSet(chart, 'A', { tlsSecret: kplus.Secret.fromSecretName(chart, 'ATls', 'a-tls'), tlsCaSecret: ca });
    const b = new PostgresStatefulSet(chart, 'B', { tlsSecret: kplus.Secret.fromSecretName(chart, 'BTls', 'b-tls'), tlsCaSecret: ca });
    const plain = new PostgresStatefulSet(chart, 'Plain');
    const legacy = PostgresStatefulSet.fromServiceName(chart, 'Legacy', 'legacy', {
      credentials: PostgresCredentials.fromSecretName('legacy'), tlsCaSecret: kplus.Secret.fromSecretName(chart, 'LegacyCa', 'legacy-ca'), tlsCaKey: 'root.crt',
    });
    const api = new kplus.Deployment(chart, 'Api', { containers: [{ image: 'example/api:1.0' }] });
    const reports = new kplus.Deployment(chart, 'Reports', { containers: [{ image: 'example/reports:1.0' }] });
    a.connect(api);
    b.connect(api, { readOnly: true });
    plain.connect(reports);
    legacy.connect(reports);
    const manifest = synth(chart);
    const apiSpec = oneOfKind(manifest, 'Deployment', api.name).spec.template.spec;
    expect(apiSpec.volumes).toHaveLength(1);
    expect(apiSpec.containers[0].volumeMounts).toHaveLength(1);
    const reportsSpec = oneOfKind(manifest, 'Deployment', reports.name).spec.template.spec;
    expect(envVar(reportsSpec.containers[0], 'PGSSLROOTCERT').value).toBe('/run/secrets/postgresql-ca/legacy-ca/root.crt');
    expect(reportsSpec.volumes.map((v: any) => v.secret)).toEqual([{ secretName: 'legacy-ca', items: [{ key: 'root.crt', path: 'root.crt' }], defaultMode: 0o444 }]);
    expect(legacy.tlsCaSecretName).toBe('legacy-ca');
  });

  test('a workload of another namespace cannot mount the CA Secret: a synth error, unless it brings a copy (options.tlsCaSecret)', () => {
    const app = Testing.app();
    const { db } = orders({}, new Chart(app, 'db', { namespace: 'shop' }));
    const web = new Chart(app, 'web', { namespace: 'web' });
    const api = new kplus.Deployment(web, 'Api', { containers: [{ image: 'example/api:1.0' }] });
    db.connect(api, { credentials: PostgresCredentials.fromSecretName('orders-app') });
    expect(errorOf(() => app.synth())).toContain('[db/Orders] connect(web/Api): workload runs in another namespace than the database\'s CA Secret \'orders-tls\' (\'shop\'): '
      + 'a pod mounts Secrets of its own namespace only, and without the CA the workload cannot verify the server (sslmode=verify-full), got \'web\'. '
      + 'Fix: copy the CA certificate into a Secret in namespace \'web\' and pass it as options.tlsCaSecret, or run the workload in namespace \'shop\'');

    const app2 = Testing.app();
    const { db: db2 } = orders({}, new Chart(app2, 'db', { namespace: 'shop' }));
    const web2 = new Chart(app2, 'web', { namespace: 'web' });
    const api2 = new kplus.Deployment(web2, 'Api', { containers: [{ image: 'example/api:1.0' }] });
    db2.connect(api2, { credentials: PostgresCredentials.fromSecretName('orders-app'), tlsCaSecret: kplus.Secret.fromSecretName(web2, 'Ca', 'shop-ca') });
    const c = oneOfKind(Testing.synth(web2), 'Deployment').spec.template.spec.containers[0];
    expect(envVar(c, 'PGSSLROOTCERT').value).toBe('/run/secrets/postgresql-ca/shop-ca/ca.crt');
  });

  test('options.tlsCaSecret for a database without TLS, and a container of another workload, are errors', () => {
    const chart = Testing.chart();
    const plain = new PostgresStatefulSet(chart, 'Plain');
    const { db } = orders({}, chart);
    const api = new kplus.Deployment(chart, 'Api', { containers: [{ image: 'example/api:1.0' }] });
    const other = new kplus.Deployment(chart, 'Other', { containers: [{ name: 'other', image: 'example/other:1.0' }] });
    plain.connect(api, { tlsCaSecret: kplus.Secret.fromSecretName(chart, 'Ca', 'ca') });
    db.connect(api, { container: other.containers[0] });
    const message = errorOf(() => synth(chart));
    expect(message).toContain('[test/Plain] connect(test/Api): options.tlsCaSecret only applies to a database that serves TLS, got \'ca\'.');
    expect(message).toContain('[test/Orders] connect(test/Api): options.containerName names no container of test/Api, whose containers are \'main\', got \'other\'.');
  });
});

describe('the smoke test', () => {
  test('verifies the server with the CA, and waits with pg_isready\'s own sslmode so that a refused certificate is reported, not waited on', () => {
    const { chart, db } = orders();
    new PostgresSmokeTest(chart, 'Smoke', { database: db });
    const manifest = synth(chart);
    const spec = oneOfKind(manifest, 'Job').spec.template.spec;
    const c = spec.containers[0];
    expect(envVar(c, 'PGSSLMODE').value).toBe('verify-full');
    expect(c.command[2]).toContain('until PGSSLMODE=prefer pg_isready -q -h "$PGHOST" -p "$PGPORT"; do');
    expect(spec.volumes[0].secret).toEqual({ secretName: 'orders-tls', items: [{ key: 'ca.crt', path: 'ca.crt' }], defaultMode: 0o444 });
    expect(problemsOf(manifest)).toEqual([]);
  });

  test('without TLS, its command is as before', () => {
    const chart = Testing.chart();
    new PostgresSmokeTest(chart, 'Smoke', { database: new PostgresStatefulSet(chart, 'Db') });
    const spec = oneOfKind(synth(chart), 'Job').spec.template.spec;
    expect(spec.containers[0].command[2]).toContain('until pg_isready -q -h "$PGHOST" -p "$PGPORT"; do');
    expect(spec.volumes).toBeUndefined();
  });
});

describe('PostgresCertificate', () => {
  test('names every Service and pod, short and fully qualified, and writes into the database\'s Secret', () => {
    const { chart, db } = orders({ replicas: 2, clusterDomain: 'corp.local' });
    const cert = new PostgresCertificate(chart, 'Certificate', { database: db, issuer: CertManagerIssuer.clusterIssuer('internal-ca') });
    const manifest = synth(chart);
    const object = oneOfKind(manifest, 'Certificate');
    const forms = (name: string) => [name, `${name}.shop`, `${name}.shop.svc`, `${name}.shop.svc.corp.local`];
    expect(object).toEqual({
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: { name: 'orders-tls', namespace: 'shop', labels: db.selectorLabels },
      spec: {
        secretName: 'orders-tls',
        secretTemplate: { labels: db.selectorLabels },
        issuerRef: { name: 'internal-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' },
        dnsNames: [...forms('orders'), ...forms('orders-rw'), ...forms('orders-ro'), ...forms('orders-0.orders'), ...forms('orders-1.orders')],
        privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
        usages: ['server auth', 'digital signature'],
      },
    });
    expect(cert.dnsNames).toEqual(object.spec.dnsNames);
    expect(cert.secretName).toBe('orders-tls');
    expect(ApiObject.of(cert).kind).toBe('Certificate');
    // the Certificate matches cert-manager's CRD, and everything else the Kubernetes schema
    expect(problemsOf(manifest)).toEqual([]);
  });

  test('without a namespace, the short names; an Issuer or an external issuer; lifetimes in Go\'s units; extra names', () => {
    const chart = Testing.chart();
    const db = new PostgresStatefulSet(chart, 'Db', { statefulSetName: 'pg', serviceName: 'pg', tlsSecret: kplus.Secret.fromSecretName(chart, 'Tls', 'pg-tls') });
    new PostgresCertificate(chart, 'A', { database: db, issuer: CertManagerIssuer.issuer('ca'), duration: Duration.days(90), renewBefore: Duration.minutes(90) });
    new PostgresCertificate(chart, 'B', {
      database: db, issuer: CertManagerIssuer.of('pca', 'AWSPCAClusterIssuer', 'awspca.cert-manager.io'), extraDnsNames: ['db.example.com', 'pg'],
      renewBefore: Duration.seconds(301),
    });
    const [a, b] = allOfKind(synth(chart), 'Certificate');
    expect(PostgresCertificate.dnsNamesOf(db)).toEqual(['pg', 'pg-0.pg']);
    expect(a.spec).toMatchObject({ dnsNames: ['pg', 'pg-0.pg'], issuerRef: { name: 'ca', kind: 'Issuer', group: 'cert-manager.io' }, duration: '2160h', renewBefore: '90m' });
    expect(b.spec).toMatchObject({ dnsNames: ['pg', 'pg-0.pg', 'db.example.com'], issuerRef: { kind: 'AWSPCAClusterIssuer', group: 'awspca.cert-manager.io' }, renewBefore: '301s' });
    expect(a.metadata.namespace).toBeUndefined();
  });

  test('errors: a database without TLS, an issuer without a name, lifetimes cert-manager refuses, a bad extra name', () => {
    const chart = Testing.chart();
    const db = new PostgresStatefulSet(chart, 'Db');
    new PostgresCertificate(chart, 'Certificate', {
      database: db, issuer: CertManagerIssuer.issuer(''), duration: Duration.minutes(30), renewBefore: Duration.hours(1), extraDnsNames: ['Not A Name'],
    });
    new PostgresCertificate(chart, 'Short', { database: db, issuer: CertManagerIssuer.of('x', 'issuer', 'example.com'), renewBefore: Duration.minutes(1) });
    const message = errorOf(() => synth(chart));
    expect(message).toContain('[test/Certificate] PostgresCertificate: database does not serve TLS (no tlsSecret), so it would not read the certificate, got \'test/Db\'. '
      + 'Fix: give the database tlsSecret, e.g. kplus.Secret.fromSecretName(this, \'OrdersTls\', \'orders-tls\'): cert-manager writes the certificate into it');
    expect(message).toContain('[test/Certificate] PostgresCertificate: issuer name must be a DNS-1123 subdomain');
    expect(message).toContain('[test/Certificate] PostgresCertificate: duration must be at least an hour (cert-manager\'s minimum), got 30 minutes.');
    expect(message).toContain('[test/Certificate] PostgresCertificate: renewBefore must be shorter than duration (30 minutes), got 60 minutes.');
    expect(message).toContain('[test/Certificate] PostgresCertificate: extraDnsNames must be a DNS-1123 subdomain');
    expect(message).toContain('[test/Short] PostgresCertificate: issuer kind must be a kind such as ClusterIssuer, got \'issuer\'.');
    expect(message).toContain('[test/Short] PostgresCertificate: renewBefore must be at least 5 minutes (cert-manager\'s minimum), got 1 minute.');
  });
});


import { ApiObject, Chart, Duration, JsonPatch, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { PostgresCredentials, PostgresStatefulSet } from '../lib';
import { allOfKind, container, envVar, errorOf, oneOfKind, podSpec, synth } from './util';

describe('defaults', () => {
  test('a snapshot of the defaults', () => {
    const chart = Testing.chart();
    new PostgresStatefulSet(chart, 'Db');
    expect(synth(chart)).toMatchSnapshot();
  });

  test('one pod, a headless Service, no rendered Secret, the password by secretKeyRef only', () => {
    // GIVEN
    const chart = Testing.chart();
    // WHEN
    const db = new PostgresStatefulSet(chart, 'Db');
    const manifest = synth(chart);
    // THEN
    expect(manifest.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'Service', 'StatefulSet']); // the ConfigMap of the pods' scripts
    const sts = oneOfKind(manifest, 'StatefulSet');
    expect(sts.spec.replicas).toBe(1);
    expect(sts.spec.serviceName).toBe(db.serviceName);
    const svc = oneOfKind(manifest, 'Service');
    expect(svc.spec.clusterIP).toBe('None');
    expect(svc.spec.ports).toEqual([{ name: 'postgresql', port: 5432 }]);
    const c = container(manifest);
    expect(c.name).toBe('postgres');
    expect(c.image).toBe('postgres:18.4');
    expect(c.imagePullPolicy).toBe('IfNotPresent');
    expect(c.ports).toEqual([{ name: 'postgresql', containerPort: 5432 }]);
    expect(envVar(c, 'POSTGRES_PASSWORD')).toEqual({
      name: 'POSTGRES_PASSWORD',
      valueFrom: { secretKeyRef: { name: db.secretName, key: 'POSTGRES_PASSWORD' } },
    });
    expect(envVar(c, 'POSTGRES_USER').value).toBe('postgres');
    expect(envVar(c, 'PGPORT').value).toBe('5432');
    expect(JSON.stringify(manifest)).not.toMatch(/"name":"POSTGRES_PASSWORD","value"/);
    expect(podSpec(manifest).terminationGracePeriodSeconds).toBe(60);
  });

  test('PostgreSQL 18 layout: the volume at /var/lib/postgresql, PGDATA in /var/lib/postgresql/18/docker', () => {
    const chart = Testing.chart();
    const db = new PostgresStatefulSet(chart, 'Db');
    const manifest = synth(chart);
    expect(container(manifest).volumeMounts).toContainEqual({ name: 'data', mountPath: '/var/lib/postgresql' });
    expect(envVar(container(manifest), 'PGDATA').value).toBe('/var/lib/postgresql/18/docker');
    expect(db.dataMountPath).toBe('/var/lib/postgresql');
    expect(db.pgData).toBe('/var/lib/postgresql/18/docker');
  });

  test('images before 18 mount /var/lib/postgresql/data and put PGDATA in its pgdata subdirectory', () => {
    const chart = Testing.chart();
    const db = new PostgresStatefulSet(chart, 'Db', { image: 'postgres:17.6' });
    const manifest = synth(chart);
    expect(container(manifest).volumeMounts).toContainEqual({ name: 'data', mountPath: '/var/lib/postgresql/data' });
    expect(envVar(container(manifest), 'PGDATA').value).toBe('/var/lib/postgresql/data/pgdata');
    expect(db.pgData).toBe('/var/lib/postgresql/data/pgdata');
  });

  test('one 10Gi ReadWriteOnce claim per pod, on the cluster default storage class', () => {
    const chart = Testing.chart();
    new PostgresStatefulSet(chart, 'Db');
    const [claim] = oneOfKind(synth(chart), 'StatefulSet').spec.volumeClaimTemplates;
    expect(claim.metadata.name).toBe('data');
    expect(claim.spec.accessModes).toEqual(['ReadWriteOnce']);
    expect(claim.spec.resources.requests.storage).toBe('10Gi');
    expect(claim.spec).not.toHaveProperty('storageClassName');
  });

  test('selector labels are derived from the construct path and used by the StatefulSet, its pods and the Service', () => {
    const chart = Testing.chart();
    const db = new PostgresStatefulSet(chart, 'Db');
    const manifest = synth(chart);
    expect(db.selectorLabels).toEqual({ 'app.kubernetes.io/name': 'postgresql', 'app.kubernetes.io/instance': 'test-Db-c8a070be' });
    const sts = oneOfKind(manifest, 'StatefulSet');
    expect(sts.spec.selector.matchLabels).toEqual(db.selectorLabels);
    expect(sts.spec.template.metadata.labels).toEqual(db.selectorLabels);
    expect(oneOfKind(manifest, 'Service').spec.selector).toEqual(db.selectorLabels);
  });

  test('the StatefulSet is the default child, so escape hatches reach it', () => {
    const chart = Testing.chart();
    const db = new PostgresStatefulSet(chart, 'Db');
    expect(ApiObject.of(db).kind).toBe('StatefulSet');
    ApiObject.of(db).addJsonPatch(JsonPatch.add('/spec/minReadySeconds', 5));
    expect(oneOfKind(synth(chart), 'StatefulSet').spec.minReadySeconds).toBe(5);
  });

  test('the Service and a rendered Secret come before the StatefulSet that needs them', () => {
    const chart = Testing.chart();
    new PostgresStatefulSet(chart, 'Db', { credentials: PostgresCredentials.fromPassword('s3cret') });
    const kinds = synth(chart).map((o) => o.kind);
    expect(kinds.indexOf('StatefulSet')).toBeGreaterThan(kinds.indexOf('Service'));
    expect(kinds.indexOf('StatefulSet')).toBeGreaterThan(kinds.indexOf('Secret'));
  });
});

describe('props', () => {
  test('replicas', () => {
    const chart = Testing.chart();
    const db = new PostgresStatefulSet(chart, 'Db', { replicas: 3 });
    expect(oneOfKind(synth(chart), 'StatefulSet').spec.replicas).toBe(3);
    expect(db.replicas).toBe(3);
  });

  test('storage is written out as given, without unit conversion', () => {
    const chart = Testing.chart();
    const db = new PostgresStatefulSet(chart, 'Db', { storage: Size.mebibytes(512) });
    expect(oneOfKind(synth(chart), 'StatefulSet').spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('512Mi');
    expect(db.storage.asString()).toBe('512Mi');
  });

  test('storageClassName and accessModes', () => {
    const chart = Testing.chart();
    new PostgresStatefulSet(chart, 'Db', {
      storageClassName: 'fast-ssd',
      accessModes: [kplus.PersistentVolumeAccessMode.READ_WRITE_ONCE_POD],
    });
    const claim = oneOfKind(synth(chart), 'StatefulSet').spec.volumeClaimTemplates[0];
    expect(claim.spec.storageClassName).toBe('fast-ssd');
    expect(claim.spec.accessModes).toEqual(['ReadWriteOncePod']);
  });

  test('dataMountPath and pgData', () => {
    const chart = Testing.chart();
    new PostgresStatefulSet(chart, 'Db', { image: 'postgres:16.10', dataMountPath: '/data', pgData: '/data/db/main' });
    const c = container(synth(chart));
    expect(c.volumeMounts).toContainEqual({ name: 'data', mountPath: '/data' });
    expect(envVar(c, 'PGDATA').value).toBe('/data/db/main');
  });

  test('pgData defaults to a pgdata subdirectory of a custom dataMountPath, for any image', () => {
    const chart = Testing.chart();
    const db = new PostgresStatefulSet(chart, 'Db', { dataMountPath: '/pg/' });
    expect(db.pgData).toBe('/pg/pgdata');
  });

  test('image, imagePullPolicy, containerName', () => {
    const chart = Testing.chart();
    const db = new PostgresStatefulSet(chart, 'Db', {
      image: 'registry.example.com:5000/db/postgres:17.6-bookworm@sha256:' + 'a'.repeat(64),
      imagePullPolicy: kplus.ImagePullPolicy.ALWAYS,
      containerName: 'db',
    });
    const c = container(synth(chart), 'db');
    expect(c.image).toBe(db.image);
    expect(c.imagePullPolicy).toBe('Always');
  });

  test('port and portName reach the container, the Service and PGPORT', () => {
    const chart = Testing.chart();
    const db = new PostgresStatefulSet(chart, 'Db', { port: 6543, portName: 'pg' });
    const manifest = synth(chart);
    expect(container(manifest).ports).toEqual([{ name: 'pg', containerPort: 6543 }]);
    expect(envVar(container(manifest), 'PGPORT').value).toBe('6543');
    expect(oneOfKind(manifest, 'Service').spec.ports).toEqual([{ name: 'pg', port: 6543 }]);
    expect(db.port).toBe(6543);
  });

  test('terminationGracePeriod', () => {
    const chart = Testing.chart();
    new PostgresStatefulSet(chart, 'Db', { terminationGracePeriod: Duration.minutes(2) });
    expect(podSpec(synth(chart)).terminationGracePeriodSeconds).toBe(120);
  });

  test('names of the StatefulSet, Service and Secret', () => {
    const chart = Testing.chart();
    const db = new PostgresStatefulSet(chart, 'Db', {
      statefulSetName: 'pg', serviceName: 'pg-svc', secretName: 'pg-secret',
      credentials: PostgresCredentials.fromPassword('s3cret'),
    });
    const manifest = synth(chart);
    expect(oneOfKind(manifest, 'StatefulSet').metadata.name).toBe('pg');
    expect(oneOfKind(manifest, 'Service').metadata.name).toBe('pg-svc');
    expect(oneOfKind(manifest, 'Secret').metadata.name).toBe('pg-secret');
    expect(oneOfKind(manifest, 'StatefulSet').spec.serviceName).toBe('pg-svc');
    expect([db.statefulSetName, db.serviceName, db.secretName]).toEqual(['pg', 'pg-svc', 'pg-secret']);
  });

  test('generated names fit their limits: the StatefulSet name stays within 52 characters', () => {
    const chart = new Chart(Testing.app(), 'a-chart-with-a-rather-long-name-for-its-databases');
    const db = new PostgresStatefulSet(chart, 'AnInstanceWhoseConstructIdIsAlsoQuiteLong');
    const manifest = synth(chart);
    expect(db.statefulSetName.length).toBeLessThanOrEqual(52);
    expect(oneOfKind(manifest, 'StatefulSet').metadata.name).toBe(db.statefulSetName);
    expect(db.serviceName.length).toBeLessThanOrEqual(63);
  });

  test('labels go on every object and the pods; selectorLabels replace the derived selector', () => {
    const chart = Testing.chart();
    const db = new PostgresStatefulSet(chart, 'Db', {
      labels: { team: 'payments' },
      selectorLabels: { app: 'payments-db' },
      credentials: PostgresCredentials.fromPassword('s3cret'),
    });
    const manifest = synth(chart);
    for (const o of manifest) {
      expect(o.metadata.labels).toEqual({ team: 'payments', app: 'payments-db' });
    }
    const sts = oneOfKind(manifest, 'StatefulSet');
    expect(sts.spec.selector.matchLabels).toEqual({ app: 'payments-db' });
    expect(sts.spec.template.metadata.labels).toEqual({ team: 'payments', app: 'payments-db' });
    expect(oneOfKind(manifest, 'Service').spec.selector).toEqual({ app: 'payments-db' });
    expect(sts.spec.volumeClaimTemplates[0].metadata.labels).toEqual({ app: 'payments-db' });
    expect(db.selectorLabels).toEqual({ app: 'payments-db' });
  });

  test('metadata reaches the StatefulSet; its namespace applies to every object', () => {
    const chart = Testing.chart();
    const db = new PostgresStatefulSet(chart, 'Db', {
      metadata: { name: 'orders', namespace: 'shop', annotations: { owner: 'team-a' }, labels: { tier: 'db' } },
      credentials: PostgresCredentials.fromPassword('s3cret'),
    });
    const manifest = synth(chart);
    const sts = oneOfKind(manifest, 'StatefulSet');
    expect(sts.metadata.name).toBe('orders');
    expect(sts.metadata.annotations).toEqual({
      'owner': 'team-a',
      // for the change check: which container runs PostgreSQL, and which major
      'postgres-statefulset.io/container': 'postgres',
      'postgres-statefulset.io/postgres-major': '18',
    });
    expect(sts.metadata.labels).toMatchObject({ tier: 'db' });
    for (const o of manifest) {
      expect(o.metadata.namespace).toBe('shop');
    }
    expect(db.statefulSetName).toBe('orders');
    expect(db.namespace).toBe('shop');
  });

  test('the chart\'s namespace and labels apply', () => {
    const chart = new Chart(Testing.app(), 'test', { namespace: 'data', labels: { env: 'prod' } });
    new PostgresStatefulSet(chart, 'Db', { credentials: PostgresCredentials.fromPassword('s3cret') });
    for (const o of synth(chart)) {
      expect(o.metadata.namespace).toBe('data');
      expect(o.metadata.labels).toMatchObject({ env: 'prod' });
    }
  });
});

describe('credentials', () => {
  test('expectSecret (the default) renders nothing and references secretName', () => {
    const chart = Testing.chart();
    const db = new PostgresStatefulSet(chart, 'Db', { secretName: 'db-credentials', credentials: PostgresCredentials.expectSecret({ username: 'admin' }) });
    const manifest = synth(chart);
    expect(allOfKind(manifest, 'Secret')).toEqual([]);
    expect(envVar(container(manifest), 'POSTGRES_PASSWORD').valueFrom.secretKeyRef).toEqual({ name: 'db-credentials', key: 'POSTGRES_PASSWORD' });
    expect(envVar(container(manifest), 'POSTGRES_USER').value).toBe('admin');
    expect(db.secret).toBeUndefined();
    expect([db.secretName, db.passwordKey, db.username]).toEqual(['db-credentials', 'POSTGRES_PASSWORD', 'admin']);
  });

  test('fromPassword renders the Secret under the password key; the pod still reads it by reference', () => {
    const chart = Testing.chart();
    const db = new PostgresStatefulSet(chart, 'Db', { credentials: PostgresCredentials.fromPassword('tes6Aev8', { passwordKey: 'password' }) });
    const manifest = synth(chart);
    const secret = oneOfKind(manifest, 'Secret');
    expect(secret.stringData).toEqual({ password: 'tes6Aev8' });
    expect(secret.type).toBe('Opaque');
    expect(secret.metadata.name).toBe(db.secretName);
    expect(envVar(container(manifest), 'POSTGRES_PASSWORD').valueFrom.secretKeyRef).toEqual({ name: db.secretName, key: 'password' });
    expect(JSON.stringify(oneOfKind(manifest, 'StatefulSet'))).not.toContain('tes6Aev8');
  });

  test('expectSecret and fromPassword use the same generated Secret name', () => {
    const a = new PostgresStatefulSet(Testing.chart(), 'Db');
    const b = new PostgresStatefulSet(Testing.chart(), 'Db', { credentials: PostgresCredentials.fromPassword('x') });
    expect(a.secretName).toBe('test-db-secret-c8a070be');
    expect(b.secretName).toBe(a.secretName);
  });

  test('fromSecretName and fromSecret reference a Secret managed elsewhere', () => {
    const chart = Testing.chart();
    new PostgresStatefulSet(chart, 'A', { credentials: PostgresCredentials.fromSecretName('vault-synced', { passwordKey: 'pw', username: 'owner' }) });
    const imported = kplus.Secret.fromSecretName(chart, 'Imported', 'sealed');
    new PostgresStatefulSet(chart, 'B', { credentials: PostgresCredentials.fromSecret(imported) });
    const manifest = synth(chart);
    expect(allOfKind(manifest, 'Secret')).toEqual([]);
    const refs = allOfKind(manifest, 'StatefulSet').map((s) => envVar(s.spec.template.spec.containers[0], 'POSTGRES_PASSWORD').valueFrom.secretKeyRef);
    expect(refs).toEqual([{ name: 'vault-synced', key: 'pw' }, { name: 'sealed', key: 'POSTGRES_PASSWORD' }]);
  });
});

describe('attributes', () => {
  test('DNS names follow <service>.<namespace>.svc.<cluster-domain>', () => {
    const chart = new Chart(Testing.app(), 'test', { namespace: 'k8s-training-test' });
    const db = new PostgresStatefulSet(chart, 'Db', { statefulSetName: 'postgresql-sfs', serviceName: 'postgresql-svc', replicas: 2 });
    expect(db.serviceDnsName).toBe('postgresql-svc.k8s-training-test.svc.cluster.local');
    expect(db.podDnsNames).toEqual([
      'postgresql-sfs-0.postgresql-svc.k8s-training-test.svc.cluster.local',
      'postgresql-sfs-1.postgresql-svc.k8s-training-test.svc.cluster.local',
    ]);
  });

  test('the cluster domain is configurable', () => {
    const chart = new Chart(Testing.app(), 'test', { namespace: 'db' });
    const db = new PostgresStatefulSet(chart, 'Db', { serviceName: 'pg', clusterDomain: 'corp.internal' });
    expect(db.serviceDnsName).toBe('pg.db.svc.corp.internal');
  });

  test('without a namespace the names are relative to the namespace the objects are applied to', () => {
    const db = new PostgresStatefulSet(Testing.chart(), 'Db', { statefulSetName: 'pg', serviceName: 'pg-svc' });
    expect(db.namespace).toBeUndefined();
    expect(db.serviceDnsName).toBe('pg-svc');
    expect(db.podDnsNames).toEqual(['pg-0.pg-svc']);
  });

  test('port, replicas, image and names are exposed as resolved', () => {
    const db = new PostgresStatefulSet(Testing.chart(), 'Db');
    expect(db.port).toBe(5432);
    expect(db.replicas).toBe(1);
    expect(db.image).toBe('postgres:18.4');
    expect(db.statefulSetName).toBe('test-db-c8a070be');
    expect(db.serviceName).toBe('test-db-svc-c8a070be');
    expect(db.terminationGracePeriod.toSeconds()).toBe(60);
    expect(db.clusterDomain).toBe('cluster.local');
    expect(db.statefulSet.kind).toBe('StatefulSet');
    expect(db.service.kind).toBe('Service');
  });
});

test('two instances in one chart share no names and select only their own pods', () => {
  // GIVEN
  const chart = Testing.chart();
  // WHEN
  const a = new PostgresStatefulSet(chart, 'Orders', { credentials: PostgresCredentials.fromPassword('a') });
  const b = new PostgresStatefulSet(chart, 'Billing', { credentials: PostgresCredentials.fromPassword('b') });
  const manifest = synth(chart);
  // THEN
  const names = manifest.map((o) => `${o.kind}/${o.metadata.name}`);
  expect(new Set(names).size).toBe(names.length);
  expect(manifest).toHaveLength(8);
  const [stsA, stsB] = [a.statefulSetName, b.statefulSetName].map((n) => oneOfKind(manifest, 'StatefulSet', n));
  const matches = (selector: any, labels: any) => Object.entries(selector).every(([k, v]) => labels[k] === v);
  expect(matches(stsA.spec.selector.matchLabels, stsB.spec.template.metadata.labels)).toBe(false);
  expect(matches(stsB.spec.selector.matchLabels, stsA.spec.template.metadata.labels)).toBe(false);
  const svcA = oneOfKind(manifest, 'Service', a.serviceName);
  expect(matches(svcA.spec.selector, stsB.spec.template.metadata.labels)).toBe(false);
  expect(matches(svcA.spec.selector, stsA.spec.template.metadata.labels)).toBe(true);
  expect(a.secretName).not.toBe(b.secretName);
});

describe('errors name the construct, the prop, the value and the fix', () => {
  function failure(props: ConstructorParameters<typeof PostgresStatefulSet>[2]): string {
    const chart = Testing.chart();
    new PostgresStatefulSet(chart, 'Db', props);
    return errorOf(() => synth(chart));
  }

  test.each([
    [0, 'replicas must be a positive integer, got 0. Fix: set replicas to 1 or more'],
    [-1, 'replicas must be a positive integer, got -1. Fix: set replicas to 1 or more'],
    [1.5, 'replicas must be a positive integer, got 1.5. Fix: set replicas to 1 or more'],
  ])('replicas %p', (replicas, message) => {
    expect(failure({ replicas })).toContain(`[test/Db] PostgresStatefulSet: ${message}`);
  });

  test('storage of zero', () => {
    expect(failure({ storage: Size.gibibytes(0) })).toContain(
      '[test/Db] PostgresStatefulSet: storage must be larger than zero, got 0Gi. Fix: request at least Size.mebibytes(1)');
  });

  test('negative storage is refused by cdk8s Size itself, before the construct sees it', () => {
    expect(() => Size.gibibytes(-1)).toThrow('Storage amounts cannot be negative. Received: -1');
  });

  test('a relative pgData', () => {
    expect(failure({ pgData: 'pgdata' })).toContain(
      'PostgresStatefulSet: pgData must be an absolute path without \'.\' or \'..\' segments, got \'pgdata\'. Fix: use a subdirectory of the data mount, e.g. \'/var/lib/postgresql/pgdata\'');
  });

  test('pgData equal to the data mount path (the exercise\'s lost+found failure)', () => {
    expect(failure({ image: 'postgres:12.2', pgData: '/var/lib/postgresql/data/' })).toContain(
      'PostgresStatefulSet: pgData must not be the data mount path itself (the volume root holds lost+found, and initdb refuses a directory that is not empty), got \'/var/lib/postgresql/data/\'. Fix: use a subdirectory, e.g. \'/var/lib/postgresql/data/pgdata\'');
  });

  test('pgData outside the data mount', () => {
    expect(failure({ image: 'postgres:12.2', pgData: '/var/lib/postgresql/pgdata' })).toContain(
      'PostgresStatefulSet: pgData must be a subdirectory of dataMountPath \'/var/lib/postgresql/data\', or the data is not on the persistent volume, got \'/var/lib/postgresql/pgdata\'. Fix: use a subdirectory, e.g. \'/var/lib/postgresql/data/pgdata\', or set dataMountPath');
  });

  test('a pgData that only shares a prefix with the mount is outside it', () => {
    expect(failure({ dataMountPath: '/data', pgData: '/data2/pg' })).toContain('pgData must be a subdirectory of dataMountPath \'/data\'');
  });

  test('a relative dataMountPath', () => {
    expect(failure({ dataMountPath: 'data', pgData: '/data/pg' })).toContain(
      'PostgresStatefulSet: dataMountPath must be an absolute path without \'.\' or \'..\' segments, got \'data\'');
  });

  test.each([
    ['statefulSetName', 'Postgres_SFS', 'statefulSetName must be a DNS-1123 label'],
    ['serviceName', '1-svc', 'serviceName must be a DNS-1035 label'],
    ['secretName', 'My Secret', 'secretName must be a DNS-1123 subdomain'],
    ['storageClassName', 'Fast_SSD', 'storageClassName must be a DNS-1123 subdomain'],
  ])('%s that is not a valid Kubernetes name', (prop, value, message) => {
    expect(failure({ [prop]: value })).toContain(`PostgresStatefulSet: ${message}`);
    expect(failure({ [prop]: value })).toContain(`got '${value}'`);
  });

  test('a StatefulSet name too long for its pods\' controller-revision-hash label', () => {
    const name = 'a'.repeat(53);
    expect(failure({ statefulSetName: name })).toContain(
      `PostgresStatefulSet: statefulSetName must be at most 52 characters long (it is 53), got '${name}'. Fix: use lowercase letters, digits and '-', at most 52 characters`);
  });

  test('a 52-character StatefulSet name is accepted', () => {
    const chart = Testing.chart();
    new PostgresStatefulSet(chart, 'Db', { statefulSetName: 'a'.repeat(52) });
    expect(() => synth(chart)).not.toThrow();
  });

  test.each([
    ['postgres', 'has no tag, which means \'latest\' and changes under a running database'],
    ['postgres:latest', 'uses the \'latest\' tag, which changes under a running database'],
    ['docker.io/library/postgres', 'has no tag'],
    ['postgres@sha256:abc', 'has a digest that is not \'sha256:\' followed by 64 lowercase hex digits'],
  ])('image %p', (image, reason) => {
    expect(failure({ image })).toContain(`PostgresStatefulSet: image ${reason}`);
    expect(failure({ image })).toContain('Fix: pin the image to a release, e.g. \'postgres:18.4\'');
  });

  test.each([0, 65536, 5432.5])('port %p', (port) => {
    expect(failure({ port })).toContain(`PostgresStatefulSet: port must be an integer from 1 to 65535, got ${port}. Fix: use a port from 1 to 65535, usually 5432`);
  });

  test('two credential sources at once: secretName and a referenced Secret', () => {
    expect(failure({ secretName: 'mine', credentials: PostgresCredentials.fromSecretName('theirs') })).toContain(
      'PostgresStatefulSet: secretName conflicts with credentials, which reference Secret \'theirs\': the password would come from two places, got \'mine\'. Fix: remove secretName');
  });

  test('metadata.name and statefulSetName that differ', () => {
    expect(failure({ statefulSetName: 'a', metadata: { name: 'b' } })).toContain(
      'PostgresStatefulSet: metadata.name differs from statefulSetName \'a\', got \'b\'. Fix: set only one of them');
  });

  test('an empty password', () => {
    expect(failure({ credentials: PostgresCredentials.fromPassword('') })).toContain('PostgresStatefulSet: credentials has an empty password');
  });

  test('a negative grace period is refused by cdk8s Duration itself', () => {
    expect(() => Duration.seconds(-1)).toThrow('Duration amounts cannot be negative. Received: -1');
  });

  test('a grace period of zero or of fractional seconds', () => {
    expect(failure({ terminationGracePeriod: Duration.seconds(0) })).toContain(
      'PostgresStatefulSet: terminationGracePeriod must be at least 1 second, got 0 seconds. Fix: give PostgreSQL time to stop cleanly');
    expect(failure({ terminationGracePeriod: Duration.millis(1500) })).toContain('terminationGracePeriod must be a whole number of seconds');
  });

  test('invalid labels, selector labels, port name, container name, username, password key, cluster domain', () => {
    const message = failure({
      labels: { 'bad key!': 'x' },
      selectorLabels: {},
      portName: 'postgresql-port-name',
      containerName: 'DB',
      credentials: PostgresCredentials.expectSecret({ username: '1admin', passwordKey: 'pass word' }),
      clusterDomain: 'Cluster_Local',
      accessModes: [],
    });
    expect(message).toContain('labels has an invalid label key \'bad key!\'');
    expect(message).toContain('selectorLabels must not be empty');
    expect(message).toContain('portName must be an IANA service name');
    expect(message).toContain('containerName must be a DNS-1123 label');
    expect(message).toContain('credentials username must be a PostgreSQL name');
    expect(message).toContain('credentials passwordKey must be a Secret key');
    expect(message).toContain('clusterDomain must be a DNS-1123 subdomain');
    expect(message).toContain('accessModes must not be empty');
  });

  test('all problems of one construct are reported at once', () => {
    const message = failure({ replicas: 0, image: 'postgres', port: 0, pgData: 'x' });
    expect(message.split('\n').filter((line) => line.includes('[test/Db] PostgresStatefulSet:'))).toHaveLength(4);
  });
});

describe('bad input that would otherwise synthesize', () => {
  function failure(props: ConstructorParameters<typeof PostgresStatefulSet>[2]): string {
    const chart = Testing.chart();
    new PostgresStatefulSet(chart, 'Db', props);
    return errorOf(() => synth(chart));
  }

  test.each(['Postgres:16', 'docker.io/Library/postgres:16', 'registry.example.com/Team/postgres:16'])('an image with upper case in its repository: %p', (image) => {
    expect(failure({ image })).toContain(`[test/Db] PostgresStatefulSet: image has upper-case letters in its repository name, which image references do not allow `
      + `(only a registry host may have them), got '${image}'. Fix: pin the image to a release, e.g. 'postgres:18.4'`);
  });

  test('a registry host may have upper case', () => {
    const chart = Testing.chart();
    new PostgresStatefulSet(chart, 'Db', { image: 'Registry.Example.com:5000/postgres:16.4' });
    expect(() => synth(chart)).not.toThrow();
  });

  test('a namespace that is not a DNS-1123 label', () => {
    expect(failure({ metadata: { namespace: 'Payments_DB' } })).toContain(
      '[test/Db] PostgresStatefulSet: metadata.namespace must be a DNS-1123 label: lowercase letters, digits and \'-\', starting and ending with a letter or digit, '
      + 'got \'Payments_DB\'. Fix: use the name of a namespace');
  });

  test('init scripts the image would ignore, when the ConfigMap is defined in the app', () => {
    const chart = Testing.chart();
    const scripts = new kplus.ConfigMap(chart, 'Scripts', { data: { '01-schema.sql': 'CREATE TABLE t ();', '02-seed.psql': 'x', 'README': 'x', '03-roles.sh': 'true' } });
    new PostgresStatefulSet(chart, 'Db', { initScripts: scripts });
    const message = errorOf(() => synth(chart));
    expect(message).toContain('[test/Db] PostgresStatefulSet: initScripts holds a file the image ignores: it runs only *.sh, *.sql, *.sql.gz, *.sql.xz and *.sql.zst, '
      + 'got \'02-seed.psql\'. Fix: rename the key with one of those extensions, or remove it');
    expect(message).toContain('got \'README\'');
    expect(message).not.toContain('01-schema.sql');
    expect(message).not.toContain('03-roles.sh');
    // an imported ConfigMap's keys are unknown at synth: nothing to say
    const other = Testing.chart();
    new PostgresStatefulSet(other, 'Db', { initScripts: kplus.ConfigMap.fromConfigMapName(other, 'Imported', 'whatever') });
    expect(() => synth(other)).not.toThrow();
  });

  test.each([
    [NaN, 'NaN'], [Infinity, 'Infinity'], [-Infinity, '-Infinity'],
  ])('numbers are shown as the caller wrote them: replicas %p', (replicas, shown) => {
    expect(failure({ replicas })).toContain(`replicas must be a positive integer, got ${shown}. Fix`);
  });

  test('"got" shows what the caller wrote, never a default nor a password', () => {
    expect(failure({ credentials: PostgresCredentials.fromPassword('') })).toContain(
      '[test/Db] PostgresStatefulSet: credentials has an empty password (PostgresCredentials.fromPassword()), got \'\'. Fix: supply a non-empty password');
    const replication = failure({ credentials: PostgresCredentials.fromPassword('super'), replicationCredentials: PostgresCredentials.fromPassword('', { passwordKey: 'REPL' }) });
    expect(replication).toContain('replicationCredentials has an empty password, got PostgresCredentials.fromPassword(\'\', { passwordKey: \'REPL\' })');
    expect(replication).not.toContain('replicator');
    expect(replication).not.toContain('super');
    expect(failure({ replicas: 2, credentials: PostgresCredentials.fromPassword('hunter22') })).not.toContain('hunter22');
  });

  test('a name generated from the construct path that Kubernetes would refuse says so, and how to fix it', () => {
    const chart = new Chart(Testing.app(), '1st');
    new PostgresStatefulSet(chart, 'Db');
    expect(errorOf(() => synth(chart))).toMatch(
      /\[1st\/Db\] PostgresStatefulSet: serviceName \(generated from the construct path\) must be a DNS-1035 label: .*, got '1st-db-svc-[0-9a-f]{8}'. Fix: set serviceName/);
  });
});

describe('two instances in one app never write the same object', () => {
  test('the same StatefulSet, Service and Secret names: both construct paths are reported', () => {
    const app = Testing.app();
    const a = new Chart(app, 'a');
    const b = new Chart(app, 'b');
    const same = { statefulSetName: 'orders', serviceName: 'orders', secretName: 'orders', credentials: PostgresCredentials.fromPassword('x') };
    new PostgresStatefulSet(a, 'Db', same);
    new PostgresStatefulSet(b, 'Db', same);
    const message = errorOf(() => app.synth());
    for (const [prop, kind] of [['statefulSetName', 'StatefulSet'], ['serviceName', 'Service'], ['secretName', 'Secret']]) {
      expect(message).toContain(`[a/Db] PostgresStatefulSet: ${prop} names the ${kind} that b/Db writes too, got 'orders'. Fix: give each instance names of its own`);
      expect(message).toContain(`[b/Db] PostgresStatefulSet: ${prop} names the ${kind} that a/Db writes too, got 'orders'. Fix: give each instance names of its own`);
    }
  });

  test('a replicated instance\'s read-write Service and ConfigMap count too; other namespaces do not collide', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'shop', { namespace: 'shop' });
    new PostgresStatefulSet(chart, 'Orders', { statefulSetName: 'orders', serviceName: 'orders', replicas: 2 });
    new PostgresStatefulSet(chart, 'Legacy', { statefulSetName: 'orders-0', serviceName: 'orders-rw' });
    new PostgresStatefulSet(chart, 'Copy', { statefulSetName: 'orders', serviceName: 'copy', metadata: { namespace: 'elsewhere' } });
    const message = errorOf(() => app.synth());
    expect(message).toContain('[shop/Legacy] PostgresStatefulSet: serviceName names the Service in namespace \'shop\' that shop/Orders writes too, got \'orders-rw\'');
    expect(message).toContain('[shop/Orders] PostgresStatefulSet: readWriteServiceName names the Service in namespace \'shop\' that shop/Legacy writes too, got \'orders-rw\'');
    expect(message).not.toContain('shop/Copy');
  });
});

test('an instance with default props is a construct and its three objects, nothing more (every construct costs synth time in every chart)', () => {
  const chart = Testing.chart();
  const db = new PostgresStatefulSet(chart, 'Db');
  expect(db.node.findAll().map((c) => c.node.path)).toEqual(['test/Db', 'test/Db/Scripts', 'test/Db/Service', 'test/Db/Resource']);
  expect(chart.node.findAll().flatMap((c) => c.node.dependencies)).toEqual([]);
});

// Streaming replication as it appears in the manifests. (What the scripts do to a real
// PostgreSQL is in replication.pg.test.ts.)
import { Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { PostgresCredentials, PostgresStatefulSet, PostgresStatefulSetProps } from '../lib';
import { StrictSchema } from '../validation/strict-schema';
import { allOfKind, container, envVar, errorOf, oneOfKind, podSpec, synth } from './util';

function manifestOf(props: PostgresStatefulSetProps = {}, namespace?: string) {
  const chart = new Chart(Testing.app(), 'test', { namespace });
  const db = new PostgresStatefulSet(chart, 'Db', props);
  return { db, manifest: synth(chart) };
}

function failure(props: PostgresStatefulSetProps): string {
  const chart = Testing.chart();
  new PostgresStatefulSet(chart, 'Db', props);
  return errorOf(() => synth(chart));
}

const three: PostgresStatefulSetProps = { statefulSetName: 'pg', serviceName: 'pg-svc', replicas: 3 };

test('one replica renders no replication Services, PodDisruptionBudget or published unready addresses, and a pod template that is the same as with three', () => {
  const { db, manifest } = manifestOf({ statefulSetName: 'pg', serviceName: 'pg-svc' });
  expect(manifest.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(['ConfigMap/pg-scripts', 'Service/pg-svc', 'StatefulSet/pg']);
  expect(oneOfKind(manifest, 'Service').spec.publishNotReadyAddresses).toBeUndefined();
  expect([db.readWriteServiceName, db.readOnlyServiceName]).toEqual([undefined, undefined]);
  expect(db.replicationUsername).toBe('replicator');
  expect(db.host).toBe(db.serviceDnsName);
  // raising replicas changes only spec.replicas of the StatefulSet: no pod restarts, no rollout that could wait on new pods
  const sts = (m: any[]) => oneOfKind(m, 'StatefulSet');
  const scaled = manifestOf(three).manifest;
  expect(sts(scaled).spec.template).toEqual(sts(manifest).spec.template);
  expect({ ...sts(scaled).spec, replicas: 1 }).toEqual(sts(manifest).spec);
  expect(oneOfKind(scaled, 'ConfigMap')).toEqual(oneOfKind(manifest, 'ConfigMap'));
});

describe('with more than one replica', () => {
  test('the headless Service publishes pods before they are Ready, so standbys find pod 0', () => {
    const svc = oneOfKind(manifestOf(three).manifest, 'Service', 'pg-svc');
    expect(svc.spec.clusterIP).toBe('None');
    expect(svc.spec.publishNotReadyAddresses).toBe(true);
  });

  test('a read-write Service selects pod 0 only; a read-only Service selects every Ready pod', () => {
    const { db, manifest } = manifestOf(three);
    const rw = oneOfKind(manifest, 'Service', 'pg-svc-rw');
    const ro = oneOfKind(manifest, 'Service', 'pg-svc-ro');
    expect(rw.spec.selector).toEqual({ ...db.selectorLabels, 'statefulset.kubernetes.io/pod-name': 'pg-0' });
    expect(ro.spec.selector).toEqual(db.selectorLabels);
    for (const svc of [rw, ro]) {
      expect(svc.spec.clusterIP).toBeUndefined(); // a ClusterIP Service
      expect(svc.spec.publishNotReadyAddresses).toBeUndefined();
      expect(svc.spec.ports).toEqual([{ name: 'postgresql', port: 5432 }]);
    }
  });

  test('attributes name the Services and their DNS names; host is the read-write Service', () => {
    const { db } = manifestOf(three, 'shop');
    expect(db.readWriteServiceName).toBe('pg-svc-rw');
    expect(db.readOnlyServiceName).toBe('pg-svc-ro');
    expect(db.readWriteServiceDnsName).toBe('pg-svc-rw.shop.svc.cluster.local');
    expect(db.readOnlyServiceDnsName).toBe('pg-svc-ro.shop.svc.cluster.local');
    expect(db.host).toBe('pg-svc-rw.shop.svc.cluster.local');
    expect(db.replicationUsername).toBe('replicator');
    expect(db.podDnsNames).toEqual(['pg-0', 'pg-1', 'pg-2'].map((p) => `${p}.pg-svc.shop.svc.cluster.local`));
  });

  test('Service names are generated when serviceName is not given, and can be set', () => {
    expect(manifestOf({ replicas: 2 }).db.readWriteServiceName).toBe('test-db-rw-c8a070be');
    const { db } = manifestOf({ replicas: 2, readWriteServiceName: 'orders-primary', readOnlyServiceName: 'orders-replicas' });
    expect([db.readWriteServiceName, db.readOnlyServiceName]).toEqual(['orders-primary', 'orders-replicas']);
  });

  test('no init container: every pod runs the data guard, then the replication step, before the image\'s entrypoint, in its PostgreSQL container', () => {
    const { manifest } = manifestOf({ ...three, image: 'postgres:17.6' });
    expect(podSpec(manifest).initContainers).toBeUndefined();
    const main = container(manifest);
    expect(main.command).toEqual(['sh', '-c', expect.stringContaining('exec docker-entrypoint.sh "$@"'), 'postgres-statefulset-start']);
    expect(main.args).toEqual(['postgres']);
    expect(envVar(main, 'POSTGRES_STATEFULSET_START_STEPS').value).toBe('/etc/postgres-statefulset/data-guard.sh:/etc/postgres-statefulset/replication.sh');
    expect(envVar(main, 'PRIMARY_HOST').value).toBe('pg-0.pg-svc');
    expect(envVar(main, 'PRIMARY_PORT').value).toBe('5432');
    // the replication password's key may be missing while there is one replica: the standbys refuse to start without it, saying so
    expect(envVar(main, 'POSTGRES_REPLICATION_PASSWORD').valueFrom.secretKeyRef)
      .toEqual({ name: 'test-db-secret-c8a070be', key: 'POSTGRES_REPLICATION_PASSWORD', optional: true });
    expect(main.terminationMessagePolicy).toBe('FallbackToLogsOnError');
  });

  test('the scripts live in a ConfigMap; pod 0 runs the pg_hba.conf script at initdb; the probes run the probe scripts', () => {
    const { manifest } = manifestOf(three);
    const scripts = oneOfKind(manifest, 'ConfigMap', 'pg-scripts');
    expect(Object.keys(scripts.data).sort()).toEqual(['data-guard.sh', 'initdb-replication.sh', 'probe.sh', 'readiness.sh', 'replication.sh']);
    const volumes = podSpec(manifest).volumes;
    expect(volumes).toContainEqual({
      name: 'initdb',
      projected: { sources: [{ configMap: { name: 'pg-scripts', items: [{ key: 'initdb-replication.sh', path: '00-postgres-statefulset-replication.sh', mode: 0o555 }] } }] },
    });
    expect(volumes).toContainEqual({ name: 'scripts', configMap: { name: 'pg-scripts' } });
    const main = container(manifest);
    expect(main.volumeMounts).toContainEqual({ name: 'scripts', mountPath: '/etc/postgres-statefulset', readOnly: true });
    expect(main.startupProbe.exec.command).toEqual(['sh', '/etc/postgres-statefulset/probe.sh', 'startup']);
    expect(main.readinessProbe.exec.command).toEqual(['sh', '/etc/postgres-statefulset/readiness.sh']);
    expect(main.livenessProbe.exec.command).toEqual(['sh', '/etc/postgres-statefulset/probe.sh', 'liveness']);
    expect(envVar(main, 'POSTGRES_REPLICATION_USER').value).toBe('replicator');
  });

  test('user init scripts run after the pg_hba.conf script', () => {
    const chart = Testing.chart();
    const mine = new kplus.ConfigMap(chart, 'Init', { data: { '10-schema.sql': 'CREATE TABLE t (id int);' } });
    new PostgresStatefulSet(chart, 'Db', { replicas: 2, initScripts: mine });
    const sources = podSpec(synth(chart)).volumes.find((v: any) => v.name === 'initdb').projected.sources;
    expect(sources.map((s: any) => s.configMap.name)).toEqual(['test-db-c8a070be-scripts', mine.name]);
  });

  test('WAL retention for standbys is set on the primary by the first standby, not in the pod template; parameters override it', () => {
    expect(container(manifestOf(three).manifest).args).toEqual(['postgres']);
    expect(oneOfKind(manifestOf(three).manifest, 'ConfigMap').data['replication.sh']).toContain('ALTER SYSTEM SET %I = %L');
    expect(container(manifestOf({ ...three, parameters: { wal_keep_size: '4GB', max_connections: '300' } }).manifest).args)
      .toEqual(['postgres', '-c', 'max_connections=300', '-c', 'wal_keep_size=4GB']);
  });

  test('the scripts are the same text for every instance: no prop or secret value is pasted into them', () => {
    const scripts = (props: PostgresStatefulSetProps) => oneOfKind(manifestOf({ ...three, ...props }).manifest, 'ConfigMap').data;
    const reference = scripts({});
    expect(scripts({
      statefulSetName: 'other', serviceName: 'other-svc', image: 'postgres:13.22', port: 6543,
      parameters: { password_encryption: 'md5', max_wal_senders: '20' },
      replicationCredentials: PostgresCredentials.expectSecret({ username: 'standby', passwordKey: 'REPL' }),
    })).toEqual(reference);
    // the values reach them through the environment and the arguments instead
    const { manifest } = manifestOf({ ...three, parameters: { PASSWORD_ENCRYPTION: 'md5' } });
    expect(container(manifest).args).toEqual(['postgres', '-c', 'password_encryption=md5']);
  });

  test('parameter names are compared without regard to case, as PostgreSQL does', () => {
    expect(failure({ ...three, replicas: 5, parameters: { MAX_WAL_SENDERS: '2' } })).toContain(
      'PostgresStatefulSet: replicas needs 6 WAL senders (one per standby, two for a clone), more than max_wal_senders 2, got 5');
    expect(failure({ parameters: { Shared_Buffers: '1GB', shared_buffers: '2GB' } })).toContain(
      'PostgresStatefulSet: parameters names the same parameter as \'Shared_Buffers\' (PostgreSQL parameter names are case-insensitive), got \'shared_buffers\'');
    expect(failure({ parameters: { PORT: '1' } })).toContain('PostgresStatefulSet: parameters is managed by this construct, got \'PORT\'. Fix: set the port prop');
    const { manifest } = manifestOf({ ...three, parameters: { Wal_Keep_Size: '2GB' } });
    expect(container(manifest).args).toEqual(['postgres', '-c', 'wal_keep_size=2GB']);
  });

  test('password_encryption is md5 or scram-sha-256, in any case', () => {
    expect(failure({ parameters: { password_encryption: 'md5"; touch /tmp/pwned; echo "' } })).toContain(
      'PostgresStatefulSet: parameters[\'password_encryption\'] must be one of \'scram-sha-256\', \'md5\', got \'md5"; touch /tmp/pwned; echo "\'');
    expect(() => synth(manifestOf({ ...three, parameters: { password_encryption: 'SCRAM-SHA-256' } }).db.node.scope as Chart)).not.toThrow();
  });

  test('the replication password is rendered next to the superuser password with fromPassword', () => {
    const secret = oneOfKind(manifestOf({
      ...three,
      credentials: PostgresCredentials.fromPassword('super'),
      replicationCredentials: PostgresCredentials.fromPassword('stream', { username: 'standby', passwordKey: 'replication-password' }),
    }).manifest, 'Secret');
    expect(secret.stringData).toEqual({ 'POSTGRES_PASSWORD': 'super', 'replication-password': 'stream' });
  });

  test('replication credentials may reference a Secret of their own', () => {
    const { manifest } = manifestOf({ ...three, replicationCredentials: PostgresCredentials.fromSecretName('replication', { passwordKey: 'password' }) });
    expect(envVar(container(manifest), 'POSTGRES_REPLICATION_PASSWORD').valueFrom.secretKeyRef).toEqual({ name: 'replication', key: 'password', optional: true });
  });

  test('with a NetworkPolicy, the pods may reach each other (standbys stream from the primary)', () => {
    const { db, manifest } = manifestOf({ ...three, allowedClients: [] });
    const policy = oneOfKind(manifest, 'NetworkPolicy');
    expect(policy.spec.ingress).toEqual([{ from: [{ podSelector: { matchLabels: db.selectorLabels } }], ports: [{ port: 5432, protocol: 'TCP' }] }]);
  });

  test('every object matches the Kubernetes 1.27 schema', () => {
    const schema = new StrictSchema();
    const { manifest } = manifestOf({ ...three, allowedClients: [], passwordAsFile: true }, 'db');
    expect(manifest.flatMap((o) => schema.validate(o))).toEqual([]);
    expect(allOfKind(manifest, 'Service')).toHaveLength(3);
  });
});

describe('invalid combinations are errors', () => {
  test('Service names of replication with one replica; replication credentials are welcome from the start', () => {
    const message = failure({ readWriteServiceName: 'rw', readOnlyServiceName: 'ro' });
    expect(message).toContain('PostgresStatefulSet: readWriteServiceName names a Service rendered with streaming replication only, but replicas is 1, '
      + 'got \'rw\'. Fix: remove readWriteServiceName, or set replicas to 2 or more');
    expect(message).toContain('PostgresStatefulSet: readOnlyServiceName names a Service rendered with streaming replication only, but replicas is 1');
    // the replication password can be in place before replicas are raised
    const { manifest } = manifestOf({
      credentials: PostgresCredentials.fromPassword('super'),
      replicationCredentials: PostgresCredentials.fromPassword('stream', { username: 'standby' }),
    });
    expect(oneOfKind(manifest, 'Secret').stringData).toEqual({ POSTGRES_PASSWORD: 'super', POSTGRES_REPLICATION_PASSWORD: 'stream' });
    expect(envVar(container(manifest), 'POSTGRES_REPLICATION_USER').value).toBe('standby');
    // and is checked then too
    expect(failure({ replicationCredentials: PostgresCredentials.expectSecret({ username: 'postgres' }) })).toContain(
      'replicationCredentials username must not be the superuser \'postgres\'');
  });

  test('a replication user equal to the superuser', () => {
    expect(failure({ replicas: 2, replicationCredentials: PostgresCredentials.expectSecret({ username: 'postgres', passwordKey: 'REPL' }) })).toContain(
      'PostgresStatefulSet: replicationCredentials username must not be the superuser \'postgres\', got \'postgres\'. Fix: use a role of its own, such as the default \'replicator\'');
  });

  test('the replication password under the superuser\'s key', () => {
    expect(failure({ replicas: 2, replicationCredentials: PostgresCredentials.expectSecret({ username: 'standby', passwordKey: 'POSTGRES_PASSWORD' }) })).toContain(
      'PostgresStatefulSet: replicationCredentials passwordKey is the superuser\'s password key in Secret \'test-db-secret-c8a070be\'');
  });

  test('a rendered superuser password without a replication password, and the reverse', () => {
    expect(failure({ replicas: 2, credentials: PostgresCredentials.fromPassword('x') })).toContain(
      'PostgresStatefulSet: replicationCredentials must supply a password too, since credentials render the Secret that would hold it');
    expect(failure({ replicas: 2, replicationCredentials: PostgresCredentials.fromPassword('x', { username: 'standby', passwordKey: 'R' }) })).toContain(
      'PostgresStatefulSet: replicationCredentials render a password into a Secret, but credentials do not');
  });

  test('PostgreSQL before 12, and more standbys than WAL senders', () => {
    expect(failure({ replicas: 2, image: 'postgres:11.22' })).toContain('PostgresStatefulSet: replicas needs PostgreSQL 12 or later for streaming replication');
    expect(failure({ replicas: 10 })).toContain(
      'PostgresStatefulSet: replicas needs 11 WAL senders (one per standby, two for a clone), more than max_wal_senders 10, got 10. Fix: set parameters: { max_wal_senders: \'11\' } or more');
    const chart = Testing.chart();
    new PostgresStatefulSet(chart, 'Db', { replicas: 10, parameters: { max_wal_senders: '11' } });
    expect(() => synth(chart)).not.toThrow();
  });

  test('Service names that are not DNS-1035 labels', () => {
    expect(failure({ replicas: 2, readWriteServiceName: 'RW' })).toContain('PostgresStatefulSet: readWriteServiceName must be a DNS-1035 label');
  });
});

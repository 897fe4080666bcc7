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

test('one replica renders no replication objects at all', () => {
  const { db, manifest } = manifestOf({ statefulSetName: 'pg', serviceName: 'pg-svc' });
  expect(manifest.map((o) => o.kind).sort()).toEqual(['Service', 'StatefulSet']);
  const spec = podSpec(manifest);
  expect(spec.initContainers).toBeUndefined();
  expect(JSON.stringify(manifest)).not.toMatch(/REPLICATION|replication|publishNotReadyAddresses|wal_keep/);
  expect(container(manifest).readinessProbe.exec.command[0]).toBe('pg_isready');
  expect([db.readWriteServiceName, db.readOnlyServiceName, db.replicationUsername]).toEqual([undefined, undefined, undefined]);
  expect(db.host).toBe(db.serviceDnsName);
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

  test('an init container with the same image, user and security context clones the primary', () => {
    const { manifest } = manifestOf({ ...three, image: 'postgres:17.6' });
    const spec = podSpec(manifest);
    const [init] = spec.initContainers;
    const main = container(manifest);
    expect(init.name).toBe('replication-init');
    expect(init.image).toBe('postgres:17.6');
    expect(init.securityContext).toEqual(main.securityContext);
    expect(init.command).toEqual(['sh', '/etc/postgres-statefulset/replication-init.sh']);
    expect(envVar(init, 'PRIMARY_HOST').value).toBe('pg-0.pg-svc');
    expect(envVar(init, 'PRIMARY_PORT').value).toBe('5432');
    expect(envVar(init, 'PGDATA').value).toBe(envVar(main, 'PGDATA').value);
    expect(envVar(init, 'POSTGRES_REPLICATION_PASSWORD').valueFrom.secretKeyRef).toEqual({ name: 'test-db-secret-c8a070be', key: 'POSTGRES_REPLICATION_PASSWORD' });
    expect(init.volumeMounts).toContainEqual(main.volumeMounts.find((m: any) => m.name === 'data'));
  });

  test('the scripts live in a ConfigMap; pod 0 runs the role script at initdb; readiness runs the readiness script', () => {
    const { manifest } = manifestOf(three);
    const scripts = oneOfKind(manifest, 'ConfigMap', 'pg-replication');
    expect(Object.keys(scripts.data).sort()).toEqual(['initdb-replication.sh', 'readiness.sh', 'replication-init.sh']);
    const volumes = podSpec(manifest).volumes;
    expect(volumes).toContainEqual({
      name: 'initdb',
      projected: { sources: [{ configMap: { name: 'pg-replication', items: [{ key: 'initdb-replication.sh', path: '00-postgres-statefulset-replication.sh', mode: 0o555 }] } }] },
    });
    expect(volumes).toContainEqual({ name: 'replication', configMap: { name: 'pg-replication' } });
    const main = container(manifest);
    expect(main.readinessProbe.exec.command).toEqual(['sh', '/etc/postgres-statefulset/readiness.sh']);
    expect(main.startupProbe.exec.command[0]).toBe('pg_isready');
    expect(envVar(main, 'POSTGRES_REPLICATION_USER').value).toBe('replicator');
  });

  test('user init scripts run after the replication role script', () => {
    const chart = Testing.chart();
    const mine = new kplus.ConfigMap(chart, 'Init', { data: { '10-schema.sql': 'CREATE TABLE t (id int);' } });
    new PostgresStatefulSet(chart, 'Db', { replicas: 2, initScripts: mine });
    const sources = podSpec(synth(chart)).volumes.find((v: any) => v.name === 'initdb').projected.sources;
    expect(sources.map((s: any) => s.configMap.name)).toEqual(['test-db-c8a070be-replication', mine.name]);
  });

  test('the primary keeps 1GB of WAL for standbys that fall behind (wal_keep_segments before 13); parameters override it', () => {
    expect(container(manifestOf(three).manifest).args).toEqual(['postgres', '-c', 'wal_keep_size=1GB']);
    expect(container(manifestOf({ ...three, image: 'postgres:12.22' }).manifest).args).toEqual(['postgres', '-c', 'wal_keep_segments=64']);
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
    const init = podSpec(manifest).initContainers[0];
    expect(init.args).toEqual(['-c', 'password_encryption=md5', '-c', 'wal_keep_size=1GB']);
    expect(container(manifest).args).toEqual(['postgres', ...init.args]);
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
    expect(envVar(container(manifest), 'POSTGRES_REPLICATION_PASSWORD').valueFrom.secretKeyRef).toEqual({ name: 'replication', key: 'password' });
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
  test('replication settings with one replica', () => {
    const message = failure({ replicationCredentials: PostgresCredentials.expectSecret({ username: 'standby' }), readOnlyServiceName: 'ro' });
    expect(message).toContain('PostgresStatefulSet: replicationCredentials only applies to streaming replication, but replicas is 1, got PostgresCredentials.expectSecret({ username: \'standby\' }). Fix: remove replicationCredentials, or set replicas to 2 or more');
    expect(message).toContain('PostgresStatefulSet: readOnlyServiceName only applies to streaming replication, but replicas is 1');
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

// PostgresSmokeTest in the manifests. (Its command against a real PostgreSQL is in smoke-test.pg.test.ts.)
import { App, Chart, Duration, Testing } from 'cdk8s';
import { PostgresSmokeTest, PostgresStatefulSet, PostgresStatefulSetProps } from '../lib';
import { restrictedViolations } from './pod-security';
import { envVar, errorOf, oneOfKind, synth } from './util';

test('a Job that connects over the Service DNS name with the instance\'s credentials', () => {
  // GIVEN
  const chart = Testing.chart();
  const db = new PostgresStatefulSet(chart, 'Db', { serviceName: 'postgresql-svc', image: 'postgres:12.2' });
  // WHEN
  const smoke = new PostgresSmokeTest(chart, 'Smoke', { database: db });
  // THEN
  const manifest = synth(chart);
  const job = oneOfKind(manifest, 'Job');
  expect(job.metadata.name).toBe(smoke.job.name);
  expect(job.spec.backoffLimit).toBe(1);
  expect(job.spec.activeDeadlineSeconds).toBe(360);
  expect(job.spec.ttlSecondsAfterFinished).toBeUndefined();
  const spec = job.spec.template.spec;
  expect(spec.restartPolicy).toBe('Never');
  const [c] = spec.containers;
  expect(c.image).toBe('postgres:12.2');
  expect(c.command).toEqual(smoke.command);
  expect(envVar(c, 'PGHOST').value).toBe('postgresql-svc');
  expect(envVar(c, 'PGPASSWORD').valueFrom.secretKeyRef).toEqual({ name: db.secretName, key: 'POSTGRES_PASSWORD' });
  expect(envVar(c, 'SMOKE_TEST_QUERY').value).toBe('SELECT current_user, current_database(), version()');
  expect(envVar(c, 'SMOKE_TEST_TIMEOUT_SECONDS').value).toBe('300');
  expect(restrictedViolations(spec)).toEqual([]);
  expect(spec.securityContext).toMatchObject({ runAsUser: 999, runAsGroup: 999 });
  const kinds = manifest.map((o) => o.kind);
  expect(kinds.indexOf('Job')).toBeGreaterThan(kinds.indexOf('StatefulSet'));
});

test('query, timeout, read-only connection, image and TTL are configurable', () => {
  const chart = Testing.chart();
  const db = new PostgresStatefulSet(chart, 'Db', { serviceName: 'pg', replicas: 2 });
  new PostgresSmokeTest(chart, 'Smoke', {
    database: db, query: 'SELECT count(*) FROM pg_stat_replication', timeout: Duration.minutes(1), readOnly: true,
    image: 'postgres:18.4-alpine', ttlAfterFinished: Duration.minutes(10),
  });
  const job = oneOfKind(synth(chart), 'Job');
  const [c] = job.spec.template.spec.containers;
  expect(envVar(c, 'SMOKE_TEST_QUERY').value).toBe('SELECT count(*) FROM pg_stat_replication');
  expect(envVar(c, 'SMOKE_TEST_TIMEOUT_SECONDS').value).toBe('60');
  expect(envVar(c, 'PGHOST').value).toBe('pg-ro');
  expect(c.image).toBe('postgres:18.4-alpine');
  expect(job.spec.template.spec.securityContext).toMatchObject({ runAsUser: 70, runAsGroup: 70 }); // Alpine's postgres user
  expect(job.spec.ttlSecondsAfterFinished).toBe(600);
  expect(job.spec.activeDeadlineSeconds).toBe(120);
});

test('the database\'s NetworkPolicy admits the smoke test', () => {
  const chart = Testing.chart();
  const db = new PostgresStatefulSet(chart, 'Db', { allowedClients: [] });
  new PostgresSmokeTest(chart, 'Smoke', { database: db });
  const manifest = synth(chart);
  const podLabels = oneOfKind(manifest, 'Job').spec.template.metadata.labels;
  expect(oneOfKind(manifest, 'NetworkPolicy').spec.ingress).toEqual([{ from: [{ podSelector: { matchLabels: podLabels } }], ports: [{ port: 5432, protocol: 'TCP' }] }]);
});

test('bad input is reported at synth', () => {
  const chart = Testing.chart();
  const db = new PostgresStatefulSet(chart, 'Db');
  new PostgresSmokeTest(chart, 'Smoke', { database: db, image: 'postgres', query: ' ', timeout: Duration.millis(10) });
  const message = errorOf(() => synth(chart));
  expect(message).toContain('[test/Smoke] PostgresSmokeTest: image has no tag');
  expect(message).toContain('[test/Smoke] PostgresSmokeTest: query must not be empty');
  expect(message).toContain('[test/Smoke] PostgresSmokeTest: timeout must be a whole number of seconds, at least 1');
});

test('the Job\'s name follows its pod template (immutable once the Job exists): a changed image or host is a new Job, an unchanged test keeps its name', () => {
  const jobOf = (props: Partial<PostgresStatefulSetProps>) => {
    const chart = new Chart(new App(), 'test', { namespace: 'shop' });
    const db = new PostgresStatefulSet(chart, 'Db', { serviceName: 'orders', ...props });
    new PostgresSmokeTest(chart, 'Smoke', { database: db });
    return Testing.synth(chart).find((o) => o.kind === 'Job');
  };
  const first = jobOf({});
  expect(first.metadata.name).toMatch(/^test-smoke-[0-9a-f]{8}-[0-9a-f]{8}$/);
  expect(jobOf({}).metadata.name).toBe(first.metadata.name);
  const host = (job: any) => job.spec.template.spec.containers[0].env.find((e: any) => e.name === 'PGHOST').value;
  for (const changed of [jobOf({ image: 'postgres:17.6' }), jobOf({ replicas: 3 })]) {
    expect(JSON.stringify(changed.spec.template)).not.toBe(JSON.stringify(first.spec.template));
    expect(changed.metadata.name).not.toBe(first.metadata.name);
    expect(changed.metadata.name.slice(0, -9)).toBe(first.metadata.name.slice(0, -9));
  }
  expect(host(jobOf({ replicas: 3 }))).toBe('orders-rw.shop.svc.cluster.local');
});

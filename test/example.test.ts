// The example app (main.ts) reproduces the training exercise. Each value the exercise
// sets is stated here and checked in the synthesized output: the library may add
// fields, it may not change these.
import { Testing } from 'cdk8s';
import { PostgresqlExerciseChart } from '../main';
import { allOfKind, container, envVar, oneOfKind, podSpec, synth } from './util';

function exercise(password?: string) {
  const chart = new PostgresqlExerciseChart(Testing.app(), 'postgresql', { password });
  return synth(chart);
}

describe('parity with the exercise', () => {
  const manifest = exercise();

  test('headless Service postgresql-svc: clusterIP None, port 5432 named postgresql-port, selector app=postgresql-a', () => {
    const svc = oneOfKind(manifest, 'Service', 'postgresql-svc');
    expect(svc.apiVersion).toBe('v1');
    expect(svc.metadata.labels).toMatchObject({ app: 'postgresql-a' });
    expect(svc.spec.clusterIP).toBe('None');
    expect(svc.spec.ports).toContainEqual(expect.objectContaining({ port: 5432, name: 'postgresql-port' }));
    expect(svc.spec.selector).toEqual({ app: 'postgresql-a' });
  });

  test('StatefulSet postgresql-sfs: serviceName postgresql-svc, 1 replica, selector and template label app=postgresql-a', () => {
    const sts = oneOfKind(manifest, 'StatefulSet', 'postgresql-sfs');
    expect(sts.apiVersion).toBe('apps/v1');
    expect(sts.spec.serviceName).toBe('postgresql-svc');
    expect(sts.spec.replicas).toBe(1);
    expect(sts.spec.selector.matchLabels).toEqual({ app: 'postgresql-a' });
    expect(sts.spec.template.metadata.labels).toMatchObject({ app: 'postgresql-a' });
  });

  test('terminationGracePeriodSeconds 10', () => {
    expect(podSpec(manifest).terminationGracePeriodSeconds).toBe(10);
  });

  test('container postgresql-db runs postgres:12.2 with the password from the Secret and PGDATA in a subdirectory', () => {
    const c = container(manifest, 'postgresql-db');
    expect(c.image).toBe('postgres:12.2');
    expect(envVar(c, 'POSTGRES_PASSWORD')).toEqual({
      name: 'POSTGRES_PASSWORD',
      valueFrom: { secretKeyRef: { name: 'postgresql-secrets', key: 'POSTGRES_PASSWORD' } },
    });
    expect(envVar(c, 'PGDATA')).toEqual({ name: 'PGDATA', value: '/var/lib/postgresql/data/pgdata' });
    expect(c.ports).toContainEqual(expect.objectContaining({ containerPort: 5432, name: 'postgresql-port' }));
    expect(c.volumeMounts).toContainEqual(expect.objectContaining({ name: 'data', mountPath: '/var/lib/postgresql/data' }));
  });

  test('volume claim template data: ReadWriteOnce, storage class default, 1Gi', () => {
    const templates = oneOfKind(manifest, 'StatefulSet', 'postgresql-sfs').spec.volumeClaimTemplates;
    expect(templates).toHaveLength(1);
    expect(templates[0].metadata.name).toBe('data');
    expect(templates[0].spec.accessModes).toEqual(['ReadWriteOnce']);
    expect(templates[0].spec.storageClassName).toBe('default');
    expect(templates[0].spec.resources.requests.storage).toBe('1Gi');
  });
});

describe('the password', () => {
  test('without one, nothing secret is rendered: the Secret is created with kubectl, as in the exercise', () => {
    const manifest = exercise();
    expect(allOfKind(manifest, 'Secret')).toEqual([]);
    expect(JSON.stringify(manifest)).not.toMatch(/tes6Aev8|stringData/);
  });

  test('supplied at synth time, it is rendered into Secret postgresql-secrets under POSTGRES_PASSWORD', () => {
    const secret = oneOfKind(exercise('tes6Aev8'), 'Secret', 'postgresql-secrets');
    expect(secret.stringData).toEqual({ POSTGRES_PASSWORD: 'tes6Aev8' });
  });
});

test('a snapshot of the example app', () => {
  expect(exercise()).toMatchSnapshot();
});

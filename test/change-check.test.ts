// The change check (cdk8s-postgres-statefulset-check): manifests synthesized by the library for a
// baseline and for a changed app, compared by the check as it runs in the command (checkChanges,
// and main() with files, git, standard input and a kubectl stand-in). The command as a separate
// process, installed from the package, is in change-check-bin.test.ts; the SQL of its steps runs
// against a real PostgreSQL in change-check.pg.test.ts.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ApiObject, Chart, JsonPatch, Size, Testing, Yaml } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { BackupStorage, ClaimRetentionPolicy, PostgresCredentials, PostgresSmokeTest, PostgresStatefulSet, PostgresStatefulSetProps } from '../lib';
import { checkChanges, CheckResult } from '../lib/change-check/check';
import { main } from '../lib/change-check/cli';
import { Finding } from '../lib/change-check/findings';
import { UPGRADE_ANNOTATION } from '../lib/change-check/instance';
import { ManifestSet, parseManifests } from '../lib/change-check/manifests';
import { compareQuantities, parseQuantity } from '../lib/change-check/quantity';
import { hasProblems, renderReport } from '../lib/change-check/report';

const KUBECTL_JSON = path.join(__dirname, 'fixtures', 'change-check', 'kubectl-get-statefulsets.json');

/** The instance every test starts from: shop/orders, PostgreSQL 17, two pods, 10Gi on class fast. */
const BASE: PostgresStatefulSetProps = {
  statefulSetName: 'orders',
  serviceName: 'orders',
  image: 'postgres:17.6',
  replicas: 2,
  storage: Size.gibibytes(10),
  storageClassName: 'fast',
};

/** The objects the library synthesizes for the chart `shop` (namespace shop) with the instance `Orders`. */
function synthesize(props: PostgresStatefulSetProps = {}, more?: (chart: Chart, db: PostgresStatefulSet) => void): any[] {
  const chart = new Chart(Testing.app(), 'shop', { namespace: 'shop' });
  const db = new PostgresStatefulSet(chart, 'Orders', { ...BASE, ...props });
  more?.(chart, db);
  return Testing.synth(chart);
}

function manifestSet(objects: any[], dir: string): ManifestSet {
  return { description: dir, objects: objects.map((object) => ({ object, source: `${dir}/shop.k8s.yaml` })), listed: false };
}

/** Compares two synthesized apps as the command compares a baseline directory with dist. */
function compare(before: any[], after: any[]): CheckResult {
  return checkChanges(manifestSet(before, 'baseline'), manifestSet(after, 'dist'));
}

/** Every finding of the compared instances. */
function findingsOf(result: CheckResult): Finding[] {
  return result.changed.flatMap((r) => r.findings);
}

/** The one finding whose title matches; fails listing every title otherwise. */
function finding(result: CheckResult, title: RegExp): Finding {
  const found = [...findingsOf(result), ...result.added.flatMap((r) => r.findings), ...result.removed.flatMap((r) => r.findings)]
    .filter((f) => title.test(f.title));
  if (found.length !== 1) {
    throw new Error(`expected one finding matching ${title}, got: ${JSON.stringify(findingsOf(result).map((f) => f.title))}`);
  }
  return found[0];
}

function commands(f: Finding): string[] {
  return f.steps.flatMap((s) => s.commands ?? []);
}

describe('Kubernetes quantities', () => {
  test.each([
    ['1Gi', '1024Mi', 0],
    ['10Gi', '10.5Gi', -1],
    ['1G', '1Gi', -1],
    ['1e3', '1k', 0],
    ['1500m', '1.5', 0],
    ['20Gi', '10Gi', 1],
    ['0.5Ti', '512Gi', 0],
    [1073741824, '1Gi', 0],
  ])('%s compared with %s is %d', (a, b, expected) => {
    expect(compareQuantities(parseQuantity(a)!, parseQuantity(b)!)).toBe(expected);
  });

  test.each(['', 'Gi', '10 Gi', '10GB', '1.2.3', 'ten', '10Ki5', undefined, {}])('%p is not a quantity', (text) => {
    expect(parseQuantity(text)).toBeUndefined();
  });
});

describe('an unchanged re-synth', () => {
  test('reports nothing and allows applying, for a replicated instance with a rendered Secret and a NetworkPolicy', () => {
    const app = () => synthesize({ replicas: 3, credentials: PostgresCredentials.fromPassword('pw-1', { username: 'admin' }), replicationCredentials: PostgresCredentials.fromPassword('pw-2'), allowedClients: [] },
      (chart, db) => db.connect(new kplus.Deployment(chart, 'Api', { containers: [{ image: 'example/api:1.0.0' }] })));
    const result = compare(app(), app());
    expect(result.changed.map((r) => r.id)).toEqual(['shop/orders']);
    expect(findingsOf(result)).toEqual([]);
    expect(hasProblems(result)).toBe(false);
    expect(renderReport(result)).toBe('No unsafe change: 1 PostgreSQL StatefulSet of dist compared with baseline (shop/orders).\n');
  });

  test('from one replica to more: a note that the headless Service reaches the standbys too, not a problem', () => {
    const result = compare(synthesize({ replicas: 1 }), synthesize({ replicas: 3 }));
    const note = finding(result, /^replicas: 1 -> 3$/);
    expect(note.severity).toBe('note');
    expect(note.explanation.join(' ')).toContain('The headless Service orders will resolve to every pod, the standbys included: a client that connects by its name reaches a read-only standby 2 times in 3.');
    expect(hasProblems(result)).toBe(false);
    expect(findingsOf(compare(synthesize({ replicas: 3 }), synthesize({ replicas: 1 })))).toEqual([]);
  });

  test('a change the API server accepts and the database follows (replicas, resources, parameters, a minor image update) is not reported', () => {
    const result = compare(synthesize(), synthesize({ replicas: 3, image: 'postgres:17.7', parameters: { max_connections: '200' }, resources: { memory: { request: Size.gibibytes(2), limit: Size.gibibytes(2) } } }));
    expect(findingsOf(result)).toEqual([]);
    expect(hasProblems(result)).toBe(false);
  });
});

describe('changes the API server rejects', () => {
  test('growing storage: check the class allows expansion, patch each claim, delete the StatefulSet with --cascade=orphan, apply, in that order', () => {
    const result = compare(synthesize(), synthesize({ storage: Size.gibibytes(20) }));
    const f = finding(result, /storage/);
    expect(f.severity).toBe('rejected');
    expect(f.title).toBe('storage of data: 10Gi -> 20Gi (grows)');
    expect(commands(f)).toEqual([
      'kubectl get storageclass fast -o \'jsonpath={.allowVolumeExpansion}\'',
      'kubectl -n shop patch pvc data-orders-0 -p \'{"spec":{"resources":{"requests":{"storage":"20Gi"}}}}\'',
      'kubectl -n shop patch pvc data-orders-1 -p \'{"spec":{"resources":{"requests":{"storage":"20Gi"}}}}\'',
      'kubectl -n shop get pvc data-orders-0 -o \'jsonpath={.status.capacity.storage}\'',
      'kubectl -n shop get pvc data-orders-1 -o \'jsonpath={.status.capacity.storage}\'',
      'kubectl -n shop delete statefulset orders --cascade=orphan',
      'kubectl apply -f dist/shop.k8s.yaml',
    ]);
    expect(f.steps[0].say).toMatch(/must print true/);
    expect(f.steps[1].say).toContain('kubectl -n shop get pvc -l app.kubernetes.io/instance=');
    expect(findingsOf(result)).toHaveLength(1);
    expect(hasProblems(result)).toBe(true);
  });

  test('growing storage without a storage class: the claims\' class is looked up first', () => {
    const f = finding(compare(synthesize({ storageClassName: undefined }), synthesize({ storageClassName: undefined, storage: Size.gibibytes(11) })), /storage/);
    expect(commands(f).slice(0, 2)).toEqual([
      'kubectl -n shop get pvc data-orders-0 -o \'jsonpath={.spec.storageClassName}\'   # the class the claims got (the cluster\'s default when they were created)',
      'kubectl get storageclass \'<that class>\' -o \'jsonpath={.allowVolumeExpansion}\'',
    ]);
  });

  test('the same size in other units is no change (the API server compares quantities by value)', () => {
    expect(findingsOf(compare(synthesize(), synthesize({ storage: Size.mebibytes(10240) })))).toEqual([]);
  });

  test('shrinking storage is impossible, and no step pretends otherwise', () => {
    const f = finding(compare(synthesize({ storage: Size.gibibytes(20) }), synthesize({ storage: Size.mebibytes(20000) })), /storage/);
    expect(f.severity).toBe('rejected');
    expect(f.title).toBe('storage of data: 20Gi -> 20000Mi: shrinking storage is impossible');
    expect(f.explanation.join(' ')).toContain('Kubernetes never shrinks a claim');
    expect(commands(f)).toEqual([]);
    expect(f.steps.map((s) => s.say)).toEqual(['Keep the storage at 20Gi.']);
  });

  test('storage class and access modes: existing claims keep theirs', () => {
    const result = compare(synthesize(), synthesize({ storageClassName: 'slow', accessModes: [kplus.PersistentVolumeAccessMode.READ_WRITE_ONCE_POD] }));
    expect(findingsOf(result).map((f) => [f.severity, f.title])).toEqual([
      ['rejected', 'volume claim template data storage class: fast -> slow'],
      ['rejected', 'volume claim template data access modes: ["ReadWriteOnce"] -> ["ReadWriteOncePod"]'],
    ]);
    expect(finding(result, /storage class/).explanation.join(' ')).toContain('Existing claims (data-orders-0, data-orders-1) cannot change their storage class');
  });

  test('growing storage while changing the class: the expansion check is on the class the claims have', () => {
    const result = compare(synthesize(), synthesize({ storage: Size.gibibytes(20), storageClassName: 'slow' }));
    expect(commands(finding(result, /^storage/))[0]).toBe('kubectl get storageclass fast -o \'jsonpath={.allowVolumeExpansion}\'');
    expect(finding(result, /storage class/).severity).toBe('rejected');
  });

  test('serviceName: replace the object, restart the pods, rebuild the standbys, delete the old Services', () => {
    const result = compare(synthesize(), synthesize({ serviceName: 'orders-db' }));
    const f = finding(result, /serviceName/);
    expect(f.severity).toBe('rejected');
    expect(f.title).toBe('serviceName: orders -> orders-db');
    expect(commands(f)).toEqual([
      'kubectl -n shop delete statefulset orders --cascade=orphan',
      'kubectl apply -f dist/shop.k8s.yaml',
      'kubectl -n shop rollout restart statefulset orders',
      'kubectl -n shop rollout status statefulset orders',
      'kubectl -n shop delete pvc data-orders-1 --wait=false && kubectl -n shop delete pod orders-1',
      'kubectl -n shop delete service orders orders-rw orders-ro',
    ]);
  });

  test('selector: label the pods (and claims) before the new StatefulSet needs them', () => {
    const result = compare(synthesize(), synthesize({ selectorLabels: { app: 'orders-db' } }));
    const f = finding(result, /^selector/);
    expect(f.severity).toBe('rejected');
    expect(commands(f)).toEqual([
      'kubectl -n shop delete statefulset orders --cascade=orphan',
      'kubectl -n shop label pod orders-0 app=orders-db --overwrite',
      'kubectl -n shop label pod orders-1 app=orders-db --overwrite',
      'kubectl apply -f dist/shop.k8s.yaml',
      'kubectl -n shop label pvc data-orders-0 app=orders-db --overwrite',
      'kubectl -n shop label pvc data-orders-1 app=orders-db --overwrite',
    ]);
    // the claim template's labels change with the selector: one finding, not two
    expect(findingsOf(result).filter((x) => x.severity === 'rejected')).toHaveLength(1);
  });

  test('podManagementPolicy and other fixed fields (set through an escape hatch); the claims of whenDeleted: Delete are warned about', () => {
    const result = compare(synthesize({ claimRetentionWhenDeleted: ClaimRetentionPolicy.DELETE }), synthesize({ claimRetentionWhenDeleted: ClaimRetentionPolicy.DELETE }, (_, db) => {
      ApiObject.of(db).addJsonPatch(JsonPatch.add('/spec/podManagementPolicy', 'Parallel'), JsonPatch.add('/spec/revisionHistoryLimit', 3));
    }));
    expect(findingsOf(result).map((f) => f.title)).toEqual(['podManagementPolicy: OrderedReady -> Parallel', 'spec.revisionHistoryLimit: 10 -> 3']);
    const f = finding(result, /podManagementPolicy/);
    expect(commands(f)).toEqual(['kubectl -n shop delete statefulset orders --cascade=orphan', 'kubectl apply -f dist/shop.k8s.yaml']);
    expect(f.steps[0].say).toContain('whenDeleted is Delete, so a plain delete would delete the claims');
  });
});

describe('changes the database ignores after initialisation', () => {
  test('POSTGRES_USER: rename the role through a helper superuser, with psql variables', () => {
    const f = finding(compare(synthesize(), synthesize({ credentials: PostgresCredentials.expectSecret({ username: 'admin' }) })), /POSTGRES_USER/);
    expect(f.severity).toBe('unsafe');
    expect(f.title).toBe('POSTGRES_USER: postgres -> admin');
    expect(f.steps.filter((s) => s.psql).map((s) => [s.psql!.user, s.psql!.sql, s.psql!.variables])).toEqual([
      ['postgres', 'CREATE ROLE :"helper" SUPERUSER LOGIN;', { helper: 'postgres_statefulset_rename' }],
      ['postgres_statefulset_rename', 'ALTER ROLE :"old" RENAME TO :"new";', { old: 'postgres', new: 'admin' }],
      ['admin', 'DROP ROLE :"helper";', { helper: 'postgres_statefulset_rename' }],
    ]);
    expect(commands(f)[1]).toBe(`kubectl -n shop exec -i orders-0 -c postgres -- psql -v ON_ERROR_STOP=1 -X -U postgres_statefulset_rename -d postgres -v old=postgres -v new=admin <<'SQL'
ALTER ROLE :"old" RENAME TO :"new";
SQL`);
  });

  test('POSTGRES_DB: create the new database or rename the old one', () => {
    const f = finding(compare(synthesize({ databaseName: 'orders' }), synthesize({ databaseName: 'shop' })), /POSTGRES_DB/);
    expect(f.title).toBe('POSTGRES_DB: orders -> shop');
    expect(f.steps.filter((s) => s.psql).map((s) => s.psql!.sql)).toEqual(['CREATE DATABASE :"db" OWNER :"owner";', 'ALTER DATABASE :"old" RENAME TO :"new";']);
  });

  test('POSTGRES_INITDB_ARGS', () => {
    const f = finding(compare(synthesize(), synthesize({ initdbArgs: ['--data-checksums', '--locale=C'] })), /INITDB/);
    expect(f.title).toBe('POSTGRES_INITDB_ARGS: --data-checksums -> --data-checksums --locale=C');
    expect(f.severity).toBe('unsafe');
  });

  test('the superuser Secret or key: copy the password through a pipe, or change it in the database first', () => {
    const result = compare(synthesize(), synthesize({ credentials: PostgresCredentials.fromSecretName('orders-admin', { passwordKey: 'password' }) }));
    const f = finding(result, /superuser's password/);
    expect(f.title).toMatch(/Secret shop-orders-c846aa36, key POSTGRES_PASSWORD -> Secret orders-admin, key password$|-> Secret orders-admin, key password$/);
    expect(commands(f)[0]).toMatch(/^kubectl -n shop get secret \S+ -o 'jsonpath=\{\.data\.POSTGRES_PASSWORD\}' \| base64 -d \| kubectl -n shop create secret generic orders-admin --from-file=password=\/dev\/stdin$/);
    expect(commands(f)).toContain('kubectl -n shop exec -it orders-0 -c postgres -- psql -U postgres -d postgres -c \'\\password postgres\'');
  });

  test('a password file from the same Secret and key is no change; from another key is', () => {
    expect(findingsOf(compare(synthesize(), synthesize({ passwordAsFile: true })))).toEqual([]);
    const f = finding(compare(synthesize({ passwordAsFile: true }), synthesize({ passwordAsFile: true, credentials: PostgresCredentials.expectSecret({ passwordKey: 'pw' }) })), /superuser's password/);
    expect(f.title).toMatch(/key POSTGRES_PASSWORD -> Secret \S+, key pw$/);
  });

  test('a new password in a rendered Secret is reported without showing either password', () => {
    const result = compare(synthesize({ replicas: 1, credentials: PostgresCredentials.fromPassword('first-Secret-value') }),
      synthesize({ replicas: 1, credentials: PostgresCredentials.fromPassword('second-Secret-value') }));
    const f = finding(result, /superuser's password/);
    expect(f.title).toMatch(/the value in the rendered Secret \S+ \(key POSTGRES_PASSWORD\) changes/);
    const report = renderReport(result);
    expect(report).not.toContain('first-Secret-value');
    expect(report).not.toContain('second-Secret-value');
  });

  test('a literal password in the manifest (written by hand, not by the library) is compared without being shown', () => {
    const literal = (value: string) => synthesize({ replicas: 1 }, (_, db) => {
      ApiObject.of(db).addJsonPatch(JsonPatch.replace('/spec/template/spec/containers/0/env/0', { name: 'POSTGRES_PASSWORD', value }));
    });
    expect(findingsOf(compare(literal('same-literal'), literal('same-literal')))).toEqual([]);
    const result = compare(literal('old-literal'), literal('new-literal'));
    expect(finding(result, /superuser's password/).title).toBe('the superuser\'s password (postgres): the literal value in the manifest changes');
    expect(renderReport(result)).not.toMatch(/old-literal|new-literal/);
  });

  test('the replication role\'s name and its password\'s Secret', () => {
    const result = compare(synthesize(), synthesize({ replicationCredentials: PostgresCredentials.fromSecretName('orders-replication', { username: 'standby' }) }));
    // the standbys carry both to the primary when they restart (replication.pg.test.ts): notes, with the clean-up
    const role = finding(result, /replication role \(POSTGRES_REPLICATION_USER\)/);
    expect(role.title).toBe('replication role (POSTGRES_REPLICATION_USER): replicator -> standby');
    expect(role.severity).toBe('note');
    expect(role.steps.find((s) => s.psql)!.psql!.variables).toEqual({ old: 'replicator' });
    const password = finding(result, /replication role's password/);
    expect(password.title).toMatch(/-> Secret orders-replication, key POSTGRES_REPLICATION_PASSWORD$/);
    expect(password.severity).toBe('note');
    expect(commands(password)).toContain('kubectl -n shop rollout restart statefulset orders');
  });
});

describe('changes that leave data behind, and the port', () => {
  test('PGDATA elsewhere on the volume', () => {
    const f = finding(compare(synthesize(), synthesize({ pgData: '/var/lib/postgresql/data/db' })), /data directory/);
    expect(f.severity).toBe('unsafe');
    expect(f.category).toBe('data left behind');
    expect(f.explanation.join(' ')).toContain('in db on the volume data, but the data is in pgdata on the volume data');
    expect(f.steps[0].say).toContain('pgData: \'/var/lib/postgresql/data/pgdata\' and dataMountPath: \'/var/lib/postgresql/data\'');
  });

  test('another mount path with PGDATA at the same place on the volume leaves nothing behind', () => {
    expect(findingsOf(compare(synthesize(), synthesize({ dataMountPath: '/data' })))).toEqual([]);
  });

  test('the port: clients and standbys', () => {
    const f = finding(compare(synthesize(), synthesize({ port: 5433 })), /port/);
    expect(f.severity).toBe('unsafe');
    expect(f.title).toBe('port: 5432 -> 5433');
    expect(f.explanation.join(' ')).toContain('Standbys stream from the primary at the port pg_basebackup wrote');
  });
});

describe('major versions', () => {
  /** Sets the upgrade option's annotation on the pod template, as the upgrade feature renders it. */
  const upgradeFrom = (major: string) => (_: Chart, db: PostgresStatefulSet) => {
    ApiObject.of(db).addJsonPatch(JsonPatch.add('/spec/template/metadata/annotations', { [UPGRADE_ANNOTATION]: major }));
  };

  test('16 -> the default image without the upgrade option: unsafe, and the data would be left behind in the old layout', () => {
    const result = compare(synthesize({ image: 'postgres:16.4' }), synthesize({ image: undefined }));
    expect(findingsOf(result).map((f) => [f.severity, f.category, f.title])).toEqual([
      ['unsafe', 'major version', 'image: postgres:16.4 -> postgres:18.4: PostgreSQL 16 -> 18 without the upgrade option'],
      ['unsafe', 'data left behind', 'data directory: PGDATA /var/lib/postgresql/data/pgdata (mount /var/lib/postgresql/data) -> /var/lib/postgresql/18/docker (mount /var/lib/postgresql)'],
    ]);
    // the way to keep the data keeps its major too (PostgreSQL 18 with the old paths is a synth error), and moving files is not offered
    const left = finding(result, /^data directory/);
    expect(left.steps.map((s) => s.say)).toEqual([
      'Keep the data where it is with its major: image \'postgres:16.4\', pgData: \'/var/lib/postgresql/data/pgdata\', dataMountPath: \'/var/lib/postgresql/data\' (the values the running pods use); '
      + 'or upgrade it (see the major version finding), which writes the new directory from the old one.',
    ]);
  });

  test('with the upgrade option naming the old major: noted, not unsafe', () => {
    const result = compare(synthesize({ image: 'postgres:16.4' }), synthesize({ image: 'postgres:18.4' }, upgradeFrom('16')));
    expect(findingsOf(result).map((f) => [f.severity, f.title])).toEqual([
      ['note', 'image: postgres:16.4 -> postgres:18.4: PostgreSQL 16 -> 18 with the upgrade option'],
      ['note', expect.stringMatching(/^data directory/)],
    ]);
    expect(hasProblems(result)).toBe(false);
  });

  test('an upgrade option naming another major, and any downgrade, are unsafe', () => {
    const wrong = finding(compare(synthesize({ image: 'postgres:16.4' }), synthesize({ image: 'postgres:17.6' }, upgradeFrom('15'))), /image/);
    expect(wrong.severity).toBe('unsafe');
    expect(wrong.explanation.join(' ')).toContain(`${UPGRADE_ANNOTATION} says 15, but the data is PostgreSQL 16`);
    const down = finding(compare(synthesize({ image: 'postgres:17.6' }), synthesize({ image: 'postgres:16.4' }, upgradeFrom('17'))), /image/);
    expect(down.severity).toBe('unsafe');
    expect(down.title).toBe('image: postgres:17.6 -> postgres:16.4: PostgreSQL 17 -> 16 is a downgrade');
  });

  test('the StatefulSet\'s annotation postgres-statefulset.io/postgres-major tells the major of a digest', () => {
    const props = (c: string): PostgresStatefulSetProps => ({
      image: `postgres@sha256:${c.repeat(64)}`, postgresMajorVersion: 17, metadata: { annotations: { 'postgres-statefulset.io/postgres-major': '17' } },
    });
    expect(findingsOf(compare(synthesize(props('a')), synthesize(props('b'))))).toEqual([]);
  });

  test('an image whose major is unknown (a digest only, in manifests without the annotation) is unsafe when it changes, and nothing when it does not', () => {
    const digest = (c: string) => `postgres@sha256:${c.repeat(64)}`;
    // manifests written before the library rendered the annotation
    const unannotated = (c: string) => synthesize({ image: digest(c), postgresMajorVersion: 17 }).map((o: any) => {
      if (o.kind === 'StatefulSet') {
        delete o.metadata.annotations['postgres-statefulset.io/postgres-major'];
      }
      return o;
    });
    expect(findingsOf(compare(unannotated('a'), unannotated('a')))).toEqual([]);
    const f = finding(compare(unannotated('a'), unannotated('b')), /image/);
    expect(f.severity).toBe('unsafe');
    expect(f.explanation.join(' ')).toContain('is not known');
  });
});

describe('the image variant', () => {
  test('Debian to Alpine: the data belongs to uid 999, the server would run as 70, and text collations differ', () => {
    const result = compare(synthesize(), synthesize({ image: 'postgres:17.6-alpine3.22' }));
    expect(findingsOf(result).map((f) => [f.severity, f.category, f.title])).toEqual([
      ['unsafe', 'data ownership', 'runAsUser: 999 -> 70'],
      ['unsafe', 'collation', 'image C library: glibc (postgres:17.6) -> musl (postgres:17.6-alpine3.22)'],
    ]);
  });

  test('another Debian release: a note about glibc\'s collations, not a problem', () => {
    const result = compare(synthesize({ image: 'postgres:17.6-bookworm' }), synthesize({ image: 'postgres:17.7-trixie' }));
    expect(findingsOf(result).map((f) => [f.severity, f.title])).toEqual([['note', 'image Debian release: bookworm -> trixie']]);
    expect(hasProblems(result)).toBe(false);
  });
});

describe('new and removed instances', () => {
  test('are reported as such: a new one starts empty; a removed one keeps running and keeps its claims', () => {
    const before = synthesize({}, (chart) => new PostgresStatefulSet(chart, 'Stock', { statefulSetName: 'stock' }));
    const after = synthesize({}, (chart) => new PostgresStatefulSet(chart, 'Payments', { statefulSetName: 'payments', replicas: 1 }));
    const result = compare(before, after);
    expect(result.added.map((r) => [r.id, r.findings.map((f) => [f.severity, f.title])])).toEqual([['shop/payments', [['note', 'new instance shop/payments']]]]);
    expect(result.removed.map((r) => [r.id, r.findings.map((f) => [f.severity, f.title])])).toEqual([['shop/stock', [['note', 'removed instance shop/stock']]]]);
    expect(result.removed[0].findings[0].explanation.join(' ')).toContain('Deleting the StatefulSet keeps its claims (data-stock-0) and the data');
    expect(hasProblems(result)).toBe(false);
    expect(renderReport(result)).toMatch(/^No unsafe change: .*; 1 new instance, 1 removed instance\.$/m);
  });

  test('a StatefulSet renamed: the new name gets empty claims, and both select the same pods', () => {
    const result = compare(synthesize(), synthesize({ statefulSetName: 'orders-v2' }));
    const f = finding(result, /renamed/);
    expect(f.severity).toBe('unsafe');
    expect(f.title).toBe('new StatefulSet shop/orders-v2 looks like shop/orders renamed');
    expect(f.explanation.join(' ')).toContain('gets new, empty claims (data-orders-v2-0, data-orders-v2-1)');
    expect(hasProblems(result)).toBe(true);
  });

  test('StatefulSets that do not run PostgreSQL are counted, not compared', () => {
    const redis = { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'cache', namespace: 'shop' }, spec: { template: { spec: { containers: [{ name: 'redis', image: 'redis:7.2' }] } } } };
    const result = compare([...synthesize(), redis], [...synthesize(), { ...redis, spec: { ...redis.spec, serviceName: 'other' } }]);
    expect(result.otherStatefulSets).toBe(1);
    expect(findingsOf(result)).toEqual([]);
  });
});

// --- the command, in this process ---

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'change-check-'));
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

function write(file: string, text: string): string {
  const full = path.join(tmp, file);
  fs.mkdirSync(path.dirname(full), { recursive: true });
  fs.writeFileSync(full, text);
  return full;
}

function run(argv: string[], options: { cwd?: string; stdin?: string; kubectl?: (args: string[]) => string; env?: NodeJS.ProcessEnv } = {}) {
  let stdout = '';
  let stderr = '';
  const status = main(argv, {
    cwd: options.cwd ?? tmp,
    env: options.env ?? {},
    stdout: (t) => { stdout += t; },
    stderr: (t) => { stderr += t; },
    readStdin: () => options.stdin ?? '',
    runKubectl: options.kubectl,
  });
  return { status, stdout, stderr };
}

describe('claims of their own and Jobs (what the API server refuses to change in place)', () => {
  const claimReport = (result: CheckResult) => result.objects.find((r) => r.id === 'PersistentVolumeClaim shop/orders-backups');

  test('with backups, a larger data volume grows the backup claim (twice its size by default): a note with the storage class check, next to the StatefulSet\'s steps', () => {
    const result = compare(synthesize({ backup: {} }), synthesize({ backup: {}, storage: Size.gibibytes(20) }));
    const report = claimReport(result)!;
    expect(report.findings.map((f) => [f.severity, f.title])).toEqual([['note', 'storage of PersistentVolumeClaim orders-backups: 20Gi -> 40Gi (grows)']]);
    expect(commands(report.findings[0])).toEqual([
      'kubectl -n shop get pvc orders-backups -o \'jsonpath={.spec.storageClassName}\'   # the class the claim got (the cluster\'s default when it was created)',
      'kubectl get storageclass \'<that class>\' -o \'jsonpath={.allowVolumeExpansion}\'',
    ]);
    expect(hasProblems(result)).toBe(true); // the StatefulSet's claim template
    const text = renderReport(result);
    expect(text).toContain('PersistentVolumeClaim shop/orders-backups (dist/shop.k8s.yaml)\n  [NOTE, claim grows] storage of PersistentVolumeClaim orders-backups: 20Gi -> 40Gi (grows)');
  });

  test('a smaller data volume would shrink the backup claim, another class would change it: both rejected, with the way out', () => {
    const shrunk = claimReport(compare(synthesize({ backup: {} }), synthesize({ backup: {}, storage: Size.gibibytes(5) })))!;
    expect(shrunk.findings.map((f) => [f.severity, f.title])).toEqual([['rejected', 'storage of PersistentVolumeClaim orders-backups: 20Gi -> 10Gi: shrinking a claim is impossible']]);
    const onClass = (storageClassName: string) => synthesize({ backup: { storage: BackupStorage.newClaim({ storageClassName }) } });
    const moved = claimReport(compare(onClass('fast'), onClass('slow')))!;
    expect(moved.findings.map((f) => [f.severity, f.title])).toEqual([['rejected', 'storageClassName of PersistentVolumeClaim orders-backups: "fast" -> "slow"']]);
    expect(moved.findings[0].steps[0].say).toContain('BackupStorage.newClaim()');
  });

  test('a class given up is rejected (the apply removes it, and the spec is immutable); one given where there was none is a note with the command to compare', () => {
    const onClass = (storageClassName?: string) => synthesize({ backup: { storage: BackupStorage.newClaim({ storageClassName }) } });
    const dropped = claimReport(compare(onClass('fast'), onClass(undefined)))!;
    expect(dropped.findings.map((f) => [f.severity, f.title])).toEqual([['rejected', 'storageClassName of PersistentVolumeClaim orders-backups: "fast" -> (not set)']]);
    const given = claimReport(compare(onClass(undefined), onClass('standard')))!;
    expect(given.findings.map((f) => [f.severity, f.title])).toEqual([['note', 'storageClassName of PersistentVolumeClaim orders-backups: (not set) -> "standard"']]);
    expect(commands(given.findings[0])).toEqual(['kubectl -n shop get pvc orders-backups -o \'jsonpath={.spec.storageClassName}\'']);
  });

  test('an unchanged backup claim, and the smoke test of a changed database (a new Job, by its name), report nothing', () => {
    const withTest = (props: PostgresStatefulSetProps) => synthesize({ backup: {}, ...props }, (chart, db) => new PostgresSmokeTest(chart, 'Smoke', { database: db }));
    const result = compare(withTest({}), withTest({ image: 'postgres:17.7', replicas: 3 }));
    expect(result.objects).toEqual([]);
    expect(hasProblems(compare(withTest({}), withTest({})))).toBe(false);
  });

  test('a Job of the app whose pod template changes under the same name: rejected, with the delete to run first', () => {
    const job = (image: string) => (chart: Chart) => new ApiObject(chart, 'Migrate', {
      apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'migrate' },
      spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'm', image }] } } },
    });
    const result = compare(synthesize({}, job('example/migrate:1')), synthesize({}, job('example/migrate:2')));
    expect(result.objects.map((r) => [r.id, r.findings.map((f) => [f.severity, f.title])])).toEqual([
      ['Job shop/migrate', [['rejected', 'the pod template of Job migrate changes']]],
    ]);
    expect(commands(result.objects[0].findings[0])).toEqual(['kubectl -n shop delete job migrate']);
    expect(hasProblems(result)).toBe(true);
    expect(renderReport(result)).toMatch(/Not safe to apply as it is: 1 change the API server rejects\./);
    // the same template with its keys in another order (a baseline not written by cdk8s) is no change
    const [job1] = synthesize({}, job('example/migrate:1')).filter((o) => o.kind === 'Job');
    const reordered = { ...job1, spec: { template: { spec: { containers: [{ image: 'example/migrate:1', name: 'm' }], restartPolicy: 'Never' } } } };
    expect(compare([...synthesize({}), reordered], [...synthesize({}), job1]).objects).toEqual([]);
  });
});

describe('the command', () => {
  test('a directory baseline: the report, the steps, exit 1; the same manifests: exit 0 and one line', () => {
    write('old/shop.k8s.yaml', Yaml.stringify(...synthesize()));
    write('dist/shop.k8s.yaml', Yaml.stringify(...synthesize({ storage: Size.gibibytes(20) })));
    const changed = run(['--baseline', 'old']);
    expect(changed.stderr).toBe('');
    expect(changed.status).toBe(1);
    expect(changed.stdout).toContain('StatefulSet shop/orders (dist/shop.k8s.yaml)\n  [REJECTED by the API server] storage of data: 10Gi -> 20Gi (grows)\n');
    expect(changed.stdout).toContain('      2. Grow each pod\'s claim');
    expect(changed.stdout).toContain('           kubectl -n shop patch pvc data-orders-1 -p \'{"spec":{"resources":{"requests":{"storage":"20Gi"}}}}\'\n');
    expect(changed.stdout).toMatch(/Not safe to apply as it is: 1 change the API server rejects\. 1 PostgreSQL StatefulSet of dist compared with old \(shop\/orders\)\.\n$/);

    const same = run(['--baseline', 'old', 'old']);
    expect(same).toEqual({ status: 0, stderr: '', stdout: 'No unsafe change: 1 PostgreSQL StatefulSet of old compared with old (shop/orders).\n' });
  });

  test('the git baseline (default: HEAD): the same paths as committed', () => {
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.com', ...args], { cwd: tmp, stdio: 'pipe' });
    git('init', '-q');
    write('dist/shop.k8s.yaml', Yaml.stringify(...synthesize()));
    write('dist/teams/teams.k8s.yaml', Yaml.stringify(...synthesize({ statefulSetName: 'team' })));
    write('dist/construct-metadata.json', '{"version": "1.0.0", "resources": {}}');
    git('add', '.');
    git('commit', '-q', '-m', 'baseline');
    expect(run([])).toMatchObject({ status: 0, stdout: 'No unsafe change: 2 PostgreSQL StatefulSets of dist compared with git HEAD:dist (shop/orders, shop/team).\n' });

    write('dist/shop.k8s.yaml', Yaml.stringify(...synthesize({ image: 'postgres:18.4' })));
    const changed = run([]);
    expect(changed.status).toBe(1);
    expect(changed.stdout).toContain('[UNSAFE, major version] image: postgres:17.6 -> postgres:18.4: PostgreSQL 17 -> 18 without the upgrade option');
    // a file, and a path from a subdirectory
    expect(run(['--git', 'HEAD', 'shop.k8s.yaml'], { cwd: path.join(tmp, 'dist') }).status).toBe(1);
    expect(run(['--git', 'HEAD', 'dist/teams']).status).toBe(0);

    git('commit', '-q', '-am', 'PostgreSQL 18');
    expect(run([]).status).toBe(0);
    expect(run(['--git', 'HEAD~1']).status).toBe(1);

    // <ref>:<path>: manifests synthesized elsewhere (cdk8s synth --output), against the committed dist
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'change-check-out-'));
    try {
      fs.writeFileSync(path.join(elsewhere, 'shop.k8s.yaml'), Yaml.stringify(...synthesize({ image: 'postgres:18.4', port: 5433 })));
      const other = run(['--git', 'HEAD:dist', elsewhere]);
      expect(other.status).toBe(1);
      expect(other.stdout).toContain('[UNSAFE, clients] port: 5432 -> 5433');
      expect(other.stdout).toMatch(/compared with git HEAD:dist \(shop\/orders\); 1 removed instance\.\n$/);
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
    // a committed path that the working tree no longer has
    fs.rmSync(path.join(tmp, 'dist', 'teams'), { recursive: true });
    expect(run(['--git', 'HEAD:dist/teams', 'dist']).stdout).toContain('Removed StatefulSet shop/team (git HEAD:dist/teams/teams.k8s.yaml)');
  });

  test('the live objects: kubectl is asked for the namespaces of the manifests, and the API server\'s defaults are no change', () => {
    // the recorded answer of `kubectl get statefulsets -o json -n shop`, for the app below (PostgreSQL 17, 10Gi on fast, 2 pods)
    const recorded = fs.readFileSync(KUBECTL_JSON, 'utf-8');
    const asked: string[][] = [];
    const kubectl = (args: string[]) => {
      asked.push(args);
      return recorded;
    };
    write('dist/shop.k8s.yaml', Yaml.stringify(...synthesize({ storage: Size.mebibytes(10240) })));
    const same = run(['--live'], { kubectl });
    expect(same.stderr).toBe('');
    expect(same.stdout).toBe('No unsafe change: 1 PostgreSQL StatefulSet of dist compared with kubectl get statefulsets -o json -n shop (shop/orders); '
      + '1 PostgreSQL StatefulSet in the cluster not in the manifests, not compared.\n');
    expect(same.status).toBe(0);
    expect(asked).toEqual([['get', 'statefulsets', '-o', 'json', '-n', 'shop']]);

    write('dist/shop.k8s.yaml', Yaml.stringify(...synthesize({ storage: Size.gibibytes(15), serviceName: 'orders-db' })));
    const changed = run(['--live', '--context', 'prod'], { kubectl });
    expect(asked[1]).toEqual(['get', 'statefulsets', '-o', 'json', '-n', 'shop', '--context', 'prod']);
    expect(changed.status).toBe(1);
    expect(changed.stdout).toContain('storage of data: 10Gi -> 15Gi (grows)');
    expect(changed.stdout).toContain('serviceName: orders -> orders-db');
    // no Services in a kubectl answer: the old headless Service is the one named
    expect(changed.stdout).toContain('kubectl -n shop delete service orders\n');
  });

  test('the same recorded kubectl document from standard input and from a file', () => {
    write('dist/shop.k8s.yaml', Yaml.stringify(...synthesize({ storage: Size.gibibytes(15) })));
    const recorded = fs.readFileSync(KUBECTL_JSON, 'utf-8');
    const fromStdin = run(['--baseline', '-'], { stdin: recorded });
    expect(fromStdin.status).toBe(1);
    expect(fromStdin.stdout).toContain('storage of data: 10Gi -> 15Gi (grows)');
    expect(fromStdin.stdout).toContain('compared with standard input');
    // a List is what kubectl prints: the cluster's other StatefulSets are not "removed"
    expect(fromStdin.stdout).toMatch(/; 1 PostgreSQL StatefulSet in the cluster not in the manifests, not compared\.\n$/);
    expect(fromStdin.stdout).not.toContain('Removed');
    const fromFile = run(['--baseline', KUBECTL_JSON]);
    expect(fromFile.stdout.replace(KUBECTL_JSON, 'standard input')).toBe(fromStdin.stdout);
  });

  test('manifests without a namespace are compared with the StatefulSet of that name in kubectl\'s current namespace', () => {
    const chart = new Chart(Testing.app(), 'shop');
    new PostgresStatefulSet(chart, 'Orders', { ...BASE, storage: Size.gibibytes(12) });
    write('dist/shop.k8s.yaml', Yaml.stringify(...Testing.synth(chart)));
    const asked: string[][] = [];
    const result = run(['--live'], { kubectl: (args) => { asked.push(args); return fs.readFileSync(KUBECTL_JSON, 'utf-8'); } });
    expect(asked).toEqual([['get', 'statefulsets', '-o', 'json']]);
    expect(result.stdout).toContain('StatefulSet orders (dist/shop.k8s.yaml)\n  [REJECTED by the API server] storage of data: 10Gi -> 12Gi (grows)');
    // the steps name the namespace the cluster reported
    expect(result.stdout).toContain('           kubectl -n shop patch pvc data-orders-0 -p');
  });

  describe('bad inputs get one clear line and exit 2, never a stack trace', () => {
    beforeEach(() => {
      write('dist/shop.k8s.yaml', Yaml.stringify(...synthesize()));
    });

    test.each([
      [['--baseline', 'missing'], 'cdk8s-postgres-statefulset-check: missing: no such file or directory\n'],
      [['--baseline', 'notes.txt'], 'cdk8s-postgres-statefulset-check: notes.txt holds no Kubernetes object (no document with apiVersion and kind): not a manifest\n'],
      [['--baseline', 'broken.yaml'], expect.stringMatching(/^cdk8s-postgres-statefulset-check: broken\.yaml is not valid YAML or JSON: .* at line 3, column 1:\n$/)],
      [['--baseline', 'truncated.json'], expect.stringMatching(/^cdk8s-postgres-statefulset-check: truncated\.json is not valid YAML or JSON: .+\n$/)],
      [['--baseline', 'image.png'], 'cdk8s-postgres-statefulset-check: image.png is not a text file, so not YAML or JSON\n'],
      [['--baseline', 'services.yaml'], 'cdk8s-postgres-statefulset-check: the baseline services.yaml holds no StatefulSet (only Service): nothing to compare with. '
        + 'A baseline is manifests as synthesized (dist/, or a git commit of it), or `kubectl get statefulsets -o json`.\n'],
      [['--baseline', 'empty'], 'cdk8s-postgres-statefulset-check: empty holds no .yaml, .yml or .json file\n'],
      [['--baseline', '-'], 'cdk8s-postgres-statefulset-check: standard input is empty: pipe manifests or `kubectl get statefulsets -o json` into it\n'],
      [['--baseline', 'old', 'nowhere'], 'cdk8s-postgres-statefulset-check: nowhere: no such file or directory\n'],
      [[], expect.stringMatching(/^cdk8s-postgres-statefulset-check: dist is not in a git repository \(pass the baseline with --baseline <dir> or --live\): fatal: not a git repository/)],
    ])('%j', (argv, message) => {
      write('notes.txt', 'remember to apply on Friday\n');
      write('broken.yaml', 'kind: StatefulSet\nmetadata: {name: [x\n');
      write('truncated.json', '{"apiVersion": "v1", "kind": "List", "items": [');
      write('image.png', '\u0089PNG\r\n\u001a\n\u0000\u0000\u0000\rIHDR');
      write('services.yaml', Yaml.stringify(...synthesize().filter((o) => o.kind === 'Service')));
      write('old/shop.k8s.yaml', Yaml.stringify(...synthesize()));
      fs.mkdirSync(path.join(tmp, 'empty'));
      write('empty/README', 'nothing here');
      const { status, stdout, stderr } = run(argv as string[], { cwd: tmp });
      expect({ status, stdout }).toEqual({ status: 2, stdout: '' });
      expect(stderr).toEqual(message);
      expect(stderr).not.toMatch(/\n\s+at /);
    });

    test('git: an unknown ref, and a path that was never committed', () => {
      execFileSync('git', ['init', '-q'], { cwd: tmp });
      expect(run([]).stderr).toBe('cdk8s-postgres-statefulset-check: git has no commit HEAD (no commit yet?)\n');
      execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '--allow-empty', '-m', 'empty'], { cwd: tmp });
      expect(run(['--git', 'v9']).stderr).toBe('cdk8s-postgres-statefulset-check: git has no commit v9\n');
      expect(run([])).toEqual({ status: 2, stdout: '', stderr: 'cdk8s-postgres-statefulset-check: git HEAD has no manifest at dist (is dist committed? `cdk8s init` apps ignore dist/ in .gitignore): '
        + 'nothing to compare with. Compare with the cluster instead (--live), or with a directory of the manifests last applied (--baseline <dir>).\n' });
    });

    test('kubectl: missing, failing, or answering something else than JSON', () => {
      expect(run(['--live'], { env: { KUBECTL: path.join(tmp, 'no-kubectl') } }).stderr)
        .toBe(`cdk8s-postgres-statefulset-check: ${path.join(tmp, 'no-kubectl')} not found: install kubectl or set KUBECTL to its path; or save \`kubectl get statefulsets -o json\` to a file and pass it with --baseline <file>\n`);
      const failing = write('failing-kubectl', '#!/bin/sh\necho "error: You must be logged in to the server (Unauthorized)" >&2\nexit 1\n');
      fs.chmodSync(failing, 0o755);
      expect(run(['--live'], { env: { KUBECTL: failing } }))
        .toEqual({ status: 2, stdout: '', stderr: `cdk8s-postgres-statefulset-check: ${failing} get statefulsets -o json -n shop failed: error: You must be logged in to the server (Unauthorized)\n` });
      expect(run(['--live'], { kubectl: () => 'No resources found in shop namespace.\n' }).stderr)
        .toBe('cdk8s-postgres-statefulset-check: the output of kubectl get statefulsets -o json -n shop is not a Kubernetes List or object: "No resources found in shop namespace."\n');
    });

    test('usage mistakes print the usage', () => {
      for (const argv of [['--baseline'], ['--frobnicate'], ['--live', '--baseline', 'old'], ['--context', 'prod']]) {
        const { status, stderr } = run(argv);
        expect(status).toBe(2);
        expect(stderr).toMatch(/^cdk8s-postgres-statefulset-check: .+\n\nUsage: cdk8s-postgres-statefulset-check/);
      }
    });
  });

  test('an empty kubectl answer is not an error: everything is new', () => {
    write('dist/shop.k8s.yaml', Yaml.stringify(...synthesize()));
    const result = run(['--live'], { kubectl: () => '{"apiVersion": "v1", "items": [], "kind": "List", "metadata": {"resourceVersion": ""}}' });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('[NOTE, new] new instance shop/orders');
  });
});

test('parseManifests reads kubectl\'s List and multi-document YAML alike', () => {
  expect(parseManifests(fs.readFileSync(KUBECTL_JSON, 'utf-8'), 'x').values.map((o: any) => o.metadata.name)).toEqual(['legacy-db', 'orders']);
  expect(parseManifests('a: 1\n---\n---\nb: 2\n', 'x')).toEqual({ values: [{ a: 1 }, { b: 2 }], listed: false });
});

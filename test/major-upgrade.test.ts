// Major version upgrades as they appear in the manifests. (What the scripts do to real
// PostgreSQL 15 and 18 data is in major-upgrade.pg.test.ts.)
import { Testing } from 'cdk8s';
import { MajorUpgradeMethod, PostgresMajorUpgrade, PostgresStatefulSet, PostgresStatefulSetProps } from '../lib';
import { StrictSchema } from '../validation/strict-schema';
import { container, envVar, errorOf, oneOfKind, podSpec, synth } from './util';

function manifestOf(props: PostgresStatefulSetProps = {}) {
  const chart = Testing.chart();
  const db = new PostgresStatefulSet(chart, 'Db', { statefulSetName: 'pg', ...props });
  return { db, manifest: synth(chart) };
}

function failure(props: PostgresStatefulSetProps): string {
  const chart = Testing.chart();
  new PostgresStatefulSet(chart, 'Db', props);
  return errorOf(() => synth(chart));
}

test('without the option: no init container, no annotation', () => {
  const spec = podSpec(manifestOf().manifest);
  expect(spec.initContainers).toBeUndefined();
  expect(oneOfKind(manifestOf().manifest, 'StatefulSet').spec.template.metadata.annotations).toBeUndefined();
});

test('the same OS release on both tags: pg_upgrade, with the old image\'s binaries copied by an init container of the old image', () => {
  // WHEN
  const { manifest } = manifestOf({ image: 'postgres:18.1-trixie', replicas: 3, majorUpgrade: PostgresMajorUpgrade.fromImage('postgres:17.6-trixie') });
  // THEN
  const sts = oneOfKind(manifest, 'StatefulSet');
  expect(sts.spec.replicas).toBe(1); // pod 0 alone until the option is removed
  expect(sts.spec.template.metadata.annotations).toEqual({ 'postgres-statefulset.io/upgrade-from-major': '17' });
  const [binaries, upgrade] = podSpec(manifest).initContainers;
  expect([binaries.name, binaries.image, binaries.command]).toEqual(['upgrade-binaries', 'postgres:17.6-trixie', ['sh', '/etc/postgres-statefulset/upgrade-binaries.sh']]);
  expect([upgrade.name, upgrade.image, upgrade.command]).toEqual(['upgrade', 'postgres:18.1-trixie', ['sh', '/etc/postgres-statefulset/upgrade.sh']]);
  for (const init of [binaries, upgrade]) {
    expect(envVar(init, 'UPGRADE_FROM_MAJOR').value).toBe('17');
    expect(envVar(init, 'UPGRADE_METHOD').value).toBe('pg_upgrade');
    expect(envVar(init, 'OLD_POSTGRES').value).toBe('/old-postgres');
    expect(envVar(init, 'PGDATA').value).toBe('/var/lib/postgresql/18/docker');
    expect(envVar(init, 'POSTGRES_STATEFULSET_DATA_MOUNT').value).toBe('/var/lib/postgresql');
    expect(init.volumeMounts).toContainEqual({ name: 'old-postgres', mountPath: '/old-postgres' });
    expect(init.securityContext).toEqual(container(manifest).securityContext);
  }
  expect(podSpec(manifest).volumes).toContainEqual({ name: 'old-postgres', emptyDir: {} });
  expect(Object.keys(oneOfKind(manifest, 'ConfigMap').data)).toEqual(expect.arrayContaining(['upgrade.sh', 'upgrade-binaries.sh']));
  const schema = new StrictSchema();
  expect(manifest.flatMap((o) => schema.validate(o))).toEqual([]);
});

test('images of different OS releases, or tags that do not name one: dump and restore, the dump by the old image', () => {
  const { manifest } = manifestOf({ majorUpgrade: PostgresMajorUpgrade.fromImage('postgres:16.4'), parameters: { shared_buffers: '256MB' } });
  const [dump, upgrade] = podSpec(manifest).initContainers;
  expect([dump.name, dump.image, upgrade.image]).toEqual(['upgrade-dump', 'postgres:16.4', 'postgres:18.4']);
  expect(envVar(upgrade, 'UPGRADE_METHOD').value).toBe('dump-and-restore');
  expect(envVar(dump, 'OLD_POSTGRES')).toBeUndefined();
  expect(upgrade.args).toEqual(['-c', 'shared_buffers=256MB']); // the new server restores with the instance's parameters
  expect(podSpec(manifest).volumes.find((v: any) => v.name === 'old-postgres')).toBeUndefined();
  // the method can be chosen
  const chosen = manifestOf({ image: 'postgres:18.1', majorUpgrade: PostgresMajorUpgrade.fromImageWith('postgres:17.6', MajorUpgradeMethod.PG_UPGRADE) });
  expect(podSpec(chosen.manifest).initContainers[0].name).toBe('upgrade-binaries');
});

test('bad upgrades are synth errors that show what was written', () => {
  expect(failure({ image: 'postgres:16.4', majorUpgrade: PostgresMajorUpgrade.fromImage('postgres:17.6') })).toContain(
    'PostgresStatefulSet: majorUpgrade upgrades from PostgreSQL 17, but the image runs PostgreSQL 16: only an older major can be upgraded, '
    + 'got PostgresMajorUpgrade.fromImage(\'postgres:17.6\')');
  expect(failure({ majorUpgrade: PostgresMajorUpgrade.fromImage('postgres') })).toContain(
    'PostgresStatefulSet: majorUpgrade names an image that has no tag, which means \'latest\' and changes under a running database');
  expect(failure({ majorUpgrade: PostgresMajorUpgrade.fromImage('postgres:17.6-alpine3.22') })).toContain(
    'majorUpgrade names an image whose postgres user (uid 70) is not the image\'s (uid 999): the data files belong to the old one');
  expect(failure({ image: 'postgres:18.1-trixie', majorUpgrade: PostgresMajorUpgrade.fromImageWith('postgres:17.6-bookworm', MajorUpgradeMethod.PG_UPGRADE) })).toContain(
    'majorUpgrade uses pg_upgrade between images of different operating system releases (bookworm, trixie): the old binaries need their own libraries, '
    + 'got PostgresMajorUpgrade.fromImageWith(\'postgres:17.6-bookworm\', MajorUpgradeMethod.PG_UPGRADE)');
  expect(failure({ majorUpgrade: PostgresMajorUpgrade.fromImage('example/custom-postgres:stable') })).toContain(
    'majorUpgrade names an image whose tag does not tell the PostgreSQL major version');
});

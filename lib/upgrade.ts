// Major version upgrades (internal): what `majorUpgrade` adds to the pod (init containers of the
// old and the new image, an emptyDir for the old binaries, an annotation naming the old major)
// and its rules. The scripts are in upgrade-scripts.ts.
import { parseImage, postgresUserId } from './image';
import { MajorUpgradeMethod, PostgresMajorUpgrade } from './major-upgrade';
import { Problems } from './problems';
import { PostgresStatefulSetProps } from './props';
import { EnvVar, VolumeMount } from './render/manifest';
import { dataEnv, dataMount, initContainer, passwordEnv, passwordMounts, PodContribution, tmpMounts } from './render/pod-template';
import { InstanceSpec, UpgradeSpec } from './resolve';
import { SCRIPTS_DIR } from './shell';
import * as scripts from './upgrade-scripts';

/** The pod template annotation that names the major the data is upgraded from (the change check reads it). */
export const UPGRADE_FROM_ANNOTATION = 'postgres-statefulset.io/upgrade-from-major';
const OLD_POSTGRES = '/old-postgres';

/** The operating system release an official image tag names (`17.6-trixie`, `18-alpine3.22`), if any. */
export function osRelease(image: string): string | undefined {
  const parsed = parseImage(image);
  const tag = typeof parsed === 'string' ? undefined : parsed.tag;
  return tag ? /-(trixie|bookworm|bullseye|buster|alpine(?:\d+(?:\.\d+)?)?)$/.exec(tag)?.[1] : undefined;
}

/** Resolves the option: the old major, and the method (pg_upgrade when both tags name the same OS release). */
export function resolveUpgrade(upgrade: PostgresMajorUpgrade | undefined, image: string): UpgradeSpec | undefined {
  if (!upgrade) {
    return undefined;
  }
  const parsed = parseImage(upgrade.oldImage);
  const from = osRelease(upgrade.oldImage);
  const sameRelease = from !== undefined && from === osRelease(image);
  return {
    fromImage: upgrade.oldImage,
    fromMajor: typeof parsed === 'string' ? undefined : parsed.majorVersion,
    method: upgrade.method ?? (sameRelease ? MajorUpgradeMethod.PG_UPGRADE : MajorUpgradeMethod.DUMP_AND_RESTORE),
  };
}

/** The rules of `majorUpgrade`. */
export function checkUpgrade(problems: Problems, spec: InstanceSpec, props: PostgresStatefulSetProps): void {
  const upgrade = spec.upgrade;
  const given = props.majorUpgrade;
  if (!upgrade || !given) {
    return;
  }
  const parsed = parseImage(upgrade.fromImage);
  if (typeof parsed === 'string') {
    problems.add('majorUpgrade', given, `names an image that ${parsed}`, 'name the image the data was written with, pinned, e.g. \'postgres:17.6-trixie\'');
    return;
  }
  if (upgrade.fromMajor === undefined) {
    problems.add('majorUpgrade', given, 'names an image whose tag does not tell the PostgreSQL major version', 'name the official tag the data was written with, e.g. \'postgres:17.6\'');
  } else if (spec.image.major !== undefined && upgrade.fromMajor >= spec.image.major) {
    problems.add('majorUpgrade', given, `upgrades from PostgreSQL ${upgrade.fromMajor}, but the image runs PostgreSQL ${spec.image.major}: only an older major can be upgraded`,
      'name the image the data was written with, and run a newer major; to go back, set the old image again (its data was kept)');
  } else if (upgrade.fromMajor < 10) {
    problems.add('majorUpgrade', given, 'upgrades from PostgreSQL before 10, which this library has never run', 'upgrade it with the tools of its own time first');
  }
  if (postgresUserId(upgrade.fromImage) !== postgresUserId(spec.image.reference)) {
    problems.add('majorUpgrade', given, `names an image whose postgres user (uid ${postgresUserId(upgrade.fromImage)}) is not the image's (uid ${postgresUserId(spec.image.reference)}): `
      + 'the data files belong to the old one', 'upgrade within the Debian-based or within the Alpine-based images');
  }
  const from = osRelease(upgrade.fromImage);
  const to = osRelease(spec.image.reference);
  if (given.method === MajorUpgradeMethod.PG_UPGRADE && from !== undefined && to !== undefined && from !== to) {
    problems.add('majorUpgrade', given, `uses pg_upgrade between images of different operating system releases (${from}, ${to}): the old binaries need their own libraries`,
      `use images of one release (e.g. '-${to}' for both), or MajorUpgradeMethod.DUMP_AND_RESTORE`);
  }
}

/** What the upgrade adds to the pod: the init containers of pod 0, before PostgreSQL starts. */
export function upgradeContribution(spec: InstanceSpec): PodContribution {
  const upgrade = spec.upgrade;
  if (!upgrade) {
    return {};
  }
  const pgUpgrade = upgrade.method === MajorUpgradeMethod.PG_UPGRADE;
  const script = (name: string) => ['sh', `${SCRIPTS_DIR}/${name}`];
  const env: EnvVar[] = [
    ...dataEnv(spec),
    { name: 'POSTGRES_STATEFULSET_DATA_MOUNT', value: spec.storage.mountPath },
    { name: 'POSTGRES_USER', value: spec.superuser.username },
    passwordEnv(spec),
    { name: 'UPGRADE_FROM_MAJOR', value: String(upgrade.fromMajor ?? '') },
    { name: 'UPGRADE_METHOD', value: upgrade.method },
    ...(pgUpgrade ? [{ name: 'OLD_POSTGRES', value: OLD_POSTGRES }] : []),
  ];
  const mounts: VolumeMount[] = [
    dataMount(spec),
    { name: 'scripts', mountPath: SCRIPTS_DIR, readOnly: true },
    ...tmpMounts(spec),
    ...passwordMounts(spec),
    ...(pgUpgrade ? [{ name: 'old-postgres', mountPath: OLD_POSTGRES }] : []),
  ];
  const container = (name: string, image: string, file: string, args?: string[]) => ({
    ...initContainer(spec, { name, command: script(file), args, env, volumeMounts: mounts, terminationMessagePolicy: 'FallbackToLogsOnError' }),
    image,
  });
  return {
    podAnnotations: { [UPGRADE_FROM_ANNOTATION]: String(upgrade.fromMajor ?? '') },
    scripts: {
      [scripts.UPGRADE_SCRIPT]: scripts.UPGRADE,
      ...(pgUpgrade ? { [scripts.BINARIES_SCRIPT]: scripts.BINARIES } : { [scripts.DUMP_SCRIPT]: scripts.DUMP }),
    },
    volumes: pgUpgrade ? [{ name: 'old-postgres', emptyDir: {} }] : [],
    initContainers: (pod) => [
      pgUpgrade
        ? container('upgrade-binaries', upgrade.fromImage, scripts.BINARIES_SCRIPT)
        : container('upgrade-dump', upgrade.fromImage, scripts.DUMP_SCRIPT),
      container('upgrade', spec.image.reference, scripts.UPGRADE_SCRIPT, pod.serverArgs.length > 0 ? pod.serverArgs : undefined),
    ],
  };
}

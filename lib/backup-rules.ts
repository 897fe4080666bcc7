// Validate: the rules of the `backup` and `restoreFrom` props (internal), registered in
// validate.ts's RULES. Like every rule they read the spec for their logic and show the caller's
// own value.
import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { BackupKind } from './backup';
import { BACKUP_MOUNT, RESTORE_MOUNT } from './backup-scripts';
import * as formats from './formats';
import { Problems } from './problems';
import { PostgresStatefulSetProps } from './props';
import { InstanceSpec } from './resolve';
import { kibibytes, millicores } from './resources';

interface Context {
  readonly spec: InstanceSpec;
  readonly props: PostgresStatefulSetProps;
  readonly problems: Problems;
}

const KINDS: string[] = Object.values(BackupKind);
const KIND_FIX = 'use BackupKind.LOGICAL or BackupKind.PHYSICAL';
/** A cron field: numbers, names, ranges, steps, lists, '*' and '?'. */
const CRON_FIELD = /^[0-9A-Za-z*?/,-]+$/;
const BACKUP_ID = /^\d{8}T\d{6}Z$/;
/** An IANA time zone name (`UTC`, `Europe/Berlin`, `America/Argentina/Buenos_Aires`, `Etc/GMT+1`). */
const TIME_ZONE = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/;

/** The rules of backups and restores. */
export function backupRules(context: Context): void {
  backup(context);
  restore(context);
  mountPath(context);
}

function backup({ spec, props, problems }: Context): void {
  const options = props.backup;
  const resolved = spec.backup;
  if (options === undefined || resolved === undefined) {
    return;
  }
  problems.check('backup.kind', options.kind, KINDS.includes(resolved.kind) ? undefined : 'must be a BackupKind', KIND_FIX);

  const fields = resolved.schedule.split(' ');
  if (fields.length !== 5 || !fields.every((field) => CRON_FIELD.test(field))) {
    problems.add('backup.schedule', resolved.schedule, 'must be a cron expression of five fields (minute, hour, day of month, month, day of week)',
      'use Cron.daily() or Cron.schedule({ minute: \'0\', hour: \'2\' })');
  } else if (fields[0] === '*') {
    problems.add('backup.schedule', resolved.schedule, 'runs every minute (the minute field is \'*\')',
      'give the minute, e.g. Cron.schedule({ minute: \'0\', hour: \'2\' }) for 02:00 every day');
  }
  if (options.timeZone !== undefined) {
    problems.check('backup.timeZone', options.timeZone, TIME_ZONE.test(options.timeZone) ? undefined : 'must be a name of the IANA time zone database',
      'use a name such as \'UTC\' or \'Europe/Berlin\'');
  }
  if (options.keepLast !== undefined) {
    problems.check('backup.keepLast', options.keepLast, Number.isInteger(options.keepLast) && options.keepLast >= 1 ? undefined
      : 'must be a whole number, 1 or more (the newest backup is always kept)', 'keep at least 1, e.g. 7');
  }
  if (options.keepDays !== undefined) {
    problems.check('backup.keepDays', options.keepDays, Number.isInteger(options.keepDays) && options.keepDays >= 1 ? undefined
      : 'must be a whole number of days, 1 or more', 'e.g. 30, or leave it unset to keep the newest keepLast backups only');
  }
  if (options.backoffLimit !== undefined) {
    problems.check('backup.backoffLimit', options.backoffLimit, Number.isInteger(options.backoffLimit) && options.backoffLimit >= 0 ? undefined
      : 'must be a whole number, 0 or more', 'e.g. 2');
  }
  if (options.deadline !== undefined) {
    problems.check('backup.deadline', options.deadline, formats.wholeSeconds(seconds(options.deadline), 60),
      'allow the longest backup you expect, e.g. Duration.hours(6)');
  }
  checkResources(problems, options.resources);

  const storage = options.storage;
  const create = resolved.claim.create;
  if (storage !== undefined) {
    if (storage.claimName !== undefined) {
      problems.check('backup.storage claimName', storage.claimName, formats.dns1123Subdomain(storage.claimName),
        'use the name of a PersistentVolumeClaim: lowercase letters, digits, \'-\' and \'.\'');
    }
    if (storage.storage !== undefined && kibibytes(storage.storage) <= 0) {
      problems.add('backup.storage storage', storage.storage, 'must be larger than zero', 'request room for keepLast backups, e.g. twice the data volume');
    }
    if (storage.storageClassName !== undefined) {
      problems.check('backup.storage storageClassName', storage.storageClassName, formats.dns1123Subdomain(storage.storageClassName),
        'use the name of a StorageClass (kubectl get storageclass), or leave it unset for the cluster default');
    }
    if (storage.accessModes !== undefined && storage.accessModes.length === 0) {
      problems.add('backup.storage accessModes', storage.accessModes, 'must not be empty', 'use [PersistentVolumeAccessMode.READ_WRITE_ONCE]');
    }
  }
  if (formats.dns1123Label(resolved.cronJobName, 52) !== undefined && formats.dns1123Label(spec.names.statefulSet, 52) === undefined) {
    const given = props.statefulSetName ?? props.metadata?.name;
    problems.add(given !== undefined ? 'statefulSetName' : 'statefulSetName (generated from the construct path)', spec.names.statefulSet,
      `leaves no room for the '-backup' suffix of the backup CronJob, whose name may have at most 52 characters ('${resolved.cronJobName}' has ${resolved.cronJobName.length})`,
      `${given !== undefined ? 'shorten' : 'set'} statefulSetName to 45 characters or fewer`);
  }

  if (resolved.walArchive) {
    if (resolved.kind !== BackupKind.PHYSICAL) {
      problems.add('backup.walArchive', options.walArchive, 'needs physical backups: point-in-time recovery replays the WAL from a base backup',
        'set kind: BackupKind.PHYSICAL, or remove walArchive');
    }
    const major = spec.image.major;
    if (major !== undefined && major < 12) {
      problems.add('backup.walArchive', options.walArchive, `needs PostgreSQL 12 or later (recovery.signal), but the image runs ${major}`,
        'use a newer image, or remove walArchive');
    }
    if (spec.replicas > 1 && create !== undefined && !create.accessModes.includes(kplus.PersistentVolumeAccessMode.READ_WRITE_MANY)) {
      problems.add('backup.walArchive', options.walArchive,
        `mounts the backup claim in every pod, but with replicas ${spec.replicas} the claim is ${create.accessModes.join(', ')}, which only the pods of one node can mount`,
        'give the claim accessModes: [PersistentVolumeAccessMode.READ_WRITE_MANY] (a storage class that supports it: NFS, CephFS, a cloud file service), or use one replica');
    }
  }
}

function restore({ spec, props, problems }: Context): void {
  const options = props.restoreFrom;
  const resolved = spec.restore;
  if (options === undefined || resolved === undefined) {
    return;
  }
  problems.check('restoreFrom.claimName', options.claimName, typeof options.claimName === 'string' ? formats.dns1123Subdomain(options.claimName)
    : 'must be the name of a PersistentVolumeClaim', 'name the claim that holds the backups, e.g. \'<statefulSetName>-backups\'');
  problems.check('restoreFrom.kind', options.kind, KINDS.includes(resolved.kind) ? undefined : 'must be a BackupKind', KIND_FIX);
  if (options.backup !== undefined) {
    problems.check('restoreFrom.backup', options.backup, BACKUP_ID.test(options.backup) ? undefined
      : 'must be the name of a backup\'s directory, its start time in UTC such as 20250131T020000Z',
    'list the backups on the claim (ls <statefulSetName>/<kind>/), or leave it unset for the newest');
  }
  if (options.sourceStatefulSetName !== undefined) {
    problems.check('restoreFrom.sourceStatefulSetName', options.sourceStatefulSetName, formats.dns1123Label(options.sourceStatefulSetName, 52),
      'name the StatefulSet whose backups these are');
  }
  const target = resolved.targetTime;
  if (target !== undefined) {
    if (target.postgres === undefined) {
      problems.add('restoreFrom.targetTime', target.given, 'must be a valid time in RFC 3339, with a time zone',
        'write it as \'2025-01-31T14:05:00Z\' or \'2025-01-31T15:05:00+01:00\'');
    }
    if (resolved.kind !== BackupKind.PHYSICAL) {
      problems.add('restoreFrom.targetTime', target.given, 'needs a physical backup and its WAL archive (a logical backup is one point in time)',
        'set kind: BackupKind.PHYSICAL, or remove targetTime');
    }
    const major = spec.image.major;
    if (major !== undefined && major < 12) {
      problems.add('restoreFrom.targetTime', target.given, `needs PostgreSQL 12 or later (recovery.signal), but the image runs ${major}`,
        'use a newer image');
    }
  }
}

/** The backup claims' mounts must not overlap the data volume's. */
function mountPath({ spec, problems }: Context): void {
  const mount = spec.storage.mountPath;
  const claims = [...(spec.backup?.walArchive ? [BACKUP_MOUNT] : []), ...(spec.restore ? [RESTORE_MOUNT] : [])];
  for (const claim of claims) {
    if (formats.samePath(mount, claim) || formats.isStrictSubdirectory(mount, claim) || formats.isStrictSubdirectory(claim, mount)) {
      problems.add('dataMountPath', mount, `overlaps ${claim}, where a backup claim is mounted`, 'mount the data volume elsewhere, e.g. /var/lib/postgresql/data');
    }
  }
}

function checkResources(problems: Problems, resources: kplus.ContainerResources | undefined): void {
  const { cpu, memory } = resources ?? {};
  if (cpu?.request && cpu.limit && millicores(cpu.request) > millicores(cpu.limit)) {
    problems.add('backup.resources.cpu.request', cpu.request.amount, `exceeds the CPU limit ${cpu.limit.amount}`, 'request at most the limit, or raise the limit');
  }
  if (memory?.request && memory.limit && kibibytes(memory.request) > kibibytes(memory.limit)) {
    problems.add('backup.resources.memory.request', memory.request, `exceeds the memory limit ${memory.limit.asString()}`,
      'request at most the limit, or raise the limit');
  }
}

function seconds(duration: Duration): number {
  return duration.toSeconds({ integral: false });
}

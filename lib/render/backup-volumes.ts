// Render: the volumes and environment of backups that more than one container needs (internal):
// the backup Job, the PostgreSQL container with a WAL archive, and the restore init container,
// whose temporary server archives as the PostgreSQL container does.
import * as scripts from '../backup-scripts';
import { BackupSpec } from '../resolve';
import { EnvVar, VolumeMount } from './manifest';

/** The volume of the backup scripts (the ConfigMap `<statefulSetName>-backup`). */
export const SCRIPTS_VOLUME = 'backup-scripts';
/** The volume of the backup claim, in the backup Job's pod and, with a WAL archive, in the database pods. */
export const BACKUP_VOLUME = 'backups';

/** Where a container that runs the server finds the WAL archive. */
export function walArchiveEnv(backup: BackupSpec): EnvVar[] {
  return [{ name: 'BACKUP_WAL_DIR', value: `${backup.directory}/wal` }];
}

/** The mounts a container that runs the server needs for the WAL archive: the claim and the archive script. */
export function walArchiveMounts(): VolumeMount[] {
  return [
    { name: BACKUP_VOLUME, mountPath: scripts.BACKUP_MOUNT },
    { name: SCRIPTS_VOLUME, mountPath: scripts.BACKUP_SCRIPTS_DIR, readOnly: true },
  ];
}

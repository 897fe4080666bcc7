// Backups and restores as they appear in the manifests. (What the scripts do to a real
// PostgreSQL is in backup.suite.ts.)
import { Chart, Cron, Duration, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { BackupKind, BackupStorage, PostgresCredentials, PostgresStatefulSet, PostgresStatefulSetProps } from '../lib';
import { StrictSchema } from '../validation/strict-schema';
import { allOfKind, container, envVar, errorOf, oneOfKind, podSpec, synth } from './util';

function manifestOf(props: PostgresStatefulSetProps = {}, namespace?: string) {
  const chart = new Chart(Testing.app(), 'test', { namespace });
  const db = new PostgresStatefulSet(chart, 'Db', { statefulSetName: 'pg', serviceName: 'pg-svc', ...props });
  return { db, manifest: synth(chart) };
}

function failure(props: PostgresStatefulSetProps): string {
  const chart = Testing.chart();
  new PostgresStatefulSet(chart, 'Db', props);
  return errorOf(() => synth(chart));
}

/** The backup Job's pod spec. */
function jobPod(manifest: any[]): any {
  return oneOfKind(manifest, 'CronJob').spec.jobTemplate.spec.template.spec;
}

/** Whether a selector selects a set of labels. */
function selects(selector: { [key: string]: string }, labels: { [key: string]: string } = {}): boolean {
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

describe('without backup and restoreFrom', () => {
  test('nothing of either is rendered', () => {
    const { db, manifest } = manifestOf();
    expect(manifest.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'Service', 'StatefulSet']); // the scripts ConfigMap
    expect(JSON.stringify(manifest.filter((o) => o.kind !== 'ConfigMap'))).not.toMatch(/backup|restore|archive/i);
    expect(Object.keys(oneOfKind(manifest, 'ConfigMap').data).filter((k) => /backup|restore|archive/.test(k))).toEqual([]);
    expect(db.backup).toBeUndefined();
  });
});

describe('scheduled backups', () => {
  test('logical by default: a CronJob running the instance\'s image daily with its superuser by secretKeyRef, one at a time, to a claim twice the data volume', () => {
    const { db, manifest } = manifestOf({ backup: {}, storage: Size.gibibytes(5) }, 'shop');
    expect(manifest.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'ConfigMap', 'CronJob', 'PersistentVolumeClaim', 'Service', 'StatefulSet']);

    const cronJob = oneOfKind(manifest, 'CronJob', 'pg-backup');
    expect(cronJob.metadata.namespace).toBe('shop');
    expect(cronJob.spec).toMatchObject({
      schedule: '0 0 * * *', concurrencyPolicy: 'Forbid', startingDeadlineSeconds: 21600,
      successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 3,
    });
    expect(cronJob.spec.timeZone).toBeUndefined();
    expect(cronJob.spec.jobTemplate.spec).toMatchObject({ backoffLimit: 2, activeDeadlineSeconds: 21600 });
    const pod = jobPod(manifest);
    expect(pod.restartPolicy).toBe('Never');
    expect(pod.automountServiceAccountToken).toBe(false);
    const [backup] = pod.containers;
    expect(backup.image).toBe('postgres:18.4');
    expect(backup.command).toEqual(['sh', '/etc/postgres-statefulset-backup/backup.sh']);
    expect(db.backup?.command).toEqual(backup.command);
    expect(Object.fromEntries(backup.env.filter((e: any) => e.value !== undefined).map((e: any) => [e.name, e.value]))).toEqual({
      BACKUP_KIND: 'logical', BACKUP_DIR: '/backups/pg', BACKUP_PRIMARY: 'pg-0.pg-svc:5432', BACKUP_KEEP_LAST: '7',
      PGUSER: 'postgres', PGAPPNAME: 'postgres-statefulset-backup', PGCONNECT_TIMEOUT: '10', HOME: '/tmp',
    });
    expect(envVar(backup, 'PGPASSWORD')).toEqual({ name: 'PGPASSWORD', valueFrom: { secretKeyRef: { name: db.secretName, key: 'POSTGRES_PASSWORD' } } });
    expect(backup.resources).toEqual({ requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '1Gi' } });
    expect(backup.volumeMounts).toEqual([
      { name: 'backups', mountPath: '/backups' },
      { name: 'backup-scripts', mountPath: '/etc/postgres-statefulset-backup', readOnly: true },
      { name: 'tmp', mountPath: '/tmp' },
    ]);
    expect(pod.volumes).toEqual([
      { name: 'backups', persistentVolumeClaim: { claimName: 'pg-backups' } },
      { name: 'backup-scripts', configMap: { name: 'pg-backup' } },
      { name: 'tmp', emptyDir: {} },
    ]);
    expect(Object.keys(oneOfKind(manifest, 'ConfigMap', 'pg-backup').data).sort()).toEqual(['archive-wal.sh', 'backup-hba.sh', 'backup.sh']);

    const claim = oneOfKind(manifest, 'PersistentVolumeClaim', 'pg-backups');
    expect(claim.spec).toEqual({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } } });
    expect([db.backup?.claimName, db.backup?.cronJobName, db.backup?.kind, db.backup?.directory]).toEqual(['pg-backups', 'pg-backup', BackupKind.LOGICAL, 'pg']);
    expect(db.backup?.claim).toBeDefined();
  });

  test('the Job\'s pod has the database pods\' user, group and fsGroup and restricted security context, so the claim is writable alike', () => {
    for (const image of ['postgres:17.6', 'postgres:17.6-alpine3.22']) {
      const { manifest } = manifestOf({ image, backup: {} });
      const pod = jobPod(manifest);
      expect(pod.securityContext).toEqual(podSpec(manifest).securityContext);
      expect(pod.containers[0].securityContext).toEqual(container(manifest).securityContext);
      expect(pod.containers[0].image).toBe(image);
    }
    expect(jobPod(manifestOf({ image: 'postgres:17.6-alpine3.22', backup: {} }).manifest).securityContext.fsGroup).toBe(70);
    // outside the restricted profile, the ids given, as for the database pods
    const open = manifestOf({ restrictedSecurityContext: false, runAsUser: 26, backup: {} }).manifest;
    expect(jobPod(open).securityContext).toEqual({ runAsUser: 26 });
    expect(jobPod(open).securityContext).toEqual(podSpec(open).securityContext);
  });

  test('no backup object carries the selector labels: no Service or StatefulSet selects a Job pod, and the README\'s `kubectl delete pvc -l <selector>` leaves the backups', () => {
    const { db, manifest } = manifestOf({ replicas: 2, labels: { team: 'shop', 'app.kubernetes.io/name': 'postgresql' }, backup: {} });
    const selectors = [oneOfKind(manifest, 'StatefulSet').spec.selector.matchLabels, ...allOfKind(manifest, 'Service').map((s) => s.spec.selector)];
    const pod = oneOfKind(manifest, 'CronJob').spec.jobTemplate.spec.template;
    for (const selector of selectors) {
      expect(selects(selector, pod.metadata.labels)).toBe(false);
      expect(selects(selector, oneOfKind(manifest, 'PersistentVolumeClaim').metadata.labels)).toBe(false);
    }
    expect(selects(db.selectorLabels, oneOfKind(manifest, 'CronJob').metadata.labels)).toBe(false);
    expect(pod.metadata.labels.team).toBe('shop'); // the caller's other labels apply
    expect(pod.metadata.labels['app.kubernetes.io/component']).toBe('backup');
  });

  test('logical backups add only hot_standby_feedback to the database pods, whatever replicas is (raising replicas changes nothing in the pod template)', () => {
    const plain = oneOfKind(manifestOf().manifest, 'StatefulSet');
    const withBackups = oneOfKind(manifestOf({ backup: { kind: BackupKind.LOGICAL } }).manifest, 'StatefulSet');
    expect(withBackups.spec.template.spec.containers[0].args).toEqual(['postgres', '-c', 'hot_standby_feedback=on']);
    withBackups.spec.template.spec.containers[0].args = plain.spec.template.spec.containers[0].args;
    expect(withBackups).toEqual(plain);
    const scaled = oneOfKind(manifestOf({ replicas: 3, backup: { kind: BackupKind.LOGICAL } }).manifest, 'StatefulSet');
    expect(scaled.spec.template).toEqual(oneOfKind(manifestOf({ backup: { kind: BackupKind.LOGICAL } }).manifest, 'StatefulSet').spec.template);
  });

  test('with standbys, the Job tries them first (in ordinal order), and a standby keeps the rows a dump reads (hot_standby_feedback)', () => {
    const { manifest } = manifestOf({ replicas: 3, backup: {} });
    const env = jobPod(manifest).containers[0].env;
    expect(envVar({ env }, 'BACKUP_STANDBYS').value).toBe('pg-1.pg-svc:5432 pg-2.pg-svc:5432');
    expect(envVar({ env }, 'BACKUP_PRIMARY').value).toBe('pg-0.pg-svc:5432');
    expect(container(manifest).args).toContain('hot_standby_feedback=on');

    const primaryOnly = manifestOf({ replicas: 3, backup: { preferStandby: false } }).manifest;
    expect(envVar(jobPod(primaryOnly).containers[0], 'BACKUP_STANDBYS')).toBeUndefined();
    // physical backups copy files: no feedback needed
    expect(container(manifestOf({ replicas: 3, backup: { kind: BackupKind.PHYSICAL } }).manifest).args).not.toContain('hot_standby_feedback=on');
    // the caller's parameters win
    expect(container(manifestOf({ replicas: 3, backup: {}, parameters: { hot_standby_feedback: 'off' } }).manifest).args).toContain('hot_standby_feedback=off');
  });

  test('physical backups admit the superuser\'s replication connections: a start step on every start, an initdb script for a new volume', () => {
    const { manifest } = manifestOf({ replicas: 2, backup: { kind: BackupKind.PHYSICAL } });
    expect(envVar(jobPod(manifest).containers[0], 'BACKUP_KIND').value).toBe('physical');
    const c = container(manifest);
    expect(envVar(c, 'POSTGRES_STATEFULSET_START_STEPS').value.split(':').pop()).toBe('/etc/postgres-statefulset-backup/backup-hba.sh');
    expect(c.volumeMounts).toContainEqual({ name: 'backup-scripts', mountPath: '/etc/postgres-statefulset-backup', readOnly: true });
    const initdb = podSpec(manifest).volumes.find((v: any) => v.name === 'initdb').projected.sources;
    expect(initdb).toContainEqual({
      configMap: { name: 'pg-backup', items: [{ key: 'backup-hba.sh', path: '00-postgres-statefulset-backup.sh', mode: 0o555 }] },
    });
    // the database pods do not mount the claim without a WAL archive
    expect(podSpec(manifest).volumes.map((v: any) => v.name)).not.toContain('backups');
  });

  test('a WAL archive: the pods mount the claim and archive to it; with a claim one node mounts, the Job runs beside pod 0', () => {
    const { manifest } = manifestOf({ backup: { kind: BackupKind.PHYSICAL, walArchive: true } });
    const c = container(manifest);
    expect(c.args).toEqual(expect.arrayContaining([
      'archive_command=sh /etc/postgres-statefulset-backup/archive-wal.sh %p %f', 'archive_mode=on', 'archive_timeout=5min',
    ]));
    expect(envVar(c, 'BACKUP_WAL_DIR').value).toBe('/backups/pg/wal');
    expect(c.volumeMounts).toContainEqual({ name: 'backups', mountPath: '/backups' });
    expect(podSpec(manifest).volumes).toContainEqual({ name: 'backups', persistentVolumeClaim: { claimName: 'pg-backups' } });
    expect(envVar(jobPod(manifest).containers[0], 'BACKUP_WAL_ARCHIVE').value).toBe('1');
    expect(jobPod(manifest).affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]).toEqual({
      topologyKey: 'kubernetes.io/hostname',
      labelSelector: { matchLabels: { ...oneOfKind(manifest, 'StatefulSet').spec.selector.matchLabels, 'statefulset.kubernetes.io/pod-name': 'pg-0' } },
    });
    // archive_timeout is a default the caller overrides
    expect(container(manifestOf({ backup: { kind: BackupKind.PHYSICAL, walArchive: true }, parameters: { archive_timeout: '60' } }).manifest).args)
      .toContain('archive_timeout=60');

    const shared = manifestOf({
      replicas: 3,
      backup: { kind: BackupKind.PHYSICAL, walArchive: true, storage: BackupStorage.newClaim({ accessModes: [kplus.PersistentVolumeAccessMode.READ_WRITE_MANY] }) },
    }).manifest;
    expect(jobPod(shared).affinity).toBeUndefined();
  });

  test('the schedule, time zone, retention, deadline, retries and resources as given', () => {
    const { manifest } = manifestOf({
      backup: {
        schedule: Cron.schedule({ minute: '30', hour: '2', weekDay: '1-5' }), timeZone: 'Europe/Berlin', keepLast: 3, keepDays: 30,
        deadline: Duration.hours(1), backoffLimit: 0,
        resources: { cpu: { request: kplus.Cpu.millis(500) }, memory: { request: Size.mebibytes(512), limit: Size.mebibytes(512) } },
      },
    });
    const cronJob = oneOfKind(manifest, 'CronJob');
    expect(cronJob.spec).toMatchObject({ schedule: '30 2 * * 1-5', timeZone: 'Europe/Berlin', startingDeadlineSeconds: 3600 });
    expect(cronJob.spec.jobTemplate.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 3600 });
    const backup = jobPod(manifest).containers[0];
    expect(envVar(backup, 'BACKUP_KEEP_LAST').value).toBe('3');
    expect(envVar(backup, 'BACKUP_KEEP_DAYS').value).toBe('30');
    expect(backup.resources).toEqual({ requests: { cpu: '500m', memory: '512Mi' }, limits: { memory: '512Mi' } });
  });

  test('a claim with the size, class, access modes and name given; or an existing claim, which is not rendered', () => {
    const created = manifestOf({
      backup: { storage: BackupStorage.newClaim({ claimName: 'orders-dumps', storage: Size.gibibytes(50), storageClassName: 'retained-ssd' }) },
    });
    expect(oneOfKind(created.manifest, 'PersistentVolumeClaim', 'orders-dumps').spec).toEqual({
      accessModes: ['ReadWriteOnce'], storageClassName: 'retained-ssd', resources: { requests: { storage: '50Gi' } },
    });
    expect(created.db.backup?.claimName).toBe('orders-dumps');

    const existing = manifestOf({ backup: { storage: BackupStorage.existingClaim('nfs-backups') } });
    expect(allOfKind(existing.manifest, 'PersistentVolumeClaim')).toEqual([]);
    expect(jobPod(existing.manifest).volumes[0]).toEqual({ name: 'backups', persistentVolumeClaim: { claimName: 'nfs-backups' } });
    expect(existing.db.backup?.claim).toBeUndefined();
    // twice the data volume in the unit that keeps it whole
    expect(oneOfKind(manifestOf({ backup: {}, storage: Size.mebibytes(768) }).manifest, 'PersistentVolumeClaim').spec.resources.requests.storage).toBe('1536Mi');
  });

  test('with a NetworkPolicy, the backup Job\'s pods are admitted to the PostgreSQL port', () => {
    const { manifest } = manifestOf({ allowedClients: [], backup: {} });
    const policy = oneOfKind(manifest, 'NetworkPolicy');
    const podLabels = oneOfKind(manifest, 'CronJob').spec.jobTemplate.spec.template.metadata.labels;
    const admitted = policy.spec.ingress.flatMap((rule: any) => rule.from.map((peer: any) => peer.podSelector?.matchLabels));
    expect(admitted).toContainEqual(podLabels);
  });
});

describe('restoreFrom', () => {
  test('pod 0 restores in an init container that runs first, with the server\'s arguments, the claim read-only, the instance\'s initdb settings', () => {
    const { manifest } = manifestOf({
      replicas: 2, parameters: { shared_buffers: '256MB' },
      restoreFrom: { claimName: 'orders-backups', kind: BackupKind.PHYSICAL, backup: '20250131T020000Z', sourceStatefulSetName: 'orders' },
    });
    const pod = podSpec(manifest);
    expect(pod.initContainers.map((c: any) => c.name)).toEqual(['restore']);
    const [restore] = pod.initContainers;
    const main = container(manifest);
    expect(restore.image).toBe(main.image);
    expect(restore.securityContext).toEqual(main.securityContext);
    expect(restore.resources).toEqual(main.resources);
    expect(restore.command).toEqual(['sh', '/etc/postgres-statefulset-restore/restore.sh']);
    expect(restore.args).toEqual(main.args.slice(1));
    const values = Object.fromEntries(restore.env.filter((e: any) => e.value !== undefined).map((e: any) => [e.name, e.value]));
    expect(values).toEqual({
      PGDATA: '/var/lib/postgresql/18/docker', PGPORT: '5432', POSTGRES_USER: 'postgres', POSTGRES_DB: 'postgres', POSTGRES_INITDB_ARGS: '--data-checksums',
      POSTGRES_REPLICATION_USER: 'replicator', RESTORE_DIR: '/restore/orders', RESTORE_KIND: 'physical', RESTORE_BACKUP: '20250131T020000Z',
    });
    expect(envVar(restore, 'POSTGRES_PASSWORD')).toEqual(envVar(main, 'POSTGRES_PASSWORD'));
    expect(envVar(restore, 'POSTGRES_REPLICATION_PASSWORD')).toEqual(envVar(main, 'POSTGRES_REPLICATION_PASSWORD'));
    expect(restore.volumeMounts).toEqual(expect.arrayContaining([
      { name: 'data', mountPath: '/var/lib/postgresql' },
      { name: 'restore-source', mountPath: '/restore', readOnly: true },
      { name: 'restore-scripts', mountPath: '/etc/postgres-statefulset-restore', readOnly: true },
      { name: 'tmp', mountPath: '/tmp' },
      { name: 'shm', mountPath: '/dev/shm' },
    ]));
    expect(pod.volumes).toContainEqual({ name: 'restore-source', persistentVolumeClaim: { claimName: 'orders-backups', readOnly: true } });
    expect(Object.keys(oneOfKind(manifest, 'ConfigMap', 'pg-restore').data).sort()).toEqual(['restore-wal.sh', 'restore.sh']);
    // the PostgreSQL container itself does not mount it
    expect(main.volumeMounts.map((m: any) => m.name)).not.toContain('restore-source');
    // every pod mounts the claim, which may be ReadWriteOnce (one node): each pod is scheduled beside a running one, not spread
    const sts = oneOfKind(manifest, 'StatefulSet');
    expect(pod.affinity).toEqual({
      podAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: sts.spec.selector.matchLabels } }],
      },
    });
    // and once restoreFrom goes, the pods spread again
    expect(podSpec(manifestOf({ replicas: 2 }).manifest).affinity).toEqual({ podAntiAffinity: expect.anything() });
  });

  test('a point in time reaches the script in UTC, as PostgreSQL reads it at start, and in seconds since the epoch', () => {
    const { manifest } = manifestOf({ restoreFrom: { claimName: 'pg-backups', kind: BackupKind.PHYSICAL, targetTime: '2025-01-31T15:05:00.5+01:00' } });
    const [restore] = podSpec(manifest).initContainers;
    expect(envVar(restore, 'RESTORE_TARGET_TIME').value).toBe('2025-01-31 14:05:00.500+00');
    expect(envVar(restore, 'RESTORE_TARGET_EPOCH').value).toBe(String(Date.UTC(2025, 0, 31, 14, 5, 0) / 1000));
  });

  test('restoring from the claim the instance archives its WAL to: one volume, mounted read-only for the restore and read-write for the archive', () => {
    const { manifest } = manifestOf({
      backup: { kind: BackupKind.PHYSICAL, walArchive: true },
      restoreFrom: { claimName: 'pg-backups', kind: BackupKind.PHYSICAL },
    });
    const pod = podSpec(manifest);
    expect(pod.volumes.filter((v: any) => v.persistentVolumeClaim)).toEqual([{ name: 'backups', persistentVolumeClaim: { claimName: 'pg-backups' } }]);
    const [restore] = pod.initContainers;
    expect(restore.volumeMounts).toEqual(expect.arrayContaining([
      { name: 'backups', mountPath: '/restore', readOnly: true },
      { name: 'backups', mountPath: '/backups' },
      { name: 'backup-scripts', mountPath: '/etc/postgres-statefulset-backup', readOnly: true },
    ]));
    expect(envVar(restore, 'BACKUP_WAL_DIR').value).toBe('/backups/pg/wal');
    // that claim is ReadWriteMany with more than one pod: they may spread
    expect(pod.affinity).toEqual({ podAntiAffinity: expect.anything() });
  });
});

describe('every object matches the Kubernetes 1.27 schema', () => {
  test('with every backup and restore option set', () => {
    const schema = new StrictSchema('1.27.0');
    const chart = new Chart(Testing.app(), 'test', { namespace: 'db' });
    new PostgresStatefulSet(chart, 'Db', {
      statefulSetName: 'pg', replicas: 2, allowedClients: [], passwordAsFile: true,
      credentials: PostgresCredentials.fromPassword('x'), replicationCredentials: PostgresCredentials.fromPassword('y'),
      backup: {
        kind: BackupKind.PHYSICAL, schedule: Cron.schedule({ minute: '15', hour: '*/6' }), timeZone: 'UTC', keepLast: 4, keepDays: 7,
        walArchive: true, preferStandby: true, deadline: Duration.hours(2), backoffLimit: 1,
        storage: BackupStorage.newClaim({
          claimName: 'pg-archive', storage: Size.gibibytes(100), storageClassName: 'nfs', accessModes: [kplus.PersistentVolumeAccessMode.READ_WRITE_MANY],
        }),
        resources: { cpu: { request: kplus.Cpu.millis(200), limit: kplus.Cpu.units(1) }, memory: { request: Size.mebibytes(128), limit: Size.mebibytes(256) } },
      },
      restoreFrom: { claimName: 'old-backups', kind: BackupKind.PHYSICAL, sourceStatefulSetName: 'orders', targetTime: '2025-01-31T14:05:00Z' },
    });
    new PostgresStatefulSet(chart, 'Logical', { statefulSetName: 'logical', backup: { storage: BackupStorage.existingClaim('shared') }, restoreFrom: { claimName: 'shared' } });
    const manifest = synth(chart);
    expect(new Set(manifest.map((o) => o.kind))).toEqual(new Set([
      'ConfigMap', 'CronJob', 'NetworkPolicy', 'PersistentVolumeClaim', 'PodDisruptionBudget', 'Secret', 'Service', 'StatefulSet',
    ]));
    expect(manifest.flatMap((o) => schema.validate(o).map((p) => `${o.kind}/${o.metadata?.name}${p}`))).toEqual([]);
  });
});

describe('mistakes are reported at synth, all at once, with the value and the fix', () => {
  test.each<[string, PostgresStatefulSetProps, string]>([
    ['a WAL archive of logical backups', { backup: { walArchive: true } },
      'backup.walArchive needs physical backups: point-in-time recovery replays the WAL from a base backup, got true. Fix: set kind: BackupKind.PHYSICAL'],
    ['a WAL archive on a claim one node mounts, with standbys', { replicas: 2, backup: { kind: BackupKind.PHYSICAL, walArchive: true } },
      'backup.walArchive mounts the backup claim in every pod, but with replicas 2 the claim is ReadWriteOnce, which only the pods of one node can mount, got true. '
      + 'Fix: give the claim accessModes: [PersistentVolumeAccessMode.READ_WRITE_MANY]'],
    ['a WAL archive before PostgreSQL 12', { image: 'postgres:11.22', backup: { kind: BackupKind.PHYSICAL, walArchive: true } },
      'backup.walArchive needs PostgreSQL 12 or later (recovery.signal), but the image runs 11'],
    ['a schedule that runs every minute', { backup: { schedule: Cron.schedule({ hour: '2' }) } },
      'backup.schedule runs every minute (the minute field is \'*\'), got \'* 2 * * *\'. Fix: give the minute'],
    ['a schedule that is not five fields', { backup: { schedule: Cron.schedule({ minute: '0 2', hour: '3' }) } },
      'backup.schedule must be a cron expression of five fields (minute, hour, day of month, month, day of week), got \'0 2 3 * * *\''],
    ['a time zone that is not a name', { backup: { timeZone: 'UTC+1 hour' } }, 'backup.timeZone must be a name of the IANA time zone database, got \'UTC+1 hour\''],
    ['keepLast 0', { backup: { keepLast: 0 } }, 'backup.keepLast must be a whole number, 1 or more (the newest backup is always kept), got 0'],
    ['keepDays 1.5', { backup: { keepDays: 1.5 } }, 'backup.keepDays must be a whole number of days, 1 or more, got 1.5'],
    ['a negative backoffLimit', { backup: { backoffLimit: -1 } }, 'backup.backoffLimit must be a whole number, 0 or more, got -1'],
    ['a deadline under a minute', { backup: { deadline: Duration.seconds(30) } }, 'backup.deadline must be at least 60 seconds, got 30 seconds'],
    ['requests above limits', { backup: { resources: { memory: { request: Size.gibibytes(2), limit: Size.gibibytes(1) } } } },
      'backup.resources.memory.request exceeds the memory limit 1Gi, got 2Gi'],
    ['a claim of no size', { backup: { storage: BackupStorage.newClaim({ storage: Size.gibibytes(0) }) } }, 'backup.storage storage must be larger than zero, got 0Gi'],
    ['a claim name that is not a name', { backup: { storage: BackupStorage.existingClaim('My Backups') } },
      'backup.storage claimName must be a DNS-1123 subdomain'],
    ['a StatefulSet name that leaves no room for the CronJob\'s suffix', { statefulSetName: 'a'.repeat(50), backup: {} },
      `statefulSetName leaves no room for the '-backup' suffix of the backup CronJob, whose name may have at most 52 characters ('${'a'.repeat(50)}-backup' has 57), `
      + `got '${'a'.repeat(50)}'. Fix: shorten statefulSetName to 45 characters or fewer`],
    ['a data volume mounted where the claim goes', { image: 'postgres:17.6', dataMountPath: '/restore', restoreFrom: { claimName: 'b' } },
      'dataMountPath overlaps /restore, where a backup claim is mounted, got \'/restore\''],
    ['a restore claim that is not a name', { restoreFrom: { claimName: '' } }, 'restoreFrom.claimName must be a DNS-1123 subdomain'],
    ['a backup id that is not one', { restoreFrom: { claimName: 'b', backup: 'latest' } },
      'restoreFrom.backup must be the name of a backup\'s directory, its start time in UTC such as 20250131T020000Z, got \'latest\''],
    ['a source that is not a StatefulSet name', { restoreFrom: { claimName: 'b', sourceStatefulSetName: 'Orders' } },
      'restoreFrom.sourceStatefulSetName must be a DNS-1123 label'],
    ['a target time without a time zone', { restoreFrom: { claimName: 'b', kind: BackupKind.PHYSICAL, targetTime: '2025-01-31 14:05:00' } },
      'restoreFrom.targetTime must be a valid time in RFC 3339, with a time zone, got \'2025-01-31 14:05:00\''],
    ['a target time on a day that does not exist', { restoreFrom: { claimName: 'b', kind: BackupKind.PHYSICAL, targetTime: '2025-02-30T14:05:00Z' } },
      'restoreFrom.targetTime must be a valid time in RFC 3339, with a time zone, got \'2025-02-30T14:05:00Z\''],
    ['a target time for a logical backup', { restoreFrom: { claimName: 'b', targetTime: '2025-01-31T14:05:00Z' } },
      'restoreFrom.targetTime needs a physical backup and its WAL archive (a logical backup is one point in time), got \'2025-01-31T14:05:00Z\''],
  ])('%s', (_what, props, message) => {
    expect(failure(props)).toContain(`[test/Db] PostgresStatefulSet: ${message}`);
  });

  test('every problem at once', () => {
    const message = failure({
      backup: { keepLast: 0, walArchive: true, storage: BackupStorage.newClaim({ claimName: 'Backups', storage: Size.gibibytes(0) }) },
      restoreFrom: { claimName: 'b', backup: 'x' },
    });
    for (const prop of ['backup.keepLast', 'backup.walArchive', 'backup.storage claimName', 'backup.storage storage', 'restoreFrom.backup']) {
      expect(message).toContain(`PostgresStatefulSet: ${prop} `);
    }
  });

  test('two instances creating the same backup claim', () => {
    const chart = Testing.chart();
    new PostgresStatefulSet(chart, 'A', { backup: { storage: BackupStorage.newClaim({ claimName: 'backups' }) } });
    new PostgresStatefulSet(chart, 'B', { backup: { storage: BackupStorage.newClaim({ claimName: 'backups' }) } });
    expect(errorOf(() => synth(chart))).toContain('[test/B] PostgresStatefulSet: backup.storage claimName names the PersistentVolumeClaim that test/A writes too, got \'backups\'');
  });
});

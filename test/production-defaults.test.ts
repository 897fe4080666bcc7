// The production defaults as they appear in the manifests, and the props that change or
// switch them off. (What they do to a real PostgreSQL is in production-defaults.pg.test.ts.)
import { Duration, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { ClaimRetentionPolicy, PostgresCredentials, PostgresStatefulSet, PostgresStatefulSetProps } from '../lib';
import { PostgresqlExerciseChart } from '../main';
import { restrictedViolations } from './pod-security';
import { allOfKind, container, envVar, errorOf, oneOfKind, podSpec, synth } from './util';

function manifestOf(props: PostgresStatefulSetProps = {}) {
  const chart = Testing.chart();
  const db = new PostgresStatefulSet(chart, 'Db', props);
  return { db, manifest: synth(chart) };
}

function failure(props: PostgresStatefulSetProps): string {
  const chart = Testing.chart();
  new PostgresStatefulSet(chart, 'Db', props);
  return errorOf(() => synth(chart));
}

describe('security contexts: the Pod Security Standard "restricted" profile', () => {
  test('the default pod template breaks none of its rules', () => {
    expect(restrictedViolations(podSpec(manifestOf().manifest))).toEqual([]);
  });

  test('the example app (the exercise) breaks none of its rules', () => {
    expect(restrictedViolations(podSpec(synth(new PostgresqlExerciseChart(Testing.app(), 'postgresql'))))).toEqual([]);
  });

  test('the rule check finds violations', () => {
    const spec = podSpec(manifestOf({ restrictedSecurityContext: false }).manifest);
    expect(restrictedViolations(spec)).toEqual([
      'Privilege escalation: allowPrivilegeEscalation false in every container',
      'Running as non-root: runAsNonRoot true on the pod or every container',
      'Seccomp (restricted): RuntimeDefault or Localhost on the pod or every container',
      'Capabilities (restricted): drop ALL, add at most NET_BIND_SERVICE',
    ]);
    expect(restrictedViolations({ ...spec, hostNetwork: true, volumes: [{ name: 'h', hostPath: { path: '/' } }] }))
      .toEqual(expect.arrayContaining(['Host namespaces: hostNetwork, hostPID, hostIPC unset or false', 'HostPath volumes: none']));
  });

  test('runs as the image\'s postgres user 999 with fsGroup 999, OnRootMismatch, no service account token', () => {
    const spec = podSpec(manifestOf().manifest);
    expect(spec.securityContext).toEqual({
      runAsNonRoot: true, runAsUser: 999, runAsGroup: 999, fsGroup: 999, fsGroupChangePolicy: 'OnRootMismatch',
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(spec.containers[0].securityContext).toMatchObject({
      allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true,
    });
  });

  test('the read-only root filesystem gets writable emptyDirs for the socket directory and /tmp', () => {
    const { manifest } = manifestOf();
    expect(container(manifest).volumeMounts).toEqual(expect.arrayContaining([
      { name: 'run', mountPath: '/var/run/postgresql' },
      { name: 'tmp', mountPath: '/tmp' },
    ]));
    expect(podSpec(manifest).volumes).toEqual(expect.arrayContaining([{ name: 'run', emptyDir: {} }, { name: 'tmp', emptyDir: {} }]));
  });

  test('an Alpine-based image runs as its postgres user, 70; other variants as 999', () => {
    // GIVEN official images whose tags name Alpine, and ones that do not
    for (const image of ['postgres:17.6-alpine', 'postgres:18.4-alpine3.22', 'registry.example.com/postgres:16-alpine']) {
      // THEN the pod's user, group and fsGroup are 70
      expect(podSpec(manifestOf({ image }).manifest).securityContext).toMatchObject({ runAsUser: 70, runAsGroup: 70, fsGroup: 70 });
    }
    for (const image of ['postgres:17.6-bookworm', 'postgres:18.4-trixie', 'postgres:17.6']) {
      expect(podSpec(manifestOf({ image }).manifest).securityContext).toMatchObject({ runAsUser: 999, runAsGroup: 999, fsGroup: 999 });
    }
  });

  test('user, group, fsGroup, policy, read-only root and token are configurable', () => {
    const spec = podSpec(manifestOf({
      image: 'postgres:17.6-alpine', runAsUser: 1001, runAsGroup: 1002, fsGroup: 1003,
      fsGroupChangePolicy: kplus.FsGroupChangePolicy.ALWAYS, readOnlyRootFilesystem: false, automountServiceAccountToken: true,
    }).manifest);
    expect(spec.securityContext).toMatchObject({ runAsUser: 1001, runAsGroup: 1002, fsGroup: 1003, fsGroupChangePolicy: 'Always' });
    expect(spec.containers[0].securityContext.readOnlyRootFilesystem).toBe(false);
    expect(spec.containers[0].volumeMounts.map((m: any) => m.name)).not.toContain('run');
    expect(spec.automountServiceAccountToken).toBe(true);
  });

  test('restrictedSecurityContext: false renders no security contexts besides the read-only root', () => {
    const spec = podSpec(manifestOf({ restrictedSecurityContext: false, readOnlyRootFilesystem: false }).manifest);
    expect(spec.securityContext).toBeUndefined();
    expect(spec.containers[0].securityContext).toBeUndefined();
  });

  test('restrictedSecurityContext: false still renders the ids given explicitly (OpenShift assigns them otherwise)', () => {
    const spec = podSpec(manifestOf({ restrictedSecurityContext: false, runAsUser: 1000680000, fsGroup: 1000680000 }).manifest);
    expect(spec.securityContext).toEqual({ runAsUser: 1000680000, fsGroup: 1000680000, fsGroupChangePolicy: 'OnRootMismatch' });
    // the user is known, so the preStop hook is plain pg_ctl
    expect(spec.containers[0].lifecycle.preStop.exec.command[0]).toBe('pg_ctl');
    // without ids, the hook must cope with root (see production-defaults.pg.test.ts)
    const unknownUser = podSpec(manifestOf({ restrictedSecurityContext: false }).manifest);
    expect(unknownUser.securityContext).toBeUndefined();
    expect(unknownUser.containers[0].lifecycle.preStop.exec.command.slice(0, 2)).toEqual(['sh', '-c']);
  });

  test.each([0, -1, 1.5])('a root or invalid runAsUser %p is an error', (runAsUser) => {
    expect(failure({ runAsUser })).toContain(`PostgresStatefulSet: runAsUser must be a non-root numeric id (1 or more), got ${runAsUser}`);
  });
});

describe('probes and shutdown', () => {
  test('startup, readiness and liveness probes; fast shutdown in preStop', () => {
    const c = container(manifestOf({ port: 6000, credentials: PostgresCredentials.expectSecret({ username: 'admin' }) }).manifest);
    const script = (name: string, ...args: string[]) => ['sh', `/etc/postgres-statefulset/${name}`, ...args];
    expect(c.startupProbe).toEqual({ exec: { command: script('probe.sh', 'startup') }, periodSeconds: 1, failureThreshold: 3600, timeoutSeconds: 5 });
    expect(c.readinessProbe).toEqual({ exec: { command: script('readiness.sh') }, periodSeconds: 1, failureThreshold: 3, timeoutSeconds: 5 });
    expect(c.livenessProbe).toEqual({ exec: { command: script('probe.sh', 'liveness') }, periodSeconds: 10, failureThreshold: 6, timeoutSeconds: 5 });
    // the probe scripts read the port and the user from the container's environment
    expect(envVar(c, 'PGPORT').value).toBe('6000');
    expect(envVar(c, 'POSTGRES_USER').value).toBe('admin');
    // pg_ctl gives up 6 s before the kubelet's SIGKILL at 60 s
    expect(c.lifecycle.preStop.exec.command).toEqual(['pg_ctl', 'stop', '-D', '/var/lib/postgresql/18/docker', '-m', 'fast', '-w', '-t', '54']);
  });

  test('the startup budget is configurable; probes and fast shutdown can be switched off', () => {
    expect(container(manifestOf({ startupTimeout: Duration.minutes(10) }).manifest).startupProbe.failureThreshold).toBe(600);
    const c = container(manifestOf({ probes: false, fastShutdown: false }).manifest);
    expect([c.startupProbe, c.readinessProbe, c.livenessProbe, c.lifecycle]).toEqual([undefined, undefined, undefined, undefined]);
  });

  test('a startup budget below a second is an error', () => {
    expect(failure({ startupTimeout: Duration.millis(500) })).toContain('PostgresStatefulSet: startupTimeout must be a whole number of seconds');
  });
});

describe('/dev/shm and resources', () => {
  test('/dev/shm is a 256Mi memory-backed emptyDir by default', () => {
    const { manifest } = manifestOf();
    expect(podSpec(manifest).volumes).toContainEqual({ name: 'shm', emptyDir: { medium: 'Memory', sizeLimit: '256Mi' } });
    expect(container(manifest).volumeMounts).toContainEqual({ name: 'shm', mountPath: '/dev/shm' });
  });

  test('its size is configurable, and zero keeps the runtime\'s default', () => {
    expect(podSpec(manifestOf({ sharedMemorySize: Size.gibibytes(1), resources: { memory: { limit: Size.gibibytes(4) } } }).manifest).volumes)
      .toContainEqual({ name: 'shm', emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } });
    const spec = podSpec(manifestOf({ sharedMemorySize: Size.mebibytes(0) }).manifest);
    expect((spec.volumes ?? []).map((v: any) => v.name)).not.toContain('shm');
  });

  test('/dev/shm must be smaller than the memory limit', () => {
    expect(failure({ sharedMemorySize: Size.gibibytes(1) })).toContain(
      'PostgresStatefulSet: sharedMemorySize must be smaller than the memory limit 1Gi: /dev/shm is memory-backed and counts against it, got 1Gi. Fix: lower sharedMemorySize');
  });

  test('default resources: 250m CPU and 1Gi requested, memory limited to 1Gi, no CPU limit', () => {
    expect(container(manifestOf().manifest).resources).toEqual({ requests: { cpu: '250m', memory: '1Gi' }, limits: { memory: '1Gi' } });
  });

  test('resources are typed and replace the default', () => {
    const c = container(manifestOf({
      resources: {
        cpu: { request: kplus.Cpu.units(1), limit: kplus.Cpu.units(2) },
        memory: { request: Size.gibibytes(2), limit: Size.gibibytes(4) },
        ephemeralStorage: { request: Size.gibibytes(1) },
      },
    }).manifest);
    expect(c.resources).toEqual({ requests: { 'cpu': '1', 'memory': '2Gi', 'ephemeral-storage': '1Gi' }, limits: { cpu: '2', memory: '4Gi' } });
  });

  test('requests above limits are errors, each reported', () => {
    const message = failure({
      resources: {
        cpu: { request: kplus.Cpu.millis(1500), limit: kplus.Cpu.units(1) },
        memory: { request: Size.gibibytes(3), limit: Size.gibibytes(2) },
        ephemeralStorage: { request: Size.gibibytes(2), limit: Size.mebibytes(512) },
      },
    });
    expect(message).toContain('PostgresStatefulSet: resources.cpu.request exceeds the CPU limit 1, got \'1500m\'. Fix: request at most the limit, or raise the limit');
    expect(message).toContain('PostgresStatefulSet: resources.memory.request exceeds the memory limit 2Gi, got 3Gi.');
    expect(message).toContain('PostgresStatefulSet: resources.ephemeralStorage.request exceeds the ephemeralStorage limit 512Mi, got 2Gi.');
  });
});

describe('availability with more than one replica', () => {
  test('a PodDisruptionBudget with maxUnavailable 1 and preferred anti-affinity across nodes', () => {
    const { db, manifest } = manifestOf({ replicas: 3 });
    const pdb = oneOfKind(manifest, 'PodDisruptionBudget');
    expect(pdb.apiVersion).toBe('policy/v1');
    expect(pdb.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: db.selectorLabels } });
    expect(podSpec(manifest).affinity).toEqual({
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [{
          weight: 100,
          podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: db.selectorLabels } },
        }],
      },
    });
    expect(db.podDisruptionBudget?.kind).toBe('PodDisruptionBudget');
  });

  test('one replica gets no PodDisruptionBudget, so that node drains are never blocked; the preferred anti-affinity stays (it changes nothing for one pod, and keeps the pod template the same when replicas are raised)', () => {
    const { manifest } = manifestOf();
    expect(allOfKind(manifest, 'PodDisruptionBudget')).toEqual([]);
    expect(podSpec(manifest).affinity).toEqual(podSpec(manifestOf({ replicas: 3 }).manifest).affinity);
  });

  test('both can be switched off, or on for one replica', () => {
    const off = manifestOf({ replicas: 2, podDisruptionBudget: false, spreadAcrossNodes: false }).manifest;
    expect(allOfKind(off, 'PodDisruptionBudget')).toEqual([]);
    expect(podSpec(off).affinity).toBeUndefined();
    const on = manifestOf({ podDisruptionBudget: true, spreadAcrossNodes: true }).manifest;
    expect(oneOfKind(on, 'PodDisruptionBudget').spec.maxUnavailable).toBe(1);
    expect(podSpec(on).affinity).toBeDefined();
  });
});

describe('data safety: claim retention', () => {
  test('claims are retained when the StatefulSet is deleted or scaled down, by default', () => {
    expect(oneOfKind(manifestOf().manifest, 'StatefulSet').spec.persistentVolumeClaimRetentionPolicy)
      .toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });
  });

  test('Delete is an explicit opt-in', () => {
    expect(oneOfKind(manifestOf({
      claimRetentionWhenDeleted: ClaimRetentionPolicy.DELETE, claimRetentionWhenScaled: ClaimRetentionPolicy.DELETE,
    }).manifest, 'StatefulSet').spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Delete', whenScaled: 'Delete' });
  });
});

describe('network policy', () => {
  test('none by default', () => {
    expect(allOfKind(manifestOf().manifest, 'NetworkPolicy')).toEqual([]);
  });

  test('allowedClients admits only the named pods, to the PostgreSQL port', () => {
    // GIVEN
    const chart = Testing.chart();
    const api = new kplus.Deployment(chart, 'Api', { containers: [{ image: 'example/api:1.0' }] });
    // WHEN
    const db = new PostgresStatefulSet(chart, 'Db', {
      port: 6432,
      allowedClients: [api, kplus.Pods.select(chart, 'Reporting', { labels: { role: 'reporting' } })],
    });
    const later = db.allowFrom(kplus.Pods.select(chart, 'Admin', { labels: { role: 'dba' } }));
    // THEN
    const policy = oneOfKind(synth(chart), 'NetworkPolicy');
    expect(later).toBe(true);
    expect(policy.spec.podSelector).toEqual({ matchLabels: db.selectorLabels });
    expect(policy.spec.policyTypes).toEqual(['Ingress']);
    expect(policy.spec.ingress.map((r: any) => r.ports)).toEqual([
      [{ port: 6432, protocol: 'TCP' }], [{ port: 6432, protocol: 'TCP' }], [{ port: 6432, protocol: 'TCP' }],
    ]);
    expect(policy.spec.ingress.map((r: any) => r.from[0].podSelector.matchLabels)).toEqual([
      api.matchLabels, { role: 'reporting' }, { role: 'dba' },
    ]);
  });

  test('an empty list denies every client; allowFrom without a policy changes nothing', () => {
    const policy = oneOfKind(manifestOf({ allowedClients: [] }).manifest, 'NetworkPolicy');
    expect(policy.spec.ingress).toBeUndefined();
    const chart = Testing.chart();
    const db = new PostgresStatefulSet(chart, 'Db');
    expect(db.allowFrom(kplus.Pods.all(chart, 'All'))).toBe(false);
    expect(allOfKind(synth(chart), 'NetworkPolicy')).toEqual([]);
  });
});

describe('image and data layout', () => {
  test('a digest is accepted, with the major version from the tag or postgresMajorVersion', () => {
    const digest = 'sha256:' + 'b'.repeat(64);
    expect(manifestOf({ image: `postgres:17.6@${digest}` }).db.pgData).toBe('/var/lib/postgresql/data/pgdata');
    const { db } = manifestOf({ image: `postgres@${digest}`, postgresMajorVersion: 18 });
    expect([db.image, db.postgresMajorVersion, db.pgData]).toEqual([`postgres@${digest}`, 18, '/var/lib/postgresql/18/docker']);
  });

  test('an image whose tag does not tell the major version needs postgresMajorVersion', () => {
    expect(failure({ image: 'postgres@sha256:' + 'c'.repeat(64) })).toContain(
      'PostgresStatefulSet: image does not tell the PostgreSQL major version (its tag does not start with it), got \'postgres@sha256:cccc');
    expect(failure({ image: 'example/postgres:bookworm' })).toContain('Fix: set postgresMajorVersion, e.g. 18');
  });

  test('postgresMajorVersion that contradicts the tag is an error', () => {
    expect(failure({ image: 'postgres:17.6', postgresMajorVersion: 18 })).toContain(
      'PostgresStatefulSet: postgresMajorVersion differs from the image tag, which says 17, got 18.');
  });

  test('an 18+ image with the old /var/lib/postgresql/data layout is an error', () => {
    expect(failure({ image: 'postgres:18.4', dataMountPath: '/var/lib/postgresql/data' })).toContain(
      'PostgresStatefulSet: dataMountPath puts the data under /var/lib/postgresql/data, the layout of images before 18; PostgreSQL 18 images keep it in /var/lib/postgresql/18/docker');
  });

  test('a PGDATA of another major version is an error', () => {
    expect(failure({ image: 'postgres:19.1', pgData: '/var/lib/postgresql/18/docker' })).toContain(
      'PostgresStatefulSet: pgData is the data directory of PostgreSQL 18, but the image runs PostgreSQL 19, got \'/var/lib/postgresql/18/docker\'. Fix: use /var/lib/postgresql/19/docker');
    expect(failure({ image: 'postgres:17.6', dataMountPath: '/var/lib/postgresql', pgData: '/var/lib/postgresql/18/docker' }))
      .toContain('pgData is the data directory of PostgreSQL 18, but the image runs PostgreSQL 17');
  });

  test('a 17 image may use the 18 layout for its own major version', () => {
    const chart = Testing.chart();
    new PostgresStatefulSet(chart, 'Db', { image: 'postgres:17.6', dataMountPath: '/var/lib/postgresql', pgData: '/var/lib/postgresql/17/docker' });
    expect(() => synth(chart)).not.toThrow();
  });
});

describe('credentials and configuration', () => {
  test('the password as a file: POSTGRES_PASSWORD_FILE and a Secret volume readable by the postgres group', () => {
    const { db, manifest } = manifestOf({ passwordAsFile: true });
    const c = container(manifest);
    expect(envVar(c, 'POSTGRES_PASSWORD')).toBeUndefined();
    expect(envVar(c, 'POSTGRES_PASSWORD_FILE')).toEqual({ name: 'POSTGRES_PASSWORD_FILE', value: '/run/secrets/postgresql/password' });
    expect(c.volumeMounts).toContainEqual({ name: 'password', mountPath: '/run/secrets/postgresql', readOnly: true });
    expect(podSpec(manifest).volumes).toContainEqual({
      name: 'password', secret: { secretName: db.secretName, items: [{ key: 'POSTGRES_PASSWORD', path: 'password' }], defaultMode: 0o440 },
    });
  });

  test('POSTGRES_DB and POSTGRES_INITDB_ARGS', () => {
    const c = container(manifestOf({ databaseName: 'orders', initdbArgs: ['--data-checksums', '--locale-provider=icu', '--icu-locale=en-US'] }).manifest);
    expect(envVar(c, 'POSTGRES_DB').value).toBe('orders');
    expect(envVar(c, 'POSTGRES_INITDB_ARGS').value).toBe('--data-checksums --locale-provider=icu --icu-locale=en-US');
    expect(envVar(container(manifestOf({ initdbArgs: [] }).manifest), 'POSTGRES_INITDB_ARGS')).toBeUndefined();
  });

  test('initdb arguments the entrypoint would evaluate in its shell are errors', () => {
    expect(failure({ initdbArgs: ['--locale=en_US.UTF-8; rm -rf /'] })).toContain(
      'PostgresStatefulSet: initdbArgs has an argument with characters the image would interpret');
  });

  test('parameters become -c arguments after postgres, sorted by name', () => {
    const c = container(manifestOf({ parameters: { shared_buffers: '256MB', 'pg_stat_statements.max': '5000', max_connections: '200' } }).manifest);
    expect(c.args).toEqual(['postgres', '-c', 'max_connections=200', '-c', 'pg_stat_statements.max=5000', '-c', 'shared_buffers=256MB']);
    expect(container(manifestOf().manifest).args).toEqual(['postgres']); // the image's CMD, after the start steps
  });

  test('parameter names are validated, and the ones the construct manages are refused', () => {
    const message = failure({ parameters: { 'shared buffers': '1', 'port': '5433', 'work_mem': 'a\nb' } });
    expect(message).toContain('PostgresStatefulSet: parameters has a name that is not a PostgreSQL parameter name');
    expect(message).toContain('PostgresStatefulSet: parameters is managed by this construct, got \'port\'. Fix: set the port prop');
    expect(message).toContain('PostgresStatefulSet: parameters[\'work_mem\'] must be a string on one line');
  });

  test('init scripts from a ConfigMap are mounted at /docker-entrypoint-initdb.d', () => {
    const chart = Testing.chart();
    const scripts = new kplus.ConfigMap(chart, 'Init', { data: { '10-schema.sql': 'CREATE TABLE company (id int PRIMARY KEY, name text NOT NULL);' } });
    new PostgresStatefulSet(chart, 'Db', { initScripts: scripts });
    const manifest = synth(chart);
    expect(podSpec(manifest).volumes.find((v: any) => v.name === 'initdb').projected.sources).toContainEqual({ configMap: { name: scripts.name } });
    expect(container(manifest).volumeMounts).toContainEqual({ name: 'initdb', mountPath: '/docker-entrypoint-initdb.d', readOnly: true });
  });

  test('a databaseName that is not a plain PostgreSQL name is an error', () => {
    expect(failure({ databaseName: 'my-db' })).toContain('PostgresStatefulSet: databaseName must be a PostgreSQL name');
  });
});

// Render: the pod template of the StatefulSet, from the spec and what features contribute
// (internal). The PostgreSQL container runs the image's entrypoint with the spec's environment;
// features (replication, ...) add init containers, start steps, environment, parameters,
// volumes, init scripts and readiness through a PodContribution.
import { parameterArgs } from '../parameters';
import { fastShutdownCommand, isReadyCommand, probes } from '../probes';
import { InstanceSpec } from '../resolve';
import { kibibytes, renderResources } from '../resources';
import { containerSecurityContext, podSecurityContext } from '../security';
import { SCRIPTS_DIR } from '../shell';
import { Container, EnvVar, PodAffinity, PodSecurityContext, PodTemplateSpec, SecurityContext, Volume, VolumeMount, VolumeProjection } from './manifest';

/** Where the data volume claim template's volumes are called. */
export const DATA_VOLUME = 'data';
/** The image's socket directory. */
export const SOCKET_DIR = '/var/run/postgresql';
/** What the image runs when it initialises an empty data directory. */
export const INITDB_DIR = '/docker-entrypoint-initdb.d';
/** Where the password file is mounted with `passwordAsFile`. */
export const PASSWORD_DIR = '/run/secrets/postgresql';

/** What a feature adds to the pod. */
export interface PodContribution {
  /** Environment of the PostgreSQL container. */
  readonly env?: EnvVar[];
  /** Server parameters the feature needs; the caller's parameters override them. */
  readonly parameters?: { [name: string]: string };
  /** Init containers, run in order before PostgreSQL starts; given what the whole pod runs. */
  readonly initContainers?: (pod: PodContext) => Container[];
  readonly volumes?: Volume[];
  /** Mounts of the PostgreSQL container. */
  readonly volumeMounts?: VolumeMount[];
  /** Files for /docker-entrypoint-initdb.d; they run before the caller's init scripts. */
  readonly initdbFiles?: VolumeProjection[];
  /** Annotations of the pod template. */
  readonly podAnnotations?: { [key: string]: string };
  /** Files for the instance's scripts ConfigMap, which the PostgreSQL container mounts at SCRIPTS_DIR. */
  readonly scripts?: { [file: string]: string };
  /** Probe commands, instead of `pg_isready`. */
  readonly probeCommands?: { readonly startup?: string[]; readonly readiness?: string[]; readonly liveness?: string[] };
  /**
   * Scripts (absolute paths, mounted by the contribution's own volumes) that the PostgreSQL
   * container runs with `sh`, in order, before the image's entrypoint, on every start, with the
   * container's arguments (`postgres -c ...`). A step that fails stops the start: the container
   * exits with its status, and the step should say why on stderr and in the termination message
   * (`/dev/termination-log`). Cheaper than an init container: no container to create per start.
   */
  readonly startSteps?: string[];
  /**
   * Pod affinity the feature needs (e.g. every pod on one node, for a claim they all mount that
   * may be ReadWriteOnce). It replaces the preferred spreading across nodes, which it contradicts.
   */
  readonly podAffinity?: PodAffinity;
}

/** The image's entrypoint, on the PATH of the official image and of images built on it. */
export const IMAGE_ENTRYPOINT = 'docker-entrypoint.sh';

/**
 * The PostgreSQL container's command when there are start steps: runs each (paths from
 * START_STEPS, separated by ':') with the container's arguments, then execs the image's
 * entrypoint with them. The same text for every instance: nothing is pasted into it.
 *
 * While a step runs, this shell is the container's process 1, which the kernel gives no default
 * action for SIGTERM or SIGINT (the official image's stop signal): without the trap, a pod deleted
 * while a standby waits for its primary would wait out the whole grace period. A shell runs a
 * trap only once its foreground command ends, so each step runs in the background and the shell
 * waits for it, which a trapped signal interrupts; the step is stopped and the container exits
 * (143 whatever the kill says: under `set -e` a failing kill, of a step that has just ended or
 * whose pid is not yet known, would otherwise decide the status).
 */
const START = `set -e
trap 'kill -TERM "$step_pid" 2>/dev/null || :; exit 143' TERM INT
IFS=:
for step in $POSTGRES_STATEFULSET_START_STEPS; do
  sh "$step" "$@" &
  step_pid=$!
  wait "$step_pid"
done
unset IFS
exec ${IMAGE_ENTRYPOINT} "$@"`;

/** What the pod runs, once every contribution is known. */
export interface PodContext {
  /** The `-c name=value` arguments of the server (without `postgres`). */
  readonly serverArgs: string[];
}

/** The environment every container of the pod that touches the data directory shares. */
export function dataEnv(spec: InstanceSpec): EnvVar[] {
  return [
    { name: 'PGDATA', value: spec.storage.pgData },
    { name: 'PGPORT', value: String(spec.port) },
  ];
}

/** The mount of the data volume. */
export function dataMount(spec: InstanceSpec): VolumeMount {
  return { name: DATA_VOLUME, mountPath: spec.storage.mountPath };
}

/** The writable /tmp of a container with a read-only root filesystem. */
export function tmpMounts(spec: InstanceSpec): VolumeMount[] {
  return spec.security.readOnlyRootFilesystem ? [{ name: 'tmp', mountPath: '/tmp' }] : [];
}

/** The container security context of every container of the pod. */
export function containerSecurity(spec: InstanceSpec): SecurityContext | undefined {
  if (spec.security.restricted) {
    return containerSecurityContext(spec.security.readOnlyRootFilesystem);
  }
  return spec.security.readOnlyRootFilesystem ? { readOnlyRootFilesystem: true } : undefined;
}

/** An init container that runs the instance's image as the PostgreSQL container does (user, security, resources, data volume). */
export function initContainer(spec: InstanceSpec, container: Omit<Container, 'image'>): Container {
  return {
    image: spec.image.reference,
    imagePullPolicy: spec.image.pullPolicy,
    resources: renderResources(spec.resources),
    securityContext: containerSecurity(spec),
    ...container,
  };
}

/** The server parameters as `postgres` arguments: the features' defaults, then the caller's. */
function serverArgs(spec: InstanceSpec, contributions: PodContribution[]): string[] {
  const parameters = Object.assign({}, ...contributions.map((c) => c.parameters ?? {}), spec.parameters);
  return parameterArgs(parameters);
}

/** The pod template. */
export function renderPodTemplate(spec: InstanceSpec, contributions: PodContribution[]): PodTemplateSpec {
  const all = <T>(pick: (c: PodContribution) => T[] | undefined): T[] => contributions.flatMap((c) => pick(c) ?? []);
  const volumes: Volume[] = [];
  const mounts: VolumeMount[] = [dataMount(spec)];
  if (spec.security.readOnlyRootFilesystem) {
    volumes.push({ name: 'run', emptyDir: {} }, { name: 'tmp', emptyDir: {} });
    mounts.push({ name: 'run', mountPath: SOCKET_DIR }, ...tmpMounts(spec));
  }
  if (kibibytes(spec.sharedMemory) > 0) {
    volumes.push({ name: 'shm', emptyDir: { medium: 'Memory', sizeLimit: spec.sharedMemory.asString() } });
    mounts.push({ name: 'shm', mountPath: '/dev/shm' });
  }
  if (spec.passwordAsFile) {
    volumes.push({
      name: 'password',
      secret: { secretName: spec.superuser.secretName, items: [{ key: spec.superuser.passwordKey, path: 'password' }], defaultMode: 0o440 },
    });
    mounts.push(...passwordMounts(spec));
  }
  if (contributions.some((c) => c.scripts)) {
    volumes.push({ name: 'scripts', configMap: { name: spec.names.scripts } });
    mounts.push({ name: 'scripts', mountPath: SCRIPTS_DIR, readOnly: true });
  }
  volumes.push(...all((c) => c.volumes));
  mounts.push(...all((c) => c.volumeMounts));
  const initdbSources = [...all((c) => c.initdbFiles), ...(spec.initScripts ? [{ configMap: { name: spec.initScripts.name } }] : [])];
  if (initdbSources.length > 0) {
    volumes.push({ name: 'initdb', projected: { sources: initdbSources } });
    mounts.push({ name: 'initdb', mountPath: INITDB_DIR, readOnly: true });
  }

  const args = serverArgs(spec, contributions);
  const startSteps = all((c) => c.startSteps);
  const isReady = isReadyCommand(spec.port, spec.superuser.username);
  const command = (probe: 'startup' | 'readiness' | 'liveness') => contributions.map((c) => c.probeCommands?.[probe]).find((c) => c !== undefined);
  const probe = spec.probes ? probes({
    startup: command('startup') ?? isReady,
    readiness: command('readiness') ?? isReady,
    liveness: command('liveness') ?? ['sh', '-c', '"$@"; [ $? -le 1 ]', 'liveness', ...isReady],
  }, spec.probes.startupTimeout) : undefined;
  const initContainers = contributions.flatMap((c) => c.initContainers?.({ serverArgs: args }) ?? []);

  const container: Container = {
    name: spec.containerName,
    image: spec.image.reference,
    imagePullPolicy: spec.image.pullPolicy,
    // with start steps the command replaces the image's entrypoint, which it runs last; the arguments stay the image's CMD form
    command: startSteps.length > 0 ? ['sh', '-c', START, 'postgres-statefulset-start'] : undefined,
    args: startSteps.length > 0 || args.length > 0 ? ['postgres', ...args] : undefined,
    env: [
      ...postgresEnv(spec),
      ...all((c) => c.env),
      ...initdbArgsEnv(spec),
      ...(startSteps.length > 0 ? [{ name: 'POSTGRES_STATEFULSET_START_STEPS', value: startSteps.join(':') }] : []),
    ],
    ports: [{ name: spec.portName, containerPort: spec.port }],
    resources: renderResources(spec.resources),
    startupProbe: probe?.startup,
    readinessProbe: probe?.readiness,
    livenessProbe: probe?.liveness,
    lifecycle: spec.fastShutdown
      ? { preStop: { exec: { command: fastShutdownCommand(spec.storage.pgData, spec.gracePeriod, spec.security.mayRunAsRoot) } } }
      : undefined,
    securityContext: containerSecurity(spec),
    // a failing start step writes its reason there; otherwise the end of the log is the message
    terminationMessagePolicy: 'FallbackToLogsOnError',
    volumeMounts: mounts,
  };

  const annotations = Object.assign({}, ...contributions.map((c) => c.podAnnotations ?? {}));
  const podAffinity = contributions.map((c) => c.podAffinity).find((a) => a !== undefined);
  return {
    metadata: { labels: spec.labels, annotations: Object.keys(annotations).length > 0 ? annotations : undefined },
    spec: {
      terminationGracePeriodSeconds: spec.gracePeriod.toSeconds({ integral: false }),
      automountServiceAccountToken: spec.security.automountServiceAccountToken,
      securityContext: podSecurity(spec),
      affinity: podAffinity ? { podAffinity } : spec.spreadAcrossNodes ? {
        podAntiAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [{
            weight: 100,
            podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: spec.selectorLabels } },
          }],
        },
      } : undefined,
      initContainers: initContainers.length > 0 ? initContainers : undefined,
      containers: [container],
      volumes: volumes.length > 0 ? volumes : undefined,
    },
  };
}

/** The superuser's password, by reference: `POSTGRES_PASSWORD` from the Secret, or `POSTGRES_PASSWORD_FILE`. */
export function passwordEnv(spec: InstanceSpec): EnvVar {
  return spec.passwordAsFile
    ? { name: 'POSTGRES_PASSWORD_FILE', value: `${PASSWORD_DIR}/password` }
    : { name: 'POSTGRES_PASSWORD', valueFrom: { secretKeyRef: { name: spec.superuser.secretName, key: spec.superuser.passwordKey } } };
}

/** The mount of the password file, with `passwordAsFile`. */
export function passwordMounts(spec: InstanceSpec): VolumeMount[] {
  return spec.passwordAsFile ? [{ name: 'password', mountPath: PASSWORD_DIR, readOnly: true }] : [];
}

/** The image's variables: the password by reference, the superuser, the database. */
function postgresEnv(spec: InstanceSpec): EnvVar[] {
  const [pgData, pgPort] = dataEnv(spec);
  return [
    passwordEnv(spec),
    pgData,
    { name: 'POSTGRES_USER', value: spec.superuser.username },
    { name: 'POSTGRES_DB', value: spec.databaseName },
    pgPort,
  ];
}

/** `POSTGRES_INITDB_ARGS`, which the image evaluates in its shell (validate.ts allows plain options only). */
function initdbArgsEnv(spec: InstanceSpec): EnvVar[] {
  return spec.initdbArgs.length > 0 ? [{ name: 'POSTGRES_INITDB_ARGS', value: spec.initdbArgs.join(' ') }] : [];
}

/** The pods' security context (the database's, and the backup Job's, so that the claims are writable alike). */
export function podSecurity(spec: InstanceSpec): PodSecurityContext | undefined {
  const { restricted, runAsUser, runAsGroup, fsGroup, fsGroupChangePolicy } = spec.security;
  if (restricted) {
    return podSecurityContext({ runAsUser: runAsUser!, runAsGroup: runAsGroup!, fsGroup: fsGroup!, fsGroupChangePolicy: fsGroupChangePolicy! });
  }
  const ids = { runAsUser, runAsGroup, fsGroup, fsGroupChangePolicy };
  return Object.values(ids).some((v) => v !== undefined) ? ids : undefined;
}

// What the change check reads from a StatefulSet that runs PostgreSQL (internal): the settings of
// the official image (environment), where the data is, the image's major version, and the
// fields of the StatefulSet itself. The same reading serves synthesized manifests and live
// objects (`kubectl get -o json`, with the API server's defaults filled in).
import { parseImage } from '../image';

/** On the StatefulSet: the name of the PostgreSQL container (read when present). */
export const CONTAINER_ANNOTATION = 'postgres-statefulset.io/container';
/** On the StatefulSet: the PostgreSQL major version of its image (read when present). */
export const MAJOR_ANNOTATION = 'postgres-statefulset.io/postgres-major';
/** On the pod template: the major version the data was written with, when the upgrade option is on. */
export const UPGRADE_ANNOTATION = 'postgres-statefulset.io/upgrade-from-major';

/** Where a password comes from; values are never kept, only where they are. */
export interface PasswordSource {
  /** Secret and key, when the password comes from a Secret (by secretKeyRef or a mounted file). */
  readonly secretName?: string;
  readonly key?: string;
  /** How to show it: `Secret orders-postgres, key POSTGRES_PASSWORD`, `a literal value`, `the file /x`. */
  readonly describe: string;
  /** A literal value in the manifest, to compare; never shown. */
  readonly literal?: string;
}

/** A PostgreSQL instance: a StatefulSet whose pod runs the official image (or one like it). */
export interface Instance {
  readonly namespace?: string;
  readonly name: string;
  /** `<namespace>/<name>`, or the name alone without a namespace. */
  readonly id: string;
  /** Where it was read. */
  readonly source: string;
  /** The StatefulSet as read. */
  readonly object: any;
  readonly containerName: string;
  readonly image: string;
  /** The C library of the image, from its tag (`-alpine...`: musl, else glibc); undefined for a digest alone. */
  readonly libc?: 'musl' | 'glibc';
  /** The user id PostgreSQL runs as (the container's, else the pod's runAsUser); undefined when the image decides. */
  readonly runAsUser?: number;
  /** The PostgreSQL major version: from the StatefulSet's annotation, else the image tag, else a PGDATA of the 18+ layout. */
  readonly major?: number;
  /** PGDATA (the image's default for its major when not set). */
  readonly pgData?: string;
  /** The mount that holds PGDATA: its path and volume (a claim template's name for per-pod volumes). */
  readonly dataMount?: { readonly path: string; readonly volume: string; readonly claimTemplate: boolean };
  readonly port: number;
  /** POSTGRES_USER, POSTGRES_DB, POSTGRES_INITDB_ARGS as the image reads them (defaults applied). */
  readonly username: string;
  readonly database: string;
  readonly initdbArgs: string;
  readonly password?: PasswordSource;
  readonly replicationUser?: string;
  readonly replicationPassword?: PasswordSource;
  readonly replicas: number;
  /** The pod template's upgrade-from-major annotation. */
  readonly upgradeFromMajor?: string;
  /** persistentVolumeClaimRetentionPolicy.whenDeleted (Retain when absent). */
  readonly whenDeleted: string;
  /** The labels of the data volume's claim template, which its claims carry (to list them with `-l`). */
  readonly claimLabels?: { [key: string]: string };
}

/** The official image's repository, whatever the registry (`postgres`, `docker.io/library/postgres`, `mirror.example/postgres`). */
function isPostgresImage(image: unknown): boolean {
  if (typeof image !== 'string') {
    return false;
  }
  const name = image.split('@')[0].replace(/:[^/:]*$/, '');
  return name.split('/').pop() === 'postgres';
}

/** An environment variable as text: its value, or where it comes from. */
function envText(variable: any): string | undefined {
  if (variable === undefined) {
    return undefined;
  }
  if (variable.value !== undefined) {
    return String(variable.value);
  }
  const from = variable.valueFrom ?? {};
  if (from.configMapKeyRef) {
    return `(from ConfigMap ${from.configMapKeyRef.name}, key ${from.configMapKeyRef.key})`;
  }
  if (from.secretKeyRef) {
    return `(from Secret ${from.secretKeyRef.name}, key ${from.secretKeyRef.key})`;
  }
  return variable.valueFrom ? `(from ${JSON.stringify(variable.valueFrom)})` : '';
}

/** Where a password variable (or its _FILE variant) comes from. */
function passwordSource(env: Map<string, any>, name: string, container: any, podSpec: any): PasswordSource | undefined {
  const direct = env.get(name);
  if (direct?.valueFrom?.secretKeyRef) {
    const { name: secretName, key } = direct.valueFrom.secretKeyRef;
    return { secretName, key, describe: `Secret ${secretName}, key ${key}` };
  }
  if (direct !== undefined) {
    return direct.value !== undefined ? { describe: 'a literal value in the manifest', literal: String(direct.value) } : { describe: `${envText(direct)}` };
  }
  const file = envText(env.get(`${name}_FILE`));
  if (file === undefined) {
    return undefined;
  }
  // a file of a mounted Secret volume: which key of which Secret
  const mount = ((container.volumeMounts ?? []) as any[])
    .filter((m) => file === m.mountPath || file.startsWith(`${String(m.mountPath).replace(/\/+$/, '')}/`))
    .sort((a, b) => String(b.mountPath).length - String(a.mountPath).length)[0];
  const volume = mount ? ((podSpec.volumes ?? []) as any[]).find((v) => v.name === mount.name) : undefined;
  if (volume?.secret?.secretName) {
    const inVolume = file.slice(String(mount.mountPath).replace(/\/+$/, '').length + 1);
    const item = ((volume.secret.items ?? []) as any[]).find((i) => i.path === inVolume);
    const key = item ? item.key : inVolume;
    return { secretName: volume.secret.secretName, key, describe: `Secret ${volume.secret.secretName}, key ${key}` };
  }
  return { describe: `the file ${file}` };
}

/** The image's default PGDATA for a major version. */
function defaultPgData(major: number | undefined): string | undefined {
  if (major === undefined) {
    return undefined;
  }
  return major >= 18 ? `/var/lib/postgresql/${major}/docker` : '/var/lib/postgresql/data';
}

/** The major version of an image, from its tag. */
function majorOfImage(image: string): number | undefined {
  const parsed = parseImage(image);
  if (typeof parsed !== 'string') {
    return parsed.majorVersion;
  }
  const tag = /:([^/:@]+)(@|$)/.exec(image)?.[1];
  const major = tag ? /^(\d+)(?=$|[.\-_])/.exec(tag) : null;
  return major ? Number(major[1]) : undefined;
}

/**
 * Reads a StatefulSet as a PostgreSQL instance, or returns undefined when it does not run
 * PostgreSQL. Its PostgreSQL container is the one the StatefulSet's `postgres-statefulset.io/container`
 * annotation names, else the first container with PGDATA in its environment, else the first
 * running the official image.
 */
export function readInstance(object: any, source: string): Instance | undefined {
  if (object?.kind !== 'StatefulSet' || typeof object.metadata?.name !== 'string') {
    return undefined;
  }
  const podSpec = object.spec?.template?.spec ?? {};
  const containers: any[] = Array.isArray(podSpec.containers) ? podSpec.containers : [];
  const named = object.metadata.annotations?.[CONTAINER_ANNOTATION];
  const container = (named !== undefined ? containers.find((c) => c.name === named) : undefined)
    ?? containers.find((c) => (c.env ?? []).some((e: any) => e.name === 'PGDATA'))
    ?? containers.find((c) => isPostgresImage(c.image));
  if (container === undefined) {
    return undefined;
  }
  const env = new Map<string, any>(((container.env ?? []) as any[]).map((e) => [e.name, e]));
  const image = String(container.image ?? '');

  const annotatedMajor = Number(object.metadata.annotations?.[MAJOR_ANNOTATION]);
  const tagMajor = majorOfImage(image);
  const pgDataEnv = envText(env.get('PGDATA'));
  const layoutMajor = pgDataEnv ? /^\/var\/lib\/postgresql\/(\d+)\/docker\/?$/.exec(pgDataEnv) : null;
  const major = Number.isInteger(annotatedMajor) && annotatedMajor > 0 ? annotatedMajor
    : tagMajor ?? (layoutMajor ? Number(layoutMajor[1]) : undefined);
  const pgData = pgDataEnv ?? defaultPgData(major);

  const claimTemplates = new Set(((object.spec?.volumeClaimTemplates ?? []) as any[]).map((t) => t?.metadata?.name));
  const dataMount = pgData === undefined ? undefined : ((container.volumeMounts ?? []) as any[])
    .filter((m) => typeof m.mountPath === 'string' && (pgData === m.mountPath || pgData.startsWith(`${m.mountPath.replace(/\/+$/, '')}/`)))
    .sort((a, b) => b.mountPath.length - a.mountPath.length)
    .map((m) => ({ path: m.mountPath as string, volume: String(m.name), claimTemplate: claimTemplates.has(m.name) }))[0];

  const ports: any[] = container.ports ?? [];
  const pgPort = Number(envText(env.get('PGPORT')));
  const port = Number.isInteger(pgPort) && pgPort > 0 ? pgPort
    : Number((ports.find((p) => p.name === 'postgresql') ?? ports[0])?.containerPort ?? 5432);

  const username = envText(env.get('POSTGRES_USER')) || 'postgres';
  const tag = /:([^/:@]+)(@|$)/.exec(image)?.[1];
  const runAsUser = container.securityContext?.runAsUser ?? podSpec.securityContext?.runAsUser;
  const namespace: string | undefined = object.metadata.namespace || undefined;
  return {
    namespace,
    name: object.metadata.name,
    id: namespace ? `${namespace}/${object.metadata.name}` : object.metadata.name,
    source,
    object,
    containerName: String(container.name),
    image,
    libc: tag === undefined ? undefined : /(^|[.\-_])alpine/.test(tag) ? 'musl' : 'glibc',
    runAsUser: typeof runAsUser === 'number' ? runAsUser : undefined,
    major,
    pgData,
    dataMount,
    port,
    username,
    database: envText(env.get('POSTGRES_DB')) || username,
    initdbArgs: (envText(env.get('POSTGRES_INITDB_ARGS')) ?? '').trim().split(/\s+/).filter((a) => a !== '').join(' '),
    password: passwordSource(env, 'POSTGRES_PASSWORD', container, podSpec),
    replicationUser: envText(env.get('POSTGRES_REPLICATION_USER')),
    replicationPassword: passwordSource(env, 'POSTGRES_REPLICATION_PASSWORD', container, podSpec),
    replicas: Number.isInteger(object.spec?.replicas) ? object.spec.replicas : 1,
    upgradeFromMajor: object.spec?.template?.metadata?.annotations?.[UPGRADE_ANNOTATION],
    whenDeleted: object.spec?.persistentVolumeClaimRetentionPolicy?.whenDeleted ?? 'Retain',
    claimLabels: ((object.spec?.volumeClaimTemplates ?? []) as any[]).find((t) => t?.metadata?.name === dataMount?.volume)?.metadata?.labels,
  };
}

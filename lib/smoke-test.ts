import * as crypto from 'crypto';
import { ApiObject, Duration, Names } from 'cdk8s';
import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import { clientEnv, clientSettings } from './connection';
import { IPostgresDatabase } from './database';
import { DEFAULT_IMAGE, parseImage, postgresUserId } from './image';
import { PostgresStatefulSet } from './postgres-stateful-set';
import { Problems } from './problems';
import { EnvVar, PodTemplateSpec, renderObject } from './render/manifest';
import { containerSecurityContext, podSecurityContext } from './security';
import { stableJson } from './stable-json';
import { clientCaMount, clientCaVolume } from './tls';

/**
 * Properties of a `PostgresSmokeTest`.
 */
export interface PostgresSmokeTestProps {
  /** The database to test. */
  readonly database: IPostgresDatabase;

  /**
   * Image with `psql` and `pg_isready`.
   *
   * @default - the database's image for a `PostgresStatefulSet`, else 'postgres:18.4'
   */
  readonly image?: string;

  /**
   * The SQL the test runs; the Job fails when it fails.
   *
   * @default 'SELECT current_user, current_database(), version()'
   */
  readonly query?: string;

  /**
   * How long the test waits for the database to accept connections.
   *
   * @default Duration.minutes(5)
   */
  readonly timeout?: Duration;

  /**
   * Test the read-only connection instead of the read-write one.
   *
   * @default false
   */
  readonly readOnly?: boolean;

  /**
   * Delete the finished Job after this long (so that the next `kubectl apply` runs it again).
   * The Job's name ends with a hash of its pod template, so a change to the test (the database's
   * image, host, TLS, ...) is a new Job that the next `kubectl apply` runs anyway; this also
   * removes the Jobs of earlier versions.
   *
   * @default - the Job is kept
   */
  readonly ttlAfterFinished?: Duration;
}

/**
 * A Job that connects to a database over its Service DNS name with its credentials, runs a
 * query, and fails when it cannot, like `helm test`: the usual manual check,
 * `kubectl run ... psql -h <service>.<namespace>.svc.cluster.local -U postgres`, as a construct.
 *
 * It waits up to `timeout` for the database to accept connections, so it can be applied
 * together with the database. Its pod meets the "restricted" Pod Security Standard, and it is
 * admitted to the database's NetworkPolicy.
 */
export class PostgresSmokeTest extends Construct {
  /** The Job. */
  public readonly job: ApiObject;

  /** The command the Job's container runs. */
  public readonly command: string[];

  constructor(scope: Construct, id: string, props: PostgresSmokeTestProps) {
    super(scope, id);
    const problems = Problems.of(this, 'PostgresSmokeTest');
    const image = props.image ?? (props.database instanceof PostgresStatefulSet ? props.database.image : DEFAULT_IMAGE);
    const uid = postgresUserId(image); // the image's postgres user, as the database's pods run
    const parsed = parseImage(image);
    problems.check('image', image, typeof parsed === 'string' ? parsed : undefined, `pin the image, e.g. '${DEFAULT_IMAGE}'`);
    const timeout = props.timeout ?? Duration.minutes(5);
    const seconds = timeout.toSeconds({ integral: false });
    problems.check('timeout', timeout, Number.isInteger(seconds) && seconds >= 1 ? undefined : 'must be a whole number of seconds, at least 1',
      'e.g. Duration.minutes(5)');
    const query = props.query ?? 'SELECT current_user, current_database(), version()';
    problems.check('query', query, query.trim() === '' ? 'must not be empty' : undefined, 'give the SQL to run');

    // no options that could be wrong: the database's own credentials, and the Job runs in the database's namespace
    const namespace = props.database instanceof PostgresStatefulSet ? props.database.statefulSet.metadata.namespace : undefined;
    const settings = clientSettings(props.database, { readOnly: props.readOnly }, problems, namespace)!;
    const labels = { 'app.kubernetes.io/name': 'postgresql-smoke-test', 'app.kubernetes.io/instance': Names.toLabelValue(this) };
    // with TLS it verifies the server (sslmode=verify-full) and waits with pg_isready's default sslmode, so that a
    // certificate the client refuses is reported by psql rather than waited on as a server that does not answer
    this.command = ['sh', '-c', settings.tls ? smokeTestScript('PGSSLMODE=prefer pg_isready') : SCRIPT];
    const env: EnvVar[] = [
      ...clientEnv(settings),
      { name: 'SMOKE_TEST_QUERY', value: query },
      { name: 'SMOKE_TEST_TIMEOUT_SECONDS', value: String(seconds) },
    ];
    const template: PodTemplateSpec = {
      metadata: { labels },
      spec: {
        restartPolicy: 'Never',
        automountServiceAccountToken: false,
        securityContext: podSecurityContext({ runAsUser: uid, runAsGroup: uid, fsGroup: uid, fsGroupChangePolicy: 'OnRootMismatch' }),
        containers: [{
          name: 'psql',
          image,
          imagePullPolicy: 'IfNotPresent',
          command: this.command,
          env,
          resources: {
            requests: { cpu: '10m', memory: '32Mi' },
            limits: { memory: '64Mi' },
          },
          securityContext: containerSecurityContext(true),
          volumeMounts: settings.tls ? [clientCaMount(settings.tls)] : undefined,
        }],
        volumes: settings.tls ? [clientCaVolume(settings.tls)] : undefined,
      },
    };
    this.job = renderObject(this, 'Resource', k8s.KubeJob, {
      // A Job's pod template cannot be changed once the Job exists: `kubectl apply` of a changed
      // one (the database's new image, its -rw Service once replicas are raised, TLS) fails with
      // "field is immutable". A name that ends with a hash of the template makes a changed test a
      // new Job, which the apply creates and runs.
      metadata: { name: `${Names.toDnsLabel(this, { maxLen: 54 })}-${contentHash(template)}`, namespace, labels },
      spec: {
        backoffLimit: 1,
        activeDeadlineSeconds: seconds + 60,
        ttlSecondsAfterFinished: props.ttlAfterFinished?.toSeconds(),
        template,
      },
    });
    props.database.allowFrom(this.job);
    if (props.database instanceof PostgresStatefulSet) {
      this.job.addDependency(props.database.statefulSet);
    }
  }
}

/** The first 8 hex digits of the SHA-256 of a value's JSON, keys sorted as cdk8s writes them (the pod template here: plain values, no tokens). */
function contentHash(value: unknown): string {
  return crypto.createHash('sha256').update(stableJson(value)).digest('hex').slice(0, 8);
}

/** Waits for the database, then runs the query; exits non-zero when either fails. */
const smokeTestScript = (isReady: string) => `set -eu
deadline=$(( $(date +%s) + SMOKE_TEST_TIMEOUT_SECONDS ))
until ${isReady} -q -h "$PGHOST" -p "$PGPORT"; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "smoke test: $PGHOST:$PGPORT does not accept connections after $SMOKE_TEST_TIMEOUT_SECONDS seconds" >&2
    exit 1
  fi
  echo "smoke test: waiting for $PGHOST:$PGPORT"
  sleep 2
done
psql -X -v ON_ERROR_STOP=1 --no-password -c "$SMOKE_TEST_QUERY"
echo "smoke test: connected to $PGHOST:$PGPORT as $PGUSER and ran the query"
`;
const SCRIPT = smokeTestScript('pg_isready');

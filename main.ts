// The example app: the training exercise this project grew out of
// (../shared/seed/postgresql-statefulset-exercise.md), reproduced with the library, plus the
// many-instances example of teams.ts. `npm run synth` writes dist/postgresql.k8s.yaml and
// dist/teams/teams.k8s.yaml, the manifests committed in this repository.
//
// No password is written to dist/: without SYNTH_POSTGRES_PASSWORD the Secret is expected
// (kubectl create secret generic postgresql-secrets ...); with it, the Secret is rendered and
// the output goes to dist-local/, which git ignores:
//   npm run synth                                # dist/, no Secret
//   SYNTH_POSTGRES_PASSWORD=... npm run synth    # dist-local/, with the Secret postgresql-secrets
import * as path from 'path';
import { App, Chart, ChartProps, Duration, Size } from 'cdk8s';
import { Construct } from 'constructs';
import { PostgresCredentials, PostgresStatefulSet, PostgresSynth } from './lib';
import { TEAMS, TeamDatabasesChart } from './teams';

/** Properties of the example app's chart. */
export interface PostgresqlExerciseChartProps extends ChartProps {
  /**
   * The superuser password to render into the Secret `postgresql-secrets`.
   *
   * @default - the Secret is not rendered: create it with kubectl before applying the manifest
   */
  readonly password?: string;
}

/**
 * The example app: the training exercise's Secret `postgresql-secrets`, headless Service
 * `postgresql-svc` and StatefulSet `postgresql-sfs`, as one `PostgresStatefulSet`.
 */
export class PostgresqlExerciseChart extends Chart {
  public readonly database: PostgresStatefulSet;

  constructor(scope: Construct, id: string, props: PostgresqlExerciseChartProps = {}) {
    super(scope, id, props);
    this.database = new PostgresStatefulSet(this, 'Db', {
      statefulSetName: 'postgresql-sfs',
      serviceName: 'postgresql-svc',
      secretName: 'postgresql-secrets',
      credentials: props.password
        ? PostgresCredentials.fromPassword(props.password)
        : PostgresCredentials.expectSecret(),
      selectorLabels: { app: 'postgresql-a' },
      containerName: 'postgresql-db',
      portName: 'postgresql-port',
      image: 'postgres:12.2',
      dataMountPath: '/var/lib/postgresql/data',
      pgData: '/var/lib/postgresql/data/pgdata',
      storage: Size.gibibytes(1),
      storageClassName: 'default',
      terminationGracePeriod: Duration.seconds(10),
    });
  }
}

/** Whether `dir` is `parent` or inside it. */
function isWithin(dir: string, parent: string): boolean {
  const relative = path.relative(parent, dir);
  return !relative.startsWith('..') && !path.isAbsolute(relative);
}

if (require.main === module) {
  const password = process.env.SYNTH_POSTGRES_PASSWORD || undefined;
  // `cdk8s synth` sets CDK8S_OUTDIR (`npm run synth` passes --output dist-local with a password).
  const outdir = process.env.CDK8S_OUTDIR ?? (password ? 'dist-local' : 'dist');
  const committed = [path.resolve('dist'), path.join(__dirname, 'dist')];
  if (password && committed.some((dist) => isWithin(path.resolve(outdir), dist))) {
    console.error([
      `SYNTH_POSTGRES_PASSWORD is set and the output directory is ${outdir}, whose manifests are committed: the password would be written into a tracked file. Nothing was written.`,
      'Fix: run `SYNTH_POSTGRES_PASSWORD=... npm run synth`, which writes dist-local/ (ignored by git), or pass --output <a directory git ignores>.',
      'If `cdk8s synth` emptied dist/ before running this app, `git checkout -- dist` restores it.',
    ].join('\n'));
    process.exit(1);
  }

  // No construct-metadata.json in dist/: `kubectl apply -f dist/` would try to apply it.
  const app = new App({ outdir, recordConstructMetadata: false });
  new PostgresqlExerciseChart(app, 'postgresql', { password });

  // The many-instances example (teams.ts), in dist/teams/: `kubectl apply -f dist/` is not
  // recursive, so it applies the exercise's manifest alone.
  const teams = new App({ outdir: path.join(outdir, 'teams'), recordConstructMetadata: false });
  new TeamDatabasesChart(teams, 'teams', { teams: TEAMS });

  // Both apps or neither: every problem of both, one line each, without a stack trace; after a
  // synth, what to create before the first kubectl apply (the Secrets, their keys, the commands).
  PostgresSynth.synthAllOrReport([app, teams]);
}

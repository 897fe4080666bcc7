// The example app: the training exercise (../shared/seed/postgresql-statefulset-exercise.md),
// reproduced with the library. `cdk8s synth` writes dist/postgresql.k8s.yaml.
//
// No password is written to dist/ unless one is supplied when synthesizing:
//   SYNTH_POSTGRES_PASSWORD=... npm run synth    # renders the Secret postgresql-secrets
//   npm run synth                                # expects it: kubectl create secret generic postgresql-secrets ...
import * as path from 'path';
import { App, Chart, ChartProps, Duration, Size } from 'cdk8s';
import { Construct } from 'constructs';
import { PostgresCredentials, PostgresStatefulSet } from './lib';
import { TEAMS, TeamDatabasesChart } from './teams';

/** Properties of the exercise chart. */
export interface PostgresqlExerciseChartProps extends ChartProps {
  /**
   * The superuser password to render into the Secret `postgresql-secrets`.
   *
   * @default - the Secret is not rendered; create it with kubectl as the exercise does
   */
  readonly password?: string;
}

/** The exercise's Secret, headless Service `postgresql-svc` and StatefulSet `postgresql-sfs`. */
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

/**
 * Synthesizes several apps (each writes its own outdir), or none: every construct of every
 * app is validated first, and all the problems are reported together, so that a mistake in
 * one app leaves no manifest of another in dist/.
 */
export function synthApps(apps: App[]): void {
  const errors = apps.flatMap((app) => app.node.findAll()
    .flatMap((c) => c.node.validate().map((error) => `[${c.node.path}] ${error}`)));
  if (errors.length > 0) {
    throw new Error(`Validation failed with the following errors:\n  ${errors.join('\n  ')}`);
  }
  apps.forEach((app) => app.synth());
}

if (require.main === module) {
  // No construct-metadata.json in dist/: `kubectl apply -f dist/` would try to apply it.
  const app = new App({ recordConstructMetadata: false });
  new PostgresqlExerciseChart(app, 'postgresql', { password: process.env.SYNTH_POSTGRES_PASSWORD || undefined });

  // The many-instances example (teams.ts), in dist/teams/: `kubectl apply -f dist/` is not
  // recursive, so it applies the exercise alone.
  const teams = new App({ outdir: path.join(app.outdir, 'teams'), recordConstructMetadata: false });
  new TeamDatabasesChart(teams, 'teams', { teams: TEAMS });

  synthApps([app, teams]);
}

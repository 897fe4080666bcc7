// The library used as platform teams use it: several databases from one typed list, one per
// team, each with its own size, storage class and replicas, in one chart. Names, selectors,
// Secrets and Services never collide, and a mistake in one entry is reported with that entry's
// name ([teams/<team>] ...).
//
// `npm run synth` writes it to dist/teams/teams.k8s.yaml (main.ts synthesizes it next to
// dist/postgresql.k8s.yaml), which `kubectl apply -f dist/` leaves alone; apply it with
// `kubectl apply -f dist/teams/` after creating each team's Secret:
//   kubectl create secret generic <team>-postgres --from-literal=POSTGRES_PASSWORD=... [--from-literal=POSTGRES_REPLICATION_PASSWORD=...]
import { App, Chart, ChartProps, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { PostgresSmokeTest, PostgresStatefulSet } from './lib';

/** One team's database. */
export interface TeamDatabase {
  /** The team: the construct id and the name of its objects. */
  readonly team: string;
  /** Storage per pod. */
  readonly storage: Size;
  /**
   * Storage class.
   *
   * @default - the cluster's default class
   */
  readonly storageClassName?: string;
  /**
   * Pods: more than one means a primary with hot standbys.
   *
   * @default 1
   */
  readonly replicas?: number;
  /**
   * Memory request and limit.
   *
   * @default 1Gi
   */
  readonly memory?: Size;
  /**
   * Container images of the team's services that connect to the database.
   *
   * @default - none
   */
  readonly clients?: string[];
}

/** The databases of this example. */
export const TEAMS: TeamDatabase[] = [
  { team: 'payments', storage: Size.gibibytes(50), storageClassName: 'fast-ssd', replicas: 3, memory: Size.gibibytes(4), clients: ['example/payments-api:2.3.1'] },
  { team: 'search', storage: Size.gibibytes(20), clients: ['example/search-indexer:1.0.4'] },
  { team: 'analytics', storage: Size.gibibytes(200), storageClassName: 'standard', memory: Size.gibibytes(8) },
];

/** Properties of the team databases chart. */
export interface TeamDatabasesChartProps extends ChartProps {
  /** One entry per database. */
  readonly teams: TeamDatabase[];
}

/** One PostgresStatefulSet per team, each with a smoke test and a NetworkPolicy that admits only the team's services. */
export class TeamDatabasesChart extends Chart {
  /** The databases, by team. */
  public readonly databases: { [team: string]: PostgresStatefulSet } = {};

  constructor(scope: Construct, id: string, props: TeamDatabasesChartProps) {
    super(scope, id, props);
    for (const entry of props.teams) {
      const memory = entry.memory ?? Size.gibibytes(1);
      const db = new PostgresStatefulSet(this, entry.team, {
        statefulSetName: entry.team,
        serviceName: entry.team,
        secretName: `${entry.team}-postgres`,
        replicas: entry.replicas,
        storage: entry.storage,
        storageClassName: entry.storageClassName,
        databaseName: entry.team,
        labels: { team: entry.team },
        resources: { cpu: { request: kplus.Cpu.millis(250) }, memory: { request: memory, limit: memory } },
        allowedClients: [],
      });
      this.databases[entry.team] = db;
      for (const [index, image] of (entry.clients ?? []).entries()) {
        const client = new kplus.Deployment(this, `${entry.team}-client-${index}`, {
          metadata: { labels: { team: entry.team } },
          containers: [{ image, portNumber: 8080 }],
        });
        db.connect(client);
      }
      new PostgresSmokeTest(this, `${entry.team}-smoke-test`, { database: db });
    }
  }
}

if (require.main === module) {
  const app = new App({ recordConstructMetadata: false });
  new TeamDatabasesChart(app, 'teams', { teams: TEAMS });
  app.synth();
}

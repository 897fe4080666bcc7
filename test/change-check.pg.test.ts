// The SQL and shell steps the change check prints for changes the database ignores, run against a
// real PostgreSQL initialised from the baseline's manifest (as the image would have initialised
// the running instance): psql with exactly the arguments and SQL of each step, over the pod's
// socket, then the outcome checked. Values reach the SQL only as psql variables; the names with
// capitals test that they are quoted as identifiers.
import * as path from 'path';
import { Testing } from 'cdk8s';
import { PostgresCredentials, PostgresStatefulSet, PostgresStatefulSetProps } from '../lib';
import { checkChanges } from '../lib/change-check/check';
import { Finding, psqlArgs } from '../lib/change-check/findings';
import { containerEnv, Env, freePorts, initdb, runInitScripts, runOk, Sandbox, Server } from './pg/harness';
import { container, oneOfKind, synth } from './util';

jest.setTimeout(60_000); // real servers, on a machine that may be busy

const PASSWORD = 'tes6Aev8';
const REPLICATION_PASSWORD = 'r3plicate-me';
let PORT: number;
beforeAll(async () => {
  [PORT] = await freePorts(1);
});

let sandbox: Sandbox;
let server: Server | undefined;
beforeEach(() => {
  sandbox = new Sandbox('change-check-');
});
afterEach(async () => {
  await server?.kill();
  server = undefined;
  sandbox.cleanup();
});

/** The manifest of the instance `orders` with these props (credentials from a rendered Secret). */
function manifest(props: PostgresStatefulSetProps): any[] {
  const chart = Testing.chart();
  new PostgresStatefulSet(chart, 'Db', {
    statefulSetName: 'orders',
    port: PORT,
    dataMountPath: path.join(sandbox.dir, 'volume'),
    credentials: PostgresCredentials.fromPassword(PASSWORD, { username: 'postgres' }),
    ...props,
  });
  return synth(chart);
}

/** The findings for a change from `before` to `after`. */
function findings(before: any[], after: any[]): Finding[] {
  const set = (objects: any[]) => ({ description: 'x', objects: objects.map((object) => ({ object, source: 'x.yaml' })), listed: false });
  return checkChanges(set(before), set(after)).changed.flatMap((r) => r.findings);
}

function only(all: Finding[], title: RegExp): Finding {
  const found = all.filter((f) => title.test(f.title));
  expect(found).toHaveLength(1);
  return found[0];
}

/** Starts PostgreSQL initialised from a manifest's container, as the image does for an empty volume. */
async function startFrom(objects: any[], initdbFiles: { name: string; content: string; mode: number }[] = []): Promise<{ env: Env; socket: string }> {
  const secret = oneOfKind(objects, 'Secret');
  const env = containerEnv(container(objects), { [secret.metadata.name]: secret.stringData });
  initdb(env);
  const socket = sandbox.mkdir('run');
  if (initdbFiles.length > 0) {
    runInitScripts(env, socket, initdbFiles);
  }
  server = await Server.start(env, socket, container(objects).args);
  return { env, socket };
}

/** Runs every psql step of a finding, in order, as printed (its arguments, its SQL on stdin), over the socket. */
function runSteps(f: Finding, env: Env, socket: string, from = 0, to = f.steps.length): void {
  for (const step of f.steps.slice(from, to)) {
    if (step.psql) {
      runOk(psqlArgs(step.psql), { ...env, PGHOST: socket }, { input: `${step.psql.sql}\n` });
    }
  }
}

function query(env: Env, socket: string, sql: string, user = 'postgres'): string {
  return runOk(['psql', '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-U', user, '-d', 'postgres', '-c', sql], { ...env, PGHOST: socket }).trim();
}

test('POSTGRES_USER: the rename steps leave the superuser renamed, its password working, and no helper role', async () => {
  const before = manifest({});
  const after = manifest({ credentials: PostgresCredentials.fromPassword(PASSWORD, { username: 'ShopAdmin' }) });
  const f = only(findings(before, after), /POSTGRES_USER/);
  const { env, socket } = await startFrom(before);

  runSteps(f, env, socket);

  expect(query(env, socket, 'SELECT string_agg(rolname, \',\' ORDER BY rolname) FROM pg_roles WHERE rolname !~ \'^pg_\'', 'ShopAdmin')).toBe('ShopAdmin');
  expect(server!.login('ShopAdmin', PASSWORD)).toEqual({ ok: true, error: '' });
  expect(server!.login('postgres', PASSWORD).ok).toBe(false);
});

test('POSTGRES_DB: the create step creates the new database; the rename step renames the old one with its data', async () => {
  const before = manifest({ databaseName: 'orders' });
  const { env, socket } = await startFrom(before);
  runOk(['psql', '-X', '-v', 'ON_ERROR_STOP=1', '-U', 'postgres', '-d', 'orders', '-c', 'CREATE TABLE keep (x int); INSERT INTO keep VALUES (42)'], { ...env, PGHOST: socket });

  const create = only(findings(before, manifest({ databaseName: 'NewShop' })), /POSTGRES_DB/);
  runSteps(create, env, socket, 0, 1);
  expect(query(env, socket, 'SELECT datname FROM pg_database WHERE datname IN (\'orders\', \'NewShop\') ORDER BY 1')).toBe('NewShop\norders');

  const rename = only(findings(before, manifest({ databaseName: 'archive' })), /POSTGRES_DB/);
  expect(rename.steps[1].say).toMatch(/^Or rename orders to archive/);
  runSteps(rename, env, socket, 1, 2);
  expect(runOk(['psql', '-X', '-A', '-t', '-U', 'postgres', '-d', 'archive', '-c', 'SELECT x FROM keep'], { ...env, PGHOST: socket }).trim()).toBe('42');
  expect(query(env, socket, 'SELECT count(*) FROM pg_database WHERE datname = \'orders\'')).toBe('0');
});

test('the replication role: the printed clean-up drops the old role once the standbys use the new one', async () => {
  const replicated = (username: string) => manifest({
    replicas: 2,
    replicationCredentials: PostgresCredentials.fromPassword(REPLICATION_PASSWORD, { username }),
  });
  const f = only(findings(replicated('replicator'), replicated('standby')), /POSTGRES_REPLICATION_USER/);
  const { env, socket } = await startFrom(replicated('replicator'));
  query(env, socket, 'CREATE ROLE replicator REPLICATION LOGIN; CREATE ROLE standby REPLICATION LOGIN');
  runSteps(f, env, socket);
  expect(query(env, socket, 'SELECT string_agg(rolname, \',\' ORDER BY rolname) FROM pg_roles WHERE rolreplication AND NOT rolsuper')).toBe('standby');
});

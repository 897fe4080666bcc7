// The smoke test's command, from the synthesized Job, against a real PostgreSQL on loopback,
// PostgreSQL 15 and 18 (the image, the Job's included, is the installation's version).
// Stand-in: PGHOST (the Service DNS name) is 127.0.0.1.
import * as path from 'path';
import { Duration, Testing } from 'cdk8s';
import { PostgresCredentials, PostgresSmokeTest, PostgresSmokeTestProps, PostgresStatefulSet } from '../lib';
import { containerEnv, Env, freePorts, INSTALLS, Installation, PG18, Sandbox, Server } from './pg/harness';
import { container, oneOfKind, synth } from './util';

let PORT: number;
beforeAll(async () => {
  [PORT] = await freePorts(1);
});
const PASSWORD = 'tes6Aev8';

let sandbox: Sandbox;
let server: Server | undefined;
beforeEach(() => {
  sandbox = new Sandbox('smoke-');
});
afterEach(async () => {
  await server?.kill();
  server = undefined;
  sandbox.cleanup();
});

function synthesize(pg: Installation, smoke: Partial<PostgresSmokeTestProps> = {}) {
  const chart = Testing.chart();
  const db = new PostgresStatefulSet(chart, 'Db', {
    image: pg.image, port: PORT, dataMountPath: path.join(sandbox.dir, 'volume'), credentials: PostgresCredentials.fromPassword(PASSWORD),
  });
  new PostgresSmokeTest(chart, 'Smoke', { database: db, ...smoke });
  const manifest = synth(chart);
  const secret = oneOfKind(manifest, 'Secret');
  const secrets = { [secret.metadata.name]: secret.stringData };
  const job = oneOfKind(manifest, 'Job').spec.template.spec.containers[0];
  return { dbEnv: containerEnv(container(manifest), secrets), job, jobEnv: { ...containerEnv(job, secrets), PGHOST: '127.0.0.1' } };
}

async function startDatabase(pg: Installation, env: Env) {
  sandbox.mkdir('volume');
  server = await pg.startPod({ env, socketDir: sandbox.mkdir('run') });
}

describe.each(INSTALLS)('%s', (pg) => {
  test('connects, runs the query and exits 0 against a running database', async () => {
    const { dbEnv, job, jobEnv } = synthesize(pg);
    await startDatabase(pg, dbEnv);
    const result = pg.run(job.command, jobEnv);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/current_user \| current_database \|\s+version[\s\S]*postgres\s+\| postgres\s+\| PostgreSQL \d+/);
    expect(result.stdout).toContain(`PostgreSQL ${pg.major}.`);
    expect(result.stdout).toContain(`smoke test: connected to 127.0.0.1:${PORT} as postgres and ran the query`);
  }, 60_000);

  test('fails when the password in the Secret is not the database\'s', async () => {
    const { dbEnv, job, jobEnv } = synthesize(pg);
    await startDatabase(pg, dbEnv);
    const result = pg.run(job.command, { ...jobEnv, PGPASSWORD: 'not-the-password' });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('password authentication failed for user "postgres"');
  }, 60_000);

  test('fails when the query fails', async () => {
    const { dbEnv, job, jobEnv } = synthesize(pg, { query: 'SELECT * FROM company' });
    await startDatabase(pg, dbEnv);
    const result = pg.run(job.command, jobEnv);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('relation "company" does not exist');
  }, 60_000);
});

// It waits for nothing that depends on the server's version: once, with the default image's major.
test('fails after its timeout when the database does not accept connections', () => {
  const { job, jobEnv } = synthesize(PG18, { timeout: Duration.seconds(3) });
  const started = Date.now();
  const result = PG18.run(job.command, jobEnv);
  expect(result.status).toBe(1);
  expect(result.stdout).toContain(`smoke test: waiting for 127.0.0.1:${PORT}`);
  expect(result.stderr).toContain(`smoke test: 127.0.0.1:${PORT} does not accept connections after 3 seconds`);
  expect(Date.now() - started).toBeLessThan(10_000);
}, 30_000);

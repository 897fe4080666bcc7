// A standby's start step on a new volume with the image's own data layout (no dataMountPath):
// up to 17 the volume is at /var/lib/postgresql/data and PGDATA is pgdata/ in it; from 18 the
// volume is at /var/lib/postgresql and PGDATA is 18/docker under it, a directory a new volume
// lacks. The step keeps its password file and its clone beside PGDATA, so it must create that
// directory. (replication.suite.ts runs the rest of replication on a layout of its own, /data.)
import * as fs from 'fs';
import * as path from 'path';
import { Testing } from 'cdk8s';
import { PostgresStatefulSet } from '../lib';
import { freePorts, INSTALLS, killGroup, Sandbox, waitFor } from './pg/harness';
import { SimulatedPod } from './pg/pod';
import { synth } from './util';

describe.each(INSTALLS)('%s', (pg) => {
  let sandbox: Sandbox;
  beforeEach(() => {
    sandbox = new Sandbox('repl-layout-');
  });
  afterEach(() => {
    sandbox.cleanup();
  });

  test('a standby on a new volume writes its password file beside PGDATA and waits for the primary', async () => {
    const [port, unused] = await freePorts(2);
    const chart = Testing.chart();
    new PostgresStatefulSet(chart, 'Db', { image: pg.image, statefulSetName: 'pg', replicas: 2, port: unused, secretName: 'pg-secret' });
    const p1 = new SimulatedPod({ objects: synth(chart), secrets: { 'pg-secret': { POSTGRES_PASSWORD: 'tes6Aev8', POSTGRES_REPLICATION_PASSWORD: 'r3pl1cate' } } },
      { ordinal: 1, sandbox, install: pg, port });
    expect(path.relative(p1.volume, p1.pgData)).toBe(pg.major >= 18 ? `${pg.major}/docker` : 'pgdata');

    // WHEN its container starts, before the primary exists (nothing listens on the manifest's port)
    const cloning = p1.startStartSteps();
    try {
      // THEN it gets as far as waiting for the primary, its password file written
      await waitFor('the standby to wait for the primary', () => cloning.output().includes('waiting for the primary') || cloning.child.exitCode !== null, 20_000);
      expect(cloning.output()).toContain(`waiting for the primary 127.0.0.1:${unused} to accept connections`);
      expect(fs.statSync(`${p1.pgData}.pgpass`).mode & 0o777).toBe(0o600);
    } finally {
      await killGroup(cloning.child);
    }
  }, 30_000);
});

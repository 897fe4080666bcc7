// The harness's own helpers that need no server.
import * as fs from 'fs';
import * as path from 'path';
import { createRunFiles, initdbCacheDir, INSTALLS, PG15, PG18, removeRunFiles, SCRATCH, waitFor } from './pg/harness';

describe('waitFor', () => {
  test('a check that throws counts as not yet', async () => {
    let calls = 0;
    await waitFor('the third call', () => {
      calls += 1;
      if (calls < 3) {
        throw new Error('relation "company" does not exist');
      }
      return true;
    }, 5_000, 1);
    expect(calls).toBe(3);
  });

  test('on timeout, the error names what it waited for and the last error the check threw', async () => {
    await expect(waitFor('the standby to replay', () => {
      throw new Error('relation "company" does not exist');
    }, 50, 1)).rejects.toThrow('timed out after 50 ms waiting for the standby to replay; the last check threw: relation "company" does not exist');
    await expect(waitFor('nothing', () => false, 50, 1)).rejects.toThrow(/^timed out after 50 ms waiting for nothing$/);
  });
});

test('the installations, oldest first, named for test titles', () => {
  expect(INSTALLS).toEqual([PG15, PG18]);
  expect(INSTALLS.map(String)).toEqual(['PostgreSQL 15 (host)', 'PostgreSQL 18 (sid chroot)']);
  expect([PG15.bin, PG18.bin]).toEqual(['/usr/lib/postgresql/15/bin', '/usr/lib/postgresql/18/bin']);
  expect(PG15.root).toBeUndefined();
  expect(PG18.hostPath('/usr/lib/postgresql/18/bin/postgres')).toBe(`${PG18.root}/usr/lib/postgresql/18/bin/postgres`);
});

describe('the jest run\'s directory of initdb results', () => {
  const VARIABLE = 'PG_HARNESS_RUN_DIR';
  const before = process.env[VARIABLE];
  afterEach(() => {
    process.env[VARIABLE] = before;
  });

  test('jest\'s globalSetup made it, in the scratch directory, named for jest\'s process; the entrypoint gets it', () => {
    const runDir = process.env[VARIABLE]!;
    const jest = process.env.JEST_WORKER_ID !== undefined && process.ppid !== 1 ? [process.ppid, process.pid] : [process.pid];
    expect(path.dirname(runDir)).toBe(SCRATCH);
    expect(jest.map((pid) => `pg-run-${pid}-`)).toContainEqual(path.basename(runDir).replace(/[^-]+$/, ''));
    expect(fs.statSync(runDir).mode & 0o777).toBe(0o777); // the entrypoint writes there as postgres
    expect(initdbCacheDir()).toBe(runDir);
  });

  test('globalTeardown removes it; without one, or one this process cannot see, a test file keeps initdb\'s results to itself', () => {
    const made = createRunFiles();
    expect(process.env[VARIABLE]).toBe(made);
    expect(initdbCacheDir()).toBe(made);
    removeRunFiles();
    expect(fs.existsSync(made)).toBe(false);
    expect(process.env[VARIABLE]).toBeUndefined();
    const own = initdbCacheDir();
    expect(own).not.toBe(made);
    expect(fs.existsSync(own)).toBe(true);
    process.env[VARIABLE] = '/elsewhere/pg-run-1-x'; // not under SCRATCH
    expect(initdbCacheDir()).toBe(own);
  });
});

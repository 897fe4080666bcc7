// The harness's own helpers that need no server.
import { INSTALLS, PG15, PG18, waitFor } from './pg/harness';

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

// The harness's stand-in for the image's entrypoint (test/pg/entrypoint.sh): what the other
// real-PostgreSQL tests rely on when they start a "pod". A full initialisation, and one from a
// copied initdb result, on both majors; the rest of the entrypoint's rules, its cache of initdb
// results among them, with PostgreSQL 18 (the default image's major, and the faster initdb: the rules are
// the script's, not the server's).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { Env, entrypoint, freePorts, initdb, INSTALLS, Installation, PG15, PG18, Sandbox, Server } from './pg/harness';

const PASSWORD = 'pa$$ \'w"rd';

let sandbox: Sandbox;
let servers: Server[];
beforeEach(() => {
  sandbox = new Sandbox('entrypoint-');
  servers = [];
});
afterEach(async () => {
  for (const server of servers) {
    await server.kill();
  }
  sandbox.cleanup();
});

async function podEnv(name: string, env: Env = {}): Promise<Env> {
  const [port] = await freePorts(1);
  return { PGDATA: path.join(sandbox.mkdir(name), 'pgdata'), PGPORT: String(port), POSTGRES_PASSWORD: PASSWORD, ...env };
}

function compress(tool: string, text: string): Buffer {
  const result = spawnSync(tool, ['-c'], { input: text });
  if (result.status !== 0) {
    throw new Error(`${tool} failed: ${result.stderr}`);
  }
  return result.stdout;
}

/** The container of the first test; the second initialises from the same inputs (the initdb cache's key). */
const DATABASE = 'orders "eu"; DROP';
const ARGS = ['postgres', '-c', 'shared_buffers=48MB'];
const INPUTS = {
  POSTGRES_USER: 'admin', POSTGRES_DB: DATABASE,
  POSTGRES_INITDB_ARGS: '--locale="C.UTF-8" --data-checksums', // evaluated by bash: the quotes go
};

const hbaLines = (pgData: string) => fs.readFileSync(path.join(pgData, 'pg_hba.conf'), 'utf-8').split('\n').filter((l) => l.trim() && !l.startsWith('#'));

/** Expects two data directories `pg` initialised to be alike: the configuration, the control data, the mode. */
function expectAlike(pg: Installation, copied: string, fresh: string): void {
  for (const name of ['PG_VERSION', 'pg_hba.conf', 'pg_ident.conf', 'postgresql.conf', 'postgresql.auto.conf']) {
    expect(`${name}: ${fs.readFileSync(path.join(copied, name), 'utf-8')}`).toBe(`${name}: ${fs.readFileSync(path.join(fresh, name), 'utf-8')}`);
  }
  const control = (pgData: string) => pg.runOk(['pg_controldata', pgData]).split('\n')
    .filter((line) => /^(pg_control version|Catalog version|Data page checksum version|Database block size|Bytes per WAL segment)/.test(line));
  expect(control(copied)).toEqual(control(fresh));
  expect(fs.statSync(copied).mode & 0o777).toBe(0o700);
}

describe.each(INSTALLS)('%s', (pg) => {
  test('an empty PGDATA is initialised as the image does it, then postgres runs with the container\'s args', async () => {
    const database = DATABASE;
    const env = await podEnv('pod', INPUTS);
    const insert = (name: string) => `INSERT INTO steps (name, db, listen, shared_buffers) VALUES ('${name}', current_database(), current_setting('listen_addresses'), current_setting('shared_buffers'));\n`;
    const viaPsql = (name: string) => `psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -q -c "${insert(name).trim().replace(/"/g, '\\"')}"\n`;
    const server = await pg.startPod({
      env, socketDir: sandbox.mkdir('run'), args: ARGS,
      initdbD: [ // in no particular order: the entrypoint sorts them
        { name: '30-seed.sql', content: insert('30-seed.sql') },
        { name: '60-zst.sql.zst', content: compress('zstd', insert('60-zst.sql.zst')) },
        { name: '10-schema.sql', content: 'CREATE TABLE steps (id serial, name text, db text, listen text, shared_buffers text);\n' },
        { name: '25-sourced.sh', content: `echo "25-sourced.sh: \\$0 is $0"\n${viaPsql('25-sourced.sh')}`, mode: 0o644 },
        { name: '20-run.sh', content: `#!/bin/sh\nset -e\necho "20-run.sh: \\$0 is $0"\n${viaPsql('20-run.sh')}`, mode: 0o755 },
        { name: '40-gz.sql.gz', content: zlib.gzipSync(insert('40-gz.sql.gz')) },
        { name: '50-xz.sql.xz', content: compress('xz', insert('50-xz.sql.xz')) },
        { name: '70-notes.txt', content: 'not for the entrypoint' },
      ],
    });
    servers.push(server);

    // the files ran in sorted order, each the way its name says, against the temporary server:
    // socket only, in POSTGRES_DB, under the container's args
    expect(server.sql('SELECT string_agg(name, \' \' ORDER BY id) FROM steps', 'admin', PASSWORD, database))
      .toBe('20-run.sh 25-sourced.sh 30-seed.sql 40-gz.sql.gz 50-xz.sql.xz 60-zst.sql.zst');
    expect(server.sql('SELECT DISTINCT db || \'|\' || listen || \'|\' || shared_buffers FROM steps', 'admin', PASSWORD, database))
      .toBe(`${database}||48MB`);
    expect(server.log).toMatch(/running \S+\/20-run\.sh\n20-run\.sh: \$0 is \S+\/20-run\.sh\n/);
    expect(server.log).toContain(`sourcing ${path.dirname(entrypoint())}`); // the copy of the files lives next to it
    expect(server.log).toMatch(/sourcing \S+\/25-sourced\.sh\n25-sourced\.sh: \$0 is \S+\/entrypoint\.sh\n/);
    expect(server.log).toMatch(/ignoring \S+\/70-notes\.txt/);
    expect(server.log).toMatch(/PostgreSQL init process complete; ready for start up\.[\s\S]*database system is ready to accept connections/);

    // then postgres itself, with the container's args, on TCP
    expect(server.sql('SELECT current_setting(\'listen_addresses\') || \' \' || current_setting(\'shared_buffers\') || \' \' || current_setting(\'data_checksums\')', 'admin', PASSWORD, database))
      .toBe('127.0.0.1 48MB on');
    expect(server.sql('SELECT datcollate FROM pg_database WHERE datname = current_database()', 'admin', PASSWORD, database)).toBe('C.UTF-8');
    expect(server.sql('SELECT setting FROM pg_settings WHERE name = \'server_version_num\'', 'admin', PASSWORD, 'postgres')).toMatch(new RegExp(`^${pg.major}\\d{4}$`));

    // pg_hba.conf: initdb's, without trusted TCP, plus the image's line for every other host
    const hba = hbaLines(env.PGDATA);
    expect(hba.filter((line) => /^host\S*\s.*\strust\s*$/.test(line))).toEqual([]);
    expect(hba).toContainEqual(expect.stringMatching(/^local\s+all\s+all\s+trust$/));
    expect(hba[hba.length - 1]).toBe('host all all all scram-sha-256');
    expect(server.login('admin', PASSWORD).ok).toBe(true);
    expect(server.login('admin', 'wrong').error).toContain('password authentication failed for user "admin"');
  }, 60_000);

  test('an initialisation from a copied initdb is the one the entrypoint makes without the copy', async () => {
    const systemId = (pgData: string) => /Database system identifier:\s*(\d+)/.exec(pg.runOk(['pg_controldata', pgData]))![1];
    const first = initdb(await podEnv('first', INPUTS), { install: pg, args: ARGS }); // initdb's result, or a copy of it (HARNESS_INITDB_CACHE)
    const copied = initdb(await podEnv('copied', INPUTS), { install: pg, args: ARGS });
    const fresh = initdb(await podEnv('fresh', INPUTS), { install: pg, args: ARGS, cache: false });
    expect(systemId(copied)).toBe(systemId(first)); // a copy: initdb draws the identifier at random
    expect(systemId(fresh)).not.toBe(systemId(first));
    expectAlike(pg, copied, fresh);
  }, 60_000);
});

describe('the entrypoint\'s other rules, PostgreSQL 18', () => {
  const pg = PG18;

  test('initdb runs once for the same inputs (HARNESS_INITDB_CACHE): later initialisations copy its result, which is what initdb made', async () => {
    const cache = sandbox.mkdir('initdb-cache');
    /** The entrypoint's initdb step (sourced, as the image's helpers are) with the cache, on a new PGDATA; its output. */
    const runInitdb = async (name: string, env: Env) => {
      const podEnvironment = await podEnv(name, env);
      const result = pg.run(['bash', '-c', '. "$1"; read_settings; create_directories; run_initdb', 'initdb-step', entrypoint()],
        { ...podEnvironment, HARNESS_INITDB_CACHE: cache }, { timeoutMs: 120_000 });
      expect(`${result.status} ${result.stderr}`).toMatch(/^0 /);
      return { pgData: podEnvironment.PGDATA, output: result.stdout };
    };
    const ran = /Success\. You can now start the database server/;
    const copy = /harness: \S+ is a copy of an initdb with the same arguments, password, locale and user/;

    // the first runs initdb
    const first = await runInitdb('first', INPUTS);
    expect(first.output).toMatch(ran);
    // another database name (not an input of initdb): a copy, the same as what initdb made
    const second = await runInitdb('second', { ...INPUTS, POSTGRES_DB: 'another' });
    expect(second.output).toMatch(copy);
    expect(second.output).not.toMatch(ran);
    expectAlike(pg, second.pgData, first.pgData);
    expect(fs.readdirSync(second.pgData, { recursive: true }).sort()).toEqual(fs.readdirSync(first.pgData, { recursive: true }).sort());
    // another password, other initdb arguments, another locale: initdb runs
    for (const [name, env] of [
      ['password', { ...INPUTS, POSTGRES_PASSWORD: 'another password' }],
      ['arguments', { ...INPUTS, POSTGRES_INITDB_ARGS: '--locale="C.UTF-8"' }],
      ['locale', { ...INPUTS, LC_ALL: 'C' }],
    ] as const) {
      expect({ name, output: (await runInitdb(name, env)).output }).toEqual({ name, output: expect.stringMatching(ran) });
    }
    expect(fs.readdirSync(cache)).toHaveLength(4); // one initdb result for each set of inputs, nothing left half-written
  }, 60_000);

  test('the host line follows password_encryption under the container\'s args, unless POSTGRES_HOST_AUTH_METHOD is set', async () => {
    // (scram-sha-256, the default, in the first test)
    const md5 = initdb(await podEnv('md5'), { install: pg, args: ['postgres', '-c', 'password_encryption=md5'] });
    const explicit = initdb(await podEnv('explicit', { POSTGRES_HOST_AUTH_METHOD: 'password' }), { install: pg, args: ['-c', 'password_encryption=md5'] }); // flags only: postgres's
    expect([md5, explicit].map((pgData) => hbaLines(pgData).pop())).toEqual(['host all all all md5', 'host all all all password']);
  }, 60_000);

  test('the *_FILE variants, and the errors of a missing or doubly given password', async () => {
    const secrets = sandbox.mkdir('secrets');
    const file = (name: string, content: string) => {
      fs.writeFileSync(path.join(secrets, name), content);
      return path.join(secrets, name);
    };
    const env = await podEnv('pod', {
      POSTGRES_PASSWORD: '', POSTGRES_PASSWORD_FILE: file('password', 'from-a-file'),
      POSTGRES_USER_FILE: file('user', 'fileuser'), POSTGRES_DB_FILE: file('db', 'filedb'),
    });
    const server = await pg.startPod({ env, socketDir: sandbox.mkdir('run') });
    servers.push(server);
    expect(server.sql('SELECT current_user || \' \' || current_database()', 'fileuser', 'from-a-file', 'filedb')).toBe('fileuser filedb');

    const both = await podEnv('both', { POSTGRES_PASSWORD_FILE: file('password', 'x') });
    expect(() => initdb(both, { install: pg })).toThrow('error: both POSTGRES_PASSWORD and POSTGRES_PASSWORD_FILE are set (but are exclusive)');
    const none = await podEnv('none', { POSTGRES_PASSWORD: '' });
    expect(() => initdb(none, { install: pg })).toThrow('Database is uninitialized and superuser password is not specified');
    expect(fs.existsSync(path.join(none.PGDATA, 'PG_VERSION'))).toBe(false);
  }, 60_000);

  test('a failed initdb.d file fails the start and is not run again: an initialised PGDATA skips initialisation', async () => {
    const env = await podEnv('pod');
    const socketDir = sandbox.mkdir('run');
    const failing = [{ name: '10-half.sql', content: 'CREATE TABLE half (id int);\nSELECT 1/0;\n' }];
    await expect(pg.startPod({ env, socketDir, initdbD: failing })).rejects.toThrow('division by zero');
    expect(fs.existsSync(path.join(env.PGDATA, 'PG_VERSION'))).toBe(true);

    const server = await pg.startPod({ env, socketDir, initdbD: [...failing, { name: '20-marker.sql', content: 'CREATE TABLE marker (id int);\n' }] });
    servers.push(server);
    expect(server.log).toContain('PostgreSQL Database directory appears to contain a database; Skipping initialization');
    expect(server.log).not.toContain('10-half.sql');
    expect(server.sql('SELECT string_agg(relname, \' \' ORDER BY relname) FROM pg_class WHERE relname IN (\'half\', \'marker\')', 'postgres', PASSWORD, 'postgres')).toBe('half');
  }, 60_000);

  test('started as root (a pod without runAsUser), it gives PGDATA to postgres and runs postgres as postgres', async () => {
    const mount = sandbox.mkdir('volume');
    fs.chmodSync(mount, 0o755); // root's, as a fresh volume is: only root may create PGDATA in it
    const env = await podEnv('pod', { PGDATA: path.join(mount, 'pgdata') });
    const server = await pg.startPod({ env, socketDir: sandbox.mkdir('run'), asRoot: true });
    servers.push(server);
    const postgresUid = fs.statSync(path.join(env.PGDATA, 'PG_VERSION')).uid;
    expect(postgresUid).not.toBe(0);
    expect(fs.statSync(env.PGDATA).uid).toBe(postgresUid);
    const postmaster = fs.readFileSync(path.join(env.PGDATA, 'postmaster.pid'), 'utf-8').split('\n')[0];
    expect(fs.statSync(`/proc/${postmaster}`).uid).toBe(postgresUid);
    expect(server.sql('SELECT current_setting(\'data_directory\')', 'postgres', PASSWORD, 'postgres')).toBe(env.PGDATA);
  }, 60_000);
});

describe('clients of one major against servers of the other, over TCP', () => {
  test('psql 15 queries an 18 server, psql 18 a 15 server, and pg_dump 18 copies a 15 database into 18', async () => {
    const [server15, server18] = await Promise.all([PG15, PG18].map(async (pg) => {
      // the first test's inputs: its initialisations are copied
      const server = await pg.startPod({ env: await podEnv(`pod-${pg.major}`, INPUTS), socketDir: sandbox.mkdir(`run-${pg.major}`), args: ARGS });
      servers.push(server);
      return server;
    }));
    expect(server18.sql('SELECT current_setting(\'server_version_num\')::int / 10000', 'admin', PASSWORD, DATABASE, PG15)).toBe('18');
    expect(server15.sql('SELECT current_setting(\'server_version_num\')::int / 10000', 'admin', PASSWORD, DATABASE, PG18)).toBe('15');

    server15.sql('CREATE TABLE company (id int PRIMARY KEY, name text); INSERT INTO company VALUES (1, \'anynines GmbH\')', 'admin', PASSWORD, DATABASE);
    const dump = PG18.runOk(['pg_dump', '--no-owner'], server15.clientEnv('admin', PASSWORD, DATABASE));
    PG18.runOk(['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1'], server18.clientEnv('admin', PASSWORD, DATABASE), { input: dump });
    expect(server18.sql('SELECT name FROM company', 'admin', PASSWORD, DATABASE)).toBe('anynines GmbH');
  }, 60_000);
});

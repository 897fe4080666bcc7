// Major upgrade benchmark (not a test): how long the init containers of a synthesized instance
// take to upgrade pod 0's data from PostgreSQL 15 to 18, by each method, for a few sizes of data,
// and how long the pod then takes to be Ready on the new major. Run exactly as
// test/major-upgrade.pg.test.ts runs them: PostgreSQL 15 (Debian bookworm's, on the host) stands
// for the old image, 18 (Debian sid's, in a chroot) for the new one, with the stand-in for the
// shared OS release pg_upgrade needs (test/pg/upgrade.ts).
//
//   npm run bench:upgrade                                   # prints markdown tables
//   npm run bench:upgrade -- --update-readme                # also rewrites the block in README.md
//   npm run bench:upgrade -- --sizes 0,100,1024,4096 --runs 1 --methods pg_upgrade
//
// Sizes are MiB of data written with PostgreSQL 15 (0: an instance as initialised, no tables of
// its own; that gives the fixed part): pgbench's tables (`pgbench -i -s N`, 100,000 accounts per
// unit of scale, with their primary keys) and a secondary index on pgbench_accounts. The data is
// written once per size and copied onto a fresh volume for every run. Each run times, for each
// method in turn:
//   init containers  each of the pod's init containers, as the kubelet runs them in order
//                    (pg_upgrade: upgrade-binaries, upgrade; dump and restore: upgrade-dump, upgrade)
//   Ready            then the PostgreSQL container, from its start to the readiness probe's
//                    first success, probed as the kubelet does (bench/kubelet.ts)
// and checks that the server runs PostgreSQL 18 with every row.
import { execFileSync } from 'child_process';
import * as path from 'path';
import { Testing } from 'cdk8s';
import { MajorUpgradeMethod, PostgresMajorUpgrade, PostgresStatefulSet, PostgresStatefulSetProps } from '../lib';
import { freePorts, Installation, PG15, PG18, Sandbox, Server } from '../test/pg/harness';
import { SimulatedPod } from '../test/pg/pod';
import { bookwormLibraries, installFor, withLibraries } from '../test/pg/upgrade';
import { synth } from '../test/util';
import { commandLine, header, load, median, parseFlags, progress, publish, runMain, seconds } from './common';
import { startToReady, StartTimes } from './kubelet';

const README_START = '<!-- bench:upgrade:start (written by npm run bench:upgrade -- --update-readme) -->';
const README_END = '<!-- bench:upgrade:end -->';
const PASSWORD = 'bench-Pa55';
/** pgbench's data (with the secondary index) per unit of scale, about; the report gives the size measured. */
const MIB_PER_SCALE = 17;
const METHODS: MajorUpgradeMethod[] = [MajorUpgradeMethod.PG_UPGRADE, MajorUpgradeMethod.DUMP_AND_RESTORE];
const METHOD_TITLES: Record<MajorUpgradeMethod, string> = {
  [MajorUpgradeMethod.PG_UPGRADE]: 'pg_upgrade',
  [MajorUpgradeMethod.DUMP_AND_RESTORE]: 'dump and restore',
};

interface Options {
  sizes: number[];
  runs: number;
  methods: MajorUpgradeMethod[];
  updateReadme: boolean;
}

function parseOptions(argv: string[]): Options {
  const flags = parseFlags(argv, { '--sizes': 'value', '--runs': 'value', '--methods': 'value', '--update-readme': 'switch' }, 'bench/upgrade.ts');
  const options: Options = {
    sizes: (flags.get('--sizes') ?? '0,100,1024').split(',').map(Number),
    runs: Number(flags.get('--runs') ?? 3),
    methods: (flags.get('--methods') ?? METHODS.join(',')).split(',') as MajorUpgradeMethod[],
    updateReadme: flags.has('--update-readme'),
  };
  if (!options.sizes.every((n) => Number.isInteger(n) && n >= 0) || !(Number.isInteger(options.runs) && options.runs >= 1)
    || !options.methods.every((m) => METHODS.includes(m))) {
    throw new Error(`bad options (--sizes MiB,... --runs N --methods ${METHODS.join(',')}): ${argv.join(' ')}`);
  }
  options.sizes.sort((a, b) => a - b);
  return options;
}

/** The data of one size, written by PostgreSQL 15 on a volume of its own. */
interface Data {
  /** The size asked for, in MiB. */
  readonly size: number;
  readonly scale: number;
  /** The databases' size (the sum of pg_database_size): what pg_upgrade copies and pg_dumpall reads. */
  readonly mib: number;
  /** The old data directory's size, as the upgrade's check of room measures it (du), WAL included. */
  readonly pgDataMib: number;
  readonly sandbox: Sandbox;
}

/** One upgrade. */
interface Sample {
  /** Each init container's time, by name, in the pod's order. */
  readonly inits: { name: string; ms: number }[];
  readonly totalMs: number;
  readonly start: StartTimes;
  /** The dump's size (dump and restore), from the upgrade-dump container's output. */
  readonly dumpMib?: number;
}

const kib = (dir: string) => Number(execFileSync('du', ['-sk', dir], { encoding: 'utf-8' }).split('\t')[0]);
const sql = (server: Server, query: string) => server.sql(query, 'postgres', PASSWORD, 'postgres');

/** Pod 0 of the instance `pg` on `sandbox`'s volume, run by `install`. */
function pod(sandbox: Sandbox, port: number, install: Installation, props: PostgresStatefulSetProps): { pod: SimulatedPod; objects: any[] } {
  const chart = Testing.chart();
  new PostgresStatefulSet(chart, 'Db', { statefulSetName: 'pg', secretName: 'pg-secret', port, ...props });
  const objects = synth(chart);
  return { pod: new SimulatedPod({ objects, secrets: { 'pg-secret': { POSTGRES_PASSWORD: PASSWORD } } }, { ordinal: 0, sandbox, install }), objects };
}

/** Writes the data of `size` MiB with PostgreSQL 15, as pod 0 of an instance on its image, and stops it. */
async function write(size: number, port: number): Promise<Data> {
  const sandbox = new Sandbox('bench-upgrade-data-');
  const scale = Math.round(size / MIB_PER_SCALE);
  if (size > 0 && scale === 0) {
    throw new Error(`--sizes: ${size} MiB is less than one unit of pgbench's scale (about ${MIB_PER_SCALE} MiB)`);
  }
  const old = pod(sandbox, port, PG15, { image: PG15.image }).pod;
  let databases = 0;
  const server = await old.boot().catch((error) => {
    sandbox.cleanup();
    throw error;
  });
  try {
    if (scale > 0) {
      // server-side generation (G): the rows, then VACUUM, then the primary keys
      PG15.runOk(['pgbench', '-i', '-s', String(scale), '-I', 'dtGvp'], server.clientEnv('postgres', PASSWORD, 'postgres'), { timeoutMs: 3_600_000 });
      sql(server, 'CREATE INDEX pgbench_accounts_bid ON pgbench_accounts (bid)');
    }
    sql(server, 'CHECKPOINT');
    databases = Number(sql(server, 'SELECT sum(pg_database_size(datname)) FROM pg_database'));
    await server.stop();
  } catch (error) {
    await server.kill();
    sandbox.cleanup();
    throw error;
  }
  return { size, scale, mib: databases / 2 ** 20, pgDataMib: kib(old.pgData) / 1024, sandbox };
}

/** How long one init container may take. */
const TIMEOUT_MS = 3_600_000;

/** Upgrades a copy of `data` to PostgreSQL 18 by `method`, timing the init containers, then starts the pod until Ready. */
async function upgrade(data: Data, method: MajorUpgradeMethod, port: number, libraries: string): Promise<Sample> {
  const sandbox = new Sandbox('bench-upgrade-');
  let server: Server | undefined;
  try {
    execFileSync('cp', ['-a', path.join(data.sandbox.dir, 'volume-0'), path.join(sandbox.dir, 'volume-0')]);
    const { pod: next, objects } = pod(sandbox, port, PG18, { image: PG18.image, majorUpgrade: PostgresMajorUpgrade.fromImageWith(PG15.image, method) });
    // the init containers, in order, as SimulatedPod.runInitContainers runs them (each timed)
    const env = method === MajorUpgradeMethod.PG_UPGRADE ? withLibraries(libraries) : () => ({});
    const inits: { name: string; ms: number }[] = [];
    let dumpMib: number | undefined;
    for (const init of objects.find((o) => o.kind === 'StatefulSet').spec.template.spec.initContainers) {
      const start = Date.now();
      const run = next.runInitContainer(init.name, { install: installFor(init.image), env: env(init.name), timeoutMs: TIMEOUT_MS });
      inits.push({ name: init.name, ms: Date.now() - start });
      const result = { status: run.status, output: `${run.stdout}${run.stderr}` };
      if (result.status !== 0) {
        throw new Error(`the init container ${init.name} failed (${result.status ?? `killed: over the limit of ${TIMEOUT_MS / 1000} s`}):\n${result.output}`);
      }
      const dumped = /\((\d+) MiB\)\s*$/m.exec(result.output.split('\n').find((l) => l.includes(' dumped ')) ?? '');
      dumpMib = dumped ? Number(dumped[1]) : dumpMib;
      if (init.name === 'upgrade' && !result.output.includes('upgraded to PostgreSQL 18')) {
        throw new Error(`the upgrade container did not upgrade:\n${result.output}`);
      }
    }
    const started = await startToReady(next, objects);
    server = started.server;
    const version = sql(server, 'SELECT current_setting(\'server_version_num\')::int / 10000');
    const accounts = data.scale > 0 ? Number(sql(server, 'SELECT count(*) FROM pgbench_accounts')) : 0;
    if (version !== '18' || accounts !== data.scale * 100_000) {
      throw new Error(`after the upgrade: PostgreSQL ${version}, ${accounts} accounts; expected 18 and ${data.scale * 100_000}`);
    }
    return { inits, totalMs: inits.reduce((sum, i) => sum + i.ms, 0), start: started.times, dumpMib };
  } finally {
    await server?.kill();
    sandbox.cleanup();
  }
}

const perGib = (ms: number, mib: number) => `${seconds(ms / (mib / 1024), 1)} s`;

function report(command: string, options: Options, data: Data[], samples: Map<string, Sample[]>, loads: number[]): string {
  const list = (size: number, method: MajorUpgradeMethod) => samples.get(`${size}/${method}`) ?? [];
  const med = (size: number, method: MajorUpgradeMethod, f: (s: Sample) => number) => median(list(size, method).map(f));
  const lines = [header(command, loads) + ` Each row is the median of ${options.runs} upgrade${options.runs > 1 ? 's' : ''} `
    + 'of a copy of the same data, the methods interleaved; the data: an instance as initialised (0), or pgbench\'s tables '
    + '(`pgbench -i -s N`, with their primary keys) and a secondary index on pgbench_accounts, written by PostgreSQL 15; '
    + 'times in seconds.'];
  lines.push('');
  lines.push('| Data (databases) | Method | **Init containers** | of which | Start to accepting connections | **to Ready** |');
  lines.push('|---:|---|---:|---|---:|---:|');
  for (const d of data) {
    for (const method of options.methods) {
      const names = list(d.size, method)[0]?.inits.map((i) => i.name) ?? [];
      const parts = names.map((name) => `${name} ${seconds(med(d.size, method, (s) => s.inits.find((i) => i.name === name)!.ms), 1)}`).join(', ');
      const dump = method === MajorUpgradeMethod.DUMP_AND_RESTORE && list(d.size, method).every((s) => s.dumpMib !== undefined)
        ? ` (dump ${med(d.size, method, (s) => s.dumpMib!) || '<1'} MiB)` : '';
      lines.push(`| ${d.mib.toFixed(0)} MiB (${d.scale ? `scale ${d.scale}, ` : ''}PGDATA ${d.pgDataMib.toFixed(0)} MiB) | ${METHOD_TITLES[method]} | **${seconds(med(d.size, method, (s) => s.totalMs), 1)}** | `
        + `${parts}${dump} | ${seconds(med(d.size, method, (s) => s.start.acceptMs))} | **${seconds(med(d.size, method, (s) => s.start.readyMs))}** |`);
    }
  }
  const smallest = data[0];
  const largest = data[data.length - 1];
  lines.push('');
  for (const method of options.methods) {
    const total = (d: Data) => med(d.size, method, (s) => s.totalMs);
    if (data.length >= 2 && largest.mib > smallest.mib) {
      const slope = (total(largest) - total(smallest)) / ((largest.mib - smallest.mib) / 1024);
      lines.push(`- **${METHOD_TITLES[method]}**: ${seconds(total(smallest), 1)} s for ${smallest.scale ? `${smallest.mib.toFixed(0)} MiB` : 'an instance as initialised'} `
        + `(${smallest.scale ? 'the smallest size' : 'the fixed part'}), then ${perGib(slope, 1024)} per GiB more (from ${smallest.mib.toFixed(0)} to ${largest.mib.toFixed(0)} MiB).`);
    } else {
      lines.push(`- **${METHOD_TITLES[method]}**: ${perGib(total(largest), largest.mib)} per GiB of databases at ${largest.mib.toFixed(0)} MiB, fixed part included.`);
    }
  }
  return lines.join('\n');
}

async function main(argv: string[]): Promise<void> {
  const options = parseOptions(argv);
  const loads = [load()];
  PG15.check();
  PG18.check();
  const [port] = await freePorts(1);
  const libraries = new Sandbox('bench-upgrade-libs-');
  const data: Data[] = [];
  const samples = new Map<string, Sample[]>();
  try {
    const libs = bookwormLibraries(libraries);
    for (const size of options.sizes) {
      progress(`writing ${size} MiB with PostgreSQL 15 ...`);
      const started = Date.now();
      const d = await write(size, port);
      data.push(d);
      progress(`  ${d.mib.toFixed(0)} MiB of databases, ${d.pgDataMib.toFixed(0)} MiB of PGDATA (pgbench scale ${d.scale}) in ${seconds(Date.now() - started, 1)} s`);
      for (let run = 0; run < options.runs; run++) {
        for (const method of options.methods) {
          const sample = await upgrade(d, method, port, libs);
          const key = `${size}/${method}`;
          samples.set(key, [...samples.get(key) ?? [], sample]);
          progress(`  run ${run + 1} ${METHOD_TITLES[method].padEnd(16)} init containers ${seconds(sample.totalMs, 1)} s `
            + `(${sample.inits.map((i) => `${i.name} ${seconds(i.ms, 1)}`).join(', ')})  accepting ${seconds(sample.start.acceptMs)}  `
            + `Ready ${seconds(sample.start.readyMs)}  (load ${load().toFixed(1)})`);
        }
      }
      d.sandbox.cleanup();
    }
  } finally {
    for (const d of data) {
      d.sandbox.cleanup();
    }
    libraries.cleanup();
  }
  loads.push(load());
  publish(report(commandLine('bench:upgrade', argv), options, data, samples, loads), options.updateReadme, README_START, README_END);
}

runMain(main);

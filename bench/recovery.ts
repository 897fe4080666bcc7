// Recovery benchmark (not a test): how long a pod of the synthesized StatefulSet takes to go
// away and to come back when it is deleted, with the manifest's own commands and probes run by
// the test harness's simulated pod (test/pg/pod.ts) against real PostgreSQL 15 and 18.
//
//   npm run bench:recovery                                # prints a markdown table
//   npm run bench:recovery -- --update-readme             # also rewrites the block in README.md
//   npm run bench:recovery -- --runs 3 --majors 18 --pods single,standby --load-seconds 2
//
// Each run deletes and restarts one pod of each kind, interleaved, while a client inserts rows
// (pgbench, one row per transaction, over TCP) into the primary:
//   single   pod 0 of an instance with default props (one replica)
//   primary  pod 0 of `replicas: 2`, with its standby streaming from it
//   standby  pod 1 of the same, the client still writing to the primary
// and measures, as the kubelet would see them (see bench/kubelet.ts):
//   stop    the preStop hook (pg_ctl stop -m fast -w: disconnects the client, writes the
//           shutdown checkpoint), to the server down (its log), and to the hook's end
//   start   from the container's command (start steps, entrypoint, postgres) to the server
//           accepting connections, to the startup probe's first success and to the readiness
//           probe's, each probe run at its periodSeconds from the manifest: the pod is Ready.
// The pod's next start is on the same volume: a restart of a deleted pod, not a fresh one.
import { ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Testing } from 'cdk8s';
import { PostgresStatefulSet, PostgresStatefulSetProps } from '../lib';
import { freePorts, Installation, killGroup, PG15, PG18, Sandbox, Server, waitFor } from '../test/pg/harness';
import { Manifest, SimulatedPod } from '../test/pg/pod';
import { synth } from '../test/util';
import { commandLine, header, load, median, parseFlags, progress, publish, runMain, seconds } from './common';
import { preStopToExit, probeTimings, startToReady, StartTimes, StopTimes } from './kubelet';

const README_START = '<!-- bench:recovery:start (written by npm run bench:recovery -- --update-readme) -->';
const README_END = '<!-- bench:recovery:end -->';
const PASSWORD = 'bench-Pa55';
const REPLICATION_PASSWORD = 'bench-repl-Pa55';

type Kind = 'single' | 'primary' | 'standby';
const KINDS: Kind[] = ['single', 'primary', 'standby'];
const KIND_TITLES: Record<Kind, string> = {
  single: 'pod 0, one replica',
  primary: 'pod 0 of 2 (primary)',
  standby: 'pod 1 of 2 (standby)',
};

interface Options {
  runs: number;
  majors: Installation[];
  kinds: Kind[];
  loadSeconds: number;
  updateReadme: boolean;
}

function parseOptions(argv: string[]): Options {
  const flags = parseFlags(argv, { '--runs': 'value', '--majors': 'value', '--pods': 'value', '--load-seconds': 'value', '--update-readme': 'switch' }, 'bench/recovery.ts');
  const majors = (flags.get('--majors') ?? '15,18').split(',').map((m) => [PG15, PG18].find((pg) => String(pg.major) === m));
  const options: Options = {
    runs: Number(flags.get('--runs') ?? 5),
    majors: majors.filter((m): m is Installation => m !== undefined),
    kinds: (flags.get('--pods') ?? KINDS.join(',')).split(',') as Kind[],
    loadSeconds: Number(flags.get('--load-seconds') ?? 3),
    updateReadme: flags.has('--update-readme'),
  };
  if (!(Number.isInteger(options.runs) && options.runs >= 1) || options.majors.length !== majors.length || options.majors.length === 0
    || !options.kinds.every((k) => KINDS.includes(k)) || !(options.loadSeconds >= 0)) {
    throw new Error(`bad options (--runs N, --majors 15,18, --pods ${KINDS.join(',')}, --load-seconds S): ${argv.join(' ')}`);
  }
  return options;
}

/** One pod of an instance, and its running server. */
interface Member {
  readonly pod: SimulatedPod;
  server: Server;
}

/** An instance of `replicas` pods running on this machine. */
interface Instance {
  readonly manifest: Manifest;
  readonly members: Member[];
}

/** One deletion and restart of a pod. */
interface Cycle {
  readonly stop: StopTimes;
  readonly start: StartTimes;
  /** Rows the client inserted per second while it ran. */
  readonly insertsPerSecond: number;
}

const sql = (server: Server, query: string) => server.sql(query, 'postgres', PASSWORD, 'postgres');

class Bench {
  private readonly servers: Server[] = [];
  private readonly loads: ChildProcess[] = [];
  private readonly sandboxes: Sandbox[] = [];
  /** The client's script. */
  private readonly script: string;

  constructor() {
    const sandbox = new Sandbox('bench-recovery-');
    this.sandboxes.push(sandbox);
    this.script = path.join(sandbox.dir, 'insert.sql');
    fs.writeFileSync(this.script, 'INSERT INTO bench_load (payload) VALUES (repeat(md5(random()::text), 8));\n', { mode: 0o644 });
  }

  /** Synthesizes an instance of `pg` and starts its pods (pod 0 first; standbys clone it), untimed; then creates the client's table. */
  public async instance(pg: Installation, name: string, ports: number[], props: PostgresStatefulSetProps): Promise<Instance> {
    const chart = Testing.chart();
    new PostgresStatefulSet(chart, 'Db', { image: pg.image, statefulSetName: name, secretName: `${name}-secret`, port: ports[0], ...props });
    const manifest: Manifest = {
      objects: synth(chart),
      secrets: { [`${name}-secret`]: { POSTGRES_PASSWORD: PASSWORD, POSTGRES_REPLICATION_PASSWORD: REPLICATION_PASSWORD } },
    };
    const members: Member[] = [];
    const dir = new Sandbox(`bench-recovery-${name}-`);
    this.sandboxes.push(dir);
    for (let ordinal = 0; ordinal < (props.replicas ?? 1); ordinal++) {
      const pod = new SimulatedPod(manifest, { ordinal, sandbox: dir, install: pg, port: ports[ordinal] });
      const { server } = await startToReady(pod, manifest.objects);
      this.servers.push(server);
      members.push({ pod, server });
    }
    sql(members[0].server, 'CREATE TABLE bench_load (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), payload text NOT NULL); '
      + 'CREATE INDEX ON bench_load (at)');
    return { manifest, members };
  }

  /** Starts the client: one connection inserting a row per transaction until stopped or disconnected. */
  private startLoad(server: Server): ChildProcess {
    const client = PG15.start(['pgbench', '-n', '-c', '1', '-T', '3600', '-f', this.script], server.clientEnv('postgres', PASSWORD, 'postgres'));
    client.stdout?.resume();
    client.stderr?.resume();
    this.loads.push(client);
    return client;
  }

  /**
   * Deletes pod `ordinal` of the instance under the client's load and starts it again, until Ready.
   * For pod 0 the client ends with the server; for a standby it goes on writing to the primary
   * until the standby is Ready.
   */
  public async cycle(instance: Instance, ordinal: number, loadSeconds: number): Promise<Cycle> {
    const primary = instance.members[0];
    const member = instance.members[ordinal];
    if (instance.members.length > 1) {
      // a primary's shutdown waits for its standbys to receive the shutdown checkpoint: have one streaming
      await waitFor('the standby to stream', () => sql(primary.server, 'SELECT count(*) FROM pg_stat_replication WHERE state = \'streaming\'') === '1', 60_000);
    }
    const before = Number(sql(primary.server, 'SELECT count(*) FROM bench_load'));
    const loadStart = Date.now();
    const client = this.startLoad(primary.server);
    await new Promise((resolve) => setTimeout(resolve, loadSeconds * 1000));
    const stopping = Date.now();
    const stop = await preStopToExit(member.pod, member.server);
    let loadEnd = stopping + stop.preStopMs;
    const { server, times } = await startToReady(member.pod, instance.manifest.objects);
    this.servers.push(server);
    member.server = server;
    if (ordinal !== 0) {
      loadEnd = Date.now();
    }
    await killGroup(client);
    const inserted = Number(sql(primary.server, 'SELECT count(*) FROM bench_load')) - before;
    return { stop, start: times, insertsPerSecond: inserted / ((loadEnd - loadStart) / 1000) };
  }

  public async cleanup(): Promise<void> {
    for (const client of this.loads) {
      await killGroup(client);
    }
    for (const server of this.servers) {
      await server.kill();
    }
    for (const sandbox of this.sandboxes) {
      sandbox.cleanup();
    }
  }
}

function report(command: string, options: Options, cycles: Map<string, Cycle[]>, objects: any[], loads: number[]): string {
  const { startup, readiness } = probeTimings(objects);
  const lines = [header(command, loads) + ` Each row is the median of ${options.runs} deletions and restarts of the pod, `
    + `interleaved with the others', each after ${options.loadSeconds} s of a client inserting rows into the primary (one row per transaction, over TCP); `
    + 'times in seconds.'];
  lines.push('');
  lines.push('| PostgreSQL | Pod | preStop to server down | to the hook\'s end | shutdown checkpoint, buffers | start to postmaster | to accepting connections | to startup probe | **to Ready** | Ready after accepting | client, rows/s |');
  lines.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  const overheads: number[] = [];
  for (const pg of options.majors) {
    for (const kind of options.kinds) {
      const list = cycles.get(`${pg.major}/${kind}`) ?? [];
      const med = (f: (c: Cycle) => number) => median(list.map(f));
      const overhead = med((c) => c.start.readyMs - c.start.acceptMs);
      overheads.push(...list.map((c) => c.start.readyMs - c.start.acceptMs));
      const buffers = list.some((c) => c.stop.checkpointBuffers === undefined) ? '?' : med((c) => c.stop.checkpointBuffers!).toFixed(0);
      lines.push(`| ${pg.major} | ${KIND_TITLES[kind]} | **${seconds(med((c) => c.stop.downMs))}** | ${seconds(med((c) => c.stop.preStopMs))} | ${buffers} | `
        + `${seconds(med((c) => c.start.postmasterMs))} | ${seconds(med((c) => c.start.acceptMs))} | ${seconds(med((c) => c.start.startedMs))} | `
        + `**${seconds(med((c) => c.start.readyMs))}** | ${seconds(overhead)} | ${med((c) => c.insertsPerSecond).toFixed(0)} |`);
    }
  }
  const all = [...cycles.values()].flat();
  const period = (p: typeof readiness | undefined) => (p ? `every ${p.periodSeconds} s` : 'none');
  lines.push('');
  lines.push(`The probes as the manifest sets them: startup probe ${period(startup)}, readiness probe ${period(readiness)}; `
    + 'the first startup probe runs at the container\'s start, the readiness probe as soon as the startup probe has succeeded. '
    + `Ready came ${seconds(Math.min(...overheads))} to ${seconds(Math.max(...overheads))} s after PostgreSQL accepted connections `
    + `(median ${seconds(median(overheads))} s over all ${all.length} restarts): the wait for the next probe tick, plus the probes' own run time.`);
  if (all.some((c) => c.start.polled || c.stop.polled)) {
    lines.push('', 'Some server times come from this process\'s polling of the log, which had no UTC timestamps: they are late by up to a probe\'s run time.');
  }
  return lines.join('\n');
}

async function main(argv: string[]): Promise<void> {
  const options = parseOptions(argv);
  const loads = [load()];
  const bench = new Bench();
  const cycles = new Map<string, Cycle[]>();
  let objects: any[] = [];
  try {
    // every instance first (untimed), then the runs, interleaved, so that a slow moment of the machine hits all of them
    const instances: { pg: Installation; kind: Kind; instance: Instance; ordinal: number }[] = [];
    for (const pg of options.majors) {
      pg.check();
      const ports = await freePorts(3);
      if (options.kinds.includes('single')) {
        progress(`PostgreSQL ${pg.major}: starting pod 0 of one replica`);
        const instance = await bench.instance(pg, `single${pg.major}`, [ports[0]], {});
        instances.push({ pg, kind: 'single', instance, ordinal: 0 });
        objects = instance.manifest.objects;
      }
      if (options.kinds.includes('primary') || options.kinds.includes('standby')) {
        progress(`PostgreSQL ${pg.major}: starting pods 0 and 1 of two replicas`);
        // the replication tests' layout: with PostgreSQL 18's default one (PGDATA /var/lib/postgresql/18/docker on a
        // volume at /var/lib/postgresql) a new standby's first start fails, its password file's directory missing
        const instance = await bench.instance(pg, `pair${pg.major}`, ports.slice(1), { replicas: 2 });
        for (const kind of ['primary', 'standby'] as const) {
          if (options.kinds.includes(kind)) {
            instances.push({ pg, kind, instance, ordinal: kind === 'primary' ? 0 : 1 });
          }
        }
        objects = instance.manifest.objects;
      }
    }
    for (let run = 0; run < options.runs; run++) {
      for (const { pg, kind, instance, ordinal } of instances) {
        const cycle = await bench.cycle(instance, ordinal, options.loadSeconds);
        const key = `${pg.major}/${kind}`;
        cycles.set(key, [...cycles.get(key) ?? [], cycle]);
        progress(`run ${run + 1} PostgreSQL ${pg.major} ${kind.padEnd(7)}  down ${seconds(cycle.stop.downMs)}  preStop ${seconds(cycle.stop.preStopMs)}`
          + `  (checkpoint ${cycle.stop.checkpointBuffers ?? '?'} buffers)  postmaster ${seconds(cycle.start.postmasterMs)}`
          + `  accepting ${seconds(cycle.start.acceptMs)}  started ${seconds(cycle.start.startedMs)}  Ready ${seconds(cycle.start.readyMs)}`
          + `  client ${cycle.insertsPerSecond.toFixed(0)} rows/s  (load ${load().toFixed(1)})`);
      }
    }
  } finally {
    await bench.cleanup();
  }
  loads.push(load());
  publish(report(commandLine('bench:recovery', argv), options, cycles, objects, loads), options.updateReadme, README_START, README_END);
}

runMain(main);

// Synth benchmark (not a test): how synth time and memory grow with the number of
// PostgresStatefulSet instances, against a floor written straight from plain objects,
// and how long the example app's `npm run synth` (the README's command) takes as a user runs it.
//
//   npm run bench                              # prints markdown tables
//   npm run bench -- --update-readme           # also replaces the "Synth speed" section of README.md
//   npm run bench -- --sizes 1,10 --runs 1 --cli-runs 1
//   npm run bench -- --layout one-chart        # only one of the two layouts
//
// Every configuration runs in a fresh child process (this script spawns itself), so that
// each measurement starts from a cold heap and its peak RSS is its own. A child measures
// from after its imports (reported as start-up) to the last manifest written, or validated.
//
// Two layouts of N instances with default props (a ConfigMap of scripts, a Service and a StatefulSet each):
//   chart-per-instance  N charts of one PostgresStatefulSet, one file each
//   one-chart           one chart of N PostgresStatefulSets, one file
// and four configurations of each:
//   floor           the same manifests from plain objects: the objects of one synthesized
//                   instance, cloned and renamed N times, `yaml.stringify` with cdk8s' options,
//                   one file per chart as cdk8s writes them. The least any synth can do.
//   cdk8s-only      the floor's plain objects as plain cdk8s `ApiObject`s in the same charts,
//                   app.synth(): what cdk8s itself costs, without this library
//   library         new App(); N x PostgresStatefulSet; app.synth()
//   library+schema  the same, then the validation plugin of cdk8s.yaml (validation/index.js:
//                   StrictSchema on every object) over the written files, with cdk8s-cli's own
//                   manifest parsing (its ValidationContext), as `cdk8s synth` runs it
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { median, publish, ROOT, runMain, seconds } from './common';

const README_START = '<!-- bench:start (written by npm run bench -- --update-readme) -->';
const README_END = '<!-- bench:end -->';
/** cdk8s' own YAML options (cdk8s/lib/yaml.js, Yaml.stringify). */
const CDK8S_YAML_OPTIONS = { keepUndefined: true, lineWidth: 0, version: '1.1' } as const;

type Layout = 'chart-per-instance' | 'one-chart';
type Mode = 'floor' | 'cdk8s-only' | 'library' | 'library+schema';
const MODES: Mode[] = ['floor', 'cdk8s-only', 'library', 'library+schema'];
const LAYOUTS: Layout[] = ['chart-per-instance', 'one-chart'];

/** What one child process reports. */
interface Sample {
  readonly mode: Mode;
  readonly instances: number;
  /** Process start to the beginning of the measured work: node, the TypeScript loader, imports. */
  readonly startupMs: number;
  /** The measured work. */
  readonly wallMs: number;
  /** Of which the validation plugin (library+schema only). */
  readonly validateMs?: number;
  /** CPU time of the process (user + system) during the measured work: less sensitive than wall time to other load. */
  readonly cpuMs: number;
  readonly maxRssMb: number;
  readonly heapUsedMb: number;
  readonly files: number;
  readonly objects: number;
  readonly bytes: number;
}

/** The objects of one synthesized instance, for the floor. */
interface Reference {
  readonly layout: Layout;
  /** Objects of the instance, as written by cdk8s. */
  readonly objects: unknown[];
  /** Names generated from the construct path; renamed per instance. */
  readonly names: string[];
}

// ---------------------------------------------------------------------------------------------
// Children

function outputStats(outdir: string): { files: number; objects: number; bytes: number } {
  const manifests = fs.readdirSync(outdir).filter((f) => f.endsWith('.yaml')).sort().map((f) => path.join(outdir, f));
  let objects = 0;
  let bytes = 0;
  for (const file of manifests) {
    const text = fs.readFileSync(file, 'utf-8');
    bytes += Buffer.byteLength(text);
    // cdk8s and the floor join the documents of a file with '---' lines.
    objects += text.trim() === '' ? 0 : text.split(/^---$/m).length;
  }
  return { files: manifests.length, objects, bytes };
}

/** CPU time since `start` (a `process.cpuUsage()`) and memory, at the end of the measured work. */
function usage(start: NodeJS.CpuUsage): { cpuMs: number; maxRssMb: number; heapUsedMb: number } {
  const cpu = process.cpuUsage(start);
  return {
    cpuMs: (cpu.user + cpu.system) / 1000,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    heapUsedMb: process.memoryUsage().heapUsed / 2 ** 20,
  };
}

/** Builds the app of the benchmark: N instances with default props. */
function buildApp(cdk8s: typeof import('cdk8s'), lib: typeof import('../lib'), instances: number, outdir: string, layout: Layout) {
  const app = new cdk8s.App({ outdir, recordConstructMetadata: false });
  const databases: import('../lib').PostgresStatefulSet[] = [];
  if (layout === 'one-chart') {
    const chart = new cdk8s.Chart(app, 'bench');
    for (let i = 0; i < instances; i++) {
      databases.push(new lib.PostgresStatefulSet(chart, `Db${i}`));
    }
  } else {
    for (let i = 0; i < instances; i++) {
      databases.push(new lib.PostgresStatefulSet(new cdk8s.Chart(app, `bench-${i}`), 'Db'));
    }
  }
  return { app, databases };
}

async function childLibrary(instances: number, outdir: string, layout: Layout, validate: boolean): Promise<Sample> {
  const cdk8s: typeof import('cdk8s') = require('cdk8s');
  const lib: typeof import('../lib') = require('../lib');
  // The plugin as cdk8s.yaml configures it, and cdk8s-cli's own manifest parsing (its
  // package exports hide lib/, so load it by path).
  const { StrictKubernetesSchema } = require('../validation');
  const { toolPackageDir }: { toolPackageDir(name: string): string } = require('../scripts/tools');
  const cliDir = toolPackageDir('cdk8s-cli');
  const { ValidationContext } = require(path.join(cliDir, 'lib', 'plugins', 'validation.js'));

  const start = performance.now();
  const cpu = process.cpuUsage();
  const { app } = buildApp(cdk8s, lib, instances, outdir, layout);
  app.synth();
  const synthesized = performance.now();
  let validateMs: number | undefined;
  let validated: number | undefined;
  if (validate) {
    const manifests = fs.readdirSync(outdir).filter((f) => f.endsWith('.yaml')).sort().map((f) => path.join(outdir, f));
    const plugin = new StrictKubernetesSchema({ kubernetesVersion: '1.27.0' });
    const context = new ValidationContext(manifests, path.join(ROOT, 'validation'), '1.0.0', {}, false);
    await plugin.validate(context);
    validateMs = performance.now() - synthesized;
    const report = context.report.toJson();
    if (report.summary.status !== 'success') {
      throw new Error(`validation failed: ${JSON.stringify(report).slice(0, 2000)}`);
    }
    validated = Number(report.summary.metadata?.objects);
  }
  const end = performance.now();
  const mem = usage(cpu);
  const { files, objects, bytes } = outputStats(outdir);
  if (validated !== undefined && validated !== objects) {
    throw new Error(`the plugin validated ${validated} objects, the files hold ${objects}`);
  }
  return {
    mode: validate ? 'library+schema' : 'library',
    instances, startupMs: start, wallMs: end - start, validateMs, ...mem, files, objects, bytes,
  };
}

/** Deep copy of plain data, renaming the strings that are generated names. */
function cloneRenamed(value: unknown, renames: Map<string, string>): unknown {
  if (typeof value === 'string') {
    return renames.get(value) ?? value;
  }
  if (Array.isArray(value)) {
    return value.map((v) => cloneRenamed(v, renames));
  }
  if (value !== null && typeof value === 'object') {
    const copy: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      copy[k] = cloneRenamed(v, renames);
    }
    return copy;
  }
  return value;
}

/** The reference objects, renamed for instance i. */
function instanceObjects(reference: Reference, i: number): unknown[] {
  const renames = new Map(reference.names.map((name) => [name, `${name}-${i}`]));
  return reference.objects.map((o) => cloneRenamed(o, renames));
}

function childFloor(instances: number, outdir: string, referenceFile: string): Sample {
  const yaml: typeof import('yaml') = require('yaml');
  const reference: Reference = JSON.parse(fs.readFileSync(referenceFile, 'utf-8'));

  const start = performance.now();
  const cpu = process.cpuUsage();
  fs.mkdirSync(outdir, { recursive: true });
  const stringify = (docs: unknown[]) => docs.map((d) => yaml.stringify(d, CDK8S_YAML_OPTIONS)).join('---\n');
  const instance = (i: number) => instanceObjects(reference, i);
  if (reference.layout === 'one-chart') {
    const docs: unknown[] = [];
    for (let i = 0; i < instances; i++) {
      docs.push(...instance(i));
    }
    fs.writeFileSync(path.join(outdir, 'bench.k8s.yaml'), stringify(docs), 'utf-8');
  } else {
    for (let i = 0; i < instances; i++) {
      fs.writeFileSync(path.join(outdir, `bench-${i}.k8s.yaml`), stringify(instance(i)), 'utf-8');
    }
  }
  const end = performance.now();
  const mem = usage(cpu);
  return { mode: 'floor', instances, startupMs: start, wallMs: end - start, ...mem, ...outputStats(outdir) };
}

function childCdk8sOnly(instances: number, outdir: string, referenceFile: string): Sample {
  const cdk8s: typeof import('cdk8s') = require('cdk8s');
  const reference: Reference = JSON.parse(fs.readFileSync(referenceFile, 'utf-8'));

  const start = performance.now();
  const cpu = process.cpuUsage();
  const app = new cdk8s.App({ outdir, recordConstructMetadata: false });
  const addObjects = (chart: import('cdk8s').Chart, i: number, prefix: string) => {
    instanceObjects(reference, i).forEach((o, j) => new cdk8s.ApiObject(chart, `${prefix}${j}`, o as import('cdk8s').ApiObjectProps));
  };
  if (reference.layout === 'one-chart') {
    const chart = new cdk8s.Chart(app, 'bench');
    for (let i = 0; i < instances; i++) {
      addObjects(chart, i, `Db${i}-`);
    }
  } else {
    for (let i = 0; i < instances; i++) {
      addObjects(new cdk8s.Chart(app, `bench-${i}`), i, 'Object');
    }
  }
  app.synth();
  const end = performance.now();
  const mem = usage(cpu);
  return { mode: 'cdk8s-only', instances, startupMs: start, wallMs: end - start, ...mem, ...outputStats(outdir) };
}

// ---------------------------------------------------------------------------------------------
// Parent

interface Options {
  sizes: number[];
  runs: number;
  cliRuns: number;
  layouts: Layout[];
  updateReadme: boolean;
}

function parseOptions(argv: string[]): Options {
  const options: Options = { sizes: [1, 10, 100, 1000], runs: 3, cliRuns: 5, layouts: [...LAYOUTS], updateReadme: false };
  for (let i = 0; i < argv.length; i++) {
    const value = () => {
      const v = argv[++i];
      if (v === undefined) {
        throw new Error(`${argv[i - 1]} needs a value`);
      }
      return v;
    };
    switch (argv[i]) {
      case '--sizes': options.sizes = value().split(',').map(Number); break;
      case '--runs': options.runs = Number(value()); break;
      case '--cli-runs': options.cliRuns = Number(value()); break;
      case '--layout': options.layouts = [value() as Layout]; break;
      case '--update-readme': options.updateReadme = true; break;
      default: throw new Error(`unknown option ${argv[i]}; see the comment at the top of bench/synth.ts`);
    }
  }
  if (!options.sizes.every((n) => Number.isInteger(n) && n > 0) || !(options.runs >= 1) || !(options.cliRuns >= 0)
    || !options.layouts.every((l) => LAYOUTS.includes(l))) {
    throw new Error(`bad options: ${JSON.stringify(options)}`);
  }
  return options;
}

function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Synthesizes one instance in this process and keeps its objects and generated names. */
function writeReference(layout: Layout, file: string): void {
  const outdir = tempDir('bench-ref-');
  try {
    const { app, databases } = buildApp(require('cdk8s'), require('../lib'), 1, outdir, layout);
    app.synth();
    const yaml: typeof import('yaml') = require('yaml');
    const objects = fs.readdirSync(outdir).filter((f) => f.endsWith('.yaml'))
      .flatMap((f) => yaml.parseAllDocuments(fs.readFileSync(path.join(outdir, f), 'utf-8')).map((d) => d.toJS()));
    const db = databases[0];
    const names = [db.statefulSetName, db.serviceName, db.secretName, ...Object.values(db.selectorLabels)];
    fs.writeFileSync(file, JSON.stringify({ layout, objects, names } satisfies Reference));
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

/** Runs one configuration in a fresh child process. */
function runChild(mode: Mode, instances: number, layout: Layout, referenceFile: string): Sample {
  const outdir = tempDir('bench-out-');
  try {
    const result = spawnSync(process.execPath,
      [...process.execArgv, __filename, '--child', mode, String(instances), outdir, layout, referenceFile],
      { cwd: ROOT, encoding: 'utf-8', maxBuffer: 64 * 2 ** 20 });
    if (result.status !== 0) {
      throw new Error(`child ${mode} ${instances} failed (${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`);
    }
    const lines = result.stdout.trim().split('\n');
    return JSON.parse(lines[lines.length - 1]);
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

interface Timing {
  min: number;
  median: number;
  all: number[];
}

/** Runs shell commands from the repository root, `runs` rounds of each in turn, and times them. */
function timeCommands(commands: { command: string; expect?: string }[], runs: number): Timing[] {
  const all: number[][] = commands.map(() => []);
  for (let i = 0; i < runs; i++) {
    commands.forEach(({ command, expect }, c) => {
      const start = performance.now();
      const result = spawnSync(command, {
        shell: true, cwd: ROOT, encoding: 'utf-8', maxBuffer: 64 * 2 ** 20,
      });
      all[c].push(performance.now() - start);
      const output = `${result.stdout}\n${result.stderr}`;
      if (result.status !== 0 || (expect && !output.includes(expect))) {
        throw new Error(`${command} failed (${result.status}):\n${output}`);
      }
    });
  }
  return all.map((times) => ({ min: Math.min(...times), median: median(times), all: times }));
}

const fmt = (ms: number, digits = 0) => ms.toFixed(digits);
const LAYOUT_TITLES: Record<Layout, string> = {
  'chart-per-instance': 'A chart per instance (N files of 3 objects)',
  'one-chart': 'One chart of N instances (1 file of 3N objects)',
};

function layoutTable(options: Options, samples: Map<string, Sample[]>, layout: Layout): string[] {
  const list = (mode: Mode, n: number) => samples.get(`${layout}/${mode}/${n}`)!;
  const med = (mode: Mode, n: number, f: (s: Sample) => number) => median(list(mode, n).map(f));
  const lines = [`${LAYOUT_TITLES[layout]}:`, ''];
  lines.push('| Instances | Configuration | Wall ms | ms/instance | × floor | CPU ms | Start-up ms | Peak RSS MB | Heap used MB |');
  lines.push('|---:|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const n of options.sizes) {
    const floor = med('floor', n, (s) => s.wallMs);
    for (const mode of MODES) {
      const wall = med(mode, n, (s) => s.wallMs);
      const validate = mode === 'library+schema' ? ` (plugin ${fmt(med(mode, n, (s) => s.validateMs ?? 0))})` : '';
      lines.push(`| ${n} | ${mode} | ${fmt(wall)}${validate} | ${fmt(wall / n, n >= 100 ? 2 : 1)} | `
        + `${mode === 'floor' ? '1' : (wall / floor).toFixed(1)} | ${fmt(med(mode, n, (s) => s.cpuMs))} | ${fmt(med(mode, n, (s) => s.startupMs))} | `
        + `${fmt(med(mode, n, (s) => s.maxRssMb))} | ${fmt(med(mode, n, (s) => s.heapUsedMb))} |`);
    }
  }
  const sizes = [...options.sizes].sort((a, b) => a - b);
  const largest = sizes[sizes.length - 1];
  const goal = layout === 'one-chart' ? 1.3 : 1.5;
  const ratio = med('library', largest, (s) => s.cpuMs) / med('cdk8s-only', largest, (s) => s.cpuMs);
  lines.push('');
  lines.push(`CPU time of the library over cdk8s alone (the same objects as plain \`ApiObject\`s in the same charts) at ${largest} instances: `
    + `**×${ratio.toFixed(2)}** (goal ≤ ×${goal}).`);
  if (sizes.length >= 2) {
    const [a, b] = [sizes[sizes.length - 2], sizes[sizes.length - 1]];
    lines.push('');
    lines.push(`Wall time from ${a} to ${b} instances (×${b / a}): `
      + MODES.map((mode) => `${mode} ×${(med(mode, b, (s) => s.wallMs) / med(mode, a, (s) => s.wallMs)).toFixed(1)}`).join(', ')
      + '.');
  }
  return lines;
}

function report(options: Options, samples: Map<string, Sample[]>, cli: Timing[] | undefined, load: number[][]): string {
  const cpus = os.cpus();
  const loads = load.map((l) => l[0].toFixed(1)).join(' and ');
  const lines: string[] = [];
  lines.push(`Measured ${new Date().toISOString().slice(0, 10)} with \`npm run bench\` on ${cpus[0]?.model.trim() ?? 'an unknown CPU'}, `
    + `${cpus.length} cores, Node ${process.version} (1-minute load average ${loads} at start and end). `
    + `Each row is the median of ${options.runs} fresh process${options.runs > 1 ? 'es' : ''}; wall time runs from after the `
    + 'imports (start-up) to the last file written, or validated, and CPU is the process\'s user + system time over the same '
    + 'span (less sensitive to other load on the machine); instances have default props (a ConfigMap of scripts, a Service and a StatefulSet each).');
  for (const layout of options.layouts) {
    lines.push('', ...layoutTable(options, samples, layout));
  }
  if (cli) {
    const [synth, startup] = cli;
    lines.push('');
    lines.push(`The example app, \`npm run synth\` as the README gives it (\`cdk8s synth --check-upgrade=false\`, output to a temporary `
      + `directory), ${synth.all.length} runs: **min ${seconds(synth.min)} s, median ${seconds(synth.median)} s** `
      + `(${synth.all.map(seconds).join(', ')}). Of this, npm's and the CLI's own start-up, \`npm run synth -- --version\`: `
      + `min ${seconds(startup.min)} s, median ${seconds(startup.median)} s.`);
  }
  return lines.join('\n');
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === '--child') {
    const [, mode, n, outdir, layout, referenceFile] = argv;
    const sample = mode === 'floor' ? childFloor(Number(n), outdir, referenceFile)
      : mode === 'cdk8s-only' ? childCdk8sOnly(Number(n), outdir, referenceFile)
        : await childLibrary(Number(n), outdir, layout as Layout, mode === 'library+schema');
    process.stdout.write(`${JSON.stringify(sample)}\n`);
    return;
  }

  const options = parseOptions(argv);
  const load = [os.loadavg()];
  const work = tempDir('bench-');
  try {
    const samples = new Map<string, Sample[]>();
    for (const layout of options.layouts) {
      const referenceFile = path.join(work, `reference-${layout}.json`);
      writeReference(layout, referenceFile);
      for (const n of options.sizes) {
        for (let run = 0; run < options.runs; run++) {
          // Interleave the configurations, so that a slow moment of the machine hits all of them.
          for (const mode of MODES) {
            const sample = runChild(mode, n, layout, referenceFile);
            const key = `${layout}/${mode}/${n}`;
            samples.set(key, [...samples.get(key) ?? [], sample]);
            process.stderr.write(`${layout.padEnd(18)} ${mode.padEnd(15)} ${String(n).padStart(5)}  ${fmt(sample.wallMs).padStart(6)} ms`
              + `  cpu ${fmt(sample.cpuMs).padStart(6)} ms`
              + `  rss ${fmt(sample.maxRssMb)} MB  (${sample.files} files, ${sample.objects} objects)\n`);
          }
        }
        const first = MODES.map((mode) => samples.get(`${layout}/${mode}/${n}`)![0]);
        if (new Set(first.map((s) => `${s.files}/${s.objects}`)).size !== 1) {
          throw new Error(`the configurations wrote different numbers of files or objects for ${n} instances: ${JSON.stringify(first)}`);
        }
      }
    }
    let cli: Timing[] | undefined;
    if (options.cliRuns > 0) {
      process.stderr.write(`npm run synth and npm run synth -- --version, ${options.cliRuns} runs each ...\n`);
      cli = timeCommands([
        { command: `npm run --silent synth -- --output ${JSON.stringify(path.join(work, 'cdk8s-synth'))}`, expect: 'Validations ended succesfully' },
        { command: 'npm run --silent synth -- --version' },
      ], options.cliRuns);
    }
    load.push(os.loadavg());
    publish(report(options, samples, cli, load), options.updateReadme, README_START, README_END);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

runMain(main);

// What the benchmarks share: options, medians, the report's header and the README block a run
// rewrites. The PostgreSQL harness is loaded by `header` only (bench/upgrade.ts and
// bench/recovery.ts), not by bench/synth.ts, whose child processes measure their start-up.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const ROOT = path.resolve(__dirname, '..');
const README = path.join(ROOT, 'README.md');

export function median(values: number[]): number {
  if (values.length === 0) {
    return NaN;
  }
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Milliseconds as seconds, e.g. "1.23". */
export const seconds = (ms: number, digits = 2) => (ms / 1000).toFixed(digits);

/** A command-line flag's value, or its default; throws on a flag the script does not know. */
export function parseFlags(argv: string[], known: { [flag: string]: 'value' | 'switch' }, usage: string): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const kind = known[argv[i]];
    if (kind === undefined) {
      throw new Error(`unknown option ${argv[i]}; see the comment at the top of ${usage}`);
    }
    if (kind === 'switch') {
      flags.set(argv[i], 'true');
    } else {
      const value = argv[++i];
      if (value === undefined) {
        throw new Error(`${argv[i - 1]} needs a value`);
      }
      flags.set(argv[i - 1], value);
    }
  }
  return flags;
}

/** The 1-minute load average now. */
export const load = () => os.loadavg()[0];

/** The machine and software a report was measured on, as synth.ts's header says it. */
export function header(command: string, loads: number[]): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { PG15, PG18, SCRATCH }: typeof import('../test/pg/harness') = require('../test/pg/harness');
  const cpus = os.cpus();
  const scratch = SCRATCH === '/dev/shm' ? 'a tmpfs (/dev/shm)' : `the local disk (${SCRATCH})`;
  return `Measured ${new Date().toISOString().slice(0, 10)} with \`${command}\` on ${cpus[0]?.model.trim() ?? 'an unknown CPU'}, `
    + `${cpus.length} cores, Node ${process.version} (1-minute load average ${loads.map((l) => l.toFixed(1)).join(' and ')} at start and end), `
    + `PostgreSQL ${PG15.version} (Debian bookworm's, on the host) and ${PG18.version} (Debian sid's, in a chroot), data on ${scratch}.`;
}

/** Replaces what is between the README's `start` and `end` markers with `text`. */
export function updateReadme(start: string, end: string, text: string): void {
  const readme = fs.readFileSync(README, 'utf-8');
  const from = readme.indexOf(start);
  const to = readme.indexOf(end);
  if (from < 0 || to < from) {
    throw new Error(`README.md has no ${start} ... ${end} markers`);
  }
  fs.writeFileSync(README, `${readme.slice(0, from + start.length)}\n${text}\n${readme.slice(to)}`);
}

/** Progress on stderr (the report goes to stdout). */
export function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** The command a report names: `npm run <script> -- <arguments>`, without --update-readme. */
export function commandLine(script: string, argv: string[]): string {
  return `npm run ${script}${argv.length ? ` -- ${argv.join(' ')}` : ''}`.replace(/ --update-readme/, '').replace(/ --$/, '');
}

/** Prints the report, and writes it between the README's markers when asked. */
export function publish(table: string, updateReadmeToo: boolean, start: string, end: string): void {
  process.stdout.write(`${table}\n`);
  if (updateReadmeToo) {
    updateReadme(start, end, table);
    progress('README.md updated');
  }
}

/** Runs a benchmark's main; an error ends the process with its stack and status 1. */
export function runMain(main: (argv: string[]) => Promise<void>): void {
  main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`${e instanceof Error ? e.stack : e}\n`);
    process.exit(1);
  });
}

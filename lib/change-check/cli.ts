#!/usr/bin/env node
// cdk8s-postgres-statefulset-check: the change check as a command (the package's `bin`). Compares
// newly synthesized manifests with a baseline and reports, for each PostgreSQL StatefulSet, what
// must be dealt with before `kubectl apply`. Exit status: 0 nothing unsafe, 1 something rejected
// or unsafe, 2 a bad input or usage.
import * as fs from 'fs';
import { checkChanges } from './check';
import { readInstance } from './instance';
import { CheckInputError, kubectlProcess, ManifestSet, readGit, readInputText, readLive, readPaths, RunKubectl } from './manifests';
import { hasProblems, renderReport } from './report';

export const COMMAND = 'cdk8s-postgres-statefulset-check';

export const USAGE = `Usage: ${COMMAND} [options] [manifests...]

Compares newly synthesized manifests (files or directories, read recursively; default: dist)
with a baseline, and reports for each PostgreSQL StatefulSet the changes that the API server
rejects, that the database ignores, that leave data behind, and major version changes without
the upgrade option, each with the steps to take.

Baseline, one of (default: --git HEAD):
  --git <ref>          the same paths as committed at <ref> (git show <ref>:<path>)
  --git <ref>:<path>   <path> (relative to the current directory) as committed at <ref>,
                       e.g. --git HEAD:dist for manifests synthesized into another directory
  --baseline <path>    a manifest file or directory, or a saved \`kubectl get statefulsets -o json\`
  --baseline -         the same, read from standard input
  --live               the StatefulSets in the cluster: runs \`kubectl get statefulsets -o json\` in
                       the namespaces of the manifests ($KUBECTL names another kubectl)
  --context <name>     with --live: the kubeconfig context to use

Exit status: 0 nothing unsafe, 1 something to deal with before applying, 2 bad input.
`;

/** What the command reads and writes; the tests give their own. */
export interface CliIo {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly readStdin: () => string;
  /** kubectl for --live (default: $KUBECTL or kubectl, as a process). */
  readonly runKubectl?: RunKubectl;
}

class UsageError extends Error {}

interface Options {
  readonly paths: string[];
  readonly git?: string;
  readonly baseline?: string;
  readonly live: boolean;
  readonly context?: string;
  readonly help: boolean;
}

function parseArgs(argv: string[]): Options {
  const paths: string[] = [];
  let git: string | undefined;
  let baseline: string | undefined;
  let live = false;
  let context: string | undefined;
  let help = false;
  const rest = [...argv];
  const value = (option: string, inline: string | undefined): string => {
    const v = inline ?? rest.shift();
    if (v === undefined || v === '') {
      throw new UsageError(`${option} needs a value`);
    }
    return v;
  };
  while (rest.length > 0) {
    const arg = rest.shift()!;
    const [option, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    switch (option) {
      case '--git': git = value(option, inline); break;
      case '--baseline': baseline = value(option, inline); break;
      case '--live': live = true; break;
      case '--context': context = value(option, inline); break;
      case '-h': case '--help': help = true; break;
      case '--': paths.push(...rest.splice(0)); break;
      default:
        if (arg.startsWith('-') && arg !== '-') {
          throw new UsageError(`unknown option ${arg}`);
        }
        paths.push(arg);
    }
  }
  if ([git !== undefined, baseline !== undefined, live].filter(Boolean).length > 1) {
    throw new UsageError('give one baseline: --git <ref>, --baseline <path> or --live');
  }
  if (context !== undefined && !live) {
    throw new UsageError('--context goes with --live');
  }
  return { paths: paths.length > 0 ? paths : ['dist'], git, baseline, live, context, help };
}

/** The namespaces of the PostgreSQL StatefulSets of a manifest set (undefined: kubectl's current one). */
function namespacesOf(set: ManifestSet): Array<string | undefined> {
  const found = set.objects.map((o) => readInstance(o.object, o.source)).filter((i) => i !== undefined).map((i) => i!.namespace);
  return found.length > 0 ? found : [undefined];
}

/** `--git <ref>`: the same paths at <ref>; `--git <ref>:<path>`: that path at <ref> (for manifests written elsewhere). */
function readGitBaseline(git: string, paths: string[], cwd: string): ManifestSet {
  const colon = git.indexOf(':');
  return colon < 0 ? readGit(paths, git, cwd) : readGit([git.slice(colon + 1) || '.'], git.slice(0, colon) || 'HEAD', cwd);
}

/** Runs the command; returns the exit status. */
export function main(argv: string[], io: CliIo): number {
  try {
    const options = parseArgs(argv);
    if (options.help) {
      io.stdout(USAGE);
      return 0;
    }
    const next = readPaths(options.paths, io.cwd);
    const baseline = options.live ? readLive(namespacesOf(next), options.context, io.runKubectl ?? kubectlProcess(io.env))
      : options.baseline === '-' ? readInputText(io.readStdin(), 'standard input')
        : options.baseline !== undefined ? readPaths([options.baseline], io.cwd)
          : readGitBaseline(options.git ?? 'HEAD', options.paths, io.cwd);
    const result = checkChanges(baseline, next, { live: options.live });
    io.stdout(renderReport(result));
    return hasProblems(result) ? 1 : 0;
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`${COMMAND}: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    if (e instanceof CheckInputError) {
      io.stderr(`${COMMAND}: ${e.message}\n`);
      return 2;
    }
    io.stderr(`${COMMAND}: unexpected error, please report it: ${(e as Error)?.stack ?? e}\n`);
    return 2;
  }
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2), {
    cwd: process.cwd(),
    env: process.env,
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    readStdin: () => fs.readFileSync(0, 'utf-8'),
  });
}

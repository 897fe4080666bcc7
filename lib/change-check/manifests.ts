// Reading manifests for the change check (internal): files and directories, a git commit, standard
// input and `kubectl get -o json`. Every problem with an input is a CheckInputError whose message
// says which input and what is wrong with it; nothing here prints or exits.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import { createRequire } from 'module';
import * as path from 'path';

/** A problem with an input (missing, unreadable, not YAML, not a manifest): reported as a message, not a stack trace. */
export class CheckInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckInputError';
  }
}

/** An object of a manifest, with where it was read. */
export interface SourcedObject {
  readonly object: any;
  /** The file (as given, or `git <ref>:<path>`, or the kubectl command). */
  readonly source: string;
  /** For objects from kubectl: the namespace it was asked for ('' for its current namespace). */
  readonly namespaceAsked?: string;
}

/** The objects of one side of the comparison. */
export interface ManifestSet {
  /** What was read, for the report: `dist`, `git HEAD:dist`, `kubectl get statefulsets -n shop`. */
  readonly description: string;
  readonly objects: SourcedObject[];
  /** Whether the objects came in a List (kubectl's answer): an empty List means "there are none", not a wrong input. */
  readonly listed: boolean;
}

/** Runs kubectl with arguments and returns what it prints; injectable for tests. */
export type RunKubectl = (args: string[]) => string;

const MANIFEST_FILE = /\.(ya?ml|json)$/i;

/** The parts of the `yaml` package used here. */
interface YamlDocument {
  readonly errors: ReadonlyArray<{ readonly message: string }>;
  toJS(options?: { maxAliasCount?: number }): unknown;
}
interface YamlModule {
  parseAllDocuments(text: string, options?: { version?: '1.1' | '1.2' }): Iterable<YamlDocument>;
}

let yamlModule: YamlModule | undefined;

/**
 * The `yaml` package that cdk8s bundles and loads itself (a peer dependency: nothing is added to
 * this package's dependencies). Resolved from cdk8s' own location, as cdk8s resolves it.
 */
function yaml(): YamlModule {
  if (yamlModule === undefined) {
    const fromCdk8s = createRequire(require.resolve('cdk8s'));
    yamlModule = fromCdk8s('yaml') as YamlModule;
  }
  return yamlModule;
}

/** Whether a value is a Kubernetes object (apiVersion and kind). */
export function isKubeObject(value: unknown): value is { apiVersion: string; kind: string; [key: string]: any } {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    && typeof (value as any).kind === 'string' && typeof (value as any).apiVersion === 'string';
}

/**
 * The documents of a YAML or JSON text (JSON is YAML), as YAML 1.1 like kubectl and cdk8s read it.
 * The items of a List (`kubectl get -o json`) are returned in its place.
 */
export function parseManifests(text: string, source: string): { values: unknown[]; listed: boolean } {
  if (text.includes('\u0000')) {
    throw new CheckInputError(`${source} is not a text file, so not YAML or JSON`);
  }
  const values: unknown[] = [];
  let listed = false;
  for (const document of yaml().parseAllDocuments(text, { version: '1.1' })) {
    if (document.errors.length > 0) {
      const first = document.errors[0].message.split('\n')[0];
      throw new CheckInputError(`${source} is not valid YAML or JSON: ${first}`);
    }
    const value = document.toJS({ maxAliasCount: 1000 });
    if (value === null || value === undefined) {
      continue;
    }
    if (isKubeObject(value) && value.kind.endsWith('List') && Array.isArray(value.items)) {
      listed = true;
      values.push(...value.items);
    } else {
      values.push(value);
    }
  }
  return { values, listed };
}

/** The Kubernetes objects of a text, with their source; `required` makes a text without any an error. */
function objectsOf(text: string, source: string, required: boolean): { objects: SourcedObject[]; listed: boolean } {
  const { values, listed } = parseManifests(text, source);
  const objects = values.filter(isKubeObject).map((object) => ({ object, source }));
  if (required && objects.length === 0 && !listed) {
    throw new CheckInputError(`${source} holds no Kubernetes object (no document with apiVersion and kind): not a manifest`);
  }
  return { objects, listed };
}

/** Every manifest file (.yaml, .yml, .json) under a directory, sorted. */
function manifestFiles(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && MANIFEST_FILE.test(entry.name))
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
}

function readText(file: string, label: string): string {
  try {
    return fs.readFileSync(file, 'utf-8');
  } catch (e) {
    throw new CheckInputError(`${label} cannot be read: ${(e as Error).message}`);
  }
}

/**
 * The objects of files and directories (directories recursively: `dist/` and `dist/teams/`).
 * Files in a directory that hold no Kubernetes object (cdk8s' construct-metadata.json) are
 * skipped; a named file, or a directory, without any is an error.
 */
export function readPaths(paths: string[], cwd: string): ManifestSet {
  const objects: SourcedObject[] = [];
  let listed = false;
  for (const given of paths) {
    const full = path.resolve(cwd, given);
    let stat: fs.Stats;
    try {
      stat = fs.statSync(full);
    } catch {
      throw new CheckInputError(`${given}: no such file or directory`);
    }
    if (stat.isDirectory()) {
      const files = manifestFiles(full);
      if (files.length === 0) {
        throw new CheckInputError(`${given} holds no .yaml, .yml or .json file`);
      }
      const before = objects.length;
      for (const file of files) {
        const label = path.join(given, path.relative(full, file));
        const read = objectsOf(readText(file, label), label, false);
        objects.push(...read.objects);
        listed ||= read.listed;
      }
      if (objects.length === before && !listed) {
        throw new CheckInputError(`${given} holds no Kubernetes object in its ${files.length} .yaml, .yml or .json file(s): not manifests`);
      }
    } else {
      const read = objectsOf(readText(full, given), given, true);
      objects.push(...read.objects);
      listed ||= read.listed;
    }
  }
  return { description: paths.join(', '), objects, listed };
}

/** The objects of a text read from standard input (e.g. `kubectl get statefulsets -o json`). */
export function readInputText(text: string, label: string): ManifestSet {
  if (text.trim() === '') {
    throw new CheckInputError(`${label} is empty: pipe manifests or \`kubectl get statefulsets -o json\` into it`);
  }
  const { objects, listed } = objectsOf(text, label, true);
  return { description: label, objects, listed };
}

/** Runs git; a failure becomes a CheckInputError with git's own message. */
function git(cwd: string, args: string[], what: string): string {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf-8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1024 ** 3 });
  } catch (e: any) {
    if (e.code === 'ENOENT') {
      throw new CheckInputError('git is not installed: pass the baseline as a directory with --baseline <dir>');
    }
    const said = String(e.stderr ?? '').trim().split('\n')[0];
    throw new CheckInputError(`${what}${said ? `: ${said}` : ''}`);
  }
}

/** The nearest directory that exists at or above a path. */
function existingDirectory(full: string): string {
  let dir = full;
  while (!(fs.existsSync(dir) && fs.statSync(dir).isDirectory())) {
    dir = path.dirname(dir);
  }
  return dir;
}

/**
 * Paths as committed at a git ref (`git show <ref>:<path>` for every manifest file under each
 * path), as the baseline of what is in the working tree. The paths need not exist any more.
 */
export function readGit(paths: string[], ref: string, cwd: string): ManifestSet {
  const objects: SourcedObject[] = [];
  let listed = false;
  const described: string[] = [];
  for (const given of paths) {
    const full = path.resolve(cwd, given);
    const dir = existingDirectory(full);
    const top = git(dir, ['rev-parse', '--show-toplevel'], `${given} is not in a git repository (pass the baseline with --baseline <dir> or --live)`).trim();
    git(top, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], `git has no commit ${ref}${ref === 'HEAD' ? ' (no commit yet?)' : ''}`);
    const inRepo = path.relative(fs.realpathSync(top), path.join(fs.realpathSync(dir), path.relative(dir, full))).split(path.sep).join('/');
    if (inRepo.startsWith('..')) {
      throw new CheckInputError(`${given} is outside the git repository at ${top}`);
    }
    const spec = inRepo === '' ? '.' : inRepo;
    const listedFiles = git(top, ['ls-tree', '-r', '-z', '--name-only', '--full-name', ref, '--', spec], `git ls-tree ${ref} ${spec} failed`)
      .split('\0').filter((f) => f !== '' && (MANIFEST_FILE.test(f) || f === inRepo));
    if (listedFiles.length === 0) {
      throw new CheckInputError(`git ${ref} has no manifest at ${spec} (is ${given} committed? \`cdk8s init\` apps ignore dist/ in .gitignore): nothing to compare with. `
        + 'Compare with the cluster instead (--live), or with a directory of the manifests last applied (--baseline <dir>).');
    }
    described.push(`git ${ref}:${spec}`);
    const before = objects.length;
    for (const file of listedFiles) {
      const label = `git ${ref}:${file}`;
      const read = objectsOf(git(top, ['show', `${ref}:${file}`], `git show ${ref}:${file} failed`), label, file === inRepo);
      objects.push(...read.objects);
      listed ||= read.listed;
    }
    if (objects.length === before && !listed) {
      throw new CheckInputError(`git ${ref}:${spec} holds no Kubernetes object: not manifests`);
    }
  }
  return { description: described.join(', '), objects, listed };
}

/** kubectl as a process: $KUBECTL, else `kubectl` on the PATH. */
export function kubectlProcess(env: NodeJS.ProcessEnv): RunKubectl {
  const command = env.KUBECTL || 'kubectl';
  return (args) => {
    try {
      return execFileSync(command, args, { encoding: 'utf-8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1024 ** 3, env });
    } catch (e: any) {
      if (e.code === 'ENOENT') {
        throw new CheckInputError(`${command} not found: install kubectl or set KUBECTL to its path; or save \`kubectl get statefulsets -o json\` to a file and pass it with --baseline <file>`);
      }
      const said = String(e.stderr ?? '').trim() || `exit status ${e.status}`;
      throw new CheckInputError(`${command} ${args.join(' ')} failed: ${said}`);
    }
  };
}

/**
 * The StatefulSets in the cluster, from `kubectl get statefulsets -o json` in each namespace
 * (undefined: kubectl's current namespace).
 */
export function readLive(namespaces: Array<string | undefined>, context: string | undefined, run: RunKubectl): ManifestSet {
  const objects: SourcedObject[] = [];
  const described: string[] = [];
  for (const namespace of [...new Set(namespaces)]) {
    const args = ['get', 'statefulsets', '-o', 'json', ...(namespace ? ['-n', namespace] : []), ...(context ? ['--context', context] : [])];
    const label = `kubectl ${args.join(' ')}`;
    const text = run(args);
    const { values, listed } = parseManifests(text, `the output of ${label}`);
    if (!listed && !values.some(isKubeObject)) {
      throw new CheckInputError(`the output of ${label} is not a Kubernetes List or object: ${JSON.stringify(text.trim().slice(0, 80))}`);
    }
    objects.push(...values.filter(isKubeObject).map((object) => ({ object, source: label, namespaceAsked: namespace ?? '' })));
    described.push(label);
  }
  return { description: described.join(', '), objects, listed: true };
}

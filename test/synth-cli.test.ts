// `npm run synth` (scripts/synth.js, which runs cdk8s synth), run as the README says, with the
// cdk8s.yaml of this repository.
import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import { oneOfKind } from './util';

const root = path.resolve(__dirname, '..');

/** The environment of a person's shell (no SYNTH_POSTGRES_PASSWORD unless given, no upgrade check setting). */
function shellEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, SYNTH_POSTGRES_PASSWORD: '', ...extra };
  delete env.CDK8S_CHECK_UPGRADE; // the README's command must turn the check off by itself
  return env;
}

/** Runs a command; returns its exit status and its output (stdout, then stderr). */
function runIn(cwd: string, command: string, args: string[], env: NodeJS.ProcessEnv = shellEnv()) {
  const result = spawnSync(command, args, { cwd, encoding: 'utf-8', env });
  return { status: result.status, output: `${result.stdout}\n${result.stderr}` };
}

/** `npm run synth -- [args]`, the README's command, in this repository. */
function npmRunSynth(...args: string[]) {
  return runIn(root, 'npm', ['run', '--silent', 'synth', '--', ...args]);
}

/** The plain cdk8s CLI, `cdk8s` of node_modules/.bin (what `npx cdk8s` runs: tools/cdk8s-bin), without npx's start-up cost. */
function cdk8sSynth(cwd: string, args: string[], env?: NodeJS.ProcessEnv) {
  return runIn(cwd, path.join(cwd, 'node_modules', '.bin', 'cdk8s'), ['synth', '--check-upgrade=false', ...args], env);
}

function listFiles(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

/** The files of dir with their contents, for an exact comparison that names the file that differs. */
function contents(dir: string): string[] {
  return listFiles(dir).map((file) => `${file}:\n${fs.readFileSync(path.join(dir, file), 'utf-8')}`);
}

let outdir: string;
beforeEach(() => {
  outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'synth-'));
});
afterEach(() => {
  fs.rmSync(outdir, { recursive: true, force: true });
});

test('npm run synth writes exactly the committed dist/ and validates it against the schema', () => {
  const { status, output } = npmRunSynth('--output', outdir);
  expect(output).toContain('Validations ended succesfully');
  expect(status).toBe(0);
  // no upgrade check: offline it prints an http error and "A new version undefined ..."
  expect(output).not.toMatch(/new version|http error/);
  expect(contents(outdir)).toEqual(contents(path.join(root, 'dist')));
  // after the synth, what to create before the first kubectl apply: the Secrets the example expects
  expect(output).toContain('Create before the first kubectl apply (replace each <...>):\n'
    + '  Secret postgresql-secrets in the namespace you apply to, for postgresql/Db:\n');
  expect(output).toContain('    kubectl create secret generic postgresql-secrets --from-literal=POSTGRES_PASSWORD=<superuser-password> '
    + '--from-literal=POSTGRES_REPLICATION_PASSWORD=<replication-password>\n');
  for (const team of ['payments', 'search', 'analytics']) {
    expect(output).toContain(`    kubectl create secret generic ${team}-postgres --from-literal=POSTGRES_PASSWORD=<superuser-password> `);
  }
}, 60_000);

test('plain `npx cdk8s synth` runs the cdk8s-cli of tools/ (node_modules/.bin/cdk8s): the committed dist/, validated', () => {
  const { status, output } = runIn(root, 'npx', ['--no-install', 'cdk8s', 'synth', '--check-upgrade=false', '--output', outdir]);
  expect(output).toContain('Validations ended succesfully');
  expect(status).toBe(0);
  expect(contents(outdir)).toEqual(contents(path.join(root, 'dist')));
  expect(fs.realpathSync(path.join(root, 'node_modules', '.bin', 'cdk8s'))).toBe(path.join(root, 'tools', 'cdk8s-bin', 'cdk8s.js'));
}, 60_000);

test('invalid props: npm run synth prints every problem without a stack trace, exits non-zero, and writes nothing', () => {
  // The fixture app synthesizes as main.ts and the README do (PostgresSynth.synthOrReport).
  const { status, output } = npmRunSynth('--output', outdir, '--app', 'node -r ./scripts/register-ts.js test/fixtures/invalid-props-app.ts');
  expect(status).not.toBe(0);
  expect(output).toContain('[broken/Db] PostgresStatefulSet: replicas must be a positive integer, got 0. Fix: set replicas to 1 or more');
  expect(output).toContain('[broken/Db] PostgresStatefulSet: image uses the \'latest\' tag');
  expect(output).toContain('[broken/Db] PostgresStatefulSet: storage must be larger than zero, got 0Gi');
  expect(output).toContain('Nothing was written.');
  // neither the app's exception nor cdk8s-cli's error comes with a stack trace
  expect(output).not.toMatch(/^\s+at /m);
  expect(output).not.toMatch(/node:internal|node_modules/);
  expect(fs.existsSync(outdir) ? listFiles(outdir) : []).toEqual([]);
}, 60_000);

test('an object that breaks the schema fails the synth, and its manifest is deleted', () => {
  const { status, output } = cdk8sSynth(root, ['--output', outdir, '--app', 'node -r ./scripts/register-ts.js test/fixtures/schema-violation-app.ts']);
  expect(status).not.toBe(0);
  expect(output).toContain('/spec: unknown field "clusterIp"');
  expect(output).toContain('Resource Name: hand-written');
  expect(output).toContain('Validation failed');
  expect(listFiles(outdir).filter((f) => f.endsWith('.yaml'))).toEqual([]);
}, 60_000);

describe('a password given at synth time never reaches the committed dist/', () => {
  // A checkout of the example app to run in: links to this repository's files, and a copy of
  // the committed dist/ (written to, if the password went there).
  let checkout: string;
  const password = `pw-${crypto.randomBytes(8).toString('hex')}`;
  const filesWithPassword = () => listFiles(checkout)
    .filter((file) => fs.readFileSync(path.join(checkout, file), 'utf-8').includes(password));

  beforeEach(() => {
    checkout = path.join(outdir, 'checkout');
    fs.mkdirSync(checkout);
    for (const file of ['package.json', 'cdk8s.yaml', 'main.ts', 'teams.ts', 'lib', 'imports', 'validation', 'scripts', 'node_modules', 'tools']) {
      fs.symlinkSync(path.join(root, file), path.join(checkout, file));
    }
    fs.cpSync(path.join(root, 'dist'), path.join(checkout, 'dist'), { recursive: true });
  });

  test('SYNTH_POSTGRES_PASSWORD=... npm run synth writes the Secret to dist-local/, which git ignores, and leaves dist/ as it was', () => {
    const { status, output } = runIn(checkout, 'npm', ['run', '--silent', 'synth'], shellEnv({ SYNTH_POSTGRES_PASSWORD: password }));
    expect(output).toContain('Validations ended succesfully');
    expect(status).toBe(0);

    expect(listFiles(path.join(checkout, 'dist-local'))).toEqual(['postgresql.k8s.yaml', path.join('teams', 'teams.k8s.yaml')]);
    const manifest = parseAllDocuments(fs.readFileSync(path.join(checkout, 'dist-local', 'postgresql.k8s.yaml'), 'utf-8')).map((d) => d.toJS());
    expect(oneOfKind(manifest, 'Secret', 'postgresql-secrets').stringData).toEqual({ POSTGRES_PASSWORD: password });
    expect(contents(path.join(checkout, 'dist'))).toEqual(contents(path.join(root, 'dist')));
    expect(filesWithPassword()).toEqual(['dist-local/postgresql.k8s.yaml']);
    // the Secret is rendered: it is no longer listed as something to create, and no password is printed
    expect(output).not.toContain('Secret postgresql-secrets');
    expect(output).toContain('kubectl create secret generic payments-postgres ');
    expect(output).not.toContain(password);
    // dist-local/ is ignored by this repository's .gitignore
    expect(runIn(root, 'git', ['check-ignore', '--quiet', '--no-index', 'dist-local/postgresql.k8s.yaml']).status).toBe(0);
    expect(runIn(root, 'git', ['check-ignore', '--quiet', '--no-index', 'dist/postgresql.k8s.yaml']).status).toBe(1);
  }, 60_000);

  test('with --output dist, npm run synth refuses before anything is written or deleted', () => {
    const { status, output } = runIn(checkout, 'npm', ['run', '--silent', 'synth', '--', '--output', 'dist'], shellEnv({ SYNTH_POSTGRES_PASSWORD: password }));
    expect(status).toBe(1);
    expect(output).toContain('SYNTH_POSTGRES_PASSWORD is set and --output is dist, whose manifests are committed');
    expect(contents(path.join(checkout, 'dist'))).toEqual(contents(path.join(root, 'dist')));
    expect(filesWithPassword()).toEqual([]);
  }, 60_000);

  test('plain cdk8s synth (output dist/) with a password: the app refuses and writes nothing', () => {
    const { status, output } = cdk8sSynth(checkout, [], shellEnv({ SYNTH_POSTGRES_PASSWORD: password }));
    expect(status).not.toBe(0);
    expect(output).toContain('SYNTH_POSTGRES_PASSWORD is set and the output directory is dist, whose manifests are committed');
    expect(output).toContain('git checkout -- dist');
    expect(filesWithPassword()).toEqual([]);
  }, 60_000);
});

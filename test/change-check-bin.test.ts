// The change check as users run it: this repository packed, installed offline into a
// throw-away cdk8s app next to its peer dependencies, and `cdk8s-postgres-statefulset-check` run
// from node_modules/.bin as its own process (the bin link, the shebang, exit statuses, standard
// input, and --live with a kubectl stand-in given by $KUBECTL). The app synthesizes with the
// installed package and keeps its dist/ in git, as the README describes.
// Relies on the package that `npm test` writes before jest (`npm run package:js`, jsii-pacmak's
// `npm pack` of the jsii build), which package.test.ts checks is what `npm pack` makes now.
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '..');
const PEERS = ['cdk8s', 'cdk8s-plus-27', 'constructs'];
const KUBECTL_JSON = path.join(__dirname, 'fixtures', 'change-check', 'kubectl-get-statefulsets.json');

/** The environment of a person's shell: without the npm_* variables of the `npm test` that runs jest. */
const ENV = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('npm_')));

function run(command: string, args: string[], cwd: string): string {
  try {
    return execFileSync(command, args, { cwd, env: ENV, encoding: 'utf-8', stdio: 'pipe' });
  } catch (e: any) {
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${e.stdout}\n${e.stderr}`);
  }
}

let tmp: string;
let app: string;
let bin: string;

/** Synthesizes the app into dist/ with the installed package: the instance shop/orders with these props (storage in GiB). */
function synth(props: object): void {
  fs.rmSync(path.join(app, 'dist'), { recursive: true, force: true });
  run('node', ['synth.js', JSON.stringify(props)], app);
}

/** Runs the installed command. */
function check(args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}) {
  const result = spawnSync(bin, args, { cwd: app, env: { ...ENV, ...options.env }, input: options.input ?? '', encoding: 'utf-8' });
  if (result.error) {
    throw result.error;
  }
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const git = (...args: string[]) => run('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.com', ...args], app);

beforeAll(() => {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf-8'));
  const tarball = path.join(root, pkg.jsii.outdir, 'js', `${pkg.name}@${pkg.version}.jsii.tgz`);
  if (!fs.existsSync(tarball)) {
    throw new Error(`${path.relative(root, tarball)} is missing: run \`npm run package:js\` (\`npm test\` does)`);
  }
  // it packs the current build: the same assembly (which fingerprints the compiled sources)
  if (execFileSync('tar', ['-xzOf', tarball, 'package/.jsii'], { encoding: 'utf-8' }) !== fs.readFileSync(path.join(root, '.jsii'), 'utf-8')) {
    throw new Error(`${path.relative(root, tarball)} packs an older build: run \`npm run package:js\` (\`npm test\` does)`);
  }
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'change-check-bin-'));
  app = path.join(tmp, 'app');
  fs.mkdirSync(path.join(app, 'node_modules'), { recursive: true });
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'consumer-app', version: '0.0.0', private: true }));
  for (const peer of PEERS) {
    fs.cpSync(path.join(root, 'node_modules', peer), path.join(app, 'node_modules', peer), { recursive: true });
  }
  run('npm', ['install', tarball, '--no-save', '--offline', '--ignore-scripts', '--no-audit', '--no-fund',
    '--cache', path.join(tmp, 'empty-npm-cache')], app);
  bin = path.join(app, 'node_modules', '.bin', 'cdk8s-postgres-statefulset-check');
  fs.writeFileSync(path.join(app, 'synth.js'), `
    const { App, Chart, Size } = require('cdk8s');
    const { PostgresStatefulSet } = require('cdk8s-postgres-statefulset');
    const { storage, ...props } = JSON.parse(process.argv[2]);
    const app = new App({ outdir: 'dist' });
    const chart = new Chart(app, 'shop', { namespace: 'shop' });
    new PostgresStatefulSet(chart, 'Orders', { statefulSetName: 'orders', serviceName: 'orders', storage: Size.gibibytes(storage), ...props });
    app.synth();
  `);
  git('init', '-q');
}, 30_000);

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** The app of the recorded kubectl answer: PostgreSQL 17, two pods, 10Gi on the class fast. */
const RECORDED_APP = { image: 'postgres:17.6', replicas: 2, storage: 10, storageClassName: 'fast' };

test('npm links the command into node_modules/.bin, runnable by its shebang', () => {
  expect(fs.lstatSync(bin).isSymbolicLink()).toBe(true);
  expect(fs.readFileSync(bin, 'utf-8').split('\n')[0]).toBe('#!/usr/bin/env node');
  const help = check(['--help']);
  expect(help.status).toBe(0);
  expect(help.stdout).toMatch(/^Usage: cdk8s-postgres-statefulset-check \[options\] \[manifests\.\.\.\]/);
});

test('against the committed dist/: a storage change is caught before apply (exit 1, with the steps); a re-synth of the committed app passes (exit 0)', () => {
  synth(RECORDED_APP);
  git('add', 'dist');
  git('commit', '-q', '-m', 'orders');
  expect(check([])).toEqual({ status: 0, stderr: '', stdout: 'No unsafe change: 1 PostgreSQL StatefulSet of dist compared with git HEAD:dist (shop/orders).\n' });

  synth({ ...RECORDED_APP, storage: 20 });
  const grown = check([]);
  expect(grown.stderr).toBe('');
  expect(grown.status).toBe(1);
  expect(grown.stdout).toContain('[REJECTED by the API server] storage of data: 10Gi -> 20Gi (grows)');
  const steps = grown.stdout.split('\n').filter((line) => line.startsWith('           kubectl')).map((line) => line.trim());
  expect(steps).toEqual([
    'kubectl get storageclass fast -o \'jsonpath={.allowVolumeExpansion}\'',
    'kubectl -n shop patch pvc data-orders-0 -p \'{"spec":{"resources":{"requests":{"storage":"20Gi"}}}}\'',
    'kubectl -n shop patch pvc data-orders-1 -p \'{"spec":{"resources":{"requests":{"storage":"20Gi"}}}}\'',
    'kubectl -n shop get pvc data-orders-0 -o \'jsonpath={.status.capacity.storage}\'',
    'kubectl -n shop get pvc data-orders-1 -o \'jsonpath={.status.capacity.storage}\'',
    'kubectl -n shop delete statefulset orders --cascade=orphan',
    'kubectl apply -f dist/shop.k8s.yaml',
  ]);

  synth(RECORDED_APP);
  expect(check([]).status).toBe(0);
}, 30_000);

test('the live objects: from kubectl ($KUBECTL), or its saved answer on standard input', () => {
  synth({ ...RECORDED_APP, image: 'postgres:18.4' });
  const kubectl = path.join(tmp, 'kubectl');
  fs.writeFileSync(kubectl, `#!/bin/sh\nprintf '%s\\n' "$*" >> "${path.join(tmp, 'kubectl-calls')}"\ncat "${KUBECTL_JSON}"\n`, { mode: 0o755 });
  const live = check(['--live'], { env: { KUBECTL: kubectl } });
  expect(live.stderr).toBe('');
  expect(live.status).toBe(1);
  expect(fs.readFileSync(path.join(tmp, 'kubectl-calls'), 'utf-8')).toBe('get statefulsets -o json -n shop\n');
  expect(live.stdout).toContain('[UNSAFE, major version] image: postgres:17.6 -> postgres:18.4: PostgreSQL 17 -> 18 without the upgrade option');
  expect(live.stdout).toContain('[UNSAFE, data left behind] data directory: PGDATA /var/lib/postgresql/data/pgdata');

  synth(RECORDED_APP);
  expect(check(['--baseline', '-'], { input: fs.readFileSync(KUBECTL_JSON, 'utf-8') })).toEqual({
    status: 0,
    stderr: '',
    stdout: 'No unsafe change: 1 PostgreSQL StatefulSet of dist compared with standard input (shop/orders); 1 PostgreSQL StatefulSet in the cluster not in the manifests, not compared.\n',
  });
}, 30_000);

test('a bad baseline: one line on stderr, exit 2', () => {
  fs.writeFileSync(path.join(app, 'notes.yaml'), 'orders: [10Gi\n');
  const result = check(['--baseline', 'notes.yaml']);
  expect(result.status).toBe(2);
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(/^cdk8s-postgres-statefulset-check: notes\.yaml is not valid YAML or JSON: [^\n]+\n$/);
});

test('`npm run check-changes` runs the command on this repository\'s dist/ from the TypeScript source', () => {
  // against dist/ itself, so that the result does not depend on whether dist/ is committed yet
  const result = spawnSync('npm', ['run', '--silent', 'check-changes', '--', '--baseline', 'dist'], { cwd: root, env: ENV, encoding: 'utf-8' });
  expect(result.stderr).toBe('');
  expect(result.stdout).toMatch(/^No unsafe change: \d+ PostgreSQL StatefulSets of dist compared with dist \(postgresql-sfs, [^)]+\)\.\n$/);
  expect(result.status).toBe(0);
}, 30_000);

// The npm package as a consumer receives it: `npm pack` of this repository, installed
// offline into a throw-away cdk8s app that requires it from plain JavaScript and synthesizes.
// Relies on the jsii build that `npm test` runs before jest (`npm run build`); the
// packing itself runs with --ignore-scripts so that it does not build a second time.
import { execFileSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import { builtinModules } from 'module';
import * as os from 'os';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import { oneOfKind } from './util';

const root = path.resolve(__dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf-8'));

/** The only packages the library may load at run time, besides Node's builtins. */
const PEERS = ['cdk8s', 'cdk8s-plus-27', 'constructs'];

/** Runs a command and returns its stdout; throws with its output when it fails. */
function run(command: string, args: string[], cwd: string, env = process.env): string {
  try {
    return execFileSync(command, args, { cwd, env, encoding: 'utf-8', stdio: 'pipe' });
  } catch (e: any) {
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${e.stdout}\n${e.stderr}`);
  }
}

/** npm as a person would run it: without the npm_* variables of the `npm test` that runs jest. */
function npm(cwd: string, args: string[]): string {
  return run('npm', args, cwd, Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('npm_'))));
}

/** Every file under dir, as sorted relative paths. */
function listFiles(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

/** The relative path of every installed package under a node_modules tree, nested ones included. */
function installedPackages(nodeModules: string): string[] {
  const found: string[] = [];
  const visit = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const full = path.join(dir, entry.name);
      if (entry.name.startsWith('@')) {
        visit(full);
      } else {
        found.push(path.relative(path.dirname(nodeModules), full));
        if (fs.existsSync(path.join(full, 'node_modules'))) visit(path.join(full, 'node_modules'));
      }
    }
  };
  visit(nodeModules);
  return found.sort();
}

/** The package a bare module specifier names ('cdk8s-plus-27/lib/x' -> 'cdk8s-plus-27', '@a/b/c' -> '@a/b'). */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

const sha256 = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

let tmp: string;
let tarball: string;
let unpacked: string;

beforeAll(() => {
  if (!fs.existsSync(path.join(root, '.jsii'))) {
    throw new Error('no .jsii assembly: run `npm run build` first (`npm test` does)');
  }
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'package-'));
  const [packed] = JSON.parse(npm(root, ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp]));
  tarball = path.join(tmp, packed.filename);
  fs.mkdirSync(path.join(tmp, 'unpacked'));
  run('tar', ['-xzf', tarball, '-C', path.join(tmp, 'unpacked')], tmp);
  unpacked = path.join(tmp, 'unpacked', 'package'); // npm tarballs hold everything under package/
}, 30_000);

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('the tarball holds the compiled library, the jsii assembly, README, LICENSE and package.json, and nothing else', () => {
  // One .js and one .d.ts for each TypeScript source of the library and of imports/.
  const compiled = ['lib', 'imports'].flatMap((dir) => listFiles(path.join(root, dir))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .flatMap((f) => [`build/${dir}/${f.replace(/\.ts$/, '.js')}`, `build/${dir}/${f.replace(/\.ts$/, '.d.ts')}`]));
  expect(compiled).toContain('build/imports/k8s.js');

  expect(listFiles(unpacked)).toEqual([...compiled, '.jsii', 'LICENSE', 'README.md', 'package.json'].sort());
});

test('the packaged package.json: cdk8s, cdk8s-plus-27 and constructs are peer dependencies, and there is no other dependency', () => {
  const packaged = JSON.parse(fs.readFileSync(path.join(unpacked, 'package.json'), 'utf-8'));
  expect(Object.keys(packaged.peerDependencies ?? {}).sort()).toEqual(PEERS);
  expect(packaged.dependencies ?? {}).toEqual({});
  expect(packaged.optionalDependencies ?? {}).toEqual({});
  expect(packaged.bundleDependencies ?? packaged.bundledDependencies ?? []).toEqual([]);
  // main and types point into the tarball.
  expect(fs.existsSync(path.join(unpacked, packaged.main))).toBe(true);
  expect(fs.existsSync(path.join(unpacked, packaged.types))).toBe(true);
});

test('the compiled library and its type declarations import nothing but the peer dependencies and Node builtins', () => {
  const imported = new Set<string>();
  for (const file of listFiles(unpacked).filter((f) => f.endsWith('.js') || f.endsWith('.d.ts'))) {
    const text = fs.readFileSync(path.join(unpacked, file), 'utf-8');
    for (const m of text.matchAll(/\b(?:require|import)\(\s*(['"])([^'"]+)\1\s*\)|\bfrom\s+(['"])([^'"]+)\3/g)) {
      const specifier = m[2] ?? m[4];
      if (!specifier.startsWith('.')) imported.add(packageOf(specifier));
    }
  }
  const builtins = new Set(builtinModules);
  const foreign = [...imported].filter((name) => !PEERS.includes(name) && !builtins.has(name.replace(/^node:/, '')));
  expect(foreign).toEqual([]);
  // The scan does see the imports: the library uses each of its peers (drop a peer it stops using).
  expect([...imported].filter((n) => !builtins.has(n.replace(/^node:/, ''))).sort()).toEqual(PEERS);
});

test('installed offline into a new cdk8s app, the package loads from plain JavaScript and synthesizes a StatefulSet and its headless Service', () => {
  // GIVEN a throw-away app whose node_modules holds copies of the peer dependencies, as
  // the app's own install would, and the tarball installed with an empty npm cache and no
  // registry: any dependency the package declares beyond these fails the install.
  const app = path.join(tmp, 'app');
  fs.mkdirSync(path.join(app, 'node_modules'), { recursive: true });
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'consumer-app', version: '0.0.0', private: true }));
  for (const peer of PEERS) {
    fs.cpSync(path.join(root, 'node_modules', peer), path.join(app, 'node_modules', peer), { recursive: true });
  }
  npm(app, ['install', tarball, '--no-save', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', '--cache', path.join(tmp, 'empty-npm-cache')]);

  fs.writeFileSync(path.join(app, 'synth.js'), `
    const { App, Chart, Size } = require('cdk8s');
    const { PostgresStatefulSet, PostgresCredentials } = require('cdk8s-postgres-statefulset');

    const app = new App({ outdir: process.argv[2] });
    const chart = new Chart(app, 'shop', { namespace: 'shop' });
    const db = new PostgresStatefulSet(chart, 'Orders', {
      statefulSetName: 'orders-db',
      serviceName: 'orders-db-svc',
      replicas: 2,
      storage: Size.gibibytes(5),
      credentials: PostgresCredentials.fromPassword('packaged-test-password'),
      replicationCredentials: PostgresCredentials.fromPassword('packaged-replication-password'),
    });
    app.synth();

    // The package roots of every cdk8s and constructs module this process loaded.
    const loaded = Object.keys(require.cache)
      .map((file) => /^(.*[\\\\/]node_modules[\\\\/](?:cdk8s|constructs))[\\\\/]/.exec(file)?.[1])
      .filter(Boolean);
    console.log(JSON.stringify({ serviceDnsName: db.serviceDnsName, loaded: [...new Set(loaded)].sort() }));
  `);

  // WHEN the app synthesizes with node alone
  const outdir = path.join(tmp, 'app-dist');
  const printed = JSON.parse(run('node', ['synth.js', outdir], app));

  // THEN the app has exactly one copy of each peer, the one it installed, and nothing more
  expect(installedPackages(path.join(app, 'node_modules')).filter((p) => /(^|\/)(cdk8s|constructs)$/.test(p)))
    .toEqual(['node_modules/cdk8s', 'node_modules/constructs']);
  expect(printed.loaded).toEqual([path.join(app, 'node_modules', 'cdk8s'), path.join(app, 'node_modules', 'constructs')]);
  expect(fs.readdirSync(path.join(app, 'node_modules')).filter((f) => !f.startsWith('.')).sort())
    .toEqual([...PEERS, pkg.name].sort());
  expect(fs.existsSync(path.join(app, 'node_modules', pkg.name, 'node_modules'))).toBe(false);

  // AND the manifest holds the StatefulSet, its headless Service and the Secret, wired together
  expect(fs.readdirSync(outdir)).toEqual(['shop.k8s.yaml']);
  const manifest = parseAllDocuments(fs.readFileSync(path.join(outdir, 'shop.k8s.yaml'), 'utf-8')).map((d) => d.toJS());
  const sts = oneOfKind(manifest, 'StatefulSet', 'orders-db');
  const svc = oneOfKind(manifest, 'Service', 'orders-db-svc');
  expect(sts.metadata.namespace).toBe('shop');
  expect(sts.spec.serviceName).toBe('orders-db-svc');
  expect(sts.spec.replicas).toBe(2);
  expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('5Gi');
  expect(svc.metadata.namespace).toBe('shop');
  expect(svc.spec.clusterIP).toBe('None');
  expect(svc.spec.ports).toContainEqual(expect.objectContaining({ port: 5432 }));
  expect(svc.spec.selector).toEqual(sts.spec.selector.matchLabels);
  const passwordRef = sts.spec.template.spec.containers[0].env.find((e: any) => e.name === 'POSTGRES_PASSWORD').valueFrom.secretKeyRef;
  expect(oneOfKind(manifest, 'Secret', passwordRef.name).stringData).toEqual({
    [passwordRef.key]: 'packaged-test-password',
    POSTGRES_REPLICATION_PASSWORD: 'packaged-replication-password',
  });
  expect(printed.serviceDnsName).toBe('orders-db-svc.shop.svc.cluster.local');
}, 30_000);

test('the JavaScript package that jsii-pacmak wrote (`npm run package:js`) is this same tarball', () => {
  const jsPackage = path.join(root, pkg.jsii.outdir, 'js', `${pkg.name}@${pkg.version}.jsii.tgz`);
  if (!fs.existsSync(jsPackage)) {
    throw new Error(`${path.relative(root, jsPackage)} is missing: run \`npm run package:js\` (\`npm test\` does)`);
  }
  if (sha256(jsPackage) !== sha256(tarball)) {
    throw new Error(`${path.relative(root, jsPackage)} differs from what npm pack produces now: run \`npm run package:js\` (\`npm test\` does)`);
  }
});

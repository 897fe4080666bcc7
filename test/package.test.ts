// The npm package as a consumer receives it, both ways the README gives:
//   - `npm pack` of this repository, installed offline into a throw-away cdk8s app that requires
//     it from plain JavaScript, synthesizes, and runs `cdk8s synth` with the validation entry and
//     the synth.js script of the README;
//   - `npm install git+file://...` of this working tree, offline from the npm cache that `npm ci`
//     filled: npm clones it, installs its devDependencies (the build's; the tools are in tools/),
//     runs `prepare` (the jsii build), packs and installs it. That takes about 15 s of CPU, so it
//     starts first, in the background, and its test awaits it last;
//   - the tarball installed by npm into a TypeScript app made as `cdk8s init typescript-app`
//     makes it (cdk8s-plus-33, the cdk8s and constructs its template asks for), from the same
//     npm cache: npm adds cdk8s-plus-27, the library's peer. The README's examples are its code,
//     for cdk8s-plus-33 and for cdk8s-plus-27; tsc type-checks them with the template's
//     tsconfig.json, and node synthesizes them. It also installs in the background.
// Relies on the jsii build that `npm test` runs before jest (`npm run build`); the packing itself
// runs with --ignore-scripts so that it does not build a second time.
import { execFileSync, spawn } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import { builtinModules } from 'module';
import * as os from 'os';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import { StrictSchema } from '../validation/strict-schema';
import { allOfKind, oneOfKind } from './util';

const root = path.resolve(__dirname, '..');
/** The repository's tools (cdk8s-cli among them): scripts/tools.js. */
const TOOLS = path.join(root, 'tools');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf-8'));
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf-8');

/** The only packages the library (build/) may load at run time, besides Node's builtins. */
const PEERS = ['cdk8s', 'cdk8s-plus-27', 'constructs'];
/** The validation plugin's one dependency, bundled in the tarball with its own dependencies. */
const BUNDLED = ['ajv'];
const BUNDLED_CLOSURE = ['ajv', 'fast-deep-equal', 'fast-uri', 'json-schema-traverse', 'require-from-string'];

/** The environment of a person's shell: without the npm_* variables of the `npm test` that runs jest, and without GIT_*. */
const shellEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(npm_|GIT_)/i.test(name)));

/** Runs a command and returns its stdout; throws with its output when it fails. */
function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = shellEnv): string {
  try {
    return execFileSync(command, args, { cwd, env, encoding: 'utf-8', stdio: 'pipe' });
  } catch (e: any) {
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${e.stdout}\n${e.stderr}`);
  }
}

/** Runs a command, whatever its exit status, and returns its status and output. */
function runAsync(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = shellEnv) {
  return new Promise<{ status: number | null; output: string }>((resolve) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => { output += chunk; });
    child.stderr.on('data', (chunk) => { output += chunk; });
    child.on('error', (error) => resolve({ status: null, output: `${output}\n${error}` }));
    child.on('close', (status) => resolve({ status, output }));
  });
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
        if (!entry.isSymbolicLink() && fs.existsSync(path.join(full, 'node_modules'))) visit(path.join(full, 'node_modules'));
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

/** The packages that the .js and .d.ts files of the listed files import or require. */
function importedPackages(dir: string, files: string[]): string[] {
  const imported = new Set<string>();
  for (const file of files.filter((f) => f.endsWith('.js') || f.endsWith('.d.ts'))) {
    const text = fs.readFileSync(path.join(dir, file), 'utf-8');
    for (const m of text.matchAll(/\b(?:require|import)\(\s*(['"])([^'"]+)\1\s*\)|\bfrom\s+(['"])([^'"]+)\3/g)) {
      const specifier = m[2] ?? m[4];
      if (!specifier.startsWith('.')) imported.add(packageOf(specifier));
    }
  }
  return [...imported].sort();
}

const builtins = new Set(builtinModules);
const isBuiltin = (name: string) => builtins.has(name.replace(/^node:/, ''));

/** The one fenced block of README.md in `language` that contains `marker`. */
function readmeBlock(language: string, marker: string): string {
  const blocks = [...readme.matchAll(/^( *)```(\w*)\n([\s\S]*?)^\1```$/gm)]
    .filter((m) => m[2] === language && m[3].includes(marker))
    .map((m) => m[3].split('\n').map((line) => line.slice(m[1].length)).join('\n'));
  if (blocks.length !== 1) {
    throw new Error(`README.md should have exactly one \`\`\`${language} block with ${JSON.stringify(marker)}, has ${blocks.length}`);
  }
  return blocks[0];
}

/** A new cdk8s app directory whose node_modules holds copies of the peers, as the app's own install would. */
function newApp(dir: string, packageJson: object = {}): string {
  fs.mkdirSync(path.join(dir, 'node_modules'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer-app', version: '0.0.0', private: true, ...packageJson }));
  for (const peer of PEERS) {
    fs.cpSync(path.join(root, 'node_modules', peer), path.join(dir, 'node_modules', peer), { recursive: true });
  }
  return dir;
}

const sha256 = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/**
 * The npm cache of the installs: npm clones a git dependency and installs its devDependencies
 * (about 280 MB of small files) under <cache>/_cacache/tmp, then deletes them: on this disk that
 * costs some 15 s of system time. So the installs get a cache directory of their own, under tmp
 * (in memory when /dev/shm exists), whose index and content are links to the npm cache that
 * `npm ci` filled.
 */
function sharedCache(tmp: string): string {
  const cache = path.join(tmp, 'npm-cache');
  if (fs.existsSync(cache)) {
    return cache;
  }
  const userCache = process.env.npm_config_cache || run('npm', ['config', 'get', 'cache'], root).trim();
  fs.mkdirSync(path.join(cache, '_cacache'), { recursive: true });
  for (const part of ['index-v5', 'content-v2']) {
    if (!fs.existsSync(path.join(userCache, '_cacache', part))) {
      throw new Error(`the npm cache ${userCache} has no ${part}: run \`npm ci\` first, which fills it`);
    }
    fs.symlinkSync(path.join(userCache, '_cacache', part), path.join(cache, '_cacache', part));
  }
  return cache;
}

/**
 * An npm cache for an install that may go to the registry (`--prefer-offline`): the content of
 * the shared cache (content-addressed: written once, by rename, never changed), and a copy of its
 * index. npm rewrites the index entries of what it fetches (and drops older ones), and the git
 * install, running at the same time with `--offline`, must find the entries `npm ci` left.
 */
function ownIndexCache(tmp: string): string {
  const shared = path.join(sharedCache(tmp), '_cacache');
  const cache = path.join(tmp, 'npm-cache-own-index');
  fs.mkdirSync(path.join(cache, '_cacache'), { recursive: true });
  fs.symlinkSync(fs.realpathSync(path.join(shared, 'content-v2')), path.join(cache, '_cacache', 'content-v2'));
  fs.cpSync(fs.realpathSync(path.join(shared, 'index-v5')), path.join(cache, '_cacache', 'index-v5'), { recursive: true });
  return cache;
}

/**
 * The package.json of `cdk8s init typescript-app` with this repository's cdk8s-cli: its template,
 * with the versions init writes there (those of the cdk8s and cdk8s-plus-33 that cdk8s-cli
 * resolves, and cdk8s-cli's own constructs range; lib/cli/cmds/init.js).
 */
function templatePackageJson(): any {
  const cli = path.dirname(require.resolve('cdk8s-cli/package.json', { paths: [TOOLS] }));
  const versionOf = (name: string) => JSON.parse(fs.readFileSync(require.resolve(`${name}/package.json`, { paths: [cli] }), 'utf-8')).version;
  const cliPackage = JSON.parse(fs.readFileSync(path.join(cli, 'package.json'), 'utf-8'));
  const values: { [placeholder: string]: string } = {
    '{{ $base }}': 'my-app',
    '{{ cdk8s_core_version }}': versionOf('cdk8s'),
    '{{ cdk8s_plus_version }}': versionOf('cdk8s-plus-33'),
    '{{ constructs_version }}': cliPackage.dependencies.constructs.replace('^', ''),
    '{{ cdk8s_cli_spec }}': `^${cliPackage.version}`,
  };
  const text = Object.entries(values).reduce((t, [placeholder, value]) => t.split(placeholder).join(value),
    fs.readFileSync(path.join(cli, 'templates', 'typescript-app', 'package.json'), 'utf-8'));
  if (text.includes('{{')) {
    throw new Error(`cdk8s-cli's typescript-app template has a placeholder this test does not fill:\n${text}`);
  }
  return JSON.parse(text);
}

/**
 * An app made as `cdk8s init typescript-app` makes it, with the tarball installed by npm from the
 * shared cache's content (`--prefer-offline`: the registry only for what the cache lacks). Its
 * devDependencies (jest, ts-node, cdk8s-cli, ...) are left out: the test type-checks with this
 * repository's TypeScript (the template's 5.9) and runs the apps with node. `--omit=optional`
 * leaves out `backport`, an optional dependency of cdk8s-plus-27 2.9.5 (about 190 packages).
 */
async function installTemplateApp(tmp: string, tarball: string) {
  const app = path.join(tmp, 'template-app');
  fs.mkdirSync(app);
  const template = templatePackageJson();
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ ...template, devDependencies: {} }, undefined, 2));
  const cli = path.dirname(require.resolve('cdk8s-cli/package.json', { paths: [TOOLS] }));
  fs.copyFileSync(path.join(cli, 'templates', 'typescript-app', 'tsconfig.json'), path.join(app, 'tsconfig.json'));
  const started = Date.now();
  const result = await runAsync('npm', ['install', tarball, '--prefer-offline', '--omit=optional', '--no-audit', '--no-fund', '--cache', ownIndexCache(tmp)], app);
  return { app, template, seconds: (Date.now() - started) / 1000, ...result };
}

/**
 * Installs this working tree from git, as `npm install git+file://...`: tracked and untracked
 * files that git does not ignore, as they are now, committed into a throw-away repository.
 */
async function installFromGit(tmp: string) {
  const source = path.join(tmp, 'git-source');
  const files = run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], root)
    .split('\0')
    .filter((f) => f !== '' && fs.existsSync(path.join(root, f)));
  for (const file of files) {
    fs.mkdirSync(path.dirname(path.join(source, file)), { recursive: true });
    fs.copyFileSync(path.join(root, file), path.join(source, file));
  }
  const git = ['-c', 'user.name=package test', '-c', 'user.email=package-test@example.invalid', '-c', 'commit.gpgsign=false', '-c', 'core.hooksPath=/dev/null'];
  run('git', ['init', '--quiet'], source);
  run('git', [...git, 'add', '--all'], source);
  run('git', [...git, 'commit', '--quiet', '--message', 'the working tree under test'], source);

  const cache = sharedCache(tmp);

  // allowScripts as the README says (npm 11 warns about an unreviewed prepare without it)
  const app = newApp(path.join(tmp, 'git-app'), { allowScripts: { [`git+file://${source}`]: true } });
  const started = Date.now();
  const result = await runAsync('npm', ['install', `git+file://${source}`, '--no-save', '--offline', '--no-audit', '--no-fund', '--cache', cache], app);
  return { app, seconds: (Date.now() - started) / 1000, ...result };
}

let tmp: string;
let tarball: string;
let unpacked: string;
let fromGit: ReturnType<typeof installFromGit>;
let fromTemplate: ReturnType<typeof installTemplateApp>;

beforeAll(() => {
  if (!fs.existsSync(path.join(root, '.jsii'))) {
    throw new Error('no .jsii assembly: run `npm run build` first (`npm test` does)');
  }
  tmp = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'package-'));
  fromGit = installFromGit(tmp);
  fromGit.catch(() => undefined); // awaited by its test
  const [packed] = JSON.parse(run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], root));
  tarball = path.join(tmp, packed.filename);
  fs.mkdirSync(path.join(tmp, 'unpacked'));
  run('tar', ['-xzf', tarball, '-C', path.join(tmp, 'unpacked')], tmp);
  unpacked = path.join(tmp, 'unpacked', 'package'); // npm tarballs hold everything under package/
  fromTemplate = installTemplateApp(tmp, tarball);
  fromTemplate.catch(() => undefined); // awaited by its tests
}, 30_000);

afterAll(async () => {
  await fromGit?.catch(() => undefined); // never delete the directories under a running npm
  await fromTemplate?.catch(() => undefined);
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
}, 120_000);

describe('the tarball (npm pack)', () => {
  test('holds the compiled library, the jsii assembly, the validation plugin with its schema, README, LICENSE and package.json, and the bundled ajv', () => {
    // One .js and one .d.ts for each TypeScript source of the library and of imports/.
    const compiled = ['lib', 'imports'].flatMap((dir) => listFiles(path.join(root, dir))
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
      .flatMap((f) => [`build/${dir}/${f.replace(/\.ts$/, '.js')}`, `build/${dir}/${f.replace(/\.ts$/, '.d.ts')}`]));
    expect(compiled).toContain('build/imports/k8s.js');
    const validation = ['validation/index.js', 'validation/strict-schema.js', 'validation/strict-schema.d.ts', 'validation/crd-schemas.js',
      'validation/crds/cert-manager.io_certificates.yaml', 'validation/k8s-schema/v1.27.0/_definitions.json'];

    const files = listFiles(unpacked);
    expect(files.filter((f) => !f.startsWith('node_modules/')))
      .toEqual([...compiled, ...validation, '.jsii', 'LICENSE', 'README.md', 'package.json'].sort());
    // The schema is the repository's copy, byte for byte.
    expect(sha256(path.join(unpacked, 'validation/k8s-schema/v1.27.0/_definitions.json')))
      .toBe(sha256(path.join(root, 'validation/k8s-schema/v1.27.0/_definitions.json')));
    // Bundled: ajv and the packages it depends on, nothing else.
    expect([...new Set(files.filter((f) => f.startsWith('node_modules/')).map((f) => packageOf(f.split('/').slice(1).join('/'))))].sort())
      .toEqual(BUNDLED_CLOSURE);
  });

  test('package.json: cdk8s, cdk8s-plus-27 and constructs are peer dependencies; the one dependency, ajv, is bundled', () => {
    const packaged = JSON.parse(fs.readFileSync(path.join(unpacked, 'package.json'), 'utf-8'));
    expect(Object.keys(packaged.peerDependencies ?? {}).sort()).toEqual(PEERS);
    expect(Object.keys(packaged.dependencies ?? {})).toEqual(BUNDLED);
    expect(packaged.bundleDependencies ?? packaged.bundledDependencies).toEqual(BUNDLED);
    expect(packaged.optionalDependencies ?? {}).toEqual({});
    // The bundled ajv is the version the repository tests with.
    expect(JSON.parse(fs.readFileSync(path.join(unpacked, 'node_modules/ajv/package.json'), 'utf-8')).version)
      .toBe(JSON.parse(fs.readFileSync(path.join(root, 'node_modules/ajv/package.json'), 'utf-8')).version);
    // main and types point into the tarball.
    expect(fs.existsSync(path.join(unpacked, packaged.main))).toBe(true);
    expect(fs.existsSync(path.join(unpacked, packaged.types))).toBe(true);
  });

  test('the library imports nothing but its peers and Node builtins; the validation plugin nothing but ajv and Node builtins', () => {
    const files = listFiles(unpacked);
    const library = importedPackages(unpacked, files.filter((f) => f.startsWith('build/')));
    // The scan does see the imports: the library uses each of its peers (drop a peer it stops using).
    expect(library.filter((name) => !isBuiltin(name))).toEqual(PEERS);
    const validation = importedPackages(unpacked, files.filter((f) => f.startsWith('validation/')));
    expect(validation.filter((name) => !isBuiltin(name))).toEqual(BUNDLED);
  });

  test('the JavaScript package that jsii-pacmak wrote (`npm run package:js`) is this same tarball', () => {
    const jsPackage = path.join(root, pkg.jsii.outdir, 'js', `${pkg.name}@${pkg.version}.jsii.tgz`);
    if (!fs.existsSync(jsPackage)) {
      throw new Error(`${path.relative(root, jsPackage)} is missing: run \`npm run package:js\` (\`npm test\` does)`);
    }
    if (sha256(jsPackage) !== sha256(tarball)) {
      throw new Error(`${path.relative(root, jsPackage)} differs from what npm pack produces now: run \`npm run package:js\` (\`npm test\` does)`);
    }
  });
});

describe('a cdk8s app with the tarball installed', () => {
  let app: string;
  const outdir = () => path.join(app, 'dist');

  beforeAll(() => {
    // GIVEN a throw-away app with the peers, the tarball installed with an empty npm cache and
    // no registry (any dependency the package needs beyond the peers and what it bundles fails
    // the install), the README's validation entry in its cdk8s.yaml and its synth.js script.
    app = newApp(path.join(tmp, 'app'), { scripts: { synth: 'node synth.js' } });
    run('npm', ['install', tarball, '--no-save', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', '--cache', path.join(tmp, 'empty-npm-cache')], app);
    // cdk8s-cli, the app's devDependency (a link to the copy in this repository's tools/, to save copying its 150 packages)
    fs.symlinkSync(path.join(TOOLS, 'node_modules', 'cdk8s-cli'), path.join(app, 'node_modules', 'cdk8s-cli'));

    fs.writeFileSync(path.join(app, 'cdk8s.yaml'), `language: typescript\napp: node main.js\n${readmeBlock('yaml', 'class: StrictKubernetesSchema')}`);
    fs.writeFileSync(path.join(app, 'synth.js'), readmeBlock('js', 'synth.js'));
    // The app: valid by default; MAKE_IT=unknown-field adds an object the schema rejects,
    // MAKE_IT=invalid-props gives invalid props. It ends as the README says.
    fs.writeFileSync(path.join(app, 'main.js'), `
      const { ApiObject, App, Chart, Size } = require('cdk8s');
      const { PostgresStatefulSet, PostgresCredentials, PostgresSynth } = require('cdk8s-postgres-statefulset');

      const app = new App();
      const chart = new Chart(app, 'shop', { namespace: 'shop' });
      const db = new PostgresStatefulSet(chart, 'Orders', {
        statefulSetName: 'orders-db',
        serviceName: 'orders-db-svc',
        replicas: process.env.MAKE_IT === 'invalid-props' ? 0 : 2,
        image: process.env.MAKE_IT === 'invalid-props' ? 'postgres:latest' : undefined,
        storage: Size.gibibytes(5),
        credentials: PostgresCredentials.fromPassword('packaged-test-password'),
        replicationCredentials: PostgresCredentials.fromPassword('packaged-replication-password'),
      });
      if (process.env.MAKE_IT === 'unknown-field') {
        new ApiObject(chart, 'Hand', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'hand-written' }, spec: { clusterIp: 'None' } });
      }

      // As the README says: the problems without a stack trace, or the manifests
      if (PostgresSynth.synthOrReport(app)) {
        // The package roots of every cdk8s and constructs module this process loaded.
        const loaded = Object.keys(require.cache)
          .map((file) => /^(.*[\\\\/]node_modules[\\\\/](?:cdk8s|constructs))[\\\\/]/.exec(file)?.[1])
          .filter(Boolean);
        console.log(JSON.stringify({ serviceDnsName: db.serviceDnsName, loaded: [...new Set(loaded)].sort() }));
      }
    `);
  }, 30_000);

  test('README: main.ts ends as this app does', () => {
    expect(readme).toContain('\nPostgresSynth.synthOrReport(app);');
    expect(readme).toContain('"synth": "node synth.js"');
  });

  test('the package loads from plain JavaScript, with one copy of each peer, and synthesizes a StatefulSet and its headless Service', () => {
    // WHEN the app synthesizes with node alone (no cdk8s-cli, no schema validation)
    const printed = JSON.parse(run('node', ['main.js'], app, { ...shellEnv, CDK8S_OUTDIR: outdir() }));

    // THEN the app has exactly one copy of each peer, the one it installed, and nothing more
    expect(installedPackages(path.join(app, 'node_modules')).filter((p) => /(^|\/)(cdk8s|constructs)$/.test(p)))
      .toEqual(['node_modules/cdk8s', 'node_modules/constructs']);
    expect(printed.loaded).toEqual([path.join(app, 'node_modules', 'cdk8s'), path.join(app, 'node_modules', 'constructs')]);
    expect(fs.readdirSync(path.join(app, 'node_modules')).filter((f) => !f.startsWith('.')).sort())
      .toEqual([...PEERS, 'cdk8s-cli', pkg.name].sort());
    // AND the bundled ajv stays inside the package
    expect(fs.readdirSync(path.join(app, 'node_modules', pkg.name, 'node_modules')).filter((f) => !f.startsWith('.')).sort())
      .toEqual(BUNDLED_CLOSURE);

    // AND the manifest holds the StatefulSet, its headless Service and the Secret, wired together
    expect(fs.readdirSync(outdir())).toEqual(['shop.k8s.yaml']);
    const manifest = parseAllDocuments(fs.readFileSync(path.join(outdir(), 'shop.k8s.yaml'), 'utf-8')).map((d) => d.toJS());
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
  });

  // `npm run synth` is `node synth.js` (checked above); run without npm's start-up.
  test('`npm run synth` (the README\'s synth.js) with the README\'s validation entry: a valid app is synthesized and passes the schema check', async () => {
    const { status, output } = await runAsync('node', ['synth.js'], app);
    expect(output).toContain(`Validation Report (${path.join(app, 'node_modules', pkg.name, 'validation')}@0.1.0)`);
    expect(output).toContain('Validations ended succesfully');
    expect(status).toBe(0);
    // cdk8s-cli has the app record construct paths for the report when validations are configured
    expect(listFiles(outdir())).toEqual(['construct-metadata.json', 'shop.k8s.yaml']);
    // every object was checked
    const objects = parseAllDocuments(fs.readFileSync(path.join(outdir(), 'shop.k8s.yaml'), 'utf-8')).length;
    expect(objects).toBeGreaterThan(3);
    expect(output).toMatch(new RegExp(`objects\\s*│\\s*${objects}\\s`));
  }, 30_000);

  test('an object with an unknown field fails `npm run synth` with the plugin\'s report, and no manifest is left', async () => {
    const { status, output } = await runAsync('node', ['synth.js'], app, { ...shellEnv, MAKE_IT: 'unknown-field' });
    expect(output).toContain('Kubernetes 1.27.0 schema (strict)');
    expect(output).toContain('Service "hand-written" does not match the Kubernetes 1.27.0 schema');
    expect(output).toContain('/spec: unknown field "clusterIp"');
    expect(output).toContain('Invalid manifests were deleted from the output directory');
    expect(status).toBe(2);
    expect(listFiles(outdir()).filter((f) => f.endsWith('.yaml'))).toEqual([]);
  }, 30_000);

  test('invalid props: `npm run synth` prints every problem without a stack trace, exits non-zero, and writes nothing', async () => {
    const { status, output } = await runAsync('node', ['synth.js'], app, { ...shellEnv, MAKE_IT: 'invalid-props' });
    expect(output).toContain('[shop/Orders] PostgresStatefulSet: replicas must be a positive integer, got 0. Fix: ');
    expect(output).toContain('[shop/Orders] PostgresStatefulSet: image uses the \'latest\' tag');
    expect(output).toContain('Nothing was written.');
    expect(output).not.toMatch(/^\s+at /m);
    expect(status).toBe(1);
    expect(fs.existsSync(outdir())).toBe(false);
  }, 30_000);
});

describe('a TypeScript app made as `cdk8s init typescript-app` makes it (cdk8s-plus-33), the tarball installed by npm', () => {
  let app: string;
  let template: any;
  let tsc: { status: number | null; output: string };
  /** Runs one of the app's compiled files with node; returns its output and its manifest. */
  const synthesize = async (main: string) => {
    const outdir = path.join(app, `dist-${main}`);
    const result = await runAsync('node', [`${main}.js`], app, { ...shellEnv, CDK8S_OUTDIR: outdir });
    const file = path.join(outdir, 'shop.k8s.yaml');
    const manifest = fs.existsSync(file) ? parseAllDocuments(fs.readFileSync(file, 'utf-8')).map((d) => d.toJS()) : [];
    return { ...result, manifest };
  };

  beforeAll(async () => {
    // GIVEN the app, installed (in the background since the start of this file)
    const installed = await fromTemplate;
    if (installed.status !== 0) {
      throw new Error(`npm install of the tarball into the template app failed (${installed.status}) after ${installed.seconds} s:\n${installed.output}`);
    }
    ({ app, template } = installed);
    // AND its code: the README's examples, for cdk8s-plus-33 and for cdk8s-plus-27
    fs.writeFileSync(path.join(app, 'main.ts'), readmeBlock('typescript', "from 'cdk8s-plus-33'"));
    fs.writeFileSync(path.join(app, 'main27.ts'), readmeBlock('ts', 'orders.connect(reports'));
    // AND props typed with cdk8s-plus-27 given cdk8s-plus-33's values, as the README says they may be
    fs.writeFileSync(path.join(app, 'props33.ts'), `
      import { App, Chart, Size } from 'cdk8s';
      import * as kplus from 'cdk8s-plus-33';
      import { PostgresStatefulSet } from 'cdk8s-postgres-statefulset';

      const chart = new Chart(new App(), 'props');
      const scripts = new kplus.ConfigMap(chart, 'Scripts', { data: { '10-schema.sql': 'CREATE TABLE t (id int);' } });
      new PostgresStatefulSet(chart, 'Db', {
        resources: { cpu: { request: kplus.Cpu.millis(250) }, memory: { request: Size.gibibytes(1), limit: Size.gibibytes(1) } },
        initScripts: scripts,
        imagePullPolicy: kplus.ImagePullPolicy.ALWAYS,
      });
      export const scriptsName = scripts.name;
      export const manifest = chart.toJson();
    `);
    // WHEN tsc compiles them with the template's tsconfig.json (strict, no skipLibCheck)
    tsc = await runAsync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '--project', app], app);
  }, 120_000);

  test('npm adds cdk8s-plus-27, the library\'s peer, next to cdk8s-plus-33, with one copy of cdk8s and of constructs', () => {
    expect(Object.keys(template.dependencies).sort()).toEqual(['cdk8s', 'cdk8s-plus-33', 'constructs']);
    const installed = installedPackages(path.join(app, 'node_modules'));
    expect(installed).toEqual(expect.arrayContaining(['node_modules/cdk8s-plus-27', 'node_modules/cdk8s-plus-33', `node_modules/${pkg.name}`]));
    expect(installed.filter((p) => /(^|\/)(cdk8s|constructs)$/.test(p))).toEqual(['node_modules/cdk8s', 'node_modules/constructs']);
    const version = (name: string) => JSON.parse(fs.readFileSync(path.join(app, 'node_modules', name, 'package.json'), 'utf-8')).version;
    expect(version('cdk8s-plus-27')).toMatch(/^2\./);
    expect(`^${version('cdk8s-plus-33')}`).toBe(template.dependencies['cdk8s-plus-33']);
  });

  test('tsc type-checks the README\'s examples and the props file with the template\'s tsconfig.json', () => {
    expect(tsc.output).toBe('');
    expect(tsc.status).toBe(0);
  });

  test('props typed with cdk8s-plus-27 take cdk8s-plus-33\'s values', async () => {
    const { status, output } = await runAsync('node', ['-e', 'console.log(JSON.stringify(require("./props33.js")))'], app);
    expect(status).toBe(0);
    const { manifest, scriptsName } = JSON.parse(output);
    const spec = oneOfKind(manifest, 'StatefulSet').spec.template.spec;
    const postgres = spec.containers.find((c: any) => c.name === 'postgres');
    expect(postgres.resources.requests.cpu).toBe('250m');
    expect(postgres.imagePullPolicy).toBe('Always');
    expect(JSON.stringify(spec.volumes)).toContain(`"name":"${scriptsName}"`);
  });

  test('cdk8s-plus-33: connect() sets the libpq variables on the Deployment and admits it; the synth lists the Secret to create', async () => {
    const { status, output, manifest } = await synthesize('main');
    expect(status).toBe(0);
    const sts = oneOfKind(manifest, 'StatefulSet');
    const secretName = sts.spec.template.spec.containers[0].env.find((e: any) => e.name === 'POSTGRES_PASSWORD').valueFrom.secretKeyRef.name;
    const api = allOfKind(manifest, 'Deployment')[0];
    expect(api.spec.template.spec.containers[0].env).toEqual([
      { name: 'PGHOST', value: 'orders.shop.svc.cluster.local' },
      { name: 'PGPORT', value: '5432' },
      { name: 'PGDATABASE', value: 'orders' },
      { name: 'PGUSER', value: 'postgres' },
      { name: 'PGPASSWORD', valueFrom: { secretKeyRef: { key: 'POSTGRES_PASSWORD', name: secretName } } },
      { name: 'DATABASE_URL', value: 'postgresql://postgres@orders.shop.svc.cluster.local:5432/orders' },
    ]);
    expect(oneOfKind(manifest, 'NetworkPolicy').spec.ingress).toEqual([
      {
        from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'shop' } }, podSelector: api.spec.selector }],
        ports: [{ port: 5432, protocol: 'TCP' }],
      },
      // a cdk8s-plus-33 selection, as cdk8s-plus renders it
      { from: [{ podSelector: { matchLabels: { app: 'postgres-exporter' } } }], ports: [{ port: 5432, protocol: 'TCP' }] },
    ]);
    expect(api.spec.selector.matchLabels).toEqual(api.spec.template.metadata.labels);
    // every object matches the schema
    const schema = new StrictSchema();
    expect(manifest.flatMap((o) => schema.validate(o).map((p) => `${o.kind}/${o.metadata.name}${p}`))).toEqual([]);
    // what to create before kubectl apply: the Secret the StatefulSet and the Deployment read
    expect(output).toContain(`Create before the first kubectl apply (replace each <...>):\n  Secret ${secretName} in namespace shop, for shop/Orders, shop/Api:\n`);
    expect(output).toContain(`    kubectl -n shop create secret generic ${secretName} --from-literal=POSTGRES_PASSWORD=<superuser-password> `
      + '--from-literal=POSTGRES_REPLICATION_PASSWORD=<replication-password>\n');
  }, 30_000);

  test('cdk8s-plus-27 in the same app: the writer and the reader get their Services, both are admitted', async () => {
    const { status, manifest } = await synthesize('main27');
    expect(status).toBe(0);
    const [api, reports] = ['shop-api', 'shop-reports'].map((prefix) => manifest.find((o) => o.kind === 'Deployment' && o.metadata.name.startsWith(prefix)));
    const env = (d: any) => Object.fromEntries(d.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
    expect(env(api)).toMatchObject({ PGHOST: 'orders-rw.shop.svc.cluster.local', PGUSER: 'postgres' });
    expect(env(reports)).toMatchObject({
      PGHOST: 'orders-ro.shop.svc.cluster.local', PGUSER: 'reporting', PGOPTIONS: '-c default_transaction_read_only=on',
      PGPASSWORD: { secretKeyRef: { key: 'password', name: 'orders-reporting' } },
    });
    const admitted = oneOfKind(manifest, 'NetworkPolicy').spec.ingress.map((r: any) => r.from[0].podSelector.matchLabels);
    expect(admitted).toEqual(expect.arrayContaining([api.spec.selector.matchLabels, reports.spec.selector.matchLabels]));
  }, 30_000);
});

test('installed from a git URL (git+file:// of this working tree, offline): npm runs the build, and the app gets the same files as from the tarball', async () => {
  const { app, seconds, status, output } = await fromGit;
  if (status !== 0) {
    throw new Error(`npm install git+file://... failed (${status}) after ${seconds} s:\n${output}`);
  }
  const installed = path.join(app, 'node_modules', pkg.name);
  // The same files, byte for byte, as the tarball: everything tested on the tarball holds.
  expect(listFiles(installed)).toEqual(listFiles(unpacked));
  const differing = listFiles(unpacked).filter((f) => sha256(path.join(installed, f)) !== sha256(path.join(unpacked, f)));
  expect(differing).toEqual([]);
  // AND it loads
  const loaded = run('node', ['-e', `
    const { App, Chart } = require('cdk8s');
    const { PostgresStatefulSet } = require('${pkg.name}');
    const chart = new Chart(new App(), 'databases', { namespace: 'shop' });
    console.log(new PostgresStatefulSet(chart, 'Orders', { serviceName: 'orders' }).serviceDnsName);
  `], app);
  expect(loaded.trim()).toBe('orders.shop.svc.cluster.local');
}, 180_000);

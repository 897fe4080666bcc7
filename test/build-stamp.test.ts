// scripts/build-stamp.js: `npm test` compiles again exactly when an input changed, or when the
// build's output is not what the last recorded build left.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const script = path.resolve(__dirname, '..', 'scripts', 'build-stamp.js');
let root: string;

/** Runs the script against the throw-away repository; returns its exit status and output. */
function stamp(...args: string[]) {
  const result = spawnSync(process.execPath, [script, ...args], { cwd: root, encoding: 'utf-8', env: { ...process.env, BUILD_STAMP_ROOT: root } });
  return { status: result.status, out: result.stdout.trim() };
}

function put(file: string, content: string) {
  fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
  fs.writeFileSync(path.join(root, file), content);
}

/** What test.sh does around `npm run build`, with `build` standing for it. */
function buildLike(build: () => void) {
  const inputs = stamp('hash').out;
  stamp('clear');
  build();
  stamp('write', inputs);
}

const INPUTS = ['lib/index.ts', 'imports/k8s.ts', 'tsconfig.jsii.json', 'package.json', 'package-lock.json', 'README.md', 'LICENSE',
  'node_modules/jsii/package.json', 'node_modules/typescript/package.json', 'node_modules/cdk8s/package.json'];

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'build-stamp-'));
  INPUTS.forEach((file) => put(file, `${file}\n`));
});

afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

const outputs = () => { put('.jsii', '{}'); put('build/lib/index.js', 'built'); put('build/imports/k8s.js', 'built'); };

test('not up to date without a stamp; up to date after a build; out of date after any input changes, and back when it is undone', () => {
  outputs();
  expect(stamp('check').status).toBe(1);
  buildLike(outputs);
  expect(stamp('check').status).toBe(0);

  for (const file of INPUTS) {
    const before = fs.readFileSync(path.join(root, file), 'utf-8');
    put(file, `${before}changed\n`);
    expect({ file, status: stamp('check').status }).toEqual({ file, status: 1 });
    put(file, before);
    expect({ file, status: stamp('check').status }).toEqual({ file, status: 0 });
  }
  // a new source file, or one renamed, counts too
  put('lib/new.ts', '');
  expect(stamp('check').status).toBe(1);
  fs.rmSync(path.join(root, 'lib/new.ts'));
  fs.renameSync(path.join(root, 'lib/index.ts'), path.join(root, 'lib/main.ts'));
  expect(stamp('check').status).toBe(1);
});

test('an output changed or removed since the build is not up to date, whatever the inputs', () => {
  buildLike(outputs);
  put('build/lib/index.js', 'built from other sources by hand (npm run build), then the sources reverted');
  expect(stamp('check').status).toBe(1);
  buildLike(outputs);
  fs.rmSync(path.join(root, '.jsii'));
  expect(stamp('check').status).toBe(1);
  buildLike(outputs);
  fs.rmSync(path.join(root, 'build/imports'), { recursive: true });
  expect(stamp('check').status).toBe(1);
});

test('a failed build leaves no stamp: the next check builds again, even with the inputs of the last good build', () => {
  buildLike(outputs);
  const inputs = stamp('hash').out;
  stamp('clear');
  outputs(); // jsii wrote its output, then failed: test.sh stops before `write`
  expect(stamp('check').status).toBe(1);
  expect(stamp('hash').out).toBe(inputs);
});

test('the hash taken before the build is the one recorded: a file edited while it ran makes it out of date', () => {
  buildLike(() => { outputs(); put('lib/index.ts', 'edited during the build\n'); });
  expect(stamp('check').status).toBe(1);
});

test('refuses a write without a hash', () => {
  expect(stamp('write').status).toBe(2);
  expect(stamp('write', 'not-a-hash').status).toBe(2);
});

// scripts/build-stamp.js: `npm test` builds and packages again exactly when an input changed.
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

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'build-stamp-'));
  for (const file of ['lib/index.ts', 'imports/k8s.ts', 'tsconfig.jsii.json', 'package.json', 'package-lock.json', 'README.md', 'LICENSE', 'validation/index.js']) {
    put(file, `${file}\n`);
  }
  // the build's outputs
  put('.jsii', '{}');
  put('build/lib/index.js', 'built');
});

afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

test('not up to date without a stamp; up to date once written; out of date after any input changes', () => {
  expect(stamp('check', 'build').status).toBe(1);
  expect(stamp('write', 'build').status).toBe(0);
  expect(stamp('check', 'build').status).toBe(0);

  for (const file of ['lib/index.ts', 'imports/k8s.ts', 'tsconfig.jsii.json', 'package.json', 'package-lock.json', 'README.md', 'LICENSE']) {
    const before = fs.readFileSync(path.join(root, file), 'utf-8');
    put(file, `${before}changed\n`);
    expect({ file, status: stamp('check', 'build').status }).toEqual({ file, status: 1 });
    put(file, before);
    expect({ file, status: stamp('check', 'build').status }).toEqual({ file, status: 0 });
  }
  // a new source file, or one renamed, counts too
  put('lib/new.ts', '');
  expect(stamp('check', 'build').status).toBe(1);
  fs.rmSync(path.join(root, 'lib/new.ts'));
  fs.renameSync(path.join(root, 'lib/index.ts'), path.join(root, 'lib/main.ts'));
  expect(stamp('check', 'build').status).toBe(1);
});

test('a missing output is not up to date, whatever the stamp says', () => {
  stamp('write', 'build');
  fs.rmSync(path.join(root, '.jsii'));
  expect(stamp('check', 'build').status).toBe(1);
});

test('the hash taken before the step is the one recorded: a file edited while the step ran makes it out of date', () => {
  const before = stamp('hash', 'build').out;
  put('lib/index.ts', 'edited during the build\n');
  stamp('write', 'build', before);
  expect(stamp('check', 'build').status).toBe(1);
});

test('the package also depends on the build output and on validation/, which the build does not', () => {
  stamp('write', 'build');
  stamp('write', 'package');
  expect(stamp('check', 'package').status).toBe(0);
  put('validation/index.js', 'changed');
  expect(stamp('check', 'package').status).toBe(1);
  expect(stamp('check', 'build').status).toBe(0);
  stamp('write', 'package');
  put('build/lib/index.js', 'built again, differently');
  expect(stamp('check', 'package').status).toBe(1);
});

// The example app runs through scripts/register-ts.js (the `app:` command in cdk8s.yaml):
// TypeScript transpiled by swc and cached on disk. An edited file must never run stale, and
// errors must point at TypeScript lines.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const HOOK = path.join(__dirname, '..', 'scripts', 'register-ts.js');

let dir: string;
let cache: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'register-ts-'));
  cache = path.join(dir, 'cache');
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function run(file: string) {
  const result = spawnSync(process.execPath, ['-r', HOOK, file], {
    cwd: dir,
    encoding: 'utf-8',
    env: { ...process.env, REGISTER_TS_CACHE_DIR: cache },
  });
  return { status: result.status, stdout: result.stdout.trim(), stderr: result.stderr };
}

test('runs TypeScript with imports, and an edited file runs as edited', () => {
  fs.writeFileSync(path.join(dir, 'main.ts'), [
    'import { greeting, Mood } from \'./greeting\';',
    'console.log(greeting(Mood.HAPPY));',
  ].join('\n'));
  const greeting = (word: string) => [
    'export enum Mood { HAPPY = \'happy\' }',
    'interface Options { readonly mood: Mood }',
    `export function greeting(mood: Mood, options: Options = { mood }): string { return \`${word} \${options.mood}\`; }`,
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'greeting.ts'), greeting('hello'));
  expect(run('main.ts')).toMatchObject({ status: 0, stdout: 'hello happy' });
  expect(fs.readdirSync(cache)).toHaveLength(2);
  expect(run('main.ts')).toMatchObject({ status: 0, stdout: 'hello happy' });

  fs.writeFileSync(path.join(dir, 'greeting.ts'), greeting('howdy'));
  expect(run('main.ts')).toMatchObject({ status: 0, stdout: 'howdy happy' });
  expect(fs.readdirSync(cache)).toHaveLength(2); // one entry per source file
});

test('stack traces point at TypeScript lines, also when a dependency throws', () => {
  fs.writeFileSync(path.join(dir, 'fails.ts'), [
    'interface Props {',
    '  readonly name: string;',
    '}',
    '',
    'const props: Props = { name: \'x\' };',
    'throw new Error(`failing on line 6 with ${props.name}`);',
  ].join('\n'));
  const fails = run('fails.ts');
  expect(fails.status).not.toBe(0);
  expect(fails.stderr).toContain(`${path.join(dir, 'fails.ts')}:6:`);

  fs.writeFileSync(path.join(dir, 'duplicate.ts'), [
    `import { App, Chart } from ${JSON.stringify(require.resolve('cdk8s'))};`,
    'interface Props { readonly id: string }',
    '',
    'const props: Props = { id: \'c\' };',
    'const app = new App();',
    'new Chart(app, props.id);',
    'new Chart(app, props.id); // line 7: cdk8s throws',
  ].join('\n'));
  const duplicate = run('duplicate.ts');
  expect(duplicate.status).not.toBe(0);
  expect(duplicate.stderr).toContain('There is already a Construct with name \'c\'');
  expect(duplicate.stderr).toContain(`${path.join(dir, 'duplicate.ts')}:7:`);
});

test('without a writable cache, files are transpiled in memory', () => {
  fs.writeFileSync(path.join(dir, 'file'), '');
  cache = path.join(dir, 'file', 'cache');
  fs.writeFileSync(path.join(dir, 'main.ts'), 'const n: number = 42;\nconsole.log(n);');
  expect(run('main.ts')).toMatchObject({ status: 0, stdout: '42' });
});

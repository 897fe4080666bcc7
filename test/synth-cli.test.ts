// `npm run synth` (cdk8s synth), run as the README says, with the cdk8s.yaml of this repository.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '..');

/**
 * Runs `npm run synth` (the README's command: `cdk8s synth --check-upgrade=false`), or, for the
 * fixture apps, the same CLI without npm's start-up cost.
 */
function cdk8sSynth(outdir: string, ...args: string[]) {
  const [command, prefix] = args.length === 0
    ? ['npm', ['run', '--silent', 'synth', '--']]
    : ['node', [path.join(root, 'node_modules', 'cdk8s-cli', 'bin', 'cdk8s'), 'synth', '--check-upgrade=false']];
  const env: NodeJS.ProcessEnv = { ...process.env, SYNTH_POSTGRES_PASSWORD: '' };
  delete env.CDK8S_CHECK_UPGRADE; // the README's command must turn the check off by itself
  const result = spawnSync(command, [...prefix, '--output', outdir, ...args], { cwd: root, encoding: 'utf-8', env });
  return { status: result.status, output: `${result.stdout}\n${result.stderr}` };
}

function listFiles(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

let outdir: string;
beforeEach(() => {
  outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'synth-'));
});
afterEach(() => {
  fs.rmSync(outdir, { recursive: true, force: true });
});

test('cdk8s synth writes exactly the committed dist/ and validates it against the schema', () => {
  const { status, output } = cdk8sSynth(outdir);
  expect(output).toContain('Validations ended succesfully');
  expect(status).toBe(0);
  // no upgrade check: offline it prints an http error and "A new version undefined ..."
  expect(output).not.toMatch(/new version|http error/);
  expect(listFiles(outdir)).toEqual(listFiles(path.join(root, 'dist')));
  for (const file of listFiles(outdir)) {
    expect(`${file}:\n${fs.readFileSync(path.join(outdir, file), 'utf-8')}`)
      .toEqual(`${file}:\n${fs.readFileSync(path.join(root, 'dist', file), 'utf-8')}`);
  }
}, 60_000);

test('invalid props: cdk8s synth exits non-zero, names every problem, and writes no manifest', () => {
  const { status, output } = cdk8sSynth(outdir, '--app', 'node -r ./scripts/register-ts.js test/fixtures/invalid-props-app.ts');
  expect(status).not.toBe(0);
  expect(output).toContain('[broken/Db] PostgresStatefulSet: replicas must be a positive integer, got 0');
  expect(output).toContain('[broken/Db] PostgresStatefulSet: image uses the \'latest\' tag');
  expect(output).toContain('[broken/Db] PostgresStatefulSet: storage must be larger than zero, got 0Gi');
  expect(fs.existsSync(outdir) ? listFiles(outdir) : []).toEqual([]);
}, 60_000);

test('an object that breaks the schema fails the synth, and its manifest is deleted', () => {
  const { status, output } = cdk8sSynth(outdir, '--app', 'node -r ./scripts/register-ts.js test/fixtures/schema-violation-app.ts');
  expect(status).not.toBe(0);
  expect(output).toContain('/spec: unknown field "clusterIp"');
  expect(output).toContain('Resource Name: hand-written');
  expect(output).toContain('Validation failed');
  expect(listFiles(outdir).filter((f) => f.endsWith('.yaml'))).toEqual([]);
}, 60_000);

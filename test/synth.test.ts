// PostgresSynth: an app's problems without stack traces, or its manifests and prerequisites.
// (Run under cdk8s-cli: synth-cli.test.ts for the example app, package.test.ts for a user's app.)
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ApiObject, App, Chart, Lazy } from 'cdk8s';
import { Construct } from 'constructs';
import { PostgresCredentials, PostgresStatefulSet, PostgresSynth } from '../lib';

let outdir: string;
let stderr: jest.SpyInstance;
const printed = () => stderr.mock.calls.map((args) => args.join(' ')).join('\n');

beforeEach(() => {
  outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'postgres-synth-'));
  stderr = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  process.exitCode = undefined;
});
afterEach(() => {
  stderr.mockRestore();
  process.exitCode = undefined;
  fs.rmSync(outdir, { recursive: true, force: true });
});

test('problemsOf lists the problems of every construct, the library\'s and others\', as [path] problem', () => {
  const app = new App({ outdir });
  const chart = new Chart(app, 'shop');
  new PostgresStatefulSet(chart, 'Orders', { replicas: 0 });
  new Construct(chart, 'Other').node.addValidation({ validate: () => ['something else is wrong'] });
  expect(PostgresSynth.problemsOf(app)).toEqual([
    '[shop/Orders] PostgresStatefulSet: replicas must be a positive integer, got 0. Fix: set replicas to 1 or more',
    '[shop/Other] something else is wrong',
  ]);
  expect(PostgresSynth.problemsOf(new App({ outdir }))).toEqual([]);
});

test('synthOrReport with problems: prints them all without a stack trace, sets the exit code, writes nothing', () => {
  // GIVEN an app with two mistakes
  const app = new App({ outdir: path.join(outdir, 'dist') });
  const chart = new Chart(app, 'shop');
  new PostgresStatefulSet(chart, 'Orders', { replicas: 0, image: 'postgres:latest' });
  // WHEN
  expect(PostgresSynth.synthOrReport(app)).toBe(false);
  // THEN
  expect(process.exitCode).toBe(1);
  expect(printed()).toMatch(/^Validation failed with the following errors:\n {2}\[shop\/Orders\] PostgresStatefulSet: replicas must be a positive integer/);
  expect(printed()).toContain('\n  [shop/Orders] PostgresStatefulSet: image uses the \'latest\' tag');
  expect(printed()).toMatch(/\nNothing was written\.$/);
  expect(printed()).not.toMatch(/^\s+at /m);
  expect(fs.existsSync(path.join(outdir, 'dist'))).toBe(false);
});

test('synthOrReport of a valid app: writes the manifests, then prints what to create before the first apply', () => {
  const app = new App({ outdir });
  const chart = new Chart(app, 'shop', { namespace: 'shop' });
  const db = new PostgresStatefulSet(chart, 'Orders', { secretName: 'orders-credentials' });
  expect(PostgresSynth.synthOrReport(app)).toBe(true);
  expect(process.exitCode).toBeUndefined();
  expect(fs.readdirSync(outdir)).toEqual(['shop.k8s.yaml']);
  expect(printed()).toBe(PostgresSynth.describePrerequisites(db.prerequisites));
  expect(printed()).toContain('kubectl -n shop create secret generic orders-credentials --from-literal=POSTGRES_PASSWORD=<superuser-password>');
});

test('synthOrReport prints nothing when there is nothing to create', () => {
  const app = new App({ outdir });
  new PostgresStatefulSet(new Chart(app, 'shop'), 'Orders', { credentials: PostgresCredentials.fromPassword('rendered-password') });
  expect(PostgresSynth.synthOrReport(app)).toBe(true);
  expect(stderr).not.toHaveBeenCalled();
});

test('any other error is thrown as it is, with its stack trace', () => {
  const app = new App({ outdir });
  const chart = new Chart(app, 'shop');
  new ApiObject(chart, 'Broken', { apiVersion: 'v1', kind: 'ConfigMap', data: Lazy.any({ produce: () => { throw new Error('cannot render'); } }) });
  expect(() => PostgresSynth.synthOrReport(app)).toThrow('cannot render');
  expect(process.exitCode).toBeUndefined();
});

// The validators ajv generates are cached on disk (validation/strict-schema.js). A cached
// validator must answer exactly as a freshly compiled one, and a cache must never outlive a
// change of the schema it was generated from.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Testing } from 'cdk8s';
import { PostgresStatefulSet } from '../lib';
import { StrictSchema } from '../validation/strict-schema';
import { oneOfKind, synth } from './util';

const SCHEMA = path.join(__dirname, '..', 'validation', 'k8s-schema', 'v1.27.0', '_definitions.json');

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'schema-cache-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function manifest(): any[] {
  const chart = Testing.chart();
  new PostgresStatefulSet(chart, 'Db');
  return synth(chart);
}

/** Valid and invalid objects of the kinds the library renders, and of kinds that do not exist. */
function cases(): unknown[] {
  const valid = manifest();
  const sts = () => structuredClone(oneOfKind(valid, 'StatefulSet'));
  const svc = () => structuredClone(oneOfKind(valid, 'Service'));
  const unknownField = sts();
  unknownField.spec.template.spec.containers[0].imagePullPolicyy = 'Always';
  const wrongTypes = sts();
  wrongTypes.spec.replicas = '1';
  wrongTypes.spec.template.spec.containers[0].ports[0].containerPort = 5432.5;
  const missing = sts();
  delete missing.spec.serviceName;
  delete missing.metadata.name;
  const notIntOrString = svc();
  notIntOrString.spec.ports[0].targetPort = true;
  const clusterIp = svc();
  clusterIp.spec.clusterIp = 'None';
  return [
    ...valid, unknownField, wrongTypes, missing, notIntOrString, clusterIp,
    { apiVersion: 'apps/v1beta1', kind: 'StatefulSet', metadata: { name: 'x' } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, stringData: { a: 1 } },
  ];
}

function files(root: string): string[] {
  return fs.readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)).split(path.sep).slice(2).join('/'))
    .sort();
}

test('a cached validator answers exactly as one compiled in memory', () => {
  const objects = cases();
  const expected = objects.map((o) => new StrictSchema('1.27.0', { cacheDirectory: false }).validate(o));
  expect(expected.filter((problems) => problems.length > 0)).toHaveLength(objects.length - manifest().length); // all but the valid ones

  const writing = new StrictSchema('1.27.0', { cacheDirectory: dir });
  expect(objects.map((o) => writing.validate(o))).toEqual(expected);
  expect(files(dir)).toEqual(['index.json', 'io.k8s.api.apps.v1.StatefulSet.js', 'io.k8s.api.core.v1.ConfigMap.js', 'io.k8s.api.core.v1.Secret.js', 'io.k8s.api.core.v1.Service.js']);

  const reading = new StrictSchema('1.27.0', { cacheDirectory: dir });
  expect(objects.map((o) => reading.validate(o))).toEqual(expected);
});

test('the cache is what validates; an unreadable entry is compiled again', () => {
  const sts = oneOfKind(manifest(), 'StatefulSet');
  new StrictSchema('1.27.0', { cacheDirectory: dir }).validate(sts);
  const [entry] = fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.name === 'io.k8s.api.apps.v1.StatefulSet.js')
    .map((e) => path.join(e.parentPath, e.name));

  fs.writeFileSync(entry, 'module.exports = function v() { v.errors = [{ instancePath: "/x", keyword: "x", message: "from the cache", params: {} }]; return false; };');
  expect(new StrictSchema('1.27.0', { cacheDirectory: dir }).validate(sts)).toEqual(['/x: from the cache']);

  fs.writeFileSync(entry, 'this is not JavaScript {');
  expect(new StrictSchema('1.27.0', { cacheDirectory: dir }).validate(sts)).toEqual([]);
  expect(fs.readFileSync(entry, 'utf-8')).toContain('"use strict"');
});

test('a changed schema is compiled afresh, and the validators of the old one are dropped', () => {
  const schemaFile = path.join(dir, '_definitions.json');
  const cacheDirectory = path.join(dir, 'cache');
  const document = JSON.parse(fs.readFileSync(SCHEMA, 'utf-8'));
  fs.writeFileSync(schemaFile, JSON.stringify(document));
  const sts = oneOfKind(manifest(), 'StatefulSet');
  delete sts.spec.serviceName;
  expect(new StrictSchema('1.27.0', { schemaFile, cacheDirectory }).validate(sts)).toEqual(['/spec: missing required field "serviceName"']);
  const [oldKey] = fs.readdirSync(path.join(cacheDirectory, 'v1.27.0'));

  const spec = document.definitions['io.k8s.api.apps.v1.StatefulSetSpec'];
  spec.required = spec.required.filter((field: string) => field !== 'serviceName');
  fs.writeFileSync(schemaFile, JSON.stringify(document));
  expect(new StrictSchema('1.27.0', { schemaFile, cacheDirectory }).validate(sts)).toEqual([]);
  const keys = fs.readdirSync(path.join(cacheDirectory, 'v1.27.0'));
  expect(keys).toHaveLength(1);
  expect(keys[0]).not.toBe(oldKey);
});

test('without a writable cache directory, validators are compiled in memory', () => {
  fs.writeFileSync(path.join(dir, 'file'), '');
  const schema = new StrictSchema('1.27.0', { cacheDirectory: path.join(dir, 'file', 'cache') });
  const sts = oneOfKind(manifest(), 'StatefulSet');
  expect(schema.validate(sts)).toEqual([]);
  sts.spec.replicas = '1';
  expect(schema.validate(sts)).toEqual(['/spec/replicas: must be integer']);
});

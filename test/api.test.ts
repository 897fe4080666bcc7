// The public API as jsii sees it (the .jsii assembly that `npm run build` writes):
// every optional property of every struct documents its default.
import * as fs from 'fs';
import * as path from 'path';

const assembly = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '.jsii'), 'utf-8'));
const types: any[] = Object.values(assembly.types);

test('the assembly exports the constructs of the library', () => {
  expect(types.map((t) => t.name)).toEqual(expect.arrayContaining(['PostgresStatefulSet', 'PostgresStatefulSetProps', 'PostgresCredentials']));
});

test('every optional prop has a @default', () => {
  const missing = types
    .filter((t) => t.kind === 'interface' && t.datatype)
    .flatMap((t) => (t.properties ?? [])
      .filter((p: any) => p.optional && !p.docs?.default)
      .map((p: any) => `${t.name}.${p.name}`));
  expect(missing).toEqual([]);
});

test('every public type and member is documented', () => {
  const undocumented = types.flatMap((t) => [
    ...(t.docs?.summary ? [] : [t.name]),
    ...[...(t.properties ?? []), ...(t.methods ?? [])].filter((m: any) => !m.docs?.summary).map((m: any) => `${t.name}.${m.name}`),
  ]);
  expect(undocumented).toEqual([]);
});

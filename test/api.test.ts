// The public API as jsii sees it (the .jsii assembly that `npm run build` writes):
// every optional property of every struct documents its default, and the committed API.md
// is the reference jsii-docgen generates from it.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '..');
const assembly = JSON.parse(fs.readFileSync(path.join(root, '.jsii'), 'utf-8'));
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

test('API.md is what jsii-docgen generates from the assembly (`npm run docgen` writes it)', () => {
  // GIVEN the reference generated now, the same way `npm run docgen` does, into a temp file
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'docgen-'));
  try {
    execFileSync(path.join(root, 'tools', 'node_modules', '.bin', 'jsii-docgen'), ['--output', path.join(tmp, 'API.md')], {
      cwd: root,
      env: { ...process.env, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION: '20' },
      stdio: 'pipe',
    });
    const generated = fs.readFileSync(path.join(tmp, 'API.md'), 'utf-8').split('\n');
    const committed = fs.existsSync(path.join(root, 'API.md')) ? fs.readFileSync(path.join(root, 'API.md'), 'utf-8').split('\n') : [];

    // THEN the committed API.md is the same, line for line
    const line = generated.findIndex((text, i) => text !== committed[i]);
    const differs = line >= 0 || committed.length !== generated.length;
    if (differs) {
      const at = line >= 0 ? line : generated.length;
      throw new Error(`API.md is out of date: run \`npm run docgen\` and commit API.md. First difference at line ${at + 1}:\n`
        + `  committed: ${JSON.stringify(committed[at] ?? '<end of file>')}\n  generated: ${JSON.stringify(generated[at] ?? '<end of file>')}`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}, 30_000);

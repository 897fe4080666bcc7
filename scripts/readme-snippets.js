// Extracts the ```ts blocks of README.md into build/readme-snippets/ so that `npm run typecheck`
// compiles them against the library (tsconfig.json maps 'cdk8s-postgres-statefulset' to lib/).
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const out = path.join(root, 'build', 'readme-snippets');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf-8');
const blocks = [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]);

fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });
blocks.forEach((code, i) => {
  const line = readme.slice(0, readme.indexOf(code)).split('\n').length;
  fs.writeFileSync(path.join(out, `readme-${String(i + 1).padStart(2, '0')}-line-${line}.ts`),
    `// README.md line ${line}\n${code}export {};\n`);
});
console.log(`readme-snippets: ${blocks.length} TypeScript blocks of README.md written to ${path.relative(root, out)}/`);

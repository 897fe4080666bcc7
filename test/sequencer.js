// The order jest starts test files in. With the durations of an earlier run in jest's cache, jest's
// own order (failed first, then slowest first). Without them (a fresh clone, as in CI), jest
// orders by file size, which puts the real-PostgreSQL files that hold little more than an import
// of their suite (replication-15.pg.test.ts, ...) last, although they are among the slowest:
// the run then ends with one worker busy and the others idle. Here, without durations, the
// package test (npm installs) comes first, then the real-PostgreSQL files, each weighed by its
// own size and that of the suites it imports, then the rest by size.
const fs = require('fs');
const path = require('path');
const Sequencer = require(require('../scripts/tools').resolveTool('@jest/test-sequencer')).default;

const rank = (file) => (/package\.test\.ts$/.test(file) ? 0 : /\.pg\.test\.ts$/.test(file) ? 1 : 2);

/** The file's size plus that of the `./*.suite` files it imports. */
function weight(file) {
  const text = fs.readFileSync(file, 'utf-8');
  let size = text.length;
  for (const m of text.matchAll(/from '\.\/([\w.-]+\.suite)'/g)) {
    const suite = path.join(path.dirname(file), `${m[1]}.ts`);
    if (fs.existsSync(suite)) size += fs.statSync(suite).size;
  }
  return size;
}

class CostFirstSequencer extends Sequencer {
  sort(tests) {
    if (tests.every((test) => this.time(test) !== undefined)) {
      return super.sort(tests);
    }
    const weights = new Map(tests.map((test) => [test.path, weight(test.path)]));
    return [...tests].sort((a, b) => rank(a.path) - rank(b.path) || weights.get(b.path) - weights.get(a.path));
  }
}

module.exports = CostFirstSequencer;

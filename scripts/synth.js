// `npm run synth`: `cdk8s synth --check-upgrade=false [args]` for the example app (cdk8s.yaml),
// run in this process, with two differences:
//
// 1. With SYNTH_POSTGRES_PASSWORD set, the output goes to dist-local/ (ignored by git) unless
//    --output or --stdout is given: dist/ holds the committed manifests, which carry no password.
//    An explicit --output into dist/ with a password is refused before cdk8s-cli empties it.
// 2. When the app exits non-zero, it has printed its problems already (main.ts lists every
//    construct's problems, then exits 1). cdk8s-cli then prints its own error,
//    `command "..." returned a non-zero exit code 1`, with a stack trace of its internals that
//    says nothing about the app; that error is printed here without the trace. Every other
//    error keeps its stack trace.
//
// `cdk8s synth` writes nothing on either failure: it empties the output directory before it
// runs the app, and main.ts validates every construct before it writes a file.
//
// 3. After a successful synth, the change check compares what was written with the dist/ of the
//    last commit (`cdk8s-postgres-statefulset-check --git HEAD:dist <output>`), and prints what
//    `kubectl apply` of it would do to running instances: fields the API server rejects, changes
//    the database ignores, data left behind, majors changed without the upgrade option. The synth
//    exits 1 when it finds something unsafe (the manifests are written all the same, to be
//    reviewed); a missing baseline (no git, no commit) is only reported.
'use strict';
const path = require('path');

const args = process.argv.slice(2);
const password = process.env.SYNTH_POSTGRES_PASSWORD;

/** The value of --output/-o in args (yargs' forms: `--output x`, `--output=x`, `-o x`, `-ox`), or undefined. */
function outputOption() {
  for (let i = 0; i < args.length; i++) {
    const match = /^(?:--output|-o)(?:=(.*))?$/.exec(args[i]) ?? /^-o(.+)$/.exec(args[i]);
    if (match) {
      return match[1] ?? args[i + 1];
    }
  }
  return process.env.CDK8S_OUTPUT;
}

if (password) {
  const output = outputOption();
  const stdout = args.some((a) => /^(?:--stdout|-p)(?:=true)?$/.test(a));
  if (output === undefined && !stdout) {
    args.push('--output', 'dist-local');
  } else if (output !== undefined) {
    const relative = path.relative(path.resolve('dist'), path.resolve(output));
    if (!relative.startsWith('..') && !path.isAbsolute(relative)) {
      console.error(`SYNTH_POSTGRES_PASSWORD is set and --output is ${output}, whose manifests are committed: the password would be written into a tracked file. Nothing was written.\n`
        + 'Fix: leave out --output (the manifests go to dist-local/, which git ignores), or give an ignored directory.');
      process.exit(1);
    }
  }
}

const FAILED_APP = /^command ".*" at .* returned a non-zero exit code \d+$/s;
Error.prepareStackTrace = (error, frames) => {
  const header = (() => {
    try {
      return String(error);
    } catch {
      return '<error>';
    }
  })();
  if (error instanceof Error && FAILED_APP.test(error.message)) {
    return header;
  }
  return [header, ...frames.map((frame) => `    at ${frame}`)].join('\n');
};

process.on('exit', (code) => {
  const stdout = args.some((a) => /^(?:--stdout|-p)(?:=true)?$/.test(a));
  if (code !== 0 || stdout) {
    return;
  }
  const output = outputOption() ?? 'dist';
  const root = path.resolve(__dirname, '..');
  const check = require('child_process').spawnSync(process.execPath,
    ['-r', path.join(root, 'scripts', 'register-ts.js'), path.join(root, 'lib', 'change-check', 'cli.ts'), '--git', 'HEAD:dist', output],
    { stdio: 'inherit' });
  if (check.status === 1) {
    process.exitCode = 1;
  }
});

require('./tools').runCdk8sCli('synth', ['synth', '--check-upgrade=false', ...args]);

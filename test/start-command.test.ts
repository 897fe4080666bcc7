// The PostgreSQL container's command when there are start steps (the data guard, a standby's
// clone, TLS files...), run by sh as the kubelet runs it, with stand-in steps: each runs with the
// container's arguments, a failing step stops the container with its status, and a stop signal
// (SIGTERM, or SIGINT, the official image's stop signal) ends a step that waits at once, instead
// of after the grace period. (The real steps run against real PostgreSQL in the *.pg.test.ts files.)
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Testing } from 'cdk8s';
import { PostgresStatefulSet } from '../lib';

const chart = Testing.chart();
new PostgresStatefulSet(chart, 'Db', { replicas: 2 });
const sts = Testing.synth(chart).find((o) => o.kind === 'StatefulSet');
const container = sts.spec.template.spec.containers.find((c: any) => c.name === 'postgres');
const [shell, flag, script, name] = container.command;

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'start-command-'));
  // the image's entrypoint: prints its arguments
  fs.mkdirSync(path.join(dir, 'bin'));
  fs.writeFileSync(path.join(dir, 'bin', 'docker-entrypoint.sh'), '#!/bin/sh\necho "entrypoint: $*"\n', { mode: 0o755 });
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function step(file: string, body: string): string {
  const full = path.join(dir, file);
  fs.writeFileSync(full, body);
  return full;
}

const env = (steps: string[]) => ({ PATH: `${path.join(dir, 'bin')}:${process.env.PATH}`, POSTGRES_STATEFULSET_START_STEPS: steps.join(':') });

test('the command is sh -c with the text and a name for $0, the container\'s arguments after it', () => {
  expect([shell, flag, name]).toEqual(['sh', '-c', 'postgres-statefulset-start']);
  expect(container.args?.[0] ?? 'postgres').toBe('postgres');
});

test('each step runs with the container\'s arguments, in order, then the entrypoint replaces the shell', () => {
  const steps = [step('one.sh', 'echo "one: $*"\n'), step('two.sh', 'echo "two: $*"\n')];
  const result = spawnSync(shell, [flag, script, name, 'postgres', '-c', 'ssl=on'], { env: env(steps), encoding: 'utf-8' });
  expect(result.stdout).toBe('one: postgres -c ssl=on\ntwo: postgres -c ssl=on\nentrypoint: postgres -c ssl=on\n');
  expect(result.status).toBe(0);
});

test('a stop signal just after a step ended (nothing left to stop) still exits with 143', () => {
  // the trap's kill fails (no such process); under set -e that must not decide the status
  const result = spawnSync(shell, [flag, `${script.split('\n')[0]}\n${script.split('\n')[1]}\nstep_pid=999999999\nkill -TERM $$\nsleep 5`, name],
    { env: env([]), encoding: 'utf-8', timeout: 4000 });
  expect(result.status).toBe(143);
});

test('a failing step stops the container with its status; later steps and the entrypoint do not run', () => {
  const steps = [step('one.sh', 'echo refused >&2; exit 3\n'), step('two.sh', 'echo two\n')];
  const result = spawnSync(shell, [flag, script, name, 'postgres'], { env: env(steps), encoding: 'utf-8' });
  expect(result.stdout).toBe('');
  expect(result.stderr).toBe('refused\n');
  expect(result.status).toBe(3);
});

test.each(['SIGTERM', 'SIGINT'] as const)('%s while a step waits: the step is stopped and the container exits at once', async (signal) => {
  const pidFile = path.join(dir, 'step.pid');
  const steps = [step('wait.sh', `echo $$ > ${pidFile}\nwhile :; do sleep 0.1; done\n`), step('two.sh', 'echo two\n')];
  const child = spawn(shell, [flag, script, name, 'postgres'], { env: env(steps), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  for (let i = 0; i < 100 && !fs.existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 300)); // the step has written its pid; let the shell reach its wait
  const stepPid = Number(fs.readFileSync(pidFile, 'utf-8'));

  try {
    const sent = Date.now();
    child.kill(signal);
    const code = await exited;
    expect(Date.now() - sent).toBeLessThan(2000);
    expect(code).toBe(143);
    expect(output).toBe('');
    // the step is gone too, within a moment (it ends its sleep first): a process left running would hold the container's volumes
    for (let i = 0; i < 40 && running(stepPid); i++) await new Promise((r) => setTimeout(r, 50));
    expect(running(stepPid)).toBe(false);
  } finally {
    if (running(stepPid)) process.kill(stepPid, 'SIGKILL'); // so that a failure here does not leave jest waiting on its output
  }
});

/** Whether a process runs (a zombie, ended and not yet reaped by its new parent, does not). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf-8'));
  } catch {
    return false;
  }
}

// Health checks and shutdown of the PostgreSQL container (internal).
import { Duration } from 'cdk8s';
import { Probe } from './render/manifest';
import { AS_POSTGRES } from './shell';

/** `pg_isready` over TCP on loopback: exits 0 when the server accepts connections. */
export function isReadyCommand(port: number, username: string): string[] {
  return ['pg_isready', '-h', '127.0.0.1', '-p', String(port), '-U', username];
}

/**
 * The three probes. The startup probe checks every second, for up to `startupTimeout`: its
 * budget covers initdb and crash recovery, during which `pg_isready` answers "rejecting
 * connections" and a liveness probe would kill the server in a loop. When it succeeds the kubelet
 * runs the readiness probe at once; readiness then checks every second, so the pod is Ready
 * about a second after PostgreSQL accepts connections on every path (fresh start, restart,
 * standby) and leaves the Services within three seconds of failing; each run is one short exec.
 * The liveness probe passes on "rejecting connections" (exit 1) as well as "accepting" (exit 0):
 * the postmaster answers, and may be in crash recovery after a backend crashed (an out-of-memory
 * kill, say), which can take longer than the probe's minute. It fails on "no response" (2) and
 * "no attempt" (3), when nothing listens.
 */
export function probes(commands: { startup: string[]; readiness: string[]; liveness: string[] }, startupTimeout: Duration) {
  const exec = (cmd: string[]) => ({ exec: { command: cmd }, timeoutSeconds: 5 });
  const startup: Probe = {
    ...exec(commands.startup),
    periodSeconds: 1,
    failureThreshold: Math.max(1, Math.ceil(startupTimeout.toSeconds({ integral: false }))),
  };
  const readiness: Probe = { ...exec(commands.readiness), periodSeconds: 1, failureThreshold: 3 };
  const liveness: Probe = { ...exec(commands.liveness), periodSeconds: 10, failureThreshold: 6 };
  return { startup, readiness, liveness };
}

/**
 * A fast shutdown before the kubelet's SIGTERM, which PostgreSQL reads as a *smart* shutdown
 * that waits for every client to disconnect (images before September 2020 have no
 * `STOPSIGNAL SIGINT`). Fast shutdown disconnects clients, writes a checkpoint and exits cleanly,
 * so the next start needs no crash recovery. It waits at most the grace period less a margin
 * (a tenth, at least a second), so that pg_ctl gives up and says so before the kubelet's SIGKILL.
 */
export function fastShutdownCommand(pgData: string, gracePeriod: Duration, mayRunAsRoot = false): string[] {
  const stop = ['pg_ctl', 'stop', '-D', pgData, '-m', 'fast', '-w', '-t', String(stopTimeoutSeconds(gracePeriod))];
  return mayRunAsRoot ? ['sh', '-c', `${AS_POSTGRES} as_postgres "$@"`, 'pre-stop', ...stop] : stop;
}

/** How long the preStop hook waits for the server to stop: the grace period less a tenth, at least a second less, at least a second. */
export function stopTimeoutSeconds(gracePeriod: Duration): number {
  const grace = gracePeriod.toSeconds({ integral: false });
  return Math.max(1, grace - Math.max(1, Math.ceil(grace / 10)));
}

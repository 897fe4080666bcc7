// How a kubelet sees the PostgreSQL container of a simulated pod (test/pg/pod.ts) start and stop,
// timed: for bench/upgrade.ts and bench/recovery.ts.
//
// Start: the container's command starts (SimulatedPod.boot(): the start steps, then the image's
// entrypoint, then postgres). The kubelet runs the startup probe from the container's start
// (after its initialDelaySeconds) every periodSeconds until it succeeds, then the readiness probe
// at once (the kubelet triggers it when the container is started and not yet ready), then every
// periodSeconds until it succeeds: then the pod is Ready. Both periods come from the manifest,
// so the probes' cadence is part of the numbers. One simplification: a kubelet's probe ticks run
// from when it began to watch the pod, at an arbitrary phase to the container's start; here the
// first tick is the container's start, so a server that accepts connections within a period is
// seen at the second tick, a period after the start (with an arbitrary phase, the wait after
// accepting is anything from nothing to a period).
//
// Times of the server itself come from its log (log_line_prefix's millisecond timestamps, UTC),
// not from when this process noticed them: the probes run synchronously and hold up the event loop.
import { Server } from '../test/pg/harness';
import { SimulatedPod } from '../test/pg/pod';

export interface ProbeTiming {
  readonly periodSeconds: number;
  readonly initialDelaySeconds: number;
}

/** The timing of the PostgreSQL container's startup and readiness probes in a synthesized manifest (Kubernetes' defaults where unset). */
export function probeTimings(objects: any[]): { startup?: ProbeTiming; readiness: ProbeTiming } {
  const container = objects.find((o) => o.kind === 'StatefulSet').spec.template.spec.containers[0];
  const timing = (probe: any): ProbeTiming => ({ periodSeconds: probe.periodSeconds ?? 10, initialDelaySeconds: probe.initialDelaySeconds ?? 0 });
  if (!container.readinessProbe) {
    throw new Error('the PostgreSQL container has no readiness probe');
  }
  return { startup: container.startupProbe ? timing(container.startupProbe) : undefined, readiness: timing(container.readinessProbe) };
}

/** Milliseconds from the container's start. */
export interface StartTimes {
  /** To the postmaster's first log line: the start steps and the entrypoint. */
  readonly postmasterMs: number;
  /** To the server's "ready to accept connections". */
  readonly acceptMs: number;
  /** To the startup probe's first success (the readiness probe's start when there is none). */
  readonly startedMs: number;
  /** To the readiness probe's first success: the pod is Ready. */
  readonly readyMs: number;
  /** Whether the server's times come from this process's polling of its log (its log had no UTC timestamps). */
  readonly polled: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** The time of the last log line matching `message`, from its timestamp (UTC), or undefined. */
function logged(log: string, message: RegExp): number | undefined {
  let at: number | undefined;
  for (const line of log.split('\n')) {
    const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d{3}) (UTC|GMT) \[\d+\] \w+:\s+(.*)$/.exec(line);
    if (m && message.test(m[4])) {
      at = Date.parse(`${m[1]}T${m[2]}Z`);
    }
  }
  return at;
}

/**
 * Starts the pod's container and probes it as the kubelet does until it is Ready; resolves with
 * the running server and the times. Throws when the server exits first or `timeoutMs` passes.
 */
export async function startToReady(pod: SimulatedPod, objects: any[], timeoutMs = 300_000): Promise<{ server: Server; times: StartTimes }> {
  const { startup, readiness } = probeTimings(objects);
  const start = Date.now();
  const deadline = start + timeoutMs;
  let failure: unknown;
  let bootedAt = 0;
  const booting = pod.boot().then((server) => {
    bootedAt = Date.now();
    return server;
  }, (error) => {
    failure = error;
    throw error;
  });
  booting.catch(() => undefined);

  /** Runs `kind` at its period (from `first`) until it succeeds; returns when it succeeded. */
  const until = async (kind: 'startupProbe' | 'readinessProbe', timing: ProbeTiming, first: number): Promise<number> => {
    for (let tick = 0; ; tick++) {
      await sleep(first + tick * timing.periodSeconds * 1000 - Date.now());
      if (failure !== undefined) {
        throw failure;
      }
      if (Date.now() > deadline) {
        throw new Error(`the pod ${pod.name} was not Ready after ${timeoutMs} ms (${kind} failing: ${pod.probe(kind).stdout.trim()})`);
      }
      if (pod.probe(kind).status === 0) {
        return Date.now();
      }
    }
  };
  const started = startup ? await until('startupProbe', startup, start + startup.initialDelaySeconds * 1000) : start;
  const ready = await until('readinessProbe', readiness, Math.max(started, start + readiness.initialDelaySeconds * 1000));
  const server = await booting;
  const accepted = logged(server.log, /^database system is ready to accept (read-only )?connections/);
  const postmaster = logged(server.log, /^starting PostgreSQL/);
  const polled = accepted === undefined || postmaster === undefined;
  return {
    server,
    times: {
      postmasterMs: (postmaster ?? bootedAt) - start,
      acceptMs: (accepted ?? bootedAt) - start,
      startedMs: started - start,
      readyMs: ready - start,
      polled,
    },
  };
}

/** Milliseconds from the preStop hook's start. */
export interface StopTimes {
  /**
   * To the server's "database system is shut down", its last line before the postmaster exits:
   * in a pod the container ends then (and the hook's process with it).
   */
  readonly downMs: number;
  /** To the preStop hook's end: `pg_ctl stop -m fast -w` notices the server gone at its next poll (every 0.1 s). */
  readonly preStopMs: number;
  /** Buffers the shutdown checkpoint (a standby's restartpoint) wrote, from its log line, or undefined. */
  readonly checkpointBuffers?: number;
  /** Whether `downMs` comes from this process's noticing the exit (the log had no UTC timestamps). */
  readonly polled: boolean;
}

/**
 * Deletes the pod as the kubelet does, up to the container's end: the preStop hook (a fast
 * shutdown), then the container's exit (the kubelet's SIGTERM finds it gone).
 */
export async function preStopToExit(pod: SimulatedPod, server: Server): Promise<StopTimes> {
  const start = Date.now();
  const hook = pod.preStop({ timeoutMs: 120_000 });
  const stopped = Date.now();
  if (hook.status !== 0) {
    throw new Error(`the preStop hook of ${pod.name} failed (${hook.status ?? hook.signal}): ${hook.stdout}${hook.stderr}`);
  }
  await server.waitForExit(60_000);
  const down = logged(server.log, /^database system is shut down/);
  const checkpoint = [...server.log.matchAll(/(?:checkpoint|restartpoint) complete: wrote (\d+) buffers/g)].pop();
  return {
    downMs: (down ?? stopped) - start,
    preStopMs: stopped - start,
    checkpointBuffers: checkpoint ? Number(checkpoint[1]) : undefined,
    polled: down === undefined,
  };
}

// Compute resources of the PostgreSQL container (internal).
import { Size, SizeRoundingBehavior } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Problems } from './problems';
import { ResourceRequirements } from './render/manifest';

/**
 * Requests a quarter of a CPU and 1 GiB of memory, and limits memory to the same 1 GiB so that
 * the pod is never the first one evicted under memory pressure. There is no CPU limit: a
 * throttled database holds its locks longer, and requests already share CPU fairly.
 */
export const DEFAULT_RESOURCES: kplus.ContainerResources = {
  cpu: { request: kplus.Cpu.millis(250) },
  memory: { request: Size.gibibytes(1), limit: Size.gibibytes(1) },
};

/** The container's `resources` field. */
export function renderResources(resources: kplus.ContainerResources): ResourceRequirements {
  const requests: { [name: string]: string } = {};
  const limits: { [name: string]: string } = {};
  const put = (target: { [name: string]: string }, name: string, value: string | undefined) => {
    if (value !== undefined) {
      target[name] = value;
    }
  };
  put(requests, 'cpu', resources.cpu?.request?.amount);
  put(requests, 'memory', resources.memory?.request?.asString());
  put(requests, 'ephemeral-storage', resources.ephemeralStorage?.request?.asString());
  put(limits, 'cpu', resources.cpu?.limit?.amount);
  put(limits, 'memory', resources.memory?.limit?.asString());
  put(limits, 'ephemeral-storage', resources.ephemeralStorage?.limit?.asString());
  return {
    requests: Object.keys(requests).length ? requests : undefined,
    limits: Object.keys(limits).length ? limits : undefined,
  };
}

/** CPU in millicores, from the amount of a `kplus.Cpu` (`250m` or `0.5`). */
export function millicores(cpu: kplus.Cpu): number {
  return cpu.amount.endsWith('m') ? Number(cpu.amount.slice(0, -1)) : Number(cpu.amount) * 1000;
}

export function kibibytes(size: Size): number {
  return size.toKibibytes({ rounding: SizeRoundingBehavior.NONE });
}

/** Requests must not exceed limits; /dev/shm (memory-backed) must fit in the memory limit. */
export function checkResources(problems: Problems, resources: kplus.ContainerResources, sharedMemory: Size): void {
  const { cpu, memory, ephemeralStorage } = resources;
  if (cpu?.request && cpu.limit && millicores(cpu.request) > millicores(cpu.limit)) {
    problems.add('resources.cpu.request', cpu.request.amount, `exceeds the CPU limit ${cpu.limit.amount}`, 'request at most the limit, or raise the limit');
  }
  for (const [name, pair] of [['memory', memory], ['ephemeralStorage', ephemeralStorage]] as const) {
    if (pair?.request && pair.limit && kibibytes(pair.request) > kibibytes(pair.limit)) {
      problems.add(`resources.${name}.request`, pair.request, `exceeds the ${name} limit ${pair.limit.asString()}`, 'request at most the limit, or raise the limit');
    }
  }
  if (memory?.limit && kibibytes(sharedMemory) >= kibibytes(memory.limit)) {
    problems.add('sharedMemorySize', sharedMemory,
      `must be smaller than the memory limit ${memory.limit.asString()}: /dev/shm is memory-backed and counts against it`,
      'lower sharedMemorySize (a quarter of the limit is plenty) or raise resources.memory.limit');
  }
}

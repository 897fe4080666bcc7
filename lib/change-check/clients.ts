// What changes for clients (internal): from one replica to more, the headless Service starts
// resolving to standbys, which refuse writes.
import { Change, Finding } from './findings';

/** replicas 1 -> more: clients that connect by the headless Service's name reach standbys too. */
export function clientChanges({ before, after }: Change): Finding[] {
  if (before.replicas > 1 || after.replicas <= 1) {
    return [];
  }
  const service: string | undefined = after.object?.spec?.serviceName;
  return [{
    severity: 'note',
    category: 'clients',
    title: `replicas: ${before.replicas} -> ${after.replicas}`,
    explanation: [
      `The headless Service${service ? ` ${service}` : ''} will resolve to every pod, the standbys included: a client that connects by its name `
      + `reaches a read-only standby ${after.replicas - 1} times in ${after.replicas}. Workloads wired with connect() get the read-write Service in this `
      + 'synth (the construct\'s host); point any other client at it, and read-only ones at the read-only Service.',
    ],
    steps: [],
  }];
}

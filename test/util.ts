// Helpers for reading synthesized manifests in tests. Objects are always found by kind
// (and name), never by position.
import { Chart, Testing } from 'cdk8s';

export type Manifest = any[];

/** Synthesizes a chart (running every construct's validation) and returns its objects. */
export function synth(chart: Chart): Manifest {
  return Testing.synth(chart);
}

/** All objects of one kind. */
export function allOfKind(manifest: Manifest, kind: string): any[] {
  return manifest.filter((o) => o.kind === kind);
}

/** The one object of a kind (optionally with a name); fails if there is not exactly one. */
export function oneOfKind(manifest: Manifest, kind: string, name?: string): any {
  const found = allOfKind(manifest, kind).filter((o) => name === undefined || o.metadata?.name === name);
  if (found.length !== 1) {
    throw new Error(`expected exactly one ${kind}${name ? ` named ${name}` : ''}, found ${found.length}: `
      + JSON.stringify(manifest.map((o) => `${o.kind}/${o.metadata?.name}`)));
  }
  return found[0];
}

/** The pod spec of the one StatefulSet. */
export function podSpec(manifest: Manifest): any {
  return oneOfKind(manifest, 'StatefulSet').spec.template.spec;
}

/** A container of the one StatefulSet's pod template, by name (default: the first). */
export function container(manifest: Manifest, name?: string): any {
  const containers = podSpec(manifest).containers;
  const found = name === undefined ? containers[0] : containers.find((c: any) => c.name === name);
  if (!found) {
    throw new Error(`no container ${name} in ${JSON.stringify(containers.map((c: any) => c.name))}`);
  }
  return found;
}

/** An environment variable of a container, by name. */
export function envVar(c: any, name: string): any {
  return (c.env ?? []).find((e: any) => e.name === name);
}

/** Runs `fn`, which must throw, and returns the error message. */
export function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error, none was thrown');
}

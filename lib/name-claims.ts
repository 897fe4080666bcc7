// Two instances in one app must not write the same object (internal): the objects of each
// instance are claimed by kind, namespace and name in a registry of the app, and a second claim
// is a problem of both instances, each told the other's construct path.
import { IConstruct } from 'constructs';
import { Problems } from './problems';

/** An object an instance writes, and the prop its name comes from. */
export interface NamedObject {
  readonly kind: string;
  readonly name: string;
  readonly prop: string;
}

interface Claim {
  readonly path: string;
  readonly prop: string;
  readonly problems: Problems;
}

const REGISTRIES = new WeakMap<IConstruct, Map<string, Claim>>();

/**
 * Claims the names of an instance's objects in its app.
 *
 * @param namespace the namespace the objects end up in, when known (no namespace: the one they are applied to)
 */
export function claimNames(scope: IConstruct, problems: Problems, namespace: string | undefined, objects: NamedObject[]): void {
  const root = scope.node.root;
  let registry = REGISTRIES.get(root);
  if (!registry) {
    registry = new Map();
    REGISTRIES.set(root, registry);
  }
  const where = namespace !== undefined ? ` in namespace '${namespace}'` : '';
  for (const object of objects) {
    const key = `${object.kind}\u0000${namespace ?? ''}\u0000${object.name}`;
    const claim = registry.get(key);
    if (!claim) {
      registry.set(key, { path: scope.node.path, prop: object.prop, problems });
      continue;
    }
    if (claim.path === scope.node.path) {
      continue; // the same instance (a Secret holding two passwords)
    }
    const fix = 'give each instance names of its own';
    problems.add(object.prop, object.name, `names the ${object.kind}${where} that ${claim.path} writes too`, fix);
    claim.problems.add(claim.prop, object.name, `names the ${object.kind}${where} that ${scope.node.path} writes too`, fix);
  }
}

// Collecting the problems of a construct, so that every problem of every construct is reported
// together when cdk8s validates the app, before anything is written (internal).
import { IConstruct } from 'constructs';

/** Records a problem: the prop, the value as the user wrote it, what is wrong, and the fix. */
export type Report = (prop: string, value: unknown, reason: string, fix: string) => void;

/**
 * The problems of one construct (or of one method's use of it), each in the form
 * `<subject>: <prop> <reason>, got <value as the caller wrote it>. Fix: <what to do>`.
 *
 * The validation is registered on the construct with the first problem only: cdk8s validates
 * the whole app once for every chart it synthesizes, so a validation on every construct of
 * every chart costs time quadratic in the number of charts, for nothing when all is well.
 */
export class Problems {
  /** The problems of a construct under a subject, shared by every caller that asks for the same pair. */
  public static of(scope: IConstruct, subject: string): Problems {
    let subjects = REGISTRY.get(scope);
    if (!subjects) {
      subjects = new Map();
      REGISTRY.set(scope, subjects);
    }
    let problems = subjects.get(subject);
    if (!problems) {
      problems = new Problems(scope, subject);
      subjects.set(subject, problems);
    }
    return problems;
  }

  private readonly _items: string[] = [];

  private constructor(private readonly scope: IConstruct, private readonly subject: string) {}

  /** The problems recorded so far. */
  public get items(): string[] {
    return [...this._items];
  }

  /**
   * Records a problem with a prop.
   *
   * @param prop   the prop as the caller spelled it
   * @param value  the value the caller gave (never a default they did not write)
   * @param reason what is wrong, read after the prop name ("must be ...")
   * @param fix    what to do about it
   */
  public add(prop: string, value: unknown, reason: string, fix: string): void {
    if (this._items.length === 0) {
      this.scope.node.addValidation({ validate: () => [...this._items] });
    }
    this._items.push(this.format(prop, value, reason, fix));
  }

  /**
   * Registers a check that runs when the app is validated, for what can only be known at synth
   * (what a workload's pod template holds once rendered). What it finds is reported with the
   * other problems, in the same form, and not kept. Once it finds nothing it is not run again:
   * cdk8s validates the whole app once per chart it synthesizes, and what such a check reads
   * only grows (containers and labels are added, not removed), so a valid app pays for it once.
   */
  public checkAtSynth(check: (add: Report) => void): void {
    let passed = false;
    this.scope.node.addValidation({
      validate: () => {
        if (passed) {
          return [];
        }
        const found: string[] = [];
        check((prop, value, reason, fix) => found.push(this.format(prop, value, reason, fix)));
        passed = found.length === 0;
        return found;
      },
    });
  }

  /** Records a problem with a prop when `reason` is defined. */
  public check(prop: string, value: unknown, reason: string | undefined, fix: string): void {
    if (reason !== undefined) {
      this.add(prop, value, reason, fix);
    }
  }

  private format(prop: string, value: unknown, reason: string, fix: string): string {
    return `${this.subject}: ${prop} ${reason}, got ${show(value)}. Fix: ${fix}`;
  }
}

const REGISTRY = new WeakMap<IConstruct, Map<string, Problems>>();

/** Renders a value as the caller wrote it, for an error message. */
export function show(value: unknown): string {
  if (value === undefined) {
    return 'undefined';
  }
  if (typeof value === 'string') {
    return `'${value}'`;
  }
  if (typeof value === 'number') {
    return String(value); // NaN and Infinity as written, not JSON's null
  }
  if (Array.isArray(value)) {
    return `[${value.map(show).join(', ')}]`;
  }
  if (typeof value === 'object' && value !== null) {
    const described = value as any;
    if (typeof described._describe === 'function') {
      return described._describe(); // PostgresCredentials, without the password
    }
    if (typeof described.asString === 'function') {
      return described.asString(); // cdk8s Size
    }
    if (typeof described.toHumanString === 'function') {
      return described.toHumanString(); // cdk8s Duration
    }
    if (typeof described.amount === 'string') {
      return described.amount; // cdk8s-plus Cpu
    }
    if (Object.getPrototypeOf(value) === Object.prototype) {
      return `{ ${Object.entries(value).map(([k, v]) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : `'${k}'`}: ${show(v)}`).join(', ')} }`;
    }
  }
  return JSON.stringify(value) ?? String(value);
}

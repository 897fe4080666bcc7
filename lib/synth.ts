// Synthesizing a user's app (public): every problem at once without a stack trace, and what to
// create before the first `kubectl apply`.
import { App } from 'cdk8s';
import { IConstruct } from 'constructs';
import { PostgresPrerequisite } from './prerequisite';
import { describePrerequisites, prerequisitesUnder } from './prerequisite-registry';

/**
 * Helpers for an app's `main.ts`: check every construct before anything is written, synthesize,
 * and say what to create before the first `kubectl apply`.
 *
 * `PostgresSynth.synthOrReport(app)` in place of `app.synth()` prints the problems of every
 * construct (this library's and any other's) one line each, without the stack traces of
 * `app.synth()` and cdk8s-cli, and writes nothing; or synthesizes and prints the prerequisites.
 */
export class PostgresSynth {
  /**
   * Every problem the constructs under `scope` report (every construct's validations, as cdk8s
   * runs them at synth), each as `[<construct path>] <problem>`; empty when there is none.
   */
  public static problemsOf(scope: IConstruct): string[] {
    return scope.node.findAll().flatMap((c) => c.node.validate().map((problem) => `[${c.node.path}] ${problem}`));
  }

  /**
   * What the manifests of the constructs under `scope` refer to but do not contain, which must
   * exist before the first `kubectl apply`: Secrets with the keys they must hold, ConfigMaps,
   * storage classes, one entry per object (what several constructs need is merged), without
   * the objects the app renders itself. See `PostgresStatefulSet.prerequisites`.
   */
  public static prerequisitesOf(scope: IConstruct): PostgresPrerequisite[] {
    return prerequisitesUnder(scope);
  }

  /**
   * The prerequisites as a short text for a terminal: per object, its keys and what each is
   * for, and the `kubectl` command that creates it; empty when there are none.
   */
  public static describePrerequisites(prerequisites: PostgresPrerequisite[]): string {
    return describePrerequisites(prerequisites);
  }

  /**
   * `app.synth()` for a command line such as `cdk8s synth`: when a construct reports a problem,
   * prints every problem on stderr without a stack trace, sets `process.exitCode` to 1, writes
   * nothing and returns false; otherwise synthesizes, prints the prerequisites on stderr (the
   * manifests may go to stdout) and returns true. Any other error is thrown, with its stack trace.
   */
  public static synthOrReport(app: App): boolean {
    return PostgresSynth.synthAllOrReport([app]);
  }

  /**
   * `synthOrReport` for several apps (each writes to its own output directory): all are
   * checked before any is written, so that a mistake in one leaves no manifest of another.
   */
  public static synthAllOrReport(apps: App[]): boolean {
    const problems = apps.flatMap((app) => PostgresSynth.problemsOf(app));
    if (problems.length > 0) {
      console.error(`Validation failed with the following errors:\n  ${problems.join('\n  ')}\nNothing was written.`);
      process.exitCode = 1;
      return false;
    }
    apps.forEach((app) => app.synth());
    const text = describePrerequisites(prerequisitesUnder(...apps));
    if (text !== '') {
      console.error(text);
    }
    return true;
  }

  private constructor() {}
}

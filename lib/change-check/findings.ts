// What the change check reports (internal): findings with their explanation and the steps to take,
// and helpers that write those steps as commands. Every value in a printed command is shell-quoted;
// values reach SQL as psql variables (`:'name'`, `:"name"`), never inside the SQL text.
import { shellWord } from '../shell';
import { Instance } from './instance';

/**
 * How bad a finding is: `rejected` (the API server refuses the update), `unsafe` (applied, it
 * loses or hides data, or breaks logins or clients), `note` (worth knowing; nothing to fix).
 */
export type Severity = 'rejected' | 'unsafe' | 'note';

/** SQL for `psql` in a pod, through `kubectl exec -i ... <<'SQL'`. */
export interface PsqlStep {
  /** The role psql logs in as, over the pod's socket (trusted by the official image). */
  readonly user: string;
  readonly database: string;
  /** psql variables (`-v name=value`), referenced in the SQL as :'name' or :"name". */
  readonly variables: { readonly [name: string]: string };
  readonly sql: string;
}

/** One step: what to do, and the commands or SQL that do it. */
export interface Step {
  readonly say: string;
  readonly commands?: string[];
  readonly psql?: PsqlStep;
}

export interface Finding {
  readonly severity: Severity;
  /** What kind of problem: `rejected by the API server`, `ignored by the database`, `data left behind`, ... */
  readonly category: string;
  /** One line: what changes. */
  readonly title: string;
  /** Why it matters, in sentences. */
  readonly explanation: string[];
  readonly steps: Step[];
}

/** The findings of one instance (or of one new or removed instance). */
export interface InstanceReport {
  readonly id: string;
  /** Where the instance is defined now, and where the baseline has it. */
  readonly source?: string;
  readonly baselineSource?: string;
  readonly findings: Finding[];
}

/** The context of the rules: the instance before and after, and how the user applies. */
export interface Change {
  readonly before: Instance;
  readonly after: Instance;
  /** The file to apply (the new manifest). */
  readonly applyFile: string;
  /**
   * Services of the baseline that select the instance's pods and that the new manifests no longer
   * have (`kubectl apply` leaves them in place); empty when the baseline has no Services (kubectl).
   */
  readonly staleServices: string[];
}

/** A word for the shell, quoted when it needs to be. */
export const sh = shellWord;

/** A kubectl command line in the namespace of an instance (or of any object: `{ namespace }`). */
export function kubectl(where: { readonly namespace?: string }, ...args: string[]): string {
  return ['kubectl', ...(where.namespace ? ['-n', where.namespace] : []), ...args].map(sh).join(' ');
}

/** The command that prints whether a storage class (cluster-wide, no namespace) allows volume expansion. */
export function storageClassCheck(className: string): string {
  return ['kubectl', 'get', 'storageclass', className, '-o', 'jsonpath={.allowVolumeExpansion}'].map(sh).join(' ');
}

/** `kubectl exec` of a command in a pod's PostgreSQL container. */
export function kubectlExec(instance: Instance, pod: string, command: string[], interactive: 'i' | 'it' = 'i'): string {
  return kubectl(instance, 'exec', `-${interactive}`, pod, '-c', instance.containerName, '--', ...command);
}

/** The psql command line of a PsqlStep, run in a pod. */
export function psqlCommand(instance: Instance, pod: string, step: PsqlStep): string {
  return `${kubectlExec(instance, pod, psqlArgs(step))} <<'SQL'\n${step.sql.trimEnd()}\nSQL`;
}

/** psql's arguments for a PsqlStep (the tests run exactly these against a real server). */
export function psqlArgs(step: PsqlStep): string[] {
  return ['psql', '-v', 'ON_ERROR_STOP=1', '-X', '-U', step.user, '-d', step.database,
    ...Object.entries(step.variables).flatMap(([name, value]) => ['-v', `${name}=${value}`])];
}

/** The names of an instance's pods. */
export function pods(instance: Instance): string[] {
  return Array.from({ length: Math.max(instance.replicas, 1) }, (_, ordinal) => `${instance.name}-${ordinal}`);
}

/** The claim of a pod for a claim template: `<template>-<statefulset>-<ordinal>`. */
export function claims(instance: Instance, template: string): string[] {
  return pods(instance).map((pod) => `${template}-${pod}`);
}

/** The selector that lists an instance's claims (`-l a=b,c=d`), if its claim template has labels. */
export function claimSelector(instance: Instance): string | undefined {
  const labels = Object.entries(instance.claimLabels ?? {});
  return labels.length > 0 ? labels.map(([k, v]) => `${k}=${v}`).join(',') : undefined;
}

/**
 * The two steps that replace a StatefulSet object without touching its pods and claims: a
 * change the API server refuses as an update is accepted on a new object.
 */
export function replaceStatefulSet(change: Change, adopt = 'the new StatefulSet adopts the running pods (same names and labels)'): Step[] {
  const { before } = change;
  const claimWarning = before.whenDeleted === 'Delete'
    ? ' --cascade=orphan matters here: its persistentVolumeClaimRetentionPolicy.whenDeleted is Delete, so a plain delete would delete the claims, and the data, with it.'
    : '';
  return [
    {
      say: `Delete the StatefulSet object only: its pods keep running, its claims stay.${claimWarning}`,
      commands: [kubectl(before, 'delete', 'statefulset', before.name, '--cascade=orphan')],
    },
    { say: `Apply: ${adopt}.`, commands: [`kubectl apply -f ${sh(change.applyFile)}`] },
  ];
}

/** The order findings are shown in. */
export const SEVERITY_ORDER: Severity[] = ['rejected', 'unsafe', 'note'];

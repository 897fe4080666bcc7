// The change check's report as text (internal), and whether it allows applying.
import { CheckResult } from './check';
import { Finding, InstanceReport } from './findings';

/** Whether anything must be dealt with before applying (a rejected or unsafe change). */
export function hasProblems(result: CheckResult): boolean {
  return [...result.changed, ...result.added, ...result.removed, ...result.objects].some((r) => r.findings.some((f) => f.severity !== 'note'));
}

function label(finding: Finding): string {
  return finding.severity === 'rejected' ? 'REJECTED by the API server'
    : `${finding.severity === 'unsafe' ? 'UNSAFE' : 'NOTE'}, ${finding.category}`;
}

function indent(text: string, by: string): string {
  return text.split('\n').map((line) => `${by}${line}`).join('\n');
}

function renderFinding(finding: Finding): string[] {
  const lines = [`  [${label(finding)}] ${finding.title}`];
  lines.push(...finding.explanation.map((p) => `    ${p}`));
  if (finding.steps.length > 0) {
    lines.push(finding.steps.length === 1 ? '    What to do:' : '    Steps:');
    finding.steps.forEach((step, i) => {
      lines.push(finding.steps.length === 1 ? `      ${step.say}` : `      ${i + 1}. ${step.say}`);
      for (const command of step.commands ?? []) {
        lines.push(indent(command, '           '));
      }
    });
  }
  return lines;
}

function renderInstance(report: InstanceReport, heading: string): string[] {
  return [`${heading} (${report.source ?? report.baselineSource})`, ...report.findings.flatMap(renderFinding), ''];
}

function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The report: each instance with something to say, then a summary line. */
export function renderReport(result: CheckResult): string {
  const lines: string[] = [];
  for (const report of result.changed.filter((r) => r.findings.length > 0)) {
    lines.push(...renderInstance(report, `StatefulSet ${report.id}`));
  }
  for (const report of result.added) {
    lines.push(...renderInstance(report, `New StatefulSet ${report.id}`));
  }
  for (const report of result.removed) {
    lines.push(...renderInstance(report, `Removed StatefulSet ${report.id}`));
  }
  for (const report of result.objects) {
    lines.push(...renderInstance(report, report.id));
  }
  const all = [...result.changed, ...result.added, ...result.removed, ...result.objects].flatMap((r) => r.findings);
  const rejected = all.filter((f) => f.severity === 'rejected').length;
  const unsafe = all.filter((f) => f.severity === 'unsafe').length;
  const compared = `${count(result.changed.length, 'PostgreSQL StatefulSet')} of ${result.manifests} compared with ${result.baseline}`
    + (result.changed.length > 0 ? ` (${result.changed.map((r) => r.id).join(', ')})` : '');
  const extras = [
    result.added.length > 0 ? count(result.added.length, 'new instance') : '',
    result.removed.length > 0 ? count(result.removed.length, 'removed instance') : '',
    result.otherStatefulSets > 0 ? `${count(result.otherStatefulSets, 'StatefulSet')} without PostgreSQL not compared` : '',
    result.notInManifests > 0 ? `${count(result.notInManifests, 'PostgreSQL StatefulSet')} in the cluster not in the manifests, not compared` : '',
  ].filter((e) => e !== '');
  if (rejected + unsafe === 0) {
    lines.push(`No unsafe change: ${compared}${extras.length > 0 ? `; ${extras.join(', ')}` : ''}.`);
  } else {
    const problems = [rejected > 0 ? `${count(rejected, 'change')} the API server rejects` : '', unsafe > 0 ? count(unsafe, 'unsafe change') : ''].filter((p) => p !== '');
    lines.push(`Not safe to apply as it is: ${problems.join(' and ')}. ${compared}${extras.length > 0 ? `; ${extras.join(', ')}` : ''}.`);
  }
  return `${lines.join('\n')}\n`;
}

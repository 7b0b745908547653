// audit's output: istioctl-analyze-like lines, or one JSON object.
import type { AuditReport } from './analyze.js';

export function formatAuditText(report: AuditReport): string {
  const lines = report.findings.map((f) => {
    const level = f.severity === 'error' ? 'Error' : 'Warning';
    return `${level} ${f.code ? `[${f.code}] ` : ''}(Sidecar ${f.namespace}/${f.name}) ${f.message} [${f.rule}]`;
  });
  const s = report.summary;
  const workloads = s.workloads > 0 ? `, ${count(s.workloads, 'workload')}` : '';
  const scope = `${count(s.sidecars, 'Sidecar')} in ${count(s.namespaces, 'namespace')} (${count(s.pods, 'pod')}${workloads})`;
  lines.push(
    s.findings === 0
      ? `No conflicts found among ${scope}.`
      : `${count(s.findings, 'finding')} (${count(s.errors, 'error')}, ${count(s.warnings, 'warning')}) among ${scope}.`,
  );
  return `${lines.join('\n')}\n`;
}

const count = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

export function formatAuditJson(report: AuditReport): string {
  return `${JSON.stringify(report)}\n`;
}

// audit's output: istioctl-analyze-like lines, or one JSON object.
import type { AuditReport } from './analyze.js';

export function formatAuditText(report: AuditReport): string {
  const lines = report.findings.map((f) => {
    const level = f.severity === 'error' ? 'Error' : 'Warning';
    return `${level} ${f.code ? `[${f.code}] ` : ''}(Sidecar ${f.namespace}/${f.name}) ${f.message} [${f.rule}]`;
  });
  const s = report.summary;
  lines.push(
    s.findings === 0
      ? `No conflicts found among ${s.sidecars} Sidecars in ${s.namespaces} namespaces (${s.pods} pods).`
      : `${s.findings} findings (${s.errors} errors, ${s.warnings} warnings) among ${s.sidecars} Sidecars in ${s.namespaces} namespaces (${s.pods} pods).`,
  );
  return `${lines.join('\n')}\n`;
}

export function formatAuditJson(report: AuditReport): string {
  return `${JSON.stringify(report)}\n`;
}

// audit's output: istioctl-analyze-like lines, or one JSON object. What one
// Sidecar can print is bounded as in `check` (FINDING_LIMITS per object,
// "… and N more like this", messages cut at MESSAGE_CHARS): a Sidecar that
// overlaps a thousand others would otherwise print a thousand lines, each
// naming them all. The summary counts every finding.
import type { AuditFinding, AuditReport } from './analyze.js';
import { clip, escapeControls, MESSAGE_CHARS } from '../sidecar/format.js';
import { capFindings, FINDING_LIMITS, type Violation } from '../sidecar/violation.js';

export function formatAuditText(report: AuditReport): string {
  const lines = shownFindings(report.findings).map((f) => {
    const level = f.severity === 'error' ? 'Error' : 'Warning';
    // Names come from the cluster or the files: an escape sequence or newline in one stays visible text.
    return escapeControls(
      `${level} ${f.code ? `[${f.code}] ` : ''}(Sidecar ${f.namespace}/${f.name}) ${f.message} [${f.rule}]`,
    );
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
  return `${JSON.stringify({ findings: shownFindings(report.findings), summary: report.summary })}\n`;
}

/**
 * The findings as printed: per Sidecar, FINDING_LIMITS of them, in the
 * report's order (findings of one Sidecar are next to each other), messages cut.
 */
export function shownFindings(findings: readonly AuditFinding[]): AuditFinding[] {
  const out: AuditFinding[] = [];
  for (let start = 0; start < findings.length; ) {
    const first = findings[start]!;
    let end = start + 1;
    while (end < findings.length && findings[end]!.namespace === first.namespace && findings[end]!.name === first.name)
      end++;
    for (const f of capPerSidecar(findings.slice(start, end))) out.push(f);
    start = end;
  }
  return out;
}

/** One Sidecar's findings through the same cap as a Sidecar's findings in `check`; a summary keeps the code of its rule. */
function capPerSidecar(own: readonly AuditFinding[]): AuditFinding[] {
  const codes = new Map(own.map((f) => [f.rule, f.code]));
  const { kind, namespace, name } = own[0]!;
  const asViolations = own.map((f): Violation & { finding?: AuditFinding } => ({
    rule: f.rule,
    severity: f.severity,
    path: '',
    message: f.message,
    ...(f.omitted ? { omitted: f.omitted } : { finding: f }),
  }));
  return capFindings(asViolations, FINDING_LIMITS).map((v): AuditFinding => {
    const kept = (v as Partial<{ finding: AuditFinding }>).finding;
    if (kept) return { ...kept, message: clip(kept.message, MESSAGE_CHARS) };
    return {
      code: codes.get(v.rule) ?? null,
      rule: v.rule,
      severity: v.severity,
      kind,
      namespace,
      name,
      message: v.message,
      omitted: v.omitted,
    };
  });
}

// check's two output formats: compiler-style lines for people and editors,
// one JSON object for machines.
import type { CheckReport, CheckResult, Finding } from './run.js';

export function formatText(report: CheckReport): string {
  const lines: string[] = [];
  for (const r of report.results) {
    for (const f of [...r.errors, ...r.warnings].sort((a, b) => a.line - b.line || a.col - b.col)) {
      lines.push(`${r.file}:${f.line}:${f.col}: ${f.severity}: ${f.path ? `${f.path}: ` : ''}${f.message} [${f.rule}]`);
    }
  }
  lines.push(summaryLine(report));
  return `${lines.join('\n')}\n`;
}

function summaryLine({ summary: s }: CheckReport): string {
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  return `${plural(s.files, 'file')}, ${plural(s.sidecars, 'Sidecar')}: ${s.allowed} allowed, ${s.rejected} rejected, ${s.skipped} other document${s.skipped === 1 ? '' : 's'} skipped`;
}

const wire = (f: Finding) => ({ rule: f.rule, path: f.path, message: f.message });

function wireResult(r: CheckResult) {
  return {
    file: r.file,
    line: r.line,
    apiVersion: r.apiVersion,
    kind: r.kind,
    namespace: r.namespace,
    name: r.name,
    allowed: r.allowed,
    errors: r.errors.map(wire),
    warnings: r.warnings.map(wire),
  };
}

export function formatJson(report: CheckReport): string {
  return `${JSON.stringify({ results: report.results.map(wireResult), summary: report.summary })}\n`;
}

// check's two output formats: compiler-style lines for people and editors,
// one JSON object for machines. What one object can print is bounded: the
// findings by judge (FINDING_LIMITS, with "… and N more like this"), each
// message and path here.
import { clip, escapeControls, MESSAGE_CHARS, PATH_CHARS, repeatedRuns } from '../sidecar/format.js';
import { describeRef } from '../sidecar/object.js';
import type { CheckReport, CheckResult, Finding } from './run.js';

export function formatText(report: CheckReport): string {
  const lines: string[] = [];
  for (const r of report.results) {
    // A file holds many Sidecars and a finding's line may be far from the object's name: each line names it
    // (a document that could not be parsed, kind null, names what it could read in its message).
    const named = r.kind !== null && r.namespace !== null && r.name !== null;
    const object = named ? `${clip(`${r.namespace}/${r.name}`, PATH_CHARS)}: ` : '';
    // sidecar-guard's own messages name the object too, for kubectl's warnings, where nothing else does.
    const own = named ? `${describeRef({ namespace: r.namespace!, name: r.name! })}: ` : undefined;
    // Names, keys and file names come from the files: an escape sequence or newline in one stays visible text.
    const texts = inLineOrder([...r.errors, ...r.warnings]).map((f) =>
      escapeControls(
        `${r.file}:${f.line}:${f.col}: ${f.severity}: ${object}${f.path ? `${clip(f.path, PATH_CHARS)}: ` : ''}${clip(unnamed(f.message, own), MESSAGE_CHARS)} [${f.rule}]`,
      ),
    );
    // A finding reported twice in a row (Istio's H5 for a host) is one line saying so, as in the webhook's denial;
    // the JSON and CI formats keep one entry per finding.
    for (const { text } of repeatedRuns(texts)) lines.push(text);
  }
  lines.push(summaryLine(report));
  return `${lines.join('\n')}\n`;
}

/** The message without its leading "Sidecar ns/name: ", which the line already says. */
const unnamed = (message: string, own: string | undefined): string =>
  own !== undefined && message.startsWith(own) ? message.slice(own.length) : message;

/**
 * Findings by line; a summary ("… and N more like this") right after the
 * last one of its rule, since it names the list rather than a line of it;
 * the API server's note that it skipped the CEL rules (schema.cel, no field)
 * last, as kubectl prints it: it is about the errors above it.
 */
function inLineOrder(findings: readonly Finding[]): Finding[] {
  const sorted = findings
    .filter((f) => !f.omitted)
    .sort((a, b) => Number(aboutTheOthers(a)) - Number(aboutTheOthers(b)) || a.line - b.line || a.col - b.col);
  for (const summary of findings.filter((f) => f.omitted)) {
    let at = sorted.length;
    for (let i = sorted.length - 1; i >= 0; i--) {
      if (sorted[i]!.rule === summary.rule && sorted[i]!.severity === summary.severity) {
        at = i + 1;
        break;
      }
    }
    sorted.splice(at, 0, summary);
  }
  return sorted;
}

const aboutTheOthers = (f: Finding): boolean => f.rule === 'schema.cel' && f.path === '';

/** The totals; documents that could not be parsed get a line of their own (they are neither allowed nor rejected Sidecars). */
export function summaryLine({ summary: s }: Pick<CheckReport, 'summary'>): string {
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const totals = `${plural(s.files, 'file')}, ${plural(s.sidecars, 'Sidecar')}: ${s.allowed} allowed, ${s.rejected} rejected, ${s.skipped} other document${s.skipped === 1 ? '' : 's'} skipped`;
  return s.unparsable > 0 ? `${totals}\n${plural(s.unparsable, 'document')} could not be parsed` : totals;
}

/** A summary also says how many findings of which rules it stands for. */
const wire = (f: Finding) => ({
  rule: f.rule,
  path: clip(f.path, PATH_CHARS),
  message: clip(f.message, MESSAGE_CHARS),
  ...(f.omitted ? { omitted: f.omitted } : {}),
});

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

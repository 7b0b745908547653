// How findings read in kubectl's output. A denial names the object, then one
// line per error: field path, the rule's message (Istio's text unchanged),
// the rule id, and how to fix it.
import { describeRef, type ObjectRef } from './object.js';
import type { Violation } from './violation.js';

export function formatFinding(v: Violation): string {
  const fix = v.hint ? ` Fix: ${v.hint}` : '';
  // A finding about no field in particular (the API server's note that CEL rules were skipped) has no path.
  return `${v.path ? `${v.path}: ` : ''}${v.message} [${v.rule}]${fix}`;
}

export function formatDenial(ref: ObjectRef, errors: readonly Violation[]): string {
  const subject = describeRef(ref);
  if (errors.length === 1) return `${subject} is invalid: ${formatFinding(errors[0]!)}`;
  const lines = errors.map((v) => `- ${formatFinding(v)}`);
  return `${subject} is invalid (${errors.length} errors):\n${lines.join('\n')}`;
}

/**
 * Warnings travel as admission warnings, which kubectl prints one per line.
 * Istio's own warnings keep Istio's text unchanged; ours already name the
 * object. A grandfathered error names its field and rule, and why it passed.
 */
export function formatWarning(v: Violation): string {
  return v.allowedBecause ? `${v.path}: ${v.message} [${v.rule}] (allowed: ${v.allowedBecause})` : v.message;
}

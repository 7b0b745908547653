// A finding about one field of one object. Rules return these as data and
// never throw; callers decide what an error or a warning means for them.
export type Severity = 'error' | 'warning';

export interface Violation {
  /** Stable rule id, e.g. "E2" (Istio rule table), "schema.required", "conflict.default". */
  rule: string;
  severity: Severity;
  /** Field path in kubectl style: spec.egress[1].hosts[0], metadata.labels[app]. */
  path: string;
  /** What is wrong. For Istio rules this is Istio's message, unchanged. */
  message: string;
  /** How to fix it, in one short sentence (optional). */
  hint?: string;
  /** Set when an error was let through as a warning (grandfathered): why. */
  allowedBecause?: string;
}

export const errorsOf = (vs: readonly Violation[]): Violation[] => vs.filter((v) => v.severity === 'error');
export const warningsOf = (vs: readonly Violation[]): Violation[] => vs.filter((v) => v.severity === 'warning');

// Collects findings in evaluation order. Severity and hint come from the
// catalogue so a rule cannot report itself with the wrong severity. One rule
// keeps at most FINDING_LIMITS.perRule findings and counts the rest, so a
// list of 800,000 bad hosts costs a counter, not 800,000 findings.
import { CappedFindings, FINDING_LIMITS, type Violation } from '../violation.js';
import { RULES, type RuleId } from './catalog.js';

export interface Report {
  add(rule: RuleId, path: string, message: string): void;
  /** The kept findings and a summary per rule that had more. */
  readonly violations: readonly Violation[];
}

export function newReport(): Report {
  const findings = new CappedFindings({ perRule: FINDING_LIMITS.perRule, perObject: Number.POSITIVE_INFINITY });
  return {
    get violations() {
      return findings.list();
    },
    add(rule, path, message) {
      const info = RULES[rule];
      findings.add({ rule, severity: info.severity, path, message, hint: info.hint });
    },
  };
}

// Collects findings in evaluation order. Severity and hint come from the
// catalogue so a rule cannot report itself with the wrong severity. One rule
// keeps at most FINDING_LIMITS.perRule findings and counts the rest, so a
// list of 800,000 bad hosts costs a counter, not 800,000 findings.
import { CappedFindings, FINDING_LIMITS, type Violation } from '../violation.js';
import { RULES, type RuleId } from './catalog.js';

export interface Report {
  add(rule: RuleId, path: string, message: string): void;
  /** How many findings were added so far (kept or counted). */
  readonly size: number;
  /** The kept findings and a summary per rule that had more: a new array, the caller's to keep. */
  list(): Violation[];
}

export function newReport(): Report {
  return new LazyReport();
}

/**
 * Most objects are valid, so the collector (a few maps) is made at the first
 * finding rather than for every object.
 */
class LazyReport implements Report {
  private findings: CappedFindings | undefined;

  get size(): number {
    return this.findings?.size ?? 0;
  }

  list(): Violation[] {
    return this.findings?.list() ?? [];
  }

  add(rule: RuleId, path: string, message: string): void {
    this.findings ??= new CappedFindings({ perRule: FINDING_LIMITS.perRule, perObject: Number.POSITIVE_INFINITY });
    const info = RULES[rule];
    this.findings.add({ rule, severity: info.severity, path, message, hint: info.hint });
  }
}

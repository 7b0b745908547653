// Collects findings in evaluation order. Severity and hint come from the
// catalogue so a rule cannot report itself with the wrong severity.
import type { Violation } from '../violation.js';
import { RULES, type RuleId } from './catalog.js';

export interface Report {
  add(rule: RuleId, path: string, message: string): void;
  readonly violations: readonly Violation[];
}

export function newReport(): Report {
  const violations: Violation[] = [];
  return {
    violations,
    add(rule, path, message) {
      const info = RULES[rule];
      violations.push({ rule, severity: info.severity, path, message, hint: info.hint });
    },
  };
}

// A finding about one field of one object. Rules return these as data and
// never throw; callers decide what an error or a warning means for them.
//
// What one object can produce is bounded (issue 14: a Sidecar with 800,000
// short host names produced a 131 MB denial): at most FINDING_LIMITS.perRule
// findings of one rule and FINDING_LIMITS.perObject in all are kept, in
// evaluation order; the rest are counted into summaries ("… and N more like
// this") that say how many were left out and of which rules.
import type { ObjectRef } from './object.js';

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
  /** The other Sidecar a conflict is with (conflict.default, conflict.overlap): `check` says where it was read. */
  peer?: ObjectRef;
  /**
   * Set on a summary that stands for findings left out: how many of each
   * rule. `path` is then the innermost field holding all of them.
   */
  omitted?: Readonly<Record<string, number>>;
}

export const errorsOf = (vs: readonly Violation[]): Violation[] => vs.filter((v) => v.severity === 'error');
export const warningsOf = (vs: readonly Violation[]): Violation[] => vs.filter((v) => v.severity === 'warning');

/** Whether `vs` holds an error (errorsOf(vs).length > 0, without the list). */
export function hasError(vs: readonly Violation[]): boolean {
  for (const v of vs) if (v.severity === 'error') return true;
  return false;
}

/** No findings, shared where the result is only read: a valid Sidecar's lists stay unallocated. */
export const NO_FINDINGS: readonly Violation[] = Object.freeze([]);

/** `a` then `b`; one of them as it is when the other is empty, so the result is only to be read. */
export function joined(a: readonly Violation[], b: readonly Violation[]): readonly Violation[] {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  return [...a, ...b];
}

export interface FindingLimits {
  /** Findings of one rule (and severity) kept before the rest become "… and N more like this". */
  readonly perRule: number;
  /** Findings of one severity kept in all; later ones of rules not shown yet go into one summary. */
  readonly perObject: number;
}

/**
 * What `judge` returns for one object, so what `check` prints and the webhook
 * starts from. Above anything a hand-written Sidecar produces, and above
 * what the Istio-conformance generator can produce (docs/conformance.md,
 * "Capped output"): 8 of one rule and 26 in all were its most in 100,000 objects.
 */
export const FINDING_LIMITS: FindingLimits = Object.freeze({ perRule: 20, perObject: 100 });

/** The rule id of a summary of findings from several rules that were left out once an object's limit was reached. */
export const MORE_FINDINGS_RULE = 'findings.more';

/** How many findings a list stands for: each one, plus what its summaries left out. */
export function findingCount(vs: readonly Pick<Violation, 'omitted'>[]): number {
  let n = 0;
  for (const v of vs) n += v.omitted ? omittedCount(v.omitted) : 1;
  return n;
}

/** Every rule id a list stands for, summaries included, in order of first appearance. */
export function rulesOf(vs: readonly Violation[]): string[] {
  const rules = new Set<string>();
  for (const v of vs) {
    if (v.omitted) for (const rule of Object.keys(v.omitted)) rules.add(rule);
    else rules.add(v.rule);
  }
  return [...rules];
}

/** `limits` applied to a list (which may hold summaries already: their counts add up). */
export function capFindings(vs: readonly Violation[], limits: FindingLimits = FINDING_LIMITS): Violation[] {
  // Fewer findings than either limit, none a summary: nothing to leave out, so the list as it is (a copy).
  if (vs.length <= limits.perRule && vs.length <= limits.perObject && !vs.some(isSummary)) return vs.slice();
  const capped = new CappedFindings(limits);
  for (const v of vs) capped.add(v);
  return capped.list();
}

const isSummary = (v: Violation): boolean => v.omitted !== undefined;

interface RuleTally {
  kept: number;
  /** Index in `kept` of this rule's last kept finding: its summary goes right after it. */
  lastKept: number;
  omitted: number;
  path: string | undefined;
}

interface SeverityTally {
  kept: number;
  /** Findings of rules with nothing kept, left out once the object's limit was reached. */
  omitted: Record<string, number>;
  omittedCount: number;
  path: string | undefined;
}

/**
 * A collector that keeps what `limits` allows and counts the rest, so memory
 * stays bounded however many findings are added (the rules add one per bad
 * list item). `list()` is the kept findings in the order they were added,
 * each rule's summary right after its last kept finding, and one summary per
 * severity for rules with nothing kept at the end.
 */
export class CappedFindings {
  private readonly kept: Violation[] = [];
  // Made on the first finding: most objects have none.
  private rules: Map<string, RuleTally> | undefined;
  private severities: Map<Severity, SeverityTally> | undefined;
  private added = 0;
  /** Whether a finding was left out (counted into a summary); until then list() is the kept findings as they are. */
  private leftOut = false;

  constructor(private readonly limits: FindingLimits = FINDING_LIMITS) {}

  /** How many findings were added, summaries counted for what they stand for. */
  get size(): number {
    return this.added;
  }

  add(v: Violation): void {
    if (v.omitted) {
      for (const [rule, n] of Object.entries(v.omitted)) this.leaveOut(rule, v.severity, v.path, n);
      return;
    }
    this.added++;
    const severity = this.severity(v.severity);
    const tally = this.rules?.get(keyOf(v.rule, v.severity));
    const keptOfRule = tally?.kept ?? 0;
    if (keptOfRule < this.limits.perRule && severity.kept < this.limits.perObject) {
      severity.kept++;
      this.kept.push(v);
      const rule = tally ?? this.newRule(v.rule, v.severity);
      rule.kept++;
      rule.lastKept = this.kept.length - 1;
      return;
    }
    this.leaveOut(v.rule, v.severity, v.path, 1);
  }

  list(): Violation[] {
    // Nothing left out (nearly always): no summary to place.
    if (!this.leftOut) return this.kept.slice();
    const after = new Map<number, Violation[]>();
    for (const [key, tally] of this.rules ?? []) {
      if (tally.omitted === 0 || tally.kept === 0) continue;
      const [severity, rule] = splitKey(key);
      const summary = ruleSummary(rule, severity, tally.path ?? '', tally.omitted);
      after.set(tally.lastKept, [...(after.get(tally.lastKept) ?? []), summary]);
    }
    const out: Violation[] = [];
    this.kept.forEach((v, i) => {
      out.push(v, ...(after.get(i) ?? []));
    });
    for (const [severity, tally] of this.severities ?? []) {
      if (tally.omittedCount > 0) out.push(objectSummary(severity, tally.path ?? '', tally.omitted));
    }
    return out;
  }

  private leaveOut(rule: string, severity: Severity, path: string, n: number): void {
    this.added += n;
    if (n !== 0) this.leftOut = true;
    const tally = this.rules?.get(keyOf(rule, severity));
    if (tally && tally.kept > 0) {
      tally.omitted += n;
      tally.path = tally.path === undefined ? path : commonPath(tally.path, path);
      return;
    }
    const s = this.severity(severity);
    s.omitted[rule] = (s.omitted[rule] ?? 0) + n;
    s.omittedCount += n;
    s.path = s.path === undefined ? path : commonPath(s.path, path);
  }

  private newRule(rule: string, severity: Severity): RuleTally {
    const tally: RuleTally = { kept: 0, lastKept: -1, omitted: 0, path: undefined };
    this.rules ??= new Map();
    this.rules.set(keyOf(rule, severity), tally);
    return tally;
  }

  private severity(severity: Severity): SeverityTally {
    this.severities ??= new Map();
    let tally = this.severities.get(severity);
    if (!tally) {
      tally = { kept: 0, omitted: Object.create(null) as Record<string, number>, omittedCount: 0, path: undefined };
      this.severities.set(severity, tally);
    }
    return tally;
  }
}

const keyOf = (rule: string, severity: Severity): string => `${severity}:${rule}`;

function splitKey(key: string): [Severity, string] {
  const colon = key.indexOf(':');
  return [key.slice(0, colon) as Severity, key.slice(colon + 1)];
}

const omittedCount = (omitted: Readonly<Record<string, number>>): number =>
  Object.values(omitted).reduce((a, b) => a + b, 0);

export const formatCount = (n: number): string => n.toLocaleString('en-US');

/**
 * A summary standing for `n` findings of one rule left out: a rule that can
 * make thousands of them (one per peer) counts past FINDING_LIMITS.perRule
 * instead of building messages the cap would drop.
 */
export function ruleSummary(rule: string, severity: Severity, path: string, n: number): Violation {
  return { rule, severity, path, message: `… and ${formatCount(n)} more like this`, omitted: { [rule]: n } };
}

/** One summary standing for every finding of `vs` (of one severity), summaries included; undefined for none. */
export function summaryOf(vs: readonly Violation[], severity: Severity): Violation | undefined {
  const omitted: Record<string, number> = Object.create(null) as Record<string, number>;
  let path: string | undefined;
  for (const v of vs) {
    for (const [rule, n] of Object.entries(v.omitted ?? { [v.rule]: 1 })) omitted[rule] = (omitted[rule] ?? 0) + n;
    path = path === undefined ? v.path : commonPath(path, v.path);
  }
  return path === undefined ? undefined : objectSummary(severity, path, omitted, 'more');
}

/** Rules named in an object summary: the most frequent first, at most this many by name. */
const NAMED_RULES = 5;

function objectSummary(
  severity: Severity,
  path: string,
  omitted: Record<string, number>,
  of: 'other rules' | 'more' = 'other rules',
): Violation {
  const total = omittedCount(omitted);
  const ranked = Object.entries(omitted).sort((a, b) => b[1] - a[1]);
  const named = ranked.slice(0, NAMED_RULES).map(([rule, n]) => `${rule} ×${formatCount(n)}`);
  const rest = ranked.length > NAMED_RULES ? `, and ${ranked.length - NAMED_RULES} more rules` : '';
  const what = `${severity}${total === 1 ? '' : 's'}`;
  return {
    rule: MORE_FINDINGS_RULE,
    severity,
    path,
    message: `… and ${formatCount(total)} more ${what}${of === 'other rules' ? ' of other rules' : ''}: ${named.join(', ')}${rest}`,
    omitted: { ...omitted },
  };
}

/**
 * The innermost field that holds both paths: `spec.egress[0].hosts` for
 * `spec.egress[0].hosts[7]` and `spec.egress[0].hosts[12]`, `` when they
 * share nothing. A cut happens only at a `.` or `[` outside brackets, so a
 * label key with dots in it stays whole.
 */
export function commonPath(a: string, b: string): string {
  if (a === b) return a;
  const n = Math.min(a.length, b.length);
  let cut = 0;
  let depth = 0;
  let i = 0;
  for (; i < n; i++) {
    const ch = a.charCodeAt(i);
    if (ch !== b.charCodeAt(i)) break;
    if (depth === 0 && (ch === DOT || ch === OPEN)) cut = i;
    if (ch === OPEN) depth++;
    else if (ch === CLOSE && depth > 0) depth--;
  }
  // One path may be the other's ancestor: `spec.egress` holds `spec.egress[0]`.
  if (i === n) {
    const next = (a.length > n ? a : b).charCodeAt(n);
    if (depth === 0 && (next === DOT || next === OPEN)) return a.slice(0, n);
  }
  return a.slice(0, cut);
}

const DOT = 0x2e;
const OPEN = 0x5b;
const CLOSE = 0x5d;

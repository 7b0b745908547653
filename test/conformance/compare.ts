// How a result of sidecar-guard is compared with Istio's own. Pure functions:
// the callers run both sides and hand the results in.
//
// Validation: sidecar-guard's own findings (the CRD schema `schema.*`, object
// metadata `meta.*`, `object.kind`) are removed first; Istio's function does
// not produce them. What is left must be the same multiset of Istio messages,
// errors and warnings apart, as Istio's itemised result. Two situations are
// not compared message by message, each counted under its own name and
// explained in docs/conformance.md:
// - Istio's decoder refused the object (`stage: decode`): sidecar-guard must
//   refuse it too, by its schema;
// - sidecar-guard found JSON types the CRD does not allow (its schema is
//   "fatal" and its Istio rules do not run): the API server refuses such an
//   object before any webhook, so Istio's answer cannot be observed.
import { checkSchema } from '../../src/sidecar/schema/index.js';
import type { AnalyzerFinding, GuardFinding, GuardResult, IstioResult } from './oracle.js';

/**
 * Rules that are sidecar-guard's own (the API server's part, Kiali's checks and
 * the others `check --isolated` keeps), not Istio's. Istio's rules have the
 * catalog's ids (H4, W1, O5a: no dot); of the dotted ids only istio.* stand for
 * Istio's webhook (its strict decoding), so a new rule of sidecar-guard's is
 * left out of the comparison without being listed here.
 */
export function isOwnRule(rule: string): boolean {
  return rule.includes('.') && !rule.startsWith('istio.');
}

export type Outcome =
  | { kind: 'agree' }
  | { kind: 'agree-decode' }
  | { kind: 'deviation'; id: DeviationId }
  | { kind: 'difference'; signature: string; detail: string };

/** Documented deviations (docs/conformance.md, "Documented deviations"). */
export type DeviationId = 'crd-types' | 'pruned-top-level-field';

function multisetDiff(a: readonly string[], b: readonly string[]): { onlyA: string[]; onlyB: string[] } {
  const counts = new Map<string, number>();
  for (const x of a) counts.set(x, (counts.get(x) ?? 0) + 1);
  const onlyB: string[] = [];
  for (const x of b) {
    const n = counts.get(x) ?? 0;
    if (n > 0) counts.set(x, n - 1);
    else onlyB.push(x);
  }
  const onlyA = [...counts].flatMap(([x, n]) => Array<string>(n).fill(x));
  return { onlyA: onlyA.sort(), onlyB: onlyB.sort() };
}

const istioFindings = (fs: readonly GuardFinding[]): string[] =>
  fs.filter((f) => !isOwnRule(f.rule)).map((f) => f.message);

export function compareSidecar(object: unknown, istio: IstioResult, guard: GuardResult): Outcome {
  if (istio.stage === 'decode' || istio.stage === 'type' || istio.stage === 'parse') {
    // Where sidecar-guard states the decode failure itself (J1), it must be Istio's text.
    const j1 = guard.errors.find((f) => f.rule === 'J1');
    if (j1 && j1.message !== istio.errors[0]?.message)
      return difference("J1 differs from Istio's decode error", {
        istio: istio.errors.map((e) => e.message),
        guard: [j1.message],
      });
    if (!guard.allowed) return { kind: 'agree-decode' };
    return difference('Istio refuses to decode the object; sidecar-guard allows it', {
      istio: istio.errors.map((e) => e.message),
    });
  }
  if (checkSchema(object, { rejectUnknownFields: true }).fatal) return { kind: 'deviation', id: 'crd-types' };

  // A top-level key Istio does not know: Istio's webhook names it only after
  // validation passed (stage "fields"); check names it always, because
  // kubectl's strict field validation refuses it first (in Istio's words or
  // the schema's). The API server itself prunes it before any webhook.
  const topLevel = guard.errors.filter(
    (f) => f.rule === 'istio.unknown-field' || (f.rule === 'schema.unknown-field' && !/[.[]/.test(f.path)),
  );
  const guardErrors = guard.errors.filter((f) => f.rule !== 'istio.unknown-field');
  const errors = multisetDiff(
    istio.stage === 'fields' ? [] : istio.errors.map((e) => e.message),
    istioFindings(guardErrors),
  );
  const warnings = multisetDiff(
    istio.warnings.map((w) => w.message),
    istioFindings(guard.warnings),
  );
  const same = errors.onlyA.length + errors.onlyB.length + warnings.onlyA.length + warnings.onlyB.length === 0;
  if (!same) {
    return difference('different Istio findings', {
      errorsOnlyIstio: errors.onlyA,
      errorsOnlyGuard: errors.onlyB,
      warningsOnlyIstio: warnings.onlyA,
      warningsOnlyGuard: warnings.onlyB,
    });
  }
  if (istio.stage === 'fields') {
    // Istio names one unknown key (the first of a Go map walk; the oracle takes the first in sorted order).
    if (topLevel.some((f) => f.message === istio.errors[0]?.message)) return { kind: 'agree' };
    if (topLevel.length > 0) return { kind: 'deviation', id: 'pruned-top-level-field' };
    return difference('Istio refuses an unknown top-level field; sidecar-guard does not', {
      istio: istio.errors.map((e) => e.message),
    });
  }
  if (topLevel.length > 0) return { kind: 'deviation', id: 'pruned-top-level-field' };
  return { kind: 'agree' };
}

function difference(what: string, details: Record<string, string[]>): Outcome {
  const signature = JSON.stringify({ what, ...details });
  return {
    kind: 'difference',
    signature,
    detail: `${what}: ${JSON.stringify(details, null, 1).replace(/\n\s*/g, ' ')}`,
  };
}

// ---- analyzers ------------------------------------------------------------

const tuple = (f: AnalyzerFinding): string => JSON.stringify([f.code, f.kind, f.namespace, f.name, f.message]);

/** Findings with a code Istio's analyzers define (IST...); Kiali's codes (KIA...) and code-less rules are sidecar-guard's own. */
const withIstioCode = (fs: readonly AnalyzerFinding[]): AnalyzerFinding[] =>
  fs.filter((f) => f.code?.startsWith('IST') === true);

export interface AnalyzerOutcome {
  same: boolean;
  onlyIstio: string[];
  onlyGuard: string[];
}

/** The same set of (code, kind, namespace, name, message). */
export function compareFindings(istio: readonly AnalyzerFinding[], guard: readonly AnalyzerFinding[]): AnalyzerOutcome {
  const a = new Set(istio.map(tuple));
  const b = new Set(withIstioCode(guard).map(tuple));
  const onlyIstio = [...a].filter((x) => !b.has(x)).sort();
  const onlyGuard = [...b].filter((x) => !a.has(x)).sort();
  return { same: onlyIstio.length === 0 && onlyGuard.length === 0, onlyIstio, onlyGuard };
}

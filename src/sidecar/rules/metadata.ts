// M1–M4: Istio's metadata wrapper, run before any Sidecar rule. The first
// annotation found is the only finding.
import { goQuote } from '../go/quote.js';
import type { Report } from './report.js';
import type { RuleId } from './catalog.js';

const DRY_RUN = 'istio.io/dry-run';

const INTERNAL_ANNOTATIONS: ReadonlyArray<[RuleId, string, (quoted: string) => string]> = [
  ['M2', 'internal.istio.io/webhook-always-reject', (q) => `${q} annotation found, rejecting`],
  ['M3', 'internal.istio.io/parent-namespace', (q) => `${q} annotation found, this may not be set by users`],
  ['M4', 'internal.istio.io/parents', (q) => `${q} annotation found, this may not be set by users`],
];

const annotationPath = (key: string): string => `metadata.annotations[${key}]`;

/** Whether any of M1–M4 would fire: one of their annotations is present (read without walking the rest). */
export function hasIstioMetadataAnnotation(annotations: Readonly<Record<string, unknown>>): boolean {
  return Object.hasOwn(annotations, DRY_RUN) || INTERNAL_ANNOTATIONS.some(([, key]) => Object.hasOwn(annotations, key));
}

/** Returns true when a finding was added (Istio then stops validating). */
export function checkMetadata(
  annotations: Readonly<Record<string, unknown>>,
  namespace: string,
  name: string,
  report: Report,
): boolean {
  // Presence is what counts; the value (even "false") does not matter.
  if (Object.hasOwn(annotations, DRY_RUN)) {
    report.add(
      'M1',
      annotationPath(DRY_RUN),
      `${namespace}/${name} has unsupported annotation ${DRY_RUN}, please remove the annotation`,
    );
    return true;
  }
  for (const [rule, key, message] of INTERNAL_ANNOTATIONS) {
    if (Object.hasOwn(annotations, key)) {
      report.add(rule, annotationPath(key), message(goQuote(key)));
      return true;
    }
  }
  return false;
}

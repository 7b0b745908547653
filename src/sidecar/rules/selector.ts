// S1–S3: the workload selector. Label syntax is otherwise unchecked by Istio.
import { goQuote } from '../go/quote.js';
import type { Sidecar } from './decode.js';
import type { Report } from './report.js';

const LABELS_PATH = 'spec.workloadSelector.labels';

/** S1/S2 errors. Istio visits labels in random map order; we use document order. */
export function checkSelectorLabels(selector: Sidecar['workloadSelector'], report: Report): void {
  if (!selector) return;
  for (const [key, value] of selector.labels) {
    if (key === '')
      report.add('S1', labelPath(key), `empty key is not supported in selector: ${quotedPair(key, value)}`);
    if (key.includes('*') || value.includes('*'))
      report.add('S2', labelPath(key), `wildcard is not supported in selector: ${quotedPair(key, value)}`);
  }
}

// Built only for a finding: nearly every selector is fine.
const labelPath = (key: string): string => `${LABELS_PATH}[${key}]`;
const quotedPair = (key: string, value: string): string => goQuote(`${key}=${value}`);

/** S3: a selector with no labels selects every workload in the namespace. */
export function checkSelectorHasLabels(selector: Sidecar['workloadSelector'], report: Report): void {
  if (selector && selector.labels.length === 0) {
    report.add(
      'S3',
      LABELS_PATH,
      'sidecar: workload selector specified without labels, will be applied to all services in namespace',
    );
  }
}

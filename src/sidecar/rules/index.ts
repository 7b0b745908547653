// Istio's ValidateSidecar (with its metadata wrapper) as a pure function:
// the same checks, order, short-circuits and message texts, returned as
// findings instead of a (warning, error) pair.
import type { Violation } from '../violation.js';
import { toWellFormed } from '../go/strings.js';
import { decodeSidecar } from './decode.js';
import { undecodable } from './decoding.js';
import { checkEgressListeners } from './egress.js';
import { checkIngressListeners } from './ingress.js';
import { checkMetadata } from './metadata.js';
import { checkOutboundTrafficPolicy } from './outbound.js';
import { checkConnectionPool } from './pool.js';
import { newReport } from './report.js';
import { checkSelectorHasLabels, checkSelectorLabels } from './selector.js';

export { RULES } from './catalog.js';
export type { RuleId, RuleInfo } from './catalog.js';

export interface ObjectMeta {
  namespace: string;
  name: string;
  annotations?: Record<string, string> | null;
}

/** Istio's ValidateSidecar on one object. `spec` is the raw JSON object (already parsed). Never throws. */
export function validateIstio(spec: unknown, meta: ObjectMeta): Violation[] {
  const namespace = textOf(meta?.namespace);
  const report = newReport();

  // Istio's webhook decodes the spec before anything else; a failure is its only answer.
  const failure = undecodable(spec);
  if (failure) {
    report.add('J1', failure.path, failure.message);
    return report.list();
  }

  const annotations = meta?.annotations;
  const annotationMap = typeof annotations === 'object' && annotations !== null ? annotations : {};
  if (checkMetadata(annotationMap, namespace, textOf(meta?.name), report)) return report.list();

  const sidecar = decodeSidecar(spec);

  // Selector errors are returned alone, without any warning.
  checkSelectorLabels(sidecar.workloadSelector, report);
  if (report.size > 0) return report.list();
  checkSelectorHasLabels(sidecar.workloadSelector, report);

  const empty =
    sidecar.egress.length === 0 &&
    sidecar.ingress.length === 0 &&
    !sidecar.outboundTrafficPolicy &&
    !sidecar.inboundConnectionPool;
  if (empty) {
    // Returned alone: the selector warning is dropped too.
    const alone = newReport();
    alone.add('G1', 'spec', 'sidecar: empty configuration provided');
    return alone.list();
  }

  checkIngressListeners(sidecar.ingress, report);
  if (sidecar.inboundConnectionPool) {
    checkConnectionPool(sidecar.inboundConnectionPool, 'spec.inboundConnectionPool', report);
  }
  checkEgressListeners(sidecar.egress, namespace, report);
  checkOutboundTrafficPolicy(sidecar.outboundTrafficPolicy, report);
  return report.list();
}

function textOf(v: unknown): string {
  return typeof v === 'string' ? toWellFormed(v) : '';
}

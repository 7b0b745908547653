// The one decision function: an admission request and a read-only view of
// the cluster in, a Decision out. No I/O, no clock, no logging.
import { skipped, type Decision } from '../admission/decision.js';
import { sameIgnoringNullFields } from '../util/json.js';
import type { AdmissionRequest } from '../admission/types.js';
import type { ClusterView } from '../cluster/view.js';
import { crossObjectRules, type CrossOptions } from './cross-rules.js';
import { formatDenial, formatWarning } from './format.js';
import { isRecord, refOf, SIDECAR_GROUP, SIDECAR_KIND, type ObjectRef } from './object.js';
import { validateObject } from './validate.js';
import { errorsOf, warningsOf, type Violation } from './violation.js';

export type ReviewOptions = CrossOptions;

export interface ReviewContext {
  view: ClusterView;
  options: ReviewOptions;
}

const KNOWN_TOP_LEVEL = new Set(['apiVersion', 'kind', 'metadata', 'spec', 'status']);

export function isSidecarRequest(req: AdmissionRequest): boolean {
  return req.kind.group === SIDECAR_GROUP && req.kind.kind === SIDECAR_KIND && !req.subResource;
}

export function review(req: AdmissionRequest, ctx: ReviewContext): Decision {
  if (!isSidecarRequest(req)) return skipped();
  if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return skipped();
  const ref = refOf(req.object, req.namespace ?? 'default', req.name);
  return decide(ref, judge(req, ref, ctx));
}

/** Every finding about the requested object: schema, Istio's rules, then the cluster-wide rules. */
function judge(req: AdmissionRequest, ref: ObjectRef, ctx: ReviewContext): Violation[] {
  // An UPDATE without a usable oldObject is judged like a CREATE.
  const oldObject = req.operation === 'UPDATE' && isRecord(req.oldObject) ? req.oldObject : undefined;
  const own = validateObject(req.object, ref, { rejectUnknownFields: false });
  if (!own.wellFormed) return grandfathered(own.violations, req.object, oldObject);
  const findings = errorsOf(own.violations).length > 0 ? own.violations : [...own.violations, ...istioTopLevelFields(req, ref)];
  const cross = crossObjectRules({ object: req.object, oldObject, ref }, ctx.view, ctx.options);
  return grandfathered([...findings, ...cross], req.object, oldObject);
}

/**
 * Objects stored before the webhook existed (or before a rule changed) must
 * stay manageable: an UPDATE that leaves the spec as it was cannot make it
 * worse, so problems in the spec are warnings then (labels, annotations and
 * finalizers can still be edited); an object being deleted is never held up
 * (its finalizers must be removable). Metadata rules (M1–M4) still apply.
 */
function grandfathered(findings: Violation[], object: unknown, oldObject: Record<string, unknown> | undefined): Violation[] {
  if (!oldObject || !isRecord(object)) return findings;
  const deleting = isRecord(object.metadata) && object.metadata.deletionTimestamp != null;
  const specUnchanged = sameIgnoringNullFields(object.spec, oldObject.spec);
  if (!deleting && !specUnchanged) return findings;
  const why = deleting ? 'the Sidecar is being deleted' : 'the stored Sidecar already had this and the update leaves its spec unchanged';
  return findings.map((v) =>
    v.severity === 'error' && (deleting || v.path === 'spec' || v.path.startsWith('spec.') || v.path.startsWith('spec['))
      ? { ...v, severity: 'warning' as const, message: `${v.path}: ${v.message} [${v.rule}] (allowed: ${why})` }
      : v,
  );
}

/**
 * Istio's webhook refuses top-level keys it does not know, after validation
 * passed. The API server prunes them for CRDs, so only a hand-made request
 * ever gets here; the message is Istio's.
 */
function istioTopLevelFields(req: AdmissionRequest, ref: ObjectRef): Violation[] {
  if (!isRecord(req.object)) return [];
  return Object.keys(req.object)
    .filter((key) => !KNOWN_TOP_LEVEL.has(key))
    .map((key) => ({
      rule: 'istio.unknown-field',
      severity: 'error' as const,
      path: key,
      message: `unknown field ${JSON.stringify(key)} on ${req.kind.kind} resource ${req.namespace ?? ref.namespace}/${ref.name}`,
      hint: `remove the top-level field ${JSON.stringify(key)}; a Sidecar has only apiVersion, kind, metadata, spec and status`,
    }));
}

export function decide(ref: ObjectRef, findings: readonly Violation[]): Decision {
  const errors = errorsOf(findings);
  const warnings = warningsOf(findings);
  const warningTexts = warnings.map(formatWarning);
  if (errors.length > 0) {
    return {
      allowed: false,
      outcome: 'denied',
      code: 403,
      reason: 'Forbidden',
      message: formatDenial(ref, errors),
      warnings: warningTexts,
      rules: unique(errors.map((v) => v.rule)),
    };
  }
  return {
    allowed: true,
    outcome: warnings.length > 0 ? 'warned' : 'allowed',
    warnings: warningTexts,
    rules: unique(warnings.map((v) => v.rule)),
  };
}

const unique = (xs: string[]): string[] => [...new Set(xs)];

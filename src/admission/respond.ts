// The only constructors of AdmissionResponses, so that every answer echoes
// the request uid and has the shape the API server expects.
import type { Decision } from './decision.js';
import type { AdmissionResponse, AdmissionReview, JsonPatchOperation, Status } from './types.js';

const withWarnings = (r: AdmissionResponse, warnings: readonly string[]): AdmissionResponse =>
  warnings.length > 0 ? { ...r, warnings: [...warnings] } : r;

export function allowed(uid: string, warnings: readonly string[] = []): AdmissionResponse {
  return withWarnings({ uid, allowed: true }, warnings);
}

export function denied(
  uid: string,
  status: { code: number; reason: string; message: string },
  warnings: readonly string[] = [],
): AdmissionResponse {
  const body: Status = { status: 'Failure', code: status.code, reason: status.reason, message: status.message };
  return withWarnings({ uid, allowed: false, status: body }, warnings);
}

/**
 * A request we answer without judging it (its deadline already passed). To
 * kube-apiserver this is a denial; failures that should go by the webhook's
 * failurePolicy are answered with an HTTP error instead.
 */
export function errored(uid: string, code: number, message: string): AdmissionResponse {
  return {
    uid,
    allowed: false,
    status: { status: 'Failure', code, reason: code >= 500 ? 'InternalError' : 'BadRequest', message },
  };
}

export function patched(
  uid: string,
  ops: readonly JsonPatchOperation[],
  warnings: readonly string[] = [],
): AdmissionResponse {
  if (ops.length === 0) return allowed(uid, warnings);
  const patch = Buffer.from(JSON.stringify(ops)).toString('base64');
  return withWarnings({ uid, allowed: true, patchType: 'JSONPatch', patch }, warnings);
}

/** Wraps a response in the AdmissionReview envelope of the version the request used. */
export function toReview(apiVersion: string, response: AdmissionResponse): AdmissionReview {
  return { apiVersion, kind: 'AdmissionReview', response };
}

/** The AdmissionResponse for a reviewer's decision. */
export function fromDecision(uid: string, d: Decision): AdmissionResponse {
  if (!d.allowed) {
    return denied(
      uid,
      { code: d.code ?? 403, reason: d.reason ?? 'Forbidden', message: d.message ?? 'denied' },
      d.warnings,
    );
  }
  return d.patch ? patched(uid, d.patch, d.warnings) : allowed(uid, d.warnings);
}

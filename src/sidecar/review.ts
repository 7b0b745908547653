// The one decision function: a Sidecar (with the version it replaces) and a
// read-only view of the cluster in, findings out; review() wraps it for
// admission requests and decide() turns findings into a Decision. No I/O,
// no clock, no logging.
import { skipped, type Decision } from '../admission/decision.js';
import { isOwnKey, isRecord, sameIgnoringNullFields } from '../util/json.js';
import type { AdmissionRequest } from '../admission/types.js';
import type { ClusterView } from './view.js';
import { crossObjectRules, objectOnlyRules, type CrossOptions } from './cross-rules.js';
import { formatDenial, formatWarnings } from './format.js';
import { refOf, SIDECAR_GROUP, SIDECAR_KIND, type ObjectRef } from './object.js';
import { schemaViolation } from './schema/rules.js';
import { exceededLimit, MAX_OBJECT_BYTES, MAX_OBJECT_VALUES, WITHIN_LIMITS_TEXT_BYTES } from './size.js';
import { hasIstioMetadataAnnotation } from './rules/metadata.js';
import { validateObject, type ValidateOptions } from './validate.js';
import {
  capFindings,
  errorsOf,
  formatCount,
  hasError,
  joined,
  NO_FINDINGS,
  rulesOf,
  warningsOf,
  type Violation,
} from './violation.js';

/** What every entry point tells the rules: how selectors conflict, the root namespace, the opt-in hint. */
export type ReviewOptions = CrossOptions;

export interface ReviewContext {
  view: ClusterView;
  options: ReviewOptions;
}

/** One Sidecar to judge, as an entry point sees it. */
export interface Candidate {
  /** The object as it would be stored. */
  object: unknown;
  /**
   * The version it replaces: an UPDATE's oldObject, or in `check` the last
   * accepted document of the same object. Absent for a CREATE. Conflicts and
   * spec problems it already had are grandfathered.
   */
  oldObject?: Record<string, unknown> | undefined;
  ref: ObjectRef;
  /** The namespace the request addresses, which Istio's unknown-field message names (default: ref.namespace). */
  requestNamespace?: string | undefined;
  /**
   * Bytes of the JSON text the object was parsed from (with anything else
   * that text held, such as the review around it), when known: one within
   * WITHIN_LIMITS_TEXT_BYTES cannot be past a size limit, so it is not walked.
   */
  sourceBytes?: number | undefined;
}

export interface JudgeOptions extends ReviewOptions {
  /** kubectl's strict field validation (`check`) refuses unknown fields; the API server prunes them before webhooks. */
  rejectUnknownFields: boolean;
}

const KNOWN_TOP_LEVEL = new Set(['apiVersion', 'kind', 'metadata', 'spec', 'status']);

export function isSidecarRequest(req: AdmissionRequest): boolean {
  return req.kind.group === SIDECAR_GROUP && req.kind.kind === SIDECAR_KIND && !req.subResource;
}

/** The webhook's /validate: an admission request in, a Decision out. */
export function review(req: AdmissionRequest, ctx: ReviewContext, sourceBytes?: number): Decision {
  if (!isSidecarRequest(req)) return skipped();
  if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return skipped();
  const ref = refOf(req.object, req.namespace ?? 'default', req.name);
  // An UPDATE without a usable oldObject is judged like a CREATE.
  const oldObject = req.operation === 'UPDATE' && isRecord(req.oldObject) ? req.oldObject : undefined;
  const candidate: Candidate = { object: req.object, oldObject, ref, requestNamespace: req.namespace, sourceBytes };
  return decide(ref, judgeWith(candidate, ctx.view, ctx.options, false));
}

/**
 * The one decision pipeline, used by /validate (through review), `check` and
 * the namespace-defaults controller: the size no cluster can store refused
 * up front, the CRD schema and Istio's per-object rules, Istio's top-level
 * field check, then the cross-object rules against the view (none without
 * one, as in `check --isolated`, only those that need no other object), the grandfathering of what the replaced
 * version already had, and last the cap on how many findings one object
 * gets (FINDING_LIMITS).
 */
export function judge(candidate: Candidate, view: ClusterView | undefined, options: JudgeOptions): Violation[] {
  return judgeWith(candidate, view, options, options.rejectUnknownFields);
}

/**
 * judge() with the unknown-field choice apart from the options, so that
 * review() passes its context's options as they are rather than a copy per
 * request. The common case (a valid Sidecar) allocates little beyond what
 * the rules themselves do: no step copies a list it has nothing to add to.
 */
function judgeWith(
  candidate: Candidate,
  view: ClusterView | undefined,
  options: ReviewOptions,
  rejectUnknownFields: boolean,
): Violation[] {
  const { object, oldObject, ref } = candidate;
  const oversize = fromSmallText(candidate) ? undefined : exceededLimit(object);
  if (oversize) {
    const found = [tooLarge(oversize)];
    const eased = beingDeleted(object) || storedOversized(object, oldObject);
    return Array.from(eased ? grandfathered(found, object, oldObject) : found);
  }
  const own = validateObject(object, ref, rejectUnknownFields ? STRICT : LENIENT);
  const findings = withIstioTopLevelFields(own.violations, candidate, rejectUnknownFields);
  if (!own.wellFormed) return capFindings(grandfathered(findings, object, oldObject));
  // The candidate is the rules' input as it is (object, oldObject and ref).
  const cross = view ? crossObjectRules(candidate, view, options) : objectOnlyRules(candidate, options);
  return capFindings(grandfathered(joined(findings, besideErrors(cross, findings)), object, oldObject));
}

const STRICT: ValidateOptions = Object.freeze({ rejectUnknownFields: true });
const LENIENT: ValidateOptions = Object.freeze({ rejectUnknownFields: false });

/** The object came from a text too short to hold anything past a size limit (size.ts): the walk would only confirm it. */
function fromSmallText({ sourceBytes }: Candidate): boolean {
  return sourceBytes !== undefined && sourceBytes <= WITHIN_LIMITS_TEXT_BYTES;
}

/**
 * Judging costs time and memory in proportion to the object (seconds and
 * hundreds of MB for 3 MiB of host names), all of it on the thread that
 * answers everyone else: an object beyond the limits of size.ts is refused
 * without being judged.
 */
function tooLarge(limit: 'bytes' | 'values'): Violation {
  const why =
    limit === 'bytes'
      ? `the object is larger than ${formatCount(MAX_OBJECT_BYTES)} bytes (1.5 MiB) as JSON, the most etcd stores in one request by default`
      : `the object holds more than ${formatCount(MAX_OBJECT_VALUES)} values (list items, fields and map entries), more than sidecar-guard judges in one decision`;
  return schemaViolation('object.size', '', `${why}; it was not judged`);
}

/**
 * A field Istio's rules already refuse keeps that one explanation: a
 * cross-object warning at the same path (a short egress host has no registry
 * entry either) would only repeat it.
 */
function besideErrors(cross: readonly Violation[], own: readonly Violation[]): readonly Violation[] {
  if (cross.length === 0 || !hasError(own)) return cross;
  const refused = new Set(errorsOf(own).map((v) => v.path));
  return cross.filter((v) => v.severity === 'error' || !refused.has(v.path));
}

/**
 * Objects stored before the webhook existed (or before a rule changed) must
 * stay manageable: an UPDATE that leaves the spec as it was cannot make it
 * worse, so problems in the spec are warnings then (labels, annotations and
 * finalizers can still be edited); an object being deleted is never held up
 * (its finalizers must be removable). Metadata rules (M1–M4) still apply.
 * An object past the size limits (object.size) reaches this only when it is
 * being deleted, or when the stored version was past them too and the update
 * brings none of Istio's metadata annotations (M1–M4), which the size refusal
 * would otherwise be the only thing to catch (storedOversized): with its spec
 * unchanged it is eased too, so such a Sidecar stays relabelable and deletable.
 */
function grandfathered(
  findings: readonly Violation[],
  object: unknown,
  oldObject: Record<string, unknown> | undefined,
): readonly Violation[] {
  if (!oldObject || !isRecord(object)) return findings;
  const deleting = beingDeleted(object);
  const specUnchanged = sameIgnoringNullFields(object.spec, oldObject.spec);
  if (!deleting && !specUnchanged) return findings;
  const why = deleting
    ? 'the Sidecar is being deleted'
    : 'the stored Sidecar already had this and the update leaves its spec unchanged';
  const eased = findings.map((v) =>
    v.severity === 'error' && (deleting || isSpecPath(v.path) || v.rule === 'object.size')
      ? { ...v, severity: 'warning' as const, allowedBecause: why }
      : v,
  );
  return celNoteFollows(eased, why);
}

/**
 * An UPDATE of a Sidecar stored past the size limits already, which brings
 * none of M1–M4's annotations: its object.size may be grandfathered. An
 * object that only now grows past them, or carries one of those annotations,
 * is refused unjudged as any other (the rules that would catch it do not run).
 */
function storedOversized(object: unknown, oldObject: Record<string, unknown> | undefined): boolean {
  if (!oldObject || exceededLimit(oldObject) === undefined) return false;
  const annotations = isRecord(object) && isRecord(object.metadata) ? object.metadata.annotations : undefined;
  return !(isRecord(annotations) && hasIstioMetadataAnnotation(annotations));
}

const beingDeleted = (object: unknown): boolean =>
  isRecord(object) && isRecord(object.metadata) && object.metadata.deletionTimestamp != null;

const isSpecPath = (path: string): boolean => path === 'spec' || path.startsWith('spec.') || path.startsWith('spec[');

/**
 * The API server's "validation rules were not checked" note (schema.cel, no
 * path) is there because of the errors before it, and refuses nothing of its
 * own: once each of those is a warning, so is the note. Since Kubernetes 1.30
 * the API server ratchets CRD validation and stores an update whose invalid
 * fields are unchanged, so a Sidecar stored before a stricter CRD must stay
 * editable here too.
 */
function celNoteFollows(findings: readonly Violation[], why: string): readonly Violation[] {
  const note = findings.findIndex((v) => v.rule === 'schema.cel' && v.severity === 'error');
  if (note < 0 || findings.some((v, i) => i !== note && v.severity === 'error')) return findings;
  return findings.map((v, i) => (i === note ? { ...v, severity: 'warning' as const, allowedBecause: why } : v));
}

/**
 * Istio's webhook refuses top-level keys it does not know, after validation
 * passed. The API server prunes them for CRDs, so only a hand-made request
 * gets there. kubectl's strict field validation (`check`) refuses them before
 * anything else; there Istio's text replaces the schema's for the same key,
 * so each field keeps one explanation.
 */
function withIstioTopLevelFields(
  own: readonly Violation[],
  candidate: Candidate,
  strict: boolean,
): readonly Violation[] {
  if (!strict) return hasError(own) ? own : joined(own, istioTopLevelFields(candidate));
  const istio = new Map(istioTopLevelFields(candidate).map((v) => [v.path, v]));
  return own.map((v) => (v.rule === 'schema.unknown-field' && istio.get(v.path)) || v);
}

function istioTopLevelFields({ object, ref, requestNamespace }: Candidate): readonly Violation[] {
  // Every stored Sidecar has only known top-level keys: looked for before any list is made.
  if (!isRecord(object) || !hasUnknownTopLevelField(object)) return NO_FINDINGS;
  return Object.keys(object)
    .filter((key) => !KNOWN_TOP_LEVEL.has(key))
    .map((key) => ({
      rule: 'istio.unknown-field',
      severity: 'error' as const,
      path: key,
      message: `unknown field ${JSON.stringify(key)} on ${SIDECAR_KIND} resource ${requestNamespace ?? ref.namespace}/${ref.name}`,
      hint: `remove the top-level field ${JSON.stringify(key)}; a Sidecar has only apiVersion, kind, metadata, spec and status`,
    }));
}

function hasUnknownTopLevelField(object: Record<string, unknown>): boolean {
  for (const key in object) if (isOwnKey(object, key) && !KNOWN_TOP_LEVEL.has(key)) return true;
  return false;
}

/** The names of the other Sidecars the conflicts are with, once each (what a replica explains when one is pending). */
function peersOf(errors: readonly Violation[]): { peers?: string[] } {
  let peers: Set<string> | undefined;
  for (const e of errors) {
    if (!e.peer) continue;
    peers ??= new Set();
    peers.add(e.peer.name);
  }
  return peers ? { peers: [...peers] } : {};
}

/**
 * Findings to an answer: the denial message and the warnings are bounded for
 * kubectl (format.ts), whatever the number of findings; `rules` names every
 * rule involved, those of findings left out too.
 */
export function decide(ref: ObjectRef, findings: readonly Violation[]): Decision {
  // Nearly every request: nothing to format.
  if (findings.length === 0) return { allowed: true, outcome: 'allowed', warnings: [], rules: [] };
  const errors = errorsOf(findings);
  const warnings = warningsOf(findings);
  const warningTexts = formatWarnings(warnings);
  if (errors.length > 0) {
    return {
      allowed: false,
      outcome: 'denied',
      code: 403,
      reason: 'Forbidden',
      message: formatDenial(ref, errors),
      warnings: warningTexts,
      rules: rulesOf(errors),
      ...peersOf(errors),
    };
  }
  return {
    allowed: true,
    outcome: warnings.length > 0 ? 'warned' : 'allowed',
    warnings: warningTexts,
    rules: rulesOf(warnings),
  };
}

// Single-object validation: the CRD's structural schema (what the API server
// enforces before any webhook) plus Istio's own ValidateSidecar rules.
import { validateIstio } from './rules/index.js';
import { checkSchema } from './schema/index.js';
import { CEL_RULES_SKIPPED } from './schema/k8s-errors.js';
import { isOwnKey, isRecord } from '../util/json.js';
import { metadataOf, stringMap, type ObjectRef } from './object.js';
import { errorsOf, joined, type Violation } from './violation.js';

export interface ValidateOptions {
  /** kubectl's strict field validation refuses unknown fields; the API server prunes them before webhooks. */
  rejectUnknownFields: boolean;
}

export interface Validated {
  /** Only to be read: it may be a list the schema check or Istio's rules returned. */
  violations: readonly Violation[];
  /** false when JSON types were wrong, so nothing beyond the schema was judged. */
  wellFormed: boolean;
}

export function validateObject(obj: unknown, ref: ObjectRef, options: ValidateOptions): Validated {
  const schema = checkSchema(obj, options);
  // Like Istio's decoder, give up on semantics when the JSON types are wrong:
  // the rules would only be guessing about what the author meant.
  if (schema.fatal) return { violations: schema.violations, wellFormed: false };
  const meta = metadataOf(obj);
  const spec = isRecord(obj) ? obj.spec : undefined;
  const istio = validateIstio(spec ?? null, {
    namespace: ref.namespace,
    name: ref.name,
    annotations: stringAnnotations(meta.annotations),
  });
  return { violations: joined(withoutSuperseded(schema.violations, istio), istio), wellFormed: true };
}

/**
 * The annotations as Istio's rules read them: their string values
 * (stringMap). Past the schema check every value is a string or null, and
 * nearly always a string: then the object itself has the same own keys and
 * values, and is passed as it is rather than copied (the rules only read it).
 */
function stringAnnotations(annotations: unknown): Record<string, string> {
  if (annotations === undefined || annotations === null) return NO_ANNOTATIONS;
  return isRecord(annotations) && onlyStrings(annotations)
    ? (annotations as Record<string, string>)
    : stringMap(annotations);
}

const NO_ANNOTATIONS: Record<string, string> = Object.freeze(Object.create(null) as Record<string, string>);

function onlyStrings(map: Record<string, unknown>): boolean {
  for (const key in map) if (isOwnKey(map, key) && typeof map[key] !== 'string') return false;
  return true;
}

/**
 * A field gets one explanation: when an Istio rule reports an error at the
 * path of a schema finding or inside it (a missing ingress port, an egress
 * listener without hosts, a duration under 1ms, a null listener whose port
 * Istio then misses), Istio's more specific text wins. Paths are looked up in
 * a sorted list, not compared pairwise: a list of 10,000 nulls is 10,000
 * schema findings and 10,000 Istio ones.
 */
function withoutSuperseded(schema: readonly Violation[], istio: readonly Violation[]): readonly Violation[] {
  if (schema.length === 0) return schema;
  const istioErrorPaths = errorsOf(istio)
    .filter((v) => !v.omitted)
    .map((v) => v.path)
    .sort();
  if (istioErrorPaths.length === 0) return schema;
  const kept = schema.filter((v) => v.message === CEL_RULES_SKIPPED || !holds(istioErrorPaths, v.path));
  // The API server's note that CEL rules were skipped belongs to the structural errors; alone it says nothing.
  return kept.every((v) => v.message === CEL_RULES_SKIPPED) ? [] : kept;
}

/**
 * Whether a sorted list holds `parent` or a path inside it: `spec.ingress[0]`
 * holds `spec.ingress[0].port`; `spec.ingress[0]` does not hold
 * `spec.ingress[01]`, and `` holds nothing but itself.
 */
function holds(sorted: readonly string[], parent: string): boolean {
  if (hasPrefix(sorted, parent, true)) return true;
  return parent !== '' && (hasPrefix(sorted, `${parent}.`, false) || hasPrefix(sorted, `${parent}[`, false));
}

/** Binary search for the first entry >= prefix; it equals (exact) or starts with the prefix. */
function hasPrefix(sorted: readonly string[], prefix: string, exact: boolean): boolean {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < prefix) lo = mid + 1;
    else hi = mid;
  }
  const found = sorted[lo];
  return found !== undefined && (exact ? found === prefix : found.startsWith(prefix));
}

// Single-object validation: the CRD's structural schema (what the API server
// enforces before any webhook) plus Istio's own ValidateSidecar rules.
import { validateIstio } from './rules/index.js';
import { checkSchema } from './schema/index.js';
import { CEL_RULES_SKIPPED } from './schema/k8s-errors.js';
import { isRecord } from '../util/json.js';
import { metadataOf, stringMap, type ObjectRef } from './object.js';
import { errorsOf, type Violation } from './violation.js';

export interface ValidateOptions {
  /** kubectl's strict field validation refuses unknown fields; the API server prunes them before webhooks. */
  rejectUnknownFields: boolean;
}

export interface Validated {
  violations: Violation[];
  /** false when JSON types were wrong, so nothing beyond the schema was judged. */
  wellFormed: boolean;
}

export function validateObject(obj: unknown, ref: ObjectRef, options: ValidateOptions): Validated {
  const schema = checkSchema(obj, { rejectUnknownFields: options.rejectUnknownFields });
  // Like Istio's decoder, give up on semantics when the JSON types are wrong:
  // the rules would only be guessing about what the author meant.
  if (schema.fatal) return { violations: schema.violations, wellFormed: false };
  const meta = metadataOf(obj);
  const spec = isRecord(obj) ? obj.spec : undefined;
  const istio = validateIstio(spec ?? null, {
    namespace: ref.namespace,
    name: ref.name,
    annotations: stringMap(meta.annotations),
  });
  return { violations: [...withoutSuperseded(schema.violations, istio), ...istio], wellFormed: true };
}

/**
 * A field gets one explanation: when an Istio rule reports an error at the
 * path of a schema finding or inside it (a missing ingress port, an egress
 * listener without hosts, a duration under 1ms, a null listener whose port
 * Istio then misses), Istio's more specific text wins.
 */
function withoutSuperseded(schema: Violation[], istio: Violation[]): Violation[] {
  const istioErrorPaths = errorsOf(istio).map((v) => v.path);
  if (istioErrorPaths.length === 0) return schema;
  const kept = schema.filter((v) => v.message === CEL_RULES_SKIPPED || !istioErrorPaths.some((p) => p === v.path || isInside(p, v.path)));
  // The API server's note that CEL rules were skipped belongs to the structural errors; alone it says nothing.
  return kept.every((v) => v.message === CEL_RULES_SKIPPED) ? [] : kept;
}

/** `spec.ingress[0].port` is inside `spec.ingress[0]`; `spec.ingress[01]` is not inside `spec.ingress[0]`. */
function isInside(path: string, parent: string): boolean {
  if (parent === '') return false;
  return path.startsWith(parent) && (path[parent.length] === '.' || path[parent.length] === '[');
}

// Structural checks the Kubernetes API server applies to a Sidecar custom
// resource: the CRD's schema (types, enums, bounds, required fields, sizes and
// CEL rules), ObjectMeta rules, apiVersion/kind and, optionally, the unknown
// fields that kubectl's strict validation refuses. The spec schema is compiled
// once, at module load, by an Ajv instance of our own.
import { _, Ajv, type ErrorObject, type FuncKeywordDefinition, type KeywordCxt } from 'ajv';
import type { Violation } from '../violation.js';
import { celRuleFor } from './cel.js';
import {
  CEL_RULES_SKIPPED,
  goValue,
  INT64_LIMIT,
  jsonTypeOf,
  notSupported,
  requiredValue,
  rootTypeInvalid,
} from './k8s-errors.js';
import { CEL_KEYWORD, describeAjvError, INT64_KEYWORD, type CelErrorParams } from './messages.js';
import { checkMetadata } from './metadata.js';
import { schemaViolation } from './rules.js';
import type { CelRuleSpec, SchemaNode } from './schema-node.js';
import { CRD_GROUP, CRD_KIND, CRD_VERSIONS, SIDECAR_SCHEMA } from './sidecar-schema.gen.js';
import { findUnknownFields } from './unknown-fields.js';
import { isRecord, ownValue } from '../../util/json.js';

export { SCHEMA_RULES, type SchemaRule, type SchemaRuleId } from './rules.js';

export interface SchemaOptions {
  rejectUnknownFields: boolean;
}

export interface SchemaResult {
  violations: Violation[]; // every structural finding, errors only, all collected (allErrors)
  /** true when some value has the wrong JSON type (other than null where an object/scalar was expected),
   *  so the semantic rules cannot safely read the object. Nulls alone never make it fatal. */
  fatal: boolean;
}

/** The served versions, most preferred first (Kubernetes version priority: GA, then beta, then alpha). */
export const SERVED_VERSIONS: readonly string[] = Object.freeze(
  CRD_VERSIONS.filter((v) => v.served)
    .map((v) => v.name)
    .sort(compareVersionPriority),
);

const API_VERSIONS: readonly string[] = SERVED_VERSIONS.map((v) => `${CRD_GROUP}/${v}`);

const SPEC_SCHEMA: SchemaNode = requireSpecSchema(SIDECAR_SCHEMA);
const SPEC_HAS_CEL_RULES = JSON.stringify(SPEC_SCHEMA).includes(`"${CEL_KEYWORD}"`);

// status is deliberately not compiled: the CRD has a status subresource, so the
// API server drops status on create and keeps the stored one on update; only
// its unknown fields (found while decoding) can make kubectl refuse an object.
const validateSpec = createAjv({ allErrors: true }).compile(withInt64Check(SPEC_SCHEMA));
// The same schema stopping at its first error: Ajv lists every error of a
// spec, and 700,000 numbers in a host list are 700,000 errors (seconds and
// GBs), so a large spec that fails is described by its first error only.
const firstSpecError = createAjv({ allErrors: false }).compile(withInt64Check(SPEC_SCHEMA));

/**
 * Specs with more values than this that fail the schema get their first
 * error only (rule schema.partial). Listing every error of a spec this size
 * costs at most about a tenth of a second; a valid spec is checked in full
 * at any size.
 */
export const FULL_SCHEMA_CHECK_VALUES = 20_000;

/** Checks a whole Sidecar object (apiVersion, kind, metadata, spec, status). Never throws. */
export function checkSchema(object: unknown, options: SchemaOptions): SchemaResult {
  try {
    // Every finding, as the API server lists them (the schema differential compares them one by one);
    // judge() caps what one object shows, and size.ts bounds how many there can be.
    return checkObject(object, options?.rejectUnknownFields === true);
  } catch (error) {
    // Not expected; a checker that throws would turn a bad object into a webhook failure.
    const detail = error instanceof Error ? error.message : String(error);
    return {
      violations: [schemaViolation('schema.type', '', `Internal error: the object could not be checked: ${detail}`)],
      fatal: true,
    };
  }
}

function checkObject(object: unknown, rejectUnknownFields: boolean): SchemaResult {
  if (!isRecord(object)) {
    // The whole object is missing or not an object (a hand-made review; kube-apiserver always sends one).
    const violation = schemaViolation('schema.type', '', rootTypeInvalid(jsonTypeOf(object)));
    return { violations: [{ ...violation, hint: NOT_AN_OBJECT_HINT }], fatal: true };
  }
  const violations: Violation[] = [];
  // Like the API server, an object that is not a Sidecar by its kind or
  // apiVersion is refused for that alone: nothing else is checked.
  if (!checkTypeMeta(object, violations)) return { violations, fatal: true };
  if (rejectUnknownFields) findUnknownFields(object, SIDECAR_SCHEMA, violations);
  const metaStart = violations.length;
  let fatal = checkMetadata(ownValue(object, 'metadata'), rejectUnknownFields, violations);
  let blocking = someBlocking(violations, metaStart);
  const spec = ownValue(object, 'spec');
  // A null spec is pruned by the API server like any other null property.
  const checked = spec !== undefined && spec !== null ? checkSpec(spec, violations) : VALID_SPEC;
  fatal = checked.fatal || fatal;
  blocking = checked.blocking || blocking;
  // The API server evaluates CEL rules after the OpenAPI checks, and not at
  // all when one of those found a blocking error; it says so instead.
  if (!blocking) violations.push(...checked.cel);
  else if (SPEC_HAS_CEL_RULES)
    // This note quotes no rule: its fix is the other errors', after which the rules run.
    violations.push({ ...schemaViolation('schema.cel', '', CEL_RULES_SKIPPED), hint: CEL_SKIPPED_HINT });
  return { violations, fatal };
}

const NOT_AN_OBJECT_HINT = 'Send the Sidecar itself, a JSON object with apiVersion, kind, metadata and spec.';

const CEL_SKIPPED_HINT =
  "Fix the other errors first; the API server then checks the CRD's validation rules, which may find more.";

/** The field error types that stop the API server's CEL rules, as metadata findings word them. */
const BLOCKING_METADATA = /^(Required value|Unsupported value|Too long|Too many)\b/;

/** Whether a metadata finding from index `start` on stops the CEL rules. */
function someBlocking(violations: readonly Violation[], start: number): boolean {
  for (let i = start; i < violations.length; i++) if (BLOCKING_METADATA.test(violations[i]!.message)) return true;
  return false;
}

interface SpecChecked {
  readonly fatal: boolean;
  readonly blocking: boolean;
  /** The CEL rules' findings, which the caller adds only when nothing blocks them. */
  readonly cel: readonly Violation[];
}

/**
 * The data context of a validation from the root, as Ajv's validator
 * defaults it (rootData defaults to the data), shared: without one the
 * validator makes an empty object per call to read those defaults from.
 */
const ROOT_CONTEXT = Object.freeze({ instancePath: '' }) as Parameters<typeof firstSpecError>[1];

/** What a spec that passes the schema gives, shared: nearly every spec does. */
const VALID_SPEC: SpecChecked = Object.freeze({ fatal: false, blocking: false, cel: Object.freeze([]) });

function checkSpec(spec: unknown, out: Violation[]): SpecChecked {
  if (firstSpecError(spec, ROOT_CONTEXT)) return VALID_SPEC;
  if (hasMoreValues(spec, FULL_SCHEMA_CHECK_VALUES)) {
    const first = firstSpecError.errors?.[0];
    if (first) out.push(describeAjvError(first, spec, 'spec', SPEC_SCHEMA).violation);
    out.push(
      schemaViolation(
        'schema.partial',
        'spec',
        `only the first schema error is listed: the spec holds more than ${FULL_SCHEMA_CHECK_VALUES.toLocaleString('en-US')} values, and listing every error of a spec that large would hold up every other admission request; Istio's rules were not run`,
      ),
    );
    // Nothing else is judged: Istio's rules would run on a spec the API server refuses.
    return { fatal: true, blocking: false, cel: [] };
  }
  validateSpec(spec);
  let fatal = false;
  let blocking = false;
  const cel: Violation[] = [];
  for (const error of validateSpec.errors ?? []) {
    const described = describeAjvError(error, spec, 'spec', SPEC_SCHEMA);
    fatal ||= described.fatal;
    blocking ||= described.blocking;
    (error.keyword === CEL_KEYWORD ? cel : out).push(described.violation);
  }
  return { fatal, blocking, cel };
}

/** Checks apiVersion and kind; false when the object is not a Sidecar by them. */
function checkTypeMeta(object: Record<string, unknown>, out: Violation[]): boolean {
  const before = out.length;
  const apiVersion = ownValue(object, 'apiVersion');
  if (apiVersion === undefined || apiVersion === null || apiVersion === '') {
    out.push(schemaViolation('object.kind', 'apiVersion', requiredValue()));
  } else if (typeof apiVersion !== 'string' || !API_VERSIONS.includes(apiVersion)) {
    out.push(schemaViolation('object.kind', 'apiVersion', notSupported(apiVersion, API_VERSIONS)));
  }
  const kind = ownValue(object, 'kind');
  if (kind === undefined || kind === null || kind === '') {
    out.push(schemaViolation('object.kind', 'kind', requiredValue()));
  } else if (kind !== CRD_KIND) {
    out.push(schemaViolation('object.kind', 'kind', `Invalid value: ${goValue(kind)}: must be ${CRD_KIND}`));
  }
  return out.length === before;
}

/** Whether `value` holds more than `limit` JSON values (itself included); stops counting past the limit. */
function hasMoreValues(value: unknown, limit: number): boolean {
  let count = 0;
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const v = pending.pop();
    if (++count > limit) return true;
    if (Array.isArray(v)) {
      if (count + v.length > limit) return true;
      for (const item of v) pending.push(item);
    } else if (isRecord(v)) {
      const values = Object.values(v);
      if (count + values.length > limit) return true;
      for (const item of values) pending.push(item);
    }
  }
  return false;
}

function createAjv({ allErrors }: { allErrors: boolean }): Ajv {
  const ajv = new Ajv({
    allErrors,
    strict: true,
    coerceTypes: false,
    useDefaults: false,
    removeAdditional: false,
    // We word errors ourselves; Ajv's message strings would only cost time.
    messages: false,
  });
  ajv.addKeyword(celKeyword());
  // Kept in the generated schema for the unknown-field walk and for the record.
  ajv.addKeyword('x-kubernetes-preserve-unknown-fields');
  ajv.addKeyword('x-kubernetes-int-or-string');
  ajv.addKeyword({
    keyword: INT64_KEYWORD,
    type: 'number',
    schemaType: 'boolean',
    // Written into the validator as an expression: a `validate` function would
    // be called with a context object (and its path string) made per number.
    code(cxt: KeywordCxt) {
      cxt.fail(_`!(Math.abs(${cxt.data}) < ${INT64_LIMIT})`);
    },
  });
  return ajv;
}

/**
 * A copy of the schema in which every `type: integer` also carries
 * INT64_KEYWORD: JavaScript calls 1e300 an integer, Go's decoder makes it a
 * float64, so the API server reports a type error for it.
 */
function withInt64Check(node: SchemaNode): SchemaNode {
  const copy: Record<string, unknown> = { ...node };
  if (node.type === 'integer') copy[INT64_KEYWORD] = true;
  if (node.properties)
    copy.properties = Object.fromEntries(Object.entries(node.properties).map(([k, v]) => [k, withInt64Check(v)]));
  if (node.items) copy.items = withInt64Check(node.items);
  if (typeof node.additionalProperties === 'object')
    copy.additionalProperties = withInt64Check(node.additionalProperties);
  if (node.anyOf) copy.anyOf = node.anyOf.map(withInt64Check);
  return copy as SchemaNode;
}

type DataValidate = ReturnType<NonNullable<FuncKeywordDefinition['compile']>>;

/** `x-kubernetes-validations` as an Ajv keyword: each rule runs the implementation registered for its text in cel.ts. */
function celKeyword(): FuncKeywordDefinition {
  return {
    keyword: CEL_KEYWORD,
    schemaType: 'array',
    type: ['string', 'object'],
    errors: true,
    compile(specs: readonly CelRuleSpec[]): DataValidate {
      const rules = specs.map((spec) => ({ spec, rule: celRuleFor(spec.rule) }));
      const validate: DataValidate = function evaluateCelRules(data: unknown): boolean {
        let errors: Partial<ErrorObject>[] | undefined;
        const selfType = jsonTypeOf(data);
        for (const { spec, rule } of rules) {
          if (selfType !== rule.selfType) continue;
          const outcome = rule.evaluate(data);
          if (outcome.kind === 'pass') continue;
          const params: CelErrorParams =
            outcome.kind === 'error'
              ? { message: spec.message, selfType: rule.selfType, evalError: outcome.error }
              : { message: spec.message, selfType: rule.selfType };
          errors ??= [];
          errors.push({ keyword: CEL_KEYWORD, params: params as unknown as Record<string, unknown> });
        }
        validate.errors = errors;
        return errors === undefined;
      };
      return validate;
    },
  };
}

function requireSpecSchema(root: SchemaNode): SchemaNode {
  const spec = root.properties?.spec;
  if (spec === undefined) throw new Error('the generated Sidecar schema has no spec');
  return spec;
}

// Kubernetes orders versions GA before beta before alpha, then by major and
// minor number, highest first: v1, v1beta1, v1alpha3.
function compareVersionPriority(a: string, b: string): number {
  const pa = versionPriority(a);
  const pb = versionPriority(b);
  for (let i = 0; i < pa.length; i++) {
    const diff = (pb[i] ?? 0) - (pa[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

function versionPriority(version: string): readonly number[] {
  const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(version);
  if (m === null) return [0, 0, 0];
  const stability = m[2] === undefined ? 3 : m[2] === 'beta' ? 2 : 1;
  return [stability, Number(m[1]), Number(m[3] ?? 0)];
}

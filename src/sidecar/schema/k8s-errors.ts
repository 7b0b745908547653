// Kubernetes field-error wording (k8s.io/apimachinery util/validation/field):
// the text after "<path>: " in an API server rejection, e.g.
//   Invalid value: "Foo": <detail>      Required value      Too many: 3: must have at most 2 items
// Values are printed like Go does (%q for strings, %v for numbers), because the
// API server's messages are what users compare ours with.
import { goQuote as quoteGoString } from '../go/quote.js';

/** Go's int64 holds integers below 2^63 in magnitude; larger JSON numbers decode as float64. */
export const INT64_LIMIT = 2 ** 63;

/** Quoted values longer than this are cut, so a hostile 3 MB name cannot make a 3 MB message. */
const MAX_QUOTED_CHARS = 4096;
/** Budget for printing an object or array value (rare: only where a scalar was expected). */
const MAX_COMPOSITE_CHARS = 200;

export type JsonTypeName = 'null' | 'string' | 'integer' | 'number' | 'boolean' | 'array' | 'object';

/** The JSON type of a decoded value, as kube-openapi names it in type errors. */
export function jsonTypeOf(value: unknown): JsonTypeName {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'array';
  switch (typeof value) {
    case 'string':
      return 'string';
    case 'boolean':
      return 'boolean';
    case 'number':
      // The API server's decoder keeps a JSON number as int64 only when it is an integer in int64's range
      // (JavaScript prints larger integers with an exponent or as digits that overflow int64); else float64.
      return Number.isInteger(value) && Math.abs(value) < INT64_LIMIT ? 'integer' : 'number';
    case 'bigint':
      return 'integer';
    default:
      return 'object';
  }
}

export const requiredValue = (detail = ''): string => (detail === '' ? 'Required value' : `Required value: ${detail}`);

export const invalidValue = (value: unknown, detail: string): string => `Invalid value: ${goValue(value)}: ${detail}`;

/** CEL failures on objects and arrays omit the value. */
export const invalidOmittedValue = (detail: string): string => `Invalid value: ${detail}`;

export function notSupported(value: unknown, supported: readonly string[]): string {
  return `Unsupported value: ${goValue(value)}: supported values: ${supported.map(goQuote).join(', ')}`;
}

export const tooLong = (maxBytes: number): string => `Too long: may not be more than ${maxBytes} bytes`;

export const tooMany = (actual: number, max: number): string => `Too many: ${actual}: must have at most ${max} items`;

/** kube-openapi's type error, wrapped as the API server does: the value shown is the actual JSON type. */
export function typeInvalid(path: string, expected: string, actual: JsonTypeName): string {
  return `Invalid value: ${goQuote(actual)}: ${path} in body must be of type ${expected}: ${goQuote(actual)}`;
}

/** The whole object is not a JSON object. */
export function rootTypeInvalid(actual: JsonTypeName): string {
  return `Invalid value: ${goQuote(actual)}: must be of type object: ${goQuote(actual)}`;
}

/**
 * The API server's note when structural errors (a wrong type, a missing
 * required field, an unsupported enum value, too long, too many) kept it from
 * running the CRD's CEL rules; it carries no field (kubectl shows "<nil>: ").
 */
export const CEL_RULES_SKIPPED =
  'Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation';

/**
 * Strict field validation (kubectl --validate=strict) rejects pruned fields
 * with this text; the API server writes the path between quotes as it is
 * (`unknown field "%s"`), without escaping.
 */
export const unknownField = (path: string): string => `unknown field "${path}"`;

/** A value as field.Error prints it: %q for strings, %v for numbers and booleans. */
export function goValue(value: unknown): string {
  if (typeof value === 'string') return goQuote(value);
  if (typeof value === 'number') return goNumber(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'object') return compositeValue(value);
  // Not JSON (bigint, symbol, function): only reachable from programmatic callers.
  return goQuote(typeof value === 'bigint' ? value.toString() : typeof value);
}

/** Go's %q (strconv.Quote) for a string, cut at MAX_QUOTED_CHARS (the "..." inside the quotes, as Kubernetes prints it). */
export function goQuote(input: string): string {
  if (input.length <= MAX_QUOTED_CHARS) return quoteGoString(input);
  // Never cut between the two halves of a surrogate pair: that would print a character that is not there.
  const end = isHighSurrogate(input.charCodeAt(MAX_QUOTED_CHARS - 1)) ? MAX_QUOTED_CHARS - 1 : MAX_QUOTED_CHARS;
  return `${quoteGoString(input.slice(0, end)).slice(0, -1)}..."`;
}

const isHighSurrogate = (code: number): boolean => code >= 0xd800 && code <= 0xdbff;

const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');

/**
 * Go's %v for a decoded JSON number: integers that fit int64 print in full;
 * anything else is a float64 (goFloat).
 */
export function goNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < INT64_LIMIT) return BigInt(n).toString();
  return goFloat(n);
}

/** Go's %v for a float64: the shortest digits, with an exponent when it is below -4 or at least 6 (1e+06, 4.5e-05). */
export function goFloat(n: number): string {
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : n < 0 ? '-Inf' : 'NaN';
  const [mantissa = '0', exponentText = '0'] = n.toExponential().split('e');
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 6) {
    const sign = exponent < 0 ? '-' : '+';
    return `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  return String(n);
}

// A list or map value is printed as Go's json.Marshal writes it (field.Error
// does so for anything but a scalar): map keys sorted, <, > and & escaped.
// Bounded in depth and length so that hostile input stays cheap (the API
// server prints it whole).
function compositeValue(value: unknown): string {
  let out = '';
  const write = (v: unknown, depth: number): void => {
    if (out.length > MAX_COMPOSITE_CHARS) return;
    if (typeof v === 'string')
      out += goJsonString(v.length > MAX_COMPOSITE_CHARS ? v.slice(0, MAX_COMPOSITE_CHARS) : v);
    else if (typeof v === 'number') out += Number.isFinite(v) ? JSON.stringify(v) : 'null';
    else if (typeof v === 'boolean') out += v ? 'true' : 'false';
    else if (typeof v !== 'object' || v === null) out += 'null';
    else if (depth >= 4) out += Array.isArray(v) ? '[...]' : '{...}';
    else if (Array.isArray(v)) {
      out += '[';
      for (let i = 0; i < v.length && out.length <= MAX_COMPOSITE_CHARS; i++) {
        if (i > 0) out += ',';
        write(v[i], depth + 1);
      }
      out += ']';
    } else {
      out += '{';
      let first = true;
      for (const key of goMapOrder(Object.keys(v))) {
        if (out.length > MAX_COMPOSITE_CHARS) break;
        if (!first) out += ',';
        first = false;
        out += `${goJsonString(key.slice(0, MAX_COMPOSITE_CHARS))}:`;
        write((v as Record<string, unknown>)[key], depth + 1);
      }
      out += '}';
    }
  };
  write(value, 0);
  return out.length > MAX_COMPOSITE_CHARS ? `${out.slice(0, MAX_COMPOSITE_CHARS)}...` : out;
}

/** Keys beyond this many are printed unsorted: sorting them is not worth the time for a message that shows 200 characters. */
const MAX_SORTED_KEYS = 10_000;

/** Go marshals map keys in byte order of their UTF-8, which is code point order. */
function goMapOrder(keys: string[]): string[] {
  return keys.length > MAX_SORTED_KEYS ? keys : keys.sort(byCodePoint);
}

function byCodePoint(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** UTF-16 code units ranked in code point order: surrogates (astral characters) after U+E000–U+FFFF. */
const codePointRank = (unit: number): number => (unit >= 0xe000 ? unit - 0x800 : unit >= 0xd800 ? unit + 0x2000 : unit);

/** A JSON string as Go's encoder writes it: HTML-safe, U+2028/U+2029 escaped, a lone surrogate as U+FFFD. */
function goJsonString(s: string): string {
  return JSON.stringify(s.replace(LONE_SURROGATE, '\ufffd')).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${hex(c.charCodeAt(0), 4)}`,
  );
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

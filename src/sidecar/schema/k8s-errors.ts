// Kubernetes field-error wording (k8s.io/apimachinery util/validation/field):
// the text after "<path>: " in an API server rejection, e.g.
//   Invalid value: "Foo": <detail>      Required value      Too many: 3: must have at most 2 items
// Values are printed like Go does (%q for strings, %v for numbers), because the
// API server's messages are what users compare ours with.

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
      return Number.isInteger(value) ? 'integer' : 'number';
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

/** Strict field validation (kubectl --validate=strict) rejects pruned fields with this text. */
export const unknownField = (path: string): string => `unknown field ${goQuote(path)}`;

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

/** Go's %q (strconv.Quote) for a string, cut at MAX_QUOTED_CHARS. */
export function goQuote(input: string): string {
  const cut = input.length > MAX_QUOTED_CHARS;
  const s = cut ? input.slice(0, MAX_QUOTED_CHARS) : input;
  let out = '"';
  for (const ch of s) out += quoteRune(ch);
  return `${out}${cut ? '...' : ''}"`;
}

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;
const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v', '"': '\\"', '\\': '\\\\',
};

function quoteRune(ch: string): string {
  const simple = SIMPLE_ESCAPES[ch];
  if (simple !== undefined) return simple;
  const code = ch.codePointAt(0)!;
  // A lone surrogate cannot come out of Go's JSON decoder: it turns them into U+FFFD.
  if (code >= 0xd800 && code <= 0xdfff) return '\ufffd';
  if (PRINTABLE.test(ch)) return ch;
  if (code < 0x80) return `\\x${hex(code, 2)}`;
  if (code < 0x10000) return `\\u${hex(code, 4)}`;
  return `\\U${hex(code, 8)}`;
}

const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');

const INT64_LIMIT = 2 ** 63;

/**
 * Go's %v for a decoded JSON number: integers that fit int64 print in full;
 * anything else is a float64, printed with the shortest digits and an exponent
 * when the exponent is below -4 or at least 6 (1e+06, 4.5e-05).
 */
export function goNumber(n: number): string {
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : n < 0 ? '-Inf' : 'NaN';
  if (Number.isInteger(n) && Math.abs(n) < INT64_LIMIT) return BigInt(n).toString();
  const [mantissa = '0', exponentText = '0'] = n.toExponential().split('e');
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 6) {
    const sign = exponent < 0 ? '-' : '+';
    return `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  return String(n);
}

// Go would print a map or slice with %#v; a short JSON rendering is closer to
// what users wrote. Bounded in depth and length so that hostile input stays cheap.
function compositeValue(value: unknown): string {
  let out = '';
  const write = (v: unknown, depth: number): void => {
    if (out.length > MAX_COMPOSITE_CHARS) return;
    if (typeof v === 'string') out += goQuote(v.length > MAX_COMPOSITE_CHARS ? v.slice(0, MAX_COMPOSITE_CHARS) : v);
    else if (typeof v !== 'object' || v === null) out += goValue(v);
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
      for (const key of Object.keys(v)) {
        if (out.length > MAX_COMPOSITE_CHARS) break;
        if (!first) out += ',';
        first = false;
        out += `${goQuote(key.slice(0, MAX_COMPOSITE_CHARS))}:`;
        write((v as Record<string, unknown>)[key], depth + 1);
      }
      out += '}';
    }
  };
  write(value, 0);
  return out.length > MAX_COMPOSITE_CHARS ? `${out.slice(0, MAX_COMPOSITE_CHARS)}...` : out;
}

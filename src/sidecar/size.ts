// How much one decision will judge. Judging costs time and memory in
// proportion to the object, on the one thread that also answers every other
// admission request and the kubelet's probes; so an object beyond either
// limit below is refused up front, after counting no further than the limit.
//
// - Bytes: etcd refuses a request larger than its --max-request-bytes
//   (1.5 MiB by default), and kube-apiserver stores a custom resource as its
//   JSON, so no larger Sidecar exists in a cluster with the default.
//   kube-apiserver still forwards one (up to its 3 MiB body limit; a dry run
//   never reaches etcd).
// - Values: within 1.5 MiB an object can hold 390,000 one-letter hosts, and
//   the rules cost a few microseconds per list item; 50,000 values bound one
//   decision to 0.16 s of CPU on the 2-core development machine
//   (docs/reliability.md, "Bounded output") while leaving room for tens of
//   thousands of hosts.
import { isOwnKey, isRecord } from '../util/json.js';

/** etcd's default --max-request-bytes: the largest object a cluster with the default can store. */
export const MAX_OBJECT_BYTES = 1.5 * 1024 * 1024;
/** JSON values (every list item, field value and map value, and the object itself) one decision judges at most. */
export const MAX_OBJECT_VALUES = 50_000;

/**
 * A JSON text of at most this many bytes holds no object past either limit,
 * so an object parsed from one is not walked (judge's Candidate.sourceBytes).
 * The counts below are lower bounds of the object's own JSON text: a string
 * at its UTF-16 length (no shorter in the text, escapes only lengthen it; nor
 * in UTF-8 bytes), a number at one digit, every bracket, brace, comma, key
 * and its quotes and colon as written. And every value takes at least two
 * characters of text (`0,` in a list, `"":0,` in an object, `{}` for the
 * outermost), so 2 × (MAX_OBJECT_VALUES − 1) characters hold at most
 * MAX_OBJECT_VALUES values.
 */
export const WITHIN_LIMITS_TEXT_BYTES = Math.min(MAX_OBJECT_BYTES, 2 * (MAX_OBJECT_VALUES - 1));

export interface SizeLimits {
  readonly bytes: number;
  readonly values: number;
}

interface Frame {
  readonly items: readonly unknown[];
  next: number;
}

/** The limits above, shared so that a call with the defaults allocates nothing. */
const DEFAULT_LIMITS: SizeLimits = Object.freeze({ bytes: MAX_OBJECT_BYTES, values: MAX_OBJECT_VALUES });

/**
 * Which limit `value` exceeds, if any. Bytes are counted from below: every
 * string at its UTF-16 length (UTF-8 is never shorter), every number as one
 * digit, no whitespace; so 'bytes' means no encoder can write the object
 * within the limit. Stops once past either limit (a list is counted by its
 * length before its items are looked at); depth costs heap, not stack.
 */
export function exceededLimit(value: unknown, limits: SizeLimits = DEFAULT_LIMITS): 'bytes' | 'values' | undefined {
  // Nearly every object is within both limits, which one walk that allocates
  // nothing tells: the totals do not depend on the order of counting, and
  // within both limits in all means within them at every point. Past a limit
  // (or nested deeper than FAST_DEPTH), which limit is passed first depends
  // on the order, which the iterative walk defines.
  fastBytes = isContainer(value) ? 0 : scalarBytes(value);
  fastValues = 1;
  const counted = !isContainer(value) || countContainer(value, 0, limits);
  const within = counted && fastBytes <= limits.bytes && fastValues <= limits.values;
  return within ? undefined : firstLimitExceeded(value, limits);
}

/** Nesting the allocation-free count follows; anything deeper is counted by firstLimitExceeded. */
const FAST_DEPTH = 64;
let fastBytes = 0;
let fastValues = 0;

const isContainer = (v: unknown): v is object => typeof v === 'object' && v !== null;

/**
 * Adds what firstLimitExceeded counts for a list or an object and what it
 * holds to fastBytes and fastValues, recursively, one pass over an object's
 * keys; false as soon as a total is past its limit (so an oversized object
 * costs no more than the iterative walk) or `v` nests deeper than FAST_DEPTH.
 * Scalars, most values, are counted in the loops rather than by a call each.
 */
function countContainer(v: object, depth: number, limits: SizeLimits): boolean {
  if (depth >= FAST_DEPTH) return false;
  if (Array.isArray(v)) {
    fastValues += v.length;
    fastBytes += 2 + Math.max(0, v.length - 1); // brackets and commas
    if (fastValues > limits.values || fastBytes > limits.bytes) return false;
    for (let i = 0; i < v.length; i++) {
      const item: unknown = v[i];
      if (!isContainer(item)) fastBytes += scalarBytes(item);
      else if (!countContainer(item, depth + 1, limits)) return false;
    }
    return fastBytes <= limits.bytes;
  }
  const record = v as Record<string, unknown>;
  fastBytes += 2; // braces
  let comma = 0;
  for (const k in record) {
    if (!isOwnKey(record, k)) continue;
    fastValues++;
    fastBytes += comma + k.length + 3; // "key":
    comma = 1;
    if (fastValues > limits.values) return false;
    const item = record[k];
    if (!isContainer(item)) fastBytes += scalarBytes(item);
    else if (!countContainer(item, depth + 1, limits)) return false;
  }
  return fastBytes <= limits.bytes;
}

/** Which limit the value passes first, counting no further than that; iterative, so depth costs heap, not stack. */
export function firstLimitExceeded(value: unknown, limits: SizeLimits): 'bytes' | 'values' | undefined {
  let bytes = 0;
  let values = 1;
  const stack: Frame[] = [{ items: [value], next: 0 }];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    if (frame.next >= frame.items.length) {
      stack.pop();
      continue;
    }
    const v = frame.items[frame.next++];
    bytes += scalarBytes(v);
    if (Array.isArray(v)) {
      values += v.length;
      bytes += 2 + Math.max(0, v.length - 1); // brackets and commas
      if (v.length > 0) stack.push({ items: v, next: 0 });
    } else if (isRecord(v)) {
      const keys = Object.keys(v);
      values += keys.length;
      if (values > limits.values) return 'values';
      bytes += 2 + Math.max(0, keys.length - 1); // braces and commas
      const items: unknown[] = new Array(keys.length);
      for (let i = 0; i < keys.length; i++) {
        bytes += keys[i]!.length + 3; // "key":
        items[i] = v[keys[i]!];
      }
      if (items.length > 0) stack.push({ items, next: 0 });
    }
    if (bytes > limits.bytes) return 'bytes';
    if (values > limits.values) return 'values';
  }
  return undefined;
}

function scalarBytes(v: unknown): number {
  switch (typeof v) {
    case 'string':
      return v.length + 2;
    case 'number':
      return 1;
    case 'boolean':
      return v ? 4 : 5;
    default:
      return v === null ? 4 : 0;
  }
}

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
 * within the limit. Iterative, and stops once past either limit (a list is
 * counted by its length before its items are looked at).
 */
export function exceededLimit(value: unknown, limits: SizeLimits = DEFAULT_LIMITS): 'bytes' | 'values' | undefined {
  // Every real Sidecar is a few levels deep: counted without allocating. Deeper values take the iterative walk.
  fastBytes = 0;
  fastValues = 1;
  const found = countValue(value, 0, limits);
  if (found === TOO_DEEP) return firstLimitExceeded(value, limits);
  return found === BYTES ? 'bytes' : found === VALUES ? 'values' : undefined;
}

/** Nesting the allocation-free count follows; anything deeper is counted by firstLimitExceeded. */
const FAST_DEPTH = 64;
const WITHIN = 0;
const BYTES = 1;
const VALUES = 2;
const TOO_DEEP = 3;
let fastBytes = 0;
let fastValues = 0;

/**
 * firstLimitExceeded's walk, recursively and without allocating: the same
 * values in the same order (depth first, an object's keys counted when the
 * object is reached), the same totals and the same checks at the same
 * points, so the same answer; TOO_DEEP past FAST_DEPTH levels. Scalars are
 * counted in their container's loop (countScalar), not by a call of their own.
 */
function countValue(v: unknown, depth: number, limits: SizeLimits): number {
  return typeof v === 'object' && v !== null ? countContainer(v, depth, limits) : countScalar(v, limits);
}

function countScalar(v: unknown, limits: SizeLimits): number {
  fastBytes += scalarBytes(v);
  if (fastBytes > limits.bytes) return BYTES;
  if (fastValues > limits.values) return VALUES;
  return WITHIN;
}

function countContainer(v: object, depth: number, limits: SizeLimits): number {
  if (depth >= FAST_DEPTH) return TOO_DEEP;
  if (Array.isArray(v)) {
    fastValues += v.length;
    fastBytes += 2 + Math.max(0, v.length - 1); // brackets and commas
    if (fastBytes > limits.bytes) return BYTES;
    if (fastValues > limits.values) return VALUES;
    for (let i = 0; i < v.length; i++) {
      const found = countValue(v[i], depth + 1, limits);
      if (found !== WITHIN) return found;
    }
    return WITHIN;
  }
  const record = v as Record<string, unknown>;
  let keys = 0;
  let keyBytes = 0;
  for (const k in record) {
    if (!isOwnKey(record, k)) continue;
    keys++;
    keyBytes += k.length + 3; // "key":
  }
  fastValues += keys;
  if (fastValues > limits.values) return VALUES;
  fastBytes += 2 + Math.max(0, keys - 1) + keyBytes; // braces, commas and keys
  if (fastBytes > limits.bytes) return BYTES;
  for (const k in record) {
    if (!isOwnKey(record, k)) continue;
    const found = countValue(record[k], depth + 1, limits);
    if (found !== WITHIN) return found;
  }
  return WITHIN;
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

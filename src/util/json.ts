// One test for "a JSON object" (not null, not an array), used wherever
// untrusted JSON is read.
export const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Own properties only: a key like "constructor" must not find Object.prototype's. */
export const ownValue = (o: Record<string, unknown>, key: string): unknown =>
  Object.hasOwn(o, key) ? o[key] : undefined;

/**
 * The key test of a `for (const key in o)` loop: V8 proves
 * `Object.prototype.hasOwnProperty.call(o, key)` true for the loop's own
 * object and key and drops it, where Object.hasOwn stays a lookup per key
 * (as costly as the rest of a size count of a real Sidecar). Inherited
 * enumerable keys, which parsed JSON never has, are still skipped.
 */
export const isOwnKey = (o: object, key: string): boolean =>
  // biome-ignore lint/suspicious/noPrototypeBuiltins: the form V8 optimises inside for...in (see above)
  Object.prototype.hasOwnProperty.call(o, key);

/**
 * Whether two JSON values are equal when a field that is null counts as
 * absent (Istio decodes both alike). A null list element is kept: it decodes
 * to an empty object, not to nothing. An object nested as deep as
 * kube-apiserver allows (10,000 levels) cannot overflow the stack: past
 * SAME_DEPTH levels the comparison is left to the iterative walk.
 */
export function sameIgnoringNullFields(a: unknown, b: unknown): boolean {
  // Every real spec is a few levels deep: compared recursively, without allocating.
  const found = compare(a ?? undefined, b ?? undefined, 0);
  return found === TOO_DEEP ? sameIgnoringNullFieldsIteratively(a, b) : found === SAME;
}

/** Nesting the recursive comparison follows; anything deeper is compared by the iterative walk. */
const SAME_DEPTH = 64;
const SAME = 0;
const DIFFERENT = 1;
const TOO_DEEP = 2;

/** sameIgnoringNullFieldsIteratively's comparison of two values (nulls already made undefined), recursively. */
function compare(x: unknown, y: unknown, depth: number): number {
  if (x === y) return SAME;
  if (Array.isArray(x) && Array.isArray(y)) {
    if (x.length !== y.length) return DIFFERENT;
    if (depth >= SAME_DEPTH) return TOO_DEEP;
    for (let i = 0; i < x.length; i++) {
      const found = compare(x[i], y[i], depth + 1);
      if (found !== SAME) return found;
    }
    return SAME;
  }
  if (!isRecord(x) || !isRecord(y)) return DIFFERENT;
  if (depth >= SAME_DEPTH) return TOO_DEEP;
  for (const key in x) {
    if (!isOwnKey(x, key)) continue;
    const found = compare(x[key] ?? undefined, ownValue(y, key) ?? undefined, depth + 1);
    if (found !== SAME) return found;
  }
  // The keys of y that x lacks: absent in x, so they must be absent or null in y.
  for (const key in y) {
    if (isOwnKey(y, key) && !Object.hasOwn(x, key) && y[key] != null) return DIFFERENT;
  }
  return SAME;
}

/** sameIgnoringNullFields, iteratively: depth costs heap, not stack. */
export function sameIgnoringNullFieldsIteratively(a: unknown, b: unknown): boolean {
  const pending: [unknown, unknown][] = [[a ?? undefined, b ?? undefined]];
  while (pending.length > 0) {
    const [x, y] = pending.pop()!;
    if (x === y) continue;
    if (Array.isArray(x) && Array.isArray(y)) {
      if (x.length !== y.length) return false;
      for (let i = 0; i < x.length; i++) pending.push([x[i], y[i]]);
      continue;
    }
    if (!isRecord(x) || !isRecord(y)) return false;
    for (const key of new Set([...Object.keys(x), ...Object.keys(y)])) {
      pending.push([ownValue(x, key) ?? undefined, ownValue(y, key) ?? undefined]);
    }
  }
  return true;
}

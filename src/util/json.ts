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
 * to an empty object, not to nothing. Iterative, so an object nested as deep
 * as kube-apiserver allows (10,000 levels) cannot overflow the stack.
 */
export function sameIgnoringNullFields(a: unknown, b: unknown): boolean {
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

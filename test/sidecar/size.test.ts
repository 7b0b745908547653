// exceededLimit's allocation-free count (which leaves an object past a limit
// to the iterative walk) agrees with the iterative walk (firstLimitExceeded)
// on every value: shallow and deeper than its recursion goes, within and past
// either limit.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { exceededLimit, firstLimitExceeded, MAX_OBJECT_BYTES, MAX_OBJECT_VALUES } from '../../src/sidecar/size.js';
import { random } from '../helpers/random.js';

function value(r: () => number, depth: number, maxDepth: number): unknown {
  const pick = r();
  if (depth >= maxDepth || pick < 0.35) {
    const scalars = ['', 'x', 'a longer string value', 1, 2.5, true, false, null];
    return scalars[Math.floor(r() * scalars.length)];
  }
  if (pick < 0.65) return Array.from({ length: Math.floor(r() * 4) }, () => value(r, depth + 1, maxDepth));
  const out: Record<string, unknown> = {};
  for (let i = Math.floor(r() * 4); i > 0; i--) out[`k${Math.floor(r() * 100)}`] = value(r, depth + 1, maxDepth);
  return out;
}

function nested(depth: number): unknown {
  let v: unknown = 'leaf';
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { v };
  return v;
}

describe('exceededLimit', () => {
  test('agrees with the iterative walk on random values and limits', () => {
    const r = random(20);
    for (let i = 0; i < 3_000; i++) {
      const v = value(r, 0, 1 + Math.floor(r() * 8));
      const limits = { bytes: Math.floor(r() * 300), values: Math.floor(r() * 40) };
      assert.equal(
        exceededLimit(v, limits),
        firstLimitExceeded(v, limits),
        `case ${i}: ${JSON.stringify(v)} ${JSON.stringify(limits)}`,
      );
      assert.equal(exceededLimit(v), firstLimitExceeded(v, { bytes: MAX_OBJECT_BYTES, values: MAX_OBJECT_VALUES }));
    }
  });

  test('values nested deeper than the recursion goes are counted by the iterative walk', () => {
    for (const depth of [63, 64, 65, 500, 20_000]) {
      const v = nested(depth);
      assert.equal(exceededLimit(v), undefined, `depth ${depth}`);
      assert.equal(exceededLimit(v, { bytes: 100, values: MAX_OBJECT_VALUES }), 'bytes', `depth ${depth}`);
      assert.equal(
        exceededLimit(v, { bytes: MAX_OBJECT_BYTES, values: 10 }),
        firstLimitExceeded(v, { bytes: MAX_OBJECT_BYTES, values: 10 }),
        `depth ${depth}`,
      );
    }
  });

  test('counts own keys only: a "__proto__" key of parsed JSON counts, inherited enumerable keys do not', () => {
    const parsed = JSON.parse('{"__proto__": {"a": "xyz"}, "b": [1, 2]}') as unknown;
    const inherited = Object.assign(Object.create({ inherited: 'a long inherited value' }) as object, { own: 'x' });
    for (const v of [parsed, inherited, [inherited], { nested: inherited }]) {
      for (const limits of [
        { bytes: MAX_OBJECT_BYTES, values: MAX_OBJECT_VALUES },
        { bytes: 20, values: MAX_OBJECT_VALUES },
        { bytes: MAX_OBJECT_BYTES, values: 3 },
        { bytes: MAX_OBJECT_BYTES, values: 2 },
      ]) {
        assert.equal(
          exceededLimit(v, limits),
          firstLimitExceeded(v, limits),
          `${JSON.stringify(v)} ${JSON.stringify(limits)}`,
        );
      }
    }
    assert.equal(exceededLimit(inherited, { bytes: 12, values: 10 }), undefined); // {"own":"x"}: 11
    assert.equal(exceededLimit(parsed, { bytes: MAX_OBJECT_BYTES, values: 4 }), 'values'); // root, 2 keys, a, 2 items
  });
});

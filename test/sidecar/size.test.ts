// exceededLimit's allocation-free count (which leaves an object past a limit
// to the iterative walk) agrees with the iterative walk (firstLimitExceeded)
// on every value: shallow and deeper than its recursion goes, within and past
// either limit.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  exceededLimit,
  firstLimitExceeded,
  MAX_OBJECT_BYTES,
  MAX_OBJECT_VALUES,
  WITHIN_LIMITS_TEXT_BYTES,
} from '../../src/sidecar/size.js';
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

describe('WITHIN_LIMITS_TEXT_BYTES: a text that short holds nothing past a limit', () => {
  /** The densest texts per value: a list of zeros, a list of empty lists, an object of one-letter keys. */
  const dense = (n: number) => [
    `[${Array(n).fill('0').join(',')}]`,
    `[${Array(n).fill('[]').join(',')}]`,
    `{${Array.from({ length: n }, (_, i) => `${JSON.stringify(i.toString(36))}:0`).join(',')}}`,
  ];

  test('the densest texts within the bound are within both limits, and the first past the values limit is past the bound', () => {
    for (const text of dense(MAX_OBJECT_VALUES - 2)) {
      if (text.length > WITHIN_LIMITS_TEXT_BYTES) continue;
      assert.equal(exceededLimit(JSON.parse(text)), undefined, text.slice(0, 40));
    }
    // 50,000 zeros and their list are 50,001 values: past the limit, and their text past the bound.
    const [zeros] = dense(MAX_OBJECT_VALUES);
    assert.equal(exceededLimit(JSON.parse(zeros!)), 'values');
    assert.ok(zeros!.length > WITHIN_LIMITS_TEXT_BYTES);
    assert.equal(dense(MAX_OBJECT_VALUES - 1)[0]!.length, WITHIN_LIMITS_TEXT_BYTES + 1);
  });

  test('strings count no longer than their text: escapes and non-ASCII only lengthen it', () => {
    const s = String.raw`é\n\u0041\ud83d\ude00`.repeat(20_000);
    const text = `{"a":"${s}"}`;
    assert.ok(Buffer.byteLength(text) > WITHIN_LIMITS_TEXT_BYTES); // so nothing is skipped for it...
    const value = JSON.parse(text) as unknown;
    // ...but its count stays below its text, whatever the limit.
    assert.equal(exceededLimit(value, { bytes: Buffer.byteLength(text), values: MAX_OBJECT_VALUES }), undefined);
    assert.equal(exceededLimit(value, { bytes: text.length, values: MAX_OBJECT_VALUES }), undefined);
  });
});

// sameIgnoringNullFields' recursive comparison (which leaves deep values to
// the iterative walk) agrees with the iterative walk on generated pairs:
// equal ones, ones that differ by a null field, a null list element, a
// missing key, a changed scalar, and values deeper than the recursion goes.
// Its rules on small cases are in test/sidecar/review.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sameIgnoringNullFields, sameIgnoringNullFieldsIteratively } from '../../src/util/json.js';
import { random } from '../helpers/random.js';

function value(r: () => number, depth: number): unknown {
  const pick = r();
  if (depth >= 4 || pick < 0.4) return [null, 1, 0, '', 'x', true, false, Number.NaN][Math.floor(r() * 8)];
  if (pick < 0.6) return Array.from({ length: Math.floor(r() * 3) }, () => value(r, depth + 1));
  const out: Record<string, unknown> = {};
  for (let i = Math.floor(r() * 4); i > 0; i--)
    out[['a', 'b', 'c', '__proto__'][Math.floor(r() * 4)]!] = value(r, depth + 1);
  return out;
}

/** `v` with one change somewhere, or none: a field nulled, removed or added as null, a value replaced. */
function changed(r: () => number, v: unknown): unknown {
  const copy = structuredClone(v);
  const containers: unknown[] = [];
  const walk = (x: unknown) => {
    if (typeof x === 'object' && x !== null) {
      containers.push(x);
      for (const item of Object.values(x)) walk(item);
    }
  };
  walk(copy);
  const target = containers[Math.floor(r() * containers.length)] as Record<string, unknown> | undefined;
  if (!target) return r() < 0.5 ? copy : value(r, 3);
  const keys = Object.keys(target);
  const key = keys[Math.floor(r() * keys.length)] ?? 'z';
  const what = r();
  if (what < 0.25) target[key] = null;
  else if (what < 0.5 && !Array.isArray(target)) delete target[key];
  else if (what < 0.65 && !Array.isArray(target))
    Object.defineProperty(target, 'extra', { value: null, enumerable: true });
  else if (what < 0.9) target[key] = value(r, 3);
  return copy;
}

describe('sameIgnoringNullFields', () => {
  test('agrees with the iterative walk on generated pairs', () => {
    const r = random(11);
    const answers = { true: 0, false: 0 };
    for (let i = 0; i < 5_000; i++) {
      const a = value(r, 0);
      const b = changed(r, a);
      const expected = sameIgnoringNullFieldsIteratively(a, b);
      answers[`${expected}`]++;
      assert.equal(sameIgnoringNullFields(a, b), expected, `${JSON.stringify(a)} ${JSON.stringify(b)}`);
      assert.equal(sameIgnoringNullFields(b, a), sameIgnoringNullFieldsIteratively(b, a));
    }
    assert.ok(answers.true > 1_000 && answers.false > 1_000, JSON.stringify(answers));
  });

  test('values deeper than the recursion goes are compared by the iterative walk', () => {
    for (const depth of [63, 64, 65, 1_000]) {
      const nested = (leaf: unknown, extra: unknown) => {
        let v: unknown = leaf;
        for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { v, extra };
        return v;
      };
      assert.equal(sameIgnoringNullFields(nested('x', null), nested('x', undefined)), true, `depth ${depth}`);
      assert.equal(sameIgnoringNullFields(nested('x', null), nested('y', null)), false, `depth ${depth}`);
      assert.equal(sameIgnoringNullFields(nested('x', null), nested('x', 1)), false, `depth ${depth}`);
    }
  });
});

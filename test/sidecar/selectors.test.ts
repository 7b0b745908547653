import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  mergeSelectors,
  pairsCompatible,
  pairsEqual,
  sameSelector,
  selectorOf,
  selectorPairs,
  selectorString,
  sharedLabels,
} from '../../src/sidecar/selectors.js';

const labels = fc.dictionary(
  fc.constantFrom('app', 'version', 'tier', 'team', 'a/b', '__proto__', 'constructor', 'toString'),
  fc.constantFrom('x', 'y', 'z'),
  { maxKeys: 4 },
);
const asLabels = (o: Record<string, string>) => Object.assign(Object.create(null), o) as Record<string, string>;

describe('selectors', () => {
  test('selectorOf: absent, null, {} and empty labels are namespace-wide (null)', () => {
    for (const spec of [
      {},
      { workloadSelector: null },
      { workloadSelector: {} },
      { workloadSelector: { labels: {} } },
      { workloadSelector: { labels: null } },
    ]) {
      assert.equal(selectorOf({ spec }), null, JSON.stringify(spec));
    }
    assert.deepEqual({ ...selectorOf({ spec: { workloadSelector: { labels: { app: 'x', n: 3 } } } }) }, { app: 'x' });
    assert.equal(selectorOf({ spec: { workloadSelector: { labels: { n: 3 } } } }), null);
  });

  test('selectorOf: labels that are all strings are used as they are, anything else is copied without the rest', () => {
    const labels = { app: 'x', version: 'v1' };
    assert.equal(selectorOf({ spec: { workloadSelector: { labels } } }), labels, 'no copy');
    const inherited = Object.assign(Object.create({ team: 'a' }), { app: 'x' });
    const copied = selectorOf({ spec: { workloadSelector: { labels: inherited } } })!;
    assert.notEqual(copied, inherited);
    assert.deepEqual(Object.keys(copied), ['app'], 'an inherited property is no label');
  });

  test('pairsCompatible agrees with mergeSelectors, pairsEqual with sameSelector (property)', () => {
    fc.assert(
      fc.property(labels, labels, (a, b) => {
        const [la, lb] = [asLabels(a), asLabels(b)];
        assert.equal(pairsCompatible(selectorPairs(la), selectorPairs(lb)), mergeSelectors(la, lb) !== null);
        assert.equal(pairsEqual(selectorPairs(la), selectorPairs(lb)), sameSelector(la, lb));
      }),
      { numRuns: 2000 },
    );
  });

  test("a request's selector paired as overlaps() pairs it (plain JSON labels, an own __proto__ possible) agrees with the stored form (property)", () => {
    fc.assert(
      fc.property(labels, labels, fc.constantFrom('labels', 'identical', 'pods', 'workloads'), (a, b, mode) => {
        // As selectorOf returns a request's labels: a plain JSON object (Object.prototype, own "__proto__" possible).
        const json = JSON.parse(JSON.stringify(a)) as Record<string, string>;
        if (Object.keys(json).length === 0) return;
        const [la, lb] = [asLabels(a), asLabels(b)];
        const expected = sharedLabels(
          { selector: la, selectorPairs: selectorPairs(la) },
          { selector: lb, selectorPairs: selectorPairs(lb) },
          mode,
        );
        const got = sharedLabels(
          { selector: json, selectorPairs: selectorPairs(json) },
          { selector: lb, selectorPairs: selectorPairs(lb) },
          mode,
        );
        assert.deepEqual(got && { ...got }, expected && { ...expected }, `${JSON.stringify(a)} ${JSON.stringify(b)}`);
      }),
      { numRuns: 2000 },
    );
  });

  test('merging gives the labels both require; selectorString sorts keys like the analyzer', () => {
    const merged = mergeSelectors(asLabels({ app: 'r' }), asLabels({ version: 'v2', app: 'r' }))!;
    assert.equal(selectorString(merged), 'app=r,version=v2');
    assert.equal(mergeSelectors(asLabels({ app: 'r' }), asLabels({ app: 's' })), null);
  });
});

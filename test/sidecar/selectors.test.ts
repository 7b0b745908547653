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
} from '../../src/sidecar/selectors.js';

const labels = fc.dictionary(
  fc.constantFrom('app', 'version', 'tier', 'team', 'a/b', '__proto__'),
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

  test('merging gives the labels both require; selectorString sorts keys like the analyzer', () => {
    const merged = mergeSelectors(asLabels({ app: 'r' }), asLabels({ version: 'v2', app: 'r' }))!;
    assert.equal(selectorString(merged), 'app=r,version=v2');
    assert.equal(mergeSelectors(asLabels({ app: 'r' }), asLabels({ app: 's' })), null);
  });
});

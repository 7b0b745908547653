// Istio's own Sidecar test cases (converted to JSON, see test/fixtures/README.md):
// every vector's exact error and warning messages must come out of validateIstio.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateIstio } from '../../src/sidecar/rules/index.js';
import { sorted, vectors } from '../helpers/vectors.js';

const hasSelector = (spec: unknown): boolean => typeof spec === 'object' && spec !== null && 'workloadSelector' in spec;

describe('Istio Sidecar vectors', () => {
  it('has all 62 vectors', () => {
    assert.equal(vectors.length, 62);
  });

  for (const vec of vectors) {
    it(`${vec.id} ${vec.name}`, () => {
      const found = validateIstio(vec.spec, { namespace: vec.namespace ?? 'default', name: 'foo' });
      const errors = found.filter((v) => v.severity === 'error').map((v) => v.message);
      const warnings = found.filter((v) => v.severity === 'warning').map((v) => v.message);
      if (hasSelector(vec.spec)) {
        assert.deepEqual(sorted(errors), sorted(vec.derivedErrors), 'errors');
        assert.deepEqual(sorted(warnings), sorted(vec.derivedWarnings), 'warnings');
      } else {
        // Without selector labels Istio's order is deterministic: keep it.
        assert.deepEqual(errors, vec.derivedErrors, 'errors');
        assert.deepEqual(warnings, vec.derivedWarnings, 'warnings');
      }
      assert.equal(errors.length === 0, vec.valid, 'valid');
      assert.equal(warnings.length > 0, vec.warning, 'warning');
    });
  }
});

// The Istio vectors through the two user-facing doors, `check` and
// `/validate`, the way the acceptance set is run: the verdict, the exact
// error messages (as a multiset) and the exact warnings must match Istio's.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sidecarReview, testApp } from '../helpers/app.js';
import { runCli } from '../helpers/cli.js';
import { sorted, vectors, type Vector } from '../helpers/vectors.js';

const sidecar = (v: Vector) => ({ apiVersion: 'networking.istio.io/v1', kind: 'Sidecar', metadata: { name: 'foo', namespace: v.namespace ?? 'default' }, spec: v.spec });

describe('Istio vectors through `check --output json`', () => {
  for (const v of vectors) {
    test(`${v.id} ${v.name}`, async () => {
      const res = await runCli(['check', '-o', 'json', '-'], { stdin: JSON.stringify(sidecar(v)) });
      const [r] = JSON.parse(res.stdout).results;
      assert.equal(r.allowed, v.valid);
      assert.equal(res.code, v.valid ? 0 : 1);
      assert.deepEqual(sorted(r.errors.map((e: { message: string }) => e.message)), sorted(v.derivedErrors));
      assert.deepEqual(sorted(r.warnings.map((e: { message: string }) => e.message)), sorted(v.derivedWarnings));
    });
  }
});

describe('Istio vectors through /validate', () => {
  const { app } = testApp();
  for (const v of vectors) {
    test(`${v.id} ${v.name}`, async () => {
      const review = sidecarReview(sidecar(v));
      const res = await app.inject({ method: 'POST', url: '/validate', payload: review });
      const { response } = res.json();
      assert.equal(response.uid, review.request.uid);
      assert.equal(response.allowed, v.valid);
      assert.deepEqual(sorted(response.warnings ?? []), sorted(v.derivedWarnings));
      if (!v.valid) {
        assert.equal(response.status.code, 403);
        for (const message of v.derivedErrors) assert.ok(response.status.message.includes(`: ${message} [`), `${message} missing from ${response.status.message}`);
      }
    });
  }
});

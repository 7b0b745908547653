// The Istio vectors through the two user-facing doors, `check` and
// `/validate`, the way the acceptance set is run: the verdict, the exact
// error messages (as a multiset) and the exact warnings must match Istio's.
// sidecar-guard's own advisories (KIA1007 for an outboundTrafficPolicy
// without a mode, `workloadSelector: {}`) come on top: they name the object,
// which Istio's warnings never do, and are compared apart.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sidecarReview, testApp } from '../helpers/app.js';
import { runCli } from '../helpers/cli.js';
import { sorted, vectors, type Vector } from '../helpers/vectors.js';

const sidecar = (v: Vector) => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'Sidecar',
  metadata: { name: 'foo', namespace: v.namespace ?? 'default' },
  spec: v.spec,
});
const isOwnAdvisory = (v: Vector) => (message: string) => message.startsWith(`Sidecar ${v.namespace ?? 'default'}/foo`);

describe('Istio vectors through `check --output json`', () => {
  for (const v of vectors) {
    test(`${v.id} ${v.name}`, async () => {
      const res = await runCli(['check', '-o', 'json', '-'], { stdin: JSON.stringify(sidecar(v)) });
      const [r] = JSON.parse(res.stdout).results;
      assert.equal(r.allowed, v.valid);
      assert.equal(res.code, v.valid ? 0 : 1);
      assert.deepEqual(sorted(r.errors.map((e: { message: string }) => e.message)), sorted(v.derivedErrors));
      const warnings: string[] = r.warnings.map((e: { message: string }) => e.message);
      assert.deepEqual(sorted(warnings.filter((m) => !isOwnAdvisory(v)(m))), sorted(v.derivedWarnings));
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
      const warnings: string[] = response.warnings ?? [];
      assert.deepEqual(sorted(warnings.filter((m) => !isOwnAdvisory(v)(m))), sorted(v.derivedWarnings));
      if (!v.valid) {
        assert.equal(response.status.code, 403);
        for (const message of v.derivedErrors)
          assert.ok(
            response.status.message.includes(`: ${message} [`),
            `${message} missing from ${response.status.message}`,
          );
      }
    });
  }
});

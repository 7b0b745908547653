// The Sidecar examples from the seed documents, judged by `check` one file at
// a time: what their authors published, and what Istio's rules say about it.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fixture, runCli } from '../helpers/cli.js';

const E2 = 'sidecar: the egress listener with empty port should be the last listener in the list';
const H4 = 'short names (non FQDN) are not allowed';
const exactly = (text: string) => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
const REJECTED: Record<string, { rule: string; message: RegExp }> = {
  // The catch-all listener is not last: Istio's E2.
  '000-07.yaml': { rule: 'E2', message: exactly(E2) },
  '000-13.yaml': { rule: 'E2', message: exactly(E2) },
  // A field the CRD does not define.
  '002-02.yaml': { rule: 'schema.unknown-field', message: /unknown field "spec\.ingress\[1\]\.inboundTls"/ },
  // Short host names such as backend/orders-service: Istio's H4 wants namespace/FQDN.
  '000-02.yaml': { rule: 'H4', message: exactly(H4) },
  '000-03.yaml': { rule: 'H4', message: exactly(H4) },
  '000-10.yaml': { rule: 'H4', message: exactly(H4) },
  '000-12.yaml': { rule: 'H4', message: exactly(H4) },
};

const files = readdirSync(fixture('seeds'))
  .filter((f) => f.endsWith('.yaml'))
  .sort();

describe('check on the seed examples', () => {
  test('there are seed examples to check', () => assert.ok(files.length >= 20));

  for (const file of files) {
    const expected = REJECTED[file];
    test(`${file} is ${expected ? `rejected (${expected.rule})` : 'allowed'}`, async () => {
      const res = await runCli(['check', '--output', 'json', fixture(`seeds/${file}`)]);
      const out = JSON.parse(res.stdout);
      if (!expected) {
        assert.equal(res.code, 0, res.stdout);
        assert.ok(out.results.every((r: { allowed: boolean }) => r.allowed));
        return;
      }
      assert.equal(res.code, 1);
      const errors = out.results.flatMap((r: { errors: { rule: string; message: string }[] }) => r.errors);
      const hit = errors.find((e: { rule: string }) => e.rule === expected.rule);
      assert.ok(hit, `expected a ${expected.rule} error, got ${JSON.stringify(errors)}`);
      assert.match(hit.message, expected.message);
    });
  }
});

// Every rule's examples, as `sidecar-guard explain` prints them, through
// `check` (the webhook's decision pipeline with the cross-object rules):
// the invalid one makes its rule fire, the fixed one does not. A rule
// without an example must say why.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { noExampleReason, RULE_EXAMPLES } from '../../src/sidecar/rule-examples.js';
import { RULE_REGISTRY } from '../../src/sidecar/rule-registry.js';
import { runCli } from '../helpers/cli.js';

async function rulesFired(text: string): Promise<string[]> {
  const res = await runCli(['check', '-o', 'json', '-'], { stdin: text });
  assert.ok(res.code === 0 || res.code === 1, res.stderr);
  const { results } = JSON.parse(res.stdout) as {
    results: { errors: { rule: string }[]; warnings: { rule: string }[] }[];
  };
  return results.flatMap((r) => [...r.errors, ...r.warnings].map((f) => f.rule));
}

describe('rule examples', () => {
  for (const rule of RULE_REGISTRY) {
    const example = RULE_EXAMPLES[rule.id];
    if (!example) {
      test(`${rule.id}: no example, and says why`, () =>
        assert.ok(noExampleReason(rule.id, rule.note), `${rule.id} has neither an example nor a reason`));
      continue;
    }
    test(`${rule.id}: the invalid example fires it, the fixed one does not`, async () => {
      assert.ok(
        (await rulesFired(example.invalid)).includes(rule.id),
        `invalid example of ${rule.id} fired: ${(await rulesFired(example.invalid)).join(', ')}`,
      );
      const fixed = await rulesFired(example.fixed);
      assert.ok(!fixed.includes(rule.id), `fixed example of ${rule.id} still fires it (${fixed.join(', ')})`);
    });
  }

  test('every example belongs to a rule of the registry', () => {
    const ids = new Set(RULE_REGISTRY.map((r) => r.id));
    for (const id of Object.keys(RULE_EXAMPLES)) assert.ok(ids.has(id), id);
  });
});

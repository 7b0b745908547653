// `sidecar-guard rules` and `explain`: every rule of the registry listed
// with its severity; explain prints the examples test/sidecar/rule-examples
// runs through check.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RULE_EXAMPLES } from '../../src/sidecar/rule-examples.js';
import { RULE_REGISTRY } from '../../src/sidecar/rule-registry.js';
import { runCli } from '../helpers/cli.js';

describe('sidecar-guard rules', () => {
  test('one line per rule id: id, severity, what it checks', async () => {
    const res = await runCli(['rules']);
    assert.equal(res.code, 0);
    const [header, ...lines] = res.stdout.trimEnd().split('\n');
    assert.match(header!, /^ID\s+SEVERITY\s+WHAT IT CHECKS$/);
    assert.equal(lines.length, RULE_REGISTRY.length);
    for (const [i, rule] of RULE_REGISTRY.entries()) {
      const [id, severity, ...title] = lines[i]!.split(/\s+/);
      assert.deepEqual([id, severity], [rule.id, rule.severity]);
      assert.ok(title.join(' ').startsWith(rule.title.split(/\s+/).join(' ')), lines[i]);
    }
  });

  test('--output json', async () => {
    const { rules } = JSON.parse((await runCli(['rules', '-o', 'json'])).stdout) as {
      rules: { id: string; severity: string }[];
    };
    assert.deepEqual(
      rules.map((r) => `${r.id} ${r.severity}`),
      RULE_REGISTRY.map((r) => `${r.id} ${r.severity}`),
    );
  });

  test('every id a finding of the examples carries is in the list', async () => {
    const listed = new Set(RULE_REGISTRY.map((r) => r.id));
    const all = Object.values(RULE_EXAMPLES)
      .map((e) => e.invalid)
      .join('---\n');
    const { results } = JSON.parse(
      (await runCli(['check', '-o', 'json', '--isolated', '-'], { stdin: all })).stdout,
    ) as { results: { errors: { rule: string }[]; warnings: { rule: string }[] }[] };
    for (const f of results.flatMap((r) => [...r.errors, ...r.warnings])) assert.ok(listed.has(f.rule), f.rule);
  });
});

describe('sidecar-guard explain', () => {
  test('every rule: what, why, fix, and its examples (or why there are none)', async () => {
    for (const rule of RULE_REGISTRY) {
      const res = await runCli(['explain', rule.id]);
      assert.equal(res.code, 0, rule.id);
      assert.ok(res.stdout.startsWith(`${rule.id} (${rule.severity}): ${rule.title}\n`), res.stdout);
      assert.ok(res.stdout.includes(`Why:   ${rule.source}`));
      assert.ok(res.stdout.includes(`Fix:   ${rule.help}`));
      const example = RULE_EXAMPLES[rule.id];
      if (example) {
        const body = (text: string) =>
          text
            .trimEnd()
            .split('\n')
            .map((l) => (l === '' ? '' : `    ${l}`))
            .join('\n');
        assert.ok(
          res.stdout.includes(`Invalid (sidecar-guard check reports ${rule.id}):\n${body(example.invalid)}\n`),
          rule.id,
        );
        assert.ok(res.stdout.includes(`Fixed:\n${body(example.fixed)}\n`), rule.id);
      } else {
        assert.match(res.stdout, /\nExample: none/);
      }
    }
  });

  test('ids are found whatever their case', async () => {
    assert.equal((await runCli(['explain', 'h4'])).stdout, (await runCli(['explain', 'H4'])).stdout);
  });

  // audit prints the analyzer's or Kiali's code first on a line: `Error [IST0111] (Sidecar shop/b) ...`.
  test('the code audit prints leads to its rule, each code to one rule', async () => {
    const coded = RULE_REGISTRY.filter((r) => r.code);
    assert.equal(new Set(coded.map((r) => r.code)).size, coded.length, 'no code is two rules');
    assert.ok(coded.length >= 8);
    for (const rule of coded) {
      const byCode = await runCli(['explain', rule.code!.toLowerCase()]);
      assert.equal(byCode.code, 0, rule.code);
      assert.equal(byCode.stdout, (await runCli(['explain', rule.id])).stdout, rule.code);
    }
  });
});

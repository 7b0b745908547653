import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UNKNOWN_HOSTS_MODES } from '../../src/sidecar/host-rules.js';
import { RULE_REGISTRY } from '../../src/sidecar/rule-registry.js';
import { OVERLAP_MODES } from '../../src/sidecar/selectors.js';

/** The flags a rule's help may name, and the values each takes (the CLI refuses any other with exit 2). */
const FLAG_VALUES: Record<string, readonly string[]> = {
  'unknown-hosts': UNKNOWN_HOSTS_MODES,
  overlap: OVERLAP_MODES,
};

/** Every `--flag=value` in a text, and every `=value` after it that names another value of the same flag. */
function flagValues(text: string): { flag: string; value: string }[] {
  const out: { flag: string; value: string }[] = [];
  let flag: string | undefined;
  for (const m of text.matchAll(/(?:--([a-z-]+))?=([a-z]+)/g)) {
    flag = m[1] ?? flag;
    if (flag) out.push({ flag, value: m[2]! });
  }
  return out;
}

// `explain host.unknown` once told readers to use --unknown-hosts=error, which the CLI refuses.
test("every flag value a rule's help names is one the flag takes", () => {
  let named = 0;
  for (const rule of RULE_REGISTRY) {
    for (const { flag, value } of flagValues(rule.help)) {
      named++;
      assert.ok(FLAG_VALUES[flag], `${rule.id} names --${flag}, which this test does not know`);
      assert.ok(FLAG_VALUES[flag].includes(value), `${rule.id}'s help names --${flag}=${value}`);
    }
  }
  assert.ok(named >= 2, 'host.unknown names two values of --unknown-hosts');
});

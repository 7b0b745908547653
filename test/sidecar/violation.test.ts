// capFindings and CappedFindings when nothing is left out (the common case,
// which takes a shorter way): the findings as they were added, in a new
// list. What happens past the limits is in test/bounded/.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CappedFindings, capFindings, FINDING_LIMITS, type Violation } from '../../src/sidecar/violation.js';

const finding = (rule: string, i: number, severity: Violation['severity'] = 'error'): Violation => ({
  rule,
  severity,
  path: `spec.egress[0].hosts[${i}]`,
  message: `bad host ${i}`,
});

describe('capFindings within the limits', () => {
  test('keeps every finding in order, in a new list', () => {
    const mixed = Array.from({ length: 20 }, (_, i) => finding(i % 3 ? 'H1' : 'H2', i, i % 2 ? 'warning' : 'error'));
    for (const vs of [[], [finding('H1', 0)], mixed]) {
      const capped = capFindings(vs);
      assert.deepEqual(capped, vs);
      assert.notEqual(capped, vs);
      capped.push(finding('H9', 99)); // the caller's to change
      assert.equal(vs.includes(capped[capped.length - 1]!), false);
    }
  });

  test('one past a limit is summarised, at the per-rule and at the per-object limit', () => {
    const ofOneRule = Array.from({ length: FINDING_LIMITS.perRule + 1 }, (_, i) => finding('H1', i));
    const capped = capFindings(ofOneRule);
    assert.equal(capped.length, FINDING_LIMITS.perRule + 1);
    assert.deepEqual(capped[FINDING_LIMITS.perRule]?.omitted, { H1: 1 });
    const manyRules = Array.from({ length: 4 }, (_, i) => finding(`R${i}`, i));
    assert.deepEqual(
      capFindings(manyRules, { perRule: 5, perObject: 3 }).map((v) => v.omitted ?? v.rule),
      ['R0', 'R1', 'R2', { R3: 1 }],
    );
  });

  test('a summary in the list is counted in, even when it leaves nothing out', () => {
    const summary: Violation = { ...finding('H1', 5), message: '… and 2 more like this', omitted: { H1: 2 } };
    assert.deepEqual(
      capFindings([finding('H1', 0), summary]).map((v) => v.omitted ?? v.rule),
      ['H1', { H1: 2 }],
    );
    const empty: Violation = { ...summary, omitted: { H1: 0 } };
    assert.deepEqual(capFindings([finding('H1', 0), empty]), [finding('H1', 0)]);
  });
});

describe('CappedFindings', () => {
  test('lists what was added when nothing was left out, a new list each time', () => {
    const capped = new CappedFindings();
    assert.deepEqual(capped.list(), []);
    const added = [finding('H1', 0), finding('H2', 1, 'warning')];
    for (const v of added) capped.add(v);
    const first = capped.list();
    assert.deepEqual(first, added);
    assert.notEqual(capped.list(), first);
    assert.equal(capped.size, 2);
  });
});

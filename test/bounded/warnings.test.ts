// formatWarnings on any list of warnings: within kube-apiserver's budget
// (4,096 runes; 256 per warning once over it), every warning shown or
// counted, nothing kube-apiserver would drop or change.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { formatWarnings } from '../../src/sidecar/format.js';
import { CONTROL_CHARACTER, kubeApiserverWarnings } from './kube-warnings.js';

/** The lines that count warnings left out: a rule's, the one for other rules, the one for the rune budget. */
const SUMMARY =
  /(?:^|: )… and ([\d,]+) more (?:like this \[[\w.]+\]|warnings? of other rules: .* \[findings\.more\]|warnings: kube-apiserver passes on at most 4,096 characters of warnings)$/;

describe('formatWarnings', () => {
  test('any warnings (fast-check): within 4,096 runes, each at most 256 once cut, all counted, and kube-apiserver passes them unchanged', () => {
    const text = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.string({ unit: 'grapheme', maxLength: 400 }),
      fc.string({ minLength: 300, maxLength: 2000 }),
      fc.constantFrom('a\nb', '\u0085', 'é'.repeat(300)),
    );
    const warning = fc.record({
      rule: fc.constantFrom('W1', 'W2', 'S3', 'T2', 'H4'),
      path: fc.oneof(fc.constant('spec.egress[0].hosts[1]'), text),
      message: text,
      grandfathered: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(warning, { maxLength: 60 }), (ws) => {
        const vs = ws.map(({ grandfathered, ...v }) => ({
          ...v,
          severity: 'warning' as const,
          ...(grandfathered ? { allowedBecause: 'the Sidecar is being deleted' } : {}),
        }));
        const out = formatWarnings(vs);
        const runes = out.map((w) => [...w].length);
        assert.ok(runes.reduce((a, b) => a + b, 0) <= 4096, `${runes}`);
        // Once over the budget (said by the last line), every warning is cut to 256 runes, as kube-apiserver would.
        if (out.at(-1)?.endsWith('characters of warnings'))
          assert.ok(
            runes.every((n) => n <= 256),
            `${runes}`,
          );
        assert.ok(
          out.every((w) => !CONTROL_CHARACTER.test(w)),
          'no control characters',
        );
        assert.deepEqual(
          kubeApiserverWarnings(out),
          out.filter((w) => w !== ''),
        );
        assert.ok(out.length <= 22, `${out.length} warnings`);
        const stands = (w: string) => Number((SUMMARY.exec(w)?.[1] ?? '1').replaceAll(',', ''));
        assert.equal(
          out.reduce((n, w) => n + stands(w), 0),
          vs.length,
          'every warning is shown or counted',
        );
      }),
      { numRuns: 500 },
    );
  });
});

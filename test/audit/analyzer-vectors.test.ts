// Istio's own analyzer test grid (sidecarDefaultSelector, deprecation), run
// through `audit --overlap=pods`: the (code, resource) multiset must match.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { audit } from '../../src/audit/analyze.js';

interface Scenario {
  id: string;
  rootNamespace: string;
  resources: { kind: string }[];
  expected: { code: string; resource: string }[];
}

const scenarios = JSON.parse(
  readFileSync(new URL('../fixtures/istio-analyzer-vectors.json', import.meta.url), 'utf8'),
) as Scenario[];

describe('Istio analyzer vectors through audit (--overlap=pods)', () => {
  for (const s of scenarios) {
    test(s.id, () => {
      const pick = (kind: string) => s.resources.filter((r) => r.kind === kind);
      const report = audit(
        { sidecars: pick('Sidecar'), pods: pick('Pod'), namespaces: pick('Namespace') },
        { overlap: 'pods', rootNamespace: s.rootNamespace },
      );
      const got = report.findings
        .filter((f) => f.code !== null)
        .map((f) => `${f.code} Sidecar ${f.namespace}/${f.name}`)
        .sort();
      const want = s.expected
        .filter((e) => e.resource.startsWith('Sidecar '))
        .map((e) => `${e.code} ${e.resource}`)
        .sort();
      assert.deepEqual(got, want);
    });
  }
});

// Istio's `sidecarSelector` analyzer case, rebuilt from its description in the
// reference notes (istio-sidecar-conflicts.md §2.3); the JSON grid holds only
// the two cases above.
describe('sidecarSelector (rebuilt from the reference description)', () => {
  const sc = (ns: string, name: string, labels: Record<string, string>) => ({
    apiVersion: 'networking.istio.io/v1',
    kind: 'Sidecar',
    metadata: { namespace: ns, name },
    spec: { workloadSelector: { labels }, egress: [{ hosts: ['./*'] }] },
  });
  const pod = (ns: string, name: string, labels: Record<string, string>) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { namespace: ns, name, labels },
  });
  const input = {
    sidecars: [
      sc('default', 'maps-correctly', { app: 'productpage' }),
      sc('default', 'maps-to-nonexistent', { app: 'bogus' }),
      sc('other', 'maps-to-different-ns', { app: 'reviews' }),
      sc('default', 'dupe-1', { app: 'reviews' }),
      sc('default', 'dupe-2', { app: 'reviews' }),
      sc('default', 'overlap-1', { app: 'ratings-app' }),
      sc('default', 'overlap-2', { myapp: 'ratings-myapp' }),
    ],
    pods: [
      pod('default', 'productpage', { app: 'productpage' }),
      pod('default', 'reviews', { app: 'reviews' }),
      pod('default', 'ratings', { app: 'ratings-app', myapp: 'ratings-myapp' }),
      pod('default', 'details', { app: 'details' }),
    ],
    namespaces: [],
  };

  test('pods mode gives 2x IST0101 and 4x IST0110, with Istio message texts', () => {
    const report = audit(input, { overlap: 'pods', rootNamespace: 'istio-system' });
    const got = report.findings.map((f) => `${f.code} ${f.namespace}/${f.name}`).sort();
    assert.deepEqual(got, [
      'IST0101 default/maps-to-nonexistent',
      'IST0101 other/maps-to-different-ns',
      'IST0110 default/dupe-1',
      'IST0110 default/dupe-2',
      'IST0110 default/overlap-1',
      'IST0110 default/overlap-2',
    ]);
    const dupe = report.findings.find((f) => f.name === 'dupe-1')!;
    assert.equal(
      dupe.message,
      'The Sidecars [dupe-1 dupe-2] in namespace "default" select the same workload pod "reviews", which can lead to undefined behavior.',
    );
    assert.equal(
      report.findings.find((f) => f.name === 'maps-to-nonexistent')!.message,
      'Referenced selector not found: "app=bogus"',
    );
    assert.deepEqual(report.summary, {
      sidecars: 7,
      pods: 4,
      workloads: 0,
      namespaces: 2,
      findings: 6,
      errors: 4,
      warnings: 2,
    });
  });

  test('labels mode also flags selectors that overlap without any pod yet', () => {
    const report = audit(
      {
        sidecars: [sc('a', 'x', { app: 'r' }), sc('a', 'y', { app: 'r', v: '2' }), sc('a', 'z', { app: 'other' })],
        pods: [],
        namespaces: [],
      },
      { overlap: 'labels', rootNamespace: 'istio-system' },
    );
    const overlaps = report.findings.filter((f) => f.code === 'IST0110');
    assert.deepEqual(
      overlaps.map((f) => f.name),
      ['x', 'y'],
    );
    assert.match(overlaps[0]!.message, /pods labelled app=r,v=2 \(none exists yet\)/);
  });
});

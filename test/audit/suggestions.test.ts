// audit judges every Sidecar's egress hosts against one registry that does not
// change during the run, so the suggestions for unknown namespaces share one
// search: the namespace names are read once, each unknown name is searched
// once, and the run has one budget of comparisons (host-rules.ts,
// SharedSuggestions). Before, each Sidecar read and searched every namespace
// name: 10,000 defaults naming unknown namespaces took 26 s.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { audit } from '../../src/audit/analyze.js';
import { namespace, sidecar } from '../helpers/objects.js';

/** `n` namespaces ns0…, each with a default whose egress names `typo(i)/*`, a namespace that does not exist. */
function run(n: number, typo: (i: number) => string) {
  const namespaces = Array.from({ length: n }, (_, i) => namespace(`ns${i}`));
  const sidecars = Array.from({ length: n }, (_, i) =>
    sidecar(`ns${i}`, 'default', {
      spec: { egress: [{ hosts: ['./*', `${typo(i)}/*`] }], outboundTrafficPolicy: { mode: 'ALLOW_ANY' } },
    }),
  );
  const { findings } = audit(
    { sidecars, pods: [], namespaces, workloads: [], services: [], serviceEntries: [] },
    { overlap: 'workloads', rootNamespace: 'istio-system' },
  );
  return findings.filter((f) => f.rule === 'host.unknown');
}

const suggested = (message: string): string | undefined => /did you mean (\S+)\/\*\?/.exec(message)?.[1];

describe('audit: suggestions for unknown namespaces', () => {
  it('a typo repeated in every namespace gets its suggestion in each', () => {
    const findings = run(3000, () => 'ns1x');
    assert.equal(findings.length, 3000);
    assert.ok(findings.every((f) => suggested(f.message) === 'ns1'));
  });

  it('distinct typos are searched within one budget per run: the first get suggestions, the rest none', () => {
    // 10,000 names each: the run's 2,000,000 comparisons cover a few hundred searches, not 10,000.
    const findings = run(10_000, (i) => `nz${i}`);
    assert.equal(findings.length, 10_000);
    const withSuggestion = findings.filter((f) => suggested(f.message) !== undefined);
    assert.ok(withSuggestion.length > 100 && withSuggestion.length < 1000, `${withSuggestion.length} suggestions`);
    for (const f of withSuggestion) assert.equal(suggested(f.message), f.namespace, f.message);
    const numberOf = (ns: string) => ns.slice('ns'.length);
    assert.ok(
      findings.every((f) => f.message.startsWith(`Egress host "nz${numberOf(f.namespace)}/*" names namespace`)),
      'every unknown namespace is still reported',
    );
  });

  it("a search cut short by one Sidecar's budget is not kept for the next Sidecars", () => {
    // 15,003 names: a's first unknown namespace uses up its 20,000 comparisons before its second is searched.
    const names = [
      ...Array.from({ length: 15_000 }, (_, i) => `ns-${String(i).padStart(5, '0')}`),
      'payments',
      'a',
      'b',
    ];
    const defaults = (ns: string, hosts: string[]) =>
      sidecar(ns, 'default', { spec: { egress: [{ hosts }], outboundTrafficPolicy: { mode: 'ALLOW_ANY' } } });
    const { findings } = audit(
      {
        sidecars: [defaults('a', ['./*', 'zzzzzzzz/*', 'paymants/*']), defaults('b', ['./*', 'paymants/*'])],
        pods: [],
        namespaces: names.map((n) => namespace(n)),
        workloads: [],
        services: [],
        serviceEntries: [],
      },
      { overlap: 'workloads', rootNamespace: 'istio-system' },
    );
    const ofB = findings.filter((f) => f.namespace === 'b' && f.rule === 'host.unknown');
    assert.deepEqual(
      ofB.map((f) => suggested(f.message)),
      ['payments'],
    );
  });
});

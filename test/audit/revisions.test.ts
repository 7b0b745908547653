// audit and Istio revisions: an istiod reads only Sidecars without an
// istio.io/rev label or labelled with its own revision, so Sidecars of two
// revisions never conflict (src/sidecar/revisions.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { audit } from '../../src/audit/analyze.js';
import type { OverlapMode } from '../../src/sidecar/selectors.js';
import { pod, sidecar } from '../helpers/objects.js';

const rev = (r: string) => ({ 'istio.io/rev': r });
const run = (sidecars: Record<string, unknown>[], overlap: OverlapMode, pods: Record<string, unknown>[] = []) =>
  audit({ sidecars, pods, namespaces: [] }, { overlap, rootNamespace: 'istio-system' }).findings.map((f) => [
    f.code,
    f.name,
    f.message,
  ]);

describe('audit and istio.io/rev', () => {
  it('IST0111: defaults of two revisions are no conflict; an unlabelled one conflicts with each', () => {
    assert.deepEqual(
      run(
        [sidecar('shop', 'stable', { labels: rev('1-27') }), sidecar('shop', 'canary', { labels: rev('1-28') })],
        'pods',
      ),
      [],
    );
    const findings = run(
      [
        sidecar('shop', 'stable', { labels: rev('1-27') }),
        sidecar('shop', 'canary', { labels: rev('1-28') }),
        sidecar('shop', 'plain'),
      ],
      'pods',
    );
    const message = (names: string) =>
      `The Sidecars [${names}] in namespace "shop" have no workload selector, which can lead to undefined behavior.`;
    assert.deepEqual(findings, [
      ['IST0111', 'canary', message('canary plain')],
      ['IST0111', 'plain', message('canary plain stable')],
      ['IST0111', 'stable', message('plain stable')],
    ]);
  });

  it('IST0110 in pods mode: a pod picked by Sidecars of two revisions only is no conflict', () => {
    const picked = [pod('shop', 'reviews-1', { app: 'reviews' })];
    const a = sidecar('shop', 'a', { selector: { app: 'reviews' }, labels: rev('stable') });
    const b = sidecar('shop', 'b', { selector: { app: 'reviews' }, labels: rev('canary') });
    assert.deepEqual(run([a, b], 'pods', picked), []);
    const c = sidecar('shop', 'c', { selector: { app: 'reviews' }, labels: rev('canary') });
    assert.deepEqual(
      run([a, b, c], 'pods', picked).map(([code, name]) => [code, name]),
      [
        ['IST0110', 'b'],
        ['IST0110', 'c'],
      ],
    );
  });

  it('IST0110 in pods mode names, for each Sidecar, only those its istiod reads beside it', () => {
    const picked = [pod('shop', 'reviews-1', { app: 'reviews' })];
    const of = (name: string, r?: string) =>
      sidecar('shop', name, { selector: { app: 'reviews' }, ...(r ? { labels: rev(r) } : {}) });
    const message = (names: string) =>
      `The Sidecars [${names}] in namespace "shop" select the same workload pod "reviews-1", which can lead to undefined behavior.`;
    assert.deepEqual(
      run([of('a', 'stable'), of('b', 'stable'), of('c', 'canary'), of('d', 'canary')], 'pods', picked),
      [
        ['IST0110', 'a', message('a b')],
        ['IST0110', 'b', message('a b')],
        ['IST0110', 'c', message('c d')],
        ['IST0110', 'd', message('c d')],
      ],
    );
    assert.deepEqual(run([of('a', 'stable'), of('c', 'canary'), of('u')], 'pods', picked), [
      ['IST0110', 'a', message('a u')],
      ['IST0110', 'c', message('c u')],
      ['IST0110', 'u', message('a c u')],
    ]);
  });

  it('a group of more than 100 is named by its first 100 in sort order, the rest counted', () => {
    const picked = [pod('shop', 'reviews-1', { app: 'reviews' })];
    const of = (name: string, r?: string) =>
      sidecar('shop', name, { selector: { app: 'reviews' }, ...(r ? { labels: rev(r) } : {}) });
    // 150 unlabelled u000…u149; the stable one sorts among them, the canary ones after them.
    const unlabelled = Array.from({ length: 150 }, (_, i) => of(`u${String(i).padStart(3, '0')}`));
    const findings = run(
      [...unlabelled, of('u0505', 'stable'), of('v1', 'canary'), of('v2', 'canary')],
      'pods',
      picked,
    );
    const messageOf = (name: string) => findings.find(([, n]) => n === name)![2] as string;
    const listed = (message: string) => /\[(.*)\]/.exec(message)![1]!;
    const first = (names: string[]) => names.sort().slice(0, 100).join(' ');
    const u = unlabelled.map((_, i) => `u${String(i).padStart(3, '0')}`);
    assert.equal(listed(messageOf('u0505')), `${first([...u, 'u0505'])} … and 51 more`);
    assert.equal(listed(messageOf('v1')), `${first([...u, 'v1', 'v2'])} … and 52 more`);
    assert.equal(listed(messageOf('u000')), `${first([...u, 'u0505', 'v1', 'v2'])} … and 53 more`);
  });

  it('IST0110 in labels mode: the same pairs, compared selector by selector', () => {
    const a = sidecar('shop', 'a', { selector: { app: 'reviews' }, labels: rev('stable') });
    const b = sidecar('shop', 'b', { selector: { app: 'reviews' }, labels: rev('canary') });
    assert.deepEqual(run([a, b], 'labels'), []);
    const plain = sidecar('shop', 'plain', { selector: { app: 'reviews' } });
    assert.deepEqual(
      run([a, b, plain], 'labels').map(([code, name]) => [code, name]),
      [
        ['IST0110', 'a'],
        ['IST0110', 'b'],
        ['IST0110', 'plain'],
        ['IST0110', 'plain'],
      ],
    );
  });
});

describe('audit and revision.no-istiod', () => {
  it('reports a Sidecar labelled with a revision no istiod of the root namespace runs, from the istiod pods it lists', () => {
    const istiod = pod('istio-system', 'istiod-1-28-x', { app: 'istiod', ...rev('1-28') });
    const findings = run(
      [sidecar('shop', 'tagged', { labels: rev('prod') }), sidecar('shop', 'read', { labels: rev('1-28') })],
      'pods',
      [istiod],
    ).filter(([, , message]) => /a revision no istiod runs/.test(message!));
    assert.deepEqual(findings, [
      [
        null,
        'tagged',
        'It is labelled istio.io/rev="prod", a revision no istiod runs (istiods: "1-28" in istio-system), so no istiod reads it and this Sidecar has no effect.',
      ],
    ]);
  });

  it('reports revision.pod-mismatch: a Sidecar of a revision none of its pods runs', () => {
    const istiods = ['1-27', '1-28'].map((r) => pod('istio-system', `istiod-${r}-x`, { app: 'istiod', ...rev(r) }));
    const reviews = pod('shop', 'reviews-x', { app: 'reviews' }, rev('1-27'));
    const of = (name: string, r: string) => sidecar('shop', name, { labels: rev(r), selector: { app: 'reviews' } });
    const findings = audit(
      { sidecars: [of('canary', '1-28')], pods: [...istiods, reviews], namespaces: [] },
      { overlap: 'pods', rootNamespace: 'istio-system' },
    ).findings.filter((f) => f.rule === 'revision.pod-mismatch');
    assert.deepEqual(
      findings.map((f) => [f.name, f.severity, f.message]),
      [
        [
          'canary',
          'warning',
          'It is labelled istio.io/rev="1-28", so only the istiod of revision "1-28" reads it, but the pods it selects (reviews-x) run proxies of revision "1-27" (their istio.io/rev annotation), whose istiod does not read it: this Sidecar has no effect on them.',
        ],
      ],
    );
  });

  it("one run reads each namespace's istiods once for all its Sidecars, with the same answers", () => {
    const istiods = [
      pod('istio-system', 'istiod-1-28-x', { app: 'istiod', ...rev('1-28') }),
      pod('istio-prod', 'istiod-prod-x', { app: 'istiod', ...rev('prod') }),
    ];
    const sidecars = ['prod', 'typo', 'prod', 'typo'].map((r, i) => sidecar(`ns${i}`, `s${i}`, { labels: rev(r) }));
    const names = run(sidecars, 'pods', istiods)
      .filter(([, , message]) => /a revision no istiod runs/.test(message!))
      .map(([, name]) => name);
    assert.deepEqual(names, ['s1', 's3']);
  });
});

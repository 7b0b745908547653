import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ClusterStore } from '../../src/cluster/store.js';
import { crossObjectRules, type CrossOptions } from '../../src/sidecar/cross-rules.js';
import type { OverlapMode } from '../../src/sidecar/selectors.js';
import type { Violation } from '../../src/sidecar/violation.js';
import { pod, sidecar } from '../helpers/objects.js';

const opts = (overlap: OverlapMode = 'labels', rootNamespace = 'istio-system'): CrossOptions => ({
  overlap,
  rootNamespace,
});

function storeWith(...objs: Record<string, unknown>[]): ClusterStore {
  const store = new ClusterStore();
  for (const o of objs) {
    if (o.kind === 'Pod') store.upsertPod(o);
    else store.upsertSidecar(o);
  }
  return store;
}

function judge(store: ClusterStore, obj: Record<string, unknown>, options = opts(), oldObject?: unknown): Violation[] {
  const meta = obj.metadata as { namespace: string; name: string };
  return crossObjectRules(
    { object: obj, oldObject, ref: { namespace: meta.namespace, name: meta.name } },
    store,
    options,
  );
}

const only = (vs: Violation[], rule: string) => vs.filter((v) => v.rule === rule);

describe('conflict.default (IST0111): one namespace-wide Sidecar per namespace', () => {
  // A cluster probe: the denial said "edit the existing Sidecar" of one a finalizer held in deletion.
  test('an existing one held in deletion by finalizers still counts, and the denial says so and to wait', () => {
    const old = sidecar('shop', 'old');
    (old.metadata as Record<string, unknown>).deletionTimestamp = '2026-12-02T10:00:00Z';
    const [v] = only(judge(storeWith(old), sidecar('shop', 'new')), 'conflict.default');
    assert.equal(v!.severity, 'error');
    assert.match(
      v!.message,
      /namespace-wide Sidecar: old \(being deleted, held by its finalizers: it counts until they let it go\);/,
    );
    assert.match(v!.hint!, /^wait until shop\/old is gone \(its metadata\.finalizers say what holds it\)/);
  });

  test('a second selector-less Sidecar is denied, naming the namespace and the existing one', () => {
    const store = storeWith(sidecar('shop', 'default'));
    const [v, ...rest] = only(judge(store, sidecar('shop', 'second')), 'conflict.default');
    assert.equal(rest.length, 0);
    assert.equal(v!.severity, 'error');
    assert.equal(v!.path, 'spec.workloadSelector');
    assert.match(
      v!.message,
      /^no workloadSelector, but namespace "shop" already has a namespace-wide Sidecar: default;/,
    );
    assert.match(v!.message, /IST0111/);
    assert.match(
      v!.hint!,
      /edit the existing Sidecar shop\/default instead, or add spec.workloadSelector.labels to second/,
    );
  });

  // istiod takes a Sidecar with a selector field (`{}`, `labels: {}`, `labels: null`) ahead of one without, so
  // such a pair is no tie: the denial says which one istiod uses (the scope-claims differential, 2026-12-03).
  for (const [what, selector, istiodTakes] of [
    ['workloadSelector: {}', { workloadSelector: {} }, 'other'],
    ['workloadSelector: null', { workloadSelector: null }, undefined],
    ['labels: {}', { workloadSelector: { labels: {} } }, 'other'],
    ['labels: null', { workloadSelector: { labels: null } }, 'other'],
  ] as const) {
    test(`${what} counts as selector-less, as Istio's analyzer counts it, and the denial says what istiod does`, () => {
      const store = storeWith(sidecar('shop', 'default'));
      const candidate = sidecar('shop', 'other', { spec: selector as Record<string, unknown> });
      const [v, ...rest] = only(judge(store, candidate), 'conflict.default');
      assert.equal(rest.length, 0);
      assert.equal(v!.severity, 'error');
      assert.match(
        v!.message,
        istiodTakes
          ? /; istiod applies other, whose workloadSelector is \{\}, to every pod of shop ahead of default, whatever their ages, so default has no effect on them \(IST0111\)$/
          : /; with two of them Istio's choice is undefined \(IST0111\)$/,
      );
    });
  }

  test('a namespace-wide Sidecar beside a `{}` is denied naming the `{}` as the one istiod uses, for its revision', () => {
    const store = storeWith(
      sidecar('shop', 'catch-all', { spec: { workloadSelector: {} }, labels: { 'istio.io/rev': 'blue' } }),
    );
    const [v] = only(judge(store, sidecar('shop', 'default')), 'conflict.default');
    assert.equal(v!.severity, 'error');
    assert.match(
      v!.message,
      /\(both are read by the istiod of revision "blue"\); the istiod of revision "blue" applies catch-all, whose workloadSelector is \{\}, to the pods of shop it serves ahead of default, whatever their ages, so default has no effect on them \(IST0111\)$/,
    );
  });

  // A review found the denial saying the root default "has no effect": a root `{}` selects istio-system's pods only,
  // and the root Sidecar without a selector stays the mesh-wide default of every other namespace.
  test('in the root namespace, the denial says the one without a selector stays the mesh-wide default', () => {
    for (const [stored, candidate] of [
      [sidecar('istio-system', 'catch-all', { spec: { workloadSelector: {} } }), sidecar('istio-system', 'default')],
      [sidecar('istio-system', 'default'), sidecar('istio-system', 'catch-all', { spec: { workloadSelector: {} } })],
    ]) {
      const [v] = only(judge(storeWith(stored!), candidate!), 'conflict.default');
      assert.match(
        v!.message,
        /; istiod applies catch-all, whose workloadSelector is \{\}, to every pod of istio-system ahead of default, whatever their ages, so default does not apply to them, though it stays the mesh-wide default of the other namespaces \(IST0111\)$/,
      );
    }
  });

  test('a `{}` labelled with an empty revision is read only by an istiod without a revision, and the denial says so', () => {
    const store = storeWith(
      sidecar('shop', 'catch-all', { spec: { workloadSelector: {} }, labels: { 'istio.io/rev': '' } }),
    );
    const [v] = only(judge(store, sidecar('shop', 'default')), 'conflict.default');
    assert.match(
      v!.message,
      /; an istiod without a revision \(the only kind that reads istio.io\/rev: ""\) applies catch-all, whose workloadSelector is \{\}, to the pods of shop it serves ahead of default/,
    );
    assert.doesNotMatch(v!.message, /revision ""/);
  });

  test('selector-less Sidecars in different namespaces do not conflict', () => {
    const store = storeWith(sidecar('shop', 'default'));
    assert.deepEqual(judge(store, sidecar('billing', 'default')), []);
  });

  test('a Sidecar never conflicts with itself (re-apply of the same name)', () => {
    const store = storeWith(sidecar('shop', 'default'));
    assert.deepEqual(judge(store, sidecar('shop', 'default'), opts(), sidecar('shop', 'default')), []);
    assert.deepEqual(judge(store, sidecar('shop', 'default')), []);
  });

  test('an UPDATE that drops the selector is denied when a namespace-wide one exists', () => {
    const store = storeWith(sidecar('shop', 'default'), sidecar('shop', 'reviews', { selector: { app: 'reviews' } }));
    const vs = judge(
      store,
      sidecar('shop', 'reviews'),
      opts(),
      sidecar('shop', 'reviews', { selector: { app: 'reviews' } }),
    );
    assert.equal(only(vs, 'conflict.default')[0]?.severity, 'error');
  });

  test('an UPDATE of a Sidecar that already conflicted with the same peer is allowed with a warning', () => {
    const store = storeWith(sidecar('shop', 'a'), sidecar('shop', 'b'));
    const vs = judge(
      store,
      sidecar('shop', 'b', { spec: { egress: [{ hosts: ['./*'] }] } }),
      opts(),
      sidecar('shop', 'b'),
    );
    const [v] = only(vs, 'conflict.default');
    assert.equal(v!.severity, 'warning');
    assert.match(v!.message, /Sidecar shop\/b and Sidecar shop\/a are both namespace-wide/);
  });

  test('the root namespace gets the same rule', () => {
    const store = storeWith(sidecar('istio-system', 'default'));
    assert.equal(only(judge(store, sidecar('istio-system', 'mesh')), 'conflict.default')[0]?.severity, 'error');
  });

  test('a selector Sidecar beside a namespace-wide one is no conflict', () => {
    const store = storeWith(sidecar('shop', 'default'));
    assert.deepEqual(only(judge(store, sidecar('shop', 'r', { selector: { app: 'r' } })), 'conflict.default'), []);
  });

  test('the message says when the existing one is the generated namespace default', () => {
    const store = storeWith(
      sidecar('shop', 'default', { labels: { 'app.kubernetes.io/managed-by': 'sidecar-guard' } }),
    );
    const [v] = only(judge(store, sidecar('shop', 'mine')), 'conflict.default');
    assert.match(v!.message, /generated by sidecar-guard as the namespace default/);
    assert.match(
      v!.hint!,
      /opt the namespace out of generated defaults \(remove its sidecar-guard\.io\/default-sidecar label\) and then delete shop\/default/,
    );
    const renamed = crossObjectRules(
      { object: sidecar('shop', 'mine'), ref: { namespace: 'shop', name: 'mine' } },
      store,
      { ...opts(), defaultsOptIn: 'remove its team.io/defaults label' },
    );
    assert.match(renamed[0]!.hint!, /remove its team\.io\/defaults label/);
  });
});

describe('conflict.overlap (IST0110)', () => {
  const reviews = sidecar('shop', 'reviews', { selector: { app: 'reviews' } });

  test('labels mode: a subset selector overlaps; the message shows the shared label set', () => {
    const store = storeWith(reviews);
    const [v] = only(
      judge(store, sidecar('shop', 'reviews-v2', { selector: { app: 'reviews', version: 'v2' } })),
      'conflict.overlap',
    );
    assert.equal(v!.severity, 'error');
    assert.equal(v!.path, 'spec.workloadSelector.labels');
    assert.match(
      v!.message,
      /^selects the same workloads as Sidecar shop\/reviews: both apply to pods labelled app=reviews,version=v2 \(no such pod exists yet\)/,
    );
  });

  test('labels mode: different values on a shared key do not overlap', () => {
    const store = storeWith(reviews);
    assert.deepEqual(
      only(judge(store, sidecar('shop', 'ratings', { selector: { app: 'ratings' } })), 'conflict.overlap'),
      [],
    );
  });

  test('labels mode: disjoint keys overlap (a pod may carry both labels)', () => {
    const store = storeWith(reviews);
    assert.equal(
      only(judge(store, sidecar('shop', 'team', { selector: { team: 'a' } })), 'conflict.overlap').length,
      1,
    );
  });

  test('the message lists up to 3 existing pods that match both', () => {
    const store = storeWith(
      reviews,
      ...['p1', 'p2', 'p3', 'p4'].map((n) => pod('shop', n, { app: 'reviews', version: 'v2' })),
      pod('shop', 'other', { app: 'reviews', version: 'v1' }),
    );
    const [v] = only(
      judge(store, sidecar('shop', 'v2', { selector: { app: 'reviews', version: 'v2' } })),
      'conflict.overlap',
    );
    assert.match(v!.message, /\(existing pods: p1, p2, p3, \.\.\.\)/);
  });

  test('identical mode: only equal selectors conflict', () => {
    const store = storeWith(reviews);
    assert.equal(
      only(
        judge(store, sidecar('shop', 'same', { selector: { app: 'reviews' } }), opts('identical')),
        'conflict.overlap',
      ).length,
      1,
    );
    assert.deepEqual(
      only(
        judge(store, sidecar('shop', 'v2', { selector: { app: 'reviews', version: 'v2' } }), opts('identical')),
        'conflict.overlap',
      ),
      [],
    );
  });

  test("pods mode: Istio's semantics, they conflict only when an existing pod matches both", () => {
    const empty = storeWith(reviews);
    const candidate = sidecar('shop', 'same', { selector: { app: 'reviews' } });
    assert.deepEqual(only(judge(empty, candidate, opts('pods')), 'conflict.overlap'), []);
    const withPod = storeWith(reviews, pod('shop', 'reviews-1', { app: 'reviews' }));
    const [v] = only(judge(withPod, candidate, opts('pods')), 'conflict.overlap');
    assert.match(v!.message, /existing pods: reviews-1/);
  });

  test('pods mode: different selectors conflict through a pod that carries both label sets', () => {
    const store = storeWith(
      sidecar('shop', 'a', { selector: { app: 'ratings-app' } }),
      pod('shop', 'ratings', { app: 'ratings-app', myapp: 'ratings-myapp' }),
    );
    assert.equal(
      only(
        judge(store, sidecar('shop', 'b', { selector: { myapp: 'ratings-myapp' } }), opts('pods')),
        'conflict.overlap',
      ).length,
      1,
    );
  });

  test('pods in another namespace do not count', () => {
    const store = storeWith(reviews, pod('other', 'reviews-1', { app: 'reviews' }));
    assert.deepEqual(
      only(judge(store, sidecar('shop', 'same', { selector: { app: 'reviews' } }), opts('pods')), 'conflict.overlap'),
      [],
    );
  });

  test('a namespace-wide Sidecar never takes part in an overlap', () => {
    const store = storeWith(sidecar('shop', 'default'));
    assert.deepEqual(only(judge(store, reviews), 'conflict.overlap'), []);
  });

  test('an UPDATE keeping an old overlap with the same peer is a warning; a new overlap is an error', () => {
    const store = storeWith(reviews, sidecar('shop', 'b', { selector: { app: 'reviews' } }));
    const old = sidecar('shop', 'b', { selector: { app: 'reviews' } });
    const [kept] = only(
      judge(store, sidecar('shop', 'b', { selector: { app: 'reviews', tier: 'x' } }), opts(), old),
      'conflict.overlap',
    );
    assert.equal(kept!.severity, 'warning');
    const store2 = storeWith(reviews, sidecar('shop', 'c', { selector: { app: 'ratings' } }));
    const [fresh] = only(
      judge(
        store2,
        sidecar('shop', 'c', { selector: { tier: 'x' } }),
        opts(),
        sidecar('shop', 'c', { selector: { app: 'ratings' } }),
      ),
      'conflict.overlap',
    );
    assert.equal(fresh!.severity, 'error');
  });

  // An adversarial probe moved an old overlap onto a canary Deployment nobody contested, with a warning only.
  test('an UPDATE may keep an old overlap only within it: moving it onto other pods is an error', () => {
    const canary = sidecar('shop', 'canary', { selector: { track: 'canary' } });
    const old = sidecar('shop', 'web', { selector: { app: 'web' } }); // contests pods with app=web,track=canary
    const store = storeWith(canary, old);
    const severityOf = (selector: Record<string, string>) =>
      only(judge(store, sidecar('shop', 'web', { selector }), opts(), old), 'conflict.overlap').map((v) => v.severity);
    assert.deepEqual(severityOf({ app: 'web' }), ['warning'], 'unchanged');
    assert.deepEqual(severityOf({ app: 'web', version: 'v2' }), ['warning'], 'narrower: fewer of the same pods');
    assert.deepEqual(severityOf({ track: 'canary' }), ['error'], 'every canary pod, not only the web ones');
    assert.deepEqual(severityOf({ app: 'api' }), ['error'], 'the api canary pods instead');
  });
});

describe('root.selector and selector.no-match', () => {
  test('a selector Sidecar in the root namespace gets a warning', () => {
    const [v] = only(
      judge(new ClusterStore(), sidecar('istio-system', 'gw', { selector: { app: 'x' } })),
      'root.selector',
    );
    assert.equal(v!.severity, 'warning');
    assert.match(v!.message, /applies only to pods in istio-system/);
  });

  test('--root-namespace moves the rule', () => {
    const options = opts('labels', 'mesh-root');
    assert.deepEqual(
      only(
        judge(new ClusterStore(), sidecar('istio-system', 'gw', { selector: { app: 'x' } }), options),
        'root.selector',
      ),
      [],
    );
    assert.equal(
      only(judge(new ClusterStore(), sidecar('mesh-root', 'gw', { selector: { app: 'x' } }), options), 'root.selector')
        .length,
      1,
    );
  });

  test('IST0101: a selector that matches no pod is a warning, only when pods are known', () => {
    assert.deepEqual(
      only(judge(new ClusterStore(), sidecar('shop', 'x', { selector: { app: 'bogus' } })), 'selector.no-match'),
      [],
    );
    const store = storeWith(pod('shop', 'p', { app: 'reviews' }));
    const [v] = only(judge(store, sidecar('shop', 'x', { selector: { app: 'bogus' } })), 'selector.no-match');
    assert.equal(v!.severity, 'warning');
    assert.match(v!.message, /no pod and no workload template in shop matches app=bogus yet \(IST0101\)/);
    assert.deepEqual(
      only(judge(store, sidecar('shop', 'y', { selector: { app: 'reviews' } })), 'selector.no-match'),
      [],
    );
    const [podsMode] = only(
      judge(store, sidecar('shop', 'x', { selector: { app: 'bogus' } }), opts('pods')),
      'selector.no-match',
    );
    assert.match(podsMode!.message, /^Sidecar shop\/x: no pod in shop matches app=bogus yet \(IST0101\)$/);
  });
});

describe('istio.io/rev: Sidecars that no single istiod reads do not conflict', () => {
  const rev = (r: string) => ({ 'istio.io/rev': r });

  test('namespace defaults of two revisions (a canary upgrade) are no conflict; of the same revision they are', () => {
    const store = storeWith(sidecar('shop', 'default-stable', { labels: rev('1-27') }));
    assert.deepEqual(
      only(judge(store, sidecar('shop', 'default-canary', { labels: rev('1-28') })), 'conflict.default'),
      [],
    );
    const [v] = only(judge(store, sidecar('shop', 'again', { labels: rev('1-27') })), 'conflict.default');
    assert.equal(v!.severity, 'error');
    assert.match(
      v!.message,
      /namespace-wide Sidecar: default-stable \(both are read by the istiod of revision "1-27"\);/,
    );
  });

  test('an unlabelled default conflicts with a labelled one: every istiod reads the unlabelled one', () => {
    const labelled = storeWith(sidecar('shop', 'default-canary', { labels: rev('canary') }));
    const [v] = only(judge(labelled, sidecar('shop', 'plain')), 'conflict.default');
    assert.equal(v!.severity, 'error');
    assert.match(v!.message, /default-canary \(both are read by the istiod of revision "canary"\)/);
    const plain = storeWith(sidecar('shop', 'plain'));
    assert.equal(
      only(judge(plain, sidecar('shop', 'default-canary', { labels: rev('canary') })), 'conflict.default').length,
      1,
    );
  });

  test('an UPDATE that moves a Sidecar into the revision of a peer is a new conflict, refused; one that stays is grandfathered', () => {
    const stable = sidecar('shop', 'default-stable', { labels: rev('1-27') });
    const canary = sidecar('shop', 'default-canary', { labels: rev('1-28') });
    const store = storeWith(stable, canary);
    const unlabelled = sidecar('shop', 'default-canary');
    const [dropped] = only(judge(store, unlabelled, opts(), canary), 'conflict.default');
    assert.equal(dropped!.severity, 'error');
    const [moved] = only(
      judge(store, sidecar('shop', 'default-canary', { labels: rev('1-27') }), opts(), canary),
      'conflict.default',
    );
    assert.equal(moved!.severity, 'error');
    // Stored already beside the peer in one revision: editing it keeps a warning, as for any grandfathered conflict.
    const plain = sidecar('shop', 'plain');
    const [kept] = only(judge(storeWith(stable, plain), plain, opts(), plain), 'conflict.default');
    assert.equal(kept!.severity, 'warning');
    const selective = (labels?: Record<string, string>) =>
      sidecar('shop', 'b', { selector: { app: 'reviews' }, ...(labels ? { labels } : {}) });
    const a = sidecar('shop', 'a', { selector: { app: 'reviews' }, labels: rev('stable') });
    const overlapping = storeWith(a, selective(rev('canary')));
    const [relabelled] = only(
      judge(overlapping, selective(rev('stable')), opts(), selective(rev('canary'))),
      'conflict.overlap',
    );
    assert.equal(relabelled!.severity, 'error');
    const [unchanged] = only(judge(storeWith(a, selective()), selective(), opts(), selective()), 'conflict.overlap');
    assert.equal(unchanged!.severity, 'warning');
  });

  test('an empty istio.io/rev is a revision of its own, read by no Helm-installed istiod, and the message says so', () => {
    const store = storeWith(sidecar('shop', 'empty', { labels: rev('') }));
    assert.deepEqual(only(judge(store, sidecar('shop', 'canary', { labels: rev('canary') })), 'conflict.default'), []);
    const [v] = only(judge(store, sidecar('shop', 'plain')), 'conflict.default');
    assert.match(v!.message, /empty \(both are read by an istiod without a revision: istio\.io\/rev is empty\);/);
  });

  test('without revision labels the message says nothing of revisions', () => {
    const [v] = only(judge(storeWith(sidecar('shop', 'a')), sidecar('shop', 'b')), 'conflict.default');
    assert.doesNotMatch(v!.message, /revision/);
  });

  test('overlapping selectors of two revisions are no conflict; of one revision, or one unlabelled, they are', () => {
    const store = storeWith(sidecar('shop', 'reviews-stable', { selector: { app: 'reviews' }, labels: rev('stable') }));
    const candidate = (labels?: Record<string, string>) =>
      sidecar('shop', 'reviews-new', { selector: { app: 'reviews' }, ...(labels ? { labels } : {}) });
    assert.deepEqual(only(judge(store, candidate(rev('canary'))), 'conflict.overlap'), []);
    const [same] = only(judge(store, candidate(rev('stable'))), 'conflict.overlap');
    assert.match(
      same!.message,
      /Sidecar shop\/reviews-stable \(both are read by the istiod of revision "stable"\): both apply/,
    );
    assert.equal(only(judge(store, candidate()), 'conflict.overlap').length, 1);
  });
});

// egress.bypass (istio/istio#59376), outbound.bypass, selector.empty, outbound.mode-empty (KIA1007), host.excluded.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { HostClasses } from '../../src/sidecar/imports.js';
import { storeOf } from '../../src/manifests/state.js';
import { crossObjectRules } from '../../src/sidecar/cross-rules.js';
import type { Violation } from '../../src/sidecar/violation.js';
import { sidecar } from '../helpers/objects.js';

function judge(existing: Record<string, unknown>[], candidate: Record<string, unknown>): Violation[] {
  const meta = candidate.metadata as { namespace: string; name: string };
  const view = storeOf({ sidecars: existing, pods: [], namespaces: [] });
  return crossObjectRules({ object: candidate, ref: { namespace: meta.namespace, name: meta.name } }, view, {
    overlap: 'workloads',
    rootNamespace: 'istio-system',
  });
}

const only = (vs: Violation[], rule: string) => vs.filter((v) => v.rule === rule);
const withEgress = (ns: string, name: string, hosts: string[], created?: string) => {
  const s = sidecar(ns, name, { spec: { egress: [{ hosts }] } });
  if (created) (s.metadata as Record<string, unknown>).creationTimestamp = created;
  return s;
};
const noEgress = (
  ns: string,
  name: string,
  spec: Record<string, unknown> = { workloadSelector: { labels: { app: 'x' } } },
) => {
  const s = sidecar(ns, name, { spec });
  delete (s.spec as Record<string, unknown>).egress;
  return s;
};

describe('egress.bypass (istio/istio#59376)', () => {
  test('a selector Sidecar without egress under a restricting namespace default', () => {
    const [v] = only(
      judge([withEgress('shop', 'default', ['./*', 'istio-system/*'])], noEgress('shop', 'x')),
      'egress.bypass',
    );
    assert.equal(v!.severity, 'warning');
    assert.equal(v!.path, 'spec.egress');
    assert.equal(
      v!.message,
      'Sidecar shop/x: with a workloadSelector and no egress listener, the pods it selects see every host (*/*) instead of the egress of the namespace default Sidecar shop/default (./*, istio-system/*) (istio/istio#59376)',
    );
    assert.match(v!.hint!, /add an egress listener .*those of shop\/default/);
  });

  test('under the root default when the namespace has none', () => {
    const [v] = only(
      judge([withEgress('istio-system', 'default', ['./*', 'istio-system/*'])], noEgress('shop', 'x')),
      'egress.bypass',
    );
    assert.match(v!.message, /instead of the egress of the mesh-wide default Sidecar istio-system\/default/);
  });

  test('the namespace default wins over the root default, even when it restricts nothing', () => {
    const vs = judge(
      [withEgress('shop', 'default', ['*/*']), withEgress('istio-system', 'default', ['./*'])],
      noEgress('shop', 'x'),
    );
    assert.deepEqual(only(vs, 'egress.bypass'), []);
  });

  test('the oldest default is the one istiod uses; `*/*` with an exclusion still restricts', () => {
    const older = withEgress('shop', 'b', ['*/*', '~kube-system/*'], '2026-01-01T00:00:00Z');
    const newer = withEgress('shop', 'a', ['*/*'], '2026-02-01T00:00:00Z');
    assert.equal(only(judge([newer, older], noEgress('shop', 'x')), 'egress.bypass').length, 1);
  });

  test('no warning with an egress listener, without a selector, or without a restricting default', () => {
    const ns = [withEgress('shop', 'default', ['./*'])];
    assert.deepEqual(only(judge(ns, sidecar('shop', 'x', { selector: { app: 'x' } })), 'egress.bypass'), []);
    assert.deepEqual(only(judge([], noEgress('shop', 'x')), 'egress.bypass'), []);
    assert.deepEqual(only(judge([noEgress('shop', 'default', {})], noEgress('shop', 'x')), 'egress.bypass'), []);
  });

  test('`workloadSelector: {}` is a selector to istiod, so it bypasses too; a root Sidecar with one is no mesh default', () => {
    assert.equal(
      only(
        judge([withEgress('shop', 'default', ['./*'])], noEgress('shop', 'x', { workloadSelector: {} })),
        'egress.bypass',
      ).length,
      1,
    );
    const rootWithEmpty = sidecar('istio-system', 'global', {
      spec: { workloadSelector: {}, egress: [{ hosts: ['./*'] }] },
    });
    assert.deepEqual(only(judge([rootWithEmpty], noEgress('shop', 'x')), 'egress.bypass'), []);
  });
  test('a namespace-wide Sidecar without egress under a restricting mesh-wide default; not in the root namespace itself, not beside another namespace default', () => {
    const root = withEgress('istio-system', 'default', ['./*', 'istio-system/*']);
    const wide = noEgress('shop', 'tuning', {});
    const [v] = only(judge([root], wide), 'egress.bypass');
    assert.equal(
      v!.message,
      'Sidecar shop/tuning: with no egress listener, the pods of namespace shop see every host (*/*) instead of the egress of the mesh-wide default Sidecar istio-system/default (./*, istio-system/*) (istio/istio#59376)',
    );
    assert.deepEqual(only(judge([root], noEgress('istio-system', 'other', {})), 'egress.bypass'), []);
    // Beside the namespace's own default, conflict.default speaks; what it replaces is not the root default.
    const vs = judge([root, withEgress('shop', 'default', ['./*'])], wide);
    assert.deepEqual(only(vs, 'egress.bypass'), []);
    assert.equal(only(vs, 'conflict.default').length, 1);
  });
});

describe('outbound.bypass', () => {
  const withMode = (ns: string, name: string, outboundTrafficPolicy: unknown, created?: string) => {
    const s = withEgress(ns, name, ['./*'], created);
    (s.spec as Record<string, unknown>).outboundTrafficPolicy = outboundTrafficPolicy;
    return s;
  };
  const selective = (otp?: unknown) => {
    const s = sidecar('shop', 'reviews', { selector: { app: 'reviews' } });
    if (otp !== undefined) (s.spec as Record<string, unknown>).outboundTrafficPolicy = otp;
    return s;
  };

  test("a selector Sidecar without outboundTrafficPolicy under a REGISTRY_ONLY namespace default gets the mesh's mode", () => {
    const [v] = only(judge([withMode('shop', 'default', { mode: 'REGISTRY_ONLY' })], selective()), 'outbound.bypass');
    assert.equal(v!.severity, 'warning');
    assert.equal(v!.path, 'spec.outboundTrafficPolicy');
    assert.equal(
      v!.message,
      "Sidecar shop/reviews: without outboundTrafficPolicy, the pods it selects get the mesh's outbound mode (ALLOW_ANY unless MeshConfig sets another) instead of REGISTRY_ONLY from the namespace default Sidecar shop/default: calls to hosts outside the service registry are let through",
    );
    assert.match(v!.hint!, /outboundTrafficPolicy\.mode: REGISTRY_ONLY/);
  });

  test('a default with outboundTrafficPolicy but no mode is REGISTRY_ONLY too (KIA1007); so is the number 0', () => {
    for (const otp of [{}, { mode: '' }, { mode: 0 }])
      assert.equal(only(judge([withMode('shop', 'default', otp)], selective()), 'outbound.bypass').length, 1);
  });

  test('the mesh-wide default counts for a namespace-wide Sidecar outside the root namespace', () => {
    const root = withMode('istio-system', 'default', { mode: 'REGISTRY_ONLY' });
    const [v] = only(judge([root], withEgress('shop', 'default', ['./*'])), 'outbound.bypass');
    assert.match(
      v!.message,
      /the pods of namespace shop get .* from the mesh-wide default Sidecar istio-system\/default/,
    );
  });

  test('no warning when the Sidecar sets any outboundTrafficPolicy, or the default does not restrict, or the namespace default decides', () => {
    const strict = withMode('shop', 'default', { mode: 'REGISTRY_ONLY' });
    assert.deepEqual(only(judge([strict], selective({ mode: 'ALLOW_ANY' })), 'outbound.bypass'), []);
    assert.deepEqual(only(judge([strict], selective({ mode: 'REGISTRY_ONLY' })), 'outbound.bypass'), []);
    assert.deepEqual(
      only(judge([withMode('shop', 'default', { mode: 'ALLOW_ANY' })], selective()), 'outbound.bypass'),
      [],
    );
    assert.deepEqual(only(judge([withEgress('shop', 'default', ['./*'])], selective()), 'outbound.bypass'), []);
    // The namespace's own default without a policy replaces a REGISTRY_ONLY root default for these pods.
    const root = withMode('istio-system', 'default', { mode: 'REGISTRY_ONLY' });
    assert.deepEqual(only(judge([root, withEgress('shop', 'default', ['./*'])], selective()), 'outbound.bypass'), []);
  });
});

describe('selector.empty', () => {
  for (const ws of [{}, { labels: {} }, { labels: null }]) {
    test(`workloadSelector: ${JSON.stringify(ws)} says what istiod does with it`, () => {
      const [v] = only(
        judge([sidecar('shop', 'default')], sidecar('shop', 'all', { spec: { workloadSelector: ws } })),
        'selector.empty',
      );
      assert.equal(v!.severity, 'warning');
      assert.equal(
        v!.message,
        "Sidecar shop/all: a workloadSelector without labels is counted as namespace-wide by Istio's analyzer, but istiod applies it as a selector matching every pod in shop, ahead of the namespace default Sidecar shop/default",
      );
      assert.equal(v!.hint, 'remove spec.workloadSelector to make it the namespace default, or give it labels');
    });
  }

  test('in the root namespace it also says it never becomes the mesh default', () => {
    const [v] = only(judge([], sidecar('istio-system', 'all', { spec: { workloadSelector: {} } })), 'selector.empty');
    assert.match(
      v!.message,
      /matching every pod in istio-system; in the root namespace it never becomes the mesh-wide default$/,
    );
  });

  // The case 04 of the gap analysis: istiod sorts `{}` with the selector Sidecars, so it competes with them per pod.
  test('it names the selector Sidecars it competes with, and no default when there is none', () => {
    const selective = (name: string) => sidecar('shop', name, { selector: { app: name } });
    const [v] = only(
      judge(['a', 'b', 'c', 'd', 'e'].map(selective), sidecar('shop', 'all', { spec: { workloadSelector: {} } })),
      'selector.empty',
    );
    assert.match(
      v!.message,
      /matching every pod in shop; for the pods that the selector Sidecars of shop pick \(a, b, c and 2 more\), istiod uses whichever of the two is older/,
    );
    assert.doesNotMatch(v!.message, /ahead of/);
    const [root] = only(
      judge([sidecar('istio-system', 'default')], sidecar('shop', 'all', { spec: { workloadSelector: {} } })),
      'selector.empty',
    );
    assert.match(root!.message, /every pod in shop, ahead of the mesh-wide default Sidecar istio-system\/default$/);
  });

  test('an absent or null workloadSelector is a plain namespace default', () => {
    assert.deepEqual(only(judge([], sidecar('shop', 'd')), 'selector.empty'), []);
    assert.deepEqual(only(judge([], sidecar('shop', 'd', { spec: { workloadSelector: null } })), 'selector.empty'), []);
  });

  test('it still counts as namespace-wide for conflict.default, whose denial says it has a selector without labels', () => {
    const vs = judge([sidecar('shop', 'default')], sidecar('shop', 'all', { spec: { workloadSelector: {} } }));
    const [v] = only(vs, 'conflict.default');
    assert.equal(v?.severity, 'error');
    assert.match(
      v!.message,
      /^a workloadSelector without labels, which counts as namespace-wide, but namespace "shop" already has/,
    );
  });
});

describe('selector.shadowed: an older workloadSelector: {} takes every pod first', () => {
  const at = (s: Record<string, unknown>, created: string) => {
    (s.metadata as Record<string, unknown>).creationTimestamp = created;
    return s;
  };
  const empty = (name = 'catch-all', created = '2026-01-01T00:00:00Z', labels?: Record<string, string>) =>
    at(sidecar('shop', name, { spec: { workloadSelector: {} }, ...(labels ? { labels } : {}) }), created);
  const reviews = (created?: string, labels?: Record<string, string>) => {
    const s = sidecar('shop', 'reviews', { selector: { app: 'reviews' }, ...(labels ? { labels } : {}) });
    return created ? at(s, created) : s;
  };

  test('a selector Sidecar created beside a {} is warned, naming it', () => {
    const [v, ...rest] = only(judge([empty()], reviews()), 'selector.shadowed');
    assert.equal(rest.length, 0);
    assert.equal(v!.severity, 'warning');
    assert.equal(v!.path, 'spec.workloadSelector');
    assert.deepEqual(v!.peer, { namespace: 'shop', name: 'catch-all' });
    assert.equal(
      v!.message,
      "Sidecar shop/reviews: Sidecar shop/catch-all has workloadSelector: {}, which istiod applies to every pod of shop, and when it is created first (within the same second, istiod takes the name that sorts first): istiod gives it every pod this Sidecar selects, so this Sidecar has no effect (Istio's analyzer does not report this)",
    );
    assert.equal(
      v!.hint,
      'give catch-all workloadSelector labels, or remove its workloadSelector to make it the namespace default, which selector Sidecars take their pods from',
    );
  });

  test('timestamps are compared as times: an offset or fractions are read as such', () => {
    // 01:00+01:00 is 00:00Z, half an hour before the Sidecar's 00:30Z: older, though it sorts after as text.
    const [v] = only(
      judge([empty('all', '2026-01-01T01:00:00+01:00')], reviews('2026-01-01T00:30:00Z')),
      'selector.shadowed',
    );
    assert.match(v!.message, /and it is older/);
    assert.deepEqual(
      only(judge([empty('all', '2026-01-01T00:30:00.5Z')], reviews('2026-01-01T00:30:00Z')), 'selector.shadowed'),
      [],
    );
  });

  test('stored ones are ordered as istiod orders them: creationTimestamp, then name; the oldest {} is named', () => {
    const [older] = only(judge([empty()], reviews('2026-02-01T00:00:00Z')), 'selector.shadowed');
    assert.match(older!.message, /, and it is older: istiod gives it every pod/);
    assert.deepEqual(only(judge([empty()], reviews('2025-12-01T00:00:00Z')), 'selector.shadowed'), [], 'it is younger');
    const same = '2026-01-01T00:00:00Z';
    assert.equal(only(judge([empty('a-all', same)], reviews(same)), 'selector.shadowed').length, 1, 'a-all < reviews');
    assert.deepEqual(only(judge([empty('z-all', same)], reviews(same)), 'selector.shadowed'), [], 'reviews < z-all');
    const two = [empty('b-all', '2026-01-02T00:00:00Z'), empty('c-all', '2026-01-01T00:00:00Z')];
    assert.deepEqual(only(judge(two, reviews()), 'selector.shadowed')[0]!.peer, { namespace: 'shop', name: 'c-all' });
    // Manifests carry no timestamps: between stored ones, the name decides, as istiod's tie-break.
    const bare = (name: string) => sidecar('shop', name, { spec: { workloadSelector: {} } });
    assert.deepEqual(only(judge([bare('z-all'), bare('a-all')], reviews()), 'selector.shadowed')[0]!.peer, {
      namespace: 'shop',
      name: 'a-all',
    });
  });

  test('only a {} the same istiod reads; a namespace default or a namespace-wide candidate is not this rule', () => {
    const rev = (r: string) => ({ 'istio.io/rev': r });
    assert.deepEqual(
      only(judge([empty('all', undefined, rev('1-27'))], reviews(undefined, rev('1-28'))), 'selector.shadowed'),
      [],
    );
    // An unlabelled Sidecar is read by every istiod, the labelled {} only by its own: other revisions' pods keep it.
    assert.deepEqual(only(judge([empty('all', undefined, rev('1-27'))], reviews()), 'selector.shadowed'), []);
    assert.equal(only(judge([empty('all')], reviews(undefined, rev('1-27'))), 'selector.shadowed').length, 1);
    assert.equal(
      only(judge([empty('all', undefined, rev('1-27'))], reviews(undefined, rev('1-27'))), 'selector.shadowed').length,
      1,
    );
    assert.deepEqual(only(judge([sidecar('shop', 'default')], reviews()), 'selector.shadowed'), []);
    assert.deepEqual(only(judge([empty()], sidecar('shop', 'default')), 'selector.shadowed'), []);
    assert.deepEqual(only(judge([empty()], empty('other', '2026-02-01T00:00:00Z')), 'selector.shadowed'), []);
  });
});

describe("conflict.default's warning on an UPDATE says which one istiod gives the pods", () => {
  const stored = (s: Record<string, unknown>) => ({ object: s, oldObject: s });
  const update = (existing: Record<string, unknown>[], s: Record<string, unknown>) => {
    const meta = s.metadata as { namespace: string; name: string };
    const view = storeOf({ sidecars: existing, pods: [], namespaces: [] });
    return only(
      crossObjectRules({ ...stored(s), ref: { namespace: meta.namespace, name: meta.name } }, view, {
        overlap: 'workloads',
        rootNamespace: 'istio-system',
      }),
      'conflict.default',
    ).map((v) => [v.severity, v.message]);
  };
  const all = (name: string) => sidecar('shop', name, { spec: { workloadSelector: {} } });

  test('two defaults, or two {}: the older one', () => {
    assert.deepEqual(update([sidecar('shop', 'a')], sidecar('shop', 'b')), [
      [
        'warning',
        "Sidecar shop/b and Sidecar shop/a are both namespace-wide for Istio's analyzer; Istio picks the older one (IST0111)",
      ],
    ]);
    assert.match(update([all('a')], all('b'))[0]![1]!, /; Istio picks the older one \(IST0111\)$/);
  });

  test("a {} of one revision beside an unlabelled default: that revision's istiod, for the pods it serves", () => {
    const canaryAll = sidecar('shop', 'catch-all', {
      spec: { workloadSelector: {} },
      labels: { 'istio.io/rev': 'canary' },
    });
    assert.match(
      update([sidecar('shop', 'default')], canaryAll)[0]![1]!,
      /; the istiod of revision "canary" applies catch-all, whose workloadSelector is \{\}, to the pods of shop it serves ahead of default, whatever their ages \(IST0111\)$/,
    );
  });

  test('a {} and a default: the {}, whatever their ages', () => {
    assert.deepEqual(update([sidecar('shop', 'default')], all('catch-all')), [
      [
        'warning',
        "Sidecar shop/catch-all and Sidecar shop/default are both namespace-wide for Istio's analyzer; istiod applies catch-all, whose workloadSelector is {}, to every pod of shop ahead of default, whatever their ages (IST0111)",
      ],
    ]);
    assert.match(
      update([all('catch-all')], sidecar('shop', 'default'))[0]![1]!,
      /istiod applies catch-all, whose workloadSelector is \{\}, to every pod of shop ahead of default/,
    );
  });
});

describe('outbound.mode-empty (KIA1007)', () => {
  test('an outboundTrafficPolicy without a mode', () => {
    for (const otp of [{}, { mode: null }, { egressProxy: { host: 'egress.example.com', port: { number: 443 } } }]) {
      const [v] = only(
        judge([], sidecar('shop', 'x', { spec: { outboundTrafficPolicy: otp } })),
        'outbound.mode-empty',
      );
      assert.equal(v!.severity, 'warning');
      assert.equal(v!.path, 'spec.outboundTrafficPolicy');
      assert.equal(
        v!.message,
        "Sidecar shop/x: outboundTrafficPolicy has no mode, which istiod reads as REGISTRY_ONLY whatever the mesh's outboundTrafficPolicy says (KIA1007)",
      );
    }
  });

  test('an explicit mode, or no outboundTrafficPolicy, is clear', () => {
    for (const spec of [
      { outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } },
      { outboundTrafficPolicy: { mode: 'ALLOW_ANY' } },
      {},
    ]) {
      assert.deepEqual(only(judge([], sidecar('shop', 'x', { spec })), 'outbound.mode-empty'), []);
    }
  });
});

describe('host.excluded', () => {
  const listeners = (...lists: string[][]) =>
    sidecar('shop', 'x', { spec: { egress: lists.map((hosts) => ({ hosts })) } });
  const flagged = (obj: Record<string, unknown>, ns = 'shop') => {
    const meta = obj.metadata as Record<string, unknown>;
    meta.namespace = ns;
    return only(judge([], obj), 'host.excluded').map((v) => v.path);
  };

  test('a host that an exclusion of its own listener covers whole is named, with the exclusion', () => {
    const obj = listeners(['shop/reviews.shop.svc.cluster.local', 'istio-system/*', '~./*']);
    const [v] = only(judge([], obj), 'host.excluded');
    assert.equal(v!.severity, 'warning');
    assert.equal(v!.path, 'spec.egress[0].hosts[0]');
    assert.equal(
      v!.message,
      'Sidecar shop/x: egress host "shop/reviews.shop.svc.cluster.local" imports nothing: "~./*" in the same listener excludes everything it names, and istiod applies exclusions before imports',
    );
    assert.deepEqual(flagged(listeners(['*/*', '~/*'])), ['spec.egress[0].hosts[0]']);
    assert.deepEqual(flagged(listeners(['*/*.a.com', '~*/*.com'])), ['spec.egress[0].hosts[0]']);
    assert.deepEqual(flagged(listeners(['./b.a.com', '~shop/*.a.com'])), ['spec.egress[0].hosts[0]']);
    assert.deepEqual(flagged(listeners(['other/a.com', '~*/a.com'])), ['spec.egress[0].hosts[0]']);
  });

  test('what an exclusion covers only in part, in another namespace key or in another listener is not named', () => {
    assert.deepEqual(flagged(listeners(['*/*.com', '~*/a.com'])), []);
    assert.deepEqual(flagged(listeners(['*/a.com', '~shop/*'])), [], "the exclusion takes only shop's");
    assert.deepEqual(flagged(listeners(['other/a.com', '~shop/*'])), []);
    assert.deepEqual(flagged(listeners(['shop/a.com'], ['~shop/*'])), []);
    assert.deepEqual(flagged(listeners(['*/*', '~*/*.com'])), []);
    // In the root namespace's default `.` is each proxy's own namespace, not istio-system.
    assert.deepEqual(flagged(listeners(['./a.com', '~istio-system/a.com']), 'istio-system'), []);
  });

  // Soundness against the import model audit --scope uses (src/sidecar/imports.ts, istiod's selectServices):
  // a host the rule names contributes nothing, so removing it changes no import.
  test('removing a named host changes nothing the listener imports', () => {
    const keys = ['shop', 'other', '*', '.', '~shop', '~other', '~*', '~', '~.'];
    const names = ['*', 'a.com', '*.com', 'b.a.com', '*.a.com', 'c.b.a.com'];
    const services = ['a.com', 'b.a.com', 'c.b.a.com', 'x.com', 'a.org'];
    const host = fc.tuple(fc.constantFrom(...keys), fc.constantFrom(...names)).map(([k, n]) => `${k}/${n}`);
    fc.assert(
      fc.property(fc.array(host, { maxLength: 8 }), (hosts) => {
        const paths = flagged(listeners(hosts));
        const before = new HostClasses(hosts, 'shop');
        for (const path of paths) {
          const j = Number(/hosts\[(\d+)\]/.exec(path)![1]);
          const after = new HostClasses(
            hosts.filter((_, k) => k !== j),
            'shop',
          );
          for (const svc of services)
            for (const ns of ['shop', 'other'])
              assert.equal(after.imports(svc, ns), before.imports(svc, ns), `${hosts[j]} of ${hosts}`);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('istio.io/rev: the default a revisioned Sidecar replaces is one its istiod reads', () => {
  const labelled = (s: Record<string, unknown>, rev: string) => {
    (s.metadata as Record<string, unknown>).labels = { 'istio.io/rev': rev };
    return s;
  };

  test('egress.bypass: a canary selector Sidecar ignores the stable namespace default and falls back past it', () => {
    const stable = labelled(withEgress('shop', 'default-stable', ['./*']), 'stable');
    const root = withEgress('istio-system', 'default', ['./*', 'istio-system/*']);
    const [v] = only(judge([stable, root], labelled(noEgress('shop', 'x'), 'canary')), 'egress.bypass');
    assert.match(v!.message, /instead of the egress of the mesh-wide default Sidecar istio-system\/default/);
    assert.deepEqual(only(judge([stable], labelled(noEgress('shop', 'x'), 'canary')), 'egress.bypass'), []);
    const [same] = only(judge([stable], labelled(noEgress('shop', 'x'), 'stable')), 'egress.bypass');
    assert.match(same!.message, /namespace default Sidecar shop\/default-stable/);
    assert.equal(only(judge([stable], noEgress('shop', 'x')), 'egress.bypass').length, 1);
  });

  test('past 16 revisions among the defaults, an unlabelled Sidecar is compared with the unlabelled default alone', () => {
    const many = (n: number) =>
      Array.from({ length: n }, (_, i) => labelled(withEgress('shop', `default-${i}`, ['./*']), `rev-${i}`));
    // 16 restricting defaults of their own revisions: the unlabelled Sidecar bypasses each one's istiod's default.
    assert.equal(only(judge(many(16), noEgress('shop', 'x')), 'egress.bypass').length, 1);
    // 17: too many to compare one by one (each a scan of the defaults); with no unlabelled default, nothing.
    assert.deepEqual(only(judge(many(17), noEgress('shop', 'x')), 'egress.bypass'), []);
    const unlabelled = withEgress('shop', 'default', ['./*']);
    assert.equal(only(judge([...many(17), unlabelled], noEgress('shop', 'x')), 'egress.bypass').length, 1);
  });

  test('an unlabelled Sidecar is judged against the default of each revision: one restricting default is enough', () => {
    const stable = labelled(withEgress('shop', 'default-stable', ['*/*'], '2026-01-01T00:00:00Z'), 'stable');
    const canary = labelled(withEgress('shop', 'default-canary', ['./*'], '2026-02-01T00:00:00Z'), 'canary');
    const [v, ...rest] = only(judge([stable, canary], noEgress('shop', 'x')), 'egress.bypass');
    assert.equal(rest.length, 0);
    assert.match(
      v!.message,
      /instead of the egress of the namespace default of revision "canary" Sidecar shop\/default-canary \(\.\/\*\)/,
    );
    const registryOnly = labelled(
      sidecar('shop', 'default-canary', { spec: { outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } } }),
      'canary',
    );
    const [o] = only(judge([stable, registryOnly], noEgress('shop', 'x')), 'outbound.bypass');
    assert.match(
      o!.message,
      /REGISTRY_ONLY from the namespace default of revision "canary" Sidecar shop\/default-canary/,
    );
    const all = sidecar('shop', 'all', { spec: { workloadSelector: {} } });
    const [e] = only(judge([stable], all), 'selector.empty');
    assert.match(e!.message, /ahead of the namespace default Sidecar shop\/default-stable \(of revision "stable"\)/);
  });

  test('selector.empty names neither a default nor selector Sidecars of another revision', () => {
    const stableDefault = labelled(sidecar('shop', 'default'), 'stable');
    const stableSelector = labelled(sidecar('shop', 'reviews', { selector: { app: 'reviews' } }), 'stable');
    const canaryAll = labelled(sidecar('shop', 'all', { spec: { workloadSelector: {} } }), 'canary');
    const [v] = only(judge([stableDefault, stableSelector], canaryAll), 'selector.empty');
    assert.match(v!.message, /matching every pod in shop$/);
    const stableAll = labelled(sidecar('shop', 'all', { spec: { workloadSelector: {} } }), 'stable');
    const [w] = only(judge([stableDefault, stableSelector], stableAll), 'selector.empty');
    assert.match(
      w!.message,
      /ahead of the namespace default Sidecar shop\/default; for the pods that the selector Sidecars of shop pick \(reviews\)/,
    );
  });
});

// istiod's import rules (src/sidecar/imports.ts): which registry hosts a
// Sidecar's egress hosts import, and which Sidecar a proxy gets. Cases follow
// pilot/pkg/model/sidecar.go (hostClassification.Matches, selectServices,
// host.Name.SubsetOf) and push_context.go (doGetSidecarScope).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { HostClasses, hostSubsetOf, serviceOf, SidecarIndex } from '../../src/sidecar/imports.js';

describe('hostSubsetOf', () => {
  test('as host.Name.SubsetOf', () => {
    assert.equal(hostSubsetOf('a.example.com', '*.example.com'), true);
    assert.equal(hostSubsetOf('a.example.com', '*'), true);
    assert.equal(hostSubsetOf('*.a.example.com', '*.example.com'), true);
    assert.equal(hostSubsetOf('*.example.com', '*.a.example.com'), false);
    assert.equal(hostSubsetOf('*.example.com', 'a.example.com'), false);
    assert.equal(hostSubsetOf('a.example.com', 'a.example.com'), true);
  });
});

describe('serviceOf', () => {
  test('name.namespace.svc.<domain>, the same with or without the namespace the caller has at hand', () => {
    assert.deepEqual(serviceOf('reviews.shop.svc.cluster.local', 'cluster.local'), {
      name: 'reviews',
      namespace: 'shop',
    });
    for (const dns of [
      'reviews.svc.cluster.local',
      'a.b.c.svc.cluster.local',
      'reviews.shop.svc.example.org',
      '.shop.svc.cluster.local',
    ])
      assert.equal(serviceOf(dns, 'cluster.local'), undefined, dns);
    const known = ['sh', 'op'].join('');
    assert.equal(serviceOf('reviews.shop.svc.cluster.local', 'cluster.local', known)?.namespace, known);
    for (const other of ['sho', 'shopx', 'web'])
      assert.deepEqual(serviceOf('reviews.shop.svc.cluster.local', 'cluster.local', other), {
        name: 'reviews',
        namespace: 'shop',
      });
  });
});

describe('HostClasses', () => {
  test('ns/ is the namespace the entry lives in, . the config namespace, * any', () => {
    const c = new HostClasses(['./*', 'shop/reviews.shop.svc.cluster.local', '*/api.example.com'], 'web');
    assert.equal(c.imports('frontend.web.svc.cluster.local', 'web'), true);
    assert.equal(c.imports('reviews.shop.svc.cluster.local', 'shop'), true);
    assert.equal(c.imports('ratings.shop.svc.cluster.local', 'shop'), false);
    assert.equal(c.imports('reviews.shop.svc.cluster.local', 'other'), false);
    assert.equal(c.imports('api.example.com', 'anywhere'), true);
  });

  test('an exact host does not import a wildcard ServiceEntry host; a wildcard does', () => {
    assert.equal(new HostClasses(['*/a.example.com'], 'web').imports('*.example.com', 'ext'), false);
    assert.equal(new HostClasses(['*/*.example.com'], 'web').imports('a.example.com', 'ext'), true);
    assert.equal(new HostClasses(['*/*.example.com'], 'web').imports('*.example.com', 'ext'), true);
  });

  test('~ excludes, in its namespace or everywhere', () => {
    const c = new HostClasses(['shop/*', '~shop/ratings.shop.svc.cluster.local', '*/*', '~/*.internal'], 'web');
    assert.equal(c.imports('ratings.shop.svc.cluster.local', 'shop'), false);
    assert.equal(c.imports('reviews.shop.svc.cluster.local', 'shop'), true);
    assert.equal(c.imports('db.internal', 'other'), false);
  });
});

describe('HostClasses on long lists (the suffix index)', () => {
  // The definition itself, as istiod's hostClassification reads a key: excluded if any exclusion covers the
  // host, else imported if an exact name equals it or any name covers it.
  const reference = (hosts: readonly string[], h: string): boolean =>
    !hosts.filter((x) => x.startsWith('~')).some((e) => hostSubsetOf(h, e.slice(3))) &&
    hosts.filter((x) => !x.startsWith('~')).some((x) => hostSubsetOf(h, x.slice(2)));
  const label = fc.constantFrom('a', 'b', 'ab', 'example', 'com', 'org');
  const name = fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => ls.join('.'));
  // `*` covers everything: rare, or every list would import (or exclude) every host.
  const host = fc.oneof(
    { arbitrary: name, weight: 6 },
    { arbitrary: name.map((n) => `*.${n}`), weight: 3 },
    { arbitrary: fc.constant('*'), weight: 1 },
  );
  // Lists of imports with a few exclusions, and lists of as many exclusions: each side past the scan limit.
  const entries = (excludedWeight: number) =>
    fc.array(
      fc.oneof(
        { arbitrary: host.map((h) => `x/${h}`), weight: 4 },
        { arbitrary: host.map((h) => `~x/${h}`), weight: excludedWeight },
      ),
      { minLength: 0, maxLength: 60, size: 'max' },
    );

  for (const excludedWeight of [1, 4])
    test(`answers as a scan of every entry, past the scan limit and below it (exclusions weigh ${excludedWeight} in 5)`, () => {
      fc.assert(
        fc.property(entries(excludedWeight), fc.array(host, { minLength: 1, maxLength: 20 }), (hosts, probes) => {
          const c = new HostClasses(hosts, 'web');
          for (const h of probes)
            assert.equal(c.imports(h, 'x'), reference(hosts, h), `${h} against ${JSON.stringify(hosts)}`);
        }),
        { numRuns: 300 },
      );
    });

  test('20,000 exact hosts against 20,000 exclusions: lookups, not a scan per host', () => {
    const hosts = [
      ...Array.from({ length: 20_000 }, (_, i) => `x/h${i}.example.com`),
      ...Array.from({ length: 20_000 }, (_, i) => `~x/e${i}.example.com`),
      '~x/*.internal',
    ];
    const c = new HostClasses(hosts, 'web');
    let imported = 0;
    for (let i = 0; i < 20_000; i++) if (c.imports(`h${i}.example.com`, 'x')) imported++;
    assert.equal(imported, 20_000);
    assert.equal(c.imports('e7.example.com', 'x'), false);
    assert.equal(c.imports('a.b.internal', 'x'), false);
  });
});

describe('SidecarIndex', () => {
  const sc = (
    namespace: string,
    name: string,
    selector: Record<string, string> | null,
    created = '2026-01-01T00:00:00Z',
  ) => ({
    metadata: { namespace, name, creationTimestamp: created },
    spec: { ...(selector ? { workloadSelector: { labels: selector } } : {}), egress: [{ hosts: [`./${name}`] }] },
  });
  const index = new SidecarIndex(
    [
      sc('shop', 'default', null),
      sc('shop', 'newer', { app: 'a' }, '2026-02-01T00:00:00Z'),
      sc('shop', 'older', { app: 'a' }),
      sc('istio-system', 'mesh', null),
      sc('istio-system', 'gw', { app: 'gw' }),
    ],
    'istio-system',
  );

  test('the oldest matching selector Sidecar, else the namespace default', () => {
    assert.deepEqual(
      [
        index.forProxy('shop', { app: 'a', v: '1' }).name,
        index.forProxy('shop', { app: 'b' }).name,
        index.forProxy('shop').kind,
      ],
      ['older', 'default', 'namespace'],
    );
  });

  test('else the root namespace default; none when there is none', () => {
    assert.deepEqual([index.forProxy('web').kind, index.forProxy('web').name], ['mesh', 'mesh']);
    assert.equal(new SidecarIndex([], 'istio-system').forProxy('web').kind, 'none');
  });
});

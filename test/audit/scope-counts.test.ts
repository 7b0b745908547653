// audit --scope's counts (src/sidecar/import-counts.ts) against their
// definition, over generated registries and Sidecars (fast-check): a proxy
// in namespace V imports a Service or ServiceEntry host when it is exported
// to V (visibleTo) and the Sidecar's hosts import it (HostClasses.imports,
// whose cases test/traffic/imports.test.ts pins to istiod's); a hostname
// counts once, as a Service when any imported Service declares it. The
// reference tests every entry for every namespace, the index looks
// candidates up: the two must agree on every count.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { storeOf } from '../../src/manifests/state.js';
import { ImportCounter, type ImportCounts, SuffixRanges } from '../../src/sidecar/import-counts.js';
import { HostClasses, serviceHostname } from '../../src/sidecar/imports.js';
import { visibleTo } from '../../src/sidecar/records.js';
import type { ClusterView } from '../../src/sidecar/view.js';

const DOMAIN = 'cluster.local';
const NAMESPACES = ['a', 'b', 'c', 'd'];
/** Viewers: the namespaces, and one nothing lives in. */
const VIEWERS = [...NAMESPACES, 'empty'];

/** Hostnames that overlap: Service hostnames a ServiceEntry declares too, wildcards covering each other, odd `*` forms. */
const HOSTS = [
  'api.example.com',
  'db.example.com',
  'example.com',
  '*.example.com',
  '*.a.example.com',
  'x.a.example.com',
  '**.example.com',
  '*example.com',
  '*',
  'mail.internal',
  '*.internal',
  'x.a.svc.cluster.local',
  'y.b.svc.cluster.local',
  '*.svc.cluster.local',
  '*.a.svc.cluster.local',
];
const EXPORT_TO = [undefined, ['.'], ['*'], ['b', 'c'], ['~'], ['.', 'a'], ['d', '*'], ['.', '.']];

const service = fc.record({
  namespace: fc.constantFrom(...NAMESPACES),
  name: fc.constantFrom('x', 'y', 'z'),
  exportTo: fc.constantFrom(...EXPORT_TO),
});
const serviceEntry = fc.record({
  namespace: fc.constantFrom(...NAMESPACES),
  hosts: fc.array(fc.constantFrom(...HOSTS), { minLength: 1, maxLength: 3 }),
  exportTo: fc.constantFrom(...EXPORT_TO),
});
const egressHost = fc.oneof(
  fc
    .tuple(
      fc.constantFrom('a', 'b', '.', '*', '~a', '~', '~*', '~.', 'zz'),
      fc.constantFrom(...HOSTS, 'z.c.svc.cluster.local', 'nope', '*.b.svc.cluster.local'),
    )
    .map(([ns, host]) => `${ns}/${host}`),
  fc.constantFrom('noslash', 'a/b/c', '*/*', './*'),
);
const sidecarHosts = fc.array(egressHost, { minLength: 1, maxLength: 6 });

interface ServiceCase {
  namespace: string;
  name: string;
  exportTo: string[] | undefined;
}
interface EntryCase {
  namespace: string;
  hosts: string[];
  exportTo: string[] | undefined;
}

function clusterOf(services: ServiceCase[], entries: EntryCase[]) {
  return storeOf({
    sidecars: [],
    pods: [],
    namespaces: NAMESPACES.map((name) => ({ kind: 'Namespace', metadata: { name } })),
    services: services.map((s) => ({
      kind: 'Service',
      metadata: {
        name: s.name,
        namespace: s.namespace,
        ...(s.exportTo ? { annotations: { 'networking.istio.io/exportTo': s.exportTo.join(',') } } : {}),
      },
    })),
    serviceEntries: entries.map((se, i) => ({
      kind: 'ServiceEntry',
      metadata: { name: `se-${i}`, namespace: se.namespace },
      spec: { hosts: se.hosts, ...(se.exportTo ? { exportTo: se.exportTo } : {}) },
    })),
  });
}

/** The definition: every entry of the registry tested on its own (hosts null: no Sidecar; viewer null: the whole mesh). */
function reference(view: ClusterView, hosts: readonly string[] | null, viewer: string | null): ImportCounts {
  const classes = hosts === null || viewer === null ? undefined : new HostClasses(hosts, viewer);
  const taken = (exportTo: readonly string[] | undefined, namespace: string, hostname: string) =>
    (viewer === null || visibleTo(exportTo, namespace, viewer)) && (!classes || classes.imports(hostname, namespace));
  const services = new Set<string>();
  const entries = new Set<string>();
  for (const ns of view.namespaceNames()) {
    for (const s of view.services(ns)) {
      const hostname = serviceHostname(s, DOMAIN);
      if (taken(s.exportTo, s.namespace, hostname)) services.add(hostname);
    }
    for (const se of view.serviceEntries(ns))
      for (const h of se.hosts) if (taken(se.exportTo, se.namespace, h)) entries.add(h);
  }
  for (const h of services) entries.delete(h);
  return { services: services.size, serviceEntryHosts: entries.size };
}

describe('ImportCounter (audit --scope counts)', () => {
  test('generated registries and Sidecars (fast-check): every count as the per-entry definition gives it', () => {
    fc.assert(
      fc.property(
        fc.array(service, { maxLength: 10 }),
        fc.array(serviceEntry, { maxLength: 8 }),
        fc.array(sidecarHosts, { minLength: 1, maxLength: 4 }),
        (services, entries, sidecars) => {
          const view = clusterOf(services, entries);
          const counter = new ImportCounter(view, DOMAIN);
          assert.deepEqual(counter.mesh(), reference(view, null, null), 'mesh');
          for (const viewer of VIEWERS) {
            assert.deepEqual(counter.everything(viewer), reference(view, null, viewer), `no Sidecar, ${viewer}`);
            for (const hosts of sidecars)
              assert.deepEqual(
                counter.imported(hosts, viewer),
                reference(view, hosts, viewer),
                `${JSON.stringify(hosts)} in ${viewer}`,
              );
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  test('the counts of one namespace do not change with the namespaces asked before it', () => {
    const view = clusterOf(
      [{ namespace: 'a', name: 'x', exportTo: ['b'] }],
      [{ namespace: 'b', hosts: ['x.a.svc.cluster.local', 'api.example.com'], exportTo: ['.'] }],
    );
    const counter = new ImportCounter(view, DOMAIN);
    const first = counter.everything('b');
    first.services = 99;
    assert.deepEqual(counter.everything('b'), { services: 1, serviceEntryHosts: 1 });
    assert.deepEqual(counter.imported(['*/*', '~*/api.example.com'], 'b'), { services: 1, serviceEntryHosts: 0 });
    assert.deepEqual(counter.everything('a'), { services: 0, serviceEntryHosts: 0 });
  });
});

describe('SuffixRanges (the widest `*/*suffix` hosts of a Sidecar)', () => {
  test('keeps the suffixes no other ends in, and covers a hostname as some suffix does (fast-check)', () => {
    const text = fc.string({ unit: fc.constantFrom('a', 'b', '.', '*'), maxLength: 5 });
    fc.assert(
      fc.property(fc.array(text, { maxLength: 12 }), fc.array(text, { maxLength: 12 }), (suffixes, hostnames) => {
        const ranges = new SuffixRanges(suffixes);
        const unique = [...new Set(suffixes)];
        const widest = unique.filter((s) => !unique.some((k) => k !== s && s.endsWith(k)));
        assert.deepEqual([...ranges.suffixes].sort(), widest.sort());
        for (const h of [...hostnames, ...suffixes])
          assert.equal(
            ranges.covers(h),
            suffixes.some((s) => h.endsWith(s)),
            h,
          );
      }),
      { numRuns: 2_000 },
    );
  });
});

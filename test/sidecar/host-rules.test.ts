// host.unknown (KIA1004): egress hosts against Services, ServiceEntries and Namespaces.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { storeOf } from '../../src/manifests/state.js';
import { crossObjectRules, type CrossOptions } from '../../src/sidecar/cross-rules.js';
import { hostRules, nearest } from '../../src/sidecar/host-rules.js';
import { boundedDistance } from '../../src/util/distance.js';
import type { ClusterView } from '../../src/sidecar/view.js';
import { FINDING_LIMITS, type Violation } from '../../src/sidecar/violation.js';
import { namespace, service, serviceEntry, sidecar } from '../helpers/objects.js';

const OPTIONS: CrossOptions = { overlap: 'workloads', rootNamespace: 'istio-system' };

/** The cluster of these tests: Services in shop and backend, ServiceEntries in egress, four namespaces. */
const CLUSTER = [
  namespace('shop'),
  namespace('backend'),
  namespace('egress'),
  namespace('istio-system'),
  service('shop', 'ratings'),
  service('shop', 'reviews'),
  service('backend', 'payment'),
  service('backend', 'ledger', { 'networking.istio.io/exportTo': '.' }),
  serviceEntry('egress', 'stripe', ['api.stripe.com'], ['shop']),
  serviceEntry('egress', 'github', ['api.github.com']),
  serviceEntry('egress', 'google', ['*.googleapis.com']),
  serviceEntry('shop', 'local-only', ['internal.example.com'], ['.']),
];

function viewOf(objs: Record<string, unknown>[]) {
  const by = (k: string) => objs.filter((o) => o.kind === k);
  return storeOf({
    sidecars: by('Sidecar'),
    pods: [],
    namespaces: by('Namespace'),
    services: by('Service'),
    serviceEntries: by('ServiceEntry'),
  });
}

function hosts(
  ns: string,
  list: string[],
  options: Partial<CrossOptions> = {},
  cluster = CLUSTER,
  extra: { oldHosts?: string[]; name?: string; spec?: Record<string, unknown> } = {},
): Violation[] {
  const name = extra.name ?? 'x';
  const object = sidecar(ns, name, { selector: { app: 'x' }, spec: { egress: [{ hosts: list }], ...extra.spec } });
  const oldObject = extra.oldHosts
    ? sidecar(ns, name, { selector: { app: 'x' }, spec: { egress: [{ hosts: extra.oldHosts }] } })
    : undefined;
  return crossObjectRules({ object, oldObject, ref: { namespace: ns, name } }, viewOf(cluster), {
    ...OPTIONS,
    ...options,
  }).filter((v) => v.rule === 'host.unknown');
}

const messages = (vs: Violation[]) => vs.map((v) => v.message);

describe('host.unknown: hosts that import something pass', () => {
  test('Services by their cluster-domain name, ./ for the own namespace, */ for any namespace', () => {
    assert.deepEqual(
      hosts('shop', [
        './ratings.shop.svc.cluster.local',
        'shop/reviews.shop.svc.cluster.local',
        'backend/payment.backend.svc.cluster.local',
        '*/payment.backend.svc.cluster.local',
      ]),
      [],
    );
  });

  test("ServiceEntry hosts in their own namespace or through */, when exported to the Sidecar's namespace", () => {
    assert.deepEqual(
      hosts('shop', ['egress/api.stripe.com', '*/api.github.com', 'egress/api.github.com', './internal.example.com']),
      [],
    );
  });

  test('wildcards, exclusions and */* are not looked up', () => {
    assert.deepEqual(
      hosts('shop', [
        '*/*',
        './*',
        'backend/*',
        'egress/*.googleapis.com',
        '*/*.example.com',
        '~backend/payment.backend.svc.cluster.local',
        '~/*',
      ]),
      [],
    );
  });

  test('nothing is judged while the view knows no Services, ServiceEntries or Namespaces', () => {
    assert.deepEqual(hosts('shop', ['shop/nope.shop.svc.cluster.local', 'nowhere/*'], {}, []), []);
  });

  test('--cluster-domain', () => {
    assert.deepEqual(hosts('shop', ['shop/ratings.shop.svc.corp.example'], { clusterDomain: 'corp.example' }), []);
    assert.equal(hosts('shop', ['shop/ratings.shop.svc.cluster.local'], { clusterDomain: 'corp.example' }).length, 1);
  });
});

describe('host.unknown: typos get a warning with a suggestion (KIA1004)', () => {
  test('a mistyped cluster domain', () => {
    const [v] = hosts('shop', ['shop/ratings.shop.svc.cluster.locl']);
    assert.equal(v!.severity, 'warning');
    assert.equal(v!.path, 'spec.egress[0].hosts[0]');
    assert.equal(
      v!.message,
      'Sidecar shop/x: egress host "shop/ratings.shop.svc.cluster.locl" has no matching entry in the service registry (KIA1004); did you mean shop/ratings.shop.svc.cluster.local?',
    );
    assert.match(v!.hint!, /--unknown-hosts=off/);
  });

  test('a Service name one letter off', () => {
    assert.deepEqual(messages(hosts('shop', ['backend/payments.backend.svc.cluster.local'])), [
      'Sidecar shop/x: egress host "backend/payments.backend.svc.cluster.local" has no matching entry in the service registry (KIA1004); did you mean backend/payment.backend.svc.cluster.local?',
    ]);
  });

  test('a Service name without the cluster domain (istiod matches hostnames exactly)', () => {
    assert.match(
      hosts('shop', ['shop/reviews.shop.svc'])[0]!.message,
      /did you mean shop\/reviews\.shop\.svc\.cluster\.local\?$/,
    );
    assert.match(
      hosts('shop', ['./reviews.shop'])[0]!.message,
      /did you mean \.\/reviews\.shop\.svc\.cluster\.local\?$/,
    );
  });

  test('a Service named under the wrong namespace key', () => {
    assert.match(
      hosts('shop', ['shop/payment.backend.svc.cluster.local'])[0]!.message,
      /: Service payment lives in namespace backend; did you mean backend\/payment\.backend\.svc\.cluster\.local\?$/,
    );
  });

  test('a ServiceEntry host under the wrong namespace key', () => {
    assert.match(
      hosts('shop', ['shop/api.github.com'])[0]!.message,
      /: ServiceEntry egress\/github declares it in namespace egress; did you mean egress\/api\.github\.com\?$/,
    );
  });

  test('a ServiceEntry exported to another namespace only', () => {
    assert.deepEqual(hosts('shop', ['egress/api.stripe.com']), []);
    assert.match(
      hosts('billing', ['egress/api.stripe.com'], {}, [...CLUSTER, namespace('billing')])[0]!.message,
      /: ServiceEntry egress\/stripe declares it but is not exported to namespace billing \(exportTo: shop\)$/,
    );
    assert.match(
      hosts('backend', ['shop/internal.example.com'])[0]!.message,
      /not exported to namespace backend \(exportTo: \.\)$/,
    );
  });

  test('a Service whose exportTo annotation hides it', () => {
    assert.deepEqual(hosts('backend', ['./ledger.backend.svc.cluster.local']), []);
    assert.match(
      hosts('shop', ['backend/ledger.backend.svc.cluster.local'])[0]!.message,
      /Service backend\/ledger is not exported to namespace shop/,
    );
  });

  test('an exact host that only a wildcard ServiceEntry declares', () => {
    assert.match(
      hosts('shop', ['egress/storage.googleapis.com'])[0]!.message,
      /: ServiceEntry egress\/google declares \*\.googleapis\.com, which an exact host does not import; did you mean egress\/\*\.googleapis\.com\?$/,
    );
  });

  test('a ServiceEntry host typo, also through */', () => {
    assert.match(hosts('shop', ['egress/api.githb.com'])[0]!.message, /did you mean egress\/api\.github\.com\?$/);
    assert.match(hosts('shop', ['*/api.githb.com'])[0]!.message, /did you mean \*\/api\.github\.com\?$/);
  });

  test('no suggestion when nothing is near', () => {
    assert.equal(
      hosts('shop', ['shop/inventory.shop.svc.cluster.local'])[0]!.message,
      'Sidecar shop/x: egress host "shop/inventory.shop.svc.cluster.local" has no matching entry in the service registry (KIA1004)',
    );
  });

  test('ns/* names a namespace that does not exist', () => {
    assert.deepEqual(messages(hosts('shop', ['backnd/*'])), [
      'Sidecar shop/x: egress host "backnd/*" names namespace "backnd", which does not exist: did you mean backend/*?',
    ]);
  });

  test("the Sidecar's own namespace is never said not to exist: the API server admits nothing into a missing one, and the view may not show a new one yet", () => {
    assert.deepEqual(messages(hosts('fresh', ['./*', 'fresh/*', 'istio-system/*', 'fresch/*'])), [
      'Sidecar fresh/x: egress host "fresch/*" names namespace "fresch", which does not exist',
    ]);
  });

  test('every listener and host position is reported', () => {
    const vs = hosts('shop', ['./*'], {}, CLUSTER, {
      spec: {
        egress: [
          { port: { number: 80, protocol: 'HTTP', name: 'http' }, hosts: ['shop/a.shop.svc.cluster.local'] },
          { hosts: ['./*', 'shop/b.shop.svc.cluster.local'] },
        ],
      },
    });
    assert.deepEqual(
      vs.map((v) => v.path),
      ['spec.egress[0].hosts[0]', 'spec.egress[1].hosts[1]'],
    );
  });

  test("the mesh default in the root namespace: `.` is each proxy's own namespace, so it is not looked up", () => {
    const root = sidecar('istio-system', 'default', {
      spec: { egress: [{ hosts: ['./reviews.shop.svc.cluster.local', 'shop/nope.shop.svc.cluster.local'] }] },
    });
    const vs = crossObjectRules(
      { object: root, ref: { namespace: 'istio-system', name: 'default' } },
      viewOf(CLUSTER),
      OPTIONS,
    ).filter((v) => v.rule === 'host.unknown');
    assert.deepEqual(
      vs.map((v) => v.path),
      ['spec.egress[0].hosts[1]'],
    );
  });
});

describe('--unknown-hosts', () => {
  test('deny refuses, without the object name (the denial names it)', () => {
    const [v] = hosts('shop', ['shop/ratings.shop.svc.cluster.locl'], { unknownHosts: 'deny' });
    assert.equal(v!.severity, 'error');
    assert.match(v!.message, /^egress host "shop\/ratings\.shop\.svc\.cluster\.locl" has no matching entry/);
  });

  test('deny lets an UPDATE keep a host the stored object already had', () => {
    const [kept] = hosts('shop', ['shop/gone.shop.svc.cluster.local'], { unknownHosts: 'deny' }, CLUSTER, {
      oldHosts: ['shop/gone.shop.svc.cluster.local'],
    });
    assert.equal(kept!.severity, 'warning');
    const [added] = hosts('shop', ['shop/gone.shop.svc.cluster.local'], { unknownHosts: 'deny' }, CLUSTER, {
      oldHosts: ['./*'],
    });
    assert.equal(added!.severity, 'error');
  });

  test("deny reads the stored object's hosts once, not once per unknown host", () => {
    const N = 200;
    const unknown = Array.from({ length: N }, (_, i) => `shop/gone-${i}.shop.svc.cluster.local`);
    // The stored hosts behind a Proxy that counts each element read: per unknown host a scan of them
    // was N × N reads (an UPDATE of 49,000 such hosts held the webhook 7 s).
    let reads = 0;
    const stored = [...unknown.slice(0, N / 2), ...Array.from({ length: N / 2 }, (_, i) => `shop/other-${i}.example`)];
    const counted = new Proxy(stored, {
      get(target, key, receiver) {
        if (typeof key === 'string' && /^\d+$/.test(key)) reads++;
        return Reflect.get(target, key, receiver);
      },
    });
    const object = sidecar('shop', 'x', { selector: { app: 'x' }, spec: { egress: [{ hosts: unknown }] } });
    const oldObject = sidecar('shop', 'x', { selector: { app: 'x' }, spec: { egress: [{ hosts: counted }] } });
    const vs = crossObjectRules({ object, oldObject, ref: { namespace: 'shop', name: 'x' } }, viewOf(CLUSTER), {
      ...OPTIONS,
      unknownHosts: 'deny',
    }).filter((v) => v.rule === 'host.unknown');
    // Capped to the rule's first findings, the first half kept from the stored object (warnings), the rest refused.
    assert.ok(vs.length > 0);
    for (const v of vs) {
      const i = Number(/gone-(\d+)/.exec(v.message)![1]);
      assert.equal(v.severity, i < N / 2 ? 'warning' : 'error', v.message);
    }
    assert.ok(reads <= 2 * N, `${reads} reads of ${N} stored hosts`);
  });

  test('off turns the check off', () => {
    assert.deepEqual(hosts('shop', ['shop/ratings.shop.svc.cluster.locl', 'backnd/*'], { unknownHosts: 'off' }), []);
  });
});

describe('edit distance', () => {
  test('boundedDistance is Levenshtein up to the bound', () => {
    assert.equal(boundedDistance('kitten', 'sitting', 5), 3);
    assert.equal(boundedDistance('same', 'same', 0), 0);
    assert.equal(boundedDistance('a', 'abcdef', 2), 3, 'beyond the bound: bound + 1');
    assert.equal(boundedDistance('cluster.locl', 'cluster.local', 3), 1);
  });

  test('nearest picks the closest within 3 edits, then the first name', () => {
    assert.equal(nearest('payments', ['payment', 'payroll', 'ledger']), 'payment');
    assert.equal(nearest('abcd', ['abce', 'abcf']), 'abce');
    assert.equal(nearest('inventory', ['ratings', 'reviews']), undefined);
  });

  test('nearest suggests a candidate exactly 3 edits away, never one 4 edits away', () => {
    assert.equal(nearest('abcdef', ['abcxyz']), 'abcxyz');
    assert.equal(nearest('abcdefg', ['abcwxyz']), undefined);
    assert.equal(nearest('backend', ['back']), 'back', 'three deletions');
    assert.equal(nearest('backend', ['bac']), undefined, 'four deletions');
  });

  test('nearest stops when its budget of comparisons is spent; a candidate too long or short to be near spends none', () => {
    assert.equal(nearest('abcd', ['wxyz', 'abce'], { left: 1 }), undefined);
    assert.equal(nearest('abcd', ['wxyz', 'abce'], { left: 2 }), 'abce');
    const budget = { left: 1 };
    assert.equal(nearest('abcd', ['abcdefghij', 'abcdefgh', 'abce'], budget), 'abce');
    assert.equal(budget.left, 0);
  });
});

describe('host.unknown: explanations are bounded per Sidecar', () => {
  /** NAMESPACES namespaces, each with a ServiceEntry for api.partnerN.com, seen through a view that counts its calls. */
  const NAMESPACES = 60;
  const cluster = [namespace('shop')];
  for (let i = 0; i < NAMESPACES; i++) {
    cluster.push(namespace(`team${i}`), serviceEntry(`team${i}`, `se${i}`, [`api.partner${i}.com`]));
  }
  const store = viewOf(cluster);

  function judged(hostList: string[]): { findings: Violation[]; calls: Record<string, number> } {
    const calls: Record<string, number> = {};
    const counting = new Proxy(store, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          calls[String(key)] = (calls[String(key)] ?? 0) + 1;
          return value.apply(target, args);
        };
      },
    }) as ClusterView;
    const object = sidecar('shop', 'x', { selector: { app: 'x' }, spec: { egress: [{ hosts: hostList }] } });
    const findings = hostRules({ object, ref: { namespace: 'shop', name: 'x' } }, counting, OPTIONS);
    return { findings, calls };
  }
  const typos = (n: number) => Array.from({ length: n }, (_, i) => `*/api.partner${i % NAMESPACES}.co`);
  const missingNamespaces = (n: number) => Array.from({ length: n }, (_, i) => `team${i % NAMESPACES}x/*`);
  const suggested = (vs: Violation[]) => vs.filter((v) => v.message.includes('did you mean')).length;

  test('the first FINDING_LIMITS.perRule unknown hosts are explained, later ones (never shown) are not', () => {
    const { findings } = judged([...typos(30), ...missingNamespaces(30)]);
    assert.equal(findings.length, 60, 'every unknown host is still a finding');
    assert.equal(suggested(findings.slice(0, FINDING_LIMITS.perRule)), FINDING_LIMITS.perRule);
    assert.equal(suggested(findings.slice(FINDING_LIMITS.perRule)), 0);
    assert.match(findings[0]!.message, /did you mean \*\/api\.partner0\.com\?$/);
  });

  test('a thousand unknown hosts search the cluster no more than twenty do', () => {
    for (const make of [typos, missingNamespaces]) {
      const few = judged(make(FINDING_LIMITS.perRule)).calls;
      const many = judged(make(1000)).calls;
      assert.equal(many.namespaceNames, 1, 'the namespace names are read once');
      assert.equal(few.namespaceNames, 1);
      assert.equal(many.serviceEntries, few.serviceEntries, 'every ServiceEntry is gathered once, not per host');
      assert.equal(many.services, few.services);
    }
  });
});

test("a host Istio already refuses gets Istio's error alone, not a registry warning too", async () => {
  const { judge } = await import('../../src/sidecar/review.js');
  const object = sidecar('shop', 'x', {
    selector: { app: 'x' },
    spec: { egress: [{ hosts: ['shop/ratings', 'shop/ratings.shop.svc.cluster.locl'] }] },
  });
  const findings = judge({ object, ref: { namespace: 'shop', name: 'x' } }, viewOf(CLUSTER), {
    ...OPTIONS,
    rejectUnknownFields: false,
  });
  assert.deepEqual(
    findings.filter((v) => v.path.startsWith('spec.egress')).map((v) => `${v.path} ${v.rule}`),
    ['spec.egress[0].hosts[0] H4', 'spec.egress[0].hosts[1] host.unknown'],
  );
});

describe('host.port: a listener with a port imports only Services that have that port (istio/istio#16885)', () => {
  const listener = (port: Record<string, unknown> | undefined, list: string[]) =>
    sidecar('shop', 'x', { selector: { app: 'x' }, spec: { egress: [{ ...(port ? { port } : {}), hosts: list }] } });
  /** host.port's findings on a Sidecar, judged where its metadata puts it. */
  const judge = (object: Record<string, unknown>, cluster = CLUSTER) => {
    const { namespace, name } = object.metadata as { namespace: string; name: string };
    return crossObjectRules({ object, ref: { namespace, name } }, viewOf(cluster), OPTIONS).filter(
      (v) => v.rule === 'host.port',
    );
  };
  const http9080 = { number: 9080, protocol: 'HTTP', name: 'http' };

  test('an exact Service host on a listener whose port the Service lacks: a warning naming its ports', () => {
    const [v, ...rest] = judge(listener(http9080, ['istio-system/*', 'backend/payment.backend.svc.cluster.local']));
    assert.equal(rest.length, 0);
    assert.equal(v!.severity, 'warning');
    assert.equal(v!.path, 'spec.egress[0].hosts[1]');
    assert.equal(
      v!.message,
      'Sidecar shop/x: egress host "backend/payment.backend.svc.cluster.local" is the Service backend/payment, which has no port 9080 (it has 80): istiod imports a host through a listener with a port only where the Service has that port, so this listener gives it no route',
    );
    assert.equal(v!.hint, 'give the listener a port the Service has, or list the host in a listener without a port');
  });

  test('`.` and `*` keys name the Service too; a wildcard host, an exclusion and an unknown Service are not judged here', () => {
    assert.equal(judge(listener(http9080, ['./reviews.shop.svc.cluster.local'])).length, 1);
    assert.equal(judge(listener(http9080, ['*/payment.backend.svc.cluster.local'])).length, 1);
    assert.deepEqual(judge(listener(http9080, ['backend/*', '~backend/payment.backend.svc.cluster.local'])), []);
    assert.deepEqual(judge(listener(http9080, ['backend/nothing.backend.svc.cluster.local'])), []);
    assert.deepEqual(
      judge(listener(http9080, ['shop/payment.backend.svc.cluster.local'])),
      [],
      'the key does not accept it',
    );
  });

  test('no warning when the Service has the port, the listener has no port, port 0 (a unix socket) or HTTP_PROXY', () => {
    const host = ['backend/payment.backend.svc.cluster.local'];
    assert.deepEqual(judge(listener({ number: 80, protocol: 'HTTP', name: 'http' }, host)), []);
    assert.deepEqual(judge(listener(undefined, host)), []);
    assert.deepEqual(judge(listener({ number: 0, protocol: 'HTTP', name: 'uds' }, host)), []);
    assert.deepEqual(judge(listener({ number: 9080, protocol: 'HTTP_PROXY', name: 'proxy' }, host)), []);
  });

  test('a Service not exported to the Sidecar, or one whose ports are unknown, is left to others', () => {
    assert.deepEqual(judge(listener(http9080, ['backend/ledger.backend.svc.cluster.local'])), [], 'exportTo: .');
    const metadataOnly = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'meta', namespace: 'backend' } };
    assert.deepEqual(
      judge(listener(http9080, ['backend/meta.backend.svc.cluster.local']), [...CLUSTER, metadataOnly]),
      [],
    );
  });

  test('`ns/*` on a listener whose port no Service or ServiceEntry of the namespace it sees has: a warning', () => {
    const [v, ...rest] = judge(listener(http9080, ['./*']));
    assert.equal(rest.length, 0);
    assert.equal(v!.path, 'spec.egress[0].hosts[0]');
    assert.equal(
      v!.message,
      'Sidecar shop/x: egress host "./*" imports nothing through this listener: none of the 3 Services and ServiceEntries of namespace shop it sees has port 9080 (they have 80, 443), and istiod imports a host through a listener with a port only where its Service or ServiceEntry has that port',
    );
    assert.equal(
      v!.hint,
      "give the listener a port the namespace's Services have, or list the host in a listener without a port",
    );
    // backend: payment (80) and ledger, which is exported to backend alone and so not seen from shop.
    const [one] = judge(listener(http9080, ['backend/*']));
    assert.match(
      one!.message,
      /the only Service or ServiceEntry of namespace backend it sees has no port 9080 \(it has 80\)/,
    );
    // One of them has the port: something is imported.
    assert.deepEqual(judge(listener({ number: 80, protocol: 'HTTP', name: 'http' }, ['./*'])), []);
    // A namespace with nothing in it, `*/*`, a partial wildcard, an exclusion of the namespace: not this rule's.
    assert.deepEqual(judge(listener(http9080, ['istio-system/*'])), []);
    assert.deepEqual(judge(listener(http9080, ['*/*'])), []);
    assert.deepEqual(judge(listener(http9080, ['backend/*.backend.svc.cluster.local'])), []);
    assert.deepEqual(judge(listener(http9080, ['backend/*', '~backend/*'])), []);
    // The one with the port is excluded by the listener: the rest lack it.
    const withPort = { ...service('backend', 'web'), spec: { ports: [{ name: 'http', port: 9080 }] } };
    assert.deepEqual(judge(listener(http9080, ['backend/*']), [...CLUSTER, withPort]), []);
    assert.equal(
      judge(listener(http9080, ['backend/*', '~backend/web.backend.svc.cluster.local']), [...CLUSTER, withPort]).length,
      1,
    );
    // A Service whose ports are not known: nothing is said.
    const metadataOnly = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'meta', namespace: 'backend' } };
    assert.deepEqual(judge(listener(http9080, ['backend/*']), [...CLUSTER, metadataOnly]), []);
  });

  test('what the whole listener imports counts: another key bringing the hostname in with the port, an exclusion', () => {
    const entryIn = (ns: string, name: string, port: number, exportTo?: string[]) => {
      const se = serviceEntry(ns, name, ['api.example.com'], exportTo) as { spec: Record<string, unknown> };
      se.spec.ports = [{ number: port, name: 'p' }];
      return se as unknown as Record<string, unknown>;
    };
    const cluster = [
      ...CLUSTER,
      namespace('a'),
      namespace('b'),
      entryIn('a', 'with-port', 9080),
      entryIn('b', 'without', 443),
    ];
    // b/ names only the entry without the port, but a/ in the same listener brings the hostname in on 9080.
    assert.deepEqual(judge(listener(http9080, ['b/api.example.com', 'a/api.example.com']), cluster), []);
    assert.deepEqual(judge(listener(http9080, ['b/api.example.com', 'a/*']), cluster), []);
    const [alone] = judge(listener(http9080, ['b/api.example.com']), cluster);
    assert.match(alone!.message, /is declared by ServiceEntry b\/without, which has no port 9080 \(it has 443\)/);
    // `*` imports both, and the one with the port wins; excluding it leaves the one without.
    assert.deepEqual(judge(listener(http9080, ['*/api.example.com']), cluster), []);
    const [excluded] = judge(listener(http9080, ['*/api.example.com', '~a/api.example.com']), cluster);
    assert.match(excluded!.message, /is declared by ServiceEntry b\/without, which has no port 9080/);
    // The one with the port is not exported to shop: it imports nothing here.
    const hidden = [
      ...CLUSTER,
      namespace('a'),
      namespace('b'),
      entryIn('a', 'with-port', 9080, ['a']),
      entryIn('b', 'without', 443),
    ];
    assert.equal(judge(listener(http9080, ['*/api.example.com']), hidden).length, 1);
    // ...except to the mesh default, which serves every namespace.
    const meshDefault = sidecar('istio-system', 'default', {
      spec: { egress: [{ port: http9080, hosts: ['*/api.example.com'] }] },
    });
    assert.deepEqual(judge(meshDefault, hidden), []);
  });

  test("a wildcard ServiceEntry host is no exact host's, and an ExternalName Service's ports are its target's", () => {
    const wildcard = serviceEntry('egress', 'any', ['*.example.com']);
    assert.deepEqual(judge(listener(http9080, ['*/*.example.com']), [...CLUSTER, wildcard]), []);
    const external = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'ext', namespace: 'backend' },
      spec: { type: 'ExternalName', externalName: 'payment.backend.svc.cluster.local' },
    };
    assert.deepEqual(judge(listener(http9080, ['backend/ext.backend.svc.cluster.local']), [...CLUSTER, external]), []);
  });

  test("the mesh default's `./*` is each proxy's own namespace: not judged", () => {
    const meshDefault = sidecar('istio-system', 'default', { spec: { egress: [{ port: http9080, hosts: ['./*'] }] } });
    const cluster = [...CLUSTER, service('istio-system', 'istiod')];
    assert.deepEqual(judge(meshDefault, cluster), []);
  });

  test('ServiceEntry ports count: a host is judged against every Service and ServiceEntry the key imports', () => {
    const entry = (
      ports: unknown[] | undefined,
      hosts = ['payment.backend.svc.cluster.local'],
      exportTo?: string[],
    ) => {
      const se = serviceEntry('backend', 'payment-entry', hosts, exportTo) as { spec: Record<string, unknown> };
      if (ports === undefined) delete se.spec.ports;
      else se.spec.ports = ports;
      return se as unknown as Record<string, unknown>;
    };
    const payment = ['backend/payment.backend.svc.cluster.local'];
    // The entry has the port the Service lacks: quiet. (istiod's all-exact listener takes one service per
    // hostname and namespace, the Service first, and so imports nothing here: a warning this rule misses.)
    assert.deepEqual(
      judge(listener(http9080, payment), [...CLUSTER, entry([{ number: 9080, name: 'http', protocol: 'HTTP' }])]),
      [],
    );
    const [both] = judge(listener(http9080, payment), [
      ...CLUSTER,
      entry([{ number: 443, name: 'tls', protocol: 'TLS' }]),
    ]);
    assert.equal(
      both!.message,
      'Sidecar shop/x: egress host "backend/payment.backend.svc.cluster.local" is the host of the Service backend/payment (80) and ServiceEntry backend/payment-entry (443), none of which has port 9080: istiod imports a host through a listener with a port only where one of them has that port, so this listener gives it no route',
    );
    assert.equal(both!.hint, 'give the listener a port one of them has, or list the host in a listener without a port');
    // An entry alone, for a name outside the cluster; without ports it imports on no port listener.
    const api = ['*/api.example.com'];
    const [alone] = judge(listener(http9080, api), [
      ...CLUSTER,
      entry([{ number: 443, name: 'tls' }], ['api.example.com']),
    ]);
    assert.match(
      alone!.message,
      /egress host "\*\/api\.example\.com" is declared by ServiceEntry backend\/payment-entry, which has no port 9080 \(it has 443\): .* only where the ServiceEntry has that port/,
    );
    assert.equal(
      alone!.hint,
      'give the listener a port the ServiceEntry has, or list the host in a listener without a port',
    );
    const [none] = judge(listener(http9080, api), [...CLUSTER, entry(undefined, ['api.example.com'])]);
    assert.match(none!.message, /which has no port 9080 \(it has none\)/);
    assert.deepEqual(
      judge(listener(http9080, api), [...CLUSTER, entry([{ number: 9080, name: 'http' }], ['api.example.com'])]),
      [],
    );
    // Not visible to the Sidecar, or not in a namespace the key accepts: host.unknown's, not this rule's.
    assert.deepEqual(
      judge(listener(http9080, api), [...CLUSTER, entry([{ number: 443 }], ['api.example.com'], ['.'])]),
      [],
    );
    assert.deepEqual(
      judge(listener(http9080, ['shop/api.example.com']), [...CLUSTER, entry([{ number: 443 }], ['api.example.com'])]),
      [],
    );
  });

  test('the second listener, a headless Service, TCP and UDP on one number, and an exclusion of the same listener', () => {
    const dns = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'dns', namespace: 'backend' },
      spec: {
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP' },
          { name: 'dns-tcp', port: 53, protocol: 'TCP' },
        ],
      },
    };
    const headless = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'db', namespace: 'backend' },
      spec: { clusterIP: 'None' },
    };
    const object = sidecar('shop', 'x', {
      selector: { app: 'x' },
      spec: {
        egress: [
          { hosts: ['./*'] },
          { port: http9080, hosts: ['backend/dns.backend.svc.cluster.local', 'backend/db.backend.svc.cluster.local'] },
        ],
      },
    });
    const found = judge(object, [...CLUSTER, dns, headless]);
    assert.deepEqual(
      found.map((v) => [v.path, v.message.match(/\(it has [^)]*\)|\(it has none\)/)?.[0]]),
      [
        ['spec.egress[1].hosts[0]', '(it has 53)'],
        ['spec.egress[1].hosts[1]', '(it has none)'],
      ],
    );
    assert.deepEqual(
      judge(listener(http9080, ['backend/payment.backend.svc.cluster.local', '~backend/*'])),
      [],
      'host.excluded speaks for it',
    );
    const emptyKey = listener(http9080, [
      'backend/payment.backend.svc.cluster.local',
      '~/payment.backend.svc.cluster.local',
    ]);
    assert.deepEqual(judge(emptyKey), [], '`~/host` excludes in every namespace, as istiod reads it');
  });

  test("in the root namespace `.` is judged for a selector Sidecar, not for the mesh default (each proxy's own namespace)", () => {
    const cluster = [...CLUSTER, service('istio-system', 'istiod')];
    const of = (selector: boolean) =>
      sidecar('istio-system', 'x', {
        ...(selector ? { selector: { app: 'x' } } : {}),
        spec: { egress: [{ port: http9080, hosts: ['./istiod.istio-system.svc.cluster.local'] }] },
      });
    assert.equal(judge(of(true), cluster).length, 1);
    assert.deepEqual(judge(of(false), cluster), []);
  });

  test('hostRules (audit) reports it as admission does', () => {
    const object = listener(http9080, ['backend/payment.backend.svc.cluster.local']);
    const found = hostRules({ object, ref: { namespace: 'shop', name: 'x' } }, viewOf(CLUSTER), {
      rootNamespace: 'istio-system',
    });
    assert.deepEqual(
      found.map((v) => v.rule),
      ['host.port'],
    );
  });
});

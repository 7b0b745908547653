// generate --from-prometheus and generate --diff against a real Prometheus
// holding the fixture mesh's traffic (test/fixtures/traffic/), queried
// through its HTTP API exactly as a cluster's Prometheus would be.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { fixture, runCli } from '../helpers/cli.js';
import { serveConfigOf } from '../../src/cli.js';
import { destinationOf, loadCalls, openMetrics, type Call } from './openmetrics.js';
import { startPrometheus, type TestPrometheus } from './prometheus-server.js';

const MESH = fixture('traffic/mesh.yaml');
const TEMPLATE = ['./*', 'istio-system/*'];
const calls = loadCalls();
let prometheus: TestPrometheus;

before(async () => {
  prometheus = await startPrometheus({ openMetrics: openMetrics(calls, Math.floor(Date.now() / 1000)) });
});
after(async () => {
  await prometheus?.stop();
});

interface Sidecar {
  metadata: { name: string; namespace: string };
  spec: { workloadSelector?: { labels: Record<string, string> }; egress: { hosts: string[] }[] };
}

const sidecarsOf = (yamlText: string): Sidecar[] => parseAllDocuments(yamlText).map((d) => d.toJS() as Sidecar);

/** The calls of the fixture that named a destination and happened in the last `days` days, from a proxy in `namespace`. */
function observed(namespace: string, days = 7): { call: Call; namespace: string; service: string }[] {
  return calls
    .filter((c) => c.from.startsWith(`${namespace}/`) && (c.days?.[1] ?? 0) < days && (c.days?.[0] ?? 10) > 0)
    .flatMap((c) => {
      const d = destinationOf(c);
      return d ? [{ call: c, namespace: d.namespace, service: d.service }] : [];
    });
}

/** What one egress host lets a proxy of `own` reach, written out by hand: `ns/*`, `./*` (own namespace), `ns/host` exactly. */
function allows(host: string, own: string, namespace: string, service: string): boolean {
  const [ns, name] = host.split('/') as [string, string];
  const resolved = ns === '.' ? own : ns;
  return (resolved === namespace || resolved === '*') && (name === '*' || name === service);
}

describe('generate --from-prometheus on the fixture mesh', () => {
  let all: Sidecar[];
  let stdout: string;

  before(async () => {
    const r = await runCli(['generate', '--from-prometheus', prometheus.url, '--all-namespaces', '--window', '7d']);
    assert.equal(r.code, 0, r.stderr);
    stdout = r.stdout;
    all = sidecarsOf(r.stdout);
    assert.match(r.stderr, /10 Sidecars from 2\d edges observed in the last 7d/);
  });

  test('one namespace default per calling namespace, the root namespace left out', () => {
    assert.deepEqual(
      all.map((s) => `${s.metadata.namespace}/${s.metadata.name}`),
      [
        'cart',
        'catalog',
        'checkout',
        'frontend',
        'inventory',
        'payments',
        'pricing',
        'search',
        'shipping',
        'users',
      ].map((ns) => `${ns}/default`),
    );
    assert.ok(all.every((s) => s.spec.workloadSelector === undefined && s.spec.egress.length === 1));
  });

  test('every observed edge is allowed, and nothing more than the template adds (edge by edge)', () => {
    for (const s of all) {
      const ns = s.metadata.namespace;
      const hosts = s.spec.egress[0]!.hosts;
      const edges = observed(ns);
      assert.ok(edges.length > 0, ns);
      for (const e of edges)
        assert.ok(
          hosts.some((h) => allows(h, ns, e.namespace, e.service)),
          `${ns} -> ${e.namespace}/${e.service} not allowed by ${hosts.join(', ')}`,
        );
      for (const h of hosts) {
        if (TEMPLATE.includes(h)) continue;
        assert.ok(
          edges.some((e) => allows(h, ns, e.namespace, e.service)) && !h.endsWith('/*'),
          `${ns}: ${h} was not called`,
        );
      }
      // The edge out of the window and the calls the metrics cannot name add nothing.
      assert.ok(
        !hosts.some((h) => h.startsWith('legacy/') || h.includes('unknown') || h.includes('Cluster')),
        hosts.join(', '),
      );
    }
  });

  test('frontend, exactly: sorted, de-duplicated, the old call to legacy left out', () => {
    const frontend = all.find((s) => s.metadata.namespace === 'frontend')!;
    assert.deepEqual(frontend.spec.egress[0]!.hosts, [
      './*',
      'cart/cart.cart.svc.cluster.local',
      'catalog/products.catalog.svc.cluster.local',
      'checkout/checkout.checkout.svc.cluster.local',
      'istio-system/*',
      'search/search.search.svc.cluster.local',
      'users/accounts.users.svc.cluster.local',
    ]);
    // TCP-only destinations and the external ServiceEntry host
    assert.deepEqual(all.find((s) => s.metadata.namespace === 'payments')!.spec.egress[0]!.hosts, [
      './*',
      'data/postgres.data.svc.cluster.local',
      'istio-system/*',
    ]);
    // a call inside the namespace is covered by ./*
    assert.deepEqual(all.find((s) => s.metadata.namespace === 'catalog')!.spec.egress[0]!.hosts, [
      './*',
      'inventory/stock.inventory.svc.cluster.local',
      'istio-system/*',
      'pricing/prices.pricing.svc.cluster.local',
    ]);
  });

  test('the output is stable and passes sidecar-guard check', async () => {
    const again = await runCli(['generate', '--from-prometheus', prometheus.url, '--all-namespaces']);
    assert.equal(again.stdout, stdout);
    const checked = await runCli(['check', '-'], { stdin: stdout });
    assert.equal(checked.code, 0, checked.stdout);
    assert.match(checked.stdout, /10 Sidecars: 10 allowed, 0 rejected/);
  });

  test('a longer window brings the call that stopped 9 days ago back', async () => {
    const r = await runCli([
      'generate',
      '--from-prometheus',
      prometheus.url,
      '--namespace',
      'frontend',
      '--window',
      '14d',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(sidecarsOf(r.stdout)[0]!.spec.egress[0]!.hosts.includes('legacy/old-api.legacy.svc.cluster.local'));
  });

  test('--collapse-threshold turns a namespace with more called hosts into ns/*', async () => {
    const r = await runCli([
      'generate',
      '--from-prometheus',
      prometheus.url,
      '--namespace',
      'users',
      '--collapse-threshold',
      '1',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(sidecarsOf(r.stdout)[0]!.spec.egress[0]!.hosts, ['./*', 'data/*', 'istio-system/*']);
    const none = await runCli(['generate', '--from-prometheus', prometheus.url, '--namespace', 'users']);
    assert.deepEqual(sidecarsOf(none.stdout)[0]!.spec.egress[0]!.hosts, [
      './*',
      'data/postgres.data.svc.cluster.local',
      'data/redis.data.svc.cluster.local',
      'istio-system/*',
    ]);
  });

  test('a namespace that called nothing gets the template (and the dependency map)', async () => {
    const r = await runCli([
      'generate',
      '--from-prometheus',
      prometheus.url,
      '--namespace',
      'data',
      '--deps',
      fixture('../../examples/dependencies.yaml'),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(sidecarsOf(r.stdout)[0]!.spec.egress[0]!.hosts, TEMPLATE);
    assert.match(r.stderr, /1 Sidecar from 0 edges/);
    // Often a typo: said, since the template alone under REGISTRY_ONLY cuts the namespace off.
    assert.match(r.stderr, /warning: no call from namespace "data" in the last \S+: is the name right\?/);
  });

  test('--per-workload: one selector Sidecar per calling workload, selecting its pod template labels', async () => {
    const r = await runCli([
      'generate',
      '--from-prometheus',
      prometheus.url,
      '--all-namespaces',
      '--per-workload',
      MESH,
      '-o',
      'json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const list = JSON.parse(r.stdout) as { kind: string; items: Sidecar[] };
    assert.equal(list.kind, 'List');
    const shipping = list.items.find((s) => s.metadata.namespace === 'shipping')!;
    assert.equal(shipping.metadata.name, 'shipping');
    assert.deepEqual(shipping.spec.workloadSelector, { labels: { app: 'shipping', version: 'v1' } });
    assert.deepEqual(shipping.spec.egress[0]!.hosts, [
      './*',
      'inventory/stock.inventory.svc.cluster.local',
      'istio-system/*',
      'users/accounts.users.svc.cluster.local',
    ]);
    assert.equal(list.items.length, 10);
    const checked = await runCli(['check', '--isolated', '-'], { stdin: r.stdout });
    assert.equal(checked.code, 0, checked.stdout);
  });
});

describe('generate --diff on the fixture mesh', () => {
  test('lists exactly the blocked edges, and the hosts no call used', async () => {
    const r = await runCli(['generate', '--diff', '--from-prometheus', prometheus.url, MESH, '-o', 'json']);
    assert.equal(r.code, 1, r.stderr);
    const report = JSON.parse(r.stdout) as {
      namespaces: {
        namespace: string;
        blocked: {
          source: { namespace: string; workload: string };
          add: string;
          reason: string;
          sidecar: { name: string };
        }[];
        unused: { host: string; sidecar: { namespace: string; name: string } }[];
      }[];
      summary: { blocked: number; unused: number; namespaces: number };
    };
    const blocked = report.namespaces.flatMap((n) =>
      n.blocked.map((b) => `${b.source.namespace}/${b.source.workload} -> ${b.add} (${b.reason}, ${b.sidecar.name})`),
    );
    const expected = calls
      .filter((c) => c.blocked)
      .map((c) => `${c.from} -> ${destinationOf(c)!.namespace}/${destinationOf(c)!.service} (not-imported, default)`);
    assert.deepEqual(blocked, expected);
    assert.deepEqual(
      report.namespaces.flatMap((n) => n.unused.map((u) => `${u.sidecar.namespace}/${u.sidecar.name}: ${u.host}`)),
      [
        'frontend/default: legacy/old-api.legacy.svc.cluster.local',
        'search/default: pricing/prices.pricing.svc.cluster.local',
      ],
    );
    assert.equal(report.summary.namespaces, 12);
  });

  test('never proposes removing a host that had traffic in the window', async () => {
    const r = await runCli(['generate', '--diff', '--from-prometheus', prometheus.url, '--window', '14d', MESH]);
    assert.equal(r.code, 1);
    assert.doesNotMatch(r.stdout, /unused +legacy\//);
    assert.match(
      r.stdout,
      /^search \(Sidecar search\/default\):\n {2}unused {3}pricing\/prices\.pricing\.svc\.cluster\.local in Sidecar search\/default: no call in the last 14d$/m,
    );
    assert.match(
      r.stdout,
      /^ {2}blocked {2}shipping\/shipping -> users\/accounts\.users\.svc\.cluster\.local \(\d+ requests\): not allowed by Sidecar shipping\/default: add users\/accounts\.users\.svc\.cluster\.local$/m,
    );
    assert.match(r.stdout, /^1 blocked call, 1 unused host in 12 namespaces/m);
  });

  test('after applying the generated defaults nothing is blocked', async () => {
    const generated = await runCli(['generate', '--from-prometheus', prometheus.url, '--all-namespaces']);
    const { readFileSync } = await import('node:fs');
    const withoutSidecars = readFileSync(MESH, 'utf8')
      .split(/^---$/m)
      .filter((d) => !/kind: Sidecar/.test(d))
      .join('---');
    const r = await runCli(['generate', '--diff', '--from-prometheus', prometheus.url, '-', '-o', 'json'], {
      stdin: `${withoutSidecars}\n---\n${generated.stdout}`,
    });
    assert.equal(r.code, 0, r.stdout);
    assert.equal(JSON.parse(r.stdout).summary.blocked, 0);
  });
});

describe('clear errors', () => {
  test('Prometheus unreachable', async () => {
    const stopped = await startPrometheus();
    await stopped.stop(); // its port is closed now
    const r = await runCli(['generate', '--from-prometheus', stopped.url, '--all-namespaces']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^sidecar-guard: Prometheus unreachable at http:\/\/127\.0\.0\.1:\d+: connect ECONNREFUSED/);
    assert.equal(r.stdout, '');
  });

  test('no Istio metrics found: names the series queried', async () => {
    const empty = await startPrometheus();
    try {
      const r = await runCli(['generate', '--from-prometheus', empty.url, '--all-namespaces']);
      assert.equal(r.code, 2);
      assert.match(
        r.stderr,
        /no Istio metrics found at http:\/\/127\.0\.0\.1:\d+: it has no series istio_requests_total and istio_tcp_connections_opened_total/,
      );
    } finally {
      await empty.stop();
    }
  });

  test('a window with no data', async () => {
    const r = await runCli(['generate', '--from-prometheus', prometheus.url, '--all-namespaces', '--window', '1m']);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /no data in the window: istio_requests_total and istio_tcp_connections_opened_total exist at .* but have no sample in the last 1m \(try a longer --window\)/,
    );
  });

  test('flags', async () => {
    const cases: [string[], RegExp][] = [
      [['generate', '--from-prometheus', prometheus.url], /needs --namespace NS or --all-namespaces/],
      [['generate', '--from-prometheus', prometheus.url, '-A', '-n', 'x'], /not both/],
      [['generate', '--from-prometheus', 'ftp://x', '-A'], /must be an http\(s\) URL/],
      [
        ['generate', '--from-prometheus', prometheus.url, '-A', '--window', '7 days'],
        /--window must be a Prometheus duration/,
      ],
      [
        ['generate', '--from-prometheus', prometheus.url, '-A', '--collapse-threshold', 'many'],
        /--collapse-threshold must be a non-negative integer/,
      ],
      [['generate', '--diff', '-n', 'x'], /--diff needs --from-prometheus/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, message);
    }
  });

  test('serve flags', () => {
    const cluster = ['--kubeconfig', 'x', '--generate-defaults', 'label'];
    assert.throws(
      () => serveConfigOf(['--defaults-prometheus', 'http://p:9090']),
      /--defaults-prometheus needs --generate-defaults label\|all/,
    );
    assert.throws(
      () => serveConfigOf([...cluster, '--defaults-prune']),
      /--defaults-prune needs --defaults-prometheus URL/,
    );
    assert.throws(
      () => serveConfigOf([...cluster, '--defaults-prometheus', 'http://p:9090', '--defaults-window', 'week']),
      /--defaults-window must be a Prometheus duration/,
    );
    assert.throws(
      () => serveConfigOf([...cluster, '--defaults-prometheus', 'http://p:9090', '--defaults-refresh', '10']),
      /at least 1000 ms/,
    );
    // 1000 ms is the least --defaults-refresh takes: 999 is refused, 1000 is not.
    assert.throws(
      () => serveConfigOf([...cluster, '--defaults-prometheus', 'http://p:9090', '--defaults-refresh', '999']),
      /--defaults-refresh must be at least 1000 ms/,
    );
    assert.equal(
      serveConfigOf([...cluster, '--defaults-prometheus', 'http://p:9090', '--defaults-refresh', '1000']).defaults
        .traffic?.intervalMs,
      1000,
    );
    const config = serveConfigOf([...cluster, '--defaults-prometheus', 'http://p:9090', '--defaults-prune']);
    assert.deepEqual(config.defaults.traffic, {
      url: 'http://p:9090',
      window: '7d',
      intervalMs: 600_000,
      prune: true,
      collapseThreshold: 0,
    });
  });
});

// serve --generate-defaults with --defaults-prometheus: the namespace-default
// controller reading a real Prometheus (the fixture mesh's traffic) and
// writing to the test API server over real HTTP with real informers. Hosts
// are only added; unused ones are reported (log, Event, listener → metric)
// and removed only with prune. Re-reads are triggered with refresh(), the
// same call the interval makes.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { ClusterInformers } from '../../src/cluster/informer.js';
import { KubeClient } from '../../src/cluster/kube.js';
import { ClusterStore } from '../../src/cluster/store.js';
import { DefaultsController, type ControllerOptions } from '../../src/defaults/controller.js';
import { DEFAULT_TEMPLATE } from '../../src/defaults/generate.js';
import { PrometheusClient } from '../../src/traffic/prometheus.js';
import { createMetrics } from '../../src/metrics.js';
import { startTestApiServer, type TestApiServer } from '../apiserver/index.js';
import { waitFor } from '../helpers/wait.js';
import { loadCalls, openMetrics } from './openmetrics.js';
import { startPrometheus, type TestPrometheus } from './prometheus-server.js';

const SIDECARS = 'networking.istio.io/v1';
const LABEL = 'sidecar-guard.io/default-sidecar';
const LEGACY = 'legacy/old-api.legacy.svc.cluster.local';
const SEARCH = 'search/search.search.svc.cluster.local';

let server: TestApiServer;
let prometheus: TestPrometheus;
let kubeconfig: string;
const running: { controller: DefaultsController; informers: ClusterInformers }[] = [];

before(async () => {
  // Each started one is kept for after(), even when the other fails to start (no Prometheus built): a server
  // left running would keep this file from ever exiting.
  const [api, prom] = await Promise.allSettled([
    startTestApiServer(),
    startPrometheus({ openMetrics: openMetrics(loadCalls(), Math.floor(Date.now() / 1000)) }),
  ]);
  if (api.status === 'fulfilled') server = api.value;
  if (prom.status === 'fulfilled') prometheus = prom.value;
  for (const r of [api, prom]) if (r.status === 'rejected') throw r.reason;
  kubeconfig = join(mkdtempSync(join(tmpdir(), 'sg-traffic-')), 'kubeconfig');
  server.writeKubeconfig(kubeconfig);
});

after(async () => {
  await stopAll();
  await Promise.all([server?.close(), prometheus?.stop()]);
});

async function stopAll(): Promise<void> {
  for (const r of running.splice(0)) {
    await r.controller.stop();
    await r.informers.stop();
  }
}

async function start(traffic: Partial<NonNullable<ControllerOptions['traffic']>> = {}) {
  await stopAll();
  const client = KubeClient.load(kubeconfig);
  const store = new ClusterStore();
  const logger = pino({ level: process.env.TEST_LOG ?? 'silent' });
  const informers = new ClusterInformers(client, store, logger, { initialBackoffMs: 50 });
  informers.start();
  assert.equal(await informers.whenSynced(), true);
  const controller = new DefaultsController(client, store, logger, {
    config: { rootNamespace: 'istio-system', template: { ...DEFAULT_TEMPLATE } },
    mode: 'label',
    namespaceLabel: LABEL,
    exclude: [],
    traffic: {
      source: new PrometheusClient(prometheus.url),
      window: '7d',
      intervalMs: 3_600_000,
      prune: false,
      ...traffic,
    },
  });
  const reports: [string, readonly string[], boolean][] = [];
  controller.onUnusedHosts((ns, hosts, pruned) => reports.push([ns, hosts, pruned]));
  controller.start();
  running.push({ controller, informers });
  return { controller, store, reports };
}

const namespace = (name: string) =>
  server.store.put('namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { [LABEL]: 'enabled' } },
  });
const hostsIn = (ns: string): string[] =>
  (
    server.store.list({ apiVersion: SIDECARS, resource: 'sidecars', namespace: ns })[0]?.spec as
      | { egress?: { hosts: string[] }[] }
      | undefined
  )?.egress?.[0]?.hosts ?? [];
const events = (ns: string, reason: string) =>
  server.store
    .list({ apiVersion: 'v1', resource: 'events', namespace: ns })
    .filter((e) => (e as { reason?: string }).reason === reason) as { message?: string; type?: string }[];

describe('namespace defaults from observed traffic', () => {
  test('creates defaults that allow what the namespace called, and adds to an existing managed one without removing', async () => {
    namespace('frontend');
    namespace('shipping');
    // Managed by sidecar-guard already, from before traffic was read: with a host no call uses now.
    server.store.put('sidecars', {
      apiVersion: SIDECARS,
      kind: 'Sidecar',
      metadata: {
        name: 'default',
        namespace: 'shipping',
        labels: { 'app.kubernetes.io/managed-by': 'sidecar-guard' },
        annotations: { 'sidecar-guard.io/template-hash': 'old' },
      },
      spec: { egress: [{ hosts: ['./*', 'istio-system/*', 'inventory/stock.inventory.svc.cluster.local', LEGACY] }] },
    });
    const { reports } = await start();
    await waitFor('the frontend default', () => hostsIn('frontend').length > 2, 15_000);
    assert.deepEqual(hostsIn('frontend'), [
      './*',
      'cart/cart.cart.svc.cluster.local',
      'catalog/products.catalog.svc.cluster.local',
      'checkout/checkout.checkout.svc.cluster.local',
      'istio-system/*',
      SEARCH,
      'users/accounts.users.svc.cluster.local',
    ]);
    await waitFor(
      'the call to users added in shipping',
      () => hostsIn('shipping').includes('users/accounts.users.svc.cluster.local'),
      15_000,
    );
    assert.deepEqual(hostsIn('shipping'), [
      './*',
      'inventory/stock.inventory.svc.cluster.local',
      'istio-system/*',
      LEGACY,
      'users/accounts.users.svc.cluster.local',
    ]);
    await waitFor('the unused host reported as an Event', () => events('shipping', 'UnusedHosts').length === 1, 15_000);
    assert.match(
      events('shipping', 'UnusedHosts')[0]!.message!,
      /1 egress host\(s\) had no call in the last 7d; kept \(removing needs --defaults-prune\): legacy\/old-api\.legacy\.svc\.cluster\.local/,
    );
    assert.equal(events('shipping', 'UnusedHosts')[0]!.type, 'Warning');
    assert.deepEqual(reports, [['shipping', [LEGACY], false]]);
  });

  test('when calls stop, the host stays and is reported', async () => {
    const { controller, reports } = await start();
    await controller.settled();
    await prometheus.deleteSeries('{source_workload="web",destination_service_name="search"}');
    await controller.refresh();
    await waitFor(
      () => `the report for frontend (reports: ${JSON.stringify(reports)}; frontend's hosts: ${hostsIn('frontend')})`,
      () => reports.some(([ns]) => ns === 'frontend'),
      15_000,
    );
    assert.deepEqual(
      reports.find(([ns]) => ns === 'frontend'),
      ['frontend', [SEARCH], false],
    );
    await controller.settled();
    assert.ok(hostsIn('frontend').includes(SEARCH), 'never removed without prune');
    await waitFor(
      () => `the Event (UnusedHosts Events in frontend: ${JSON.stringify(events('frontend', 'UnusedHosts'))})`,
      () => events('frontend', 'UnusedHosts').length === 1,
      15_000,
    );
  });

  test('with prune, unused hosts are removed and the removal is recorded', async () => {
    const { reports } = await start({ prune: true });
    await waitFor(
      'the pruned defaults',
      () => !hostsIn('shipping').includes(LEGACY) && !hostsIn('frontend').includes(SEARCH),
      15_000,
    );
    assert.deepEqual(hostsIn('shipping'), [
      './*',
      'inventory/stock.inventory.svc.cluster.local',
      'istio-system/*',
      'users/accounts.users.svc.cluster.local',
    ]);
    await waitFor(
      'the PrunedHosts Events',
      () => events('shipping', 'PrunedHosts').length === 1 && events('frontend', 'PrunedHosts').length === 1,
      15_000,
    );
    assert.deepEqual(
      reports
        .filter(([, , pruned]) => pruned)
        .map(([ns, hosts]) => [ns, hosts])
        .sort(),
      [
        ['frontend', [SEARCH]],
        ['shipping', [LEGACY]],
      ],
    );
  });

  test('nothing is created before Prometheus first answers', async () => {
    await stopAll();
    namespace('cart');
    const down = await startPrometheus();
    const url = down.url;
    await down.stop();
    const { controller, store } = await start({ source: new PrometheusClient(url) });
    await waitFor('the view to see cart', () => store.namespace('cart') !== undefined, 15_000);
    await controller.refresh(); // fails: nothing listens there
    await controller.settled();
    assert.deepEqual(hostsIn('cart'), []);
  });

  test('the reports feed the metrics', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.defaultsUnusedHosts('shipping', 1, 0);
    metrics.defaultsUnusedHosts('frontend', 0, 2);
    const text = await metrics.registry.metrics();
    assert.match(text, /^sidecar_guard_defaults_unused_hosts\{namespace="shipping"\} 1$/m);
    assert.match(text, /^sidecar_guard_defaults_pruned_hosts_total\{namespace="frontend"\} 2$/m);
  });
});

// The informer-backed cluster view (ClusterInformers → ClusterStore, through
// KubeClient and a kubeconfig) against the test API server while it
// misbehaves: dropped watches, 410 Gone, 500s, hung requests. The view
// recovers by re-listing, decisions keep using the last good view meanwhile,
// readiness turns false only once the view is staler than the bound, and
// nothing leaks (watches, timers, sockets, process listeners).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { ClusterInformers, RESOURCES as WATCHED } from '../../src/cluster/informer.js';
import { KubeClient } from '../../src/cluster/kube.js';
import { ClusterStore } from '../../src/cluster/store.js';
import { localAdmitter, type Admitter } from '../../src/cluster/admitter.js';
import { startTestApiServer, type KubeObject, type TestApiServer } from '../apiserver/index.js';
import { istioExtraResources } from '../apiserver/resources.js';
import { sidecarReview } from '../helpers/app.js';
import { sidecar } from '../helpers/objects.js';
import { waitFor } from './helpers.js';

const MAX_STALENESS_MS = 60_000;
const SIDECARS = '/apis/networking.istio.io/v1/sidecars';
const RESOURCES = WATCHED.length; // sidecars, pods, namespaces, workloads, Services, ServiceEntries: one watch each

// What informers can hold: sockets, servers and timers. Other kinds come and
// go with the test runner itself (its file reads, its IPC connects) and are
// no sign of a leak.
const TRACKED = new Set(['TCPSocketWrap', 'TCPServerWrap', 'TLSWrap', 'Timeout', 'Immediate']);

function activeResources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) if (TRACKED.has(r)) counts[r] = (counts[r] ?? 0) + 1;
  return counts;
}

const processListeners = () =>
  Object.fromEntries(process.eventNames().map((e) => [String(e), process.listenerCount(e)]));

describe('the cluster view while the API server misbehaves', { timeout: 120_000 }, () => {
  let server: TestApiServer;
  let dir: string;
  let store: ClusterStore;
  let informers: ClusterInformers;
  let admitter: Admitter;
  // The view's clock; the test jumps it forward to make the view stale without waiting.
  let offset = 0;
  const now = () => Date.now() + offset;
  const baseline = { resources: {} as Record<string, number> };
  const synced = { resources: {} as Record<string, number>, listeners: {} as Record<string, number> };

  const put = (name: string, namespace = 'shop', selector?: Record<string, string>) =>
    server.store.put('sidecars', sidecar(namespace, name, selector ? { selector } : {}) as KubeObject);
  const remove = (name: string, namespace = 'shop') =>
    server.store.remove({ apiVersion: 'networking.istio.io/v1', resource: 'sidecars', namespace, name });
  const lists = () => informers.status().reduce((n, s) => n + s.lists, 0);
  /** A second namespace-wide Sidecar in shop (a dry run: judged, never reserved). */
  const duplicateVerdict = () =>
    admitter.decideLocally(sidecarReview(sidecar('shop', 'intruder'), { dryRun: true }).request as never);
  const healthy = () => server.openWatches() === RESOURCES && informers.status().every((s) => s.connected);

  before(async () => {
    baseline.resources = activeResources();
    server = await startTestApiServer({ extraResources: istioExtraResources() });
    dir = mkdtempSync(join(tmpdir(), 'sg-faults-'));
    server.writeKubeconfig(join(dir, 'kubeconfig'));
    server.store.put('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
    put('default');
    store = new ClusterStore();
    informers = new ClusterInformers(KubeClient.load(join(dir, 'kubeconfig')), store, pino({ level: 'silent' }), {
      initialBackoffMs: 20,
      maxBackoffMs: 200,
      now,
    });
    admitter = localAdmitter(store, { overlap: 'labels', rootNamespace: 'istio-system' }).admitter;
    informers.start();
    await waitFor('the initial lists and watches', () => informers.synced() && healthy());
    synced.resources = activeResources();
    synced.listeners = processListeners();
  });

  after(async () => {
    await informers?.stop();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('synced: the view holds shop/default and a second namespace-wide Sidecar is denied', () => {
    assert.ok(store.sidecar('shop', 'default'));
    const d = duplicateVerdict();
    assert.equal(d.allowed, false);
    assert.match(d.message!, /namespace "shop" already has a namespace-wide Sidecar: default/);
    assert.deepEqual(informers.readiness(MAX_STALENESS_MS), { ready: true, reasons: [] });
  });

  test('dropped watches: still denying meanwhile, then re-watched and converged', async (t) => {
    const listsBefore = lists();
    server.faults.dropWatches();
    assert.equal(duplicateVerdict().allowed, false, 'decided on the last good view');
    put('added-after-drop', 'shop', { app: 'a' });
    await waitFor('convergence', () => !!store.sidecar('shop', 'added-after-drop') && healthy());
    t.diagnostic(`dropped ${RESOURCES} watches: re-watched, ${lists() - listsBefore} re-lists, view converged`);
    assert.equal(duplicateVerdict().allowed, false);
  });

  test('410 Gone: the expired watch re-lists and sees what changed while it was away', async (t) => {
    const listsBefore = lists();
    server.faults.endWatches();
    put('added-during-410', 'shop', { app: 'b' });
    remove('added-after-drop');
    server.faults.expireHistory();
    await waitFor(
      'convergence',
      () => !!store.sidecar('shop', 'added-during-410') && !store.sidecar('shop', 'added-after-drop') && healthy(),
    );
    t.diagnostic(`410 Gone: ${lists() - listsBefore} re-lists (one per resource), additions and deletions both seen`);
    assert.ok(lists() - listsBefore >= RESOURCES, 'every resource listed again');
  });

  test('500s: the last good view keeps deciding; readiness turns false only beyond the staleness bound; recovery re-lists', async (t) => {
    const listsBefore = lists();
    server.faults.failRequests({ match: (method) => method === 'GET', status: 500 });
    server.faults.dropWatches();
    put('created-during-outage', 'shop', { app: 'c' });
    // The injected Status message names the failure (the informer keeps the server's message, not the code).
    await waitFor('the outage to be noticed', () =>
      informers.status().every((s) => !s.connected && (s.lastError ?? '').includes('injected failure')),
    );
    const failedAttempts = () => server.requests().filter((r) => r.status === 500).length;
    await waitFor('a few failed retries', () => failedAttempts() >= 2 * RESOURCES);

    assert.ok(store.sidecar('shop', 'default'), 'nothing dropped from the view');
    assert.equal(store.sidecar('shop', 'created-during-outage'), undefined, 'nothing invented either');
    assert.equal(duplicateVerdict().allowed, false, 'the duplicate is still denied during the outage');
    assert.equal(informers.readiness(MAX_STALENESS_MS).ready, true, 'within the bound: still ready');

    offset += MAX_STALENESS_MS + 1_000;
    const stale = informers.readiness(MAX_STALENESS_MS);
    assert.equal(stale.ready, false);
    assert.equal(stale.reasons.length, RESOURCES);
    for (const reason of stale.reasons) assert.match(reason, /view stale for 6\ds \(.*injected failure/);
    assert.equal(duplicateVerdict().allowed, false, 'even stale, the last good view decides');

    server.faults.clear();
    await waitFor('recovery', () => !!store.sidecar('shop', 'created-during-outage') && healthy());
    t.diagnostic(
      `500s: ${failedAttempts()} requests failed in total so far, then ${lists() - listsBefore} re-lists; readiness false past ${MAX_STALENESS_MS} ms, true again after`,
    );
    assert.deepEqual(informers.readiness(MAX_STALENESS_MS), { ready: true, reasons: [] });
    assert.ok(lists() - listsBefore >= RESOURCES);
  });

  test('hung requests: a re-list that hangs leaves the last good view in charge until it completes', async () => {
    let hung = 0;
    server.faults.hangRequests({
      match: (method, path) => method === 'GET' && path.startsWith(SIDECARS) && !path.includes('watch') && ++hung > 0,
      ms: 1_500,
    });
    server.faults.dropWatches();
    remove('default');
    put('default-v2');
    await waitFor('the hanging re-list', () => hung > 0);
    assert.ok(store.sidecar('shop', 'default'), 'the old view stays while the list hangs');
    assert.match(duplicateVerdict().message ?? '', /namespace-wide Sidecar: default\b/);
    await waitFor(
      'convergence after the hang',
      () => !!store.sidecar('shop', 'default-v2') && !store.sidecar('shop', 'default') && healthy(),
    );
    server.faults.clear();
    assert.match(duplicateVerdict().message ?? '', /namespace-wide Sidecar: default-v2/);
  });

  test('nothing leaks: after 12 more fault cycles, the same timers and watches; sockets settle back; stop releases everything', async (t) => {
    for (let i = 0; i < 12; i++) {
      const marker = `cycle-${i}`;
      if (i % 3 === 0) server.faults.dropWatches();
      else if (i % 3 === 1) {
        server.faults.endWatches();
        server.faults.expireHistory();
      } else {
        server.faults.failRequests({ match: (method) => method === 'GET', status: 500, times: 2 * RESOURCES });
        server.faults.dropWatches();
      }
      put(marker, 'leaks', { app: marker });
      await waitFor(`convergence after ${marker}`, () => !!store.sidecar('leaks', marker) && healthy());
    }
    server.faults.clear();
    const afterCycles = activeResources();
    t.diagnostic(
      `after 12 fault cycles: open watches ${server.openWatches()}, timers ${afterCycles.Timeout ?? 0} (synced: ${synced.resources.Timeout ?? 0}), sockets ${afterCycles.TCPSocketWrap ?? 0} (synced: ${synced.resources.TCPSocketWrap ?? 0})`,
    );
    assert.equal(server.openWatches(), RESOURCES);
    assert.equal(afterCycles.Timeout ?? 0, synced.resources.Timeout ?? 0, 'no timer left behind by a fault');
    assert.deepEqual(processListeners(), synced.listeners, 'no process listener added');
    // Each re-list may open a connection that idles until its keep-alive ends: transient, not leaked.
    await waitFor(
      'idle connections to close',
      () => (activeResources().TCPSocketWrap ?? 0) <= (synced.resources.TCPSocketWrap ?? 0),
      20_000,
      100,
    );

    await informers.stop();
    await waitFor('no open watches', () => server.openWatches() === 0);
    await server.close();
    await waitFor(
      'every socket and timer of the informers gone',
      () => JSON.stringify(activeResources()) === JSON.stringify(baseline.resources),
      20_000,
      50,
    );
    assert.deepEqual(activeResources(), baseline.resources);
  });
});

// ClusterInformers against the test API server: paginated lists, watch
// events into the indexed store, readiness. (Faults: test/reliability/apiserver-faults.test.ts.)
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { ClusterInformers, LIST_PAGE_SIZE } from '../../src/cluster/informer.js';
import { KubeClient } from '../../src/cluster/kube.js';
import { ClusterStore } from '../../src/cluster/store.js';
import { startTestApiServer, type TestApiServer } from '../apiserver/index.js';
import { waitFor } from '../helpers/wait.js';

let server: TestApiServer;
let informers: ClusterInformers;
let kubeconfigPath: string;
const store = new ClusterStore();
const PODS = LIST_PAGE_SIZE * 2 + 137;

before(async () => {
  server = await startTestApiServer();
  server.store.put('namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'big', labels: { team: 'a' } },
  });
  for (let i = 0; i < PODS; i++) {
    server.store.put('pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `p-${i}`, namespace: 'big', labels: { app: `app-${i % 7}` } },
      spec: { containers: [{ name: 'c', image: 'x' }] },
    });
  }
  server.store.put('sidecars', {
    apiVersion: 'networking.istio.io/v1',
    kind: 'Sidecar',
    metadata: { name: 'default', namespace: 'big' },
    spec: { egress: [{ hosts: ['./*'] }] },
  });
  kubeconfigPath = join(mkdtempSync(join(tmpdir(), 'sg-informer-')), 'kubeconfig');
  server.writeKubeconfig(kubeconfigPath);
  informers = new ClusterInformers(KubeClient.load(kubeconfigPath), store, pino({ level: 'silent' }), {
    initialBackoffMs: 50,
  });
  informers.start();
});

after(async () => {
  await informers.stop();
  await server.close();
});

describe('ClusterInformers', () => {
  test('not ready until every resource is listed, then ready', async () => {
    assert.equal(await informers.whenSynced(), true);
    assert.equal(informers.synced(), true);
    assert.deepEqual(informers.readiness(60_000), { ready: true, reasons: [] });
    assert.ok(informers.status().every((s) => s.synced && s.lists === 1));
  });

  test('lists are paginated like client-go (limit/continue) and every page lands in the store', () => {
    assert.equal(store.counts().pods, PODS);
    assert.equal(store.podsMatching('big', { app: 'app-3' }, 10_000).length, Math.ceil((PODS - 3) / 7));
    const podLists = server
      .requests()
      .filter((r) => r.method === 'GET' && r.path.startsWith('/api/v1/pods?') && !r.path.includes('watch=true'));
    assert.equal(podLists.length, 3, JSON.stringify(podLists));
    assert.ok(podLists.every((r) => r.path.includes(`limit=${LIST_PAGE_SIZE}`)));
    assert.equal(podLists.filter((r) => r.path.includes('continue=')).length, 2);
    assert.equal(store.namespace('big')?.labels.team, 'a');
    assert.equal(store.namespaceWide('big')[0]?.name, 'default');
  });

  test('watch events keep the indexes current', async () => {
    server.store.put('sidecars', {
      apiVersion: 'networking.istio.io/v1',
      kind: 'Sidecar',
      metadata: { name: 'r', namespace: 'big' },
      spec: { workloadSelector: { labels: { app: 'app-1' } }, egress: [{ hosts: ['./*'] }] },
    });
    server.store.remove({ apiVersion: 'v1', resource: 'pods', namespace: 'big', name: 'p-0' });
    server.store.put('pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p-1', namespace: 'big', labels: { app: 'moved' } },
    });
    await waitFor(
      'the watch events',
      () =>
        store.sidecar('big', 'r') !== undefined &&
        store.counts().pods === PODS - 1 &&
        store.podsMatching('big', { app: 'moved' }, 1).length === 1,
      10_000,
    );
    assert.deepEqual({ ...store.sidecar('big', 'r')!.selector }, { app: 'app-1' });
  });
  test('pods are listed and watched as PartialObjectMetadata, other kinds (Services for their ports) as full objects', async () => {
    const view = new ClusterStore();
    const own = new ClusterInformers(KubeClient.load(kubeconfigPath), view, pino({ level: 'silent' }), {
      initialBackoffMs: 50,
    });
    own.start();
    assert.equal(await own.whenSynced(), true);
    // An event through each watch proves it is open.
    server.store.put('pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'through-watch', namespace: 'big', labels: { app: 'w' } },
    });
    server.store.put('services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'through-watch', namespace: 'big' },
      spec: { ports: [{ port: 80 }] },
    });
    await waitFor(
      'the watch events',
      () =>
        view.podsMatching('big', { app: 'w' }, 1).length === 1 && view.service('big', 'through-watch') !== undefined,
      10_000,
    );
    assert.deepEqual(view.servicePorts('big', 'through-watch'), [80]);
    const before = server.requests().length;
    await own.stop();
    // The test API server records a request when it ends: a watch when stop() closes it.
    const watches = () =>
      server
        .requests()
        .slice(before)
        .filter((r) => r.path.includes('watch=true'));
    await waitFor(
      'the closed watches recorded',
      () =>
        watches().some((r) => r.path.startsWith('/api/v1/pods?')) &&
        watches().some((r) => r.path.startsWith('/api/v1/services?')),
      10_000,
    );
    const acceptOf = (prefix: string) =>
      server
        .requests()
        .filter((r) => r.path.startsWith(prefix))
        .map((r) => ({ watch: r.path.includes('watch=true'), accept: r.accept }));
    for (const { watch, accept } of acceptOf('/api/v1/pods?')) {
      const wanted = watch
        ? 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1'
        : 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io';
      assert.equal(accept?.split(',')[0], wanted, `pods ${watch ? 'watch' : 'list'}`);
    }
    for (const resource of ['/apis/networking.istio.io/v1/sidecars?', '/api/v1/services?'])
      for (const { accept } of acceptOf(resource)) assert.equal(accept, 'application/json', resource);
  });
  test('whenSynced() says false when stopped before the first lists complete', async () => {
    server.faults.failRequests({
      match: (method, path) => method === 'GET' && path.startsWith('/api/v1/namespaces?'),
      status: 500,
    });
    try {
      const never = new ClusterInformers(
        KubeClient.load(kubeconfigPath),
        new ClusterStore(),
        pino({ level: 'silent' }),
        { initialBackoffMs: 50 },
      );
      never.start();
      const synced = never.whenSynced();
      await waitFor('a failed namespace list', () => never.status().some((s) => s.lastError !== undefined), 10_000);
      await never.stop();
      assert.equal(await synced, false);
      assert.equal(never.synced(), false);
    } finally {
      server.faults.clear();
    }
  });
});

// The real @kubernetes/client-node informer (ListWatch) against the test API
// server: adds, updates and deletes arrive; after the watch history expires
// and connections drop, it re-lists and converges; watch connections do not leak.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CustomObjectsApi, KubeConfig, PatchStrategy, makeInformer, setHeaderOptions } from '@kubernetes/client-node';
import type { Informer, KubernetesListObject, KubernetesObject, ObjectCache } from '@kubernetes/client-node';
import { startTestApiServer } from './index.js';
import type { KubeObject, TestApiServer } from './index.js';

const GROUP = 'networking.istio.io';
const SIDECARS = '/apis/networking.istio.io/v1/sidecars';

async function waitFor(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function sidecar(name: string, namespace: string, hosts: string[]): KubeObject {
  return { apiVersion: `${GROUP}/v1`, kind: 'Sidecar', metadata: { name, namespace }, spec: { egress: [{ hosts }] } };
}

function names(informer: ObjectCache<KubernetesObject>): string[] {
  return informer.list().map((o) => `${o.metadata?.namespace}/${o.metadata?.name}`).sort();
}

function serverNames(server: TestApiServer): string[] {
  return server.store.list({ apiVersion: `${GROUP}/v1`, resource: 'sidecars' }).map((o) => `${o.metadata.namespace}/${o.metadata.name}`).sort();
}

function listRequests(server: TestApiServer): number {
  return server.requests().filter((r) => r.method === 'GET' && (r.path === SIDECARS || r.path.startsWith(`${SIDECARS}?`)) && !r.path.includes('watch=true')).length;
}

describe('client-node informer on /apis/networking.istio.io/v1/sidecars', () => {
  let server: TestApiServer;
  let dir: string;
  let kc: KubeConfig;
  let api: CustomObjectsApi;
  let informer: Informer<KubernetesObject> & ObjectCache<KubernetesObject>;
  const events: string[] = [];
  let shuttingDown = false;

  before(async () => {
    server = await startTestApiServer();
    dir = mkdtempSync(join(tmpdir(), 'informer-test-'));
    server.writeKubeconfig(join(dir, 'kubeconfig'));
    kc = new KubeConfig();
    kc.loadFromFile(join(dir, 'kubeconfig'));
    api = kc.makeApiClient(CustomObjectsApi);
    for (const ns of ['shop', 'pay']) server.store.put('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    server.store.put('sidecars', sidecar('before-start', 'shop', ['./*']));

    const listFn = (): Promise<KubernetesListObject<KubernetesObject>> => api.listClusterCustomObject({ group: GROUP, version: 'v1', plural: 'sidecars' });
    informer = makeInformer(kc, SIDECARS, listFn);
    informer.on('add', (o) => events.push(`add ${o.metadata?.name}`));
    informer.on('update', (o) => events.push(`update ${o.metadata?.name}`));
    informer.on('delete', (o) => events.push(`delete ${o.metadata?.name}`));
    // What an application does: an informer stops on a connection error, so restart it.
    informer.on('error', () => {
      if (!shuttingDown) setTimeout(() => void informer.start(), 50);
    });
    await informer.start();
  });

  after(async () => {
    shuttingDown = true;
    await informer.stop();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists existing objects, then sees adds, updates and deletes made through the API', async () => {
    await waitFor('initial list', () => names(informer).includes('shop/before-start'));
    await api.createNamespacedCustomObject({ group: GROUP, version: 'v1', namespace: 'pay', plural: 'sidecars', body: sidecar('created', 'pay', ['./*']) });
    await waitFor('add', () => events.includes('add created'));

    await api.patchNamespacedCustomObject(
      { group: GROUP, version: 'v1', namespace: 'pay', plural: 'sidecars', name: 'created', body: { spec: { egress: [{ hosts: ['pay/*'] }] } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await waitFor('update', () => events.includes('update created'));
    const cached = informer.get('created', 'pay') as KubernetesObject & { spec?: { egress?: { hosts?: string[] }[] }; metadata: { generation?: number } };
    assert.deepEqual(cached.spec?.egress?.[0]?.hosts, ['pay/*']);
    assert.equal(cached.metadata.generation, 2);

    await api.deleteNamespacedCustomObject({ group: GROUP, version: 'v1', namespace: 'pay', plural: 'sidecars', name: 'created' });
    await waitFor('delete', () => events.includes('delete created'));
    assert.deepEqual(names(informer), serverNames(server));
  });

  it('serves every object at v1 through the informer, whichever version wrote it', async () => {
    await api.createNamespacedCustomObject({
      group: GROUP,
      version: 'v1alpha3',
      namespace: 'shop',
      plural: 'sidecars',
      body: { ...sidecar('alpha', 'shop', ['./*']), apiVersion: `${GROUP}/v1alpha3` },
    });
    await waitFor('add alpha', () => events.includes('add alpha'));
    assert.equal(informer.get('alpha', 'shop')?.apiVersion, `${GROUP}/v1`);
  });

  it('re-lists after an ended watch finds its resourceVersion expired (410), and converges', async () => {
    const listsBefore = listRequests(server);
    const watchesBefore = server.requests().filter((r) => r.path.startsWith(`${SIDECARS}?`) && r.path.includes('watch=true')).length;
    server.faults.endWatches();
    // Changes made while the informer is not watching, behind a history that no
    // longer reaches its resourceVersion: only a new list can reveal them.
    server.store.put('sidecars', sidecar('during-outage', 'pay', ['./*']));
    server.store.remove({ apiVersion: `${GROUP}/v1`, resource: 'sidecars', namespace: 'shop', name: 'alpha' });
    server.faults.expireHistory();

    await waitFor('convergence', () => JSON.stringify(names(informer)) === JSON.stringify(serverNames(server)));
    assert.ok(events.includes('add during-outage'));
    assert.ok(events.includes('delete alpha'));
    const watchRequests = server.requests().filter((r) => r.path.startsWith(`${SIDECARS}?`) && r.path.includes('watch=true'));
    assert.ok(watchRequests.length > watchesBefore, 'the informer watched again');
    assert.ok(listRequests(server) > listsBefore, 'listed again after the 410');
  });

  it('recovers from dropped connections plus expired history, and keeps one watch open', async () => {
    const listsBefore = listRequests(server);
    server.faults.dropWatches();
    server.store.put('sidecars', sidecar('after-drop', 'shop', ['./*']));
    server.faults.expireHistory();
    await waitFor('convergence', () => names(informer).includes('shop/after-drop') && JSON.stringify(names(informer)) === JSON.stringify(serverNames(server)));
    await waitFor('one open watch', () => server.openWatches() === 1);
    assert.ok(listRequests(server) > listsBefore, 'listed again');

    // Still live after recovery.
    server.store.put('sidecars', sidecar('after-recovery', 'shop', ['./*']));
    await waitFor('add after recovery', () => events.includes('add after-recovery'));
    assert.equal(server.openWatches(), 1);
  });

  it('closes its watch when stopped (no leaked connections)', async () => {
    await informer.stop();
    await waitFor('no open watches', () => server.openWatches() === 0);
    await informer.start();
    await waitFor('watching again', () => server.openWatches() === 1);
  });
});

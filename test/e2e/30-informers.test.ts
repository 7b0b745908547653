// The cluster view's informers against the real kube-apiserver and its watch
// cache, as the manifests' ServiceAccount (the token e2e:up got from the
// TokenRequest API): metadata-only pod lists, pagination with real continue
// tokens (snapshots: a change between pages shows up in the watch, not in the
// list), and bookmarks. The informers run in this process through a KubeClient
// that records what the API server answered; the records are only read.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { ClusterInformers, LIST_PAGE_SIZE } from '../../src/cluster/informer.js';
import {
  KubeClient,
  type KubeResponse,
  type RequestOptions,
  type WatchEnd,
  type WatchEvent,
  type WatchOptions,
} from '../../src/cluster/kube.js';
import { ClusterStore } from '../../src/cluster/store.js';
import type { AdminClient } from '../cluster/admin-client.js';
import { waitFor } from '../helpers/wait.js';
import { adminClient, E2E_DIR, mustKubectl, namespaces, needsRealApiServer } from './env.js';

const WEBHOOK_KUBECONFIG = join(E2E_DIR, 'webhook.kubeconfig');

interface Page {
  path: string;
  query: RequestOptions['query'];
  body: {
    kind?: string;
    metadata?: { continue?: string; resourceVersion?: string };
    items?: { kind?: string; metadata: { name: string; namespace: string }; spec?: unknown }[];
  };
}

/** A KubeClient that keeps every list page and watch event it saw, and can run a hook between pages. */
class RecordingClient extends KubeClient {
  readonly pages: Page[] = [];
  readonly watches: {
    path: string;
    resourceVersion?: string;
    events: { type: string; kind?: string; resourceVersion?: string }[];
  }[] = [];
  afterPage?: (page: Page) => Promise<void>;

  override async request<T = unknown>(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    opts: RequestOptions = {},
  ): Promise<KubeResponse<T>> {
    const response = await super.request<T>(method, path, opts);
    if (method === 'GET' && opts.query && 'limit' in opts.query) {
      const page = { path, query: opts.query, body: structuredClone(response.body) as Page['body'] };
      this.pages.push(page);
      await this.afterPage?.(page);
    }
    return response;
  }

  override watch(
    path: string,
    params: Record<string, string | number | boolean | undefined>,
    onEvent: (e: WatchEvent) => void,
    opts: WatchOptions,
  ): Promise<WatchEnd> {
    const record = {
      path,
      resourceVersion: params.resourceVersion as string | undefined,
      events: [] as { type: string; kind?: string; resourceVersion?: string }[],
    };
    this.watches.push(record);
    return super.watch(
      path,
      params,
      (e) => {
        const object = e.object as { kind?: string; metadata?: { resourceVersion?: string } } | undefined;
        record.events.push({ type: e.type, kind: object?.kind, resourceVersion: object?.metadata?.resourceVersion });
        onEvent(e);
      },
      opts,
    );
  }
}

const silent = pino({ level: 'silent' });
const pod = (ns: string, name: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: ns, labels: { app: 'informer-e2e', index: name.slice(-4) } },
  spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }] },
});

/** Creates or deletes many objects with a few requests in flight at once. */
async function inParallel<T>(items: T[], each: (item: T) => Promise<void>, width = 8): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await each(items[next++]!);
    }),
  );
}

describe('informers against the real watch cache', { skip: needsRealApiServer() }, () => {
  const NS = 'zz-e2e-informer'; // last in list order, so its pods fill the last pages
  const COUNT = LIST_PAGE_SIZE + 100; // two pages at least
  const name = (i: number) => `pod-${String(i).padStart(4, '0')}`;
  let admin: AdminClient;

  before(async () => {
    admin = adminClient();
    await namespaces(NS);
    await inParallel(
      Array.from({ length: COUNT }, (_, i) => i),
      async (i) => {
        const r = await admin.request(`/api/v1/namespaces/${NS}/pods`, { method: 'POST', body: pod(NS, name(i)) });
        if (r.status !== 201 && r.status !== 409)
          throw new Error(`creating ${name(i)}: ${r.status} ${JSON.stringify(r.body)}`);
      },
    );
  });
  after(async () => {
    await mustKubectl(['delete', 'pods', '--all', '-n', NS, '--wait=false']);
    admin.close();
  });

  test('pods are listed as metadata only, in pages with real continue tokens that are snapshots; the watch then brings the view to the truth', async () => {
    const client = new RecordingClient(KubeClient.load(WEBHOOK_KUBECONFIG).config);
    const store = new ClusterStore();
    const added = Array.from({ length: 10 }, (_, i) => `added-${i}`);
    const removed = Array.from({ length: 10 }, (_, i) => name(COUNT - 1 - i)); // the last pods of the last page
    client.afterPage = async (page) => {
      if (!page.path.endsWith('/pods') || client.pages.filter((p) => p.path.endsWith('/pods')).length !== 1) return;
      // Between the first page and the next: the later pages must not show these changes.
      for (const n of added)
        assert.equal(
          (await admin.request(`/api/v1/namespaces/${NS}/pods`, { method: 'POST', body: pod(NS, n) })).status,
          201,
        );
      for (const n of removed)
        assert.equal((await admin.request(`/api/v1/namespaces/${NS}/pods/${n}`, { method: 'DELETE' })).status, 200);
    };
    const informers = new ClusterInformers(client, store, silent);
    informers.start();
    try {
      await waitFor('the informers to sync', () => informers.synced(), 60_000);
      const podPages = client.pages.filter((p) => p.path === '/api/v1/pods');
      assert.ok(podPages.length >= 2, `${COUNT} pods in pages of ${LIST_PAGE_SIZE}: got ${podPages.length} pages`);
      assert.equal(podPages[0]!.query!.continue, undefined);
      for (const [i, p] of podPages.entries()) {
        assert.equal(p.body.kind, 'PartialObjectMetadataList', `page ${i}`);
        assert.ok(
          p.body.items!.every((item) => item.kind === 'PartialObjectMetadata' && item.spec === undefined),
          `page ${i}: metadata only`,
        );
        if (i > 0)
          assert.equal(
            p.query!.continue,
            podPages[i - 1]!.body.metadata!.continue,
            `page ${i} asks with the previous page's token`,
          );
      }
      const listed = podPages.flatMap((p) =>
        p.body.items!.filter((item) => item.metadata.namespace === NS).map((item) => item.metadata.name),
      );
      assert.equal(listed.length, COUNT, 'the list is the snapshot of the first page');
      for (const n of removed)
        assert.ok(listed.includes(n), `${n} (deleted after the first page) is still in the snapshot`);
      for (const n of added) assert.ok(!listed.includes(n), `${n} (created after the first page) is not`);
      // The watch from the list's resourceVersion delivers what changed meanwhile.
      const expected = [
        ...Array.from({ length: COUNT }, (_, i) => name(i)).filter((n) => !removed.includes(n)),
        ...added,
      ].sort();
      await waitFor(
        'the view to match the server',
        () =>
          JSON.stringify(
            store
              .pods(NS)
              .map((p) => p.name)
              .sort(),
          ) === JSON.stringify(expected),
        30_000,
      );
      assert.deepEqual(
        { ...store.pods(NS).find((p) => p.name === name(7))?.labels },
        { app: 'informer-e2e', index: '0007' },
      );
      // The watch is metadata-only too: kube-apiserver sends each pod event's object as a PartialObjectMetadata.
      const podEvents = client.watches
        .filter((w) => w.path === '/api/v1/pods')
        .flatMap((w) => w.events)
        .filter((e) => e.type !== 'BOOKMARK');
      assert.ok(
        podEvents.length >= added.length + removed.length,
        `the pod watch delivered the changes (${podEvents.length} events)`,
      );
      assert.deepEqual(
        [...new Set(podEvents.map((e) => e.kind))],
        ['PartialObjectMetadata'],
        'pod watch events carry metadata only',
      );
    } finally {
      await informers.stop();
    }
  });

  test('bookmarks: a quiet Sidecar watch learns the newer resourceVersion before its timeout, and the next watch resumes from there', async () => {
    const client = new RecordingClient(KubeClient.load(WEBHOOK_KUBECONFIG).config);
    // kube-apiserver sends a watcher a bookmark 2 s before the watch's own
    // deadline (and about once a minute), when its cache has seen a newer
    // resourceVersion than the watch started from.
    const informers = new ClusterInformers(client, new ClusterStore(), silent, { watchTimeoutSeconds: 4 });
    informers.start();
    try {
      const sidecarWatches = () => client.watches.filter((w) => w.path.endsWith('/sidecars'));
      await waitFor('the first Sidecar watch', () => sidecarWatches().length >= 1, 30_000);
      const started = Number(sidecarWatches()[0]!.resourceVersion);
      // Other objects change (the resourceVersion moves on without any Sidecar
      // event), and a consistent Sidecar list makes the cache catch up with
      // etcd's revision (etcd's progress notification, asked for on demand).
      const cm = await admin.request(`/api/v1/namespaces/${NS}/configmaps`, {
        method: 'POST',
        body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'bookmark-' }, data: { a: 'b' } },
      });
      assert.equal(cm.status, 201);
      const moved = Number((cm.body as { metadata: { resourceVersion: string } }).metadata.resourceVersion);
      assert.equal((await admin.request('/apis/networking.istio.io/v1/sidecars')).status, 200);
      await waitFor('a second Sidecar watch', () => sidecarWatches().length >= 2, 30_000);
      const [first, second] = sidecarWatches();
      const types = first!.events.map((e) => e.type);
      assert.ok(
        types.length > 0 && types.every((t) => t === 'BOOKMARK'),
        `a quiet watch: bookmarks only (${types.join(', ') || 'none'})`,
      );
      const bookmark = Number(first!.events.at(-1)!.resourceVersion);
      assert.ok(
        bookmark >= moved && moved > started,
        `bookmark at ${bookmark}, the watch began at ${started}, the ConfigMap was ${moved}`,
      );
      assert.equal(second!.resourceVersion, String(bookmark), 'the next watch starts where the bookmark said');
      assert.equal(informers.status().find((s) => s.resource === 'sidecars')!.lists, 1, 'no re-list');
    } finally {
      await informers.stop();
    }
  });
});

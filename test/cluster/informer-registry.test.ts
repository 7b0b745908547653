// The informers for workloads, Services and ServiceEntries against the test
// API server: reduced on arrival, kept current by watches, and a cluster
// without Istio's ServiceEntry CRD still becomes ready.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { ClusterInformers } from '../../src/cluster/informer.js';
import { KubeClient } from '../../src/cluster/kube.js';
import { listSnapshot } from '../../src/cluster/snapshot.js';
import { ClusterStore } from '../../src/cluster/store.js';
import { storeOf } from '../../src/manifests/state.js';
import { startTestApiServer, type KubeObject, type TestApiServer } from '../apiserver/index.js';
import { istioExtraResources, serviceEntryResource } from '../apiserver/resources.js';
import { deployment, service, serviceEntry, workload } from '../helpers/objects.js';
import { waitFor } from '../helpers/wait.js';

async function start(
  withServiceEntries: boolean | 'all',
  seed: (server: TestApiServer) => void,
  logger = pino({ level: 'silent' }),
) {
  const server = await startTestApiServer(
    withServiceEntries === 'all'
      ? { extraResources: istioExtraResources() }
      : withServiceEntries
        ? { extraResources: [serviceEntryResource()] }
        : {},
  );
  seed(server);
  const kubeconfig = join(mkdtempSync(join(tmpdir(), 'sg-informer-')), 'kubeconfig');
  server.writeKubeconfig(kubeconfig);
  const store = new ClusterStore();
  const client = KubeClient.load(kubeconfig);
  const informers = new ClusterInformers(client, store, logger, {
    initialBackoffMs: 50,
    maxBackoffMs: 100,
  });
  informers.start();
  return {
    server,
    store,
    informers,
    client,
    async close() {
      await informers.stop();
      await server.close();
    },
  };
}

const put = (server: TestApiServer, resource: string, obj: Record<string, unknown>) =>
  server.store.put(resource, obj as KubeObject);

describe('workload, Service and ServiceEntry informers', () => {
  test('list, reduce and follow watch events', async () => {
    const env = await start(true, (server) => {
      put(server, 'deployments', deployment('shop', 'reviews-v2', { app: 'reviews', version: 'v2' }, 0));
      put(
        server,
        'replicasets',
        workload('ReplicaSet', 'shop', 'reviews-v2-abc', { app: 'reviews', version: 'v2' }, { ownedBy: 'Deployment' }),
      );
      put(server, 'cronjobs', workload('CronJob', 'shop', 'report', { app: 'report' }));
      put(server, 'jobs', workload('Job', 'shop', 'report-123', { app: 'report' }, { ownedBy: 'CronJob' }));
      put(server, 'services', service('shop', 'ratings'));
      put(server, 'serviceentries', serviceEntry('egress', 'stripe', ['api.stripe.com'], ['shop']));
    });
    try {
      await waitFor('the first lists', () => env.informers.synced(), 10_000);
      assert.deepEqual(env.informers.readiness(60_000), { ready: true, reasons: [] });
      const names = env.store
        .workloads('shop')
        .map((w) => `${w.kind}/${w.name}/${w.replicas}`)
        .sort();
      assert.deepEqual(
        names,
        ['CronJob/report/undefined', 'Deployment/reviews-v2/0'],
        'owned ReplicaSets and Jobs are left out',
      );
      assert.ok(env.store.service('shop', 'ratings'));
      assert.deepEqual(
        env.store.serviceEntriesWithHost('api.stripe.com').map((e) => e.exportTo),
        [['shop']],
      );

      put(env.server, 'deployments', deployment('shop', 'reviews-v2', { app: 'reviews', version: 'v3' }, 2));
      put(env.server, 'statefulsets', workload('StatefulSet', 'shop', 'db', { app: 'db' }));
      put(env.server, 'services', service('shop', 'reviews'));
      env.server.store.remove({ apiVersion: 'v1', resource: 'services', namespace: 'shop', name: 'ratings' });
      put(env.server, 'serviceentries', serviceEntry('egress', 'stripe', ['files.stripe.com']));
      env.server.store.remove({ apiVersion: 'batch/v1', resource: 'cronjobs', namespace: 'shop', name: 'report' });
      await waitFor(
        'the watch events',
        () =>
          env.store.workloadsMatching('shop', { version: 'v3' }, 1).length === 1 &&
          env.store.workloadsMatching('shop', { app: 'db' }, 1).length === 1 &&
          env.store.workloadsMatching('shop', { app: 'report' }, 1).length === 0 &&
          !env.store.service('shop', 'ratings') &&
          !!env.store.service('shop', 'reviews') &&
          env.store.serviceEntriesWithHost('files.stripe.com').length === 1,
        10_000,
      );
      assert.equal(env.store.workloadsMatching('shop', { version: 'v3' }, 1)[0]!.replicas, 2);
      assert.deepEqual(env.store.serviceEntriesWithHost('api.stripe.com'), []);

      // audit's one-shot list reads the same resources, each workload with its kind (owned ones are left out when stored).
      const snapshot = await listSnapshot(env.client);
      assert.deepEqual(snapshot.workloads.map((w) => (w as { kind: string }).kind).sort(), [
        'Deployment',
        'Job',
        'ReplicaSet',
        'StatefulSet',
      ]);
      assert.equal(storeOf(snapshot).counts().workloads, 2);
      assert.equal(snapshot.services.length, 1);
      assert.equal(snapshot.serviceEntries.length, 1);
    } finally {
      await env.close();
    }
  });

  test('WorkloadEntries and WorkloadGroups are listed, reduced and followed like the other workloads', async () => {
    const entry = (name: string, labels: Record<string, string>) => ({
      apiVersion: 'networking.istio.io/v1',
      kind: 'WorkloadEntry',
      metadata: { name, namespace: 'shop' },
      spec: { address: '10.0.0.7', labels },
    });
    const env = await start('all', (server) => put(server, 'workloadentries', entry('vm-1', { app: 'reviews' })));
    try {
      await waitFor('the first lists', () => env.informers.synced(), 10_000);
      assert.deepEqual(
        env.store.workloadsMatching('shop', { app: 'reviews' }, 5).map((w) => `${w.kind} ${w.name}`),
        ['WorkloadEntry vm-1'],
      );
      put(env.server, 'workloadgroups', {
        apiVersion: 'networking.istio.io/v1',
        kind: 'WorkloadGroup',
        metadata: { name: 'ratings', namespace: 'shop' },
        spec: { metadata: { labels: { app: 'ratings' } }, template: { serviceAccount: 'ratings' } },
      });
      await waitFor(
        'the WorkloadGroup through its watch',
        () => env.store.hasWorkloadMatching('shop', { app: 'ratings' }),
        10_000,
      );
    } finally {
      await env.close();
    }
  });

  test('an optional kind the ClusterRole does not grant (403) is treated as empty with a warning: the view still gets ready', async () => {
    const lines: { level: number; msg: string; resource?: string }[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const env = await start(
      'all',
      (server) =>
        server.faults.failRequests({
          match: (method, path) => method === 'GET' && path.startsWith('/apis/networking.istio.io/v1/workloadentries'),
          status: 403,
        }),
      logger,
    );
    try {
      await waitFor('the first lists', () => env.informers.synced(), 10_000);
      assert.deepEqual(env.informers.readiness(60_000), { ready: true, reasons: [] });
      const warned = lines.filter((l) => l.level === 40 && l.resource === 'workloadentries');
      assert.equal(warned.length, 1);
      assert.match(warned[0]!.msg, /^list forbidden \(the ClusterRole lacks list\/watch on it\): treated as empty/);
    } finally {
      await env.close();
    }
  });

  test('without the ServiceEntry CRD the view is ready, holds none, and asks again later', async () => {
    const env = await start(false, (server) => put(server, 'services', service('shop', 'ratings')));
    try {
      await waitFor('the first lists', () => env.informers.synced(), 10_000);
      assert.deepEqual(env.informers.readiness(60_000), { ready: true, reasons: [] });
      assert.equal(env.store.knowsRegistry(), true);
      assert.equal(env.store.counts().serviceEntries, 0);
      const status = () => env.informers.status().find((s) => s.resource === 'serviceentries')!;
      await waitFor('a second look after the longest backoff', () => status().lists >= 2, 10_000);
      assert.equal(status().lastError, undefined);
      assert.deepEqual((await listSnapshot(env.client)).serviceEntries, []);
    } finally {
      await env.close();
    }
  });
});

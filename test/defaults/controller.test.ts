// The namespace-default controller against the test API server, over real
// HTTP with real list/watch informers, two replicas at once.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { pino } from 'pino';
import { ClusterInformers } from '../../src/cluster/informer.js';
import { KubeClient } from '../../src/cluster/kube.js';
import { ClusterStore } from '../../src/cluster/store.js';
import { DefaultsController, type Action, type ControllerOptions } from '../../src/defaults/controller.js';
import { DEFAULT_TEMPLATE } from '../../src/defaults/generate.js';
import { startTestApiServer, type TestApiServer } from '../apiserver/index.js';
import { waitFor } from '../helpers/wait.js';

const SIDECARS = 'networking.istio.io/v1';
const LABEL = 'sidecar-guard.io/default-sidecar';

interface Replica {
  store: ClusterStore;
  informers: ClusterInformers;
  controller: DefaultsController;
}

let server: TestApiServer;
let kubeconfig: string;
const replicas: Replica[] = [];

function options(extra: Partial<ControllerOptions> = {}): ControllerOptions {
  return {
    config: { rootNamespace: 'istio-system', template: { ...DEFAULT_TEMPLATE } },
    mode: 'label',
    namespaceLabel: LABEL,
    exclude: ['sidecar-guard'],
    retryMs: 100,
    ...extra,
  };
}

async function startReplica(opts = options()): Promise<Replica> {
  const client = KubeClient.load(kubeconfig);
  const store = new ClusterStore();
  const logger = pino({ level: 'silent' });
  const informers = new ClusterInformers(client, store, logger, { initialBackoffMs: 50 });
  informers.start();
  assert.equal(await informers.whenSynced(), true);
  const controller = new DefaultsController(client, store, logger, opts);
  controller.start();
  const replica = { store, informers, controller };
  replicas.push(replica);
  return replica;
}

async function stopReplica(r: Replica): Promise<void> {
  await r.controller.stop();
  await r.informers.stop();
  replicas.splice(replicas.indexOf(r), 1);
}

const namespace = (name: string, labels: Record<string, string> = {}) =>
  server.store.put('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
const sidecarsIn = (ns: string) => server.store.list({ apiVersion: SIDECARS, resource: 'sidecars', namespace: ns });
const sidecarWatch = (method: string, path: string) =>
  method === 'GET' && path.startsWith('/apis/networking.istio.io/v1/sidecars?') && path.includes('watch=true');
const sidecarLists = (r: Replica) => r.informers.status().find((s) => s.resource === 'sidecars')!.lists;
/**
 * The next reconcile of a namespace by one replica that saw the view in the
 * given state: the event that proves the controller had its chance to act.
 * Register it before making the change it should see.
 */
function reconciled(r: Replica, ns: string, viewSays: (store: ClusterStore) => boolean): Promise<Action> {
  return new Promise((resolve) => {
    const off = r.controller.onReconciled((namespace, action) => {
      if (namespace !== ns || !viewSays(r.store)) return;
      off();
      resolve(action);
    });
  });
}
const everyReplicaReconciled = (ns: string, viewSays: (store: ClusterStore) => boolean): Promise<Action[]> =>
  Promise.all(replicas.map((r) => reconciled(r, ns, viewSays)));
const creates = (ns: string) =>
  server
    .requests()
    .filter((r) => r.method === 'POST' && r.path.startsWith(`/apis/networking.istio.io/v1/namespaces/${ns}/sidecars`));

before(async () => {
  server = await startTestApiServer();
  kubeconfig = join(mkdtempSync(join(tmpdir(), 'sg-defaults-')), 'kubeconfig');
  server.writeKubeconfig(kubeconfig);
});

after(async () => {
  for (const r of [...replicas]) await stopReplica(r);
  await server.close();
});

describe('DefaultsController', () => {
  test('start-up covers existing labelled namespaces; two replicas create exactly one default', async () => {
    namespace('existing', { [LABEL]: 'enabled' });
    namespace('unlabelled');
    const [a, b] = await Promise.all([startReplica(), startReplica()]);
    await waitFor('the default in "existing"', () => sidecarsIn('existing').length === 1, 10_000);
    await Promise.all([a!.controller.settled(), b!.controller.settled()]);
    const [created] = sidecarsIn('existing');
    assert.equal(created!.metadata.name, 'default');
    assert.equal(created!.metadata.labels?.['app.kubernetes.io/managed-by'], 'sidecar-guard');
    assert.deepEqual(sidecarsIn('unlabelled'), []);
    // both replicas may try; the loser's AlreadyExists is success, never a second object
    assert.equal(creates('existing').filter((r) => r.status === 201).length, 1, JSON.stringify(creates('existing')));
    assert.ok(
      creates('existing').every((r) => r.status === 201 || r.status === 409),
      JSON.stringify(creates('existing')),
    );
  });

  test('a namespace labelled later gets one; a deleted managed default comes back', async () => {
    const seen = everyReplicaReconciled('later', (store) => store.namespace('later') !== undefined);
    namespace('later');
    assert.deepEqual(await seen, ['skipped', 'skipped']);
    assert.deepEqual(sidecarsIn('later'), []);
    namespace('later', { [LABEL]: 'enabled' });
    await waitFor('the default in "later"', () => sidecarsIn('later').length === 1, 10_000);
    const uid = sidecarsIn('later')[0]!.metadata.uid;
    server.store.remove({ apiVersion: SIDECARS, resource: 'sidecars', namespace: 'later', name: 'default' });
    await waitFor(
      'the default to be recreated',
      () => sidecarsIn('later').length === 1 && sidecarsIn('later')[0]!.metadata.uid !== uid,
      10_000,
    );
  });

  test('a namespace with its own namespace-wide Sidecar is left alone, and so is that Sidecar', async () => {
    namespace('owned');
    server.store.put('sidecars', {
      apiVersion: SIDECARS,
      kind: 'Sidecar',
      metadata: { name: 'theirs', namespace: 'owned' },
      spec: { egress: [{ hosts: ['*/*'] }] },
    });
    await waitFor(
      'the views to see their Sidecar',
      () => replicas.every((r) => r.store.sidecar('owned', 'theirs') !== undefined),
      10_000,
    );
    const seen = everyReplicaReconciled('owned', (store) => store.namespace('owned')?.labels[LABEL] === 'enabled');
    namespace('owned', { [LABEL]: 'enabled' });
    assert.deepEqual(await seen, ['unchanged', 'unchanged']);
    await Promise.all(replicas.map((r) => r.controller.settled()));
    assert.deepEqual(
      sidecarsIn('owned').map((s) => s.metadata.name),
      ['theirs'],
    );
    assert.deepEqual(sidecarsIn('owned')[0]!.spec, { egress: [{ hosts: ['*/*'] }] });
  });

  test("a Sidecar of the user's with a selector and the default's name: no create that must fail, one warning", async () => {
    // The name is taken, so every reconcile (each Sidecar event, each resync) POSTed and got AlreadyExists, silently.
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    const store = new ClusterStore();
    store.upsertNamespace({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'taken', labels: { [LABEL]: 'enabled' } },
    });
    const selected = {
      apiVersion: SIDECARS,
      kind: 'Sidecar',
      metadata: { name: 'default', namespace: 'taken' },
      spec: { workloadSelector: { labels: { app: 'a' } }, egress: [{ hosts: ['./*'] }] },
    };
    namespace('taken'); // labelled in this controller's own view only: the running replicas leave it alone
    server.store.put('sidecars', selected);
    store.upsertSidecar(selected);
    const controller = new DefaultsController(KubeClient.load(kubeconfig), store, logger, options());
    assert.equal(await controller.reconcile('taken'), 'unchanged');
    assert.equal(await controller.reconcile('taken'), 'unchanged');
    assert.deepEqual(creates('taken'), []);
    assert.equal(lines.length, 1, lines.join(''));
    assert.match(
      lines[0]!,
      /taken\/default is not sidecar-guard's and has a workloadSelector: no namespace default is written/,
    );
  });

  test('removing the label stops managing but leaves the object', async () => {
    namespace('leaving', { [LABEL]: 'enabled' });
    await waitFor('the default in "leaving"', () => sidecarsIn('leaving').length === 1, 10_000);
    namespace('leaving');
    await waitFor(
      'the views to see the label go',
      () => replicas.every((r) => r.store.namespace('leaving')?.labels[LABEL] === undefined),
      10_000,
    );
    await Promise.all(replicas.map((r) => r.controller.settled()));
    assert.equal(sidecarsIn('leaving').length, 1, 'the managed object is left in place');
    const seen = everyReplicaReconciled('leaving', (store) => store.sidecar('leaving', 'default') === undefined);
    server.store.remove({ apiVersion: SIDECARS, resource: 'sidecars', namespace: 'leaving', name: 'default' });
    assert.deepEqual(await seen, ['skipped', 'skipped']);
    assert.deepEqual(sidecarsIn('leaving'), [], 'not recreated once the namespace opted out');
  });

  test('a namespace being deleted gets no default: its deleted one is not recreated, nothing is retried', async () => {
    // The real kube-apiserver answers 403 "being terminated" to every create there, which was
    // retried with backoff for as long as the namespace lived (for ever when a finalizer holds it).
    for (const r of [...replicas]) await stopReplica(r);
    namespace('ending', { [LABEL]: 'enabled' });
    const r = await startReplica();
    await waitFor('the default in "ending"', () => sidecarsIn('ending').length === 1, 10_000);
    await waitFor('the view to see it', () => r.store.sidecar('ending', 'default') !== undefined, 10_000);
    const terminating = reconciled(r, 'ending', () => true);
    server.store.put('namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'ending', labels: { [LABEL]: 'enabled' }, deletionTimestamp: new Date().toISOString() },
      status: { phase: 'Terminating' },
    });
    await terminating;
    const seen = reconciled(r, 'ending', (store) => store.sidecar('ending', 'default') === undefined);
    server.store.remove({ apiVersion: SIDECARS, resource: 'sidecars', namespace: 'ending', name: 'default' });
    assert.equal(await seen, 'skipped');
    assert.equal(creates('ending').length, 1, JSON.stringify(creates('ending')));
  });

  test('a template change updates managed defaults in place (same uid, new spec and hash)', async () => {
    for (const r of [...replicas]) await stopReplica(r);
    namespace('templated', { [LABEL]: 'enabled' });
    const first = await startReplica();
    await waitFor('the default in "templated"', () => sidecarsIn('templated').length === 1, 10_000);
    const before = sidecarsIn('templated')[0]!;
    await stopReplica(first);
    await startReplica(
      options({
        config: {
          rootNamespace: 'istio-system',
          template: { ...DEFAULT_TEMPLATE, outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } },
        },
      }),
    );
    await waitFor(
      'the update',
      () =>
        (sidecarsIn('templated')[0]!.spec as { outboundTrafficPolicy?: unknown }).outboundTrafficPolicy !== undefined,
      10_000,
    );
    const afterUpdate = sidecarsIn('templated')[0]!;
    assert.equal(afterUpdate.metadata.uid, before.metadata.uid);
    assert.notEqual(
      afterUpdate.metadata.annotations?.['sidecar-guard.io/template-hash'],
      before.metadata.annotations?.['sidecar-guard.io/template-hash'],
    );
  });

  test('two replicas with different templates (a rollout) do not rewrite each other in a loop', async () => {
    // Each one's write is the other's watch event: without a hold they took turns at full API speed.
    for (const r of [...replicas]) await stopReplica(r);
    const slow = { retryMs: 60_000, maxRetryMs: 60_000 };
    const registryOnly = {
      rootNamespace: 'istio-system',
      template: { ...DEFAULT_TEMPLATE, outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' as const } },
    };
    const [a, b] = await Promise.all([
      startReplica(options(slow)),
      startReplica(options({ ...slow, config: registryOnly })),
    ]);
    const puts = () =>
      server
        .requests()
        .filter((r) => r.method === 'PUT' && r.path.startsWith('/apis/networking.istio.io/v1/namespaces/rollout/'));
    const hash = (s: { annotations: Record<string, string> } | undefined) =>
      s?.annotations['sidecar-guard.io/template-hash'];
    const quiet = () => {
      const stored = sidecarsIn('rollout')[0]?.metadata.annotations?.['sidecar-guard.io/template-hash'];
      return stored !== undefined && [a!, b!].every((r) => hash(r.store.sidecar('rollout', 'default')) === stored);
    };
    namespace('rollout', { [LABEL]: 'enabled' });
    await waitFor('both views to agree with the stored default', quiet, 10_000);
    await Promise.all([a!.controller.settled(), b!.controller.settled()]);
    await waitFor('both views to agree with the stored default', quiet, 10_000);
    const written = puts().length;
    // Both look again (a namespace event): neither may write while the other holds its version.
    const seen = everyReplicaReconciled('rollout', (store) => store.namespace('rollout')?.labels.touched === 'yes');
    namespace('rollout', { [LABEL]: 'enabled', touched: 'yes' });
    assert.deepEqual(await seen, ['unchanged', 'unchanged']);
    assert.equal(puts().length, written, JSON.stringify(puts()));
    assert.ok(puts().filter((r) => r.status === 200).length <= 3, JSON.stringify(puts()));
  });

  test('mode "all" covers every namespace except kube-system, kube-public, kube-node-lease, the root and our own', async () => {
    for (const r of [...replicas]) await stopReplica(r);
    for (const ns of ['istio-system', 'sidecar-guard', 'plain']) namespace(ns);
    await startReplica(options({ mode: 'all' }));
    await waitFor('the default in "plain"', () => sidecarsIn('plain').length === 1, 10_000);
    await Promise.all(replicas.map((r) => r.controller.settled()));
    for (const ns of ['kube-system', 'kube-public', 'kube-node-lease', 'istio-system', 'sidecar-guard'])
      assert.deepEqual(sidecarsIn(ns), [], ns);
  });

  test('a re-list never shows the controller a namespace without its own default: no second one is created', async () => {
    for (const r of [...replicas]) await stopReplica(r);
    // Lists come sorted by namespace and name, so this selector Sidecar is the first object of the re-list.
    namespace('aaa-relist', { [LABEL]: 'enabled' });
    server.store.put('sidecars', {
      apiVersion: SIDECARS,
      kind: 'Sidecar',
      metadata: { name: 'a-selected', namespace: 'aaa-relist' },
      spec: { workloadSelector: { labels: { app: 'a' } }, egress: [{ hosts: ['./*'] }] },
    });
    server.store.put('sidecars', {
      apiVersion: SIDECARS,
      kind: 'Sidecar',
      metadata: { name: 'theirs', namespace: 'aaa-relist' },
      spec: { egress: [{ hosts: ['*/*'] }] },
    });
    const r = await startReplica();
    await r.controller.settled();
    // Only the Sidecar watch re-lists: its next watch request gets 410 Gone.
    server.faults.failRequests({ match: sidecarWatch, status: 410, times: 1 });
    server.faults.endWatches();
    await waitFor('the Sidecar re-list', () => sidecarLists(r) === 2, 10_000);
    await r.controller.settled();
    assert.deepEqual(creates('aaa-relist'), []);
    assert.deepEqual(
      sidecarsIn('aaa-relist').map((s) => s.metadata.name),
      ['a-selected', 'theirs'],
    );
  });

  test('a managed default deleted while the watch was down is recreated after the re-list', async () => {
    for (const r of [...replicas]) await stopReplica(r);
    namespace('missed', { [LABEL]: 'enabled' });
    const r = await startReplica();
    await waitFor('the default in "missed"', () => sidecarsIn('missed').length === 1, 10_000);
    await waitFor('the view to see it', () => r.store.sidecar('missed', 'default') !== undefined, 10_000);
    const uid = sidecarsIn('missed')[0]!.metadata.uid;
    server.faults.failRequests({ match: sidecarWatch, status: 410, times: 1 });
    server.faults.endWatches();
    // Deleted between the end of the watch and the re-list: no DELETED event reaches the view.
    server.store.remove({ apiVersion: SIDECARS, resource: 'sidecars', namespace: 'missed', name: 'default' });
    await waitFor(
      'the default to be recreated',
      () => sidecarsIn('missed').length === 1 && sidecarsIn('missed')[0]!.metadata.uid !== uid,
      10_000,
    );
  });

  test('stop() aborts an API call that hangs instead of waiting for it', { timeout: 30_000 }, async () => {
    for (const r of [...replicas]) await stopReplica(r);
    let hung = 0;
    const hangs = (method: string, path: string) =>
      method === 'POST' && path.startsWith('/apis/networking.istio.io/v1/namespaces/hanging/sidecars') && ++hung > 0;
    server.faults.hangRequests({ match: hangs, ms: 60_000 });
    // The test server handles a hung request once its client is gone: fail it then instead.
    server.faults.failRequests({
      match: (method, path) => method === 'POST' && path.includes('/namespaces/hanging/'),
      status: 503,
    });
    try {
      namespace('hanging', { [LABEL]: 'enabled' });
      const r = await startReplica();
      await waitFor('the create to hang', () => hung > 0, 10_000);
      // Without an abort, stop() waits for the 30 s request timeout.
      const timer = new AbortController();
      const outcome = await Promise.race([
        r.controller.stop().then(() => 'stopped'),
        delay(15_000, 'still waiting', { signal: timer.signal }),
      ]);
      timer.abort();
      assert.equal(outcome, 'stopped');
    } finally {
      server.faults.clear();
    }
  });

  test('a generated Sidecar the webhook would deny is never written: refused, not retried', async () => {
    namespace('refusing', { [LABEL]: 'enabled' });
    const store = new ClusterStore();
    store.upsertNamespace({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'refusing', labels: { [LABEL]: 'enabled' } },
    });
    const broken = { rootNamespace: 'istio-system', template: { ...DEFAULT_TEMPLATE, egressHosts: ['noslash'] } };
    const controller = new DefaultsController(
      KubeClient.load(kubeconfig),
      store,
      pino({ level: 'silent' }),
      options({ config: broken }),
    );
    assert.equal(await controller.reconcile('refusing'), 'refused');
    assert.equal(creates('refusing').length, 0);
    // The same namespace with a valid template: the pipeline lets it through.
    const valid = new DefaultsController(KubeClient.load(kubeconfig), store, pino({ level: 'silent' }), options());
    assert.equal(await valid.reconcile('refusing'), 'created');
  });

  test('a refused default is warned about once per namespace and generated spec, again when the spec changes', async () => {
    // Every resync and Sidecar event reconciles again: one bad template warned on each of them flooded the log.
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    const store = new ClusterStore();
    for (const name of ['refused-a', 'refused-b'])
      store.upsertNamespace({
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name, labels: { [LABEL]: 'enabled' } },
      });
    const config = { rootNamespace: 'istio-system', template: { ...DEFAULT_TEMPLATE, egressHosts: ['noslash'] } };
    const controller = new DefaultsController(KubeClient.load(kubeconfig), store, logger, options({ config }));
    const denied = () => lines.filter((l) => l.includes('the generated Sidecar would be denied'));
    for (let i = 0; i < 3; i++) assert.equal(await controller.reconcile('refused-a'), 'refused');
    assert.equal(denied().length, 1, lines.join(''));
    assert.equal(await controller.reconcile('refused-b'), 'refused');
    assert.equal(denied().length, 2, 'each namespace is told once');
    config.template = { ...DEFAULT_TEMPLATE, egressHosts: ['stillnoslash'] };
    assert.equal(await controller.reconcile('refused-a'), 'refused');
    assert.equal(await controller.reconcile('refused-a'), 'refused');
    assert.equal(denied().length, 3, 'a changed template is warned about again, once');
    const hashes = denied().map((l) => (JSON.parse(l) as { hash: string }).hash);
    assert.equal(hashes[0], hashes[1]);
    assert.notEqual(hashes[2], hashes[0]);
    assert.deepEqual(creates('refused-a'), []);
  });

  test('a failing create is retried (per-namespace backoff, see the WorkQueue tests) until it succeeds', async () => {
    for (const r of [...replicas]) await stopReplica(r);
    server.faults.failRequests({
      match: (method, path) => method === 'POST' && path === '/apis/networking.istio.io/v1/namespaces/flaky/sidecars',
      status: 500,
      times: 3,
    });
    try {
      const r = await startReplica(options({ retryMs: 20, maxRetryMs: 40 }));
      const created = reconciled(r, 'flaky', () => true);
      namespace('flaky', { [LABEL]: 'enabled' });
      assert.equal(await created, 'created');
      const attempts = creates('flaky');
      assert.deepEqual(
        attempts.map((a) => a.status),
        [500, 500, 500, 201],
      );
    } finally {
      server.faults.clear();
    }
  });
});

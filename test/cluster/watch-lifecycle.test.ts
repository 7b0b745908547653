// How the informers' watches end and start again, against the test API
// server: quiet watches cut by the inactivity timeout, watches the server
// ends at once, and stop() while the API server hangs.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { ClusterInformers, RESOURCES, type InformerOptions } from '../../src/cluster/informer.js';
import { KubeClient } from '../../src/cluster/kube.js';
import { ClusterStore } from '../../src/cluster/store.js';
import { startTestApiServer, type KubeObject, type TestApiServer } from '../apiserver/index.js';
import { istioExtraResources } from '../apiserver/resources.js';
import { sidecar } from '../helpers/objects.js';
import { waitFor } from '../helpers/wait.js';

const PATHS = RESOURCES.map((r) => r.path);
const isWatch = (path: string) => path.includes('watch=true');

interface Env {
  server: TestApiServer;
  store: ClusterStore;
  informers: ClusterInformers;
  /** Every log line at warn level or above. */
  warnings: { msg: string }[];
  close(): Promise<void>;
}

async function startEnv(options: InformerOptions, prepare?: (server: TestApiServer) => void): Promise<Env> {
  // Every resource the informers watch is served, Istio's ServiceEntries and WorkloadEntries included.
  const server = await startTestApiServer({ extraResources: istioExtraResources() });
  const dir = mkdtempSync(join(tmpdir(), 'sg-watch-'));
  server.writeKubeconfig(join(dir, 'kubeconfig'));
  server.store.put('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
  prepare?.(server);
  const warnings: { msg: string }[] = [];
  const logger = pino(
    { level: 'warn' },
    { write: (line: string) => void warnings.push(JSON.parse(line) as { msg: string }) },
  );
  const store = new ClusterStore();
  const informers = new ClusterInformers(KubeClient.load(join(dir, 'kubeconfig')), store, logger, options);
  informers.start();
  return {
    server,
    store,
    informers,
    warnings,
    async close() {
      await informers.stop();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** 'done' if the promise settles within ms, else 'still waiting' (the timer is cancelled either way). */
async function within(promise: Promise<unknown>, ms: number): Promise<'done' | 'still waiting'> {
  const timer = new AbortController();
  try {
    return await Promise.race([
      promise.then(() => 'done' as const),
      delay(ms, 'still waiting' as const, { signal: timer.signal }),
    ]);
  } finally {
    timer.abort();
  }
}

const synced = (env: Env) =>
  env.informers.synced() &&
  env.server.openWatches() === PATHS.length &&
  env.informers.status().every((s) => s.connected);
const lists = (env: Env, path: string) =>
  env.server.requests().filter((r) => r.method === 'GET' && r.path.startsWith(`${path}?`) && !isWatch(r.path));
const watches = (env: Env, path: string) =>
  env.server.requests().filter((r) => r.path.startsWith(`${path}?`) && isWatch(r.path));

describe('informer watches', () => {
  test('a quiet watch cut by the inactivity timeout is re-opened from its resourceVersion: no re-list, no warning', async () => {
    // The test API server's bookmarks come every 60 s: nothing arrives within 300 ms.
    const env = await startEnv({ initialBackoffMs: 50, watchInactivityTimeoutMs: 300 });
    try {
      await waitFor('the first lists and watches', () => synced(env), 10_000);
      await waitFor(
        'every watch to be cut by the timeout twice',
        () => PATHS.every((p) => watches(env, p).length >= 2),
        10_000,
      );
      assert.ok(
        env.informers.status().every((s) => s.lists === 1),
        JSON.stringify(env.informers.status()),
      );
      for (const path of PATHS) assert.equal(lists(env, path).length, 1, `${path} listed once`);
      // Each re-opened watch names the resourceVersion it had reached.
      for (const path of PATHS)
        assert.ok(
          watches(env, path).every((r) => /[?&]resourceVersion=\d+/.test(r.path)),
          path,
        );
      assert.deepEqual(env.warnings, []);

      env.server.store.put('sidecars', sidecar('shop', 'later') as KubeObject);
      await waitFor('the later Sidecar', () => env.store.sidecar('shop', 'later') !== undefined, 10_000);
      assert.equal(lists(env, PATHS[0]!).length, 1, 'seen through a watch, not a re-list');
    } finally {
      await env.close();
    }
  });

  test('watches the server ends at once are retried after a growing backoff, without a re-list', async () => {
    const sidecarWatchArrivals: number[] = [];
    const env = await startEnv({ initialBackoffMs: 50, maxBackoffMs: 200 }, (server) =>
      // A rule that never hangs anything: it only notes when each Sidecar watch request arrives.
      server.faults.hangRequests({
        match: (_m, path) => {
          if (isWatch(path) && path.startsWith(`${PATHS[0]}?`)) sidecarWatchArrivals.push(performance.now());
          return false;
        },
        ms: 0,
      }),
    );
    try {
      await waitFor('the first lists and watches', () => synced(env), 10_000);
      // Four times: once every watch is open, end them all at once (no events, well under 1 s) and
      // measure how long the Sidecar informer waits before it watches again.
      const gaps: number[] = [];
      for (let i = 0; i < 4; i++) {
        const seen = sidecarWatchArrivals.length;
        await waitFor('every watch to be open', () => env.server.openWatches() === PATHS.length, 10_000);
        const ended = performance.now();
        env.server.faults.endWatches();
        await waitFor('the Sidecar watch to be re-opened', () => sidecarWatchArrivals.length > seen, 10_000);
        gaps.push(sidecarWatchArrivals[seen]! - ended);
      }
      // Backoff 50, 100, 200, 200 ms; a tight loop would come back within a few ms. The first end
      // may find a watch already a second old, which is re-opened at once, so the lower bounds
      // are taken one step late.
      for (const [i, least] of [
        [1, 50],
        [2, 100],
        [3, 200],
      ] as const)
        assert.ok(gaps[i]! >= least - 1, `retry ${i}: ${gaps.map(Math.round).join(', ')} ms`);
      assert.ok(
        env.informers.status().every((s) => s.lists === 1),
        'the view was never re-listed',
      );

      env.server.store.put('sidecars', sidecar('shop', 'after') as KubeObject);
      await waitFor('the watch to deliver again', () => env.store.sidecar('shop', 'after') !== undefined, 10_000);
    } finally {
      await env.close();
    }
  });

  test('stop() aborts lists that hang instead of waiting for them', { timeout: 30_000 }, async () => {
    let hung = 0;
    const env = await startEnv({}, (server) =>
      server.faults.hangRequests({
        match: (method, path) => method === 'GET' && !isWatch(path) && ++hung > 0,
        ms: 60_000,
      }),
    );
    try {
      await waitFor('the three lists to hang', () => hung >= PATHS.length, 10_000);
      // Without an abort, stop() waits for the 30 s request timeout.
      assert.equal(await within(env.informers.stop(), 15_000), 'done');
    } finally {
      await env.close();
    }
  });

  test('stop() aborts a watch whose connect hangs', { timeout: 30_000 }, async () => {
    let hung = 0;
    const env = await startEnv({ initialBackoffMs: 50 });
    try {
      await waitFor('the first lists and watches', () => synced(env), 10_000);
      env.server.faults.hangRequests({ match: (_m, path) => isWatch(path) && ++hung > 0, ms: 60_000 });
      // Once a hung request's client is gone the test server handles it anyway; failing it then
      // keeps the server from serving a watch on a closed response (whose timers would never stop).
      env.server.faults.failRequests({ match: (_m, path) => isWatch(path), status: 503 });
      env.server.faults.endWatches();
      await waitFor('the re-watches to hang', () => hung >= PATHS.length, 10_000);
      assert.equal(await within(env.informers.stop(), 15_000), 'done');
    } finally {
      await env.close();
    }
  });
});

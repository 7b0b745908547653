// listSnapshot (what `audit --kubeconfig` lists): the first list that fails
// is the answer, and the lists still running are cancelled, so the process
// does not wait for their own timeouts before it can exit.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeClient } from '../../src/cluster/kube.js';
import { KubeApiError } from '../../src/cluster/kube-errors.js';
import { listSnapshot } from '../../src/cluster/snapshot.js';

/** A client whose pod list is refused at once and whose other lists answer only when their signal aborts. */
function oneListRefused() {
  const pending: { path: string; signal: AbortSignal | undefined }[] = [];
  const client = {
    request(_method: string, path: string, opts: { signal?: AbortSignal } = {}) {
      if (path === '/api/v1/pods') return Promise.reject(new KubeApiError(403, 'Forbidden', 'pods is forbidden'));
      pending.push({ path, signal: opts.signal });
      return new Promise((_resolve, reject) => {
        opts.signal?.addEventListener('abort', () => reject(new Error(`${path}: aborted`)), { once: true });
      });
    },
  } as unknown as KubeClient;
  return { client, pending };
}

test('the first failed list rejects the snapshot and aborts every list still running', async () => {
  const { client, pending } = oneListRefused();
  await assert.rejects(listSnapshot(client), /pods is forbidden/);
  assert.ok(pending.length >= 5, `the other lists were started (${pending.map((p) => p.path).join(', ')})`);
  for (const { path, signal } of pending) assert.equal(signal?.aborted, true, `${path} was cancelled`);
});

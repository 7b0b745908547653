// listAll against an API server that never ends a list: one that repeats its
// continue token, and one that hands out new tokens for ever. kube-apiserver
// does neither, so a hand-made client stands in for the broken server
// (audit against such a server sent 438,000 requests in 90 s and went on;
// found by an adversarial review).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LIST_PAGE_SIZE, listAll, MAX_LIST_PAGES, RESOURCES } from '../../src/cluster/informer.js';
import type { KubeClient } from '../../src/cluster/kube.js';

const SIDECARS = RESOURCES.find((r) => r.kind === 'Sidecar')!;

/** A client whose every list page holds one item and the continue token `token(page)`. */
function pagingClient(token: (page: number) => string | undefined) {
  let requests = 0;
  const client: Pick<KubeClient, 'request'> = {
    request: async <T>() => {
      requests++;
      const body = { items: [{ metadata: { name: `s${requests}` } }], metadata: { continue: token(requests) } };
      return { status: 200, body: body as T, headers: {} } as Awaited<ReturnType<KubeClient['request']>> & { body: T };
    },
  };
  return { client, requests: () => requests };
}

describe('a list that would never end', () => {
  test('the same continue token twice: an error after the second page', async () => {
    const { client, requests } = pagingClient(() => 'again');
    await assert.rejects(listAll(client, SIDECARS), /returned the same continue token twice/);
    assert.equal(requests(), 2);
  });

  test(`new tokens for ever: an error after ${MAX_LIST_PAGES} pages`, async () => {
    const { client, requests } = pagingClient((page) => `t${page}`);
    await assert.rejects(
      listAll(client, SIDECARS),
      new RegExp(`did not end after ${MAX_LIST_PAGES} pages of ${LIST_PAGE_SIZE}`),
    );
    assert.equal(requests(), MAX_LIST_PAGES);
  });

  test('a list that ends on its last page is read whole', async () => {
    const { client } = pagingClient((page) => (page < 5 ? `t${page}` : undefined));
    assert.equal((await listAll(client, SIDECARS)).items.length, 5);
  });
});

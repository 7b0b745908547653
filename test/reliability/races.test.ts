// Races inside one replica (--claims=local), through a real HTTPS listener:
// 100 simultaneous CREATEs of distinct namespace-wide Sidecars in one
// namespace admit exactly one; the reservation that makes this work gives way
// once the view shows the object, or after its TTL when the view is current
// and never shows it. Across replicas, claims in the API server do the same
// (test/cluster/claims.test.ts, test/e2e/60-replicas.test.ts).
import assert from 'node:assert/strict';
import https from 'node:https';
import { after, before, describe, test } from 'node:test';
import type { Reservations } from '../../src/cluster/reservations.js';
import { ClusterStore } from '../../src/cluster/store.js';
import { localAdmitter } from '../../src/cluster/admitter.js';
import { sidecarReview } from '../helpers/app.js';
import { sidecar } from '../helpers/objects.js';
import { httpsRequest, listen, type Listening } from './helpers.js';

interface Replica {
  server: Listening;
  store: ClusterStore;
  reservations: Reservations;
  advance(ms: number): void;
}

/** One replica as `serve` wires it (store → reservations → admitter), with a clock the test moves. */
async function replica(ttlMs: number): Promise<Replica> {
  let clock = 1_000_000;
  const store = new ClusterStore();
  const { admitter, reservations } = localAdmitter(
    store,
    { overlap: 'labels', rootNamespace: 'istio-system' },
    { ttlMs, now: () => clock },
  );
  // maxInflight 100: every one of the 100 requests is decided, none refused for load.
  const server = await listen({ validate: (r) => admitter.validate(r), limits: { maxInflight: 100 } });
  return {
    server,
    store,
    reservations,
    advance: (ms) => {
      clock += ms;
    },
  };
}

interface Verdict {
  name: string;
  allowed: boolean;
  message?: string;
}

async function createAll(r: Replica, names: string[], opts: { dryRun?: boolean } = {}): Promise<Verdict[]> {
  // One connection per request: they really are in flight together.
  const agent = new https.Agent({ keepAlive: false, maxSockets: names.length });
  try {
    return await Promise.all(
      names.map(async (name) => {
        const res = await httpsRequest(r.server.port, {
          path: '/validate?timeout=10s',
          body: JSON.stringify(sidecarReview(withUid(sidecar('shop', name)), { dryRun: opts.dryRun })),
          agent,
        });
        assert.equal(res.status, 200, `${name}: ${res.error ?? res.body}`);
        const response = JSON.parse(res.body!).response as { allowed: boolean; status?: { message: string } };
        return { name, allowed: response.allowed, ...(response.status ? { message: response.status.message } : {}) };
      }),
    );
  } finally {
    agent.destroy();
  }
}

/** kube-apiserver sends the object with the uid it will be stored under. */
function withUid(object: Record<string, unknown>): Record<string, unknown> {
  const metadata = object.metadata as Record<string, unknown>;
  return { ...object, metadata: { ...metadata, uid: `uid-${String(metadata.name)}` } };
}

const NAMES = Array.from({ length: 100 }, (_, i) => `ns-wide-${i}`);

describe('100 concurrent CREATEs of namespace-wide Sidecars through one HTTPS instance', { timeout: 60_000 }, () => {
  let r: Replica;
  before(async () => (r = await replica(10_000)));
  after(() => r.server.close());

  test('exactly one is admitted; the other 99 are denied naming it', async (t) => {
    const verdicts = await createAll(r, NAMES);
    const admitted = verdicts.filter((v) => v.allowed);
    t.diagnostic(
      `100 concurrent CREATEs over HTTPS: ${admitted.length} admitted (${admitted.map((v) => v.name).join()}), ${verdicts.length - admitted.length} denied`,
    );
    assert.equal(admitted.length, 1);
    const winner = admitted[0]!.name;
    for (const v of verdicts.filter((x) => !x.allowed)) {
      assert.match(v.message!, new RegExp(`namespace "shop" already has a namespace-wide Sidecar: ${winner}`));
    }
    assert.equal(r.reservations.size(), 1, 'only the admitted one is reserved');
  });

  test('once the informer delivers the winner, the reservation gives way to the stored object and still only it exists', async () => {
    const [winner] = r.reservations.pending('shop');
    r.store.upsertSidecar(withUid(sidecar('shop', winner!.info.name)));
    assert.equal(r.reservations.size(), 0);
    const again = await createAll(
      r,
      NAMES.slice(0, 20).filter((n) => n !== winner!.info.name),
    );
    assert.ok(again.every((v) => !v.allowed));
  });
});

describe('reservations expire after their TTL', { timeout: 60_000 }, () => {
  test('an admitted Sidecar a current view never shows (the API server refused it later) stops blocking after the TTL', async () => {
    const r = await replica(5_000);
    try {
      const [first] = await createAll(r, ['first']);
      assert.equal(first!.allowed, true);
      r.advance(4_999);
      const [blocked] = await createAll(r, ['second']);
      assert.equal(blocked!.allowed, false, 'still reserved one millisecond before the TTL');
      r.advance(1);
      const [admitted] = await createAll(r, ['third']);
      assert.equal(admitted!.allowed, true, 'expired at the TTL: the phantom no longer blocks');
    } finally {
      await r.server.close();
    }
  });

  test('dry runs decide the same way but reserve nothing: 100 concurrent dry-run CREATEs leave the namespace free', async (t) => {
    const r = await replica(10_000);
    try {
      const verdicts = await createAll(r, NAMES, { dryRun: true });
      t.diagnostic(
        `100 concurrent dry-run CREATEs: ${verdicts.filter((v) => v.allowed).length} admitted, ${r.reservations.size()} reserved`,
      );
      assert.ok(verdicts.every((v) => v.allowed));
      assert.equal(r.reservations.size(), 0);
      const [real] = await createAll(r, ['real']);
      assert.equal(real!.allowed, true);
    } finally {
      await r.server.close();
    }
  });
});

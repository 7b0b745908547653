// Claims in the API server (--claims=api) against the test API server: the
// ConfigMap encoding, optimistic concurrency (409 → re-read, decide again),
// three replicas deciding in one process, the cost (which requests make a
// round trip) and failure handling (never admitted unclaimed). The same
// against the real kube-apiserver with three replica processes:
// test/e2e/60-replicas.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { Admitter, type ClaimObserver } from '../../src/cluster/admitter.js';
import { ApiClaims, claimsObject, claimsOf, claimsObjectName } from '../../src/cluster/claims.js';
import { KubeClient } from '../../src/cluster/kube.js';
import { reservationOf, Reservations } from '../../src/cluster/reservations.js';
import { ClusterStore } from '../../src/cluster/store.js';
import { crossObjectRules } from '../../src/sidecar/cross-rules.js';
import type { Decision } from '../../src/admission/decision.js';
import type { AdmissionRequest } from '../../src/admission/types.js';
import { startTestApiServer, type TestApiServer } from '../apiserver/index.js';
import { sidecarReview } from '../helpers/app.js';
import { sidecar } from '../helpers/objects.js';
import { labelsOverlap, randomSelector } from '../helpers/claims.js';

const SELF = 'sidecar-guard';
const CONFIGMAPS = `/api/v1/namespaces/${SELF}/configmaps`;

let api: TestApiServer;
let client: KubeClient;
let dir: string;

before(async () => {
  api = await startTestApiServer();
  dir = mkdtempSync(join(tmpdir(), 'sg-claims-'));
  api.writeKubeconfig(join(dir, 'kubeconfig'));
  api.store.put('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: SELF } });
  client = KubeClient.load(join(dir, 'kubeconfig'));
});

after(async () => {
  await api.close();
  rmSync(dir, { recursive: true, force: true });
});

let serial = 0;
/** A CREATE as kube-apiserver sends it: name and uid filled in. */
function createOf(
  namespace: string,
  name: string,
  selector?: Record<string, string>,
  opts: { dryRun?: boolean; labels?: Record<string, string> } = {},
): AdmissionRequest {
  const object = sidecar(namespace, name, {
    ...(selector ? { selector } : {}),
    ...(opts.labels ? { labels: opts.labels } : {}),
  });
  (object.metadata as Record<string, unknown>).uid = `uid-${name}-${++serial}`;
  return sidecarReview(object, opts).request as unknown as AdmissionRequest;
}

interface Counts {
  written: number;
  conflicts: number;
  failed: string[];
}

function replica(name: string, opts: { claimTimeoutMs?: number; store?: ClusterStore } = {}) {
  const counts: Counts = { written: 0, conflicts: 0, failed: [] };
  const observer: ClaimObserver = {
    claimWritten: () => void counts.written++,
    claimConflict: () => void counts.conflicts++,
    claimFailed: (reason) => void counts.failed.push(reason),
  };
  const reservations = new Reservations({ view: opts.store ?? new ClusterStore(), replica: name });
  const claims = new ApiClaims({ client, namespace: SELF, pruneAfterMs: 60_000 });
  const admitter = new Admitter(reservations, {
    review: { overlap: 'labels', rootNamespace: 'istio-system' },
    replica: name,
    ttlMs: 30_000,
    claims,
    claimTimeoutMs: opts.claimTimeoutMs ?? 5_000,
    maxViewAgeMs: 60_000,
    observer,
  });
  return { admitter, reservations, claims, counts };
}

type Replica = ReturnType<typeof replica>;

/** Every request at once, spread round-robin over the replicas; HTTP 500s (Undecided) are reported, not thrown. */
async function decideAll(replicas: Replica[], requests: AdmissionRequest[]): Promise<(Decision | Error)[]> {
  return Promise.all(
    requests.map(async (r, i) => {
      try {
        return await replicas[i % replicas.length]!.admitter.validate(r, { budgetMs: 10_000 });
      } catch (err) {
        return err as Error;
      }
    }),
  );
}

const configMapRequests = () => api.requests().filter((r) => r.path.startsWith(CONFIGMAPS));

describe('the claims object', () => {
  test('claims round-trip through a ConfigMap; entries that do not read as claims are skipped', () => {
    const r = reservationOf(createOf('shop', 'a', { app: 'x' }), {
      replica: 'pod-1/7',
      now: Date.UTC(2026, 0, 1),
      ttlMs: 30_000,
    })!;
    const wide = reservationOf(createOf('shop', 'b'), {
      replica: 'pod-2/7',
      now: Date.UTC(2026, 0, 1),
      ttlMs: 30_000,
    })!;
    const object = claimsObject(SELF, 'shop', [r, wide], '42');
    assert.equal(object.metadata.name, 'sidecar-guard-claims.shop');
    assert.equal(object.metadata.resourceVersion, '42');
    assert.deepEqual(JSON.parse(object.data[r.key]!), {
      name: 'a',
      uid: r.uid,
      selector: { app: 'x' },
      replica: 'pod-1/7',
      admitted: '2026-01-01T00:00:00.000Z',
      expires: '2026-01-01T00:00:30.000Z',
    });
    const canary = reservationOf(createOf('shop', 'c', undefined, { labels: { 'istio.io/rev': 'canary' } }), {
      replica: 'pod-1/7',
      now: Date.UTC(2026, 0, 1),
      ttlMs: 30_000,
    })!;
    const withRevision = claimsObject(SELF, 'shop', [canary], '43').data[canary.key]!;
    assert.equal(JSON.parse(withRevision).revision, 'canary');
    const [read] = claimsOf('shop', { [canary.key]: withRevision });
    assert.equal(read!.info.labels['istio.io/rev'], 'canary');
    assert.deepEqual(claimsOf('shop', { x: JSON.stringify({ ...JSON.parse(withRevision), revision: 7 }) }), []);
    // A claim an older replica wrote has no revision field: read as unlabelled, it conflicts with every revision.
    const { revision: _, ...older } = JSON.parse(withRevision) as Record<string, unknown>;
    const [unlabelled] = claimsOf('shop', { [canary.key]: JSON.stringify(older) });
    assert.equal(unlabelled!.info.labels['istio.io/rev'], undefined);
    const verdict = crossObjectRules(
      {
        object: sidecar('shop', 'd', { labels: { 'istio.io/rev': 'stable' } }),
        ref: { namespace: 'shop', name: 'd' },
      },
      new Reservations({ view: new ClusterStore(), replica: 'pod-2/7' }).overlay((ns) =>
        ns === 'shop' ? [unlabelled!] : [],
      ),
      { overlap: 'labels', rootNamespace: 'istio-system' },
    );
    assert.deepEqual(
      verdict.map((v) => v.rule),
      ['conflict.default'],
    );
    const back = claimsOf('shop', {
      ...object.data,
      junk: '{"name":',
      other: '{"name":"c"}',
      badsel: JSON.stringify({ ...JSON.parse(object.data[r.key]!), selector: { app: 1 } }),
    });
    assert.deepEqual(
      back.map((c) => [c.key, c.info.name, c.info.selector && { ...c.info.selector }, c.expiresAt - c.admittedAt]),
      [
        [r.key, 'a', { app: 'x' }, 30_000],
        [wide.key, 'b', null, 30_000],
      ],
    );
  });

  // A claim's selector is null (namespace-wide, with emptySelector for `workloadSelector: {}`) or has labels: an
  // entry whose selector is `{}` does not say which it is, and would select every pod, so it is skipped.
  test('a workloadSelector without labels is claimed as emptySelector; a stored selector without labels is skipped', () => {
    const at = { replica: 'pod-1/7', now: Date.UTC(2026, 0, 1), ttlMs: 30_000 };
    const empty = reservationOf(createOf('shop', 'e', {}), at)!;
    const data = claimsObject(SELF, 'shop', [empty], '44').data;
    const stored = JSON.parse(data[empty.key]!);
    assert.equal(stored.selector, null);
    assert.equal(stored.emptySelector, true);
    const [read] = claimsOf('shop', data);
    assert.equal(read!.info.selector, null);
    assert.equal(read!.info.selectorPresent, true);
    assert.deepEqual(claimsOf('shop', { [empty.key]: JSON.stringify({ ...stored, selector: {} }) }), []);
    const selective = reservationOf(createOf('shop', 's', { app: 'x' }), at)!;
    const labelled = JSON.parse(claimsObject(SELF, 'shop', [selective], '45').data[selective.key]!);
    assert.deepEqual(claimsOf('shop', { [selective.key]: JSON.stringify({ ...labelled, selector: {} }) }), []);
  });

  test('optimistic concurrency: the second writer on the same version gets a conflict, re-reads and sees the first', async () => {
    const ns = 'occ';
    const one = new ApiClaims({ client, namespace: SELF, pruneAfterMs: 60_000 });
    const two = new ApiClaims({ client, namespace: SELF, pruneAfterMs: 60_000 });
    assert.deepEqual(await one.read(ns, 5_000), [], 'no object yet');
    assert.deepEqual(await two.read(ns, 5_000), []);
    const at = { replica: 'r', now: Date.now(), ttlMs: 30_000 };
    assert.equal(await one.write(ns, [reservationOf(createOf(ns, 'a'), at)!], 5_000), true, 'created');
    assert.equal(
      await two.write(ns, [reservationOf(createOf(ns, 'b'), at)!], 5_000),
      false,
      'AlreadyExists: lost the race',
    );
    assert.deepEqual(
      (await two.read(ns, 5_000)).map((c) => c.info.name),
      ['a'],
    );
    assert.equal(await two.write(ns, [reservationOf(createOf(ns, 'c', { app: 'c' }), at)!], 5_000), true);
    assert.equal(
      await one.write(ns, [reservationOf(createOf(ns, 'd', { app: 'd' }), at)!], 5_000),
      false,
      'Conflict: stale resourceVersion',
    );
    assert.deepEqual(
      (await one.read(ns, 5_000)).map((c) => c.info.name),
      ['a', 'c'],
    );
    const stored = api.store.get({
      apiVersion: 'v1',
      resource: 'configmaps',
      namespace: SELF,
      name: claimsObjectName(ns),
    });
    assert.equal(Object.keys((stored as unknown as { data: object }).data).length, 2);
  });

  test('claims past their expiry plus pruneAfterMs leave the object with the next write', async () => {
    const ns = 'prune';
    let now = 1_000_000;
    const claims = new ApiClaims({ client, namespace: SELF, pruneAfterMs: 60_000, now: () => now });
    await claims.read(ns, 5_000);
    await claims.write(ns, [reservationOf(createOf(ns, 'old'), { replica: 'r', now, ttlMs: 30_000 })!], 5_000);
    now += 30_000 + 60_000 - 1;
    await claims.write(
      ns,
      [reservationOf(createOf(ns, 'new', { app: 'n' }), { replica: 'r', now, ttlMs: 30_000 })!],
      5_000,
    );
    assert.deepEqual(
      claims.known(ns)!.map((c) => c.info.name),
      ['old', 'new'],
      'a millisecond before the limit: kept',
    );
    now += 1;
    await claims.write(
      ns,
      [reservationOf(createOf(ns, 'newer', { app: 'm' }), { replica: 'r', now, ttlMs: 30_000 })!],
      5_000,
    );
    assert.deepEqual(
      claims.known(ns)!.map((c) => c.info.name),
      ['new', 'newer'],
    );
  });

  test("sidecar-guard's own namespace missing: the error says so at once, no retries", async () => {
    const claims = new ApiClaims({ client, namespace: 'no-such-namespace', pruneAfterMs: 60_000 });
    await claims.read('x', 5_000);
    const r = reservationOf(createOf('x', 'a'), { replica: 'r', now: Date.now(), ttlMs: 30_000 })!;
    await assert.rejects(claims.write('x', [r], 5_000), /namespaces "no-such-namespace" not found/);
  });

  test('more than a ConfigMap holds: Undecided, nothing written', async () => {
    const claims = new ApiClaims({ client, namespace: SELF, pruneAfterMs: 60_000, maxBytes: 200 });
    await claims.read('big', 5_000);
    const r = reservationOf(createOf('big', 'a', { app: 'x'.repeat(300) }), {
      replica: 'r',
      now: Date.now(),
      ttlMs: 30_000,
    })!;
    await assert.rejects(claims.write('big', [r], 5_000), { name: 'Undecided', reason: 'too-large' });
  });
});

describe('three replicas deciding through claims', { timeout: 120_000 }, () => {
  let replicas: Replica[];
  beforeEach(() => {
    replicas = [replica('r1'), replica('r2'), replica('r3')];
  });

  test('200 concurrent namespace-wide CREATEs, round-robin: exactly one admitted, every other denied naming it (5 runs)', async (t) => {
    for (let run = 0; run < 5; run++) {
      const ns = `wide-${run}`;
      const decisions = await decideAll(
        replicas,
        Array.from({ length: 200 }, (_, i) => createOf(ns, `s${i}`)),
      );
      const admitted = decisions.filter((d): d is Decision => !(d instanceof Error) && d.allowed);
      const errors = decisions.filter((d) => d instanceof Error);
      assert.deepEqual(errors, []);
      assert.equal(admitted.length, 1, `run ${run}`);
      const winner = replicas.flatMap((r) => r.claims.known(ns) ?? []).map((c) => c.info.name)[0];
      for (const d of decisions as Decision[])
        if (!d.allowed) assert.match(d.message!, new RegExp(`already has a namespace-wide Sidecar: ${winner}\\b`));
    }
    const conflicts = replicas.reduce((n, r) => n + r.counts.conflicts, 0);
    t.diagnostic(`5 runs × 200 CREATEs over 3 replicas: 1 admitted each; ${conflicts} conflicts retried`);
  });

  test('a race of namespace defaults of two revisions (istio.io/rev): one admitted per revision, the claims carry it', async () => {
    const ns = 'wide-revisions';
    const decisions = await decideAll(
      replicas,
      Array.from({ length: 100 }, (_, i) =>
        createOf(ns, `s${i}`, undefined, { labels: { 'istio.io/rev': i % 2 === 0 ? 'stable' : 'canary' } }),
      ),
    );
    const admitted = decisions.filter((d): d is Decision => !(d instanceof Error) && d.allowed);
    assert.equal(decisions.filter((d) => d instanceof Error).length, 0);
    assert.equal(admitted.length, 2);
    const claimed = replicas[0]!.claims.known(ns) ?? (await replicas[0]!.claims.read(ns, 5_000));
    assert.deepEqual(claimed.map((c) => c.info.labels['istio.io/rev']).sort(), ['canary', 'stable']);
  });

  test('the control: three --claims=local replicas admit one namespace-wide Sidecar each in the same race', async () => {
    const locals = ['l1', 'l2', 'l3'].map(
      (name) =>
        new Admitter(new Reservations({ view: new ClusterStore(), replica: name }), {
          review: { overlap: 'labels', rootNamespace: 'istio-system' },
          replica: name,
          ttlMs: 30_000,
        }),
    );
    const decisions = await Promise.all(
      Array.from({ length: 200 }, (_, i) => locals[i % 3]!.validate(createOf('local-race', `s${i}`))),
    );
    assert.equal(decisions.filter((d) => d.allowed).length, 3);
  });

  test('200 concurrent CREATEs with random selectors over a small alphabet: no overlapping pair admitted (5 runs)', async (t) => {
    const sizes: number[] = [];
    for (let run = 0; run < 5; run++) {
      const ns = `overlap-${run}`;
      const selectors = Array.from({ length: 200 }, () => randomSelector());
      const decisions = await decideAll(
        replicas,
        selectors.map((s, i) => createOf(ns, `s${i}`, s)),
      );
      assert.deepEqual(
        decisions.filter((d) => d instanceof Error),
        [],
      );
      const admitted = selectors.filter((_, i) => (decisions[i] as Decision).allowed);
      for (let i = 0; i < admitted.length; i++) {
        for (let j = i + 1; j < admitted.length; j++)
          assert.ok(
            !labelsOverlap(admitted[i]!, admitted[j]!),
            `run ${run}: ${JSON.stringify(admitted[i])} and ${JSON.stringify(admitted[j])} both admitted`,
          );
      }
      assert.ok(admitted.length >= 1);
      sizes.push(admitted.length);
    }
    t.diagnostic(`admitted per run: ${sizes.join(', ')} (pairwise disjoint)`);
  });
});

describe('cost and failures', { timeout: 60_000 }, () => {
  test('only a write that passes the rules makes a round trip; denials, dry runs and selector-keeping UPDATEs make none', async () => {
    const r = replica('cost');
    const ns = 'cost';
    const before = configMapRequests().length;
    assert.equal((await r.admitter.validate(createOf(ns, 'first'), { budgetMs: 5_000 })).allowed, true);
    const afterFirst = configMapRequests().slice(before);
    assert.deepEqual(
      afterFirst.map((q) => q.method),
      ['GET', 'POST'],
      'the first in a namespace reads, then creates the object',
    );
    assert.equal((await r.admitter.validate(createOf(ns, 'second', { app: 'b' }), { budgetMs: 5_000 })).allowed, true);
    assert.deepEqual(
      configMapRequests()
        .slice(before + 2)
        .map((q) => q.method),
      ['PUT'],
      'then one write per admission',
    );
    const quiet = configMapRequests().length;
    assert.equal(
      (await r.admitter.validate(createOf(ns, 'third'), { budgetMs: 5_000 })).allowed,
      false,
      'a second namespace-wide one',
    );
    assert.equal(
      (await r.admitter.validate(createOf(ns, 'fourth', { app: 'c' }, { dryRun: true }), { budgetMs: 5_000 })).allowed,
      true,
    );
    const old = sidecar(ns, 'second', { selector: { app: 'b' } });
    const edit = sidecar(ns, 'second', {
      selector: { app: 'b' },
      spec: { outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } },
    });
    const update = sidecarReview(edit, { operation: 'UPDATE', oldObject: old }).request as unknown as AdmissionRequest;
    assert.equal((await r.admitter.validate(update, { budgetMs: 5_000 })).allowed, true);
    assert.equal(configMapRequests().length, quiet, 'no round trip for the denial, the dry run or the UPDATE');
    assert.equal(r.counts.written, 2);
    const moved = sidecarReview(sidecar(ns, 'second', { selector: { app: 'moved' } }), {
      operation: 'UPDATE',
      oldObject: old,
    }).request as unknown as AdmissionRequest;
    assert.equal((await r.admitter.validate(moved, { budgetMs: 5_000 })).allowed, true);
    assert.deepEqual(
      configMapRequests()
        .slice(quiet)
        .map((q) => q.method),
      ['PUT'],
      'an UPDATE that changes what it selects is claimed',
    );
  });

  test('within a replica, a namespace waits while its claim is in flight; other namespaces do not', async () => {
    const r = replica('queue');
    await r.claims.read('queue-a', 5_000);
    api.faults.hangRequests({ match: (method, path) => method !== 'GET' && path.startsWith(CONFIGMAPS), ms: 300 });
    try {
      const order: string[] = [];
      const first = Promise.resolve(r.admitter.validate(createOf('queue-a', 'first'), { budgetMs: 5_000 })).then(
        (d) => {
          order.push('a/first');
          return d;
        },
      );
      const second = Promise.resolve(r.admitter.validate(createOf('queue-a', 'second'), { budgetMs: 5_000 })).then(
        (d) => {
          order.push('a/second');
          return d;
        },
      );
      const dryRun = Promise.resolve(
        r.admitter.validate(createOf('queue-b', 'other', undefined, { dryRun: true }), { budgetMs: 5_000 }),
      ).then((d) => {
        order.push('b/dry-run');
        return d;
      });
      const [a1, a2, b] = await Promise.all([first, second, dryRun]);
      assert.equal(a1.allowed, true);
      assert.equal(a2.allowed, false, 'judged after the first was claimed, against its claim');
      assert.match(a2.message!, /already has a namespace-wide Sidecar: first/);
      assert.equal(b.allowed, true);
      assert.deepEqual(order, ['b/dry-run', 'a/first', 'a/second']);
    } finally {
      api.faults.clear();
    }
  });

  test('the API server hangs: the claim times out and the request is Undecided (HTTP 500), never admitted', async () => {
    const r = replica('slow', { claimTimeoutMs: 300 });
    api.faults.hangRequests({ match: (_m, path) => path.startsWith(CONFIGMAPS), ms: 2_000 });
    try {
      await assert.rejects(
        Promise.resolve(r.admitter.validate(createOf('slow', 'a'), { budgetMs: 5_000 })),
        (err: Error & { reason?: string }) => {
          assert.equal(err.name, 'Undecided');
          assert.equal(err.reason, 'timeout');
          assert.match(err.message, /the claim for namespace "slow" was not written within \d+ms/);
          return true;
        },
      );
      assert.deepEqual(r.counts.failed, ['timeout']);
      // A denial needs no claim, so it is still answered.
      const wide = replica('slow-2', { claimTimeoutMs: 300, store: storeWith(sidecar('slow', 'default')) });
      assert.equal((await wide.admitter.validate(createOf('slow', 'b'), { budgetMs: 5_000 })).allowed, false);
    } finally {
      api.faults.clear();
    }
  });

  test('the API server answers 500: Undecided with its message; the request budget caps the claim time', async () => {
    const r = replica('broken');
    api.faults.failRequests({ match: (_m, path) => path.startsWith(CONFIGMAPS), status: 500 });
    try {
      await assert.rejects(Promise.resolve(r.admitter.validate(createOf('broken', 'a'), { budgetMs: 5_000 })), {
        name: 'Undecided',
        reason: 'api-error',
      });
    } finally {
      api.faults.clear();
    }
    api.faults.hangRequests({ match: (_m, path) => path.startsWith(CONFIGMAPS), ms: 2_000 });
    try {
      const started = Date.now();
      await assert.rejects(Promise.resolve(r.admitter.validate(createOf('broken', 'b'), { budgetMs: 600 })), {
        name: 'Undecided',
        reason: 'timeout',
      });
      assert.ok(Date.now() - started < 1_500, "within the API server's own deadline, less the margin for the answer");
    } finally {
      api.faults.clear();
    }
  });
});

function storeWith(...objects: Record<string, unknown>[]): ClusterStore {
  const store = new ClusterStore();
  for (const o of objects) store.upsertSidecar(o);
  return store;
}

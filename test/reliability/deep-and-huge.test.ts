// Input at the edges of what kube-apiserver forwards, through /validate and
// /mutate (inject, the real app): a value nested almost 10,000 levels deep
// (the API server's decoder limit) at every field the fuzz suite knows, and
// bodies in which one list holds hundreds of thousands of well-formed items.
// No recursion over input may run on the request path, so neither may end in
// a 5xx; and a huge list is read, not choked on.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { ClusterStore } from '../../src/cluster/store.js';
import { DEFAULT_TEMPLATE } from '../../src/defaults/generate.js';
import { mutate } from '../../src/defaults/mutate.js';
import { buildApp, MAX_BODY_BYTES } from '../../src/http/app.js';
import { MAX_JSON_CONTAINERS, MAX_JSON_DEPTH, MAX_JSON_KEYS } from '../../src/http/json.js';
import { localAdmitter } from '../../src/cluster/admitter.js';
import { deepAtEveryField, deepAtSomeField, fieldPaths, hugeValidShaped, kitchenSinkReview } from './arbitraries.js';

/** Deep enough to overflow any recursive walk (JSON.stringify gave up at 4,043, structuredClone at 1,892), shallow enough to pass the parser's 10,000. */
const DEPTH = MAX_JSON_DEPTH - 100;

function wiredApp() {
  const store = new ClusterStore();
  const { admitter } = localAdmitter(store, { overlap: 'labels', rootNamespace: 'istio-system' });
  const options = {
    config: { rootNamespace: 'istio-system', template: { ...DEFAULT_TEMPLATE } },
    namespaceLabel: 'sidecar-guard.io/default-sidecar',
  };
  return buildApp({
    validate: (r) => admitter.validate(r),
    mutate: (r) => mutate(r, store, options),
    readiness: () => ({ ready: true, reasons: [] }),
  });
}

interface Outcome {
  status: number;
  kind: 'review' | 'client-error';
  bytes: number;
}

/** A well-formed AdmissionReview (uid echoed, no internal error inside) or a 4xx naming the problem; never a 5xx. */
async function answer(
  app: ReturnType<typeof wiredApp>,
  endpoint: string,
  text: string,
  what: string,
): Promise<Outcome> {
  const res = await app.inject({
    method: 'POST',
    url: `/${endpoint}?timeout=10s`,
    payload: text,
    headers: { 'content-type': 'application/json' },
  });
  assert.ok(res.statusCode < 500, `${what}: /${endpoint} answered ${res.statusCode}: ${res.body.slice(0, 300)}`);
  const body = res.json() as {
    response?: { uid: unknown; allowed: unknown; status?: { code?: number } };
    statusCode?: number;
    message?: string;
  };
  if (res.statusCode === 200) {
    assert.equal(typeof body.response?.allowed, 'boolean', what);
    assert.notEqual(body.response?.status?.code, 500, `${what}: internal error while deciding`);
    return { status: 200, kind: 'review', bytes: res.rawPayload.length };
  }
  assert.equal(body.statusCode, res.statusCode, what);
  assert.ok(
    typeof body.message === 'string' && body.message.length > 0 && body.message.length < 1_000,
    `${what}: ${body.message}`,
  );
  return { status: res.statusCode, kind: 'client-error', bytes: res.rawPayload.length };
}

describe('deep at every field', { timeout: 300_000 }, () => {
  const app = wiredApp();
  after(() => app.close());
  const base = kitchenSinkReview();

  for (const endpoint of ['validate', 'mutate']) {
    test(`/${endpoint}: a value nested ${DEPTH} levels at each of the ${fieldPaths(base).length} fields of a review is answered, never a 5xx`, async (t) => {
      const tally = new Map<string, number>();
      const failures: string[] = [];
      for (const { path, text } of deepAtEveryField(base, DEPTH)) {
        try {
          const outcome = await answer(app, endpoint, text, path);
          tally.set(`${outcome.status}`, (tally.get(`${outcome.status}`) ?? 0) + 1);
        } catch (err) {
          failures.push((err as Error).message.split('\n', 1)[0]!.slice(0, 160));
        }
      }
      t.diagnostic(`/${endpoint}: ${[...tally].map(([s, n]) => `${n}×${s}`).join(', ')}`);
      assert.deepEqual(failures, []);
      assert.ok(
        (tally.get('200') ?? 0) > 0 && (tally.get('400') ?? 0) > 0,
        'both the decision and the decoder were reached',
      );
    });
  }

  test('/mutate with generation asked for, deep status, spec and labels: the patch is computed without copying them', async () => {
    for (const path of [
      'request.object.status',
      'request.object.spec.egress',
      'request.object.metadata.labels',
      'request.object.spec.outboundTrafficPolicy',
    ]) {
      const text = [...deepAtEveryField(base, DEPTH)].find((c) => c.path === path)!.text;
      const res = await app.inject({
        method: 'POST',
        url: '/mutate',
        payload: text,
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(res.statusCode, 200, `${path}: ${res.body.slice(0, 200)}`);
      const response = res.json().response as { allowed: boolean; patch?: string };
      assert.equal(response.allowed, true);
      assert.ok(
        Buffer.from(response.patch ?? '', 'base64').length < 10_000,
        `${path}: the patch holds only what was generated`,
      );
    }
  });

  test('random depths at random fields (fast-check), both endpoints', async () => {
    await fc.assert(
      fc.asyncProperty(
        deepAtSomeField(base, fc.integer({ min: 1, max: DEPTH })),
        fc.constantFrom('validate', 'mutate'),
        async ({ path, text }, endpoint) => {
          await answer(app, endpoint, text, path);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('huge but valid-shaped', { timeout: 300_000 }, () => {
  const app = wiredApp();
  after(() => app.close());

  for (const { name, items, review } of hugeValidShaped()) {
    test(`${name}: ${items.toLocaleString('en')} items, a clear answer of bounded size`, async (t) => {
      const text = JSON.stringify(review);
      assert.ok(
        Buffer.byteLength(text) < MAX_BODY_BYTES,
        `${name}: the body fits the 7 MiB limit (${Buffer.byteLength(text)} bytes)`,
      );
      for (const endpoint of ['validate', 'mutate']) {
        const outcome = await answer(app, endpoint, text, name);
        assert.equal(outcome.kind, 'review', `${name}: judged, not refused`);
        // What is valid gets a short answer; what is not (the schema's list limits) one finding, not one per item.
        assert.ok(outcome.bytes < 4_096, `${name}: /${endpoint} answered ${outcome.bytes} bytes`);
        t.diagnostic(
          `${name}: ${(Buffer.byteLength(text) / 2 ** 20).toFixed(2)} MiB body, /${endpoint} answered ${outcome.bytes} bytes`,
        );
      }
    });
  }
});

describe('the parse tree is bounded, not only the text', () => {
  /** The kitchen-sink review (no oldObject) with its status replaced by `status` (JSON text), posted to /validate. */
  const statusBody = () => {
    const review = kitchenSinkReview() as { request: { object: Record<string, unknown>; oldObject: unknown } };
    review.request.oldObject = null;
    review.request.object.status = 'MARK';
    const base = JSON.stringify(review);
    return { base, withStatus: (status: string) => base.replace('"MARK"', status) };
  };
  const post = (app: ReturnType<typeof wiredApp>, payload: string) =>
    app.inject({ method: 'POST', url: '/validate', payload, headers: { 'content-type': 'application/json' } });

  test(`a body of more than ${MAX_JSON_KEYS.toLocaleString('en')} object keys is refused with 413 before it is parsed; one just under is judged`, async () => {
    // One status object of 780,000 keys (6.6 MiB) held the event loop 1.5-2 s before: parsed, then enumerated whole
    // by the size walk, only to be answered object.size (adversarial review).
    const app = wiredApp();
    try {
      const { base, withStatus } = statusBody();
      const keys = (base.match(/":/g) ?? []).length;
      const withKeys = (n: number) => withStatus(`{${Array.from({ length: n }, (_, i) => `"k${i}":0`).join(',')}}`);
      const refused = await post(app, withKeys(MAX_JSON_KEYS - keys + 1));
      assert.equal(refused.statusCode, 413);
      assert.match(refused.json().message, /body holds more than 600,000 object keys/);
      const judged = await post(app, withKeys(MAX_JSON_KEYS - keys));
      assert.equal(judged.statusCode, 200);
      assert.match(judged.json().response.status?.message ?? '', /\[object\.size\]/);
    } finally {
      await app.close();
    }
  });

  test(`a body of more than ${MAX_JSON_CONTAINERS.toLocaleString('en')} objects and arrays is refused with 413 before it is parsed; one just under is judged`, async () => {
    const app = wiredApp();
    try {
      const { base, withStatus } = statusBody();
      const containers = (base.match(/[{[]/g) ?? []).length;
      const withContainers = (n: number) => withStatus(`[${Array(n).fill('{}').join(',')}]`);
      // 7 MiB of `{},` would be 146 MiB of heap once parsed: more than V8 gets under a 512Mi container limit.
      const refused = await post(app, withContainers(MAX_JSON_CONTAINERS));
      assert.equal(refused.statusCode, 413);
      assert.match(refused.json().message, /body holds more than 1,000,000 JSON objects and arrays/);
      const judged = await post(app, withContainers(MAX_JSON_CONTAINERS - containers - 1));
      assert.equal(judged.statusCode, 200);
    } finally {
      await app.close();
    }
  });
});

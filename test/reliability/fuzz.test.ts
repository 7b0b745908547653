// Property-based fuzzing of review() and of /validate over inject(): random
// and mutated AdmissionReviews and Sidecar specs (wrong types, nulls in
// lists, huge strings, deep nesting, numbers out of range, unicode, duplicate
// keys, __proto__/constructor keys). Nothing throws, nothing is left
// unhandled, every answer is a well-formed AdmissionReview or a clear 4xx,
// and adding irrelevant fields never changes a decision.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { Decision } from '../../src/admission/decision.js';
import type { AdmissionRequest } from '../../src/admission/types.js';
import { ClusterStore } from '../../src/cluster/store.js';
import { buildApp } from '../../src/http/app.js';
import { review, type ReviewContext } from '../../src/sidecar/review.js';
import { pod, sidecar } from '../helpers/objects.js';
import { boundarySpec } from '../conformance/arbitraries.js';
import {
  decorate,
  fuzzRequest,
  irrelevant,
  nastyJsonValue,
  nastyValue,
  nested,
  plausibleSpec,
  sidecarObject,
  VECTORS,
  withDuplicateKeys,
} from './arbitraries.js';

// A fixed seed per run would hide new failures; fast-check prints the seed of any failure for replay.
const RUNS = { review: 3_000, http: 1_500, duplicateKeys: 400, irrelevant: 1_500, irrelevantHttp: 300 };

function clusterView(): ClusterStore {
  const store = new ClusterStore();
  store.upsertSidecar(sidecar('shop', 'default'));
  store.upsertSidecar(sidecar('bar', 'reviews', { selector: { app: 'reviews' } }));
  store.upsertSidecar(sidecar('istio-system', 'mesh-default'));
  store.upsertPod(pod('bar', 'reviews-1', { app: 'reviews', version: 'v1' }));
  store.markKnown('Pod');
  return store;
}

const ctx: ReviewContext = { view: clusterView(), options: { overlap: 'labels', rootNamespace: 'istio-system' } };

function assertWellFormedDecision(d: Decision): void {
  assert.equal(typeof d.allowed, 'boolean');
  assert.ok(Array.isArray(d.warnings) && d.warnings.every((w) => typeof w === 'string'), 'warnings are strings');
  assert.ok(Array.isArray(d.rules));
  if (!d.allowed) {
    assert.equal(typeof d.message, 'string');
    assert.ok(d.message!.length > 0);
    assert.equal(typeof d.code, 'number');
  }
}

/** What escaped to the process while fuzzing: must stay empty. */
const escaped: unknown[] = [];
const onEscape = (err: unknown) => void escaped.push(err);
before(() => {
  process.on('unhandledRejection', onEscape);
  process.on('uncaughtException', onEscape);
});
after(async () => {
  await new Promise((r) => setImmediate(r));
  process.off('unhandledRejection', onEscape);
  process.off('uncaughtException', onEscape);
  assert.deepEqual(escaped, [], 'no unhandled rejection or uncaught exception');
  assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched');
});

describe('review() on fuzzed requests', () => {
  test('never throws and always returns a well-formed decision', (t) => {
    const outcomes = { allowed: 0, denied: 0, skipped: 0 };
    fc.assert(
      fc.property(fuzzRequest(nastyValue), (request) => {
        const d = review(request as unknown as AdmissionRequest, ctx);
        assertWellFormedDecision(d);
        outcomes[d.outcome === 'skipped' ? 'skipped' : d.allowed ? 'allowed' : 'denied']++;
      }),
      { numRuns: RUNS.review },
    );
    t.diagnostic(
      `review(): ${RUNS.review} fuzzed requests: ${outcomes.denied} denied, ${outcomes.allowed} allowed, ${outcomes.skipped} skipped, 0 threw`,
    );
    assert.ok(outcomes.denied > RUNS.review / 4, 'the fuzzer reaches the rules, not only the skip path');
  });

  test('nesting down to the HTTP limit (10,000 levels) anywhere in the object is judged, not a stack overflow', (t) => {
    let cases = 0;
    for (const depth of [100, 2_000, 9_990]) {
      for (const place of [
        'spec.egress[0].hosts',
        'spec.egress',
        'spec.workloadSelector',
        'metadata.annotations',
        'status',
        'spec.ingress[0].port',
      ]) {
        const object = sidecarObject({ egress: [{ hosts: ['./*'] }] });
        const deep = nested(depth);
        const [root, ...rest] = place.replace(/\[0\]/g, '.0').split('.');
        let target = object as Record<string, unknown>;
        for (const key of [root!, ...rest.slice(0, -1)]) {
          target[key] ??= key === 'ingress' ? [{}] : {};
          target = target[key] as Record<string, unknown>;
        }
        target[rest.at(-1) ?? root!] = deep;
        for (const operation of ['CREATE', 'UPDATE'] as const) {
          const d = review(
            {
              uid: 'deep',
              kind: { group: 'networking.istio.io', version: 'v1', kind: 'Sidecar' },
              resource: { group: 'networking.istio.io', version: 'v1', resource: 'sidecars' },
              operation,
              namespace: 'bar',
              name: 'fuzz',
              object,
              oldObject: object,
            },
            ctx,
          );
          assertWellFormedDecision(d);
          cases++;
        }
      }
    }
    t.diagnostic(`deep nesting: ${cases} requests with 100 to 9,990 levels in 6 places, all judged`);
  });
});

describe('/validate on fuzzed bodies (inject)', () => {
  const app = buildApp({ validate: (r) => review(r, ctx), readiness: () => ({ ready: true, reasons: [] }) });
  after(() => app.close());

  interface Answer {
    status: number;
    body: unknown;
  }

  async function post(payload: string, contentType = 'application/json'): Promise<Answer> {
    const res = await app.inject({
      method: 'POST',
      url: '/validate?timeout=10s',
      payload,
      headers: { 'content-type': contentType },
    });
    let body: unknown;
    try {
      body = res.json();
    } catch {
      assert.fail(`HTTP ${res.statusCode} with a body that is not JSON: ${res.body.slice(0, 200)}`);
    }
    return { status: res.statusCode, body };
  }

  /** HTTP 200 with the uid echoed and a boolean `allowed`, or a 4xx JSON error that names the problem. Never 5xx. */
  function assertAnswer(answer: Answer, sent: string): 'review' | 'client-error' {
    if (answer.status === 200) {
      const parsed = JSON.parse(sent) as { apiVersion: string; request: { uid: string } };
      const review = answer.body as {
        apiVersion: string;
        kind: string;
        response: { uid: string; allowed: unknown; status?: { code?: number } };
      };
      assert.equal(review.kind, 'AdmissionReview');
      assert.equal(review.apiVersion, parsed.apiVersion);
      assert.equal(review.response.uid, parsed.request.uid);
      assert.equal(typeof review.response.allowed, 'boolean');
      assert.notEqual(review.response.status?.code, 500, 'no internal error while deciding');
      return 'review';
    }
    assert.ok(
      answer.status >= 400 && answer.status < 500,
      `HTTP ${answer.status}: ${JSON.stringify(answer.body).slice(0, 300)}`,
    );
    const error = answer.body as { statusCode: number; error: string; message: string };
    assert.equal(error.statusCode, answer.status);
    assert.equal(typeof error.error, 'string');
    assert.ok(typeof error.message === 'string' && error.message.length > 0);
    return 'client-error';
  }

  const envelope = (request: unknown, apiVersion = 'admission.k8s.io/v1') => ({
    apiVersion,
    kind: 'AdmissionReview',
    request,
  });

  /** Bodies: fuzzed reviews, reviews with a broken envelope, random JSON, and texts that are not JSON at all. */
  const body = fc.oneof(
    { arbitrary: fuzzRequest(nastyJsonValue).map((r) => JSON.stringify(envelope(r))), weight: 10 },
    {
      arbitrary: fc
        .tuple(
          fuzzRequest(nastyJsonValue),
          fc.constantFrom('uid', 'operation', 'kind', 'resource', 'name', 'namespace', 'dryRun'),
          nastyJsonValue,
        )
        .map(([r, key, v]) => JSON.stringify(envelope({ ...r, [key]: v }))),
      weight: 3,
    },
    {
      arbitrary: fc
        .tuple(
          fuzzRequest(nastyJsonValue),
          fc.constantFrom('admission.k8s.io/v1beta1', 'admission.k8s.io/v2', '', 'v1'),
        )
        .map(([r, v]) => JSON.stringify(envelope(r, v))),
      weight: 2,
    },
    { arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)), weight: 2 },
    {
      arbitrary: fc.tuple(fuzzRequest(nastyJsonValue), fc.nat(), fc.string({ maxLength: 3 })).map(([r, at, junk]) => {
        const s = JSON.stringify(envelope(r));
        const i = at % s.length;
        return s.slice(0, i) + junk + s.slice(i + 1);
      }),
      weight: 3,
    },
    {
      arbitrary: fc.tuple(fuzzRequest(nastyJsonValue), fc.nat()).map(([r, at]) => {
        const s = JSON.stringify(envelope(r));
        return s.slice(0, at % s.length);
      }),
      weight: 1,
    },
    { arbitrary: fc.string({ unit: 'binary', maxLength: 200 }), weight: 1 },
    {
      arbitrary: fc.constantFrom(
        '{"__proto__":{"allowed":true}}',
        '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"constructor":{"prototype":{"x":1}}}}',
        '[]',
        'null',
        '1e400',
        '"x"',
        '{}',
        '\ufeff{}',
      ),
      weight: 1,
    },
  );

  const contentType = fc.oneof(
    { arbitrary: fc.constant('application/json'), weight: 16 },
    { arbitrary: fc.constant('application/json; charset=utf-8'), weight: 2 },
    {
      arbitrary: fc.constantFrom(
        'text/plain',
        'application/yaml',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
      ),
      weight: 2,
    },
  );

  // Shadowed values stay small: a huge one repeated at every key would only test the 413.
  const smallNastyJson = nastyJsonValue.filter((v) => (JSON.stringify(v)?.length ?? 0) < 2_000);

  test('every body gets a well-formed AdmissionReview (200) or a clear 4xx, never a 5xx', async (t) => {
    const seen = { review: 0, 'client-error': 0 };
    const statuses = new Map<number, number>();
    const reasons = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(body, contentType, async (text, contentType) => {
        const answer = await post(text, contentType);
        if (!contentType.startsWith('application/json') && text !== '') {
          assert.equal(answer.status, 400);
          assert.match((answer.body as { message: string }).message, /^Content-Type must be application\/json/);
        }
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        if (answer.status !== 200) {
          const reason = String((answer.body as { message?: string }).message)
            .replace(/^not an AdmissionReview: /, '')
            .split(/[:,(]| at /, 1)[0]!
            .slice(0, 60);
          reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
        }
        seen[assertAnswer(answer, text)]++;
      }),
      { numRuns: RUNS.http },
    );
    const byStatus = [...statuses]
      .sort(([a], [b]) => a - b)
      .map(([s, n]) => `${n}×${s}`)
      .join(', ');
    t.diagnostic(`/validate: ${RUNS.http} fuzzed bodies: ${byStatus}; 0 server errors`);
    t.diagnostic(
      `4xx reasons: ${[...reasons]
        .sort(([, a], [, b]) => b - a)
        .map(([r, n]) => `${n}× ${r}`)
        .join('; ')}`,
    );
    assert.ok(
      seen.review > RUNS.http / 3 && seen['client-error'] > RUNS.http / 10,
      `both paths are exercised: ${JSON.stringify(seen)}`,
    );
  });

  test("duplicate keys: the last occurrence wins, as in kube-apiserver's decoder, and the answer equals that of the de-duplicated body", async (t) => {
    let compared = 0;
    await fc.assert(
      fc.asyncProperty(
        fuzzRequest(nastyJsonValue),
        fc.integer({ min: 1, max: 5 }),
        smallNastyJson,
        async (request, pick, shadow) => {
          const value = envelope(request);
          const duplicated = withDuplicateKeys(value, pick, shadow);
          assert.notEqual(duplicated, JSON.stringify(value), 'the text really repeats keys');
          const a = await post(duplicated);
          const b = await post(JSON.stringify(value));
          assertAnswer(a, duplicated);
          assert.equal(a.status, b.status);
          if (a.status === 200) {
            const strip = (x: unknown) => (x as { response: unknown }).response;
            assert.deepEqual(strip(a.body), strip(b.body));
          }
          compared++;
        },
      ),
      { numRuns: RUNS.duplicateKeys },
    );
    t.diagnostic(
      `duplicate keys: ${compared} bodies with repeated keys, each answered exactly like its last-wins equivalent`,
    );
  });

  test('a body nested 9,000 levels deep that mentions __proto__ is judged (no walk of the body recurses)', async () => {
    const request = {
      uid: 'deep-proto',
      operation: 'CREATE',
      kind: { group: 'networking.istio.io', version: 'v1', kind: 'Sidecar' },
      namespace: 'bar',
      name: 'fuzz',
      object: { ...sidecarObject({ egress: [{ hosts: ['./*'] }] }), status: 'DEEP' },
    };
    const text = JSON.stringify(envelope(request)).replace(
      '"DEEP"',
      `{"note":"__proto__","d":${'['.repeat(9_000)}${']'.repeat(9_000)}}`,
    );
    const answer = await post(text);
    assertAnswer(answer, text);
    assert.equal((answer.body as { response: { allowed: boolean } }).response.allowed, true);
  });

  test('a deeper body than 10,000 levels is a 400 naming the problem', async () => {
    const text = JSON.stringify(
      envelope({
        uid: 'x',
        operation: 'CREATE',
        kind: { group: 'networking.istio.io', version: 'v1', kind: 'Sidecar' },
        object: 'DEEP',
      }),
    ).replace('"DEEP"', `${'['.repeat(20_000)}${']'.repeat(20_000)}`);
    const answer = await post(text);
    assert.equal(answer.status, 400);
    assert.match((answer.body as { message: string }).message, /nests deeper than 10000 levels/);
  });
});

describe('irrelevant fields never change a decision', () => {
  const requestFor = (
    object: Record<string, unknown>,
    userInfo: unknown = { username: 'kubernetes-admin' },
    options: unknown = null,
  ): AdmissionRequest => ({
    uid: 'same',
    kind: { group: 'networking.istio.io', version: 'v1', kind: 'Sidecar' },
    resource: { group: 'networking.istio.io', version: 'v1', resource: 'sidecars' },
    operation: 'CREATE',
    namespace: String((object.metadata as { namespace: string }).namespace),
    name: String((object.metadata as { name: string }).name),
    object,
    userInfo: userInfo as AdmissionRequest['userInfo'],
    options,
  });

  const spec = fc.oneof(
    fc.constantFrom(...VECTORS).map((v) => v.spec),
    plausibleSpec,
    boundarySpec,
  );
  const objects = fc
    .tuple(spec, fc.constantFrom('bar', 'shop', 'fresh'), fc.constantFrom('v1', 'v1beta1', 'v1alpha3'))
    .map(([s, ns, v]) => sidecarObject(s, ns, 'candidate', `networking.istio.io/${v}`));

  test('labels, annotations, status, managedFields, bookkeeping metadata, userInfo and options', (t) => {
    const outcomes = { allowed: 0, denied: 0 };
    fc.assert(
      fc.property(objects, irrelevant, (object, extra) => {
        const plain = review(requestFor(object), ctx);
        const decorated = review(requestFor(decorate(object, extra), extra.userInfo, extra.options), ctx);
        assert.deepEqual(decorated, plain);
        outcomes[plain.allowed ? 'allowed' : 'denied']++;
      }),
      { numRuns: RUNS.irrelevant },
    );
    t.diagnostic(
      `irrelevant fields (review()): ${RUNS.irrelevant} pairs, ${outcomes.allowed} allowed and ${outcomes.denied} denied, every decision unchanged`,
    );
    assert.ok(outcomes.allowed > RUNS.irrelevant / 4, 'valid Sidecars are well represented');
  });

  test('the same holds through /validate, response for response', async (t) => {
    const app = buildApp({ validate: (r) => review(r, ctx), readiness: () => ({ ready: true, reasons: [] }) });
    try {
      await fc.assert(
        fc.asyncProperty(objects, irrelevant, async (object, extra) => {
          const send = async (o: Record<string, unknown>) =>
            (
              await app.inject({
                method: 'POST',
                url: '/validate',
                payload: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: requestFor(o) },
              })
            ).json().response;
          assert.deepEqual(await send(decorate(object, extra)), await send(object));
        }),
        { numRuns: RUNS.irrelevantHttp },
      );
      t.diagnostic(`irrelevant fields (/validate): ${RUNS.irrelevantHttp} pairs, every response unchanged`);
    } finally {
      await app.close();
    }
  });
});

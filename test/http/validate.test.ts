import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { MAX_BODY_BYTES } from '../../src/http/app.js';
import { testApp, sidecarReview } from '../helpers/app.js';
import { sidecar } from '../helpers/objects.js';

const golden = (name: string) =>
  JSON.parse(readFileSync(new URL(`../fixtures/admission/${name}`, import.meta.url), 'utf8'));

async function post(app: ReturnType<typeof testApp>['app'], body: unknown, path = '/validate') {
  const res = await app.inject({ method: 'POST', url: path, payload: body as object });
  return { status: res.statusCode, body: res.json(), headers: res.headers };
}

describe('/validate golden AdmissionReviews', () => {
  for (const name of [
    'allowed-create',
    'denied-egress-order',
    'warned-duplicate-host',
    'v1beta1-allowed',
    'skipped-delete',
  ]) {
    test(name, async () => {
      const { app } = testApp();
      const res = await post(app, golden(`${name}.request.json`));
      assert.equal(res.status, 200);
      assert.match(String(res.headers['content-type']), /^application\/json/);
      assert.deepEqual(res.body, golden(`${name}.response.json`));
    });
  }
});

describe('/validate decisions', () => {
  test('the denial names the object, each field path, Istio text, rule id and a fix', async () => {
    const { app } = testApp();
    const obj = sidecar('shop', 'payments', {
      spec: {
        egress: [{ hosts: ['*/*'] }, { port: { number: 80, protocol: 'HTTP', name: 'http' }, hosts: ['bad-host'] }],
      },
    });
    const { body } = await post(app, sidecarReview(obj));
    assert.equal(body.response.allowed, false);
    assert.equal(body.response.status.code, 403);
    assert.equal(body.response.status.reason, 'Forbidden');
    const msg: string = body.response.status.message;
    assert.match(msg, /^Sidecar shop\/payments is invalid \(2 errors\):\n/);
    assert.match(
      msg,
      /- spec\.egress\[0\]\.port: sidecar: the egress listener with empty port should be the last listener in the list \[E2\] Fix: /,
    );
    assert.match(msg, /- spec\.egress\[1\]\.hosts\[0\]: host must be of form namespace\/dnsName \[H1\] Fix: /);
  });

  // Istio's validator reports H5 twice for such a host (docs/conformance.md); kubectl's reader sees it once.
  test('a finding Istio reports twice in a row is one line of the denial, saying so', async () => {
    const { app } = testApp();
    const obj = sidecar('shop', 'payments', {
      spec: { egress: [{ hosts: ['shop/foo_bar.example.com', 'bad-host'] }] },
    });
    const msg: string = (await post(app, sidecarReview(obj))).body.response.status.message;
    assert.match(msg, /^Sidecar shop\/payments is invalid \(3 errors\):\n/);
    const lines = msg.split('\n').slice(1);
    assert.equal(lines.length, 2, msg);
    assert.match(
      lines[0]!,
      /^- spec\.egress\[0\]\.hosts\[0\]: domain name "foo_bar\.example\.com" invalid .*\[H5\].* \(reported 2 times\)$/,
    );
    assert.match(lines[1]!, /^- spec\.egress\[0\]\.hosts\[1\]: .*\[H1\]/);
  });

  // kubectl prints the denial as it comes: a port name with an escape sequence and a newline must not
  // clear the terminal or print a line that looks like the API server's.
  test("the object's own strings in a denial have their control characters escaped", async () => {
    const { app } = testApp();
    const forged = 'h\u001b[2J\u001b[31mX\nError from server: forged';
    const obj = sidecar('shop', 'payments', {
      spec: {
        ingress: [{ port: { number: 8080, protocol: 'HTTP', name: forged }, defaultEndpoint: '127.0.0.1:8080' }],
        egress: [{ port: { number: 80, protocol: 'HTTP', name: forged }, hosts: ['./*'] }],
      },
    });
    const msg: string = (await post(app, sidecarReview(obj))).body.response.status.message;
    assert.match(msg, /^Sidecar shop\/payments is invalid \(\d+ errors\):\n- /);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what must be absent
    assert.doesNotMatch(msg, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    for (const l of msg.split('\n').slice(1)) assert.match(l, /^- /, 'every line after the first is a finding');
    assert.ok(msg.includes('h\\u001b[2J\\u001b[31mX\\u000aError from server: forged'), msg);
  });

  // The first line names the object: its namespace and name come from the request as well, escaped the same way.
  test("the object's namespace and name at the start of a denial have their control characters escaped", async () => {
    const { app } = testApp();
    const obj = sidecar('sh\u001b[2Jop', 'pay\nError from server: forged', {
      spec: { egress: [{ hosts: ['bad-host'] }] },
    });
    const msg: string = (await post(app, sidecarReview(obj))).body.response.status.message;
    assert.ok(msg.startsWith('Sidecar sh\\u001b[2Jop/pay\\u000aError from server: forged is invalid'), msg);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what must be absent
    assert.doesNotMatch(msg, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
  });

  // object.size and schema.cel are about the whole object: no field path, so no ": " before the text.
  test('a grandfathered finding without a path starts with its text', async () => {
    const { app } = testApp();
    const stored = sidecar('shop', 'payments', {
      spec: { egress: [{ port: { number: '80', protocol: 'HTTP', name: 'http' }, hosts: ['./*'] }] },
    });
    const { body } = await post(app, sidecarReview(stored, { operation: 'UPDATE', oldObject: stored }));
    assert.equal(body.response.allowed, true);
    const warnings: string[] = body.response.warnings ?? [];
    assert.ok(warnings.length > 0);
    for (const w of warnings) assert.doesNotMatch(w, /^:/, w);
    assert.ok(warnings.some((w) => w.includes('(allowed: ')));
  });

  test('other kinds and operations are allowed untouched', async () => {
    const { app } = testApp();
    const review = sidecarReview(sidecar('a', 'b', { spec: { egress: [] } }));
    review.request.kind = { group: '', version: 'v1', kind: 'Pod' };
    const { body } = await post(app, review);
    assert.deepEqual(body.response, { uid: review.request.uid, allowed: true });
    const status = sidecarReview(sidecar('a', 'b', { spec: { egress: [] } }), { operation: 'UPDATE' }) as {
      request: Record<string, unknown>;
    };
    status.request.subResource = 'status';
    assert.equal((await post(app, status)).body.response.allowed, true);
  });

  test('a second namespace-wide Sidecar is denied against the cluster view', async () => {
    const { app, store } = testApp();
    store.upsertSidecar(sidecar('shop', 'default'));
    const { body } = await post(app, sidecarReview(sidecar('shop', 'extra')));
    assert.equal(body.response.allowed, false);
    assert.match(body.response.status.message, /namespace "shop" already has a namespace-wide Sidecar: default/);
  });

  // A warning is read at the apply, like a denial: sidecar-guard's own say what to change; Istio's keep Istio's text.
  test("an UPDATE that keeps a conflict is warned with the conflict's fix; Istio's own warning text is unchanged", async () => {
    const { app, store } = testApp();
    store.upsertSidecar(sidecar('shop', 'default'));
    const spec = { egress: [{ hosts: ['./*', './*'] }] };
    const stored = sidecar('shop', 'extra', { spec });
    store.upsertSidecar(stored);
    const edited = sidecar('shop', 'extra', { spec, labels: { team: 'shop' } });
    const { body } = await post(app, sidecarReview(edited, { operation: 'UPDATE', oldObject: stored }));
    assert.equal(body.response.allowed, true);
    const warnings: string[] = body.response.warnings;
    const conflict = warnings.find((w) => w.includes('IST0111'));
    assert.match(conflict ?? '', /are both namespace-wide .* Fix: edit the existing Sidecar shop\/default instead/);
    const istio = warnings.find((w) => w.includes('duplicate'));
    assert.ok(istio && !istio.includes('Fix:'), `Istio's W1 as Istio words it: ${warnings.join(' | ')}`);
  });

  // A default admitted a moment ago is not in the view yet; its reservation must carry its outbound mode.
  test('a selector Sidecar admitted right after a REGISTRY_ONLY default is warned that its pods escape it', async () => {
    const { app } = testApp();
    const strict = sidecar('shop', 'default', { spec: { outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } } });
    assert.equal((await post(app, sidecarReview(strict))).body.response.allowed, true);
    const { body } = await post(app, sidecarReview(sidecar('shop', 'reviews', { selector: { app: 'reviews' } })));
    assert.equal(body.response.allowed, true);
    const warnings: string[] = body.response.warnings ?? [];
    assert.ok(
      warnings.some((w) => w.includes('instead of REGISTRY_ONLY from the namespace default Sidecar shop/default')),
      warnings.join('\n'),
    );
  });

  test('an exception while deciding is an HTTP 500, so the failurePolicy decides; the process survives', async () => {
    const { app } = testApp({
      deps: {
        validate: () => {
          throw new Error('boom');
        },
      },
    });
    const review = sidecarReview(sidecar('a', 'b'));
    const res = await post(app, review);
    assert.equal(res.status, 500);
    assertRefusal(
      res.body,
      500,
      'Internal Server Error',
      new RegExp(`internal error while reviewing ${review.request.uid}: boom`),
    );
    assert.equal((await app.inject('/healthz')).statusCode, 200);
  });
});

describe('/validate refuses what is not an AdmissionReview with a clear 4xx', () => {
  const cases: [string, { payload: string | Buffer; contentType: string }, number, RegExp][] = [
    ['not JSON', { payload: '{nope', contentType: 'application/json' }, 400, /not valid JSON/],
    ['empty body', { payload: '', contentType: 'application/json' }, 400, /empty body/],
    [
      'no request',
      {
        payload: JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }),
        contentType: 'application/json',
      },
      400,
      /request is missing/,
    ],
    [
      'no uid',
      {
        payload: JSON.stringify({
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          request: { operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'Pod' } },
        }),
        contentType: 'application/json',
      },
      400,
      /request.uid/,
    ],
    [
      'a 1 MiB uid (the answer would echo it)',
      {
        payload: JSON.stringify({
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          request: { uid: 'u'.repeat(1 << 20), operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'Pod' } },
        }),
        contentType: 'application/json',
      },
      400,
      /request.uid is 1048576 characters long; at most 256 are answered/,
    ],
    [
      'wrong content type',
      { payload: 'apiVersion: x', contentType: 'text/yaml' },
      400,
      /Content-Type must be application\/json/,
    ],
    ['a JSON array', { payload: '[]', contentType: 'application/json' }, 400, /not a JSON object/],
    [
      'only a __proto__ key (judged as data: what is missing)',
      { payload: '{"__proto__": {"x": 1}}', contentType: 'application/json' },
      400,
      /not an AdmissionReview: apiVersion must be/,
    ],
  ];
  for (const [name, req, status, message] of cases) {
    test(name, async () => {
      const { app } = testApp();
      const res = await app.inject({
        method: 'POST',
        url: '/validate',
        payload: req.payload,
        headers: { 'content-type': req.contentType },
      });
      assert.equal(res.statusCode, status);
      assertRefusal(res.json(), status, 'Bad Request', message);
    });
  }

  // A media type is case-insensitive (RFC 9110 8.3.1).
  test('a Content-Type of application/json in other letter case, with parameters, is accepted', async () => {
    const { app } = testApp();
    for (const contentType of ['Application/JSON', 'APPLICATION/JSON; charset=UTF-8']) {
      const review = sidecarReview(sidecar('shop', 'payments'));
      const res = await app.inject({
        method: 'POST',
        url: '/validate',
        payload: JSON.stringify(review),
        headers: { 'content-type': contentType },
      });
      assert.equal(res.statusCode, 200, `${contentType}: ${res.body}`);
      assert.deepEqual(res.json().response, { uid: review.request.uid, allowed: true });
    }
  });

  test('a body over 7 MiB gets 413', async () => {
    const { app } = testApp();
    const payload = Buffer.alloc(MAX_BODY_BYTES + 1, 0x20);
    const res = await app.inject({
      method: 'POST',
      url: '/validate',
      payload,
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.statusCode, 413);
    assertRefusal(res.json(), 413, 'Payload Too Large', /larger than 7 MiB/);
  });

  test('unknown paths get 404 with a hint', async () => {
    const { app } = testApp();
    const res = await app.inject({ method: 'POST', url: '/nope', payload: {} });
    assert.equal(res.statusCode, 404);
    assertRefusal(res.json(), 404, 'Not Found', /^no route POST \/nope; use POST \/validate or \/mutate$/);
  });

  test('a POST with no body at all (and so no content type) is told its body is empty', async () => {
    const { app } = testApp();
    const res = await app.inject({ method: 'POST', url: '/validate' });
    assert.equal(res.statusCode, 400);
    assertRefusal(res.json(), 400, 'Bad Request', /empty body: expected an AdmissionReview JSON object$/);
  });

  test('a path it serves, asked with another method, gets 405 and an Allow header', async () => {
    const { app } = testApp();
    const get = await app.inject({ method: 'GET', url: '/validate?timeout=10s' });
    assert.equal(get.statusCode, 405);
    assert.equal(get.headers.allow, 'POST');
    assertRefusal(get.json(), 405, 'Method Not Allowed', /^GET \/validate is not served; use POST \/validate$/);
    const post = await app.inject({ method: 'POST', url: '/healthz', payload: {} });
    assert.equal(post.statusCode, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
  });
});

/** Every refusal has Fastify's error shape, its `error` the status's reason phrase. */
function assertRefusal(body: unknown, status: number, error: string, message: RegExp): void {
  const { message: text, reason, ...rest } = body as { message: string; reason: string };
  // Fastify's error shape and a Kubernetes Status at once (kube-apiserver shows a Status's message).
  assert.deepEqual(rest, {
    statusCode: status,
    error,
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    code: status,
  });
  assert.match(reason, /^[A-Z][A-Za-z]+$/);
  assert.match(text, message);
}

describe('probes', () => {
  test('/healthz is 200, /readyz follows readiness with reasons', async () => {
    let ready = false;
    const { app } = testApp({
      deps: { readiness: () => ({ ready, reasons: ready ? [] : ['sidecars not listed yet'] }) },
    });
    assert.equal((await app.inject('/healthz')).statusCode, 200);
    const notReady = await app.inject('/readyz');
    assert.equal(notReady.statusCode, 503);
    assert.deepEqual(notReady.json(), { status: 'not ready', reasons: ['sidecars not listed yet'] });
    ready = true;
    assert.equal((await app.inject('/readyz')).statusCode, 200);
  });
});

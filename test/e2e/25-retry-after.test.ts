// What sidecar-guard's overload refusal (503 with Retry-After, src/http/routes.ts) relies on, shown against the
// real kube-apiserver: its webhook client (client-go's rest.Request) calls a webhook again after a 5xx that
// carries Retry-After, and not after one without it. A stub webhook on loopback answers the first call of each
// test with 503 and sidecar-guard's own refusal body, then allows; its configuration covers one namespace only,
// with failurePolicy Fail. The refusal's message reaches kubectl because that body is a Kubernetes Status too.
// Needs `npm run e2e:up` first (make e2e does up, this, then down).
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { errorBody } from '../../src/http/routes.js';
import { testPki } from '../reliability/helpers.js';
import { kubectl, mustKubectl, namespaces, needsRealApiServer, readState, sidecarWebhookConfiguration } from './env.js';

const NS = 'retry-after-e2e';
const CONFIG = 'e2e-retry-after';
const WEBHOOK = 'retry-after.e2e.sidecar-guard.io';

/** What the stub answers to its first call; every later one is allowed. */
let first: { status: number; headers: Record<string, string> } = { status: 503, headers: {} };
let calls = 0;
const OVERLOADED = 'overloaded: 32 admission requests in flight (limit 32); retry after 1s';
let server: Server;

const sidecar = (name: string) =>
  `apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata:\n  name: ${name}\n  namespace: ${NS}\nspec:\n  egress:\n  - hosts: ["./*", "istio-system/*"]\n`;

before(async () => {
  readState();
  const { caPem, serving } = testPki();
  server = createServer({ cert: serving.certPem, key: serving.keyPem }, (request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      calls++;
      if (calls === 1) {
        response.writeHead(first.status, { 'content-type': 'application/json', ...first.headers });
        // The body sidecar-guard answers a refusal with (a Kubernetes Status too), so its message reaches kubectl.
        response.end(JSON.stringify(errorBody(first.status, OVERLOADED)));
        return;
      }
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { request: { uid: string } };
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          response: { uid: review.request.uid, allowed: true },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await namespaces(NS);
  await mustKubectl(['apply', '-f', '-'], {
    stdin: stringify(
      sidecarWebhookConfiguration({
        name: CONFIG,
        webhook: WEBHOOK,
        clientConfig: { url: `https://127.0.0.1:${port}/validate`, caBundle: Buffer.from(caPem).toString('base64') },
        namespace: NS,
        failurePolicy: 'Fail',
        timeoutSeconds: 10,
        operations: ['CREATE'],
      }),
    ),
  });
});

after(async () => {
  await kubectl(['delete', 'validatingwebhookconfiguration', CONFIG, '--ignore-not-found']);
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** A server-side dry run of a valid Sidecar in NS: each is one admission, so one or more calls of the stub. */
const dryRun = (name: string) => kubectl(['apply', '--dry-run=server', '-f', '-'], { stdin: sidecar(name) });

test('a 503 with Retry-After is called again, and the write goes through', { skip: needsRealApiServer() }, async () => {
  // The configuration is new to the API server: until its webhook is called, a write is not yet seen by it.
  first = { status: 503, headers: { 'retry-after': '1' } };
  calls = 0;
  for (let i = 0; calls === 0; i++) {
    assert.ok(i < 300, 'the API server never called the stub webhook');
    const r = await dryRun(`warm-${i}`);
    if (calls === 0) assert.equal(r.code, 0, r.stderr);
    else assert.equal(r.code, 0, `the write after a 503 with Retry-After: ${r.stderr}`);
  }
  assert.equal(calls, 2, 'one refusal, then the call that allowed it');
});

test('a 503 without Retry-After is not called again: failurePolicy Fail refuses the write', {
  skip: needsRealApiServer(),
}, async () => {
  first = { status: 503, headers: {} };
  calls = 0;
  const r = await dryRun('no-retry-after');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /failed calling webhook "retry-after\.e2e\.sidecar-guard\.io"/);
  // kube-apiserver read the body as a Status: the user sees why, not "an error on the server (\"unknown\")".
  assert.ok(r.stderr.includes(`failed to call webhook: ${OVERLOADED}`), r.stderr);
  assert.equal(calls, 1);
});

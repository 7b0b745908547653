// Limits of the HTTPS listener, over real TLS sockets: oversized bodies are
// refused before they are read and their connection is closed; slow clients
// are cut off by the handshake, head and request deadlines; the API server's
// `?timeout=` is honoured; beyond --max-inflight requests get 503 +
// Retry-After. Every assertion is about bytes, sockets and answers, never
// about how long something took.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import { ClusterStore } from '../../src/cluster/store.js';
import { buildApp, MAX_BODY_BYTES } from '../../src/http/app.js';
import { localAdmitter } from '../../src/cluster/admitter.js';
import { sidecarReview } from '../helpers/app.js';
import { sidecar } from '../helpers/objects.js';
import { fakeTime, httpsRequest, listen, RawClient, requestHead, waitFor, type Listening } from './helpers.js';

const MiB = 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 0x20);

/**
 * Uploads up to `total` body bytes in 64 KiB chunks, each handed to the
 * kernel before the next, and stops as soon as the server answered or the
 * connection died. Returns how many bytes the client managed to send.
 */
async function upload(client: RawClient, total: number, chunked: boolean): Promise<number> {
  let sent = 0;
  while (sent < total && client.received === '' && !client.closed && !client.error) {
    const frame = chunked
      ? Buffer.concat([Buffer.from(`${CHUNK.length.toString(16)}\r\n`), CHUNK, Buffer.from('\r\n')])
      : CHUNK;
    if (!(await client.write(frame))) break;
    sent += CHUNK.length;
    await new Promise((r) => setImmediate(r));
  }
  return sent;
}

// Every suite has a time limit: a missing deadline must fail the test, not hang the run.
describe('bodies above 7 MiB', { timeout: 60_000 }, () => {
  let server: Listening;
  after(() => server?.close());

  for (const framing of ['content-length', 'chunked'] as const) {
    test(`${framing}: 413 arrives before the client finished sending, and the connection is closed, not drained`, async (t) => {
      server ??= await listen();
      const declared = 64 * MiB;
      const client = await RawClient.connect(server.port);
      const headers: Record<string, string | number> = { 'content-type': 'application/json' };
      if (framing === 'chunked') headers['transfer-encoding'] = 'chunked';
      else headers['content-length'] = declared;
      await client.write(requestHead('/validate', headers));
      const sent = await upload(client, declared, framing === 'chunked');
      await client.whenClosed();
      const serverRead = server.accepted.at(-1)!.bytesRead;
      t.diagnostic(
        `${framing}: client offered ${declared} bytes, sent ${sent} before the answer; server read ${serverRead} bytes (TLS included)`,
      );

      assert.equal(client.status(), 413);
      assert.match((client.json() as { message: string }).message, /larger than 7 MiB/);
      assert.equal(client.header('connection'), 'close');
      assert.ok(client.closed, 'the server closed the connection');
      assert.ok(sent < declared, 'the client could not push the whole body: the server stopped reading');
      if (framing === 'content-length') {
        // Refused from the Content-Length header alone: not even the limit was read.
        assert.ok(serverRead < MAX_BODY_BYTES, `server read ${serverRead} bytes`);
      } else {
        // A chunked body can only be counted: it is cut right after the limit.
        assert.ok(
          serverRead > MAX_BODY_BYTES && serverRead < MAX_BODY_BYTES + 2 * MiB,
          `server read ${serverRead} bytes`,
        );
      }
    });
  }
});

describe('slow and silent clients are disconnected', { timeout: 30_000 }, () => {
  let server: Listening;
  const validated: string[] = [];
  after(() => server?.close());

  // Small deadlines for the test; the production ones are in DEFAULT_TIMEOUTS.
  const start = () =>
    listen({
      validate: (r) => {
        validated.push(r.uid);
        return { allowed: true, outcome: 'allowed', warnings: [], rules: [] };
      },
      timeouts: { headersMs: 300, requestMs: 60_000, checkIntervalMs: 50, handshakeMs: 300 },
    });

  test('a client that connects and never says hello is dropped by the handshake deadline', async (t) => {
    server ??= await start();
    const socket = net.connect({ host: '127.0.0.1', port: server.port });
    let received = 0;
    socket.on('data', (d) => (received += d.length));
    socket.on('error', () => undefined);
    await new Promise((r) => socket.once('close', r));
    t.diagnostic(`silent TCP client closed by the server after receiving ${received} bytes`);
    assert.equal(received, 0);
  });

  test('slowloris: a head trickled one header at a time is cut off by the headers deadline (408, socket closed)', async (t) => {
    server ??= await start();
    const client = await RawClient.connect(server.port);
    await client.write('POST /validate HTTP/1.1\r\nhost: localhost\r\n');
    let trickled = 0;
    // Never finishes the head; every write keeps the socket busy, so only the head deadline can end it.
    while (!client.closed && !client.error && client.received === '') {
      if (await client.write(`x-trickle-${trickled}: ${'a'.repeat(8)}\r\n`)) trickled++;
      await new Promise((r) => setTimeout(r, 20));
    }
    await client.whenClosed();
    t.diagnostic(`slowloris sent ${trickled} header lines before being cut off`);
    assert.equal(client.status(), 408);
    assert.ok(client.closed);
  });

  test('a body trickled byte by byte is cut off by the request deadline and never decided', async (t) => {
    const slow = await listen({
      validate: (r) => {
        validated.push(r.uid);
        return { allowed: true, outcome: 'allowed', warnings: [], rules: [] };
      },
      timeouts: { headersMs: 300, requestMs: 400, checkIntervalMs: 50 },
    });
    try {
      const client = await RawClient.connect(slow.port);
      const body = JSON.stringify(sidecarReview(sidecar('a', 'b'), { uid: 'slow-body' }));
      await client.write(
        requestHead('/validate', { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }),
      );
      let sent = 0;
      while (!client.closed && !client.error && client.received === '' && sent < body.length - 1) {
        if (await client.write(body[sent]!)) sent++;
        await new Promise((r) => setTimeout(r, 20));
      }
      await client.whenClosed();
      t.diagnostic(`slow body: ${sent} of ${body.length} bytes sent before being cut off`);
      assert.ok(sent < body.length - 1, 'cut off before the body was complete');
      assert.equal(client.status(), 408);
      assert.ok(!validated.includes('slow-body'));
    } finally {
      await slow.close();
    }
  });

  test('an idle connection after the handshake is closed by the headers deadline', async () => {
    server ??= await start();
    const client = await RawClient.connect(server.port);
    await client.whenClosed();
    assert.equal(client.status(), 408);
  });
});

describe('?timeout= from the API server', () => {
  // A fake monotonic clock; the test moves it between arrival and decision, as time spent queued or uploading would.
  function clockedApp() {
    let clock = 0;
    let queuedMs = 0;
    const store = new ClusterStore();
    const { admitter, reservations } = localAdmitter(store, { overlap: 'labels', rootNamespace: 'istio-system' });
    let decided = 0;
    const app = buildApp({
      validate: (r) => {
        decided++;
        return admitter.validate(r);
      },
      readiness: () => ({ ready: true, reasons: [] }),
      now: () => clock,
    });
    app.addHook('preValidation', async () => {
      clock += queuedMs;
    });
    return {
      app,
      reservations,
      decided: () => decided,
      queue: (ms: number) => {
        queuedMs = ms;
      },
      post: async (url: string, review: unknown) => {
        const res = await app.inject({ method: 'POST', url, payload: review as object });
        return { status: res.statusCode, body: res.json() };
      },
    };
  }

  test('a request whose deadline passed before it could be decided gets an errored review at once: not decided, nothing reserved', async () => {
    const h = clockedApp();
    h.queue(6_000);
    const review = sidecarReview(sidecar('shop', 'late'));
    const res = await h.post('/validate?timeout=5s', review);
    assert.equal(res.status, 200);
    assert.equal(res.body.apiVersion, 'admission.k8s.io/v1');
    assert.equal(res.body.response.uid, review.request.uid);
    assert.equal(res.body.response.allowed, false);
    assert.equal(res.body.response.status.code, 504);
    assert.equal(res.body.response.status.reason, 'Timeout');
    assert.match(res.body.response.status.message, /timeout=5s expired 1000ms before this request could be decided/);
    assert.equal(h.decided(), 0, 'the decision function never ran');
    assert.equal(h.reservations.size(), 0, 'no phantom reservation for an object the API server will not store');
  });

  test('within the deadline the request is decided normally (and reserves, as a real CREATE does)', async () => {
    const h = clockedApp();
    h.queue(4_000);
    const review = sidecarReview(sidecar('shop', 'in-time'));
    const res = await h.post('/validate?timeout=5s', review);
    assert.deepEqual(res.body.response, { uid: review.request.uid, allowed: true });
    assert.equal(h.decided(), 1);
    assert.equal(h.reservations.size(), 1);
  });

  test('Go duration syntax, v1beta1 answered in kind; a zero budget fails fast; a malformed parameter is ignored', async () => {
    const h = clockedApp();
    h.queue(1_500);
    const ok = await h.post(
      '/validate?timeout=1m30s',
      sidecarReview(sidecar('a', 'x'), { apiVersion: 'admission.k8s.io/v1beta1' }),
    );
    assert.equal(ok.body.apiVersion, 'admission.k8s.io/v1beta1');
    assert.equal(ok.body.response.allowed, true);
    assert.equal(
      (await h.post('/validate?timeout=1.4s', sidecarReview(sidecar('b', 'x')))).body.response.status.reason,
      'Timeout',
    );
    h.queue(0);
    assert.equal(
      (await h.post('/validate?timeout=0s', sidecarReview(sidecar('c', 'x')))).body.response.status.code,
      504,
    );
    assert.equal(
      (await h.post('/validate?timeout=soon', sidecarReview(sidecar('d', 'x')))).body.response.allowed,
      true,
    );
    assert.equal((await h.post('/validate', sidecarReview(sidecar('e', 'x')))).body.response.allowed, true);
    assert.equal(h.decided(), 3);
  });

  test('over HTTPS with the real clock, a request within its deadline is answered before it', async () => {
    const server = await listen();
    try {
      const client = await RawClient.connect(server.port);
      const review = sidecarReview(sidecar('a', 'b'));
      const body = JSON.stringify(review);
      await client.write(
        requestHead('/validate?timeout=10s', {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        }) + body,
      );
      await waitFor('the answer', () => client.status() !== undefined && client.received.endsWith('}'));
      assert.equal(client.status(), 200);
      assert.deepEqual((client.json() as { response: unknown }).response, { uid: review.request.uid, allowed: true });
      client.destroy();
    } finally {
      await server.close();
    }
  });
});

describe('bounded concurrency: 503 + Retry-After beyond --max-inflight', { timeout: 60_000 }, () => {
  const MAX = 3;

  // Bodies are never old enough to be cut to make room here (see the body budget tests for that).
  const patient = { bodyGraceMs: 600_000, bodyYieldAfterMs: 600_000 };

  async function overloadable() {
    const server = await listen({ limits: { maxInflight: MAX, retryAfterSeconds: 2, ...patient } });
    return { server, heads: server.heads };
  }

  /** A request whose head and first half of the body are sent; the rest follows on finish(). */
  async function halfSent(port: number, uid: string) {
    const client = await RawClient.connect(port);
    const body = JSON.stringify(sidecarReview(sidecar('ns', uid), { uid }));
    const half = Math.floor(body.length / 2);
    await client.write(
      requestHead('/validate', { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }) +
        body.slice(0, half),
    );
    return { client, finish: () => client.write(body.slice(half)) };
  }

  test('with MAX requests uploading, the next one is refused at once; once they finish, requests are served again', async (t) => {
    const { server, heads } = await overloadable();
    try {
      const inflight = await Promise.all(Array.from({ length: MAX }, (_, i) => halfSent(server.port, `slow-${i}`)));
      await waitFor('the heads of the slow requests', () => heads() === MAX);

      const extra = await halfSent(server.port, 'extra');
      await waitFor('the refusal', () => extra.client.closed);
      assert.equal(extra.client.status(), 503);
      assert.equal(extra.client.header('retry-after'), '2');
      assert.equal(extra.client.header('connection'), 'close');
      assert.match(
        (extra.client.json() as { message: string }).message,
        /overloaded: 3 admission requests in flight \(limit 3\)/,
      );

      // Probes are never refused: the kubelet must not see an overloaded replica as dead.
      const probe = await RawClient.connect(server.port);
      await probe.write('GET /healthz HTTP/1.1\r\nhost: localhost\r\n\r\n');
      await waitFor('the probe answer', () => probe.status() !== undefined);
      assert.equal(probe.status(), 200);
      probe.destroy();

      for (const r of inflight) await r.finish();
      await waitFor('the slow requests to be answered', () => inflight.every((r) => r.client.received.endsWith('}')));
      for (const r of inflight) assert.equal(r.client.status(), 200);

      const again = await halfSent(server.port, 'again');
      await again.finish();
      await waitFor('the answer', () => again.client.received.endsWith('}'));
      assert.equal(again.client.status(), 200);
      t.diagnostic(`limit ${MAX}: ${MAX} uploads in flight, request ${MAX + 1} refused with 503, then served again`);
      for (const r of [...inflight, again]) r.client.destroy();
    } finally {
      await server.close();
    }
  });

  test('clients that vanish mid-upload give their slot back', async () => {
    const { server, heads } = await overloadable();
    try {
      const gone = await Promise.all(Array.from({ length: MAX }, (_, i) => halfSent(server.port, `gone-${i}`)));
      await waitFor('their heads', () => heads() === MAX);
      for (const r of gone) r.client.destroy();
      // Exactly MAX slots again: MAX new uploads fit, the next is refused.
      await waitFor('slots to be released', async () => {
        const probe = await halfSent(server.port, 'probe');
        await probe.finish();
        await waitFor('an answer', () => probe.client.closed || probe.client.received.endsWith('}'));
        probe.client.destroy();
        return probe.client.status() === 200;
      });
      const before = heads();
      const fill = await Promise.all(Array.from({ length: MAX }, (_, i) => halfSent(server.port, `fill-${i}`)));
      await waitFor('their heads', () => heads() === before + MAX);
      const extra = await halfSent(server.port, 'extra');
      await waitFor('the refusal', () => extra.client.closed);
      assert.equal(extra.client.status(), 503);
      for (const r of fill) r.client.destroy();
    } finally {
      await server.close();
    }
  });

  test('a burst of 40 concurrent uploads against a limit of 8: exactly 8 served, 32 refused with 503, none lost', async (t) => {
    const limit = 8;
    const server = await listen({ limits: { maxInflight: limit, ...patient } });
    try {
      const burst = await Promise.all(Array.from({ length: 40 }, (_, i) => halfSent(server.port, `burst-${i}`)));
      await waitFor('all heads', () => server.heads() === 40);
      await Promise.all(burst.map((r) => r.finish()));
      await waitFor('every request to end', () =>
        burst.every((r) => r.client.closed || r.client.received.endsWith('}')),
      );
      const statuses = burst.map((r) => r.client.status());
      const served = statuses.filter((s) => s === 200).length;
      const refused = statuses.filter((s) => s === 503).length;
      t.diagnostic(
        `burst: 40 concurrent uploads, limit ${limit}: ${served} served (200), ${refused} refused (503), ${40 - served - refused} other`,
      );
      assert.equal(served, limit);
      assert.equal(refused, 40 - limit);
      for (const r of burst) r.client.destroy();
    } finally {
      await server.close();
    }
  });
});

describe('draining', { timeout: 30_000 }, () => {
  test('while draining every response closes its connection, so keep-alive clients reconnect elsewhere', async () => {
    let draining = false;
    const server = await listen({
      draining: () => draining,
      readiness: () => ({ ready: !draining, reasons: draining ? ['shutting down'] : [] }),
    });
    try {
      const client = await RawClient.connect(server.port);
      await client.write('GET /readyz HTTP/1.1\r\nhost: localhost\r\n\r\n');
      await waitFor('first answer', () => client.received.endsWith('}'));
      assert.equal(client.status(), 200);
      assert.notEqual(client.header('connection'), 'close');
      draining = true;
      client.received = '';
      const body = JSON.stringify(sidecarReview(sidecar('a', 'b')));
      await client.write(
        requestHead('/validate', { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }) +
          body,
      );
      await client.whenClosed();
      assert.equal(client.status(), 200, 'the request on the kept-alive connection is still answered');
      assert.equal(client.header('connection'), 'close');
    } finally {
      await server.close();
    }
  });
});

describe('closing: kept-alive connections are closed only between requests, once quiet', { timeout: 30_000 }, () => {
  test('a connection quiet for quietMs is closed at once; one that just answered waits, and the request it then carries is answered', async () => {
    let clock = 0;
    const server = await listen({ now: () => clock, timeouts: { quietMs: 1_000 } });
    const get = async (client: RawClient) => {
      client.received = '';
      await client.write('GET /healthz HTTP/1.1\r\nhost: localhost\r\n\r\n');
      await waitFor('the answer', () => client.received.endsWith('}'));
    };
    const quiet = await RawClient.connect(server.port);
    await get(quiet);
    clock += 1_500;
    const busy = await RawClient.connect(server.port);
    await get(busy);
    const closing = server.close();
    await quiet.whenClosed();
    assert.equal(busy.closed, false, 'answered 0 ms ago: a next request may be on its way');
    // It was: answered, with Connection: close, and then the connection ends.
    const body = JSON.stringify(sidecarReview(sidecar('a', 'b'), { uid: 'on-the-wire' }));
    busy.received = '';
    await busy.write(
      requestHead('/validate', { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }) +
        body,
    );
    await busy.whenClosed();
    assert.equal(busy.status(), 200);
    assert.equal(busy.header('connection'), 'close');
    assert.equal((busy.json() as { response: { uid: string } }).response.uid, 'on-the-wire');
    await closing;
  });
});

describe('the body budget and slow bodies', { timeout: 60_000 }, () => {
  /** Every client the tests below open, so that a test closes them all even when an assertion failed (a server closes only once its connections have). */
  const clients: RawClient[] = [];
  const hangUp = () => {
    for (const c of clients.splice(0)) c.destroy();
  };

  /** A head declaring `declared` bytes and the first `first` of them; finish() sends the rest of a real review when it fits. */
  async function started(port: number, _uid: string, declared: number, first = 1, path = '/validate?timeout=10s') {
    const client = await RawClient.connect(port);
    clients.push(client);
    await client.write(
      requestHead(path, { 'content-type': 'application/json', 'content-length': declared }) + ' '.repeat(first),
    );
    return client;
  }

  /** An ordinary review, sent whole. */
  async function review(port: number, uid: string, path = '/validate?timeout=10s') {
    const client = await RawClient.connect(port);
    clients.push(client);
    const body = JSON.stringify(sidecarReview(sidecar('shop', uid), { uid }));
    await client.write(
      requestHead(path, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }) + body,
    );
    return client;
  }

  const answered = (client: RawClient) => client.status() !== undefined && client.received.endsWith('}');

  async function honest(port: number, uid: string) {
    const client = await review(port, uid);
    await waitFor('the honest answer', () => answered(client));
    return client;
  }

  test('the budget refuses the body that does not fit with 503 at its head, and an ordinary review still finds room', async (t) => {
    const server = await listen({
      limits: {
        maxBodyBytesInFlight: 3 * MiB,
        maxLargeBodyBytesInFlight: 2 * MiB,
        smallBodyBytes: 64 * 1024,
        bodyGraceMs: 600_000,
        bodyYieldAfterMs: 600_000,
      },
    });
    try {
      const large = await Promise.all([0, 1].map((i) => started(server.port, `large-${i}`, MiB)));
      await waitFor('their heads', () => server.heads() === 2);
      const third = await started(server.port, 'third', MiB);
      await waitFor('the refusal', () => third.closed);
      assert.equal(third.status(), 503);
      assert.equal(third.header('retry-after'), '1');
      assert.equal(third.header('connection'), 'close');
      assert.match(
        (third.json() as { message: string }).message,
        /overloaded: 3145728 bytes of large bodies would be in flight \(limit 2097152\)/,
      );
      const ok = await honest(server.port, 'honest');
      assert.equal(ok.status(), 200);
      assert.deepEqual((ok.json() as { response: unknown }).response, { uid: 'honest', allowed: true });
      t.diagnostic(
        'budget 3 MiB, 2 MiB of it for large bodies: 2 × 1 MiB uploading, the third 1 MiB body refused at its head, a 3 KB review answered 200',
      );
      for (const c of [...large, ok]) c.destroy();
    } finally {
      await server.close();
    }
  });

  test('clients trickling bodies into every slot yield to an honest review: it waits until they may be cut, the slowest gets 408, the review is answered', async () => {
    const time = fakeTime();
    const server = await listen({
      now: time.now,
      timers: time.timers,
      limits: { maxInflight: 4, bodyGraceMs: 600_000, bodyYieldAfterMs: 100 },
    });
    const { port } = server;
    try {
      const tricklers = await Promise.all([0, 1, 2, 3].map((i) => started(port, `trickle-${i}`, 2_000)));
      await waitFor('their heads', () => server.heads() === 4);
      // A body 50 ms into its upload is given its chance: the newcomer waits for it, it is not refused (issue 14:
      // tricklers reconnecting together held every slot with bodies too young to cut, and a review got 503).
      time.advance(50);
      const ok = await review(port, 'honest');
      await waitFor('the review to wait for room, or an answer', () => time.pending() === 1 || answered(ok));
      assert.equal(ok.status(), undefined, 'not refused while the bodies in every slot are 50 ms old');
      time.advance(49);
      assert.ok(tricklers.every((c) => !c.closed) && ok.status() === undefined, 'nothing cut before 100 ms');
      time.advance(1);
      await waitFor('the answer', () => answered(ok));
      assert.equal(ok.status(), 200);
      assert.equal((ok.json() as { response: { uid: string } }).response.uid, 'honest');
      await waitFor('one trickler cut', () => tricklers.some((c) => c.closed));
      const cut = tricklers.filter((c) => c.closed);
      assert.equal(cut.length, 1);
      assert.equal(cut[0]!.status(), 408);
      assert.equal(cut[0]!.header('connection'), 'close');
      assert.match(
        (cut[0]!.json() as { message: string }).message,
        /body incomplete after 100ms \(1 of 2000 bytes\) while the server needed room/,
      );
    } finally {
      hangUp();
      await server.close();
    }
  });

  test('waiting for room is bounded: four waiters per slot, a waiter that hangs up leaves, and one whose deadline comes first is refused at once', async () => {
    const time = fakeTime();
    const server = await listen({
      now: time.now,
      timers: time.timers,
      limits: { maxInflight: 2, bodyGraceMs: 600_000, bodyYieldAfterMs: 100 },
    });
    const { port } = server;
    const WAITERS = 8; // 4 per slot
    const refusedAtOnce = async (client: RawClient, message: RegExp) => {
      await waitFor('the refusal', () => client.closed);
      assert.equal(client.status(), 503);
      assert.equal(client.header('retry-after'), '1');
      assert.match((client.json() as { message: string }).message, message);
    };
    try {
      const tricklers = await Promise.all([0, 1].map((i) => started(port, `trickle-${i}`, 2_000)));
      await waitFor('their heads', () => server.heads() === 2);
      // Its body must arrive within 50 ms (half of 100ms): the tricklers may be cut only at 100 ms.
      await refusedAtOnce(
        await review(port, 'hurried', '/validate?timeout=100ms'),
        /^overloaded: 2 admission requests in flight \(limit 2\); retry after 1s$/,
      );
      const waiters: RawClient[] = [];
      for (let i = 0; i < WAITERS; i++) waiters.push(await review(port, `waiter-${i}`));
      await waitFor(`${WAITERS} waiting, or an answer`, () => time.pending() === WAITERS || waiters.some(answered));
      assert.deepEqual(
        waiters.map((c) => c.status()),
        waiters.map(() => undefined),
        'waiting, not refused',
      );
      await refusedAtOnce(
        await review(port, 'one-too-many'),
        /^overloaded: 2 admission requests in flight \(limit 2\) and 8 already waiting for room; retry after 1s$/,
      );
      waiters[0]!.destroy();
      await waitFor('the waiter that hung up to leave', () => time.pending() === WAITERS - 1);
      const last = await review(port, 'last');
      await waitFor('all waiting again', () => time.pending() === WAITERS);
      time.advance(100);
      const served = [...waiters.slice(1), last];
      await waitFor('every waiter answered', () => served.every(answered));
      assert.deepEqual(
        served.map((c) => [c.status(), (c.json() as { response: { uid: string } }).response.uid]),
        [...waiters.slice(1).map((_, i) => [200, `waiter-${i + 1}`]), [200, 'last']],
      );
      await waitFor('both tricklers cut', () => tricklers.every((c) => c.closed));
      assert.deepEqual(
        tricklers.map((c) => c.status()),
        [408, 408],
      );
    } finally {
      hangUp();
      await server.close();
    }
  });

  // A burst's heads all arrive in one read of the sockets, before any decision: the slots are then held by bodies
  // that are complete and being decided, which no cutting frees, but each answer does within milliseconds.
  test('waiters are let in in the order they came, whatever wake-ups found no room', async () => {
    const decided: string[] = [];
    const pending: (() => void)[] = [];
    const server = await listen({
      limits: { maxInflight: 1 },
      validate: (r) =>
        new Promise((resolve) => {
          decided.push(r.uid);
          pending.push(() => resolve({ allowed: true, outcome: 'allowed', warnings: [], rules: [] }));
        }),
    });
    const { port } = server;
    try {
      const clients = [await review(port, 'holder')];
      await waitFor('the holder being decided', () => decided.length === 1);
      for (let i = 0; i < 4; i++) {
        clients.push(await review(port, `w${i}`));
        await waitFor(`w${i} waiting`, () => server.heads() === i + 2);
      }
      for (let i = 1; i <= 4; i++) {
        pending.shift()!();
        await waitFor(`decision ${i + 1}`, () => decided.length === i + 1);
      }
      pending.shift()!();
      await waitFor('all answered', () => clients.every(answered));
      assert.deepEqual(decided, ['holder', 'w0', 'w1', 'w2', 'w3']);
    } finally {
      hangUp();
      await server.close();
    }
  });

  test('a review that finds every slot held by complete bodies being decided waits for one, instead of a 503', async () => {
    const decisions: (() => void)[] = [];
    const server = await listen({
      limits: { maxInflight: 2 },
      validate: () =>
        new Promise((resolve) =>
          decisions.push(() => resolve({ allowed: true, outcome: 'allowed', warnings: [], rules: [] })),
        ),
    });
    const { port } = server;
    try {
      const holders = [await review(port, 'held-0'), await review(port, 'held-1')];
      await waitFor('both being decided', () => decisions.length === 2);
      const newcomer = await review(port, 'newcomer');
      await waitFor('its head', () => server.heads() === 3);
      assert.equal(newcomer.status(), undefined, 'waiting, not refused');
      decisions.shift()!();
      await waitFor('the newcomer decided in the room freed', () => decisions.length === 2);
      for (const d of decisions.splice(0)) d();
      await waitFor('all answered', () => [...holders, newcomer].every(answered));
      assert.deepEqual(
        [...holders, newcomer].map((c) => c.status()),
        [200, 200, 200],
      );
    } finally {
      hangUp();
      await server.close();
    }
  });

  test('a waiting review takes the room a trickler frees by hanging up, without waiting for its timer', async () => {
    const time = fakeTime();
    const server = await listen({
      now: time.now,
      timers: time.timers,
      limits: { maxInflight: 1, bodyGraceMs: 600_000, bodyYieldAfterMs: 100 },
    });
    try {
      const trickler = await started(server.port, 'trickle', 2_000);
      await waitFor('its head', () => server.heads() === 1);
      const ok = await review(server.port, 'honest');
      await waitFor('the review to wait for room, or an answer', () => time.pending() === 1 || answered(ok));
      assert.equal(ok.status(), undefined);
      trickler.destroy();
      await waitFor('the answer', () => answered(ok));
      assert.equal(ok.status(), 200);
      assert.equal(time.pending(), 0, 'its timer cleared');
    } finally {
      hangUp();
      await server.close();
    }
  });

  test('a body that cannot arrive within its share of ?timeout= is cut early with 408, and never decided', async () => {
    let clock = 0;
    const validated: string[] = [];
    const server = await listen({
      now: () => clock,
      validate: (r) => {
        validated.push(r.uid);
        return { allowed: true, outcome: 'allowed', warnings: [], rules: [] };
      },
      limits: { sweepEveryMs: 10, bodyGraceMs: 500 },
    });
    try {
      const client = await started(server.port, 'trickle', 2_000, 10, '/validate?timeout=10s');
      await waitFor('its head', () => server.heads() === 1);
      // 10 bytes in 500 ms: 2,000 would take 100 s, its share of 10 s is 5 s.
      clock += 500;
      await client.whenClosed();
      assert.equal(client.status(), 408);
      assert.equal(client.header('connection'), 'close');
      assert.match(
        (client.json() as { message: string }).message,
        /body arriving at 20 B\/s \(10 of 2000 bytes in 500ms\) cannot arrive within its share \(5000ms\) of the caller's deadline/,
      );
      assert.deepEqual(validated, []);
    } finally {
      await server.close();
    }
  });
});

describe('refusals at the head close the connection', { timeout: 60_000 }, () => {
  for (const [what, headers, status, message] of [
    [
      'a body that is not JSON (Content-Type text/plain)',
      { 'content-type': 'text/plain' },
      400,
      /^Content-Type must be application\/json, got "text\/plain"/,
    ],
    ['a body without a Content-Type', {}, 400, /^Content-Type must be application\/json, got ""/],
    ['a body to an unknown path', { 'content-type': 'application/json', path: '/nope' }, 404, /^no route POST \/nope/],
    [
      'a compressed body (Content-Encoding: gzip)',
      { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      415,
      /^Content-Encoding "gzip" is not supported: send the AdmissionReview uncompressed/,
    ],
  ] as const) {
    test(`${what}: ${status} before the client finished sending, connection closed, not read to the end`, async (t) => {
      const server = await listen();
      try {
        const declared = 16 * MiB;
        const client = await RawClient.connect(server.port);
        const { path = '/validate', ...rest } = headers as Record<string, string>;
        await client.write(requestHead(path, { ...rest, 'content-length': declared }));
        // Keeps sending after the answer: a server that drains the body would read all 16 MiB.
        let sent = 0;
        while (sent < declared && !client.closed && !client.error) {
          if (!(await client.write(CHUNK))) break;
          sent += CHUNK.length;
          await new Promise((r) => setImmediate(r));
        }
        await client.whenClosed();
        const serverRead = server.accepted.at(-1)!.bytesRead;
        t.diagnostic(
          `${what}: client sent ${sent} of ${declared} bytes; server read ${serverRead} bytes (TLS included)`,
        );
        assert.equal(client.status(), status);
        assert.match((client.json() as { message: string }).message, message);
        assert.equal(client.header('connection'), 'close');
        assert.ok(sent < declared, 'the client could not push the whole body');
        assert.ok(serverRead < 2 * MiB, `server read ${serverRead} bytes`);
      } finally {
        await server.close();
      }
    });
  }

  test('a transfer coding other than chunked (gzip, chunked): 415 at the head, not a JSON error about binary bytes', async () => {
    const server = await listen();
    try {
      const client = await RawClient.connect(server.port);
      const head = requestHead('/validate', {
        'content-type': 'application/json',
        'transfer-encoding': 'gzip, chunked',
      });
      await client.write(`${head}4\r\n\u001f\u008b\b\u0000\r\n`);
      await client.whenClosed();
      assert.equal(client.status(), 415);
      assert.match(
        (client.json() as { message: string }).message,
        /^Transfer-Encoding "gzip, chunked" is not supported: send the AdmissionReview uncompressed/,
      );
      assert.equal(client.header('connection'), 'close');
    } finally {
      await server.close();
    }
  });

  test('CONNECT gets an answer naming the routes, not a dropped connection', async () => {
    const server = await listen();
    try {
      const client = await RawClient.connect(server.port);
      await client.write('CONNECT localhost:443 HTTP/1.1\r\nhost: localhost\r\n\r\n');
      await client.whenClosed();
      assert.equal(client.status(), 404);
      assert.match(
        (client.json() as { message: string }).message,
        /^no route CONNECT localhost:443; use POST \/validate or \/mutate/,
      );
    } finally {
      await server.close();
    }
  });
});

describe('what one answer carries is bounded, whatever the object holds', { timeout: 60_000 }, () => {
  let server: Listening;
  after(() => server?.close());
  const huge = 'x'.repeat(MiB);
  const cases: [string, (review: ReturnType<typeof sidecarReview>) => void][] = [
    [
      'a 1 MiB metadata.name',
      (r) => {
        (r.request.object.metadata as Record<string, unknown>).name = huge;
      },
    ],
    [
      'a 1 MiB namespace',
      (r) => {
        (r.request.object.metadata as Record<string, unknown>).namespace = huge;
        r.request.namespace = huge;
      },
    ],
    [
      'a top-level field whose name is 1 MiB long',
      (r) => {
        r.request.object[huge] = 1;
      },
    ],
  ];
  for (const [what, edit] of cases) {
    test(`${what}: denied with a message of a few KiB, not the object echoed back`, async (t) => {
      if (!server) {
        const { admitter } = localAdmitter(new ClusterStore(), { overlap: 'labels', rootNamespace: 'istio-system' });
        server = await listen({ validate: (r) => admitter.validate(r) });
      }
      const review = sidecarReview(sidecar('shop', 'payments', { spec: { egress: [{ hosts: ['./*'] }] } }));
      edit(review);
      const res = await httpsRequest(server.port, { path: '/validate?timeout=10s', body: JSON.stringify(review) });
      assert.equal(res.status, 200);
      const answer = JSON.parse(res.body!) as {
        response: { uid: string; allowed: boolean; status: { message: string } };
      };
      t.diagnostic(`${what}: answered ${res.body!.length} bytes: ${answer.response.status.message.slice(0, 200)}`);
      assert.equal(answer.response.uid, review.request.uid);
      assert.equal(answer.response.allowed, false);
      assert.ok(res.body!.length < 8_192, `${what}: answered ${res.body!.length} bytes`);
    });
  }
});

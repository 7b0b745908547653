// --max-connections over real TLS sockets: with the cap's worth of idle
// connections open, the next one is closed at accept (before its handshake),
// counted in sidecar_guard_connections_dropped_total and logged at most once
// per interval; the connections held keep answering reviews; the metrics
// listener's probes answer throughout; once a held connection closes, a new
// one is accepted. Every wait is on an event (the server's 'drop', a socket's
// 'close'), never on time.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { startMetricsServer, type MetricsServer } from '../../src/http/metrics-server.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import { sidecarReview } from '../helpers/app.js';
import { capturedLogger } from '../helpers/log.js';
import { sidecar } from '../helpers/objects.js';
import { listen, RawClient, requestHead, testPki, type Listening } from './helpers.js';

const CAP = 3;

/** A TLS connection attempt: 'secure' once the handshake completed, else how it ended. */
async function attempt(port: number): Promise<{ outcome: string; socket: tls.TLSSocket }> {
  const socket = tls.connect({ host: '127.0.0.1', port, ca: testPki().caPem });
  const outcome = await new Promise<string>((resolve) => {
    socket.once('secureConnect', () => resolve('secure'));
    socket.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    socket.once('close', () => resolve('closed'));
  });
  return { outcome, socket };
}

/** Sends one review on a held connection and waits for the answer's bytes (the connection stays open). */
async function review(client: RawClient, uid: string): Promise<{ status: number | undefined; uid: unknown }> {
  const body = JSON.stringify(sidecarReview(sidecar('ns', uid), { uid }));
  const before = client.received.length;
  await client.write(
    requestHead('/validate', { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }) + body,
  );
  // The answer is one write of head and body; wait for its JSON to be complete.
  while (!/\r\n\r\n\{.*\}$/s.test(client.received.slice(before))) await once(client.socket, 'data');
  const answer = client.received.slice(before);
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]);
  const json = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { response?: { uid?: unknown } };
  return { status, uid: json.response?.uid };
}

describe(`--max-connections ${CAP}`, { timeout: 30_000 }, () => {
  let server: Listening;
  let metricsServer: MetricsServer;
  let metrics: Metrics;
  let clock = 0;
  const { logger, lines } = capturedLogger<{ msg: string; dropped?: number; maxConnections?: number }>('info');
  const held: RawClient[] = [];

  before(async () => {
    metrics = createMetrics({ defaultMetrics: false });
    server = await listen({
      limits: { maxConnections: CAP },
      observer: metrics,
      logger,
      now: () => clock,
    });
    metricsServer = await startMetricsServer({
      host: '127.0.0.1',
      port: 0,
      registry: metrics.registry,
      readiness: () => ({ ready: true, reasons: [] }),
    });
  });
  after(async () => {
    for (const c of held) c.destroy();
    await server?.close();
    await metricsServer?.close();
  });

  const dropped = async () =>
    (await metrics.registry.getSingleMetric('sidecar_guard_connections_dropped_total')!.get()).values[0]?.value;
  const warnings = () => lines.filter((l) => /--max-connections/.test(l.msg));

  test('the next connection beyond the cap is closed before its handshake, counted and logged once', async () => {
    for (let i = 0; i < CAP; i++) held.push(await RawClient.connect(server.port));
    assert.equal(server.accepted.length, CAP);

    const drop = once(server.app.server, 'drop');
    const extra = await attempt(server.port);
    assert.notEqual(extra.outcome, 'secure', 'no TLS handshake beyond the cap');
    await drop;
    assert.equal(server.accepted.length, CAP, 'the server never handed the connection to TLS');
    assert.equal(await dropped(), 1);
    assert.equal(warnings().length, 1);
    assert.deepEqual(
      { dropped: warnings()[0]!.dropped, maxConnections: warnings()[0]!.maxConnections },
      { dropped: 1, maxConnections: CAP },
    );
    assert.match(
      warnings()[0]!.msg,
      /admission port at --max-connections \(3\): new connections are closed unanswered/,
    );
  });

  test('more drops within the interval add no line; the next line says how many since the last', async () => {
    for (let i = 0; i < 4; i++) {
      const drop = once(server.app.server, 'drop');
      await attempt(server.port);
      await drop;
    }
    assert.equal(await dropped(), 5);
    assert.equal(warnings().length, 1, 'one line for five drops within 10 s');
    clock += 10_000;
    const drop = once(server.app.server, 'drop');
    await attempt(server.port);
    await drop;
    assert.equal(await dropped(), 6);
    assert.equal(warnings().length, 2);
    assert.equal(warnings()[1]!.dropped, 5, 'the four held back and this one');
  });

  test('the held connections still answer reviews', async () => {
    for (const [i, client] of held.entries()) {
      const answer = await review(client, `held-${i}`);
      assert.deepEqual(answer, { status: 200, uid: `held-${i}` });
      assert.equal(client.closed, false, 'kept alive');
    }
  });

  test("the metrics listener's probes and /metrics answer while the admission port is full", async () => {
    assert.equal((await fetch(`${metricsServer.url}/healthz`)).status, 200);
    const ready = await fetch(`${metricsServer.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ready', reasons: [] });
    const scrape = await (await fetch(`${metricsServer.url}/metrics`)).text();
    assert.match(scrape, /^sidecar_guard_connections_dropped_total 6$/m);
  });

  test('once a held connection closes, a new one is accepted and served', async () => {
    const closing = held.shift()!;
    const serverSide: Socket = server.accepted[0]!;
    const closed = once(serverSide, 'close');
    closing.destroy();
    await closed;

    const fresh = await RawClient.connect(server.port);
    held.push(fresh);
    assert.equal(server.accepted.length, CAP + 1);
    assert.deepEqual(await review(fresh, 'fresh'), { status: 200, uid: 'fresh' });
    assert.equal(await dropped(), 6, 'nothing more dropped');
  });
});

describe('probes on the metrics listener', () => {
  test('/readyz says 503 with the reasons when not ready, /healthz stays 200; HEAD has no body', async () => {
    const own = await startMetricsServer({
      host: '127.0.0.1',
      port: 0,
      registry: createMetrics({ defaultMetrics: false }).registry,
      readiness: () => ({ ready: false, reasons: ['shutting down'] }),
    });
    try {
      const ready = await fetch(`${own.url}/readyz`);
      assert.equal(ready.status, 503);
      assert.deepEqual(await ready.json(), { status: 'not ready', reasons: ['shutting down'] });
      assert.equal((await fetch(`${own.url}/healthz`)).status, 200);
      const head = await fetch(`${own.url}/healthz`, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(await head.text(), '');
      const post = await fetch(`${own.url}/readyz`, { method: 'POST', body: '' });
      assert.equal(post.status, 405);
    } finally {
      await own.close();
    }
  });

  test('without a readiness function only /metrics is served (probes 404)', async () => {
    const own = await startMetricsServer({
      host: '127.0.0.1',
      port: 0,
      registry: createMetrics({ defaultMetrics: false }).registry,
    });
    try {
      assert.equal((await fetch(`${own.url}/healthz`)).status, 404);
      assert.equal((await fetch(`${own.url}/metrics`)).status, 200);
    } finally {
      await own.close();
    }
  });
});

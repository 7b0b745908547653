// The metrics listener defends itself like the admission listener, over real
// HTTP against the real server: a request head that does not arrive within the
// head deadline is cut with 408 (the deadlines are the server's own, set small
// here, and the test waits for the socket to close, never on time); with the
// cap's worth of connections open, the next one is closed at accept, counted
// in sidecar_guard_metrics_connections_dropped_total and logged at most once
// per interval, while the held ones keep getting /metrics and the probes; once
// a held connection closes, its slot is reused. Node's own refusals (408, 400)
// are answered in JSON and counted in http_errors_total{endpoint="metrics"}.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import { startMetricsServer, type MetricsServer } from '../../src/http/metrics-server.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import { capturedLogger } from '../helpers/log.js';

const CAP = 3;
const HEADERS_MS = 200;

/** A plain TCP connection to the listener that keeps what it received and whether it closed. */
class Conn {
  received = '';
  closed = false;
  private constructor(readonly socket: net.Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (this.received += d));
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => {});
  }
  static async open(url: string): Promise<Conn> {
    const { hostname, port } = new URL(url);
    const conn = new Conn(net.connect({ host: hostname, port: Number(port) }));
    await once(conn.socket, 'connect');
    return conn;
  }
  /** Sends one GET on this connection and waits for its whole answer (chunked, as the server sends it); the connection stays open. */
  async get(path: string): Promise<{ status: number; body: string }> {
    const start = this.received.length;
    this.socket.write(`GET ${path} HTTP/1.1\r\nHost: metrics\r\n\r\n`);
    for (;;) {
      const answer = this.received.slice(start);
      const end = answer.indexOf('\r\n\r\n');
      if (end >= 0 && answer.endsWith('\r\n0\r\n\r\n')) {
        assert.match(answer.slice(0, end), /\r\ntransfer-encoding: chunked/i);
        return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]), body: unchunk(answer.slice(end + 4)) };
      }
      if (this.closed) throw new Error(`closed before answering ${path}: ${JSON.stringify(answer)}`);
      await Promise.race([once(this.socket, 'data'), once(this.socket, 'close')]);
    }
  }
}

/** The body of a chunked answer (latin1 text: one char per byte, as the chunk sizes count). */
function unchunk(raw: string): string {
  let body = '';
  for (let at = 0; ; ) {
    const eol = raw.indexOf('\r\n', at);
    const size = parseInt(raw.slice(at, eol), 16);
    if (size === 0) return Buffer.from(body, 'latin1').toString('utf8');
    body += raw.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
}

describe(`the metrics listener: deadlines and a cap of ${CAP} connections`, { timeout: 30_000 }, () => {
  let server: MetricsServer;
  let metrics: Metrics;
  let clock = 0;
  let onDrop: (() => void) | undefined;
  const { logger, lines } = capturedLogger<{ msg: string; dropped?: number; maxConnections?: number }>('info');
  const accepted: net.Socket[] = [];
  const held: Conn[] = [];

  before(async () => {
    metrics = createMetrics({ defaultMetrics: false });
    server = await startMetricsServer({
      host: '127.0.0.1',
      port: 0,
      registry: metrics.registry,
      readiness: () => ({ ready: true, reasons: [] }),
      logger,
      // Small deadlines checked often, so the test runs on the server's own timers; the
      // keep-alive is long so the held connections stay open however slow the machine.
      timeouts: { headersMs: HEADERS_MS, requestMs: 400, checkIntervalMs: 20, keepAliveMs: 60_000 },
      maxConnections: CAP,
      onClientError: (status) => metrics.httpError('metrics', status),
      onConnectionDropped: () => {
        metrics.metricsConnectionDropped();
        onDrop?.();
      },
      now: () => clock,
    });
    server.server.on('connection', (s: net.Socket) => accepted.push(s));
  });
  after(async () => {
    for (const c of held) c.socket.destroy();
    await server?.close();
  });

  const dropped = async () =>
    (await metrics.registry.getSingleMetric('sidecar_guard_metrics_connections_dropped_total')!.get()).values[0]?.value;
  const httpErrors = async (status: string) =>
    (await metrics.registry.getSingleMetric('sidecar_guard_http_errors_total')!.get()).values.find(
      (v) => v.labels.endpoint === 'metrics' && v.labels.status === status,
    )?.value;
  const warnings = () => lines.filter((l) => /metrics port at its connection cap/.test(l.msg));
  /** Opens a connection the server drops at accept; resolves once both the drop and the close happened. */
  async function droppedAttempt(): Promise<Conn> {
    const drop = new Promise<void>((resolve) => (onDrop = resolve));
    const conn = await Conn.open(server.url);
    await drop;
    if (!conn.closed) await once(conn.socket, 'close');
    return conn;
  }

  test('a request head that never completes is cut with 408 at the head deadline; a whole one is answered', async () => {
    const slow = await Conn.open(server.url);
    const start = performance.now();
    slow.socket.write('GET /metrics HTTP/1.1\r\nHost: metrics\r\n');
    const honest = await Conn.open(server.url);
    assert.equal((await honest.get('/healthz')).status, 200, 'answered while the slow head waits');
    if (!slow.closed) await once(slow.socket, 'close');
    assert.ok(performance.now() - start >= HEADERS_MS - 5, 'not cut before the deadline');
    assert.match(slow.received, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    // Answered and counted as the admission listener's are: a slowloris here shows in http_errors_total.
    assert.deepEqual(JSON.parse(slow.received.slice(slow.received.indexOf('\r\n\r\n') + 4)), {
      statusCode: 408,
      error: 'Request Timeout',
      message: 'the request head or body did not arrive in time',
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      reason: 'Timeout',
      code: 408,
    });
    assert.equal(await httpErrors('408'), 1);
    honest.socket.destroy();
    // Both leave before the cap is filled below.
    await Promise.all(accepted.filter((s) => !s.destroyed).map((s) => once(s, 'close')));
  });

  test('a malformed request is answered 400 and counted', async () => {
    const bad = await Conn.open(server.url);
    bad.socket.write('GET /metrics HTTP/1.1\r\nHost metrics\r\n\r\n');
    if (!bad.closed) await once(bad.socket, 'close');
    assert.match(bad.received, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.equal(await httpErrors('400'), 1);
    await Promise.all(accepted.filter((s) => !s.destroyed).map((s) => once(s, 'close')));
  });

  test('the next connection beyond the cap is closed unanswered, counted and logged once', async () => {
    for (let i = 0; i < CAP; i++) {
      const conn = await Conn.open(server.url);
      assert.equal((await conn.get('/healthz')).status, 200);
      held.push(conn);
    }
    const extra = await droppedAttempt();
    assert.equal(extra.received, '', 'nothing answered beyond the cap');
    assert.equal(await dropped(), 1);
    assert.equal(warnings().length, 1);
    assert.deepEqual(
      { dropped: warnings()[0]!.dropped, maxConnections: warnings()[0]!.maxConnections },
      { dropped: 1, maxConnections: CAP },
    );
    assert.match(warnings()[0]!.msg, /metrics port at its connection cap \(3\): new connections are closed unanswered/);
  });

  test('more drops within the interval add no line; the next line says how many since the last', async () => {
    await droppedAttempt();
    assert.equal(warnings().length, 1);
    clock += 10_000;
    await droppedAttempt();
    assert.equal(await dropped(), 3);
    assert.equal(warnings().length, 2);
    assert.equal(warnings()[1]!.dropped, 2);
  });

  test('the held connections still get /metrics, /healthz and /readyz', async () => {
    for (const conn of held) {
      const scrape = await conn.get('/metrics');
      assert.equal(scrape.status, 200);
      assert.match(scrape.body, /^sidecar_guard_metrics_connections_dropped_total 3$/m);
      assert.equal((await conn.get('/healthz')).status, 200);
      const ready = await conn.get('/readyz');
      assert.deepEqual([ready.status, JSON.parse(ready.body)], [200, { status: 'ready', reasons: [] }]);
      assert.equal(conn.closed, false, 'kept alive');
    }
  });

  test('once a held connection closes, its slot is reused', async () => {
    const closing = held.shift()!;
    const serverSide = accepted.find((s) => !s.destroyed && s.remotePort === closing.socket.localPort)!;
    const closed = once(serverSide, 'close');
    closing.socket.destroy();
    await closed;
    const fresh = await Conn.open(server.url);
    held.push(fresh);
    assert.equal((await fresh.get('/healthz')).status, 200);
    assert.equal(await dropped(), 3, 'nothing more dropped');
  });
});

// Answers a real Prometheus never sends, from a local HTTP server standing in
// for one: an error text of many lines and MiBs, a result type that is not a
// word, JSON of the wrong shape. Each must end in one short line that says
// what was wrong (PrometheusError, and through the CLI exit 2 with that one
// line on stderr), never the server's text verbatim or a TypeError.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { PrometheusClient, PrometheusError } from '../../src/traffic/prometheus.js';
import { runCli } from '../helpers/cli.js';

interface Answer {
  status?: number;
  /** Sent as JSON unless a string (sent as it is). */
  body: unknown;
  contentType?: string;
  headers?: Record<string, string>;
}

/** What the server answers to a request; set by each test. */
let answer: (request: IncomingMessage) => Answer = () => ({ status: 404, body: 'not set' });
let server: Server;
let url: string;

/** Answers each request with `answer`'s. */
function fakePrometheus(): Server {
  return createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      const a = answer(request);
      const text = typeof a.body === 'string' ? a.body : JSON.stringify(a.body);
      response.writeHead(a.status ?? 200, { 'content-type': a.contentType ?? 'application/json', ...a.headers });
      response.end(text);
    });
  });
}

before(async () => {
  server = fakePrometheus();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const MIB2 = 'x'.repeat(2_000_000);
const success = (data: unknown): Answer => ({ body: { status: 'success', data } });
const vector = (result: unknown): Answer => success({ resultType: 'vector', result });
const sample = { metric: { reporter: 'source', source_workload_namespace: 'shop' }, value: [1_700_000_000, '3'] };
/** Every instant query gets `query`; the label values `labels`. */
const byPath =
  (query: Answer, labels: Answer = success([])) =>
  (request: IncomingMessage): Answer =>
    request.url?.startsWith('/api/v1/query') ? query : labels;

/** The longest message any of these may give: the URL, the query and a cut error text fit well within it. */
const MAX_MESSAGE = 1_000;

async function failure(): Promise<PrometheusError> {
  const client = new PrometheusClient(url);
  try {
    await client.traffic({ window: '7d', namespace: 'shop' });
  } catch (err) {
    assert.ok(err instanceof PrometheusError, `not a PrometheusError: ${err}`);
    assert.doesNotMatch(err.message, /[\n\r]/, 'one line');
    assert.ok(err.message.length <= MAX_MESSAGE, `${err.message.length} characters`);
    return err;
  }
  assert.fail('traffic() succeeded');
}

/** generate --from-prometheus URL -n shop: exit 2 and the one line. */
async function cliFailure(): Promise<string> {
  const r = await runCli(['generate', '--from-prometheus', url, '-n', 'shop']);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr.split('\n').length, 2, 'one line on stderr');
  assert.ok(r.stderr.endsWith('\n'));
  assert.ok(Buffer.byteLength(r.stderr) <= MAX_MESSAGE + 100, `${Buffer.byteLength(r.stderr)} bytes`);
  return r.stderr;
}

describe('what the server says is cut and kept to one line', () => {
  test('an error of many lines and MiBs', async () => {
    answer = () => ({
      status: 400,
      body: { status: 'error', errorType: 'bad_data', error: `line1\nline2\nline3\n${MIB2}` },
    });
    const err = await failure();
    assert.equal(err.kind, 'http');
    assert.match(
      err.message,
      /^Prometheus at http:\/\/127\.0\.0\.1:\d+ answered HTTP 400 bad_data: line1\\nline2\\nline3\\nx+…$/,
    );
    assert.match(
      await cliFailure(),
      /^sidecar-guard: Prometheus at \S+ answered HTTP 400 bad_data: line1\\nline2\\nline3\\nx+…\n$/,
    );
  });

  test('an error type of many lines, and control characters', async () => {
    answer = () => ({
      status: 422,
      body: { status: 'error', errorType: `execution\n${MIB2}`, error: 'tab\there, bell\x07, DEL\x7f, NEL\u0085' },
    });
    const err = await failure();
    assert.match(err.message, / answered HTTP 422 execution\\nx+…: tab\\there, bell\\a, DEL\\x7f, NEL\\u0085$/);
    await cliFailure();
  });

  test('a failed answer with no error text: its JSON, on one line', async () => {
    answer = () => ({ status: 502, body: JSON.stringify({ upstream: 'down', detail: MIB2 }, null, 2) });
    const err = await failure();
    assert.match(err.message, / answered HTTP 502: \{\\n {2}"upstream": "down",\\n {2}"detail": "x+…$/);
    await cliFailure();
  });

  test('a result type of many lines and MiBs', async () => {
    answer = byPath(success({ resultType: `matrix\nsecond line\n${MIB2}`, result: [] }));
    const err = await failure();
    assert.equal(err.kind, 'not-prometheus');
    assert.match(err.message, /: expected a vector for sum by .*, got matrix\\nsecond line\\nx+…$/);
    assert.match(await cliFailure(), /expected a vector for .*, got matrix\\nsecond line\\nx+…\n$/);
  });

  test('a content type of many characters on an answer that is not JSON', async () => {
    answer = () => ({ status: 200, body: '<html>', contentType: `text/html; x=${'y'.repeat(10_000)}` });
    const err = await failure();
    assert.match(
      err.message,
      /did not answer like the Prometheus HTTP API \(HTTP 200, text\/html; x=y+…\): is the URL the Prometheus server's base URL\?$/,
    );
    await cliFailure();
  });
});

describe('an answer of the wrong shape is named', () => {
  const NOT_PROMETHEUS = /^http:\/\/127\.0\.0\.1:\d+\/api\/v1\/\S+ did not answer like the Prometheus HTTP API: /;
  const cases: [string, (request: IncomingMessage) => Answer, RegExp][] = [
    ['a result of null', byPath(vector([null])), /data\.result\[0\] is null, not a sample/],
    ['a result that is not a list', byPath(vector({ a: 1 })), /data\.result is an object, not a list$/],
    ['no result', byPath(success({ resultType: 'vector' })), /data\.result is missing$/],
    [
      'a sample whose value is a number',
      byPath(vector([{ ...sample, value: 5 }])),
      /data\.result\[0\]\.value is a number, not a \[time, "value"\] pair$/,
    ],
    [
      'a sample whose value is a pair of numbers',
      byPath(vector([sample, { ...sample, value: [1_700_000_000, 3] }])),
      /data\.result\[1\]\.value is a list, not a \[time, "value"\] pair$/,
    ],
    ['a sample without labels', byPath(vector([{ value: sample.value }])), /data\.result\[0\]\.metric is missing$/],
    [
      'a label value that is not a string',
      byPath(vector([{ ...sample, metric: { reporter: 7 } }])),
      /a label value in data\.result\[0\]\.metric is a number, not a string$/,
    ],
    [
      'a result type that is not a string',
      byPath(success({ resultType: 5, result: [] })),
      /data\.resultType is a number/,
    ],
    ['data that is a list', byPath(success([])), /data is a list, not an object$/],
    ['no data', byPath({ body: { status: 'success' } }), /data is missing$/],
    [
      'metric names that are not a list',
      byPath(vector([]), success({ names: ['istio_requests_total'] })),
      /\/api\/v1\/label\/__name__\/values\S* did not answer like .*: data is an object, not a list of metric names$/,
    ],
    [
      'a metric name that is not a string',
      byPath(vector([]), success(['up', null])),
      /data\[1\] is null, not a metric name$/,
    ],
  ];
  for (const [name, respond, message] of cases) {
    test(name, async () => {
      answer = respond;
      const err = await failure();
      assert.equal(err.kind, 'not-prometheus');
      assert.match(err.message, NOT_PROMETHEUS);
      assert.match(err.message, message);
      assert.match((await cliFailure()).trimEnd(), message);
    });
  }

  test('an answer of JSON null', async () => {
    answer = () => ({ body: null });
    const err = await failure();
    assert.match(err.message, /did not answer like the Prometheus HTTP API \(no "status": "success"\)$/);
    await cliFailure();
  });
});

describe('reaching the server', () => {
  const edges = (traffic: { edges: readonly unknown[] }) => traffic.edges.length;
  const oneCall = {
    metric: {
      reporter: 'source',
      source_workload_namespace: 'shop',
      source_workload: 'web',
      destination_service: 'cart.shop.svc.cluster.local',
      destination_service_namespace: 'shop',
      destination_service_name: 'cart',
    },
    value: [1_700_000_000, '3'],
  };

  // fetch refuses these before connecting ("bad port"): the Fetch standard's list for browsers.
  test('a Prometheus on a port browsers are barred from (6000, 6665-6669, 10080) is queried', async (t) => {
    const blocked = fakePrometheus();
    let port: number | undefined;
    for (const candidate of [6000, 6665, 6666, 6667, 6668, 6669, 10080]) {
      const bound = await new Promise<boolean>((resolve) => {
        blocked.once('error', () => resolve(false));
        blocked.listen(candidate, '127.0.0.1', () => resolve(true));
      });
      if (bound) {
        port = candidate;
        break;
      }
    }
    if (port === undefined) return t.skip('every candidate port is in use on this machine');
    t.after(() => new Promise((resolve) => blocked.close(resolve)));
    answer = byPath(vector([oneCall]));
    const traffic = await new PrometheusClient(`http://127.0.0.1:${port}`).traffic({ window: '1h', namespace: 'shop' });
    assert.equal(edges(traffic), 1);
  });

  test('a redirect is followed (a proxy in front, a path that gains a slash)', async () => {
    answer = (request) =>
      request.url?.startsWith('/old/')
        ? { status: 308, body: '', headers: { location: request.url.slice('/old'.length) } }
        : byPath(vector([oneCall]))(request);
    const traffic = await new PrometheusClient(`${url}/old`).traffic({ window: '1h', namespace: 'shop' });
    assert.equal(edges(traffic), 1);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { register as globalRegistry } from 'prom-client';
import type { Decision } from '../../src/admission/decision.js';
import type { AdmissionRequest } from '../../src/admission/types.js';
import type { ReflectorStatus } from '../../src/cluster/informer.js';
import { buildApp } from '../../src/http/app.js';
import { startMetricsServer, type MetricsServer } from '../../src/http/metrics-server.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import { sidecarReview, testApp } from '../helpers/app.js';
import { listen, RawClient, requestHead, waitFor, type Listening } from '../reliability/helpers.js';
import { pod, sidecar } from '../helpers/objects.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text format → samples (enough of it for these assertions). */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: m[3] === '+Inf' ? Infinity : Number(m[3]) });
  }
  return samples;
}

function find(samples: Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = find(samples, name, labels);
  assert.ok(found.length <= 1, `${name} ${JSON.stringify(labels)} matches ${found.length} series`);
  return found[0]?.value;
}

async function scrape(server: MetricsServer): Promise<{ samples: Sample[]; contentType: string | null; text: string }> {
  const res = await fetch(`${server.url}/metrics`);
  assert.equal(res.status, 200);
  const text = await res.text();
  return { samples: parseExposition(text), contentType: res.headers.get('content-type'), text };
}

async function validate(
  app: ReturnType<typeof testApp>['app'],
  review: unknown,
): Promise<{ allowed: boolean; warnings?: string[] }> {
  const res = await app.inject({ method: 'POST', url: '/validate', payload: review as object });
  assert.equal(res.statusCode, 200);
  return res.json().response;
}

describe('/metrics after admission requests', () => {
  let metrics: Metrics;
  let server: MetricsServer;
  let samples: Sample[];
  let contentType: string | null;
  const now = Date.parse('2026-11-23T10:00:00Z');

  before(async () => {
    metrics = createMetrics({ now: () => now });
    const { app, store } = testApp({ deps: { observer: metrics } });
    store.upsertSidecar(sidecar('shop', 'default'));
    store.upsertPod(pod('shop', 'cart-1', { app: 'cart' }));

    // allowed: a selector Sidecar whose pods exist
    assert.equal(
      (await validate(app, sidecarReview(sidecar('shop', 'cart', { selector: { app: 'cart' } })))).allowed,
      true,
    );
    // denied by a cluster rule: a second namespace-wide Sidecar
    assert.equal((await validate(app, sidecarReview(sidecar('shop', 'extra')))).allowed, false);
    // denied by two of Istio's rules at once
    const twoRules = sidecar('shop', 'payments', {
      selector: { app: 'payments' },
      spec: {
        egress: [{ hosts: ['*/*'] }, { port: { number: 80, protocol: 'HTTP', name: 'http' }, hosts: ['bad-host'] }],
      },
    });
    assert.equal((await validate(app, sidecarReview(twoRules))).allowed, false);
    // warned: allowed with a duplicate egress host
    const dup = sidecar('web', 'default', { spec: { egress: [{ hosts: ['./a.example.com', './a.example.com'] }] } });
    const warned = await validate(app, sidecarReview(dup));
    assert.equal(warned.allowed, true);
    assert.equal(warned.warnings?.length, 1);
    // skipped: a DELETE is not judged
    assert.equal((await validate(app, sidecarReview(sidecar('shop', 'gone'), { operation: 'DELETE' }))).allowed, true);
    // HTTP error: not an AdmissionReview
    assert.equal((await app.inject({ method: 'POST', url: '/validate', payload: { kind: 'Nope' } })).statusCode, 400);
    await app.close();

    const statuses: ReflectorStatus[] = [
      { resource: 'sidecars', synced: true, connected: true, lastSyncAt: now - 42_000, lists: 1 },
      {
        resource: 'pods',
        synced: true,
        connected: false,
        lastSyncAt: now - 5_000,
        disconnectedSince: now - 3_000,
        lists: 3,
      },
      { resource: 'namespaces', synced: false, connected: false, disconnectedSince: now - 1_000, lists: 0 },
    ];
    metrics.trackInformers(() => statuses);
    metrics.trackReservations(() => 2);
    metrics.setCertificateExpiry(new Date('2027-02-21T10:00:00Z'));
    // Claims (--claims=api): two written (one after a conflict), one failed, one admitted Sidecar never stored.
    metrics.claimWritten(0.003, 0);
    metrics.claimConflict();
    metrics.claimWritten(0.02, 1);
    metrics.claimFailed('timeout');
    metrics.claimExpiredUnobserved();

    server = await startMetricsServer({ host: '127.0.0.1', port: 0, registry: metrics.registry });
    ({ samples, contentType } = await scrape(server));
  });
  after(() => server?.close());

  test('is served as Prometheus text', () => {
    assert.match(contentType ?? '', /^text\/plain; version=0\.0\.4/);
  });

  test('counts requests by endpoint, operation and decision', () => {
    const requests = 'sidecar_guard_admission_requests_total';
    assert.equal(value(samples, requests, { endpoint: 'validate', operation: 'CREATE', decision: 'allowed' }), 1);
    assert.equal(value(samples, requests, { endpoint: 'validate', operation: 'CREATE', decision: 'denied' }), 2);
    assert.equal(value(samples, requests, { endpoint: 'validate', operation: 'CREATE', decision: 'warned' }), 1);
    assert.equal(value(samples, requests, { endpoint: 'validate', operation: 'DELETE', decision: 'skipped' }), 1);
    assert.equal(find(samples, requests, { decision: 'error' }).length, 0);
  });

  test('counts each rule id of a denied or warned decision once', () => {
    const rules = 'sidecar_guard_admission_rule_findings_total';
    assert.equal(
      value(samples, rules, {
        decision: 'denied',
        rule: 'conflict.default',
        operation: 'CREATE',
        endpoint: 'validate',
      }),
      1,
    );
    assert.equal(value(samples, rules, { decision: 'denied', rule: 'E2' }), 1);
    assert.equal(value(samples, rules, { decision: 'denied', rule: 'H1' }), 1);
    const warned = find(samples, rules, { decision: 'warned' });
    assert.equal(warned.length, 1);
    assert.equal(warned[0]!.value, 1);
    assert.equal(find(samples, rules, { decision: 'allowed' }).length, 0);
    for (const s of find(samples, rules))
      assert.deepEqual(Object.keys(s.labels).sort(), ['decision', 'endpoint', 'operation', 'rule']);
  });

  test('has a latency histogram with sub-millisecond buckets per decision', () => {
    const hist = 'sidecar_guard_admission_decision_duration_seconds';
    const buckets = find(samples, `${hist}_bucket`, { endpoint: 'validate', decision: 'denied' });
    const bounds = buckets.map((b) => (b.labels.le === '+Inf' ? Infinity : Number(b.labels.le)));
    assert.ok(bounds.filter((b) => b < 0.001).length >= 4, `sub-millisecond buckets: ${bounds.join(', ')}`);
    assert.ok(bounds.includes(Infinity));
    assert.equal(buckets.find((b) => b.labels.le === '+Inf')?.value, 2);
    assert.equal(value(samples, `${hist}_count`, { endpoint: 'validate', decision: 'denied' }), 2);
    assert.equal(value(samples, `${hist}_count`, { endpoint: 'validate', decision: 'skipped' }), 1);
    assert.ok((value(samples, `${hist}_sum`, { endpoint: 'validate', decision: 'allowed' }) ?? -1) > 0);
  });

  test('counts HTTP errors by endpoint and status', () => {
    assert.equal(value(samples, 'sidecar_guard_http_errors_total', { endpoint: 'validate', status: '400' }), 1);
  });

  test('reports informer state per resource, with ages computed at scrape time', () => {
    assert.equal(value(samples, 'sidecar_guard_informer_synced', { resource: 'sidecars' }), 1);
    assert.equal(value(samples, 'sidecar_guard_informer_synced', { resource: 'namespaces' }), 0);
    assert.equal(value(samples, 'sidecar_guard_informer_connected', { resource: 'pods' }), 0);
    assert.equal(value(samples, 'sidecar_guard_informer_last_sync_age_seconds', { resource: 'sidecars' }), 42);
    assert.equal(value(samples, 'sidecar_guard_informer_last_sync_age_seconds', { resource: 'pods' }), 5);
    assert.equal(value(samples, 'sidecar_guard_informer_last_sync_age_seconds', { resource: 'namespaces' }), undefined);
    assert.equal(value(samples, 'sidecar_guard_informer_disconnected_seconds', { resource: 'pods' }), 3);
    assert.equal(value(samples, 'sidecar_guard_informer_disconnected_seconds', { resource: 'sidecars' }), 0);
    assert.equal(value(samples, 'sidecar_guard_informer_lists', { resource: 'pods' }), 3);
  });

  test('reports reservations in flight and the certificate expiry', () => {
    assert.equal(value(samples, 'sidecar_guard_reservations_in_flight'), 2);
    assert.equal(
      value(samples, 'sidecar_guard_certificate_expiry_timestamp_seconds', { certificate: 'serving' }),
      Date.parse('2027-02-21T10:00:00Z') / 1000,
    );
  });

  test('reports claim latency, conflicts retried, failures by reason and admissions never stored', () => {
    assert.equal(value(samples, 'sidecar_guard_claim_duration_seconds_count'), 2);
    assert.equal(value(samples, 'sidecar_guard_claim_duration_seconds_bucket', { le: '0.005' }), 1);
    assert.equal(value(samples, 'sidecar_guard_claim_duration_seconds_bucket', { le: '0.025' }), 2);
    assert.equal(value(samples, 'sidecar_guard_claim_conflicts_total'), 1);
    assert.equal(value(samples, 'sidecar_guard_claim_failures_total', { reason: 'timeout' }), 1);
    assert.equal(value(samples, 'sidecar_guard_claims_expired_unobserved_total'), 1);
  });

  test('includes the process metrics under the same prefix', () => {
    assert.ok((value(samples, 'sidecar_guard_process_resident_memory_bytes') ?? 0) > 0);
    assert.equal(find(samples, 'process_resident_memory_bytes').length, 0);
  });

  test('never labels by namespace or name', () => {
    const labelNames = new Set(
      samples.filter((s) => s.name.startsWith('sidecar_guard_admission')).flatMap((s) => Object.keys(s.labels)),
    );
    for (const forbidden of ['namespace', 'name', 'uid']) assert.ok(!labelNames.has(forbidden));
  });
});

describe('metrics observer details', () => {
  const request = (operation: AdmissionRequest['operation']): AdmissionRequest => ({
    uid: 'u',
    operation,
    kind: { group: 'networking.istio.io', version: 'v1', kind: 'Sidecar' },
    resource: { group: 'networking.istio.io', version: 'v1', resource: 'sidecars' },
  });
  const denied = (rules: string[]): Decision => ({ allowed: false, outcome: 'denied', warnings: [], rules });

  test('an exception while deciding counts as decision="error"', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const app = buildApp({
      validate: () => {
        throw new Error('boom');
      },
      readiness: () => ({ ready: true, reasons: [] }),
      observer: metrics,
    });
    const res = await app.inject({ method: 'POST', url: '/validate', payload: sidecarReview(sidecar('a', 'b')) });
    assert.equal(res.statusCode, 500, 'a failed call, so the failurePolicy decides');
    await app.close();
    metrics.internalError('validate', new Error('again'), request('UPDATE'));
    const samples = parseExposition(await metrics.registry.metrics());
    assert.equal(
      value(samples, 'sidecar_guard_admission_requests_total', { decision: 'error', operation: 'CREATE' }),
      1,
      'the route passes the request, so the operation is known',
    );
    assert.equal(
      value(samples, 'sidecar_guard_admission_requests_total', { decision: 'error', operation: 'UPDATE' }),
      1,
    );
  });

  test('rule ids of an unexpected shape are folded into "other"', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const event = (rules: string[]) => ({
      endpoint: 'validate' as const,
      request: request('CREATE'),
      decision: denied(rules),
      seconds: 0.00002,
    });
    metrics.admission(event(['E2', 'E2', 'default/my-sidecar has "quotes"']));
    metrics.admission(event(['x'.repeat(200)]));
    const samples = parseExposition(await metrics.registry.metrics());
    const rules = find(samples, 'sidecar_guard_admission_rule_findings_total');
    assert.deepEqual(rules.map((s) => [s.labels.rule, s.value]).sort(), [
      ['E2', 1],
      ['other', 2],
    ]);
  });

  test('gauges without a source report nothing misleading', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const samples = parseExposition(await metrics.registry.metrics());
    assert.equal(find(samples, 'sidecar_guard_informer_synced').length, 0);
    assert.equal(find(samples, 'sidecar_guard_certificate_expiry_timestamp_seconds').length, 0);
    assert.equal(value(samples, 'sidecar_guard_reservations_in_flight'), 0);
  });

  test('each Metrics has its own registry and leaves the global one alone', async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.httpError('validate', 413);
    const sa = parseExposition(await a.registry.metrics());
    const sb = parseExposition(await b.registry.metrics());
    assert.equal(value(sa, 'sidecar_guard_http_errors_total', { status: '413' }), 1);
    assert.equal(value(sb, 'sidecar_guard_http_errors_total', { status: '413' }), undefined);
    assert.ok(!(await globalRegistry.metrics()).includes('sidecar_guard_'));
  });
});

describe('every refusal is counted in http_errors_total', { timeout: 30_000 }, () => {
  let metrics: Metrics;
  let server: Listening;
  let clock = 0;
  before(async () => {
    metrics = createMetrics({ defaultMetrics: false });
    server = await listen({
      observer: metrics,
      now: () => clock,
      timeouts: { headersMs: 300, requestMs: 60_000, checkIntervalMs: 50 },
      limits: { maxInflight: 1, sweepEveryMs: 10, bodyGraceMs: 500, bodyYieldAfterMs: 600_000 },
    });
  });
  after(() => server?.close());

  /** Sends raw bytes on a new connection and waits until the server has closed it. */
  async function refusedWith(data: string): Promise<number | undefined> {
    const client = await RawClient.connect(server.port);
    if (data) await client.write(data);
    await client.whenClosed();
    return client.status();
  }

  const errors = async (labels: Record<string, string>) =>
    value(parseExposition(await metrics.registry.metrics()), 'sidecar_guard_http_errors_total', labels);

  test('404 for an unknown path', async () => {
    assert.equal(
      await refusedWith(requestHead('/nope', { 'content-type': 'application/json', 'content-length': 1_000 })),
      404,
    );
    assert.equal(await errors({ endpoint: 'unknown', status: '404' }), 1);
  });

  test("Node's own 400 for a request that is not HTTP", async () => {
    assert.equal(await refusedWith('HELLO THERE\r\n\r\n'), 400);
    assert.equal(await errors({ endpoint: 'unknown', status: '400' }), 1);
  });

  test("400 for a URL the router cannot decode (/%), in the routes' shape; its unread body closes the connection", async () => {
    const before = (await errors({ endpoint: 'unknown', status: '400' })) ?? 0;
    const client = await RawClient.connect(server.port);
    await client.write(requestHead('/%', { 'content-type': 'application/json', 'content-length': 1_000 }));
    await client.whenClosed();
    assert.equal(client.status(), 400);
    const body = client.json() as Record<string, unknown>;
    assert.deepEqual(Object.keys(body), [
      'statusCode',
      'error',
      'message',
      'kind',
      'apiVersion',
      'metadata',
      'status',
      'reason',
      'code',
    ]);
    assert.match(String(body.message), /^cannot route POST \/%: not a valid URL .*; use POST \/validate or \/mutate$/);
    assert.equal(client.header('connection'), 'close');
    assert.equal(await errors({ endpoint: 'unknown', status: '400' }), before + 1);
  });

  test('431 for headers larger than 16 KiB', async () => {
    assert.equal(
      await refusedWith(`GET /healthz HTTP/1.1\r\nhost: localhost\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`),
      431,
    );
    assert.equal(await errors({ endpoint: 'unknown', status: '431' }), 1);
  });

  test('417 for an Expect other than 100-continue: JSON, counted, the connection closed', async () => {
    // Node's own 417 had no body, was not counted and kept the connection open.
    const client = await RawClient.connect(server.port);
    await client.write(
      requestHead('/validate', { 'content-type': 'application/json', 'content-length': 2, expect: 'foo' }),
    );
    await client.whenClosed();
    assert.equal(client.status(), 417);
    assert.match(String((client.json() as { message: string }).message), /only "Expect: 100-continue" is understood/);
    assert.equal(await errors({ endpoint: 'unknown', status: '417' }), 1);
  });

  test('a request without a Host header is answered like any other (Node answered a bare, uncounted 400)', async () => {
    const before = (await errors({ endpoint: 'validate', status: '400' })) ?? 0;
    const client = await RawClient.connect(server.port);
    await client.write(
      'POST /validate HTTP/1.1\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}',
    );
    await client.whenClosed();
    assert.equal(client.status(), 400);
    assert.match(String((client.json() as { message: string }).message), /^not an AdmissionReview/);
    assert.equal(await errors({ endpoint: 'validate', status: '400' }), before + 1);
  });

  test('408 for a request head that never completes (slowloris)', async () => {
    assert.equal(await refusedWith('POST /validate HTTP/1.1\r\nhost: localhost\r\n'), 408);
    assert.equal(await errors({ endpoint: 'unknown', status: '408' }), 1);
  });

  test('408 for a body cut because it cannot arrive in time, and 503 for the request that found no room', async () => {
    const heads = server.heads();
    const slow = await RawClient.connect(server.port);
    await slow.write(
      `${requestHead('/validate?timeout=10s', { 'content-type': 'application/json', 'content-length': 1_000 })} `,
    );
    await waitFor('its head', () => server.heads() === heads + 1);
    assert.equal(
      await refusedWith(requestHead('/validate', { 'content-type': 'application/json', 'content-length': 10 })),
      503,
    );
    clock += 1_000;
    await slow.whenClosed();
    assert.equal(slow.status(), 408);
    assert.equal(await errors({ endpoint: 'validate', status: '408' }), 1);
    assert.equal(await errors({ endpoint: 'validate', status: '503' }), 1);
  });
});

describe('the metrics listener', () => {
  let server: MetricsServer;
  before(async () => {
    server = await startMetricsServer({
      host: '127.0.0.1',
      port: 0,
      registry: createMetrics({ defaultMetrics: false }).registry,
    });
  });
  after(() => server?.close());

  test('binds the requested host and reports the chosen port', () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(server.url, 'http://127.0.0.1:0');
  });

  test('serves /metrics with a query string and nothing else', async () => {
    assert.equal((await fetch(`${server.url}/metrics?name[]=x`)).status, 200);
    assert.equal((await fetch(`${server.url}/`)).status, 404);
    assert.equal((await fetch(`${server.url}/validate`, { method: 'POST', body: '{}' })).status, 404);
    const post = await fetch(`${server.url}/metrics`, { method: 'POST', body: '' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
  });

  test('close() stops listening even with an idle keep-alive connection', async () => {
    const own = await startMetricsServer({
      host: '127.0.0.1',
      port: 0,
      registry: createMetrics({ defaultMetrics: false }).registry,
    });
    assert.equal((await fetch(`${own.url}/metrics`)).status, 200);
    await own.close();
    await assert.rejects(fetch(`${own.url}/metrics`));
  });
});

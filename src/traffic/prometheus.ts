// The Prometheus HTTP API client: the I/O edge for traffic-derived
// defaults, as src/cluster/kube.ts is for the API server. It runs two
// instant queries (one per Istio metric) and, when they come back empty,
// finds out why, so the error says what to fix. Answers are bounded in time
// and size; every failure is a PrometheusError with one readable line: what
// the server said is cut and its control characters escaped, and an answer
// of the wrong shape is named, never met as a TypeError.
import { Agent, interceptors, request, type Dispatcher } from 'undici';
import { clip } from '../sidecar/format.js';
import { isRecord } from '../util/json.js';
import { goQuote, isGoPrintable } from '../sidecar/go/quote.js';
import {
  GROUP_BY,
  TRAFFIC_METRICS,
  edgesOf,
  type ObservedTraffic,
  type TrafficMetric,
  type TrafficSample,
} from './edges.js';

export type PrometheusErrorKind =
  | 'usage'
  | 'unreachable'
  | 'http'
  | 'not-prometheus'
  | 'too-large'
  | 'no-metrics'
  | 'no-data';

export class PrometheusError extends Error {
  constructor(
    readonly kind: PrometheusErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export interface PrometheusOptions {
  /** Per request (default 60 s). */
  timeoutMs?: number;
  /** Largest answer read (default 64 MiB): a grouped query answers one series per edge. */
  maxBytes?: number;
}

export const DEFAULT_PROMETHEUS_TIMEOUT_MS = 60_000;
export const DEFAULT_PROMETHEUS_MAX_BYTES = 64 * 1024 * 1024;
export const DEFAULT_WINDOW = '7d';
/** Prometheus' duration syntax: 7d, 12h, 1h30m, 2w. */
const DURATION = /^([0-9]+(ms|s|m|h|d|w|y))+$/;

export function checkWindow(window: string): string {
  if (!DURATION.test(window))
    throw new PrometheusError(
      'usage',
      `--window must be a Prometheus duration like 7d, 12h or 1h30m, got ${JSON.stringify(window)}`,
    );
  return window;
}

/** An http(s) URL, the Prometheus base (a path prefix such as /prometheus is kept). */
export function checkPrometheusUrl(url: string, flag = '--from-prometheus'): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new PrometheusError(
      'usage',
      `${flag} must be an http(s) URL like http://prometheus.istio-system:9090, got ${JSON.stringify(url)}`,
    );
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new PrometheusError('usage', `${flag} must be an http(s) URL, got ${JSON.stringify(url)}`);
  if (parsed.username || parsed.password)
    throw new PrometheusError('usage', `${flag}: credentials in the URL are not supported`);
  return parsed;
}

interface VectorResult {
  metric: Record<string, string>;
  value: [number, string];
}

export interface TrafficQuery {
  /** A Prometheus duration (7d). */
  window: string;
  /** Only calls from this namespace (source_workload_namespace). */
  namespace?: string;
}

export class PrometheusClient {
  private readonly base: string;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;

  constructor(url: string | URL, options: PrometheusOptions = {}) {
    const parsed = typeof url === 'string' ? checkPrometheusUrl(url) : url;
    this.base = parsed.href.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_PROMETHEUS_TIMEOUT_MS;
    this.maxBytes = options.maxBytes ?? DEFAULT_PROMETHEUS_MAX_BYTES;
  }

  get url(): string {
    return this.base;
  }

  /** Who called whom over the window, each edge counted once across reporters. */
  async traffic(query: TrafficQuery, signal?: AbortSignal): Promise<ObservedTraffic> {
    const window = checkWindow(query.window);
    const queries = TRAFFIC_METRICS.map((m) => trafficQuery(m, window, query.namespace));
    const samples: TrafficSample[] = [];
    for (const [i, metric] of TRAFFIC_METRICS.entries()) {
      for (const r of await this.instant(queries[i]!, signal))
        samples.push({ metric, labels: r.metric, value: Number(r.value[1]) });
    }
    if (samples.length === 0) await this.explainEmpty(window, query.namespace, signal);
    return { ...edgesOf(samples), window, queries };
  }

  /**
   * Nothing came back: no Istio series at all (not scraping the proxies), no
   * sample inside the window, or (for one namespace) simply no call from it,
   * which is an answer, not an error.
   */
  private async explainEmpty(window: string, namespace: string | undefined, signal?: AbortSignal): Promise<void> {
    const names = await this.get(
      `/api/v1/label/__name__/values?${new URLSearchParams({ 'match[]': metricsSelector() })}`,
      metricNames,
      signal,
    );
    const series = TRAFFIC_METRICS.join(' and ');
    if (!names.some((n) => (TRAFFIC_METRICS as readonly string[]).includes(n))) {
      throw new PrometheusError(
        'no-metrics',
        `no Istio metrics found at ${this.base}: it has no series ${series} (is it scraping the Envoy sidecars' :15020/stats/prometheus?)`,
      );
    }
    const present = await this.instant(`count(count_over_time(${metricsSelector()}[${window}]))`, signal);
    if (present.length === 0 || Number(present[0]!.value[1]) === 0) {
      throw new PrometheusError(
        'no-data',
        `no data in the window: ${series} exist at ${this.base} but have no sample in the last ${window} (try a longer --window)`,
      );
    }
    if (namespace === undefined) {
      throw new PrometheusError(
        'no-data',
        `no calls in the window: ${series} have samples in the last ${window} at ${this.base}, but none counted a call from a workload`,
      );
    }
  }

  /** An instant query; its vector result. */
  async instant(promql: string, signal?: AbortSignal): Promise<VectorResult[]> {
    return this.call(
      '/api/v1/query',
      { method: 'POST', body: new URLSearchParams({ query: promql }) },
      (data) => vectorOf(data, `${this.base}: expected a vector for ${promql}`),
      signal,
    );
  }

  private get<T>(path: string, read: (data: unknown) => T, signal?: AbortSignal): Promise<T> {
    return this.call(path, { method: 'GET' }, read, signal);
  }

  /** One request; `read` checks the shape of the answer's "data" (throwing Malformed) and returns it. */
  private async call<T>(
    path: string,
    init: { method: string; body?: URLSearchParams },
    read: (data: unknown) => T,
    signal?: AbortSignal,
  ): Promise<T> {
    const url = `${this.base}${path}`;
    const timeout = AbortSignal.timeout(this.timeoutMs);
    let response: Dispatcher.ResponseData;
    try {
      response = await request(url, {
        method: init.method as Dispatcher.HttpMethod,
        headers: {
          accept: 'application/json',
          ...(init.body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        },
        body: init.body?.toString(),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        dispatcher: prometheusDispatcher(),
      });
    } catch (err) {
      throw new PrometheusError(
        'unreachable',
        `Prometheus unreachable at ${this.base}: ${reason(err, timeout, this.timeoutMs)}`,
      );
    }
    let text: string;
    try {
      text = await readBounded(response, this.maxBytes);
    } catch (err) {
      if (err instanceof PrometheusError) throw err;
      throw new PrometheusError(
        'unreachable',
        `Prometheus at ${this.base} stopped answering: ${reason(err, timeout, this.timeoutMs)}`,
      );
    }
    const status = response.statusCode;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      const type = headerOf(response, 'content-type');
      throw new PrometheusError(
        'not-prometheus',
        `${url} did not answer like the Prometheus HTTP API (HTTP ${status}, ${type === undefined ? 'no content type' : oneLine(type, TYPE_CHARS)}): is the URL the Prometheus server's base URL?`,
      );
    }
    const body = isRecord(parsed) ? parsed : {};
    if (body.status === 'error' || status < 200 || status > 299) {
      const errorType =
        typeof body.errorType === 'string' && body.errorType ? ` ${oneLine(body.errorType, TYPE_CHARS)}` : '';
      const error = typeof body.error === 'string' ? body.error : text;
      throw new PrometheusError(
        'http',
        `Prometheus at ${this.base} answered HTTP ${status}${errorType}: ${oneLine(error, ERROR_CHARS)}`,
      );
    }
    if (body.status !== 'success')
      throw new PrometheusError(
        'not-prometheus',
        `${url} did not answer like the Prometheus HTTP API (no "status": "success")`,
      );
    try {
      return read(body.data);
    } catch (err) {
      if (!(err instanceof Malformed)) throw err;
      throw new PrometheusError('not-prometheus', `${url} did not answer like the Prometheus HTTP API: ${err.message}`);
    }
  }
}

/**
 * `sum by (reporter, source_workload_namespace, source_workload,
 * destination_service, destination_service_namespace,
 * destination_service_name) (increase(metric{reporter=~"source|destination"}[w])) > 0`
 */
export function trafficQuery(metric: TrafficMetric, window: string, namespace?: string): string {
  const matchers = [
    `reporter=~"source|destination"`,
    ...(namespace ? [`source_workload_namespace="${namespace}"`] : []),
  ];
  return `sum by (${GROUP_BY.join(', ')}) (increase(${metric}{${matchers.join(', ')}}[${window}])) > 0`;
}

/** What the server said (its error, a header) is cut beyond these in a message. */
const ERROR_CHARS = 300;
const TYPE_CHARS = 100;

/**
 * Text from the server for a one-line message: every rune that is not
 * printable (a newline, a control character) written as Go's %q escapes it,
 * then cut to at most `max` characters, ending in "…" when cut.
 */
function oneLine(text: string, max: number): string {
  // Escaping never shortens, so what lies past max + 1 characters would be cut anyway.
  let out = '';
  for (const ch of text.slice(0, max + 1)) out += isGoPrintable(ch) ? ch : goQuote(ch).slice(1, -1);
  return clip(out, max);
}

/** The data of an answer is not what the Prometheus HTTP API sends; the message says where. */
class Malformed extends Error {}

/** A JSON value in a few words, for "… is a number, not a list". */
function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}

function wrong(where: string, value: unknown, expected: string): Malformed {
  return new Malformed(value === undefined ? `${where} is missing` : `${where} is ${kindOf(value)}, not ${expected}`);
}

/** /api/v1/query's data: an instant vector, each sample {"metric": {label: "value"}, "value": [time, "value"]}. */
function vectorOf(data: unknown, notVector: string): VectorResult[] {
  if (!isRecord(data)) throw wrong('data', data, 'an object');
  const { resultType, result } = data;
  if (typeof resultType !== 'string') throw wrong('data.resultType', resultType, 'a string');
  if (resultType !== 'vector')
    throw new PrometheusError('not-prometheus', `${notVector}, got ${oneLine(resultType, TYPE_CHARS)}`);
  if (!Array.isArray(result)) throw wrong('data.result', result, 'a list');
  for (const [i, sample] of result.entries()) {
    const where = `data.result[${i}]`;
    if (!isRecord(sample)) throw wrong(where, sample, 'a sample ({"metric": {…}, "value": [time, "value"]})');
    const { metric, value } = sample;
    if (!isRecord(metric)) throw wrong(`${where}.metric`, metric, 'an object of label values');
    for (const label of Object.values(metric))
      if (typeof label !== 'string') throw wrong(`a label value in ${where}.metric`, label, 'a string');
    if (!Array.isArray(value) || value.length !== 2 || typeof value[0] !== 'number' || typeof value[1] !== 'string')
      throw wrong(`${where}.value`, value, 'a [time, "value"] pair');
  }
  return result as VectorResult[];
}

/** /api/v1/label/__name__/values' data: a list of metric names. */
function metricNames(data: unknown): string[] {
  if (!Array.isArray(data)) throw wrong('data', data, 'a list of metric names');
  for (const [i, name] of data.entries())
    if (typeof name !== 'string') throw wrong(`data[${i}]`, name, 'a metric name');
  return data as string[];
}

const metricsSelector = (): string => `{__name__=~"${TRAFFIC_METRICS.join('|')}"}`;

function reason(err: unknown, timeout: AbortSignal, timeoutMs: number): string {
  if (timeout.aborted) return `no answer within ${timeoutMs} ms`;
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  return e.cause?.message ?? e.cause?.code ?? e.message ?? String(err);
}

/**
 * undici's request, not fetch: fetch refuses the ports the Fetch standard
 * blocks for browsers (6000, 6665-6669, 10080 and others) with "bad port"
 * before connecting, and a Prometheus may listen on one. Redirects are
 * followed as fetch followed them (a proxy in front of Prometheus, a path
 * that gains a slash). One dispatcher for the process, made on first use.
 */
let dispatcher: Dispatcher | undefined;
function prometheusDispatcher(): Dispatcher {
  dispatcher ??= new Agent().compose(interceptors.redirect({ maxRedirections: MAX_REDIRECTS }));
  return dispatcher;
}
const MAX_REDIRECTS = 5;

function headerOf(response: Dispatcher.ResponseData, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

async function readBounded(response: Dispatcher.ResponseData, maxBytes: number): Promise<string> {
  const declared = Number(headerOf(response, 'content-length'));
  if (declared > maxBytes) {
    response.body.destroy();
    throw new PrometheusError(
      'too-large',
      `the answer is ${declared} bytes, more than ${maxBytes}: narrow the query (--namespace)`,
    );
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > maxBytes)
      throw new PrometheusError(
        'too-large',
        `the answer is more than ${maxBytes} bytes: narrow the query (--namespace)`,
      );
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

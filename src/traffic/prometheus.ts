// The Prometheus HTTP API client: the I/O edge for traffic-derived
// defaults, as src/cluster/kube.ts is for the API server. It runs two
// instant queries (one per Istio metric) and, when they come back empty,
// finds out why, so the error says what to fix. Answers are bounded in time
// and size; every failure is a PrometheusError with one readable line.
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
    const names = await this.get<string[]>(
      `/api/v1/label/__name__/values?${new URLSearchParams({ 'match[]': metricsSelector() })}`,
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
    const data = await this.call<{ resultType: string; result: VectorResult[] }>(
      '/api/v1/query',
      { method: 'POST', body: new URLSearchParams({ query: promql }) },
      signal,
    );
    if (data.resultType !== 'vector' || !Array.isArray(data.result))
      throw new PrometheusError(
        'not-prometheus',
        `${this.base}: expected a vector for ${promql}, got ${String(data.resultType)}`,
      );
    return data.result;
  }

  private get<T>(path: string, signal?: AbortSignal): Promise<T> {
    return this.call<T>(path, { method: 'GET' }, signal);
  }

  private async call<T>(
    path: string,
    init: { method: string; body?: URLSearchParams },
    signal?: AbortSignal,
  ): Promise<T> {
    const url = `${this.base}${path}`;
    const timeout = AbortSignal.timeout(this.timeoutMs);
    let response: Response;
    try {
      response = await fetch(url, {
        ...init,
        headers: { accept: 'application/json' },
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
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
    let body: { status?: string; data?: T; errorType?: string; error?: string };
    try {
      body = JSON.parse(text);
    } catch {
      throw new PrometheusError(
        'not-prometheus',
        `${url} did not answer like the Prometheus HTTP API (HTTP ${response.status}, ${response.headers.get('content-type') ?? 'no content type'}): is the URL the Prometheus server's base URL?`,
      );
    }
    if (body.status === 'error' || !response.ok) {
      throw new PrometheusError(
        'http',
        `Prometheus at ${this.base} answered HTTP ${response.status}${body.errorType ? ` ${body.errorType}` : ''}: ${body.error ?? text.slice(0, 200)}`,
      );
    }
    if (body.status !== 'success' || body.data === undefined)
      throw new PrometheusError(
        'not-prometheus',
        `${url} did not answer like the Prometheus HTTP API (no "status": "success")`,
      );
    return body.data;
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

const metricsSelector = (): string => `{__name__=~"${TRAFFIC_METRICS.join('|')}"}`;

function reason(err: unknown, timeout: AbortSignal, timeoutMs: number): string {
  if (timeout.aborted) return `no answer within ${timeoutMs} ms`;
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  return e.cause?.message ?? e.cause?.code ?? e.message ?? String(err);
}

async function readBounded(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length'));
  if (declared > maxBytes)
    throw new PrometheusError(
      'too-large',
      `the answer is ${declared} bytes, more than ${maxBytes}: narrow the query (--namespace)`,
    );
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body) {
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

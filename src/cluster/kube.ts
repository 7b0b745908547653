// The one door to the API server: client-node's KubeConfig does the
// authentication (kubeconfig file or in-cluster service account), undici
// carries raw JSON so large lists are never turned into typed class trees,
// and client-node's Watch streams events.
import { HttpMethod, KubeConfig, RequestContext, Watch } from '@kubernetes/client-node';
import { fetch } from 'undici';
import { KubeApiError } from './kube-errors.js';

export { isStatus, KubeApiError } from './kube-errors.js';

export interface KubeResponse<T = unknown> {
  status: number;
  body: T;
}

export interface RequestOptions {
  body?: unknown;
  contentType?: string;
  accept?: string;
  timeoutMs?: number;
  query?: Record<string, string | number | boolean | undefined>;
}

export type WatchEvent = { type: string; object: unknown };

export class KubeClient {
  private readonly watcher: Watch;

  constructor(
    readonly config: KubeConfig,
    private readonly defaultTimeoutMs = 30_000,
  ) {
    this.watcher = new Watch(config);
  }

  /** From a kubeconfig file, or from the pod's service account when none is given. */
  static load(kubeconfigPath?: string): KubeClient {
    const kc = new KubeConfig();
    if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
    else kc.loadFromDefault();
    if (!kc.getCurrentCluster()) throw new Error('no current cluster in the kubeconfig');
    return new KubeClient(kc);
  }

  get server(): string {
    return this.config.getCurrentCluster()!.server;
  }

  async request<T = unknown>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, opts: RequestOptions = {}): Promise<KubeResponse<T>> {
    const url = new URL(this.server.replace(/\/$/, '') + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const ctx = new RequestContext(url.toString(), method as HttpMethod);
    await this.config.applySecurityAuthentication(ctx);
    const headers: Record<string, string> = { ...ctx.getHeaders(), accept: opts.accept ?? 'application/json' };
    if (opts.body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
    const response = await fetch(url, {
      method,
      headers,
      dispatcher: ctx.getDispatcher(),
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: AbortSignal.timeout(opts.timeoutMs ?? this.defaultTimeoutMs),
    });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text for the error message
    }
    if (response.status >= 400) throw statusError(response.status, body, `${method} ${url.pathname}`);
    return { status: response.status, body: body as T };
  }

  /** Streams watch events until the server closes the stream, the signal aborts or an error occurs. */
  watch(path: string, params: Record<string, string | number | boolean | undefined>, onEvent: (e: WatchEvent) => void, onDone: (err: unknown) => void): Promise<AbortController> {
    return this.watcher.watch(path, params, (type, object) => onEvent({ type, object }), onDone);
  }
}

function statusError(status: number, body: unknown, what: string): KubeApiError {
  const s = (typeof body === 'object' && body !== null ? body : {}) as { reason?: string; message?: string };
  const message = s.message ?? (typeof body === 'string' && body ? body.slice(0, 300) : `HTTP ${status}`);
  return new KubeApiError(status, s.reason ?? `HTTP${status}`, `${what}: ${message}`);
}


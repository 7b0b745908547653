// The one door to the API server: client-node's KubeConfig does the
// authentication (kubeconfig file or in-cluster service account) and undici
// carries raw JSON, so large lists are never turned into typed class trees.
// Watches are streamed here too rather than through client-node's Watch:
// that one cuts a stream after 30 s without data and reports it as an error
// (kube-apiserver only sends a bookmark about once a minute), cannot be
// aborted while it connects, and does not say how a stream ended.
import { type HttpMethod, KubeConfig, RequestContext } from '@kubernetes/client-node';
import type https from 'node:https';
import { dirname } from 'node:path';
import type tls from 'node:tls';
import { Agent, fetch, type Dispatcher } from 'undici';
import { KubeApiError } from './kube-errors.js';
import { isRecord } from '../util/json.js';

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
  /** Aborts the request (e.g. on shutdown), on top of its timeout. */
  signal?: AbortSignal;
}

export type WatchEvent = { type: string; object: unknown };

export interface WatchOptions {
  /** Ends the stream (as 'inactive', not an error) when nothing arrives for this long once it is open. */
  inactivityTimeoutMs: number;
  /** How long to wait for the response head; default: the client's request timeout. */
  connectTimeoutMs?: number;
  /** Aborts the connect or the stream; the watch then ends as 'aborted'. */
  signal?: AbortSignal;
  /** Called once the server has answered 200 and events may follow. */
  onOpen?: () => void;
  /** The Accept header (default application/json), e.g. to watch PartialObjectMetadata. */
  accept?: string;
}

/**
 * How a watch stream ended without an error: the server ended it ('closed':
 * its timeoutSeconds, a restart, or after an ERROR event), nothing arrived
 * for the inactivity timeout ('inactive'), or the caller's signal ('aborted').
 * A failure to open it, or a broken stream, rejects instead.
 */
export type WatchEnd = 'closed' | 'inactive' | 'aborted';

export class KubeClient {
  /** One connection pool per TLS identity (see authenticated). */
  private pool: { connect: Record<string, unknown>; agent: Agent } | undefined;

  constructor(
    readonly config: KubeConfig,
    private readonly defaultTimeoutMs = 30_000,
  ) {}

  /**
   * From a kubeconfig file, or from the defaults ($KUBECONFIG,
   * ~/.kube/config, the pod's service account). Commands read the files
   * themselves, bounded, and use fromFiles (src/kubeconfig.ts).
   */
  static load(kubeconfigPath?: string): KubeClient {
    const kc = new KubeConfig();
    if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
    else kc.loadFromDefault();
    return KubeClient.withCluster(kc);
  }

  /**
   * From kubeconfig files the caller has read, merged as client-node merges
   * a $KUBECONFIG list: the first one, then each further one's clusters,
   * users and contexts added (a name twice is an error) and its
   * current-context taking over. Relative paths stay relative to their file.
   * `readReferenced` reads the current context's certificate-authority,
   * client-certificate and client-key once, here: client-node would read them
   * whole at every request, a FIFO for ever and /dev/zero until memory runs out.
   */
  static fromFiles(
    files: readonly { path: string; text: string }[],
    readReferenced?: (path: string, field: string) => string,
  ): KubeClient {
    const [first, ...rest] = files.map(({ path, text }) => {
      const kc = new KubeConfig();
      kc.loadFromString(text);
      kc.makePathsAbsolute(dirname(path));
      return kc;
    });
    if (!first) throw new Error('no kubeconfig file');
    for (const kc of rest) first.mergeConfig(kc);
    if (readReferenced) inlineReferencedFiles(first, readReferenced);
    return KubeClient.withCluster(first);
  }

  private static withCluster(kc: KubeConfig): KubeClient {
    if (!kc.getCurrentCluster()) throw new Error('no current cluster in the kubeconfig');
    return new KubeClient(kc);
  }

  get server(): string {
    return this.config.getCurrentCluster()!.server;
  }

  async request<T = unknown>(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    opts: RequestOptions = {},
  ): Promise<KubeResponse<T>> {
    const url = this.url(path, opts.query);
    const ctx = await this.authenticated(url, method);
    const headers: Record<string, string> = { ...ctx.headers, accept: opts.accept ?? 'application/json' };
    if (opts.body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
    const abort = abortable(opts.signal, opts.timeoutMs ?? this.defaultTimeoutMs);
    try {
      const response = await fetch(url, {
        method,
        headers,
        dispatcher: ctx.dispatcher,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal: abort.signal,
      }).catch((err: unknown) => {
        throw unreachable(err, `${method} ${url.pathname}`);
      });
      const text = await response.text();
      const body = parseBody(text);
      if (response.status >= 400) throw statusError(response.status, body, `${method} ${url.pathname}`);
      return { status: response.status, body: body as T };
    } finally {
      abort.release();
    }
  }

  /**
   * Streams watch events until the stream ends; resolves with how it ended
   * (see WatchEnd), rejects when it cannot be opened (a KubeApiError for an
   * error status, e.g. 410 for an expired resourceVersion) or breaks.
   */
  async watch(
    path: string,
    params: Record<string, string | number | boolean | undefined>,
    onEvent: (e: WatchEvent) => void,
    opts: WatchOptions,
  ): Promise<WatchEnd> {
    const url = this.url(path, { ...params, watch: true });
    const ctx = await this.authenticated(url, 'GET');
    const connectMs = opts.connectTimeoutMs ?? this.defaultTimeoutMs;
    const abort = abortable(opts.signal, connectMs);
    try {
      const response = await fetch(url, {
        method: 'GET',
        headers: { ...ctx.headers, accept: opts.accept ?? 'application/json' },
        dispatcher: ctx.dispatcher,
        signal: abort.signal,
      }).catch((err: unknown) => {
        throw unreachable(err, `WATCH ${url.pathname}`);
      });
      if (response.status !== 200)
        throw statusError(response.status, parseBody(await response.text()), `WATCH ${url.pathname}`);
      opts.onOpen?.();
      // From here on the deadline is an inactivity timeout, renewed by every chunk.
      const inactive = abort.deadline(opts.inactivityTimeoutMs);
      let pending = '';
      const decoder = new TextDecoder();
      const deliver = (line: string) => {
        const event = line.trim() ? parseEvent(line) : undefined;
        if (event) onEvent(event);
      };
      for await (const chunk of response.body ?? []) {
        inactive.refresh();
        pending += decoder.decode(chunk as Uint8Array, { stream: true });
        for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
          deliver(pending.slice(0, nl));
          pending = pending.slice(nl + 1);
        }
      }
      deliver(pending + decoder.decode()); // a last event without its newline
      return 'closed';
    } catch (err) {
      if (opts.signal?.aborted) return 'aborted';
      if (abort.timedOut() === 'inactive') return 'inactive';
      if (abort.timedOut() === 'deadline') throw new Error(`WATCH ${url.pathname}: no response within ${connectMs} ms`);
      throw err;
    } finally {
      abort.release();
    }
  }

  private url(path: string, query: Record<string, string | number | boolean | undefined> = {}): URL {
    const url = new URL(this.server.replace(/\/$/, '') + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    return url;
  }

  /**
   * Headers and connection pool for one request. client-node's
   * applySecurityAuthentication builds a new undici Agent for every request,
   * so every request would open a new connection and pay a TLS handshake
   * (about 5 ms here, three times a keep-alive request): a claim must cost one
   * round trip, not a handshake. The credentials are read as client-node
   * reads them, per request (tokens and files rotate), and one Agent is kept
   * per TLS identity (CA, client certificate and key, verification): a
   * changed identity gets a new one, and the old one closes once its
   * requests (watches included) are done. Through a proxy, client-node's own
   * path is taken.
   */
  private async authenticated(
    url: URL,
    method: string,
  ): Promise<{ headers: Record<string, string>; dispatcher?: Dispatcher }> {
    const cluster = this.config.getCurrentCluster();
    if (cluster?.proxyUrl) {
      const ctx = new RequestContext(url.toString(), method as HttpMethod);
      await this.config.applySecurityAuthentication(ctx).catch(this.credentialsFailed);
      return { headers: ctx.getHeaders(), dispatcher: ctx.getDispatcher() as Dispatcher | undefined };
    }
    const opts: https.RequestOptions = {};
    await this.config.applyToHTTPSOptions(opts).catch(this.credentialsFailed);
    // client-node applies nothing without a user, not even the cluster's CA; kubectl accepts such a context.
    if (cluster && !this.config.getCurrentUser()) clusterTlsOnly(opts as tls.ConnectionOptions, cluster);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.headers ?? {})) if (v !== undefined) headers[k] = String(v);
    if (opts.auth) headers.Authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
    const { ca, cert, key, pfx, passphrase, rejectUnauthorized, servername } = opts as https.RequestOptions &
      tls.ConnectionOptions;
    const tlsOptions = Object.fromEntries(
      Object.entries({ ca, cert, key, pfx, passphrase, rejectUnauthorized, servername }).filter(
        ([, v]) => v !== undefined,
      ),
    );
    const plan = this.config.createDispatcherOptions(cluster, tlsOptions);
    return plan.type === 'agent'
      ? { headers, dispatcher: this.agentFor(plan.connect as Record<string, unknown>) }
      : { headers };
  }

  /** Rethrows a failure to get credentials with a reason (credentialsError). */
  private readonly credentialsFailed = (err: unknown): never => {
    throw credentialsError(err, this.config.getCurrentUser());
  };

  private agentFor(connect: Record<string, unknown>): Agent {
    if (this.pool && sameOptions(this.pool.connect, connect)) return this.pool.agent;
    void this.pool?.agent.close();
    this.pool = { connect, agent: new Agent({ connect }) };
    return this.pool.agent;
  }
}

/** The same TLS options: CA, certificate and key compared by content (they are read again for every request). */
function sameOptions(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => {
    const [x, y] = [a[k], b[k]];
    return Buffer.isBuffer(x) && Buffer.isBuffer(y) ? x.equals(y) : x === y;
  });
}

interface Abortable {
  signal: AbortSignal;
  /** Replaces the deadline with an inactivity timeout of `ms`; refresh() it on activity. */
  deadline(ms: number): { refresh(): void };
  /** Which timer aborted the request, if one did. */
  timedOut(): 'deadline' | 'inactive' | undefined;
  /** Clears the timer and stops following the caller's signal. */
  release(): void;
}

/**
 * One request's abort controller: its own timer plus the caller's signal.
 * A listener (removed afterwards) rather than AbortSignal.any, so a
 * long-lived caller signal does not collect one dependent signal per request.
 */
function abortable(outer: AbortSignal | undefined, ms: number): Abortable {
  const controller = new AbortController();
  let fired: 'deadline' | 'inactive' | undefined;
  // Unref'd like AbortSignal.timeout: the socket, not the timer, keeps the process alive.
  const arm = (why: 'deadline' | 'inactive', after: number) =>
    setTimeout(() => {
      fired = why;
      controller.abort(
        new DOMException(
          why === 'inactive' ? `no data for ${after} ms` : `timed out after ${after} ms`,
          'TimeoutError',
        ),
      );
    }, after).unref();
  let timer = arm('deadline', ms);
  const follow = () => controller.abort(outer?.reason);
  if (outer?.aborted) follow();
  else outer?.addEventListener('abort', follow, { once: true });
  return {
    signal: controller.signal,
    deadline(after) {
      clearTimeout(timer);
      timer = arm('inactive', after);
      return { refresh: () => void timer.refresh() };
    },
    timedOut: () => fired,
    release() {
      clearTimeout(timer);
      outer?.removeEventListener('abort', follow);
    },
  };
}

/**
 * undici rejects every network failure as TypeError('fetch failed') and keeps
 * the reason (ECONNREFUSED, a TLS or connect timeout error) in its cause: say
 * which request failed and why, as statusError does. Aborts and timeouts pass
 * unchanged (callers recognise them by name).
 */
function unreachable(err: unknown, what: string): unknown {
  const cause = (err as { cause?: { message?: string; code?: string } })?.cause;
  const reason = cause?.message || cause?.code;
  return err instanceof TypeError && reason ? new Error(`${what}: ${reason}`, { cause: err }) : err;
}

function parseBody(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return text; // not JSON: keep the text for the error message
  }
}

function parseEvent(line: string): WatchEvent | undefined {
  try {
    const e = JSON.parse(line) as { type?: unknown; object?: unknown };
    return typeof e?.type === 'string' ? { type: e.type, object: e.object } : undefined;
  } catch {
    return undefined; // not an event: skipped, as client-node's Watch skips it
  }
}

function statusError(status: number, body: unknown, what: string): KubeApiError {
  const s = (isRecord(body) ? body : {}) as { reason?: string; message?: string };
  const message = s.message ?? (typeof body === 'string' && body ? body.slice(0, 300) : `HTTP ${status}`);
  return new KubeApiError(status, s.reason ?? `HTTP${status}`, `${what}: ${message}`);
}

/**
 * The current context's certificate and key files read through `read` and
 * held as data (`*-data`, base64), as client-node would read them (a file
 * named beside data wins, as there). Only the current context's: like
 * kubectl, a stale entry elsewhere in the file (a deleted cluster's CA) is
 * never read.
 */
function inlineReferencedFiles(kc: KubeConfig, read: (path: string, field: string) => string): void {
  const asData = (path: string, field: string) => Buffer.from(read(path, field), 'utf8').toString('base64');
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  kc.clusters = kc.clusters.map((c) =>
    c === cluster && c.caFile ? { ...c, caData: asData(c.caFile, 'certificate-authority'), caFile: undefined } : c,
  );
  kc.users = kc.users.map((u) =>
    u === user
      ? {
          ...u,
          ...(u.certFile ? { certData: asData(u.certFile, 'client-certificate'), certFile: undefined } : {}),
          ...(u.keyFile ? { keyData: asData(u.keyFile, 'client-key'), keyFile: undefined } : {}),
        }
      : u,
  );
}

/** The cluster's own TLS settings (CA, skip-verify, server name), for a context without a user. */
function clusterTlsOnly(
  opts: tls.ConnectionOptions,
  cluster: { caData?: string; skipTLSVerify: boolean; tlsServerName?: string },
): void {
  if (cluster.caData) opts.ca = Buffer.from(cluster.caData, 'base64');
  if (cluster.skipTLSVerify) opts.rejectUnauthorized = false;
  if (cluster.tlsServerName) opts.servername = cluster.tlsServerName;
}

/**
 * A failure to get credentials, with a reason: client-node passes on an exec
 * plugin's stderr as the message, which is empty for one that fails silently.
 */
function credentialsError(err: unknown, user: { exec?: { command?: unknown } } | null): Error {
  if (err instanceof Error && err.message.trim() !== '') return err;
  const command = user?.exec?.command;
  return new Error(
    command !== undefined
      ? `the kubeconfig's exec credential plugin (${String(command)}) failed without a message`
      : 'no credentials could be obtained from the kubeconfig, and no reason was given',
  );
}

// GET /metrics on its own plain-HTTP listener: Prometheus scrapes without
// the webhook's TLS, and the admission port serves nothing but admission.
// /healthz and /readyz are answered here too (as on the admission port): this
// listener has its own connection cap, so a liveness probe pointed here keeps
// answering while --max-connections turns new admission connections away, and
// the kubelet does not restart a replica for being flooded on that port.
//
// It defends itself like the admission listener, with the same request head
// and whole-request deadlines (a slowloris here would otherwise hold a socket
// for as long as it likes) and a cap on open connections (a flood here would
// otherwise grow memory without bound and starve the probes answered here).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { countedBadExpectation, countedClientError, resolveTimeouts } from './app.js';
import { capConnections } from './connections.js';
import { probeAnswer, type ProbePath, type Readiness } from './health.js';
import type { AppTimeouts } from './types.js';

/**
 * Open connections of the metrics listener, idle ones included. Its clients
 * need a handful: one or two Prometheus servers (an HA pair) scraping on a
 * kept-alive connection each, and the kubelet's probes, one short connection
 * each per period. 64 leaves ample room for those and for a person with
 * curl, while an idle plain-HTTP connection costs a few KB, so 64 of them
 * cost nothing worth measuring. Fixed, not a flag: no real deployment needs
 * more. Beyond it a connection is closed at accept (connections.ts).
 */
export const METRICS_MAX_CONNECTIONS = 64;

/** The admission listener's deadlines that apply to plain HTTP (no TLS handshake here). */
export type MetricsTimeouts = Pick<
  AppTimeouts,
  'headersMs' | 'requestMs' | 'connectionMs' | 'checkIntervalMs' | 'keepAliveMs'
>;

export interface MetricsServerOptions {
  host: string;
  /** 0 picks a free port; the returned url has the real one. */
  port: number;
  registry: Pick<Registry, 'metrics' | 'contentType'>;
  /** Answers /readyz; without it only /metrics is served. */
  readiness?: () => Readiness;
  logger?: Logger;
  /** The admission listener's --headers-timeout and --request-timeout; the rest default as there. */
  timeouts?: MetricsTimeouts;
  /** Default METRICS_MAX_CONNECTIONS (tests set fewer). */
  maxConnections?: number;
  /** A connection beyond the cap was closed at accept. */
  onConnectionDropped?: () => void;
  /** Node refused a request before it was handled (400 malformed, 408 past a deadline, 431 headers too large). */
  onClientError?: (status: number) => void;
  /** Clock for rate-limiting the drop warnings (tests). */
  now?: () => number;
}

export interface MetricsServer {
  url: string;
  /** The listening server (tests watch its connections). */
  server: Server;
  close(): Promise<void>;
}

/** A scrape is one short request; idle scrapers must not hold shutdown up. */
const METRICS_KEEP_ALIVE_MS = 5_000;

export async function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  // The admission listener's deadlines, except a shorter keep-alive.
  const t = resolveTimeouts({
    ...opts.timeouts,
    keepAliveMs: opts.timeouts?.keepAliveMs ?? METRICS_KEEP_ALIVE_MS,
  });
  // Node reads the deadlines and how often it checks them only here; checked
  // every 30 s by default, a 10 s head deadline could run to 40 s.
  const server = createServer(
    {
      headersTimeout: t.headersMs,
      requestTimeout: t.requestMs,
      connectionsCheckingInterval: t.checkIntervalMs,
      keepAliveTimeout: t.keepAliveMs,
      // Answered like any request (Node's own 400 for it was bare and uncounted).
      requireHostHeader: false,
    },
    (req, res) => void handle(req, res, opts),
  );
  server.on(
    'checkExpectation',
    countedBadExpectation(() => opts.onClientError?.(417)),
  );
  // Node's own handler answers these bare and counts nothing: a slowloris here would not show.
  server.on(
    'clientError',
    countedClientError((_socket, status) => opts.onClientError?.(status)),
  );
  server.timeout = t.connectionMs;
  capConnections(server, {
    max: opts.maxConnections ?? METRICS_MAX_CONNECTIONS,
    what: 'metrics port at its connection cap',
    ...(opts.onConnectionDropped ? { onDrop: opts.onConnectionDropped } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
    logEveryMs: 10_000,
    now: opts.now ?? (() => performance.now()),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: opts.host, port: opts.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => opts.logger?.error({ err }, 'metrics listener error'));
  const url = `http://${hostForUrl(server.address() as AddressInfo)}`;
  opts.logger?.info({ url: `${url}/metrics` }, 'metrics listening');
  return {
    url,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, opts: MetricsServerOptions): Promise<void> {
  const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
  const probe = opts.readiness && (path === '/healthz' || path === '/readyz');
  if (path !== '/metrics' && !probe)
    return send(res, 404, 'text/plain; charset=utf-8', 'not found; metrics are at /metrics\n');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return send(res, 405, 'text/plain; charset=utf-8', `use GET ${path}\n`);
  }
  if (probe) {
    const { code, body } = probeAnswer(path as ProbePath, opts.readiness!);
    return send(res, code, 'application/json; charset=utf-8', req.method === 'HEAD' ? '' : JSON.stringify(body));
  }
  try {
    const body = await opts.registry.metrics();
    send(res, 200, opts.registry.contentType, req.method === 'HEAD' ? '' : body);
  } catch (err) {
    opts.logger?.error({ err }, 'collecting metrics failed');
    send(res, 500, 'text/plain; charset=utf-8', 'collecting metrics failed\n');
  }
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
  res.end(body);
}

function hostForUrl({ address, port, family }: AddressInfo): string {
  return family === 'IPv6' || address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

// GET /metrics on its own plain-HTTP listener: Prometheus scrapes without
// the webhook's TLS, and the admission port serves nothing but admission.
// /healthz and /readyz are answered here too (as on the admission port): this
// listener has no connection cap, so a liveness probe pointed here keeps
// answering while --max-connections turns new admission connections away, and
// the kubelet does not restart a replica for being flooded.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Readiness } from './health.js';

export interface MetricsServerOptions {
  host: string;
  /** 0 picks a free port; the returned url has the real one. */
  port: number;
  registry: Pick<Registry, 'metrics' | 'contentType'>;
  /** Answers /readyz; without it only /metrics is served. */
  readiness?: () => Readiness;
  logger?: Logger;
}

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

export async function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  const server = createServer((req, res) => void handle(req, res, opts));
  // A scrape is one short request; idle scrapers must not hold shutdown up.
  server.keepAliveTimeout = 5_000;
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
  if (probe) return answerProbe(req, res, path, opts.readiness!);
  try {
    const body = await opts.registry.metrics();
    send(res, 200, opts.registry.contentType, req.method === 'HEAD' ? '' : body);
  } catch (err) {
    opts.logger?.error({ err }, 'collecting metrics failed');
    send(res, 500, 'text/plain; charset=utf-8', 'collecting metrics failed\n');
  }
}

/** The same JSON bodies as health.ts gives on the admission port. */
function answerProbe(req: IncomingMessage, res: ServerResponse, path: string, readiness: () => Readiness): void {
  const r = path === '/readyz' ? readiness() : undefined;
  const body = r === undefined ? { status: 'ok' } : { status: r.ready ? 'ready' : 'not ready', reasons: r.reasons };
  const text = req.method === 'HEAD' ? '' : JSON.stringify(body);
  send(res, r === undefined || r.ready ? 200 : 503, 'application/json; charset=utf-8', text);
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
  res.end(body);
}

function hostForUrl({ address, port, family }: AddressInfo): string {
  return family === 'IPv6' || address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

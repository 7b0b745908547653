// buildApp(deps) returns a Fastify instance that does not listen: tests
// inject() into it, the composition root listens on it.
//
// The webhook sits on the write path of the cluster, so the listener defends
// itself: bodies are capped (413 without buffering, connection closed), slow
// clients are cut off (TLS handshake, request head and whole request each have
// a deadline), admission requests in flight are bounded (503 + Retry-After
// beyond), and while draining every response closes its connection so that
// keep-alive clients move to another replica.
import { DEFAULT_SERVE_LIMITS } from '../config.js';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Logger } from 'pino';
import { registerJsonParser } from './json.js';
import { admissionRoutes } from './routes.js';
import { healthRoutes } from './health.js';
import type { AppDeps, AppLimits, AppTimeouts } from './types.js';

export type { AdmissionEvent, AppDeps, AppLimits, AppObserver, AppTimeouts } from './types.js';

/** controller-runtime's limit: the API server accepts 3 MiB objects, and a review carries two of them. */
export const MAX_BODY_BYTES = 7 * 1024 * 1024;

/**
 * Production deadlines. kube-apiserver sends the whole review at once and
 * waits at most 30 s (the largest webhook timeoutSeconds), so a request still
 * incomplete after that is from no API server.
 */
export const DEFAULT_TIMEOUTS: Readonly<Required<AppTimeouts>> = {
  headersMs: DEFAULT_SERVE_LIMITS.headersTimeoutMs,
  requestMs: DEFAULT_SERVE_LIMITS.requestTimeoutMs,
  keepAliveMs: 75_000,
  connectionMs: 60_000,
  handshakeMs: 10_000,
  checkIntervalMs: 1_000,
};

/**
 * Decisions take well under a millisecond, so requests pile up only while
 * their bodies arrive; the bound caps the memory they can hold (each up to
 * 7 MiB) when clients upload slowly or a burst arrives.
 */
export const DEFAULT_LIMITS: Readonly<Required<AppLimits>> = { maxInflight: DEFAULT_SERVE_LIMITS.maxInflight, retryAfterSeconds: 1 };

export function buildApp(deps: AppDeps): FastifyInstance {
  const timeouts = resolveTimeouts(deps.timeouts);
  const options: FastifyServerOptions & { https?: unknown } = {
    bodyLimit: MAX_BODY_BYTES,
    // One log line per denial is written by the routes; nothing per request.
    logController: new LogController({ disableRequestLogging: true }),
    // No per-request child logger: our log lines carry the AdmissionReview uid,
    // which is the id that matters, and a child per request is measurable
    // work on the hot path.
    childLoggerFactory: (logger: FastifyBaseLogger) => logger,
    // Requests that arrive on a kept-alive connection while closing are still
    // answered (with Connection: close, see below): a 503 there would be a
    // failed webhook call for nothing.
    return503OnClosing: false,
    requestTimeout: timeouts.requestMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    connectionTimeout: timeouts.connectionMs,
  };
  if (deps.logger) (options as { loggerInstance?: Logger }).loggerInstance = deps.logger;
  if (deps.https) options.https = { minVersion: 'TLSv1.2', ...deps.https, ...listenerTimeouts(timeouts) };
  const app = Fastify(options as FastifyServerOptions) as unknown as FastifyInstance;
  app.server.headersTimeout = timeouts.headersMs;
  closeConnectionsWhileDraining(app, deps.draining);
  registerJsonParser(app, MAX_BODY_BYTES);
  app.register(healthRoutes, { readiness: deps.readiness });
  app.register(admissionRoutes, { deps, limits: { ...DEFAULT_LIMITS, ...definedOnly(deps.limits) } });
  return app;
}

function resolveTimeouts(given: AppTimeouts | undefined): Required<AppTimeouts> {
  const t = { ...DEFAULT_TIMEOUTS, ...definedOnly(given) };
  // Node refuses a head deadline later than the whole-request deadline.
  return { ...t, headersMs: Math.min(t.headersMs, t.requestMs) };
}

/** Options Node reads only when the server is created (https.createServer takes the http ones too). */
function listenerTimeouts(t: Required<AppTimeouts>) {
  return {
    headersTimeout: t.headersMs,
    requestTimeout: t.requestMs,
    connectionsCheckingInterval: t.checkIntervalMs,
    handshakeTimeout: t.handshakeMs,
  };
}

/**
 * kube-proxy balances connections, not requests: a keep-alive connection
 * stays on this replica until it closes. Closing each connection after its
 * response while draining sends the client's next request through the
 * Service to a replica that stays.
 */
function closeConnectionsWhileDraining(app: FastifyInstance, draining: (() => boolean) | undefined): void {
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onSend', (request, reply, payload, done) => {
    if ((closing || draining?.()) && request.raw.httpVersionMajor === 1) reply.header('connection', 'close');
    done(null, payload);
  });
}

function definedOnly<T extends object>(o: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}

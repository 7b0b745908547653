// buildApp(deps) returns a Fastify instance that does not listen: tests
// inject() into it, the composition root listens on it.
//
// The webhook sits on the write path of the cluster, so the listener defends
// itself: bodies are capped (413 without buffering, connection closed), slow
// clients are cut off (TLS handshake, request head and whole request each have
// a deadline; a body must arrive within its share of the caller's deadline),
// open connections are capped (beyond, closed at accept: connections.ts),
// admission requests and their body bytes in flight are bounded (503 +
// Retry-After beyond, after late bodies made room or a newcomer waited for
// them to: see gate.ts and routes.ts), every refusal
// is counted, and while draining every response closes its connection so that
// keep-alive clients move to another replica.
import { DEFAULT_SERVE_LIMITS } from '../config.js';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { capConnections } from './connections.js';
import { closeIdleOnlyWhenQuiet } from './drain.js';
import { endpointTag } from './endpoint-tag.js';
import { clip } from './log-fields.js';
import { MAX_BODY_BYTES, registerJsonParser } from './json.js';
import { admissionRoutes, errorBody, httpErrorName } from './routes.js';
import { healthRoutes } from './health.js';
import type { AppDeps, AppLimits, AppObserver, AppTimeouts } from './types.js';

export type { AdmissionEvent, AppDeps, AppLimits, AppObserver, AppTimeouts } from './types.js';

export { MAX_BODY_BYTES } from './json.js';

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
  // A client sends its next request on a kept-alive connection within a round trip of the last answer;
  // one that has said nothing for a second is not in the middle of anything.
  quietMs: 1_000,
};

/**
 * Decisions take well under a millisecond, so requests pile up only while
 * their bodies arrive. The byte budget bounds the memory they hold: a body
 * waits in memory whole before it is parsed, and a parse tree takes up to 20
 * times its text (hence also the cap on objects and arrays in json.ts). The
 * large-body lane bounds time: parsing a 7 MiB body holds the event loop for
 * a few hundred milliseconds, and everything else waits; one such body at a
 * time (kube-apiserver's largest review: two 3 MiB objects) keeps an
 * ordinary review from waiting behind several. A second one arriving
 * meanwhile is refused with 503; that is the price, for bodies no real
 * Sidecar comes near. Measured in docs/reliability.md (`bench/attack.ts`).
 */
export const DEFAULT_LIMITS: Readonly<Required<AppLimits>> = {
  maxConnections: DEFAULT_SERVE_LIMITS.maxConnections,
  maxInflight: DEFAULT_SERVE_LIMITS.maxInflight,
  retryAfterSeconds: 1,
  maxBodyBytesInFlight: DEFAULT_SERVE_LIMITS.maxBodyBytesInFlight,
  maxLargeBodyBytesInFlight: MAX_BODY_BYTES,
  smallBodyBytes: 256 * 1024,
  bodyShare: 0.5,
  bodyGraceMs: 500,
  bodyYieldAfterMs: 100,
  sweepEveryMs: 250,
};

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
    clientErrorHandler: countedClientError((socket, status) => deps.observer?.httpError?.(endpointTag(socket), status)),
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) =>
      answerUnroutable(error, request, reply, deps.observer),
  };
  if (deps.logger) (options as { loggerInstance?: Logger }).loggerInstance = deps.logger;
  // A request without a Host header is judged like any other (kube-apiserver always sends one); Node's own
  // answer to it was a bare 400 that nothing counted.
  if (deps.https)
    options.https = { minVersion: 'TLSv1.2', ...deps.https, ...listenerTimeouts(timeouts), requireHostHeader: false };
  const app = Fastify(options as FastifyServerOptions) as unknown as FastifyInstance;
  const now = deps.now ?? (() => performance.now());
  const limits = { ...DEFAULT_LIMITS, ...definedOnly(deps.limits) };
  app.server.headersTimeout = timeouts.headersMs;
  app.server.on(
    'checkExpectation',
    countedBadExpectation((socket) => deps.observer?.httpError?.(endpointTag(socket), 417)),
  );
  capConnections(app.server, {
    max: limits.maxConnections,
    what: 'admission port at --max-connections',
    onDrop: () => deps.observer?.connectionDropped?.(),
    ...(deps.logger ? { logger: deps.logger } : {}),
    logEveryMs: 10_000,
    now,
  });
  closeConnectionsWhileDraining(app, deps.draining);
  closeIdleOnlyWhenQuiet(app.server, {
    tls: deps.https !== undefined,
    quietMs: timeouts.quietMs,
    checkEveryMs: 50,
    now,
  });
  answerConnect(app, deps.observer);
  registerJsonParser(app, MAX_BODY_BYTES);
  app.register(healthRoutes, { readiness: deps.readiness });
  app.register(admissionRoutes, {
    deps,
    limits,
    requestTimeoutMs: timeouts.requestMs,
  });
  return app;
}

const CLIENT_ERRORS: Record<string, [number, string]> = {
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'the request head or body did not arrive in time'],
  HPE_HEADER_OVERFLOW: [431, 'request headers larger than 16 KiB'],
};

/**
 * What Node's HTTP parser refuses before any route runs (malformed requests:
 * 400; head or body past its deadline: 408; headers too large: 431),
 * answered as Fastify's default handler does and counted like every other
 * refusal, so slow-client attacks show in http_errors_total. The metrics
 * listener answers and counts its own the same way.
 */
export function countedClientError(count: (socket: Socket, status: number) => void) {
  return (err: NodeJS.ErrnoException, socket: Socket): void => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const [status, message] = CLIENT_ERRORS[err.code ?? ''] ?? [400, 'malformed HTTP request'];
    count(socket, status);
    if (socket.writable) socket.write(rawAnswer(status, message));
    socket.destroy(err);
  };
}

/**
 * An `Expect` other than 100-continue: Node's own 417 had no body, was not
 * counted and left the connection open. Answered here like the other
 * refusals of Node's (countedClientError), and the connection closed.
 */
export function countedBadExpectation(count: (socket: Socket) => void) {
  return (request: IncomingMessage, response: ServerResponse): void => {
    count(request.socket);
    response.socket?.end(rawAnswer(417, 'only "Expect: 100-continue" is understood'));
  };
}

/**
 * A URL Fastify's router cannot decode (`/%`, a bad percent-escape) is refused
 * before any route, hook or not-found handler runs; by default Fastify
 * answers it in a shape of its own and nothing counts it. Here it gets the
 * routes' shape and is counted with the other requests no route took.
 */
function answerUnroutable(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
  observer: AppObserver | undefined,
): void {
  const status = error.statusCode ?? 400;
  observer?.httpError?.('unknown', status);
  // A body that was not read is not read at all: the connection goes.
  if (!request.raw.complete) void reply.header('connection', 'close');
  const message = `cannot route ${request.raw.method ?? ''} ${clip(request.raw.url ?? '', 100)}: not a valid URL (a bad percent-escape?); use POST /validate or /mutate`;
  void reply.code(status).send(errorBody(status, message));
}

/**
 * Node hands a CONNECT request (a proxy tunnel) to 'connect' listeners only, and drops the connection without a
 * word when there are none: it is answered like any other method on a path that is not a route.
 */
function answerConnect(app: FastifyInstance, observer: AppObserver | undefined): void {
  app.server.on('connect', (request: IncomingMessage, socket: Duplex) => {
    observer?.httpError?.('unknown', 404);
    const message = `no route CONNECT ${clip(request.url ?? '', 100)}; use POST /validate or /mutate`;
    socket.end(rawAnswer(404, message));
  });
}

/** A whole HTTP/1.1 error response with a JSON body in Fastify's shape, for a socket no route will answer on. */
function rawAnswer(status: number, message: string): string {
  const name = httpErrorName(status);
  const body = JSON.stringify(errorBody(status, message));
  return `HTTP/1.1 ${status} ${name}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`;
}

/** The defaults above where `given` says nothing; the metrics listener resolves its deadlines here too. */
export function resolveTimeouts(given: AppTimeouts | undefined): Required<AppTimeouts> {
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

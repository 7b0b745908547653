// /validate and /mutate: admit (bounded requests and body bytes in flight,
// refusals at the head), decode, check the caller's deadline, decide, send.
// A request that finds no room only because bodies too young to cut hold it
// waits (a bounded few) until they may be cut, rather than being refused.
// Anything that is not a well-formed AdmissionReview gets a 4xx JSON error
// naming the problem. An exception while deciding is answered with HTTP 500,
// never a crash: a 500 is a failed call to kube-apiserver, so the webhook's
// failurePolicy decides (an AdmissionReview with allowed:false would be a
// denial even under Ignore). Every refusal is counted (observer.httpError).
import { performance } from 'node:perf_hooks';
import { STATUS_CODES } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { FastifyError, FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import { decodeReview } from '../admission/decode.js';
import { errored, fromDecision, toReview } from '../admission/respond.js';
import type { AdmissionRequest, AdmissionResponse } from '../admission/types.js';
import { Undecided, type Decision } from '../admission/decision.js';
import { parseGoDuration } from '../sidecar/go/duration.js';
import { AdmissionGate, type Cut, type Ticket } from './gate.js';
import { BodyError, type BodyReading, LENGTH_MISMATCH, MAX_BODY_BYTES, readJsonBody, TOO_LARGE } from './json.js';
import type { AppDeps, AppLimits, AppTimers, DecideContext } from './types.js';
import { clip } from './log-fields.js';
import { tagEndpoint } from './endpoint-tag.js';

type Endpoint = 'validate' | 'mutate';

interface RouteOptions {
  deps: AppDeps;
  limits: Required<AppLimits>;
  /** The whole-request deadline: a body's share is taken of it when the caller names none. */
  requestTimeoutMs: number;
}

/** What the routes keep with a request's ticket: how to cut its body short, and when it came. */
interface Admitted {
  /** The body while it is being read. */
  reading?: BodyReading | undefined;
  /** A cut decided before the body's reading began. */
  pendingCut?: BodyError;
  /** When the head arrived: the caller's deadline runs from then, time spent waiting for room included. */
  headAt: number;
  /** The caller's `?timeout=` in milliseconds, read once at the head; undefined without a usable one. */
  timeoutMs: number | undefined;
}

type AdmittedTicket = Ticket<Admitted>;

/**
 * Where a request keeps its ticket: a request decoration (one shape for every request), not a WeakMap. Three
 * WeakMaps (ticket, request and socket keyed) cost each request about 1 µs of ephemeron-table writes, and the
 * scavenger must revisit every entry (issue 20).
 */
const TICKET = Symbol('sidecar-guard.ticket');
type WithTicket = FastifyRequest & { [TICKET]: AdmittedTicket | null };
const ticketOf = (request: FastifyRequest): AdmittedTicket | null => (request as WithTicket)[TICKET];

export const admissionRoutes: FastifyPluginCallback<RouteOptions> = (app, { deps, limits, requestTimeoutMs }, done) => {
  const now = deps.now ?? (() => performance.now());
  const gate = new AdmissionGate<Admitted>(
    {
      maxInflight: limits.maxInflight,
      maxBodyBytes: limits.maxBodyBytesInFlight,
      maxLargeBodyBytes: limits.maxLargeBodyBytesInFlight,
      smallBodyBytes: limits.smallBodyBytes,
      bodyShare: limits.bodyShare,
      graceMs: limits.bodyGraceMs,
      yieldAfterMs: limits.bodyYieldAfterMs,
    },
    now,
  );
  const waiting = new WaitingRoom(limits.maxInflight * WAITERS_PER_SLOT, deps.timers ?? REAL_TIMERS);
  app.decorateRequest(TICKET, null);
  // Refusals since the last admitted request: one log line per overload episode, not per request.
  let refused = 0;

  /** Cuts a body short: the parser fails with 408 and the connection is closed (Fastify closes on parser errors). */
  const cut = ({ ticket, message }: Cut<Admitted>) => {
    const state = ticket.holder;
    if (!state) return;
    const error = new BodyError(message, 408);
    if (state.reading) state.reading.stop(error);
    else state.pendingCut = error;
  };

  const sweep = sweeper(gate, limits.sweepEveryMs, (c) => {
    cut(c);
    waiting.wake();
  });
  app.addHook('onClose', (_instance, next) => {
    clearInterval(sweep);
    next();
  });

  /** A refusal at the head: nothing of the body is read, and the connection is closed so the rest never is. */
  const refuse = (request: FastifyRequest, reply: FastifyReply, status: number, message: string) => {
    deps.observer?.httpError?.(endpointOf(request), status);
    void reply.code(status).header('connection', 'close').send(errorBody(status, message));
  };

  // Runs once the request head has arrived, before the body is read: an
  // overloaded replica refuses without buffering anything.
  // With --client-ca the handshake asks for a certificate but lets the
  // kubelet's probes in without one; admission requests must present one.
  const requireClientCert = deps.https?.requestCert === true;
  // Unknown routes are answered at the head too: Fastify would read (and parse) a body before its 404.
  app.addHook('onRequest', (request, reply, next) => {
    if (request.is404) return void notFound(request, reply);
    next();
  });
  /** The admission routes' own head hook, with its endpoint bound (request.routeOptions builds an object per call). */
  const atHead = (endpoint: Endpoint) => (request: FastifyRequest, reply: FastifyReply, next: () => void) => {
    const socket = request.raw.socket as TLSSocket;
    if (requireClientCert && !socket.authorized) {
      return refuse(
        request,
        reply,
        403,
        `a client certificate signed by the --client-ca authority is required (${String(socket.authorizationError ?? 'no client certificate')})`,
      );
    }
    // No Content-Length and no Transfer-Encoding: no body at all (RFC 9112 6.3).
    const declared = request.headers['transfer-encoding'] === undefined ? (declaredLength(request) ?? 0) : undefined;
    const hasBody = declared !== 0;
    if (hasBody && !isJson(request.headers['content-type'])) {
      return refuse(
        request,
        reply,
        400,
        `Content-Type must be application/json, got ${JSON.stringify(clip(request.headers['content-type'] ?? '', 100))}`,
      );
    }
    const coding = hasBody ? unsupportedCoding(request.headers) : undefined;
    if (coding) return refuse(request, reply, 415, coding);
    if (declared !== undefined && declared > MAX_BODY_BYTES) return refuse(request, reply, 413, TOO_LARGE);
    const headAt = now();
    const timeoutMs = callerTimeoutMs(request);
    // The caller's deadline: its `?timeout=`, at most the request timeout; the request timeout without one.
    const deadlineMs = timeoutMs === undefined ? requestTimeoutMs : Math.min(timeoutMs, requestTimeoutMs);
    const small = (declared ?? MAX_BODY_BYTES) <= limits.smallBodyBytes;
    const admit = (): void => {
      const state: Admitted = { reading: undefined, headAt, timeoutMs };
      const result = gate.admit({ declared, undeclaredBytes: MAX_BODY_BYTES, deadlineMs, headAt, holder: state });
      for (const c of result.cuts) cut(c);
      if ('refusal' in result) {
        // No room only because the bodies holding it are too young to cut: wait until they are not, if that
        // comes before this request's own body deadline. The gate's next refusal says whether to wait again.
        // Only an ordinary review waits: a large body arriving while the large-body lane is taken is refused
        // as before (app.ts), rather than displacing the one uploading.
        // With no roomAt, the room is held by bodies already complete, being decided: each frees its room within
        // milliseconds (a burst's heads all arrive in one read of the sockets, before any decision), and every
        // release retries the waiters, so waiting until its body deadline costs a review only the time it needs.
        const { roomAt } = result.refusal;
        const bodyDue = headAt + deadlineMs * limits.bodyShare;
        const worthWaiting = small && (roomAt === undefined ? now() < bodyDue : roomAt <= bodyDue);
        if (worthWaiting && !socket.destroyed && waiting.wait(reply, (roomAt ?? bodyDue) - now(), admit)) return;
        if (refused++ === 0)
          request.log.warn(
            { maxInflight: limits.maxInflight, maxBodyBytesInFlight: limits.maxBodyBytesInFlight },
            'overloaded: refusing admission requests with 503',
          );
        const queue = worthWaiting ? ` and ${waiting.capacity} already waiting for room` : '';
        // Closing the connection makes the client (or kube-proxy) pick a replica again.
        void reply.header('retry-after', String(limits.retryAfterSeconds));
        refuse(request, reply, 503, `${result.refusal.message}${queue}; retry after ${limits.retryAfterSeconds}s`);
        return;
      }
      if (refused > 0) {
        request.log.info({ refused }, 'overload over');
        refused = 0;
      }
      const { ticket } = result;
      (request as WithTicket)[TICKET] = ticket;
      tagEndpoint(socket, endpoint);
      // A response emits 'close' once it is done or its connection went away mid-request: either ends the
      // reservation, and the room it frees may be what a waiting request needs. The body's reading goes at once
      // rather than with the request (issue 20: the stub-decision server promoted a median 130 KB per scavenge
      // under load with it held, 34 KB without).
      // 'close' comes once per response: `on`, not `once`, spares a wrapper per request.
      reply.raw.on('close', () => {
        gate.release(ticket);
        tagEndpoint(socket, undefined);
        state.reading = undefined;
        waiting.wake();
      });
      next();
    };
    admit();
  };

  // The admission routes read their bodies themselves, counting the bytes as they come: the gate judges each
  // body's progress by its ticket. A complete body is never cut (the gate cuts incomplete ones only), so the
  // request's state lets go of the reading at its end: the state outlives the request by a scavenge or two.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', (request, payload, done) => {
    const ticket = ticketOf(request);
    const state = ticket?.holder;
    if (state?.pendingCut) return done(state.pendingCut, undefined);
    const progress = ticket ?? { received: 0, complete: false };
    const reading = readJsonBody(payload, MAX_BODY_BYTES, declaredLength(request), progress, (error, value) => {
      if (state) state.reading = undefined;
      done(error, value);
    });
    if (state && !progress.complete) state.reading = reading;
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const { status, message } = describeHttpError(error, request);
    deps.observer?.httpError?.(endpointOf(request), status);
    if (status >= 500) request.log.error({ err: error }, 'admission request failed');
    // A body that was not read to its end is not read at all: the connection goes.
    if (!request.raw.complete) void reply.header('connection', 'close');
    return reply.code(status).send(errorBody(status, message));
  });
  const notFound = (request: FastifyRequest, reply: FastifyReply) => {
    if (!request.raw.complete) void reply.header('connection', 'close');
    const path = request.url.split('?', 1)[0]!;
    // The methods the router has for this path (/validate, /mutate when served, the probes' GET and HEAD).
    const allow = ROUTE_METHODS.filter((method) => app.hasRoute({ url: path, method })).join(', ');
    if (allow) {
      // A path that exists, asked with another method (curl without -d, a GET from a browser): 405 names the method.
      deps.observer?.httpError?.('unknown', 405);
      return reply
        .code(405)
        .header('allow', allow)
        .send(
          errorBody(405, `${clip(request.method, 20)} ${path} is not served; use ${allow.split(',', 1)[0]} ${path}`),
        );
    }
    deps.observer?.httpError?.('unknown', 404);
    return reply
      .code(404)
      .send(errorBody(404, `no route ${request.method} ${clip(request.url, 100)}; use POST /validate or /mutate`));
  };
  app.setNotFoundHandler(notFound);

  const handle =
    (endpoint: Endpoint, decide: (r: AdmissionRequest, context: DecideContext) => Decision | Promise<Decision>) =>
    async (request: FastifyRequest, reply: FastifyReply) => {
      const decoded = decodeReview(request.body);
      // The parse tree lives no longer than this handler: a large one must be
      // garbage before the next body is parsed, not held by the request
      // object until its socket lets go of it.
      request.body = undefined;
      if (!decoded.ok) {
        deps.observer?.httpError?.(endpoint, 400);
        return reply.code(400).send(errorBody(400, `not an AdmissionReview: ${decoded.error}`));
      }
      const { apiVersion, request: admission } = decoded;
      const ticket = ticketOf(request);
      const budgetMs = budgetLeft(ticket?.holder, now);
      const late = lateness(request, budgetMs);
      if (late) {
        deps.observer?.internalError?.(endpoint, new Error(late), admission);
        request.log.warn({ uid: clip(admission.uid), endpoint }, late);
        return reply
          .code(200)
          .type('application/json')
          .send(toReview(apiVersion, deadlineExceeded(admission.uid, late)));
      }
      const started = performance.now();
      let decision: Decision;
      try {
        const pending = decide(admission, { budgetMs, bodyBytes: ticket?.received });
        // Awaited only when it is a promise (claims in the API server): a local decision is used in the same
        // tick, without a microtask hop that other requests' callbacks could run inside of (and be timed with).
        decision = pending instanceof Promise ? await pending : pending;
      } catch (err) {
        deps.observer?.internalError?.(endpoint, err, admission);
        if (err instanceof Undecided) {
          // Expected under faults (the API server slow or down): a warning without a stack.
          request.log.warn(
            { uid: clip(admission.uid), endpoint, reason: err.reason, namespace: clip(admission.namespace ?? '') },
            `not decided: ${err.message}`,
          );
          const message = `sidecar-guard could not decide ${clip(admission.uid)}, so the webhook's failurePolicy applies: ${err.message}`;
          return reply.code(500).send(errorBody(500, message));
        }
        request.log.error({ err, uid: clip(admission.uid), endpoint }, 'internal error while reviewing');
        const message = `sidecar-guard internal error while reviewing ${clip(admission.uid)}: ${(err as Error)?.message ?? String(err)}`;
        return reply.code(500).send(errorBody(500, message));
      }
      const seconds = (performance.now() - started) / 1000;
      deps.observer?.admission?.({ endpoint, request: admission, decision, seconds });
      logDecision(request, endpoint, admission, decision);
      return reply
        .code(200)
        .type('application/json')
        .send(toReview(apiVersion, fromDecision(admission.uid, decision)));
    };

  app.post('/validate', { onRequest: atHead('validate') }, handle('validate', deps.validate));
  const mutate = deps.mutate;
  if (mutate) app.post('/mutate', { onRequest: atHead('mutate') }, handle('mutate', mutate));
  done();
};

/**
 * kube-apiserver appends `?timeout=<Go duration>` (the webhook's
 * timeoutSeconds) and gives up on the call after it. Deciding after that
 * point is wasted work and, worse, would reserve a Sidecar the API server will
 * never store; so a request whose deadline passed while it queued or
 * uploaded is answered at once with an errored review and is not decided.
 * A missing or malformed parameter means no deadline: it is advisory, and
 * refusing a write over it would be worse than ignoring it.
 */
function lateness(request: FastifyRequest, left: number | undefined): string | undefined {
  if (left === undefined || left > 0) return undefined;
  const raw = String((request.query as Record<string, unknown>).timeout);
  return `timeout=${clip(raw, 40)} expired ${Math.round(-left)}ms before this request could be decided: not decided (the API server has given up on it)`;
}

/** What is left of the `?timeout=` budget, or undefined without one. */
function budgetLeft(state: Admitted | undefined, now: () => number): number | undefined {
  return state?.timeoutMs === undefined ? undefined : state.timeoutMs - (now() - state.headAt);
}

function deadlineExceeded(uid: string, message: string): AdmissionResponse {
  const response = errored(uid, 504, `sidecar-guard: ${message}`);
  return { ...response, status: { ...response.status, reason: 'Timeout' } };
}

/**
 * One line per denial at info level; allowed requests are only logged at
 * debug. Every field taken from the request is clipped (clip()): a 5 MiB name
 * must not become a 5 MiB log line. Rule ids come from our catalogues, but
 * their number depends on the input, so the list is bounded too.
 */
function logDecision(
  request: FastifyRequest,
  endpoint: Endpoint,
  admission: AdmissionRequest,
  decision: Decision,
): void {
  if (decision.allowed && request.log.level !== 'debug' && request.log.level !== 'trace') return;
  const rules = [...new Set(decision.rules)];
  const fields = {
    endpoint,
    uid: clip(admission.uid),
    operation: admission.operation,
    namespace: typeof admission.namespace === 'string' ? clip(admission.namespace) : undefined,
    name: typeof admission.name === 'string' && admission.name !== '' ? clip(admission.name) : undefined,
    dryRun: admission.dryRun === true || undefined,
    rules:
      rules.length > 0
        ? rules.length > MAX_LOGGED_RULES
          ? [...rules.slice(0, MAX_LOGGED_RULES), `… ${rules.length - MAX_LOGGED_RULES} more`]
          : rules
        : undefined,
  };
  if (!decision.allowed) request.log.info(fields, 'denied');
  else request.log.debug({ ...fields, outcome: decision.outcome }, 'admitted');
}

const MAX_LOGGED_RULES = 20;

/** The methods this server's routes use, in the order an Allow header names them. */
const ROUTE_METHODS = ['GET', 'HEAD', 'POST'] as const;

function endpointOf(request: FastifyRequest): string {
  return request.routeOptions?.url?.replace(/^\//, '') || 'unknown';
}

function describeHttpError(error: FastifyError, request: FastifyRequest): { status: number; message: string } {
  if (error instanceof BodyError) return { status: error.statusCode, message: error.message };
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        status: 400,
        message: `Content-Type must be application/json, got ${JSON.stringify(clip(request.headers['content-type'] ?? '', 100))}`,
      };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, message: LENGTH_MISMATCH };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, message: TOO_LARGE };
  }
  const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
  return { status, message: status >= 500 ? 'internal error' : error.message };
}

/** The reason phrase of an error status, for the `error` field of every JSON refusal (Node's table; 500's when unknown). */
export function httpErrorName(status: number): string {
  return STATUS_CODES[status] ?? 'Internal Server Error';
}

/**
 * Every JSON refusal's body: Fastify's own error shape, and a Kubernetes
 * `Status` in the same object. kube-apiserver reads a failed webhook call's
 * body as a Status when it can, and then shows its message to the user
 * ("failed calling webhook ...: failed to call webhook: overloaded: ...");
 * any other body became "an error on the server ("unknown")".
 */
export function errorBody(status: number, message: string): ErrorBody {
  return {
    statusCode: status,
    error: httpErrorName(status),
    message,
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    reason: STATUS_REASONS[status] ?? (status >= 500 ? 'InternalError' : 'BadRequest'),
    code: status,
  };
}

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  reason: string;
  code: number;
}

/** metav1.StatusReason for the statuses this server answers with (k8s.io/apimachinery pkg/apis/meta/v1/types.go). */
const STATUS_REASONS: Readonly<Record<number, string>> = {
  400: 'BadRequest',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  408: 'Timeout',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

/** The media type is application/json (parameters such as charset allowed), as the JSON parser is registered for. */
function isJson(contentType: string | undefined): boolean {
  if (contentType === 'application/json') return true; // what kube-apiserver sends, told without building strings
  return contentType !== undefined && contentType.split(';', 1)[0]!.trim().toLowerCase() === 'application/json';
}

/**
 * Why a body is encoded in a way this reader does not undo, if it is. The reader takes the bytes as JSON text:
 * a gzip body would get a parse error quoting binary bytes, and a plain one labelled gzip would be judged as
 * though the label were not there. kube-apiserver sends reviews uncompressed.
 */
function unsupportedCoding(headers: FastifyRequest['headers']): string | undefined {
  const encoding = headers['content-encoding'];
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity')
    return `Content-Encoding ${JSON.stringify(clip(encoding, 100))} is not supported: send the AdmissionReview uncompressed`;
  const transfer = headers['transfer-encoding'];
  if (transfer !== undefined && transfer.trim().toLowerCase() !== 'chunked')
    return `Transfer-Encoding ${JSON.stringify(clip(transfer, 100))} is not supported: send the AdmissionReview uncompressed, with Content-Length or chunked`;
  return undefined;
}

/** The declared Content-Length; undefined when none or when it is not a number (Node refuses those itself). */
function declaredLength(request: FastifyRequest): number | undefined {
  const raw = request.headers['content-length'];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** The caller's `?timeout=` (a Go duration) in milliseconds; undefined when absent or malformed (it is advisory). */
function callerTimeoutMs(request: FastifyRequest): number | undefined {
  const raw = (request.query as Record<string, unknown> | undefined)?.timeout;
  const parsed = typeof raw === 'string' ? parseGoDuration(raw) : undefined;
  return parsed?.ok ? Number(parsed.nanos) / 1e6 : undefined;
}

const REAL_TIMERS: AppTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * How many ordinary reviews may wait for room per admission slot. A burst of
 * kube-apiserver calls (a GitOps sync of a hundred Sidecars) reaches a replica
 * within one read of its sockets; with one waiter per slot, a third of a
 * burst of 100 small reviews was refused with 503 although each is decided
 * in well under a millisecond. A waiter holds its socket and at most Node's
 * 16 KiB of unread body (plus one read): 128 of them about 10 MB.
 */
const WAITERS_PER_SLOT = 4;

/**
 * Requests waiting for room: room that incomplete bodies will have to give
 * up shortly (when they are yieldAfterMs old, gate.ts), or that complete
 * bodies being decided will free when answered. Each retries when its timer
 * fires or when room is freed, whichever comes first. At most `capacity` wait
 * at once, so waiting cannot itself be a way to hold memory (a waiting
 * request's body is not read: Node stops reading its socket once a few KB
 * are buffered), and one whose connection closes leaves at once.
 */
class WaitingRoom {
  /** Each waiter's reply and its wait. */
  private readonly waiters = new Map<FastifyReply, Wait>();
  /** When each waiting request first came to wait: its place in the queue, kept when it waits again. */
  private readonly firstCame = new WeakMap<FastifyReply, number>();
  private arrivals = 0;

  constructor(
    readonly capacity: number,
    private readonly timers: AppTimers,
  ) {}

  /** Calls `retry` in `ms` (or sooner, on wake()) unless the connection closes first; false when the room is full. */
  wait(reply: FastifyReply, ms: number, retry: () => void): boolean {
    if (this.waiters.size >= this.capacity) return false;
    let place = this.firstCame.get(reply);
    if (place === undefined) {
      place = this.arrivals++;
      this.firstCame.set(reply, place);
    }
    const wait: Wait = {
      retry,
      place,
      leave: () => {
        this.timers.clearTimeout(handle);
        reply.raw.off('close', wait.leave);
        if (this.waiters.get(reply) === wait) this.waiters.delete(reply);
      },
    };
    const handle = this.timers.setTimeout(() => this.retry(reply, wait), Math.max(0, ms));
    reply.raw.once('close', wait.leave);
    this.waiters.set(reply, wait);
    return true;
  }

  /**
   * Room was freed: waiters retry in the order they first came, until one
   * finds none (it waits again, keeping its place, or is refused at its
   * deadline): each release frees one request's room, so retrying every
   * waiter on every release would be a hundred admissions tried per answer.
   */
  wake(): void {
    // Every response's close calls this: with nobody waiting (the usual case) it allocates nothing.
    if (this.waiters.size === 0) return;
    const inOrder = [...this.waiters].sort((a, b) => a[1].place - b[1].place);
    for (const [reply, wait] of inOrder) {
      this.retry(reply, wait);
      if (this.waiters.has(reply)) return;
    }
  }

  private retry(reply: FastifyReply, wait: Wait): void {
    // Once per wait: a retry may free room and wake the others, or wait again (a new Wait, the same place).
    if (this.waiters.get(reply) !== wait) return;
    wait.leave();
    wait.retry();
  }
}

interface Wait {
  retry(): void;
  /** The request's place in the queue (WaitingRoom.firstCame). */
  readonly place: number;
  leave(): void;
}

/**
 * Judges the bodies in flight every `everyMs`. A tick that comes much later
 * than due means this process was not reading (a long parse, a GC pause):
 * bodies look slow over such a stretch through no fault of their senders, so
 * that tick judges nothing.
 */
function sweeper<H>(gate: AdmissionGate<H>, everyMs: number, cut: (c: Cut<H>) => void): NodeJS.Timeout {
  let last = performance.now();
  const timer = setInterval(() => {
    const at = performance.now();
    const attentive = at - last < 2 * everyMs;
    last = at;
    for (const c of gate.sweep(attentive)) cut(c);
  }, everyMs);
  timer.unref();
  return timer;
}

// /validate and /mutate: admit (bounded in-flight), decode, check the
// caller's deadline, decide, send. Anything that is not a well-formed
// AdmissionReview gets a 4xx JSON error naming the problem. An exception while
// deciding is answered with HTTP 500, never a crash: a 500 is a failed call to
// kube-apiserver, so the webhook's failurePolicy decides (an AdmissionReview
// with allowed:false would be a denial even under Ignore).
import { performance } from 'node:perf_hooks';
import type { TLSSocket } from 'node:tls';
import type { FastifyError, FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import { decodeReview } from '../admission/decode.js';
import { errored, fromDecision, toReview } from '../admission/respond.js';
import type { AdmissionRequest, AdmissionResponse } from '../admission/types.js';
import type { Decision } from '../admission/decision.js';
import { parseGoDuration } from '../sidecar/go/duration.js';
import type { AppDeps, AppLimits } from './types.js';
import { BodyError } from './json.js';

type Endpoint = 'validate' | 'mutate';

export const admissionRoutes: FastifyPluginCallback<{ deps: AppDeps; limits: Required<AppLimits> }> = (app, { deps, limits }, done) => {
  const now = deps.now ?? (() => performance.now());
  const arrivedAt = new WeakMap<FastifyRequest, number>();
  let inflight = 0;
  // Refusals since the last admitted request: one log line per overload episode, not per request.
  let refused = 0;

  // Runs once the request head has arrived, before the body is read: an
  // overloaded replica refuses without buffering anything.
  // With --client-ca the handshake asks for a certificate but lets the
  // kubelet's probes in without one; admission requests must present one.
  const requireClientCert = deps.https?.requestCert === true;
  app.addHook('onRequest', (request, reply, next) => {
    if (requireClientCert && !(request.raw.socket as TLSSocket).authorized) {
      deps.observer?.httpError?.(endpointOf(request), 403);
      const why = (request.raw.socket as TLSSocket).authorizationError ?? 'no client certificate';
      void reply
        .code(403)
        .header('connection', 'close')
        .send({ statusCode: 403, error: 'Forbidden', message: `a client certificate signed by the --client-ca authority is required (${String(why)})` });
      return;
    }
    if (inflight >= limits.maxInflight) {
      deps.observer?.httpError?.(endpointOf(request), 503);
      if (refused++ === 0) request.log.warn({ maxInflight: limits.maxInflight }, 'overloaded: refusing admission requests with 503');
      // Closing the connection makes the client (or kube-proxy) pick a replica again.
      void reply
        .code(503)
        .header('retry-after', String(limits.retryAfterSeconds))
        .header('connection', 'close')
        .send({ statusCode: 503, error: 'Service Unavailable', message: `overloaded: ${inflight} admission requests in flight (limit ${limits.maxInflight}); retry after ${limits.retryAfterSeconds}s` });
      return;
    }
    if (refused > 0) {
      request.log.info({ refused }, 'overload over');
      refused = 0;
    }
    inflight++;
    arrivedAt.set(request, now());
    // A response emits 'close' once it is done or its connection went away mid-request: either ends the slot.
    reply.raw.once('close', () => inflight--);
    next();
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const { status, message } = describeHttpError(error, request);
    deps.observer?.httpError?.(endpointOf(request), status);
    if (status >= 500) request.log.error({ err: error }, 'admission request failed');
    return reply.code(status).send({ statusCode: status, error: httpErrorName(status), message });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `no route ${request.method} ${request.url}; use POST /validate or /mutate` }),
  );

  const handle = (endpoint: Endpoint, decide: (r: AdmissionRequest) => Decision) =>
    async (request: FastifyRequest, reply: FastifyReply) => {
      const decoded = decodeReview(request.body);
      if (!decoded.ok) {
        deps.observer?.httpError?.(endpoint, 400);
        return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: `not an AdmissionReview: ${decoded.error}` });
      }
      const { apiVersion, request: admission } = decoded;
      const late = lateness(request, arrivedAt.get(request), now);
      if (late) {
        deps.observer?.internalError?.(endpoint, new Error(late), admission);
        request.log.warn({ uid: admission.uid, endpoint }, late);
        return reply.code(200).type('application/json').send(toReview(apiVersion, deadlineExceeded(admission.uid, late)));
      }
      const started = process.hrtime.bigint();
      let decision: Decision;
      try {
        decision = decide(admission);
      } catch (err) {
        deps.observer?.internalError?.(endpoint, err, admission);
        request.log.error({ err, uid: admission.uid, endpoint }, 'internal error while reviewing');
        const message = `sidecar-guard internal error while reviewing ${admission.uid}: ${(err as Error)?.message ?? String(err)}`;
        return reply.code(500).send({ statusCode: 500, error: 'Internal Server Error', message });
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      deps.observer?.admission?.({ endpoint, request: admission, decision, seconds });
      logDecision(request, endpoint, admission, decision);
      return reply.code(200).type('application/json').send(toReview(apiVersion, fromDecision(admission.uid, decision)));
    };

  app.post('/validate', handle('validate', deps.validate));
  const mutate = deps.mutate;
  if (mutate) app.post('/mutate', handle('mutate', mutate));
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
function lateness(request: FastifyRequest, arrived: number | undefined, now: () => number): string | undefined {
  const raw = (request.query as Record<string, unknown> | undefined)?.timeout;
  if (typeof raw !== 'string' || arrived === undefined) return undefined;
  const parsed = parseGoDuration(raw);
  if (!parsed.ok) return undefined;
  const budgetMs = Number(parsed.nanos) / 1e6;
  const elapsedMs = now() - arrived;
  if (elapsedMs < budgetMs) return undefined;
  return `timeout=${raw} expired ${Math.round(elapsedMs - budgetMs)}ms before this request could be decided: not decided (the API server has given up on it)`;
}

function deadlineExceeded(uid: string, message: string): AdmissionResponse {
  const response = errored(uid, 504, `sidecar-guard: ${message}`);
  return { ...response, status: { ...response.status, reason: 'Timeout' } };
}

/** One line per denial at info level; allowed requests are only logged at debug. */
function logDecision(request: FastifyRequest, endpoint: Endpoint, admission: AdmissionRequest, decision: Decision): void {
  if (decision.allowed && request.log.level !== 'debug' && request.log.level !== 'trace') return;
  const fields = {
    endpoint,
    uid: admission.uid,
    operation: admission.operation,
    namespace: admission.namespace,
    name: admission.name || undefined,
    dryRun: admission.dryRun === true || undefined,
    rules: decision.rules.length > 0 ? decision.rules : undefined,
  };
  if (!decision.allowed) request.log.info(fields, 'denied');
  else request.log.debug({ ...fields, outcome: decision.outcome }, 'admitted');
}

function endpointOf(request: FastifyRequest): string {
  return request.routeOptions?.url?.replace(/^\//, '') || 'unknown';
}

function describeHttpError(error: FastifyError, request: FastifyRequest): { status: number; message: string } {
  if (error instanceof BodyError) return { status: error.statusCode, message: error.message };
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 400, message: `Content-Type must be application/json, got ${JSON.stringify(request.headers['content-type'] ?? '')}` };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, message: 'Content-Length does not match the body' };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, message: 'body larger than 7 MiB: an AdmissionReview of a valid object is never that large' };
  }
  const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
  return { status, message: status >= 500 ? 'internal error' : error.message };
}

function httpErrorName(status: number): string {
  return ({ 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 408: 'Request Timeout', 413: 'Payload Too Large', 415: 'Unsupported Media Type', 503: 'Service Unavailable' } as Record<number, string>)[status] ?? 'Internal Server Error';
}

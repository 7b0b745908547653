// /validate and /mutate: decode, decide, send. Anything that is not a
// well-formed AdmissionReview gets a 4xx JSON error naming the problem; an
// exception while deciding becomes an errored AdmissionReview, never a crash.
import type { FastifyError, FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import { decodeReview } from '../admission/decode.js';
import { errored, fromDecision, toReview } from '../admission/respond.js';
import type { AdmissionRequest } from '../admission/types.js';
import type { Decision } from '../admission/decision.js';
import type { AppDeps } from './app.js';
import { BodyError } from './json.js';

type Endpoint = 'validate' | 'mutate';

export const admissionRoutes: FastifyPluginCallback<{ deps: AppDeps }> = (app, { deps }, done) => {
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
      const started = process.hrtime.bigint();
      let response;
      try {
        const decision = decide(admission);
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        deps.observer?.admission?.({ endpoint, request: admission, decision, seconds });
        logDecision(request, endpoint, admission, decision);
        response = fromDecision(admission.uid, decision);
      } catch (err) {
        deps.observer?.internalError?.(endpoint, err);
        request.log.error({ err, uid: admission.uid }, 'internal error while reviewing');
        response = errored(admission.uid, 500, `sidecar-guard internal error: ${(err as Error)?.message ?? String(err)}`);
      }
      return reply.code(200).type('application/json').send(toReview(apiVersion, response));
    };

  app.post('/validate', handle('validate', deps.validate));
  const mutate = deps.mutate;
  if (mutate) app.post('/mutate', handle('mutate', mutate));
  done();
};

/** One line per denial at info level; allowed requests are only logged at debug. */
function logDecision(request: FastifyRequest, endpoint: Endpoint, admission: AdmissionRequest, decision: Decision): void {
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
  return ({ 400: 'Bad Request', 404: 'Not Found', 413: 'Payload Too Large', 415: 'Unsupported Media Type', 503: 'Service Unavailable' } as Record<number, string>)[status] ?? 'Internal Server Error';
}

// buildApp(deps) returns a Fastify instance that does not listen: tests
// inject() into it, the composition root listens on it.
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { SecureContextOptions } from 'node:tls';
import type { Logger } from 'pino';
import type { Decision } from '../admission/decision.js';
import type { AdmissionRequest } from '../admission/types.js';
import { registerJsonParser } from './json.js';
import { admissionRoutes } from './routes.js';
import { healthRoutes, type Readiness } from './health.js';

/** controller-runtime's limit: the API server accepts 3 MiB objects, and a review carries two of them. */
export const MAX_BODY_BYTES = 7 * 1024 * 1024;

export interface AdmissionEvent {
  endpoint: 'validate' | 'mutate';
  request: AdmissionRequest;
  decision: Decision;
  seconds: number;
}

export interface AppObserver {
  admission?(event: AdmissionEvent): void;
  httpError?(endpoint: string, status: number): void;
  internalError?(endpoint: string, error: unknown): void;
}

export interface AppDeps {
  validate(request: AdmissionRequest): Decision;
  mutate?(request: AdmissionRequest): Decision;
  readiness(): Readiness;
  logger?: Logger;
  observer?: AppObserver;
  /** TLS options for the listening socket; omit only for inject()-based tests. */
  https?: SecureContextOptions & { requestCert?: boolean; rejectUnauthorized?: boolean; SNICallback?: unknown };
  timeouts?: { headersMs?: number; requestMs?: number; keepAliveMs?: number };
}

export function buildApp(deps: AppDeps): FastifyInstance {
  const options: FastifyServerOptions & { https?: unknown } = {
    bodyLimit: MAX_BODY_BYTES,
    // One log line per denial is written by the routes; nothing per request.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    requestTimeout: deps.timeouts?.requestMs ?? 30_000,
    keepAliveTimeout: deps.timeouts?.keepAliveMs ?? 75_000,
  };
  if (deps.logger) (options as { loggerInstance?: Logger }).loggerInstance = deps.logger;
  if (deps.https) options.https = { minVersion: 'TLSv1.2', ...deps.https };
  const app = Fastify(options as FastifyServerOptions) as unknown as FastifyInstance;
  if (deps.timeouts?.headersMs) app.server.headersTimeout = deps.timeouts.headersMs;
  registerJsonParser(app, MAX_BODY_BYTES);
  app.register(healthRoutes, { readiness: deps.readiness });
  app.register(admissionRoutes, { deps });
  return app;
}

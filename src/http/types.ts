// The contract between buildApp and its routes: what the composition root
// passes in (AppDeps) and what the app reports back (AppObserver). Its own
// module so that app.ts and routes.ts both depend on it, not on each other.
import type { SecureContextOptions } from 'node:tls';
import type { Logger } from 'pino';
import type { Decision } from '../admission/decision.js';
import type { AdmissionRequest } from '../admission/types.js';
import type { Readiness } from './health.js';

export interface AdmissionEvent {
  endpoint: 'validate' | 'mutate';
  request: AdmissionRequest;
  decision: Decision;
  seconds: number;
}

export interface AppObserver {
  admission?(event: AdmissionEvent): void;
  httpError?(endpoint: string, status: number): void;
  internalError?(endpoint: string, error: unknown, request?: AdmissionRequest): void;
  /** A connection was closed at accept because maxConnections were open (see connections.ts). */
  connectionDropped?(): void;
}

/** Deadlines for slow or silent clients, in milliseconds. */
export interface AppTimeouts {
  /** The request line and headers must have arrived this long after the request started (slowloris). */
  headersMs?: number;
  /** The whole request, body included, must have arrived within this (slow uploads). */
  requestMs?: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveMs?: number;
  /** A socket with no traffic at all for this long is destroyed (Fastify's connectionTimeout). */
  connectionMs?: number;
  /** The TLS handshake must complete within this (a client that connects and never says hello). */
  handshakeMs?: number;
  /** How often Node checks headersMs and requestMs: a request is cut off between the deadline and one interval after it. */
  checkIntervalMs?: number;
  /** At shutdown, a kept-alive connection is closed once it has been quiet this long (no request, no byte); see drain.ts. */
  quietMs?: number;
}

export interface AppLimits {
  /** Open connections of the listener, idle ones included; beyond, a new connection is closed at accept. */
  maxConnections?: number;
  /** Admission requests (not probes) being received or decided at once; more get 503 with Retry-After. */
  maxInflight?: number;
  /** The Retry-After header of those 503s, in seconds. */
  retryAfterSeconds?: number;
  /** Body bytes of the admission requests in flight: each reserves its Content-Length (7 MiB when undeclared). */
  maxBodyBytesInFlight?: number;
  /** Of those, what bodies larger than smallBodyBytes may hold together (kube-apiserver's ordinary reviews are small). */
  maxLargeBodyBytesInFlight?: number;
  smallBodyBytes?: number;
  /** Share of the caller's deadline (?timeout=, else the request timeout) within which a body must arrive. */
  bodyShare?: number;
  /** A body is not judged too slow for its deadline before it has been arriving this long. */
  bodyGraceMs?: number;
  /** A body still incomplete this long after its head is cut (408) when a newcomer finds no room; a newcomer finding only younger ones waits for this. */
  bodyYieldAfterMs?: number;
  /** How often bodies in flight are judged. */
  sweepEveryMs?: number;
}

/** What the route knows when it asks for a decision. */
export interface DecideContext {
  /** Milliseconds left before the API server gives up on this call (its `?timeout=`); absent without one. */
  budgetMs?: number;
  /** Bytes of the review's body as read (a decision may skip work a short text cannot need). */
  bodyBytes?: number;
}

export interface AppDeps {
  /** May decide asynchronously (claims in the API server); throwing Undecided answers HTTP 500 so failurePolicy decides. */
  validate(request: AdmissionRequest, context?: DecideContext): Decision | Promise<Decision>;
  mutate?(request: AdmissionRequest): Decision;
  readiness(): Readiness;
  logger?: Logger;
  observer?: AppObserver;
  /** TLS options for the listening socket; omit only for inject()-based tests. */
  https?: SecureContextOptions & { requestCert?: boolean; rejectUnauthorized?: boolean; SNICallback?: unknown };
  timeouts?: AppTimeouts;
  limits?: AppLimits;
  /** True once shutdown began: every response then closes its connection. */
  draining?(): boolean;
  /** Monotonic milliseconds, for the `?timeout=` deadline, the body budget and closing (tests pass a fake clock). */
  now?(): number;
  /** Timers on that clock, for requests waiting for room (tests pass fake ones that their clock drives). */
  timers?: AppTimers;
}

export interface AppTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

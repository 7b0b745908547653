// Prometheus metrics for `serve`. Every Metrics owns its Registry, so tests
// and several servers in one process never collide on prom-client's global
// registry. The HTTP layer reports through AppObserver; cluster state
// (informers, reservations) is read at scrape time, never pushed.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Decision } from './admission/decision.js';
import type { AdmissionRequest } from './admission/types.js';
import type { ReflectorStatus } from './cluster/informer.js';
import type { ClaimObserver } from './cluster/admitter.js';
import type { AdmissionEvent, AppObserver } from './http/app.js';

export const METRIC_PREFIX = 'sidecar_guard_';

/**
 * Decision time is tens of microseconds, so the low buckets are fine-grained;
 * the top ones exist to catch a pathological request or a GC pause.
 */
export const DECISION_BUCKETS_SECONDS: readonly number[] = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
];

/**
 * The `decision` label. 'skipped' (a request the webhook does not judge: not
 * a Sidecar, DELETE, a subresource) stays separate from 'allowed', so a
 * webhook configuration that sends the wrong requests shows up.
 */
export type DecisionLabel = 'allowed' | 'denied' | 'warned' | 'skipped' | 'error';

/** Rule ids come from fixed catalogues; this only guards against a bug flooding label values. */
const RULE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const MAX_RULE_LABELS = 256;

export interface MetricsOptions {
  /** Node's process metrics (CPU, RSS, heap, event-loop lag, GC) under the same prefix. Default true. */
  defaultMetrics?: boolean;
  /** Clock for ages computed at scrape time (tests). */
  now?: () => number;
}

export interface Metrics extends AppObserver, ClaimObserver {
  readonly registry: Registry;
  admission(event: AdmissionEvent): void;
  httpError(endpoint: string, status: number): void;
  connectionDropped(): void;
  /** A connection to the metrics listener was closed at accept (its cap was reached). */
  metricsConnectionDropped(): void;
  /** `request` is optional because AppObserver does not pass it yet; without it the operation is "unknown". */
  internalError(endpoint: string, error: unknown, request?: AdmissionRequest): void;
  trackInformers(statusFn: () => readonly ReflectorStatus[]): void;
  trackReservations(sizeFn: () => number): void;
  /** Seconds since the epoch at which the certificate stops being valid; `certificate` names which one. */
  setCertificateExpiry(notAfter: Date, certificate?: string): void;
  /** The outcome of a reachability proof (the dry-run create before failurePolicy: Fail). */
  webhookReachability(proof: { reachable: boolean; result: string }): void;
  /** One of this replica's admissions ended by its expiry without the view ever showing it. */
  claimExpiredUnobserved(): void;
  /** --defaults-prometheus: hosts of a namespace's managed default no call used in the window (kept), and those removed (--defaults-prune). */
  defaultsUnusedHosts(namespace: string, unused: number, pruned: number): void;
}

export function createMetrics(opts: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const now = opts.now ?? Date.now;
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  const admission = admissionMetrics(registry);
  const cluster = clusterMetrics(registry, now);
  const reachability = reachabilityMetrics(registry);
  const claims = claimMetrics(registry);
  const defaults = defaultsMetrics(registry);
  return {
    registry,
    admission: (event) => admission.decided(event.endpoint, event.request.operation, event.decision, event.seconds),
    httpError: (endpoint, status) => admission.httpErrors.inc({ endpoint, status: String(status) }),
    connectionDropped: () => admission.connectionsDropped.inc(),
    metricsConnectionDropped: () => admission.metricsConnectionsDropped.inc(),
    internalError: (endpoint, _error, request) =>
      admission.requests.inc({ endpoint, operation: request?.operation ?? 'unknown', decision: 'error' }),
    trackInformers: (statusFn) => (cluster.informers = statusFn),
    trackReservations: (sizeFn) => (cluster.reservations = sizeFn),
    setCertificateExpiry: (notAfter, certificate = 'serving') =>
      cluster.certificateExpiry.set({ certificate }, Math.floor(notAfter.getTime() / 1000)),
    webhookReachability: (proof) => {
      reachability.checks.inc({ result: proof.result });
      reachability.reachable.set(proof.reachable ? 1 : 0);
    },
    claimWritten: (seconds) => claims.duration.observe(seconds),
    claimConflict: () => claims.conflicts.inc(),
    claimFailed: (reason) => claims.failures.inc({ reason }),
    claimExpiredUnobserved: () => claims.expired.inc(),
    defaultsUnusedHosts: (namespace, unused, pruned) => {
      defaults.unused.set({ namespace }, unused);
      if (pruned > 0) defaults.pruned.inc({ namespace }, pruned);
    },
  };
}

/** --defaults-prometheus: what traffic-derived defaults would remove, per namespace (bounded by the namespaces managed). */
function defaultsMetrics(registry: Registry) {
  return {
    unused: new Gauge({
      name: `${METRIC_PREFIX}defaults_unused_hosts`,
      help: 'Egress hosts of a managed namespace default that no call used in the --defaults-window, kept because hosts are only added (remove them with --defaults-prune).',
      labelNames: ['namespace'],
      registers: [registry],
    }),
    pruned: new Counter({
      name: `${METRIC_PREFIX}defaults_pruned_hosts_total`,
      help: 'Egress hosts removed from managed namespace defaults because no call used them in the --defaults-window (--defaults-prune).',
      labelNames: ['namespace'],
      registers: [registry],
    }),
  };
}

/** Claims in the API server (--claims=api), and admissions that were never stored. */
function claimMetrics(registry: Registry) {
  return {
    duration: new Histogram({
      name: `${METRIC_PREFIX}claim_duration_seconds`,
      help: 'Time from the first attempt to write a batch of claims (--claims=api) to its success, re-reads and retries after conflicts included.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    conflicts: new Counter({
      name: `${METRIC_PREFIX}claim_conflicts_total`,
      help: 'Claim writes that found another replica had written first (409): re-read, decided again and retried.',
      registers: [registry],
    }),
    failures: new Counter({
      name: `${METRIC_PREFIX}claim_failures_total`,
      help: 'Admission requests answered with HTTP 500 (failurePolicy decides) because their claim could not be written, by reason: timeout, api-error, stale-view (the view is older than --max-staleness), too-large, capacity.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    expired: new Counter({
      name: `${METRIC_PREFIX}claims_expired_unobserved_total`,
      help: "This replica's admitted Sidecars whose --reservation-ttl passed with the view current and never showing them: the API server refused them after admission (a later webhook, AlreadyExists, a timeout).",
      registers: [registry],
    }),
  };
}

/** --fail-closed-when-ready: whether the API server was last seen reaching this webhook, and every proof by outcome. */
function reachabilityMetrics(registry: Registry) {
  return {
    reachable: new Gauge({
      name: `${METRIC_PREFIX}webhook_reachable`,
      help: '1 when the last dry-run create of an invalid Sidecar came back denied by this webhook (the API server reaches it), else 0 (also before the first proof). failurePolicy is set to Fail only after a 1.',
      registers: [registry],
    }),
    checks: new Counter({
      name: `${METRIC_PREFIX}webhook_reachability_checks_total`,
      help: 'Reachability proofs by result: denied (reachable), admitted (the API server let the invalid probe through: not called, or a failed call ignored), call-failed (the API server reports it could not call us), denied-by-other (another webhook answered), api-error (the dry run failed before admission, e.g. RBAC).',
      labelNames: ['result'],
      registers: [registry],
    }),
  };
}

function admissionMetrics(registry: Registry) {
  const requests = new Counter({
    name: `${METRIC_PREFIX}admission_requests_total`,
    help: 'AdmissionReviews answered, by endpoint, operation and decision (allowed, denied, warned, skipped: not judged, error: internal error).',
    labelNames: ['endpoint', 'operation', 'decision'],
    registers: [registry],
  });
  const rules = new Counter({
    name: `${METRIC_PREFIX}admission_rule_findings_total`,
    help: 'Denied or warned decisions per rule id involved: one increment per distinct rule id of each decision.',
    labelNames: ['endpoint', 'operation', 'decision', 'rule'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: `${METRIC_PREFIX}admission_decision_duration_seconds`,
    help: 'Time spent deciding one AdmissionReview (rules and cluster view), excluding HTTP, TLS and JSON.',
    labelNames: ['endpoint', 'decision'],
    buckets: [...DECISION_BUCKETS_SECONDS],
    registers: [registry],
  });
  const httpErrors = new Counter({
    name: `${METRIC_PREFIX}http_errors_total`,
    help: 'Requests refused with an HTTP error instead of an AdmissionReview, by endpoint and status: the routes\' (400 bad body or Content-Type or a URL that cannot be decoded, 403, 404 (CONNECT included), 408 body cut as too slow or to make room, 413, 415 compressed body, 503 overloaded, 500) and Node\'s own (400 malformed HTTP, 408 head or body past its deadline, 417 an Expect other than 100-continue, 431 headers too large). Endpoint "unknown" when no admission route was reached, "metrics" for the metrics listener\'s own (400, 408, 417, 431).',
    labelNames: ['endpoint', 'status'],
    registers: [registry],
  });
  const connectionsDropped = new Counter({
    name: `${METRIC_PREFIX}connections_dropped_total`,
    help: 'Connections to the admission port closed at accept, unanswered, because --max-connections were open.',
    registers: [registry],
  });
  // A series of its own rather than a label on the one above: that one's
  // unlabelled series is what dashboards and bench/attack.ts already read.
  const metricsConnectionsDropped = new Counter({
    name: `${METRIC_PREFIX}metrics_connections_dropped_total`,
    help: 'Connections to the metrics listener (/metrics, /healthz, /readyz) closed at accept, unanswered, because its fixed cap of open connections (64) was reached.',
    registers: [registry],
  });
  const ruleLabel = boundedRuleLabel();

  function decided(endpoint: string, operation: string, decision: Decision, seconds: number): void {
    const label = decision.outcome as DecisionLabel;
    requests.inc({ endpoint, operation, decision: label });
    duration.observe({ endpoint, decision: label }, seconds);
    if (label !== 'denied' && label !== 'warned') return;
    for (const rule of new Set(decision.rules))
      rules.inc({ endpoint, operation, decision: label, rule: ruleLabel(rule) });
  }
  return { requests, httpErrors, connectionsDropped, metricsConnectionsDropped, decided };
}

/** Known-shaped rule ids pass through; anything else, or more distinct ids than any catalogue holds, becomes "other". */
function boundedRuleLabel(): (rule: string) => string {
  const seen = new Set<string>();
  return (rule) => {
    if (seen.has(rule)) return rule;
    if (!RULE_ID.test(rule) || seen.size >= MAX_RULE_LABELS) return 'other';
    seen.add(rule);
    return rule;
  };
}

interface ClusterSources {
  informers?: () => readonly ReflectorStatus[];
  reservations?: () => number;
  readonly certificateExpiry: Gauge<'certificate'>;
}

function clusterMetrics(registry: Registry, now: () => number): ClusterSources {
  const sources: ClusterSources = {
    certificateExpiry: new Gauge({
      name: `${METRIC_PREFIX}certificate_expiry_timestamp_seconds`,
      help: 'When the certificate expires (notAfter), in seconds since the Unix epoch.',
      labelNames: ['certificate'],
      registers: [registry],
    }),
  };
  const perResource = (name: string, help: string, value: (s: ReflectorStatus) => number | undefined) =>
    new Gauge({
      name: `${METRIC_PREFIX}${name}`,
      help,
      labelNames: ['resource'],
      registers: [registry],
      collect() {
        this.reset();
        for (const s of sources.informers?.() ?? []) {
          const v = value(s);
          if (v !== undefined) this.set({ resource: s.resource }, v);
        }
      },
    });
  perResource('informer_synced', '1 once the resource has been listed at least once, else 0.', (s) =>
    s.synced ? 1 : 0,
  );
  perResource('informer_connected', '1 while the watch stream of the resource is open, else 0.', (s) =>
    s.connected ? 1 : 0,
  );
  perResource(
    'informer_last_sync_age_seconds',
    'Seconds since the last successful list of the resource (absent before the first).',
    (s) => (s.lastSyncAt === undefined ? undefined : Math.max(0, (now() - s.lastSyncAt) / 1000)),
  );
  perResource(
    'informer_disconnected_seconds',
    'Seconds the watch of the resource has been down (0 while connected).',
    (s) => (s.disconnectedSince === undefined ? 0 : Math.max(0, (now() - s.disconnectedSince) / 1000)),
  );
  perResource(
    'informer_lists',
    'Full lists of the resource since start (more than one means re-lists after errors or 410 Gone).',
    (s) => s.lists,
  );
  new Gauge({
    name: `${METRIC_PREFIX}reservations_in_flight`,
    help: 'Admitted Sidecars (by this replica, or by others through claims it has read) that its view has not shown yet and that still count in its decisions.',
    registers: [registry],
    collect() {
      this.set(sources.reservations?.() ?? 0);
    },
  });
  return sources;
}

// Child: an HTTPS server for the load phases, alone on its event loop.
//   --mode noop      the ceiling: the same Fastify over HTTPS, POST /noop parses
//                    the body with Fastify's default JSON parser and answers {"ok":true}
//   --mode validate  buildApp wired like `serve` (Admitter over a ClusterStore
//                    holding --sidecars Sidecars, Metrics as observer, pino at info)
//   --mode stub      the same buildApp with a decision that allows without looking,
//                    to split /validate's cost into HTTP layer and decision;
//                    with --burn-us N the stub spins N µs of wall time first: a
//                    decision of known cost that touches no memory
//   --mode noop-app  the fair ceiling: the same buildApp, store and parser in
//                    the same heap, and a route POST /noop beside /validate that
//                    answers {"ok":true} without deciding (Fastify, TLS, our
//                    JSON parser and buildApp's root hooks, nothing else)
// Reports {"port": N} once listening. Records each request's time inside the
// server (first byte parsed → response written); SIGUSR2 clears the record;
// SIGWINCH runs a full GC (gc-trace.ts, fullGcDuringWarmUp).
// On SIGTERM reports those latencies and the decisions' mean (from its own
// metrics), then closes.
import Fastify, { type FastifyInstance } from 'fastify';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import type { Decision } from '../src/admission/decision.js';
import { report } from './child.js';
import { FULL_GC_SIGNAL } from './gc-trace.js';
import { loadProduct } from './product.js';
import { summarize } from './stats.js';
import { clusterPlan, loadCluster } from './workload.js';

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'validate' },
    'cert-dir': { type: 'string' },
    sidecars: { type: 'string', default: '10000' },
    'burn-us': { type: 'string', default: '0' },
  },
});
if (!values['cert-dir']) throw new Error('--cert-dir is required');
const { ClusterStore, localAdmitter, buildApp, MAX_BODY_BYTES, createMetrics, readServingPair, root } =
  await loadProduct();
const serving = readServingPair(values['cert-dir']);
const https = { key: serving.keyPem, cert: serving.certPem };

function noopServer() {
  const app = Fastify({
    https: { ...https, minVersion: 'TLSv1.2' },
    bodyLimit: MAX_BODY_BYTES,
    keepAliveTimeout: 75_000,
    logger: false,
  });
  app.post('/noop', async () => ({ ok: true }));
  return app;
}

const metrics = createMetrics();

/** Mean decision time as the route measured it, in microseconds. */
async function decisionStats(): Promise<{ decisions: number; meanUs: number } | undefined> {
  const histogram = metrics.registry.getSingleMetric('sidecar_guard_admission_decision_duration_seconds');
  if (!histogram) return undefined;
  const { values: samples } = await histogram.get();
  const total = (suffix: string) =>
    samples.filter((s) => (s as { metricName?: string }).metricName?.endsWith(suffix)).reduce((a, s) => a + s.value, 0);
  const decisions = total('_count');
  return decisions > 0 ? { decisions, meanUs: (total('_sum') / decisions) * 1e6 } : undefined;
}

function validateServer(mode: 'validate' | 'stub' | 'noop-app') {
  const stub = mode === 'stub';
  const store = new ClusterStore();
  loadCluster(store, clusterPlan(Number(values.sidecars)));
  const { admitter, reservations } = localAdmitter(store, { overlap: 'workloads', rootNamespace: 'istio-system' });
  const allow: Decision = { allowed: true, outcome: 'allowed', warnings: [], rules: [] };
  const burnMs = Number(values['burn-us']) / 1000;
  const stubDecision = () => {
    for (const until = performance.now() + burnMs; performance.now() < until; );
    return allow;
  };
  metrics.trackReservations(() => reservations.size());
  // Production logs JSON lines to stdout; at info nothing is written for an allowed request.
  const logger = pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: false }));
  const app = buildApp({
    // As main.ts wires it: the context carries the body's size (a short body skips the size walk) and the budget.
    validate: stub ? stubDecision : (r, context) => admitter.validate(r, context),
    readiness: () => ({ ready: true, reasons: [] }),
    logger,
    observer: metrics,
    https,
  });
  if (mode === 'noop-app') app.post('/noop', async () => ({ ok: true }));
  return app;
}

const mode = values.mode as 'noop' | 'noop-app' | 'validate' | 'stub';
if (!['noop', 'noop-app', 'validate', 'stub'].includes(mode)) throw new Error(`unknown --mode ${mode}`);
const app = (mode === 'noop' ? noopServer() : validateServer(mode)) as unknown as FastifyInstance;
let inServerMs: number[] = [];
// The start rides on the request itself: a WeakMap entry per request would be the benchmark's own promotion (its
// table, past 256 entries and in old space, is reallocated in old space, and each replaced one holds its requests).
const startedAt = Symbol('startedAt');
type Timed = { [startedAt]?: number };
app.addHook('onRequest', (request, _reply, done) => {
  (request.raw as Timed)[startedAt] = performance.now();
  done();
});
app.addHook('onResponse', (request, _reply, done) => {
  const t0 = (request.raw as Timed)[startedAt];
  if (t0 !== undefined) inServerMs.push(performance.now() - t0);
  done();
});
process.on('SIGUSR2', () => (inServerMs = []));
// The runner's full GC under load (fullGcDuringWarmUp in gc-trace.ts; gc() exists with --expose-gc).
process.on(FULL_GC_SIGNAL, () => (globalThis as { gc?: () => void }).gc?.());
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
report({ port: typeof address === 'object' && address ? address.port : 0, mode: values.mode, root });
process.once('SIGTERM', () => {
  void decisionStats()
    .then((stats) =>
      report({
        stopped: true,
        decision: stats ?? null,
        inServerMs: inServerMs.length > 0 ? summarize(inServerMs) : null,
      }),
    )
    .then(() => app.close())
    .then(() => process.exit(0));
});

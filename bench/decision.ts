// Child: the cost of one decision, in process, warm. review() on the CREATE
// of a selector Sidecar, timed call by call with hrtime, for clusters of
// growing size; in the largest also in the namespace holding 1,000 Sidecars,
// and through the Admitter (reservation overlay) as `serve` calls it.
//   node --import tsx --expose-gc bench/decision.ts --sizes 100,1000,10000 --iterations N --warmup N
import { parseArgs } from 'node:util';
import type { AdmissionRequest } from '../src/admission/types.js';
import type { Decision } from '../src/admission/decision.js';
import type { ReviewOptions } from '../src/sidecar/review.js';
import { report } from './child.js';
import { bytesPerCall } from './heap.js';
import { loadProduct } from './product.js';
import { cpuUsPerCall, median, summarize, type Summary } from './stats.js';
import {
  clusterPlan,
  createReview,
  sidecarObject,
  CROWDED_NAMESPACE,
  loadCluster,
  newSidecar,
  typicalNamespaces,
} from './workload.js';

export interface DecisionSize {
  sidecars: number;
  pods: number;
  namespaces: number;
  loadMs: number;
  /** Microseconds per decision, in namespaces of ten Sidecars. */
  typical: Measured;
  /** Microseconds per decision in the namespace with 1,000 Sidecars (largest cluster only). */
  crowded?: Measured;
  /** Microseconds per Admitter.validate (dry run, so no reservation piles up). */
  admitter?: Measured;
  /** As serve runs it: the reserving Admitter on a freshly parsed body each time (largest cluster only). */
  server?: ServerDecision;
  /**
   * The reserving Admitter in a namespace holding BURST Sidecars admitted but
   * not shown by the view yet (a GitOps sync creating many at once), each
   * with a selector of its own (largest cluster only).
   */
  burst?: Measured;
}

/** Sidecars of one namespace admitted just before, that the view has not shown yet. */
export const BURST = 1_000;

export interface ServerDecision {
  /** CPU per decision, median over rounds of (parse + decide) − (parse alone), interleaved block by block. */
  cpuUs: number;
  cpuUsRounds: number[];
  /** CPU to parse the body alone (JSON.parse, as the app's parser does after its checks). */
  parseCpuUs: number;
  /** Heap bytes one decision allocates: median over windows without a GC of the used heap's growth. */
  allocBytes: number;
  allocWindows: number;
}

const { review, ClusterStore, localAdmitter, root } = await loadProduct();
// The rules with their defaults (overlap workloads, unknown hosts warn), as `serve` runs them.
const OPTIONS: ReviewOptions = { overlap: 'workloads', rootNamespace: 'istio-system' };

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100,1000,10000' },
    iterations: { type: 'string', default: '100000' },
    warmup: { type: 'string', default: '20000' },
    'crowded-iterations': { type: 'string' },
  },
});
const sizes = values.sizes.split(',').map(Number);
const iterations = Number(values.iterations);
const warmup = Number(values.warmup);
const crowdedIterations = Number(values['crowded-iterations'] ?? iterations);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

/**
 * Per-call wall time (with preemption by other processes) plus the mean CPU
 * time per call (without it). p50 and p99 are the medians of those of five
 * consecutive blocks of calls: on a shared machine one burst of other work
 * lands in one block and moves its p99, not the figure (in one full run the
 * growth ratio, two p99s divided, was 3.33 and 1.99 ten minutes later).
 * `p99Blocks` keeps each block's p99, `overall` the summary of every call.
 */
export type Measured = Summary & { cpuUs: number; p99Blocks: number[]; overall: Summary };

const BLOCKS = 5;

/** Times `decide` call by call over the request pool; microseconds. */
function measure(
  requests: readonly AdmissionRequest[],
  decide: (r: AdmissionRequest) => Decision,
  iterations: number,
): Measured {
  for (let i = 0; i < Math.min(warmup, iterations); i++) decide(requests[i % requests.length]!);
  gc();
  const samples = new Float64Array(iterations);
  let allowed = 0;
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < iterations; i++) {
    const request = requests[i % requests.length]!;
    const t0 = process.hrtime.bigint();
    const decision = decide(request);
    samples[i] = Number(process.hrtime.bigint() - t0) / 1_000;
    if (decision.allowed) allowed++;
  }
  const cpu = process.cpuUsage(cpu0);
  if (allowed !== iterations) throw new Error(`expected every decision to allow, ${iterations - allowed} did not`);
  const per = Math.floor(iterations / BLOCKS);
  const blocks = Array.from({ length: BLOCKS }, (_, b) => summarize(samples.subarray(b * per, (b + 1) * per)));
  const overall = summarize(samples);
  return {
    ...overall,
    p50: median(blocks.map((b) => b.p50)),
    p99: median(blocks.map((b) => b.p99)),
    cpuUs: (cpu.user + cpu.system) / iterations,
    p99Blocks: blocks.map((b) => b.p99),
    overall,
  };
}

/** The benchmark must time the full "allowed after every rule" path, not an early denial. */
function assertAllowedClean(request: AdmissionRequest, decision: Decision): void {
  if (decision.outcome !== 'allowed') {
    throw new Error(
      `workload bug: ${request.namespace}/${request.name} is ${decision.outcome}: ${decision.message ?? decision.warnings.join('; ')}`,
    );
  }
}

/**
 * serve's decision: Admitter.validate (local reservations: an admitted CREATE
 * is reserved) on a body parsed just before, so the request's objects are
 * young, as they are in the server. Each namespace's body keeps its uid, so a
 * namespace holds one reservation, replaced by every admission, as a real
 * replica holds one per admitted Sidecar until the watch shows it.
 */
async function measureServer(
  bodies: readonly string[],
  validate: (r: AdmissionRequest, bodyBytes: number) => Decision,
  block: number,
  rounds: number,
): Promise<ServerDecision> {
  let sink = 0;
  // serve knows each body's size in bytes as it reads it.
  const bodyBytes = bodies.map((b) => Buffer.byteLength(b));
  const parseOnly = (i: number) => {
    sink += (JSON.parse(bodies[i % bodies.length]!) as { request: unknown }).request ? 1 : 0;
  };
  const decide = (i: number) => {
    const d = validate(
      (JSON.parse(bodies[i % bodies.length]!) as { request: AdmissionRequest }).request,
      bodyBytes[i % bodies.length]!,
    );
    if (!d.allowed) throw new Error(`expected every decision to allow: ${d.message ?? d.warnings.join('; ')}`);
  };
  for (let i = 0; i < warmup; i++) decide(i);
  const both: number[] = [];
  const parse: number[] = [];
  for (let r = 0; r < rounds; r++) {
    // Alternate which goes first, so drift in the machine's load hits both alike.
    let d: number;
    let p: number;
    if (r % 2 === 0) {
      d = cpuUsPerCall(decide, block, r * block);
      p = cpuUsPerCall(parseOnly, block, r * block);
    } else {
      p = cpuUsPerCall(parseOnly, block, r * block);
      d = cpuUsPerCall(decide, block, r * block);
    }
    both.push(d);
    parse.push(p);
  }
  const cpuUsRounds = both.map((d, i) => d - parse[i]!);

  // Allocation: windows of a few decisions on bodies parsed beforehand.
  const WINDOW = 16;
  const window = (w: number) =>
    Array.from({ length: WINDOW }, (_, i) => {
      const j = (w * WINDOW + i) % bodies.length;
      return { request: (JSON.parse(bodies[j]!) as { request: AdmissionRequest }).request, bytes: bodyBytes[j]! };
    });
  const alloc = bytesPerCall(window, ({ request, bytes }) => validate(request, bytes));
  if (sink < 0) throw new Error('unreachable');
  return {
    cpuUs: median(cpuUsRounds),
    cpuUsRounds,
    parseCpuUs: median(parse),
    allocBytes: alloc.bytes,
    allocWindows: alloc.windows,
  };
}

/**
 * Decisions in a namespace where BURST Sidecars were admitted and not shown
 * yet: each is laid beside the stored ones until the watch delivers it, so
 * every rule that reads the namespace's Sidecars reads them too. Each decided
 * CREATE is reserved in turn, as serve does.
 */
function measureBurst(
  plan: ReturnType<typeof clusterPlan>,
  { admitter, reservations }: ReturnType<typeof localAdmitter>,
  iterations: number,
): Measured {
  const namespace = typicalNamespaces(plan)[0]!.name;
  for (let i = 0; i < BURST; i++) {
    const object = sidecarObject(namespace, 0) as { metadata: Record<string, unknown>; spec: Record<string, unknown> };
    object.metadata.name = `burst-${i}`;
    object.spec.workloadSelector = { labels: { app: `burst-${i}` } };
    const decision = admitter.validate(createReview(object).request as AdmissionRequest) as Decision;
    if (!decision.allowed) throw new Error(`workload bug: burst-${i} refused: ${decision.message}`);
  }
  const requests = [createReview(newSidecar(namespace)).request as AdmissionRequest];
  const measured = measure(requests, (r) => admitter.validate(r) as Decision, iterations);
  const pending = reservations.pending(namespace).length;
  if (pending < BURST)
    throw new Error(`benchmark bug: ${pending} Sidecars pending at the end of the burst, not ${BURST}`);
  return measured;
}

const results: DecisionSize[] = [];
for (const size of sizes) {
  const plan = clusterPlan(size);
  const store = new ClusterStore();
  const t0 = performance.now();
  loadCluster(store, plan);
  const loadMs = performance.now() - t0;
  const ctx = { view: store, options: OPTIONS };
  const decide = (r: AdmissionRequest) => review(r, ctx);

  const pool = typicalNamespaces(plan).map((ns) => createReview(newSidecar(ns.name)).request as AdmissionRequest);
  for (const r of pool.slice(0, 3)) assertAllowedClean(r, decide(r));
  const result: DecisionSize = {
    sidecars: plan.sidecars,
    pods: plan.pods,
    namespaces: plan.namespaces.length,
    loadMs,
    typical: measure(pool, decide, iterations),
  };

  if (plan.namespaces.some((n) => n.name === CROWDED_NAMESPACE)) {
    const crowded = [createReview(newSidecar(CROWDED_NAMESPACE)).request as AdmissionRequest];
    assertAllowedClean(crowded[0]!, decide(crowded[0]!));
    result.crowded = measure(crowded, decide, crowdedIterations);
  }
  if (size === Math.max(...sizes)) {
    const { admitter } = localAdmitter(store, OPTIONS);
    const dryRuns = typicalNamespaces(plan).map(
      (ns) => createReview(newSidecar(ns.name), { dryRun: true }).request as AdmissionRequest,
    );
    result.admitter = measure(dryRuns, (r) => admitter.decideLocally(r), iterations);
    const { admitter: serving } = localAdmitter(store, OPTIONS);
    const bodies = typicalNamespaces(plan).map((ns) => JSON.stringify(createReview(newSidecar(ns.name))));
    const block = Math.max(500, Math.round(iterations / 40));
    // As serve calls it: with the body's size, which spares a short one the size walk.
    result.server = await measureServer(
      bodies,
      (r, bodyBytes) => serving.validate(r, { bodyBytes }) as Decision,
      block,
      12,
    );
    // An hour's TTL: the burst must still be pending when the last call is timed, however many calls that takes.
    result.burst = measureBurst(plan, localAdmitter(store, OPTIONS, { ttlMs: 3_600_000 }), crowdedIterations);
    process.stderr.write(
      `decision: as serve runs it ${result.server.cpuUs.toFixed(1)} µs CPU (rounds ${result.server.cpuUsRounds.map((x) => x.toFixed(1)).join(' ')}; parsing alone ${result.server.parseCpuUs.toFixed(1)} µs), ${(result.server.allocBytes / 1024).toFixed(1)} KB allocated (${result.server.allocWindows} windows)\n`,
    );
  }
  results.push(result);
  process.stderr.write(
    `decision: ${size} Sidecars loaded in ${Math.round(loadMs)} ms, p50 ${result.typical.p50.toFixed(1)} µs, p99 ${result.typical.p99.toFixed(1)} µs` +
      `${result.crowded ? `, crowded p99 ${result.crowded.p99.toFixed(1)} µs` : ''}\n`,
  );
  gc();
}
report({ root, iterations, warmup, crowdedIterations, sizes: results });

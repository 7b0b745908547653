// The cost of each layer of one serve decision, each on its own: CPU and heap
// allocated per call, on the 10k-Sidecar cluster of bench/workload.ts, every
// call on a body parsed beforehand (young objects, as in the server).
//   node --expose-gc --import tsx bench/layers.ts [LAYER,...] [--sidecars N] [--namespaces N] [--alloc-profile PREFIX] [--report]
// --sidecars sizes the cluster (default 10,000; the plan keeps its shape per
// namespace at any size, so 100 against 10,000 shows what size alone costs).
// --namespaces decides in the first N namespaces only (default: each of the
// plan's, about 900 at 10,000 Sidecars, one after another): with a few, each
// namespace's part of the store stays in the CPU's caches from one decision
// to its next, which shows what a decision costs apart from bringing it in.
// --alloc-profile writes PREFIX.LAYER.heapprofile per layer: V8's sampling
// heap profiler with collected objects kept, so it shows where the short-lived
// allocations come from (open it in Chrome DevTools' Memory tab).
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { parseArgs } from 'node:util';
import type { AdmissionRequest } from '../src/admission/types.js';
import type { ReviewOptions } from '../src/sidecar/review.js';
import { report } from './child.js';
import { bytesPerCall } from './heap.js';
import { moduleLoader, productRoot } from './product.js';
import { median } from './stats.js';
import { clusterPlan, createReview, loadCluster, newSidecar, typicalNamespaces } from './workload.js';

const { values, positionals } = parseArgs({
  options: {
    'alloc-profile': { type: 'string' },
    report: { type: 'boolean', default: false },
    sidecars: { type: 'string', default: '10000' },
    namespaces: { type: 'string' },
  },
  allowPositionals: true,
});
// The build when it is current (as serve runs it; through tsx every function expression also pays a __name call).
const root = productRoot();
const load = moduleLoader(root);
const [
  { localAdmitter },
  { ClusterStore },
  { crossObjectRules },
  { metadataOf, refOf, stringMap },
  { review },
  { validateIstio },
  { checkSchema },
  { exceededLimit },
] = await Promise.all([
  load<typeof import('../src/cluster/admitter.js')>('cluster/admitter.js'),
  load<typeof import('../src/cluster/store.js')>('cluster/store.js'),
  load<typeof import('../src/sidecar/cross-rules.js')>('sidecar/cross-rules.js'),
  load<typeof import('../src/sidecar/object.js')>('sidecar/object.js'),
  load<typeof import('../src/sidecar/review.js')>('sidecar/review.js'),
  load<typeof import('../src/sidecar/rules/index.js')>('sidecar/rules/index.js'),
  load<typeof import('../src/sidecar/schema/index.js')>('sidecar/schema/index.js'),
  load<typeof import('../src/sidecar/size.js')>('sidecar/size.js'),
]);
const OPTIONS: ReviewOptions = { overlap: 'workloads', rootNamespace: 'istio-system' };
const plan = clusterPlan(Number(values.sidecars));
const store = new ClusterStore();
loadCluster(store, plan);
const bodies = typicalNamespaces(plan)
  .slice(0, values.namespaces === undefined ? undefined : Number(values.namespaces))
  .map((ns) => JSON.stringify(createReview(newSidecar(ns.name))));
const { admitter } = localAdmitter(store, OPTIONS);
const BODY_BYTES = Math.max(...bodies.map((b) => Buffer.byteLength(b)));
const parsed = (i: number) => (JSON.parse(bodies[i % bodies.length]!) as { request: AdmissionRequest }).request;
const refOfRequest = (r: AdmissionRequest) => refOf(r.object, r.namespace ?? 'default', r.name);
const specOf = (r: AdmissionRequest) => (r.object as { spec?: unknown }).spec ?? null;

const LAYERS: Record<string, (r: AdmissionRequest) => unknown> = {
  size: (r) => exceededLimit(r.object),
  schema: (r) => checkSchema(r.object, { rejectUnknownFields: false }),
  istio: (r) =>
    validateIstio(specOf(r), {
      namespace: r.namespace ?? '',
      name: r.name ?? '',
      annotations: stringMap(metadataOf(r.object).annotations),
    }),
  cross: (r) => crossObjectRules({ object: r.object, oldObject: undefined, ref: refOfRequest(r) }, store, OPTIONS),
  review: (r) => review(r, { view: store, options: OPTIONS }),
  // As serve calls it, with the body's size (a short body spares the size walk).
  admitter: (r) => admitter.validate(r, { bodyBytes: BODY_BYTES }),
};
const selected = positionals.length > 0 ? positionals.join(',').split(',') : Object.keys(LAYERS);

const CALLS = 20_000;
const fresh = (n: number, offset: number) => Array.from({ length: n }, (_, i) => parsed(offset + i));

function cpuUs(fn: (r: AdmissionRequest) => unknown): number {
  const rounds: number[] = [];
  for (let round = 0; round < 5; round++) {
    const batch = fresh(2_000, round);
    const c0 = process.cpuUsage();
    for (let i = 0; i < CALLS; i++) fn(batch[i % batch.length]!);
    const c = process.cpuUsage(c0);
    rounds.push((c.user + c.system) / CALLS);
  }
  return median(rounds);
}

async function allocationProfile(name: string, fn: (r: AdmissionRequest) => unknown, prefix: string): Promise<void> {
  const session = new Session();
  session.connect();
  const batch = fresh(2_000, 0);
  // includeObjectsCollectedBy*: keep what a scavenge already freed, which is nearly everything a decision allocates.
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 64,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  } as never);
  for (let i = 0; i < CALLS; i++) fn(batch[i % batch.length]!);
  const { profile } = await session.post('HeapProfiler.stopSampling');
  session.disconnect();
  writeFileSync(`${prefix}.${name.replace(/\W+/g, '-')}.heapprofile`, JSON.stringify(profile));
}

const measured: { layer: string; cpuUs: number; allocKb: number }[] = [];
for (const name of selected) {
  const fn = LAYERS[name];
  if (!fn) throw new Error(`unknown layer ${name}; layers: ${Object.keys(LAYERS).join(', ')}`);
  for (let i = 0; i < 30_000; i++) fn(parsed(i % 2_000));
  measured.push({ layer: name, cpuUs: cpuUs(fn), allocKb: bytesPerCall((w) => fresh(16, w * 16), fn).bytes / 1024 });
  if (values['alloc-profile']) await allocationProfile(name, fn, values['alloc-profile']);
}
// --report: one message for bench/run.ts; otherwise a table.
if (values.report) report({ root, layers: measured });
else {
  console.log(`layer          CPU µs   alloc KB   (code from ${root}/)`);
  for (const m of measured)
    console.log(`${m.layer.padEnd(14)} ${m.cpuUs.toFixed(1).padStart(6)} ${m.allocKb.toFixed(2).padStart(10)}`);
}

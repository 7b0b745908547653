// What survives V8's scavenges, in process: KB promoted to old space per
// scavenge (old space's growth across each one, from v8.GCProfiler) while a
// loop runs one thing on freshly parsed AdmissionReviews:
//   node --import tsx bench/promotion.ts [getter|method|decision] [CALLS]
// getter and method show the trap issue 20 found in the findings collector:
// an object literal with a `get` accessor, made per call, survives every
// scavenge (V8 allocates the accessor pair in old space, and it holds the
// young closure and all it captures until a full GC), the same object with a
// method does not. decision is Admitter.validate on the 10k-Sidecar cluster.
import v8 from 'node:v8';
import type { AdmissionRequest } from '../src/admission/types.js';
import { loadProduct } from './product.js';
import { median } from './stats.js';
import { clusterPlan, createReview, loadCluster, newSidecar, typicalNamespaces } from './workload.js';

const [mode = 'decision', calls = '1500000'] = process.argv.slice(2);
const plan = clusterPlan(10_000);
const body = JSON.stringify(createReview(newSidecar(typicalNamespaces(plan)[0]!.name)));
let sink: unknown;

async function subject(): Promise<(r: AdmissionRequest) => unknown> {
  switch (mode) {
    case 'getter':
      return (r) => {
        const seen = [r.uid];
        return {
          get seen() {
            return seen;
          },
        };
      };
    case 'method':
      return (r) => {
        const seen = [r.uid];
        return {
          seen() {
            return seen;
          },
        };
      };
    case 'decision': {
      const { ClusterStore, localAdmitter } = await loadProduct();
      const store = new ClusterStore();
      loadCluster(store, plan);
      const { admitter } = localAdmitter(store, { overlap: 'workloads', rootNamespace: 'istio-system' });
      return (r) => admitter.validate(r);
    }
    default:
      throw new Error(`unknown mode ${mode}: getter, method or decision`);
  }
}

const run = await subject();
const parsed = () => (JSON.parse(body) as { request: AdmissionRequest }).request;
for (let i = 0; i < 50_000; i++) sink = run(parsed());
const profiler = new v8.GCProfiler();
profiler.start();
for (let i = 0; i < Number(calls); i++) sink = run(parsed());
const stats = profiler.stop()?.statistics ?? [];
const oldSpace = (s: v8.HeapSpaceStatistics[]) => s.find((x) => x.spaceName === 'old_space')?.spaceUsedSize ?? 0;
const promoted = stats
  .filter((s) => s.gcType === 'Scavenge')
  .map((s) => (oldSpace(s.afterGC.heapSpaceStatistics) - oldSpace(s.beforeGC.heapSpaceStatistics)) / 1024);
if (sink === undefined) throw new Error('unreachable');
console.log(
  `${mode}: ${promoted.length} scavenges, median ${median(promoted).toFixed(1)} KB promoted per scavenge (max ${Math.max(0, ...promoted).toFixed(1)})`,
);

// One serve decision's wall time in process with the CPU's caches hot, and
// after reading MB megabytes of other memory before each decision (as TLS,
// HTTP and parsing do between two decisions in the server):
//   node --import tsx bench/cold-cache.ts [MB ...]      (default: 0 1 4 16)
// Explains why a decision costs several times more inside the HTTPS server
// than in `bench/decision.ts` (decision_mean_us_in_server).
import type { AdmissionRequest } from '../src/admission/types.js';
import { loadProduct } from './product.js';
import { median } from './stats.js';
import { clusterPlan, createReview, loadCluster, newSidecar, typicalNamespaces } from './workload.js';

const sizes = process.argv.length > 2 ? process.argv.slice(2).map(Number) : [0, 1, 4, 16];
const { ClusterStore, localAdmitter, root } = await loadProduct();
const plan = clusterPlan(10_000);
const store = new ClusterStore();
loadCluster(store, plan);
const { admitter } = localAdmitter(store, { overlap: 'workloads', rootNamespace: 'istio-system' });
const body = JSON.stringify(createReview(newSidecar(typicalNamespaces(plan)[0]!.name)));
const bodyBytes = Buffer.byteLength(body);
let sink = 0;

/** Mean µs per decision over `n`, each after one read of every 64-byte line of `other`. */
function decisions(n: number, other: Float64Array): number {
  let total = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < other.length; j += 8) sink += other[j]!;
    const request = (JSON.parse(body) as { request: AdmissionRequest }).request;
    const t0 = performance.now();
    admitter.validate(request, { bodyBytes });
    total += performance.now() - t0;
  }
  return (total * 1000) / n;
}

console.log(`decision wall time, 10k Sidecars (code from ${root}/)`);
for (const mb of sizes) {
  const other = new Float64Array((mb * 1024 * 1024) / 8);
  decisions(20_000, other);
  const rounds = Array.from({ length: 5 }, () => decisions(10_000, other));
  console.log(`${String(mb).padStart(3)} MB read between decisions: ${median(rounds).toFixed(1)} µs`);
}
if (sink < 0) throw new Error('unreachable');

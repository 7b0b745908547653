// Child (plain JavaScript, so that measuring it under the compiled build adds
// no TypeScript loader): resident memory of a serving process holding the
// cluster view. Imports everything `serve` loads in cluster mode (the only
// mode that holds 100,000 pods), decides once so schemas and rule tables are
// compiled, then reads the cluster as JSON lines on stdin
// into a ClusterStore, one object at a time, as an informer would receive
// them. RSS is read after a full GC.
//   node --expose-gc bench/memory-child.mjs MODULE_ROOT < cluster.ndjson
// MODULE_ROOT is dist (compiled) or src (then run with --import tsx).
// stdin lines: {"kind":"Review","review":{...}} first, then {"kind":"Sidecar"|"Pod"|"Namespace"|"Deployment"|...,"object":{...}},
// with {"kind":"Mark","group":"..."} after each group.
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const root = pathToFileURL(resolve(process.argv[2] ?? 'dist')).href;
const gc = globalThis.gc;
if (!gc) throw new Error('run with --expose-gc');
const MB = 1024 * 1024;

await import(`${root}/main.js`);
// Cluster mode also needs the API client and the informers, even if main.js loads them lazily.
await import(`${root}/cluster/kube.js`);
await import(`${root}/cluster/informer.js`);
const { ClusterStore } = await import(`${root}/cluster/store.js`);
const { localAdmitter } = await import(`${root}/cluster/admitter.js`);
const { buildApp } = await import(`${root}/http/app.js`);
const { createMetrics } = await import(`${root}/metrics.js`);

function settle() {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage();
}

const store = new ClusterStore();
// The rules with their defaults (overlap workloads, unknown hosts warn), as `serve` runs them.
const { admitter } = localAdmitter(store, { overlap: 'workloads', rootNamespace: 'istio-system' });
const app = buildApp({ validate: (r) => admitter.validate(r), readiness: () => ({ ready: true, reasons: [] }), observer: createMetrics() });
await app.ready();

let review;
let before;
const groups = [];
for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  const item = JSON.parse(line);
  if (item.kind === 'Review') {
    review = item.review;
    admitter.validate(review.request);
    before = settle();
  } else if (item.kind === 'Mark') {
    const m = settle();
    groups.push({ group: item.group, counts: store.counts(), rssMb: m.rss / MB, heapUsedMb: m.heapUsed / MB });
  } else if (item.kind === 'Sidecar') store.upsertSidecar(item.object);
  else if (item.kind === 'Pod') store.upsertPod(item.object);
  else if (item.kind === 'Namespace') store.upsertNamespace(item.object);
  else if (item.kind === 'Service') store.upsertService(item.object);
  else if (item.kind === 'ServiceEntry') store.upsertServiceEntry(item.object);
  else store.upsertWorkload(item.object, item.kind);
}
const after = settle();
const decision = admitter.validate(review.request);
if (decision.outcome !== 'allowed') throw new Error(`workload bug: the probe review is ${decision.outcome}`);
process.stdout.write(
  `@@bench ${JSON.stringify({
    counts: store.counts(),
    rssMb: after.rss / MB,
    rssBaselineMb: before.rss / MB,
    heapUsedMb: after.heapUsed / MB,
    heapUsedBaselineMb: before.heapUsed / MB,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    groups,
  })}\n`,
);
await app.close();

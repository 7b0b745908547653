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
// with {"kind":"Mark","group":"..."} after each group. A review with "check": false is decided but need not be allowed.
// {"kind":"Relist","pages":N} then N lines {"kind":"Page","page":{items,metadata}}: a re-list of the pods
// through the informers' own listInto (as a Reflector lists), its pages read from stdin as the API server would send
// them; reported as the peak RSS during it (VmHWM, reset first through /proc/self/clear_refs) above the RSS
// before it.
import { readFileSync, writeFileSync } from 'node:fs';
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
const { listInto, RESOURCES } = await import(`${root}/cluster/informer.js`);

const vm = (field) =>
  Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN) / 1024;

function settle() {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage();
}

const store = new ClusterStore();
// The rules with their defaults (overlap workloads, unknown hosts warn), as `serve` runs them.
const { admitter } = localAdmitter(store, { overlap: 'workloads', rootNamespace: 'istio-system' });
const app = buildApp({
  validate: (r) => admitter.validate(r),
  readiness: () => ({ ready: true, reasons: [] }),
  observer: createMetrics(),
});
await app.ready();

let review;
let check = true;
let before;
let relist;
const groups = [];
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })[Symbol.asyncIterator]();

/** The informers' pod list, its pages read from stdin (each line one page, as a metadata-only list answers). */
async function relistPods() {
  const spec = RESOURCES.find((r) => r.kind === 'Pod');
  const steady = settle().rss / MB;
  writeFileSync('/proc/self/clear_refs', '5'); // resets VmHWM to the current RSS
  const client = {
    async request() {
      const { value } = await lines.next();
      return { status: 200, body: JSON.parse(value).page };
    },
  };
  await listInto(client, spec, store);
  const peak = vm('VmHWM');
  const after = settle().rss / MB;
  return {
    steadyRssMb: steady,
    peakRssMb: peak,
    afterRssMb: after,
    peakAboveSteadyMb: peak - steady,
    pods: store.counts().pods,
  };
}

for (;;) {
  const { value: line, done } = await lines.next();
  if (done) break;
  const item = JSON.parse(line);
  if (item.kind === 'Relist') relist = await relistPods();
  else if (item.kind === 'Review') {
    check = item.check !== false;
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
if (check && decision.outcome !== 'allowed') throw new Error(`workload bug: the probe review is ${decision.outcome}`);
process.stdout.write(
  `@@bench ${JSON.stringify({
    counts: store.counts(),
    rssMb: after.rss / MB,
    rssBaselineMb: before.rss / MB,
    heapUsedMb: after.heapUsed / MB,
    heapUsedBaselineMb: before.heapUsed / MB,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    groups,
    ...(relist ? { relist } : {}),
  })}\n`,
);
await app.close();

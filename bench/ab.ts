// Two builds of the product compared in one process: the decision as `serve`
// runs it (the reserving Admitter on a body parsed just before), each build
// with its own 10k store, in blocks of calls interleaved build by build, so
// that the machine's drift hits both alike. On the 2-core VMs of issue 20 the
// same build measured in separate processes moved by ±1.5 µs from one process
// to the next, more than most changes worth making; the paired difference of
// one process moved by about half that.
//
//   npm run build && mkdir -p .ab && rm -rf .ab/a && cp -r dist .ab/a      (before the change)
//   npm run build && rm -rf .ab/b && cp -r dist .ab/b                      (after it)
//   node --import tsx bench/ab.ts .ab/a .ab/b [--rounds 40] [--block 2500]
//
// The builds must sit inside the repository (they import its node_modules).
// Prints each build's median CPU per decision (parse + decide, less parse
// alone) and the median of the paired differences, b − a. Run it several
// times, swapping the order too: one process is one sample.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { AdmissionRequest } from '../src/admission/types.js';
import type { Decision } from '../src/admission/decision.js';
import type { ReviewOptions } from '../src/sidecar/review.js';
import { cpuUsPerCall, median } from './stats.js';
import { clusterPlan, createReview, loadCluster, newSidecar, typicalNamespaces } from './workload.js';

const { values, positionals } = parseArgs({
  options: {
    rounds: { type: 'string', default: '40' },
    block: { type: 'string', default: '2500' },
    sidecars: { type: 'string', default: '10000' },
  },
  allowPositionals: true,
});
if (positionals.length !== 2) {
  process.stderr.write(
    'usage: node --import tsx bench/ab.ts BUILD_A BUILD_B [--rounds N] [--block N] [--sidecars N]\n',
  );
  process.exit(2);
}
const rounds = Number(values.rounds);
const block = Number(values.block);
const OPTIONS: ReviewOptions = { overlap: 'workloads', rootNamespace: 'istio-system' };
const plan = clusterPlan(Number(values.sidecars));
const bodies = typicalNamespaces(plan).map((ns) => JSON.stringify(createReview(newSidecar(ns.name))));
const bodyBytes = bodies.map((b) => Buffer.byteLength(b));

type Call = (i: number) => void;

/** One build's decision on a freshly parsed body, against a store of its own. */
async function buildUnderTest(dir: string): Promise<Call> {
  const load = <T>(path: string) => import(pathToFileURL(resolve(dir, path)).href) as Promise<T>;
  const { ClusterStore } = await load<typeof import('../src/cluster/store.js')>('cluster/store.js');
  const { localAdmitter } = await load<typeof import('../src/cluster/admitter.js')>('cluster/admitter.js');
  const store = new ClusterStore();
  loadCluster(store, plan);
  const { admitter } = localAdmitter(store, OPTIONS);
  return (i) => {
    const k = i % bodies.length;
    const request = (JSON.parse(bodies[k]!) as { request: AdmissionRequest }).request;
    const decision = admitter.validate(request, { bodyBytes: bodyBytes[k]! }) as Decision;
    if (!decision.allowed) throw new Error(`${dir}: expected every decision to allow: ${decision.message}`);
  };
}

let sink = 0;
const parseOnly: Call = (i) => {
  sink += (JSON.parse(bodies[i % bodies.length]!) as { request: unknown }).request ? 1 : 0;
};

const builds = [await buildUnderTest(positionals[0]!), await buildUnderTest(positionals[1]!)] as const;
for (const call of builds) for (let i = 0; i < 20_000; i++) call(i);
const perBuild: [number[], number[]] = [[], []];
for (let r = 0; r < rounds; r++) {
  const parse = cpuUsPerCall(parseOnly, block, r * block);
  // Alternate which build goes first in a round.
  for (const k of r % 2 === 0 ? [0, 1] : [1, 0]) perBuild[k]!.push(cpuUsPerCall(builds[k]!, block, r * block) - parse);
}
const [a, b] = perBuild;
const paired = median(b.map((x, i) => x - a[i]!));
if (sink < 0) throw new Error('unreachable');
console.log(
  `a ${positionals[0]}: ${median(a).toFixed(2)} µs   b ${positionals[1]}: ${median(b).toFixed(2)} µs   b − a (paired median): ${paired >= 0 ? '+' : ''}${paired.toFixed(2)} µs`,
);

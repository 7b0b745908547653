// Parent side of the memory measurement: streams the cluster to a fresh
// child as JSON lines. The child runs the compiled build when it is up to
// date (what production runs), else the sources through tsx, whose loader
// thread adds about 35 MB of RSS; the result says which.
import { once } from 'node:events';
import { join } from 'node:path';
import { finish, REPO_ROOT, startChild } from './child.js';
import { DIST_DIR, productRoot } from './product.js';
import {
  clusterObjects,
  clusterPlan,
  createReview,
  newSidecar,
  scalePlan,
  typicalNamespaces,
  type ClusterPlan,
  type ObjectGroup,
} from './workload.js';
import { LIST_PAGE_SIZE } from '../src/cluster/informer.js';

type Counts = {
  sidecars: number;
  pods: number;
  namespaces: number;
  workloads: number;
  services: number;
  serviceEntries: number;
};

/** RSS and heap after one group of objects was loaded (after a full GC). */
export interface GroupMark {
  group: ObjectGroup;
  counts: Counts;
  rssMb: number;
  heapUsedMb: number;
}

export interface Memory {
  root: 'dist' | 'src';
  counts: Counts;
  rssMb: number;
  rssBaselineMb: number;
  heapUsedMb: number;
  heapUsedBaselineMb: number;
  maxRssMb: number;
  groups: GroupMark[];
  relist?: Relist;
}

/** A re-list of every pod through the informers' listInto, as a Reflector lists (memory-child.mjs). */
export interface Relist {
  steadyRssMb: number;
  peakRssMb: number;
  afterRssMb: number;
  peakAboveSteadyMb: number;
  pods: number;
}

const GROUPS: readonly ObjectGroup[] = ['sidecars and pods', 'workloads', 'services', 'serviceEntries'];

/** Bytes each object of a group added to the heap and to RSS, from the marks before and after it. */
export function marginalBytes(
  memory: Pick<Memory, 'groups' | 'heapUsedBaselineMb' | 'rssBaselineMb'>,
): { group: ObjectGroup; objects: number; heapBytes: number; rssBytes: number }[] {
  const objectsIn = (c: Counts) => c.sidecars + c.pods + c.namespaces + c.workloads + c.services + c.serviceEntries;
  let prev = { heapUsedMb: memory.heapUsedBaselineMb, rssMb: memory.rssBaselineMb, objects: 0 };
  return memory.groups.map((g) => {
    const objects = objectsIn(g.counts) - prev.objects;
    const row = {
      group: g.group,
      objects,
      heapBytes: Math.round(((g.heapUsedMb - prev.heapUsedMb) * 2 ** 20) / objects),
      rssBytes: Math.round(((g.rssMb - prev.rssMb) * 2 ** 20) / objects),
    };
    prev = { heapUsedMb: g.heapUsedMb, rssMb: g.rssMb, objects: objectsIn(g.counts) };
    return row;
  });
}

function memoryChild() {
  const root = productRoot();
  const dir = root === 'dist' ? DIST_DIR : join(REPO_ROOT, 'src');
  const child = startChild('memory-child.mjs', [dir], { tsx: root === 'src', stdin: true, nodeFlags: ['--expose-gc'] });
  const stdin = child.process.stdin!;
  const write = async (line: string) => {
    if (!stdin.write(`${line}\n`)) await once(stdin, 'drain');
  };
  const done = async () => {
    stdin.end();
    return { ...(await finish<Memory>('memory-child.mjs', child)), root };
  };
  return { write, done };
}

export async function measureMemory(sidecars: number): Promise<Memory> {
  const { write, done } = memoryChild();
  const plan = clusterPlan(sidecars);
  await write(
    JSON.stringify({
      kind: 'Review',
      review: createReview(newSidecar(typicalNamespaces(plan)[0]!.name), { dryRun: true }),
    }),
  );
  for (const group of GROUPS) {
    for (const item of clusterObjects(plan, [group])) await write(JSON.stringify(item));
    await write(JSON.stringify({ kind: 'Mark', group }));
  }
  return done();
}

/** The plan's pods as metadata-only list pages of LIST_PAGE_SIZE, one stdin line each. */
function* podPages(plan: ClusterPlan): Generator<string> {
  let items: unknown[] = [];
  let pages = 0;
  // Each page its own continue token, as kube-apiserver's: the informer refuses a token seen twice.
  const page = (last: boolean) =>
    JSON.stringify({
      kind: 'Page',
      page: {
        kind: 'PartialObjectMetadataList',
        apiVersion: 'meta.k8s.io/v1',
        metadata: { resourceVersion: '2', ...(last ? {} : { continue: `page-${++pages}` }) },
        items,
      },
    });
  const pods = [...clusterObjects(plan, ['sidecars and pods'])].filter((o) => o.kind === 'Pod').length;
  let sent = 0;
  for (const o of clusterObjects(plan, ['sidecars and pods'])) {
    if (o.kind !== 'Pod') continue;
    items.push(o.object);
    sent++;
    if (items.length === LIST_PAGE_SIZE || sent === pods) {
      yield page(sent === pods);
      items = [];
    }
  }
}

/**
 * Kubernetes' scale limits (scalePlan): 10,000 Sidecars and namespaces and
 * 150,000 pods, sharing label sets per app or each with its own; then a
 * re-list of every pod, page by page.
 */
export async function measureScale(uniquePodLabels: boolean): Promise<Memory> {
  const { write, done } = memoryChild();
  const plan = scalePlan({ uniquePodLabels });
  // Decided once so the rules are compiled; in this plan the Sidecar's hosts name Services that do not exist, so it need not be allowed.
  await write(
    JSON.stringify({
      kind: 'Review',
      check: false,
      review: createReview(newSidecar(plan.namespaces[0]!.name), { dryRun: true }),
    }),
  );
  for (const item of clusterObjects(plan, ['sidecars and pods'])) await write(JSON.stringify(item));
  await write(JSON.stringify({ kind: 'Mark', group: 'sidecars and pods' }));
  const pages = Math.ceil(plan.pods / LIST_PAGE_SIZE);
  await write(JSON.stringify({ kind: 'Relist', pages }));
  for (const line of podPages(plan)) await write(line);
  return done();
}

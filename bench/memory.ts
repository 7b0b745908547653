// Parent side of the memory measurement: streams the cluster to a fresh
// child as JSON lines. The child runs the compiled build when it is up to
// date (what production runs), else the sources through tsx, whose loader
// thread adds about 35 MB of RSS; the result says which.
import { once } from 'node:events';
import { join } from 'node:path';
import { finish, REPO_ROOT, startChild } from './child.js';
import { DIST_DIR, productRoot } from './product.js';
import { clusterObjects, clusterPlan, createReview, newSidecar, typicalNamespaces, type ObjectGroup } from './workload.js';

type Counts = { sidecars: number; pods: number; namespaces: number; workloads: number; services: number; serviceEntries: number };

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
}

const GROUPS: readonly ObjectGroup[] = ['sidecars and pods', 'workloads', 'services', 'serviceEntries'];

/** Bytes each object of a group added to the heap and to RSS, from the marks before and after it. */
export function marginalBytes(memory: Pick<Memory, 'groups' | 'heapUsedBaselineMb' | 'rssBaselineMb'>): { group: ObjectGroup; objects: number; heapBytes: number; rssBytes: number }[] {
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

export async function measureMemory(sidecars: number): Promise<Memory> {
  const root = productRoot();
  const dir = root === 'dist' ? DIST_DIR : join(REPO_ROOT, 'src');
  const child = startChild('memory-child.mjs', [dir], { tsx: root === 'src', stdin: true, nodeFlags: ['--expose-gc'] });
  const stdin = child.process.stdin!;
  const write = async (line: string) => {
    if (!stdin.write(`${line}\n`)) await once(stdin, 'drain');
  };
  const plan = clusterPlan(sidecars);
  await write(JSON.stringify({ kind: 'Review', review: createReview(newSidecar(typicalNamespaces(plan)[0]!.name), { dryRun: true }) }));
  for (const group of GROUPS) {
    for (const item of clusterObjects(plan, [group])) await write(JSON.stringify(item));
    await write(JSON.stringify({ kind: 'Mark', group }));
  }
  stdin.end();
  return { ...(await finish<Memory>('memory-child.mjs', child)), root };
}

// Parent side of the memory measurement: streams the cluster to a fresh
// child as JSON lines. The child runs the compiled build when it is up to
// date (what production runs), else the sources through tsx, whose loader
// thread adds about 35 MB of RSS; the result says which.
import { once } from 'node:events';
import { join } from 'node:path';
import { finish, REPO_ROOT, startChild } from './child.js';
import { DIST_DIR, productRoot } from './product.js';
import { clusterObjects, clusterPlan, createReview, newSidecar, typicalNamespaces } from './workload.js';

export interface Memory {
  root: 'dist' | 'src';
  counts: { sidecars: number; pods: number; namespaces: number };
  rssMb: number;
  rssBaselineMb: number;
  heapUsedMb: number;
  heapUsedBaselineMb: number;
  maxRssMb: number;
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
  for (const item of clusterObjects(plan)) await write(JSON.stringify(item));
  stdin.end();
  return { ...(await finish<Memory>('memory-child.mjs', child)), root };
}

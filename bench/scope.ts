// audit --scope at Kubernetes' namespace limit: N namespaces of one app each
// (its namespace-wide Sidecar, two Services, one ServiceEntry exported to
// its own namespace, one pod, the app's three workloads), the report and its
// text table as `sidecar-guard audit --scope` builds them from the objects.
// Timed per size (median of the runs, wall and CPU).
//   node --import tsx bench/scope.ts [--sizes 1000,10000] [--runs 3]
import { parseArgs } from 'node:util';
import { report } from './child.js';
import { moduleLoader, productRoot } from './product.js';
import { median } from './stats.js';
import { clusterObjects, type ClusterPlan } from './workload.js';

const { values } = parseArgs({
  options: { sizes: { type: 'string', default: '1000,10000' }, runs: { type: 'string', default: '3' } },
});
const root = productRoot();
const load = moduleLoader(root);
const [{ scopeAudit }, { formatScopeText }] = await Promise.all([
  load<typeof import('../src/audit/scope.js')>('audit/scope.js'),
  load<typeof import('../src/audit/scope-report.js')>('audit/scope-report.js'),
]);

function plan(namespaces: number): ClusterPlan {
  const width = String(namespaces - 1).length;
  return {
    sidecars: namespaces,
    pods: namespaces,
    podsPerApp: 1,
    workloads: namespaces * 3,
    services: namespaces * 2 + 1,
    serviceEntries: namespaces,
    namespaces: Array.from({ length: namespaces }, (_, i) => ({
      name: `ns-${String(i).padStart(width, '0')}`,
      apps: 1,
    })),
  };
}

/** The objects as audit reads them from files or a cluster, sorted by kind. */
function input(p: ClusterPlan) {
  const out = {
    sidecars: [] as unknown[],
    pods: [] as unknown[],
    namespaces: [] as unknown[],
    workloads: [] as unknown[],
    services: [] as unknown[],
    serviceEntries: [] as unknown[],
  };
  for (const { kind, object } of clusterObjects(p)) {
    const key = (
      {
        Sidecar: 'sidecars',
        Pod: 'pods',
        Namespace: 'namespaces',
        Service: 'services',
        ServiceEntry: 'serviceEntries',
      } as const
    )[kind as string];
    if (key) out[key].push(object);
    else out.workloads.push({ ...object, kind });
  }
  return out;
}

const sizes = values.sizes.split(',').map(Number);
const runs = Number(values.runs);
const results = sizes.map((namespaces) => {
  const objects = input(plan(namespaces));
  const wall: number[] = [];
  const cpu: number[] = [];
  let rows = 0;
  for (let i = 0; i < runs; i++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const r = scopeAudit(objects, { rootNamespace: 'istio-system', clusterDomain: 'cluster.local' });
    rows = formatScopeText(r).split('\n').length;
    wall.push(performance.now() - t0);
    const used = process.cpuUsage(cpu0);
    cpu.push((used.user + used.system) / 1000);
  }
  process.stderr.write(
    `scope: ${namespaces} namespaces, ${objects.sidecars.length} Sidecars, ${objects.services.length} Services, ${objects.serviceEntries.length} ServiceEntries: ${median(wall).toFixed(0)} ms (CPU ${median(cpu).toFixed(0)} ms), ${rows} lines\n`,
  );
  return {
    namespaces,
    sidecars: objects.sidecars.length,
    services: objects.services.length,
    serviceEntries: objects.serviceEntries.length,
    wallMs: median(wall),
    cpuMs: median(cpu),
    runs: wall,
  };
});
report({ root, sizes: results });

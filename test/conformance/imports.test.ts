// host.port against Istio's own pilot code, part of `make test`: a seeded
// cluster of Services and ServiceEntries (ports, exportTo, hostnames that
// collide) and Sidecars whose egress listeners have ports, read by both
// sides. conformance/bin/istio-scope (built by `make oracle`) computes the
// SidecarScope istiod gives each Sidecar's proxy and lists what each egress
// listener imports; every host.port warning `check` gives must name a host
// (or a `ns/*` namespace) that istiod imports nothing for through that
// listener. The rule does not claim to find every such host (README: Known
// limitations), so the hosts istiod imports nothing for and the rule leaves
// alone are counted, not failed. Replay a run with IMPORTS_SEED=<seed>.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { documents, ensureOracle, guardCheckWithView, istioScope, type ScopeListener } from './oracle.js';

const seed = process.env.IMPORTS_SEED
  ? Number(process.env.IMPORTS_SEED)
  : (Date.now() ^ (Math.random() * 2 ** 31)) >>> 0;
const CLUSTERS = 6;
const SIDECARS_PER_CLUSTER = 60;

/** mulberry32: a small seeded generator, so a failing run can be replayed from its seed. */
function random(s: number): () => number {
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NAMESPACES = ['shop', 'a', 'b', 'c'];
const SERVICE_NAMES = ['web', 'api', 'payment'];
const PORTS = [80, 443, 8080, 9080];
const EXTERNAL = ['api.example.com', 'db.example.com'];

function generate(seedOf: number): { objects: Record<string, unknown>[]; sidecars: Record<string, unknown>[] } {
  const rnd = random(seedOf);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const some = <T>(xs: readonly T[], max: number): T[] => {
    const n = Math.floor(rnd() * (max + 1));
    return [...new Set(Array.from({ length: n }, () => pick(xs)))];
  };
  const objects: Record<string, unknown>[] = [...NAMESPACES, 'istio-system'].map((name) => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name },
  }));
  const serviceHosts: string[] = [];
  for (const ns of NAMESPACES) {
    for (const name of SERVICE_NAMES) {
      if (rnd() < 0.35) continue;
      serviceHosts.push(`${name}.${ns}.svc.cluster.local`);
      const exportTo = pick([undefined, undefined, undefined, '.', 'shop', 'a,b', '*']);
      const ports = some(PORTS, 2).map((port) => ({ name: `p${port}`, port }));
      objects.push({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: {
          name,
          namespace: ns,
          ...(exportTo ? { annotations: { 'networking.istio.io/exportTo': exportTo } } : {}),
        },
        spec: ports.length > 0 ? { selector: { app: name }, ports } : { clusterIP: 'None', selector: { app: name } },
      });
    }
    for (let k = 0; k < Math.floor(rnd() * 3); k++) {
      const hosts = [...new Set([pick([...EXTERNAL, ...serviceHosts]), pick(EXTERNAL)])];
      const ports = some(PORTS, 2);
      const exportTo = pick([undefined, undefined, ['.'], ['shop'], ['*']]);
      objects.push({
        apiVersion: 'networking.istio.io/v1',
        kind: 'ServiceEntry',
        metadata: { name: `se-${k}`, namespace: ns },
        spec: {
          hosts,
          location: 'MESH_EXTERNAL',
          resolution: 'NONE',
          ports: (ports.length > 0 ? ports : [443]).map((number) => ({ number, name: `p${number}`, protocol: 'TCP' })),
          ...(exportTo ? { exportTo } : {}),
        },
      });
    }
  }
  const dnsPool = [...serviceHosts, ...EXTERNAL, 'web.c.svc.cluster.local'];
  const sidecars: Record<string, unknown>[] = [];
  for (let i = 0; i < SIDECARS_PER_CLUSTER; i++) {
    const port = pick(PORTS);
    const hosts = new Set<string>();
    for (let h = 0; h < 1 + Math.floor(rnd() * 3); h++) {
      const r = rnd();
      if (r < 0.6) hosts.add(`${pick(['.', '*', ...NAMESPACES])}/${pick(dnsPool)}`);
      else if (r < 0.85) hosts.add(`${pick(['.', ...NAMESPACES])}/*`);
      else hosts.add(`~${pick(NAMESPACES)}/${pick(dnsPool)}`);
    }
    // An egress listener needs something to import besides exclusions.
    if ([...hosts].every((h) => h.startsWith('~'))) hosts.add(`${pick(NAMESPACES)}/*`);
    sidecars.push({
      apiVersion: 'networking.istio.io/v1',
      kind: 'Sidecar',
      metadata: { name: `s${i}`, namespace: pick(['shop', 'shop', 'a']) },
      spec: {
        workloadSelector: { labels: { app: `s${i}` } },
        egress: [
          { port: { number: port, protocol: pick(['HTTP', 'TCP']), name: `egress-${port}` }, hosts: [...hosts] },
          { hosts: ['istio-system/*'] },
        ],
      },
    });
  }
  return { objects, sidecars };
}

interface Tally {
  warnings: number;
  /** Hosts istiod imports nothing for that another rule (host.unknown, host.excluded) reports. */
  others: number;
  /** ...that no rule reports: what host.port does not judge (README: Known limitations). */
  silent: string[];
  judgedHosts: number;
  wrong: string[];
}

/** Whether istiod's listener imports the host's hostname (exact) or anything of its namespace (`ns/*`). */
function imports(listener: ScopeListener, host: string, sidecarNamespace: string): boolean {
  const slash = host.indexOf('/');
  const key = host.slice(0, slash);
  const dns = host.slice(slash + 1);
  if (dns === '*') {
    const ns = key === '.' ? sidecarNamespace : key;
    return listener.services.some((s) => s.namespace === ns);
  }
  return listener.services.some((s) => s.hostname === dns);
}

async function compareCluster(clusterSeed: number, tally: Tally): Promise<void> {
  const { objects, sidecars } = generate(clusterSeed);
  const text = documents([...objects, ...sidecars]);
  const [istio, guard] = await Promise.all([istioScope(text), guardCheckWithView(text)]);
  for (const sidecar of sidecars) {
    const meta = sidecar.metadata as { namespace: string; name: string };
    const spec = sidecar.spec as { egress: { hosts: string[] }[] };
    const scope = istio.find((s) => s.namespace === meta.namespace && s.name === meta.name);
    const mine = guard.find((r) => r.namespace === meta.namespace && r.name === meta.name);
    assert.ok(scope && mine, `both sides judged ${meta.namespace}/${meta.name}`);
    assert.equal(mine.errors.length, 0, `${meta.namespace}/${meta.name} is valid: ${JSON.stringify(mine.errors)}`);
    const listener = scope.listeners[0]!;
    assert.equal(listener.port, (sidecar.spec as { egress: { port: { number: number } }[] }).egress[0]!.port.number);
    const warned = new Set(mine.warnings.filter((w) => w.rule === 'host.port').map((w) => w.path));
    const reported = new Set(mine.warnings.map((w) => w.path));
    spec.egress[0]!.hosts.forEach((host, j) => {
      if (host.startsWith('~')) return;
      tally.judgedHosts++;
      const path = `spec.egress[0].hosts[${j}]`;
      const importsIt = imports(listener, host, meta.namespace);
      if (warned.has(path)) {
        tally.warnings++;
        if (importsIt)
          tally.wrong.push(
            `seed ${clusterSeed}: ${meta.namespace}/${meta.name} ${path} "${host}": host.port warns, istiod imports ${JSON.stringify(listener.services)}`,
          );
      } else if (!importsIt && reported.has(path)) tally.others++;
      else if (!importsIt)
        tally.silent.push(`${meta.namespace}/${meta.name} "${host}" in ${JSON.stringify(spec.egress[0]!.hosts)}`);
    });
    for (const path of warned)
      assert.match(path, /^spec\.egress\[0\]\.hosts\[\d+\]$/, 'host.port is only given on the port listener');
  }
}

describe(`host.port against istiod's SidecarScope (seed ${seed}; replay: IMPORTS_SEED=${seed})`, {
  timeout: 20 * 60_000,
}, () => {
  before(() => ensureOracle());

  test('every host.port warning names a host the listener imports nothing for in istiod', async (t) => {
    const tally: Tally = { warnings: 0, others: 0, silent: [], judgedHosts: 0, wrong: [] };
    for (let c = 0; c < CLUSTERS; c++) await compareCluster(seed + c, tally);
    t.diagnostic(
      `seed ${seed}: ${CLUSTERS * SIDECARS_PER_CLUSTER} Sidecars, ${tally.judgedHosts} hosts on port listeners; ${tally.warnings} host.port warnings, ${tally.wrong.length} wrong; of the hosts istiod imports nothing for, ${tally.others} reported by another rule, ${tally.silent.length} by none${tally.silent.length > 0 ? ` (e.g. ${tally.silent.slice(0, 3).join('; ')})` : ''}`,
    );
    assert.ok(tally.warnings > 0, 'the generator makes hosts the rule warns about');
    assert.deepEqual(tally.wrong.slice(0, 5), []);
  });
});

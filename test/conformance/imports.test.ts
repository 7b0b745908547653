// host.port, host.unknown and host.excluded against Istio's own pilot code,
// part of `make test`: a seeded
// cluster of Services and ServiceEntries (ports, exportTo, hostnames that
// collide) and Sidecars whose egress listeners have ports, read by both
// sides. conformance/bin/istio-scope (built by `make oracle`) computes the
// SidecarScope istiod gives each Sidecar's proxy and lists what each egress
// listener imports; every such warning `check` gives must name a host (or a
// `ns/*` namespace) that istiod imports nothing for through that listener.
// The rules do not claim to find every such host (README: Known
// limitations), so the hosts istiod imports nothing for and no rule reports
// are counted, not failed. Replay a run with IMPORTS_SEED=<seed>.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { documents, ensureOracle, guardCheckWithView, istioScope, type ScopeListener } from './oracle.js';
import { drawsFrom, seededRandom, seedFrom } from '../helpers/seeded.js';

const seed = seedFrom('IMPORTS_SEED');
const CLUSTERS = 6;
const SIDECARS_PER_CLUSTER = 60;

const NAMESPACES = ['shop', 'a', 'b', 'c'];
const SERVICE_NAMES = ['web', 'api', 'payment'];
const PORTS = [80, 443, 8080, 9080];
const EXTERNAL = ['api.example.com', 'db.example.com'];

function generate(seedOf: number): { objects: Record<string, unknown>[]; sidecars: Record<string, unknown>[] } {
  const rnd = seededRandom(seedOf);
  const { pick } = drawsFrom(rnd);
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
    // Keys name a namespace that does not exist too (host.unknown's `ns/*`).
    const keys = ['.', '*', ...NAMESPACES, 'gone'];
    const hostsOf = (n: number) => {
      const hosts = new Set<string>();
      for (let h = 0; h < n; h++) {
        const r = rnd();
        if (r < 0.6) hosts.add(`${pick(keys)}/${pick(dnsPool)}`);
        else if (r < 0.85) hosts.add(`${pick(keys.filter((k) => k !== '*'))}/*`);
        else hosts.add(`~${pick(NAMESPACES)}/${pick(rnd() < 0.3 ? ['*'] : dnsPool)}`);
      }
      // An egress listener needs something to import besides exclusions.
      if ([...hosts].every((h) => h.startsWith('~'))) hosts.add(`${pick(NAMESPACES)}/*`);
      return [...hosts];
    };
    sidecars.push({
      apiVersion: 'networking.istio.io/v1',
      kind: 'Sidecar',
      metadata: { name: `s${i}`, namespace: pick(['shop', 'shop', 'a']) },
      spec: {
        workloadSelector: { labels: { app: `s${i}` } },
        egress: [
          {
            port: { number: port, protocol: pick(['HTTP', 'TCP']), name: `egress-${port}` },
            hosts: hostsOf(1 + Math.floor(rnd() * 3)),
          },
          { hosts: [...hostsOf(Math.floor(rnd() * 3)), 'istio-system/*'] },
        ],
      },
    });
  }
  return { objects, sidecars };
}

/** The rules that say a host imports nothing, each checked against what istiod's listener imports. */
const RULES = ['host.port', 'host.unknown', 'host.excluded'] as const;
type Rule = (typeof RULES)[number];

interface Tally {
  hosts: number;
  warnings: Record<Rule, number>;
  wrong: string[];
  /** Hosts istiod imports nothing for that no rule reports: what the rules do not judge (README: Known limitations). */
  silent: string[];
}

/**
 * Whether istiod's listener imports something for the host: for `ns/*`,
 * anything of that namespace; for an exact host, a service of that hostname,
 * from a namespace the key accepts (host.unknown and host.excluded speak of
 * this key) or, for host.port, from any (it speaks of the whole listener).
 */
function imports(listener: ScopeListener, host: string, sidecarNamespace: string, anyKey: boolean): boolean {
  const slash = host.indexOf('/');
  const key = host.slice(0, slash);
  const dns = host.slice(slash + 1);
  const ns = key === '.' ? sidecarNamespace : key;
  if (dns === '*') return listener.services.some((s) => s.namespace === ns);
  return listener.services.some((s) => s.hostname === dns && (anyKey || key === '*' || s.namespace === ns));
}

async function compareCluster(clusterSeed: number, tally: Tally): Promise<void> {
  const { objects, sidecars } = generate(clusterSeed);
  const text = documents([...objects, ...sidecars]);
  const [istio, guard] = await Promise.all([istioScope(text), guardCheckWithView(text)]);
  for (const sidecar of sidecars) {
    const meta = sidecar.metadata as { namespace: string; name: string };
    const spec = sidecar.spec as { egress: { port?: { number: number }; hosts: string[] }[] };
    const scope = istio.find((s) => s.namespace === meta.namespace && s.name === meta.name);
    const mine = guard.find((r) => r.namespace === meta.namespace && r.name === meta.name);
    assert.ok(scope && mine, `both sides judged ${meta.namespace}/${meta.name}`);
    assert.equal(mine.errors.length, 0, `${meta.namespace}/${meta.name} is valid: ${JSON.stringify(mine.errors)}`);
    assert.deepEqual(
      scope.listeners.map((l) => l.port),
      spec.egress.map((l) => l.port?.number ?? 0),
      'istiod kept every listener',
    );
    const findings = new Map<string, string[]>();
    for (const w of mine.warnings) findings.set(w.path, [...(findings.get(w.path) ?? []), w.rule]);
    spec.egress.forEach(({ hosts }, i) => {
      const listener = scope.listeners[i]!;
      hosts.forEach((host, j) => {
        // istio-system holds nothing here: its `*` only keeps the catch-all listener valid.
        if (host.startsWith('~') || host === 'istio-system/*') return;
        tally.hosts++;
        const rules = findings.get(`spec.egress[${i}].hosts[${j}]`) ?? [];
        for (const rule of RULES) {
          if (!rules.includes(rule)) continue;
          tally.warnings[rule]++;
          if (imports(listener, host, meta.namespace, rule === 'host.port'))
            tally.wrong.push(
              `seed ${clusterSeed}: ${meta.namespace}/${meta.name} spec.egress[${i}].hosts[${j}] "${host}": ${rule} says it imports nothing, istiod imports ${JSON.stringify(listener.services)}`,
            );
        }
        if (rules.length === 0 && !imports(listener, host, meta.namespace, false))
          tally.silent.push(`${meta.namespace}/${meta.name} "${host}" in ${JSON.stringify(hosts)}`);
      });
    });
  }
}

describe(`host.port, host.unknown and host.excluded against istiod's SidecarScope (seed ${seed}; replay: IMPORTS_SEED=${seed})`, {
  timeout: 20 * 60_000,
}, () => {
  before(() => ensureOracle());

  test('every warning that a host imports nothing names a host istiod imports nothing for through that listener', async (t) => {
    const tally: Tally = {
      hosts: 0,
      warnings: { 'host.port': 0, 'host.unknown': 0, 'host.excluded': 0 },
      wrong: [],
      silent: [],
    };
    for (let c = 0; c < CLUSTERS; c++) await compareCluster(seed + c, tally);
    const counts = RULES.map((r) => `${r} ${tally.warnings[r]}`).join(', ');
    t.diagnostic(
      `seed ${seed}: ${CLUSTERS * SIDECARS_PER_CLUSTER} Sidecars, ${tally.hosts} hosts; warnings: ${counts}; ${tally.wrong.length} wrong; ${tally.silent.length} hosts istiod imports nothing for that no rule reports${tally.silent.length > 0 ? ` (e.g. ${tally.silent.slice(0, 3).join('; ')})` : ''}`,
    );
    for (const rule of RULES) assert.ok(tally.warnings[rule] > 0, `the generator makes hosts ${rule} warns about`);
    assert.deepEqual(tally.wrong.slice(0, 5), []);
  });
});

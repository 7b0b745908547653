// The differential runs shared by `make conformance` (run.ts) and its quick
// form in `make test` (conformance.test.ts): batches of objects through both
// sides, tallies by outcome, and a minimiser that turns each difference into
// the smallest object that still shows it.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import fc from 'fast-check';
import { parseAllDocuments } from 'yaml';
import { boundarySidecar, namespaceScenario } from './arbitraries.js';
import { compareFindings, compareSidecar, type DeviationId, type Outcome } from './compare.js';
import {
  documents,
  guardAudit,
  guardCheck,
  istioAnalyze,
  istioValidate,
  ROOT,
  type AnalyzerFinding,
  type IstioResult,
} from './oracle.js';

export interface Difference {
  source: string;
  object: unknown;
  detail: string;
  signature: string;
}

export interface ValidationTally {
  cases: number;
  agree: number;
  /** Istio's decoder refused the object and so did sidecar-guard. */
  agreeDecode: number;
  deviations: Record<DeviationId, number>;
  /** Of the agreeing cases: how many Istio refused, how many it allowed with warnings. */
  istioRejected: number;
  istioWarned: number;
  differences: Difference[];
}

export const newValidationTally = (): ValidationTally => ({
  cases: 0,
  agree: 0,
  agreeDecode: 0,
  deviations: { 'crd-types': 0, 'pruned-top-level-field': 0 },
  istioRejected: 0,
  istioWarned: 0,
  differences: [],
});

const BATCH = 2_000;

/** Both sides on one batch of objects: Istio's result and the outcome of the comparison, per object. */
export async function judgeBatch(objects: readonly unknown[]): Promise<{ istio: IstioResult; outcome: Outcome }[]> {
  const text = documents(objects);
  const [istio, guard] = await Promise.all([istioValidate(text), guardCheck(text)]);
  if (istio.length !== objects.length || guard.length !== objects.length) {
    throw new Error(
      `result counts differ: ${objects.length} objects, Istio ${istio.length} results, sidecar-guard ${guard.length}`,
    );
  }
  return objects.map((o, i) => ({ istio: istio[i]!, outcome: compareSidecar(o, istio[i]!, guard[i]!) }));
}

/** Compares every object (in batches), adding to `tally`. */
export async function compareSidecars(
  objects: readonly unknown[],
  source: (i: number) => string,
  tally: ValidationTally,
): Promise<void> {
  for (let start = 0; start < objects.length; start += BATCH) {
    const batch = objects.slice(start, start + BATCH);
    const judged = await judgeBatch(batch);
    judged.forEach(({ istio, outcome }, i) => {
      record(tally, outcome, istio, source(start + i), batch[i]);
    });
  }
}

/** Counts one comparison. */
function record(tally: ValidationTally, outcome: Outcome, istio: IstioResult, source: string, object: unknown): void {
  tally.cases++;
  switch (outcome.kind) {
    case 'agree':
      tally.agree++;
      if (!istio.allowed) tally.istioRejected++;
      else if (istio.warnings.length > 0) tally.istioWarned++;
      break;
    case 'agree-decode':
      tally.agreeDecode++;
      tally.istioRejected++;
      break;
    case 'deviation':
      tally.deviations[outcome.id]++;
      break;
    case 'difference':
      tally.differences.push({ source, object, detail: outcome.detail, signature: outcome.signature });
  }
}

/** `n` generated Sidecars from `seed` (the same seed gives the same objects, whatever `n`'s batches). */
export function generatedSidecars(seed: number, n: number): Record<string, unknown>[] {
  return n === 0 ? [] : fc.sample(boundarySidecar, { seed, numRuns: n });
}

// ---- minimising -------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Every object one removal simpler: a key of a map or an item of a list, anywhere but the envelope. */
export function simplerObjects(object: Json): Json[] {
  const out: Json[] = [];
  const visit = (node: Json, rebuild: (replacement: Json | undefined) => Json, depth: number): void => {
    if (Array.isArray(node)) {
      node.forEach((item, i) => {
        out.push(rebuild(node.filter((_, j) => j !== i)));
        visit(
          item,
          (r) => rebuild(r === undefined ? node.filter((_, j) => j !== i) : node.map((x, j) => (j === i ? r : x))),
          depth + 1,
        );
      });
    } else if (node !== null && typeof node === 'object') {
      for (const key of Object.keys(node)) {
        const envelope = depth === 0 && ['apiVersion', 'kind', 'metadata'].includes(key);
        const identity = depth === 1 && ['name', 'namespace'].includes(key);
        if (!envelope && !identity) {
          const { [key]: _removed, ...rest } = node;
          out.push(rebuild(rest));
        }
        visit(
          node[key]!,
          (r) => rebuild(r === undefined ? (({ [key]: _x, ...rest }) => rest)(node) : { ...node, [key]: r }),
          depth + 1,
        );
      }
    }
  };
  visit(object, (r) => r ?? {}, 0);
  return out;
}

/** Removes parts of the object while the same difference (same signature) remains. */
export async function minimise(object: unknown, signature: string): Promise<unknown> {
  let current = object as Json;
  for (let round = 0; round < 200; round++) {
    const candidates = simplerObjects(current);
    if (candidates.length === 0) break;
    const judged = await judgeBatch(candidates);
    const i = judged.findIndex(({ outcome: o }) => o.kind === 'difference' && o.signature === signature);
    if (i < 0) break;
    current = candidates[i]!;
  }
  return current;
}

/** One minimised reproducer per distinct difference (at most `limit`). */
export async function reproducers(differences: readonly Difference[], limit = 20): Promise<Difference[]> {
  const seen = new Set<string>();
  const out: Difference[] = [];
  for (const d of differences) {
    if (seen.has(d.signature)) continue;
    seen.add(d.signature);
    if (out.length >= limit) break;
    out.push({ ...d, object: await minimise(d.object, d.signature) });
  }
  return out;
}

// ---- fixtures and the real-world corpus -------------------------------------

const isSidecar = (o: unknown): o is Record<string, unknown> =>
  typeof o === 'object' &&
  o !== null &&
  (o as Record<string, unknown>).kind === 'Sidecar' &&
  typeof (o as Record<string, unknown>).apiVersion === 'string' &&
  ((o as Record<string, unknown>).apiVersion as string).startsWith('networking.istio.io/');

function filesUnder(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.sort().flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

export interface Labelled {
  source: string;
  object: Record<string, unknown>;
}

/** Every Sidecar object found in a fixture file, whatever its shape (manifest, vector list, AdmissionReview). */
function sidecarsIn(path: string): Labelled[] {
  const text = readFileSync(path, 'utf8');
  const rel = relative(ROOT, path);
  const found: Labelled[] = [];
  const walk = (v: unknown, where: string): void => {
    if (isSidecar(v)) {
      found.push({ source: where, object: v });
      return;
    }
    if (Array.isArray(v)) {
      v.forEach((x, i) => {
        walk(x, `${where}[${i}]`);
      });
    } else if (typeof v === 'object' && v !== null) {
      const o = v as Record<string, unknown>;
      // A vector: a bare spec with its namespace and name.
      if (
        isRecord(o.spec) &&
        (typeof o.id === 'string' || typeof o.name === 'string') &&
        o.kind === undefined &&
        o.apiVersion === undefined
      ) {
        const namespace = typeof o.namespace === 'string' ? o.namespace : 'default';
        const name = typeof o.id === 'string' ? o.id : String(o.name);
        found.push({
          source: `${where} (${name})`,
          object: {
            apiVersion: 'networking.istio.io/v1',
            kind: 'Sidecar',
            metadata: { name, namespace },
            spec: o.spec,
          },
        });
        return;
      }
      for (const [k, x] of Object.entries(o)) walk(x, `${where}.${k}`);
    }
  };
  if (path.endsWith('.json')) {
    walk(JSON.parse(text), rel);
  } else if (/\.ya?ml$/.test(path)) {
    parseAllDocuments(text, { version: '1.1' }).forEach((doc, i) => {
      if (doc.errors.length === 0) walk(doc.toJS(), `${rel}#${i}`);
    });
  }
  return found;
}

/**
 * The fixture files themselves (YAML as written, not re-encoded): each side
 * reads the file its own way (sidecar-guard's YAML 1.1 reader, kubectl's
 * sigs.k8s.io/yaml in the oracle), so differences in reading YAML show too.
 */
export async function compareFixtureFiles(tally: ValidationTally): Promise<void> {
  const files = [...filesUnder(join(ROOT, 'test/fixtures')), ...filesUnder(join(ROOT, 'examples'))].filter((f) =>
    /\.ya?ml$/.test(f),
  );
  for (const path of files) {
    const text = readFileSync(path, 'utf8');
    const objects = parseAllDocuments(text, { version: '1.1' })
      .flatMap((d) => (d.errors.length > 0 ? [undefined] : [d.toJS() as unknown]))
      .filter((o) => o === undefined || isSidecar(o));
    if (objects.length === 0) continue;
    const [istio, guard] = await Promise.all([istioValidate(text), guardCheck(text)]);
    const source = relative(ROOT, path);
    if (istio.length !== objects.length || guard.length !== objects.length) {
      tally.cases++;
      const detail = `the file reads as ${istio.length} Sidecars for Istio, ${guard.length} for sidecar-guard`;
      tally.differences.push({ source, object: text, detail, signature: detail });
      continue;
    }
    objects.forEach((object, i) => {
      record(tally, compareSidecar(object, istio[i]!, guard[i]!), istio[i]!, `${source}#${i}`, object);
    });
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The fixtures (test/fixtures, examples/) and the real-world corpus (test/fixtures/real/). */
export function fixtureSidecars(): { fixtures: Labelled[]; real: Labelled[] } {
  const all = [...filesUnder(join(ROOT, 'test/fixtures')), ...filesUnder(join(ROOT, 'examples'))].flatMap(sidecarsIn);
  const isReal = (l: Labelled) => l.source.startsWith('test/fixtures/real/');
  return { fixtures: all.filter((l) => !isReal(l)), real: all.filter(isReal) };
}

// ---- analyzers ------------------------------------------------------------

export interface AnalyzerTally {
  namespaces: number;
  findings: number;
  agree: number;
  differences: Difference[];
}

export const newAnalyzerTally = (): AnalyzerTally => ({ namespaces: 0, findings: 0, agree: 0, differences: [] });

/**
 * Namespaces of objects, many per call: each is judged alone by both sides
 * (Istio's Sidecar analyzers never look across namespaces), then the
 * findings are compared per namespace.
 */
export async function compareNamespaces(
  groups: readonly { source: string; namespace: string; objects: unknown[] }[],
  tally: AnalyzerTally,
): Promise<void> {
  const text = documents(groups.flatMap((g) => g.objects));
  const [istio, guard] = await Promise.all([istioAnalyze(text), guardAudit(text)]);
  const byNamespace = (fs: AnalyzerFinding[]) => {
    const m = new Map<string, AnalyzerFinding[]>();
    for (const f of fs) m.set(f.namespace, [...(m.get(f.namespace) ?? []), f]);
    return m;
  };
  const istioBy = byNamespace(istio);
  const guardBy = byNamespace(guard);
  for (const g of groups) {
    tally.namespaces++;
    const a = istioBy.get(g.namespace) ?? [];
    tally.findings += a.length;
    const cmp = compareFindings(a, guardBy.get(g.namespace) ?? []);
    if (cmp.same) tally.agree++;
    else {
      const detail = `findings only Istio reports: ${JSON.stringify(cmp.onlyIstio)}; only sidecar-guard: ${JSON.stringify(cmp.onlyGuard)}`;
      tally.differences.push({ source: g.source, object: g.objects, detail, signature: detail });
    }
  }
}

/** Namespace names at the edges: the root namespace, namespaces Istio's analyzers skip, the default one. */
const SPECIAL_NAMESPACES = [
  'istio-system',
  'kube-system',
  'kube-public',
  'kube-node-lease',
  'local-path-storage',
  'default',
];

/** `n` generated namespaces from `seed`, in groups for one call each. */
export function generatedNamespaces(
  seed: number,
  n: number,
  perCall = 250,
): { source: string; namespace: string; objects: unknown[] }[][] {
  const calls: { source: string; namespace: string; objects: unknown[] }[][] = [];
  const rng = fc.sample(fc.integer({ min: 0, max: 2 ** 31 - 1 }), { seed, numRuns: Math.ceil(n / perCall) });
  for (let c = 0; c * perCall < n; c++) {
    const count = Math.min(perCall, n - c * perCall);
    const names = Array.from({ length: count }, (_, i) =>
      i < SPECIAL_NAMESPACES.length && c % 2 === 0
        ? SPECIAL_NAMESPACES[(i + c) % SPECIAL_NAMESPACES.length]!
        : `ns-${c}-${i}`,
    );
    const scenarios = names.map((name, i) => fc.sample(namespaceScenario(name), { seed: rng[c]! + i, numRuns: 1 })[0]!);
    calls.push(
      names.map((name, i) => ({
        source: `seed ${seed}, namespace ${c * perCall + i} (${name})`,
        namespace: name,
        objects: scenarios[i]!.objects,
      })),
    );
  }
  return calls;
}

/** Istio's analyzer test scenarios (test/fixtures/istio-analyzer-vectors.json), one call each. */
export function analyzerVectors(): { source: string; namespace: string; objects: unknown[] }[][] {
  const vectors = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/istio-analyzer-vectors.json'), 'utf8')) as {
    id: string;
    resources: Record<string, unknown>[];
  }[];
  return vectors.map((v) => {
    const namespaces = [...new Set(v.resources.map((r) => namespaceOf(r)))];
    return namespaces.map((ns) => ({
      source: `istio-analyzer-vectors.json ${v.id}`,
      namespace: ns,
      objects: v.resources.filter((r) => namespaceOf(r) === ns),
    }));
  });
}

/** Kept analyzer reproducers and Istio's analyzer testdata (…/analyzer/*.yaml), one call per file. */
export function analyzerFixtures(): { source: string; namespace: string; objects: unknown[] }[][] {
  const dirs = ['test/fixtures/conformance/analyzer', 'test/fixtures/real/istio/analyzer'];
  return dirs
    .flatMap((dir) => filesUnder(join(ROOT, dir)))
    .map((path) => {
      const objects = parseAllDocuments(readFileSync(path, 'utf8'), { version: '1.1' })
        .map((d) => d.toJS() as Record<string, unknown>)
        .filter(isRecord);
      const namespaces = [...new Set(objects.map(namespaceOf))];
      return namespaces.map((ns) => ({
        source: relative(ROOT, path),
        namespace: ns,
        objects: objects.filter((o) => namespaceOf(o) === ns),
      }));
    });
}

function namespaceOf(r: Record<string, unknown>): string {
  const meta = isRecord(r.metadata) ? r.metadata : {};
  if (r.kind === 'Namespace') return String(meta.name);
  return typeof meta.namespace === 'string' && meta.namespace ? meta.namespace : 'default';
}

// What the revision-aware rules say, against what each istiod of a canary
// upgrade computes with Istio's own code, part of `make test`. Seeded
// clusters run two revisions, "blue" and "green" (an istiod pod of each in
// istio-system, labelled as Istio's chart labels them); their Sidecars carry
// no istio.io/rev label, one of the two, one no istiod runs, or an empty one;
// their pods carry the injector's istio.io/rev annotation of either revision,
// or none (not injected). conformance/bin/istio-scope runs once per revision
// with --revision, which keeps the Istio config that revision's istiod reads
// (Istio's LabelsInRevision, as its config client filters): each pod gets
// the scope of the run of its own revision.
//
// sidecar-guard judges every Sidecar as an UPDATE that leaves it as it is,
// against all of them (with creationTimestamps), the pods and the istiods.
// Asserted:
// - revision.no-istiod: said of a Sidecar exactly when no running istiod
//   reads it;
// - revision.pod-mismatch: said of a labelled Sidecar some running istiod
//   reads exactly when every injected pod it would apply to runs another
//   revision (of one none reads, revision.no-istiod speaks), and the message
//   names those pods (the first three of them, then a count). This is the
//   test's own statement of the rule: istiod only confirms that no such pod
//   gets the Sidecar, which the read sets above already imply;
// - shadowing within one istiod: every Sidecar an istiod shadows, where a pod
//   both Sidecars pick exists, is named with its shadower in a
//   conflict.default, conflict.overlap, selector.empty or selector.shadowed
//   finding (without such a pod conflict.overlap, with the default overlap
//   mode `workloads`, says nothing: counted);
// - conflicts across istiods: no such finding names two Sidecars that no
//   running istiod reads together (the oracle's read sets), unless one is
//   labelled with a revision none runs, whose istiod would read both (counted).
// The two istiods are Helm-installed ones (REVISION set): an istiod run
// without a revision reads every object whatever its label.
// Replay a run with REVISION_CLAIMS_SEED=<seed>.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
  appliesTo,
  CONFLICT_RULES,
  createdAt,
  documents,
  ensureOracle,
  type GeneratedSidecar,
  type GuardFinding,
  istioScopes,
  judgedAsUpdates,
  mentions,
  refKey,
  type ScopePod,
  type ScopeResult,
} from './oracle.js';
import { namespace } from '../helpers/objects.js';
import { drawsFrom, seededRandom, seedFrom } from '../helpers/seeded.js';

const seed = seedFrom('REVISION_CLAIMS_SEED');
const CLUSTERS = 24;
const ROOT = 'istio-system';
const NAMESPACES = ['shop', 'a', 'b'];
/** The revisions whose istiods run. */
const RUNNING = ['blue', 'green'] as const;
const REV = 'istio.io/rev';
/** A Sidecar's istio.io/rev label: mostly none; one of the running revisions; one no istiod runs; empty. */
const SIDECAR_REVISIONS: readonly (string | undefined)[] = [undefined, undefined, 'blue', 'green', 'gone', ''];

type Labels = Record<string, string>;
const LABEL_SETS: readonly Labels[] = [{ app: 'x' }, { app: 'y' }, { app: 'x', version: 'v1' }, { version: 'v1' }];
/** Pods a revision.pod-mismatch message names before it counts the rest. */
const NAMED_PODS = 3;

interface Gen extends GeneratedSidecar {
  /** Its istio.io/rev label. */
  revision: string | undefined;
}

interface Pod {
  namespace: string;
  name: string;
  labels: Labels;
  /** The injector's istio.io/rev annotation; undefined: not injected. */
  revision: string | undefined;
}

function generate(clusterSeed: number): { objects: Record<string, unknown>[]; sidecars: Gen[]; pods: Pod[] } {
  const rnd = seededRandom(clusterSeed);
  const { pick, shuffle } = drawsFrom(rnd);
  const objects: Record<string, unknown>[] = [ROOT, ...NAMESPACES].map((name) => namespace(name));
  const drafts: Omit<Gen, 'name' | 'age' | 'object' | 'revision'>[] = [];
  for (const namespace of [ROOT, ...NAMESPACES]) {
    for (let k = pick([0, 1, 2, 2]); k > 0; k--) drafts.push({ namespace, selector: 'none', labels: {} });
    if (rnd() < 0.3) drafts.push({ namespace, selector: 'empty', labels: {} });
    for (let k = Math.floor(rnd() * 4); k > 0; k--)
      drafts.push({ namespace, selector: 'labels', labels: pick(LABEL_SETS) });
  }
  // Ages in a random order, names in input order: nothing can take one for the other.
  const ages = shuffle(drafts.map((_, i) => i));
  const sidecars = drafts.map((d, i): Gen => {
    const revision = pick(SIDECAR_REVISIONS);
    const name = `s${i}`;
    const age = ages[i]!;
    const selector =
      d.selector === 'none' ? {} : { workloadSelector: d.selector === 'empty' ? {} : { labels: d.labels } };
    return {
      ...d,
      name,
      age,
      revision,
      object: {
        apiVersion: 'networking.istio.io/v1',
        kind: 'Sidecar',
        metadata: {
          name,
          namespace: d.namespace,
          creationTimestamp: createdAt(age),
          ...(revision === undefined ? {} : { labels: { [REV]: revision } }),
        },
        spec: { ...selector, egress: [{ hosts: ['./*', `${ROOT}/*`] }] },
      },
    };
  });
  const pods: Pod[] = [];
  for (const namespace of [ROOT, ...NAMESPACES])
    for (const [k, labels] of [{}, ...LABEL_SETS].entries())
      for (let n = pick([0, 1, 1, 2]); n > 0; n--)
        pods.push({ namespace, name: `p${k}-${n}`, labels, revision: pick([...RUNNING, ...RUNNING, undefined]) });
  const istiods = RUNNING.map((rev) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `istiod-${rev}`, namespace: ROOT, labels: { app: 'istiod', [REV]: rev } },
  }));
  const podObjects = pods.map((p) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: p.name,
      namespace: p.namespace,
      labels: p.labels,
      ...(p.revision ? { annotations: { [REV]: p.revision } } : {}),
    },
  }));
  return { objects: [...objects, ...istiods, ...podObjects], sidecars, pods };
}

const id = refKey;

/** Whether istiod's config client of `revision` reads an object with this istio.io/rev label (stated here to count cases; istio-scope applies Istio's own). */
const reads = (revision: string, label: string | undefined) => label === undefined || label === revision;

/** The injected pods a Sidecar would apply to if its istiod served them: its namespace's, its selector's; none for the mesh-wide default. */
function injectedPodsFor(s: Gen, pods: readonly Pod[]): Pod[] {
  if (s.selector === 'none' && s.namespace === ROOT) return [];
  return pods.filter((p) => p.namespace === s.namespace && p.revision !== undefined && appliesTo(s, p.labels));
}

interface Tally {
  sidecars: number;
  pods: number;
  noIstiod: number;
  podMismatch: number;
  /** Sidecars an istiod shadows where a pod both pick exists, and those named with their shadower. */
  shadowed: number;
  /** Sidecars an istiod shadows where no pod both pick exists (overlap: workloads says nothing there). */
  onNoPod: number;
  reported: number;
  /** Conflict findings between Sidecars only one revision's istiod reads. */
  conflictsWithinRevision: number;
  /** Conflict findings where one Sidecar is labelled with a revision no istiod runs. */
  withUnrun: number;
  wrong: Record<'no-istiod' | 'pod-mismatch' | 'shadowing' | 'across', string[]>;
}

async function compareCluster(clusterSeed: number, tally: Tally): Promise<void> {
  const { objects, sidecars, pods } = generate(clusterSeed);
  const text = documents([...objects, ...sidecars.map((s) => s.object)]);
  const runs = new Map<string, { sidecars: Map<string, ScopeResult>; pods: Map<string, ScopePod> }>();
  await Promise.all(
    RUNNING.map(async (revision) => {
      const out = await istioScopes(text, { rootNamespace: ROOT, revision });
      runs.set(revision, {
        sidecars: new Map(out.sidecars.map((r) => [id(r), r])),
        pods: new Map(out.pods.map((p) => [id(p), p])),
      });
    }),
  );
  const findings = judgedAsUpdates(
    objects,
    sidecars.map((s) => s.object),
    ROOT,
  );
  const at = (s: Gen) => `seed ${clusterSeed}: ${id(s)} (${REV} ${JSON.stringify(s.revision ?? null)})`;
  const of = (s: Gen, rule: string): GuardFinding | undefined => findings.get(id(s))!.find((f) => f.rule === rule);
  /** The Sidecar the istiod serving a pod gives it ("" for none). */
  const scopeOf = (p: Pod) => runs.get(p.revision!)!.pods.get(id(p))!.sidecar;
  tally.sidecars += sidecars.length;
  tally.pods += pods.length;

  for (const s of sidecars) {
    const readBy = RUNNING.filter((r) => runs.get(r)!.sidecars.has(id(s)));
    assert.deepEqual(
      readBy,
      RUNNING.filter((r) => reads(r, s.revision)),
      `${at(s)}: istio-scope's istiods read what LabelsInRevision keeps`,
    );

    // revision.no-istiod: exactly the Sidecars no running istiod reads.
    const noIstiod = of(s, 'revision.no-istiod');
    if (noIstiod) tally.noIstiod++;
    if (Boolean(noIstiod) !== (readBy.length === 0))
      tally.wrong['no-istiod'].push(
        `${at(s)}: read by ${readBy.join(', ') || 'no istiod'}, ${noIstiod ? `yet "${noIstiod.message}"` : 'and revision.no-istiod says nothing'}`,
      );

    // revision.pod-mismatch: labelled, and no injected pod it would apply to runs its revision.
    const mine = injectedPodsFor(s, pods);
    const mismatch = of(s, 'revision.pod-mismatch');
    // Not beside revision.no-istiod, which already says no istiod reads the Sidecar.
    const expected =
      s.revision !== undefined && readBy.length > 0 && mine.length > 0 && mine.every((p) => p.revision !== s.revision);
    if (mismatch) {
      tally.podMismatch++;
      const gets = mine.filter((p) => scopeOf(p) === id(s));
      if (gets.length > 0)
        tally.wrong['pod-mismatch'].push(
          `${at(s)}: "${mismatch.message}", but istiod gives it to ${gets.map(id).join(', ')}`,
        );
      const named = mine.filter((p) => mentions(mismatch.message, { namespace: s.namespace, name: p.name }));
      const more = /, and (\d+) more\)/.exec(mismatch.message)?.[1];
      if (named.length + Number(more ?? 0) !== mine.length || named.length > NAMED_PODS)
        tally.wrong['pod-mismatch'].push(
          `${at(s)}: "${mismatch.message}" names ${named.length} of the ${mine.length} injected pods it would apply to`,
        );
    }
    if (Boolean(mismatch) !== expected)
      tally.wrong['pod-mismatch'].push(
        `${at(s)}: injected pods it would apply to: ${mine.map((p) => `${p.name} (${p.revision})`).join(', ') || 'none'}; ${mismatch ? `"${mismatch.message}"` : 'no revision.pod-mismatch'}`,
      );
  }

  /** Whether sidecar-guard names the two Sidecars together in a conflict or selector finding of either. */
  const together = (a: Gen, b: Gen) =>
    [
      [a, b],
      [b, a],
    ].some(([x, y]) => findings.get(id(x!))!.some((f) => CONFLICT_RULES.has(f.rule) && mentions(f.message, y!)));
  const gens = new Map(sidecars.map((s) => [id(s), s]));

  // Shadowing within each istiod: the Sidecars it reads, its own ages.
  for (const revision of RUNNING) {
    for (const r of runs.get(revision)!.sidecars.values()) {
      if (!r.shadowedBy) continue;
      const s = gens.get(id(r))!;
      const t = gens.get(`${r.namespace}/${r.shadowedBy}`);
      assert.ok(t, `seed ${clusterSeed}: istio-scope names a shadowing Sidecar ${r.shadowedBy} in ${r.namespace}`);
      // conflict.overlap (overlap: workloads) speaks of overlapping selectors only where a pod both pick exists.
      if (!pods.some((p) => p.namespace === s.namespace && appliesTo(s, p.labels) && appliesTo(t, p.labels))) {
        tally.onNoPod++;
        continue;
      }
      tally.shadowed++;
      if (together(s, t)) tally.reported++;
      else
        tally.wrong.shadowing.push(
          `${at(s)}: the istiod of revision "${revision}" gives its pods ${t.name} (${REV} ${JSON.stringify(t.revision ?? null)}), and no finding names both`,
        );
    }
  }

  // Across istiods: a finding naming two Sidecars needs a running istiod that reads both (the oracle's read sets),
  // or one of them labelled with a revision none runs, which would read both once it runs.
  const readers = (s: Gen) => RUNNING.filter((r) => runs.get(r)!.sidecars.has(id(s)));
  for (const s of sidecars) {
    for (const f of findings.get(id(s))!) {
      if (!CONFLICT_RULES.has(f.rule)) continue;
      for (const t of sidecars) {
        if (t === s || t.namespace !== s.namespace || !mentions(f.message, t)) continue;
        const together = readers(s).some((r) => readers(t).includes(r));
        const unrun = [s, t].find((x) => readers(x).length === 0);
        const other = unrun === s ? t : s;
        if (together) {
          if (s.revision !== undefined || t.revision !== undefined) tally.conflictsWithinRevision++;
        } else if (unrun && (other.revision === undefined || other.revision === unrun.revision)) tally.withUnrun++;
        else
          tally.wrong.across.push(
            `${at(s)}: ${f.rule} names ${t.name} (${REV} ${JSON.stringify(t.revision ?? null)}), which no istiod reads with it ("${f.message}")`,
          );
      }
    }
  }
}

describe(`revision.no-istiod, revision.pod-mismatch and conflicts across revisions against each istiod's SidecarScope (seed ${seed}; replay: REVISION_CLAIMS_SEED=${seed})`, {
  timeout: 10 * 60_000,
}, () => {
  const tally: Tally = {
    sidecars: 0,
    pods: 0,
    noIstiod: 0,
    podMismatch: 0,
    shadowed: 0,
    onNoPod: 0,
    reported: 0,
    conflictsWithinRevision: 0,
    withUnrun: 0,
    wrong: { 'no-istiod': [], 'pod-mismatch': [], shadowing: [], across: [] },
  };
  before(async () => {
    ensureOracle();
    for (let c = 0; c < CLUSTERS; c++) await compareCluster(seed + c, tally);
  });

  test('summary', (t) => {
    t.diagnostic(
      `seed ${seed}: ${tally.sidecars} Sidecars, ${tally.pods} pods; revision.no-istiod ${tally.noIstiod}, revision.pod-mismatch ${tally.podMismatch}; ` +
        `shadowed by an istiod ${tally.shadowed} where a pod both pick exists (${tally.reported} named with the shadower), ${tally.onNoPod} where none does; conflict findings between Sidecars one running revision reads ${tally.conflictsWithinRevision}, beside one of a revision none runs ${tally.withUnrun}`,
    );
    assert.ok(tally.noIstiod > 0 && tally.podMismatch > 0, 'the generator makes Sidecars both revision rules report');
    assert.ok(
      tally.shadowed > 0 && tally.conflictsWithinRevision > 0,
      'the generator makes conflicts within a revision',
    );
  });

  test('revision.no-istiod: said exactly of the Sidecars no running istiod reads', () => {
    assert.deepEqual(tally.wrong['no-istiod'].slice(0, 5), []);
  });

  test('revision.pod-mismatch: said of a labelled Sidecar a running istiod reads exactly when every injected pod it would apply to runs another revision, whose istiod never gives it to them', () => {
    assert.deepEqual(tally.wrong['pod-mismatch'].slice(0, 5), []);
  });

  test('every Sidecar an istiod shadows, where a pod both pick exists, is named with its shadower', () => {
    assert.deepEqual(tally.wrong.shadowing.slice(0, 5), []);
  });

  test('no conflict finding names two Sidecars no running istiod reads together (but for a revision none runs)', () => {
    assert.deepEqual(tally.wrong.across.slice(0, 5), []);
  });
});

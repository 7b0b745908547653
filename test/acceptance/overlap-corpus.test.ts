// The evidence behind --overlap's default (README, "Which overlap mode"):
// every pair of selector Sidecars in one namespace of real manifests,
// judged by admission's own rule in each mode. A pair is "exhibited" when an
// existing pod, or a workload that runs pods (replicas > 0, or a kind without
// a replica count), carries both label sets: the overlaps Istio's analyzer
// would report on a live cluster.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parseSources } from '../../src/manifests/documents.js';
import { clusterObjects, storeOf, type ClusterObjects } from '../../src/manifests/state.js';
import { crossObjectRules } from '../../src/sidecar/cross-rules.js';
import { mergeSelectors, selectorOf, type OverlapMode } from '../../src/sidecar/selectors.js';
import { refOf } from '../../src/sidecar/object.js';

const CORPUS = new URL('../fixtures/overlap-corpus/', import.meta.url);
const SEEDS = new URL('../fixtures/seeds/', import.meta.url);

/** One set of manifests that would live in one cluster. */
interface Scenario {
  name: string;
  objects: Required<ClusterObjects>;
}

const scenario = (name: string, dir: URL, file: string): Scenario => ({
  name,
  objects: clusterObjects(
    parseSources([{ file, text: readFileSync(new URL(file, dir), 'utf8') }]).filter((m) => m.ok),
    'default',
  ),
});

interface Counts {
  sidecars: number;
  pairs: number;
  labels: number;
  exhibited: number;
  workloads: number;
  pods: number;
  identical: number;
}

const MODES: OverlapMode[] = ['labels', 'workloads', 'pods', 'identical'];

function count(scenarios: readonly Scenario[]): Counts {
  const total: Counts = { sidecars: 0, pairs: 0, labels: 0, exhibited: 0, workloads: 0, pods: 0, identical: 0 };
  for (const { objects } of scenarios) {
    const selective = objects.sidecars.filter((s) => selectorOf(s) !== null);
    total.sidecars += objects.sidecars.length;
    const exhibitedBy = storeOf({ ...objects, sidecars: [] });
    for (let i = 0; i < selective.length; i++) {
      for (let j = i + 1; j < selective.length; j++) {
        const [a, b] = [selective[i]!, selective[j]!];
        const [refA, refB] = [refOf(a, 'default'), refOf(b, 'default')];
        if (refA.namespace !== refB.namespace) continue;
        total.pairs++;
        // b judged at admission against a cluster holding a and everything that is not a Sidecar.
        const view = storeOf({ ...objects, sidecars: [a] });
        for (const mode of MODES) {
          const refused = crossObjectRules({ object: b, ref: refB }, view, {
            overlap: mode,
            rootNamespace: 'istio-system',
            unknownHosts: 'off',
          }).some((v) => v.rule === 'conflict.overlap');
          if (refused) total[mode]++;
        }
        const shared = mergeSelectors(selectorOf(a)!, selectorOf(b)!);
        const running =
          shared !== null &&
          (exhibitedBy.podsMatching(refA.namespace, shared, 1, 'sidecar').length > 0 ||
            exhibitedBy.workloadsMatching(refA.namespace, shared, 50).some((w) => w.replicas !== 0));
        if (running) total.exhibited++;
      }
    }
  }
  return total;
}

const seeds = readdirSync(SEEDS)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => scenario(`seed ${f}`, SEEDS, f));

/** All examples of one seed document in one cluster, as the kubectl end-to-end suite applies them. */
function seedDocuments(): Scenario[] {
  const byDocument = new Map<string, Scenario[]>();
  for (const s of seeds) {
    const doc = s.name.slice('seed '.length, 'seed '.length + 3);
    byDocument.set(doc, [...(byDocument.get(doc) ?? []), s]);
  }
  return [...byDocument.entries()].map(([doc, parts]) => ({
    name: `seed document ${doc}`,
    objects: {
      sidecars: parts.flatMap((p) => p.objects.sidecars),
      pods: parts.flatMap((p) => p.objects.pods),
      namespaces: parts.flatMap((p) => p.objects.namespaces),
      workloads: parts.flatMap((p) => p.objects.workloads),
      services: parts.flatMap((p) => p.objects.services),
      serviceEntries: parts.flatMap((p) => p.objects.serviceEntries),
    },
  }));
}

/** The table in the README, row by row. */
const EXPECTED: [string, Scenario[], Counts][] = [
  [
    "Istio's analyzer testdata sidecar-selector.yaml",
    [scenario('selector', CORPUS, 'istio-sidecar-selector.yaml')],
    { sidecars: 7, pairs: 15, labels: 6, exhibited: 2, workloads: 2, pods: 2, identical: 1 },
  ],
  [
    "Istio's analyzer testdata sidecar-default-selector.yaml",
    [scenario('default-selector', CORPUS, 'istio-sidecar-default-selector.yaml')],
    { sidecars: 8, pairs: 0, labels: 0, exhibited: 0, workloads: 0, pods: 0, identical: 0 },
  ],
  [
    'Online Boutique, one Sidecar per service',
    [scenario('online-boutique', CORPUS, 'online-boutique.yaml')],
    { sidecars: 11, pairs: 55, labels: 0, exhibited: 0, workloads: 0, pods: 0, identical: 0 },
  ],
  [
    'the seed documents, each example alone',
    seeds,
    { sidecars: 29, pairs: 0, labels: 0, exhibited: 0, workloads: 0, pods: 0, identical: 0 },
  ],
  [
    'the seed documents, all examples of a document in one cluster',
    seedDocuments(),
    { sidecars: 29, pairs: 9, labels: 1, exhibited: 0, workloads: 1, pods: 0, identical: 1 },
  ],
];

describe('overlap modes on real manifests', () => {
  for (const [name, scenarios, expected] of EXPECTED) {
    test(name, () => {
      assert.deepEqual(count(scenarios), expected);
    });
  }

  test('workloads refuses every exhibited overlap and, beyond it, only identical selectors', () => {
    for (const [, scenarios] of EXPECTED) {
      const c = count(scenarios);
      assert.ok(c.workloads >= c.exhibited && c.workloads <= c.exhibited + c.identical, JSON.stringify(c));
    }
  });
});

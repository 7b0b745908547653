// The arrows of src/ point one way. madge reads every import (type-only and
// dynamic ones included) the way the compiler resolves them; the test then
// checks the graph has no cycle and that each module imports only from its
// own unit or from a lower layer. Units on the same layer are peers and do
// not import each other.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { before, describe, test } from 'node:test';
import madge from 'madge';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
const TSCONFIG = fileURLToPath(new URL('../../tsconfig.json', import.meta.url));

/** A unit is a folder (trailing slash) or a list of files, relative to src/. */
interface Unit {
  name: string;
  paths: string[];
}

const unit = (name: string, ...paths: string[]): Unit => ({ name, paths: paths.length > 0 ? paths : [`${name}/`] });

/** Bottom first. The first unit whose path matches a file owns it. */
const LAYERS: Unit[][] = [
  [unit('util')],
  // The wire protocol's types and codecs, and Go's semantics as Istio's rules need them: pure, Sidecar-agnostic.
  [unit('admission'), unit('sidecar/go')],
  // What the rules talk about: objects, findings, selectors, the ClusterView port and its records.
  [
    unit(
      'sidecar model',
      'sidecar/object.ts',
      'sidecar/violation.ts',
      'sidecar/selectors.ts',
      'sidecar/view.ts',
      'sidecar/records.ts',
      'sidecar/ambient.ts',
      'sidecar/managed.ts',
      'sidecar/revisions.ts',
      'sidecar/gateways.ts',
      'sidecar/spec.ts',
    ),
  ],
  [unit('sidecar/schema'), unit('sidecar/rules')],
  // The one decision pipeline (review.ts) and what it composes.
  [unit('sidecar')],
  // The view's implementations: the store, the informers, the API client, reservations and the admitter;
  // and the other server read at the I/O edge: Prometheus (traffic edges, pure, and its HTTP client).
  [unit('cluster'), unit('traffic')],
  [unit('manifests'), unit('defaults'), unit('tls')],
  // serve's option table and configuration types.
  [unit('config', 'config.ts')],
  [unit('http')],
  [unit('metrics', 'metrics.ts'), unit('check'), unit('audit')],
  [unit('composition root', 'sources.ts', 'kubeconfig.ts', 'main.ts', 'cli.ts')],
];

function placeOf(file: string): { layer: number; unit: string } | undefined {
  for (const [layer, units] of LAYERS.entries()) {
    for (const u of units)
      if (u.paths.some((p) => (p.endsWith('/') ? file.startsWith(p) : file === p))) return { layer, unit: u.name };
  }
  return undefined;
}

let graph: Record<string, string[]>;
let circular: string[][];

before(async () => {
  const result = await madge(SRC, { fileExtensions: ['ts'], tsConfig: TSCONFIG });
  graph = result.obj();
  circular = result.circular();
});

describe('layers of src/', () => {
  test('madge sees the whole tree', () => {
    assert.ok(Object.keys(graph).length > 80, `only ${Object.keys(graph).length} modules found`);
    assert.ok(graph['cli.ts']?.includes('main.ts'), 'the dynamic import of main.ts from cli.ts is an edge');
  });

  test('no import cycles (madge --circular)', () => {
    assert.deepEqual(circular, []);
  });

  test('every module belongs to a layer', () => {
    assert.deepEqual(
      Object.keys(graph).filter((f) => placeOf(f) === undefined),
      [],
    );
  });

  test('each module imports only its own unit or lower layers', () => {
    const wrong: string[] = [];
    for (const [file, deps] of Object.entries(graph)) {
      const from = placeOf(file)!;
      for (const dep of deps) {
        const to = placeOf(dep);
        if (!to) continue; // reported by the test above
        if (to.unit === from.unit || to.layer < from.layer) continue;
        wrong.push(
          `${file} (${from.unit}) -> ${dep} (${to.unit}${to.layer === from.layer ? ', a peer' : ', a higher layer'})`,
        );
      }
    }
    assert.deepEqual(wrong, []);
  });
});

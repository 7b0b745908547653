// audit --scope on the fixture mesh (test/fixtures/traffic/mesh.yaml). The
// expected numbers are counted by hand from the manifests: 16 Services (one,
// catalog/reviews, exported to catalog only, so 15 elsewhere) and one
// ServiceEntry host (payments/api.stripe.com, exported to payments only).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fixture, runCli } from '../helpers/cli.js';

const MESH = fixture('traffic/mesh.yaml');

interface Row {
  namespace: string;
  sidecar: { kind: string; name?: string };
  imported: { services: number; serviceEntryHosts: number; total: number };
  withoutSidecar: { services: number; serviceEntryHosts: number; total: number };
  workloads?: string[];
}

describe('audit --scope', () => {
  test('per namespace and per selector Sidecar: imports under the Sidecars in force and without them (JSON)', async () => {
    const r = await runCli(['audit', '--scope', MESH, '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as {
      namespaces: Row[];
      selectorSidecars: Row[];
      unscoped: string[];
      summary: Record<string, unknown>;
    };
    const counts = Object.fromEntries(
      report.namespaces.map((n) => [
        n.namespace,
        [
          n.sidecar.kind,
          n.imported.services,
          n.imported.serviceEntryHosts,
          n.withoutSidecar.services,
          n.withoutSidecar.serviceEntryHosts,
        ],
      ]),
    );
    assert.deepEqual(counts, {
      // ./* (cart) + istio-system/* (2) + catalog/products, pricing/prices, data/redis
      cart: ['namespace', 6, 0, 15, 0],
      // ./* sees reviews too (exported to catalog)
      catalog: ['namespace', 6, 0, 16, 0],
      // payments/* imports the Service but not the ServiceEntry (exported to payments only)
      checkout: ['namespace', 7, 0, 15, 0],
      data: ['none', 15, 0, 15, 0],
      frontend: ['namespace', 9, 0, 15, 0],
      inventory: ['none', 15, 0, 15, 0],
      'istio-system': ['none', 15, 0, 15, 0],
      legacy: ['none', 15, 0, 15, 0],
      payments: ['namespace', 4, 1, 15, 1],
      pricing: ['none', 15, 0, 15, 0],
      search: ['namespace', 5, 0, 15, 0],
      shipping: ['namespace', 4, 0, 15, 0],
      users: ['none', 15, 0, 15, 0],
    });
    assert.deepEqual(
      report.selectorSidecars.map((s) => [
        s.namespace,
        s.sidecar.name,
        s.workloads,
        s.imported.total,
        s.withoutSidecar.total,
      ]),
      [['inventory', 'stock', ['stock'], 4, 15]],
    );
    assert.deepEqual(report.unscoped, ['data', 'istio-system', 'legacy', 'pricing', 'users']);
    assert.deepEqual(report.summary.mesh, { services: 16, serviceEntryHosts: 1, total: 17 });
  });

  test('text table', async () => {
    const r = await runCli(['audit', '--scope', MESH]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.match(lines[0]!, /^NAMESPACE +SIDECAR IN FORCE +SERVICES +SE HOSTS +IMPORTED\/WITHOUT +SHARE$/);
    assert.ok(
      lines.includes('payments      payments/default      4/15      1/1       5/16              31%'),
      r.stdout,
    );
    assert.ok(
      lines.includes('inventory     (none but selectors)  15/15     0/0       15/15             100%'),
      r.stdout,
    );
    assert.ok(
      lines.includes('inventory  stock             app=stock  stock      4/15      0/0       4/15              27%'),
      r.stdout,
    );
    assert.ok(
      lines.includes(
        'No Sidecar at all (every proxy imports everything exported to its namespace): data, istio-system, legacy, pricing, users',
      ),
    );
    assert.match(
      r.stdout,
      /13 namespaces: 7 with their own default, 0 under the mesh default, 6 without a default \(5 with no Sidecar at all\); 1 selector Sidecar\. The mesh has 16 Services and 1 ServiceEntry host\./,
    );
  });

  test('a mesh default in the root namespace applies to namespaces without their own, `./` per namespace', async () => {
    const meshDefault = `---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata:
  name: default
  namespace: istio-system
spec:
  egress:
    - hosts: ["./*", "istio-system/*", "~data/redis.data.svc.cluster.local", "data/*"]
`;
    const { readFileSync } = await import('node:fs');
    const r = await runCli(['audit', '--scope', '-', '-o', 'json'], {
      stdin: readFileSync(MESH, 'utf8') + meshDefault,
    });
    const report = JSON.parse(r.stdout) as { namespaces: Row[]; unscoped: string[] };
    const users = report.namespaces.find((n) => n.namespace === 'users')!;
    // ./* (accounts) + istio-system/* (2) + data/* minus the excluded redis (postgres)
    assert.deepEqual([users.sidecar.kind, users.sidecar.name, users.imported.services], ['mesh', 'default', 4]);
    assert.deepEqual(report.unscoped, []);
  });
});

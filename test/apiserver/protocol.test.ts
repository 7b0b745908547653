// Protocol-level behaviour of the test API server over raw HTTPS: Status
// errors, optimistic concurrency, patches, dry-run, watches and faults.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApiServer } from './index.js';
import type { TestApiServer } from './index.js';
import { openWatch, request } from './helpers/http.js';

const SC = '/apis/networking.istio.io/v1/namespaces/shop/sidecars';

function sidecarBody(name: string, hosts: string[], labels?: Record<string, string>): Record<string, unknown> {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'Sidecar',
    metadata: { name, ...(labels ? { labels } : {}) },
    spec: { egress: [{ hosts }] },
  };
}

async function until(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('test API server protocol', () => {
  let server: TestApiServer;

  before(async () => {
    server = await startTestApiServer({ bookmarkIntervalMs: 50 });
    const ns = await request(server, 'POST', '/api/v1/namespaces', {
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
    });
    assert.equal(ns.status, 201);
  });

  after(async () => {
    await server.close();
  });

  it('answers errors with kube-apiserver Status objects', async () => {
    const missing = await request(server, 'GET', `${SC}/nope`);
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.json, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'sidecars.networking.istio.io "nope" not found',
      reason: 'NotFound',
      details: { name: 'nope', group: 'networking.istio.io', kind: 'sidecars' },
      code: 404,
    });
    assert.equal((await request(server, 'POST', SC, { body: sidecarBody('dup', ['./*']) })).status, 201);
    const dup = await request(server, 'POST', SC, { body: sidecarBody('dup', ['./*']) });
    assert.equal(dup.status, 409);
    assert.equal(dup.json.reason, 'AlreadyExists');
    assert.equal(dup.json.message, 'sidecars.networking.istio.io "dup" already exists');
    const noNs = await request(server, 'POST', '/apis/networking.istio.io/v1/namespaces/ghost/sidecars', {
      body: sidecarBody('x', ['./*']),
    });
    assert.equal(noNs.status, 404);
    assert.equal(noNs.json.message, 'namespaces "ghost" not found');
    assert.deepEqual(noNs.json.details, { name: 'ghost', kind: 'namespaces' });
    const anonymous = await request(server, 'GET', SC, { anonymous: true });
    assert.equal(anonymous.status, 401);
    assert.equal((await request(server, 'GET', '/apis/networking.istio.io/v1/namespaces/shop/gateways')).status, 404);
  });

  it('bumps one global resourceVersion, refuses stale updates with 409 Conflict, and bumps generation on spec changes only', async () => {
    const created = await request(server, 'POST', SC, { body: sidecarBody('cc', ['./*']) });
    const rv1 = Number(created.json.metadata.resourceVersion);
    assert.equal(created.json.metadata.generation, 1);
    const cm = await request(server, 'POST', '/api/v1/namespaces/shop/configmaps', {
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'b' } },
    });
    assert.equal(Number(cm.json.metadata.resourceVersion), rv1 + 1);

    const updated = await request(server, 'PUT', `${SC}/cc`, {
      body: { ...created.json, spec: { egress: [{ hosts: ['a/*'] }] } },
    });
    assert.equal(updated.status, 200);
    assert.equal(updated.json.metadata.generation, 2);
    const stale = await request(server, 'PUT', `${SC}/cc`, { body: created.json });
    assert.equal(stale.status, 409);
    assert.deepEqual(stale.json, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'Operation cannot be fulfilled on sidecars.networking.istio.io "cc": the object has been modified; please apply your changes to the latest version and try again',
      reason: 'Conflict',
      details: { name: 'cc', group: 'networking.istio.io', kind: 'sidecars' },
      code: 409,
    });
    const labelled = await request(server, 'PATCH', `${SC}/cc`, {
      body: { metadata: { labels: { a: 'b' } } },
      contentType: 'application/merge-patch+json',
    });
    assert.equal(labelled.json.metadata.generation, 2, 'metadata changes leave generation alone');
  });

  it('applies JSON patches, and fails one whose test op does not hold with 422', async () => {
    const patched = await request(server, 'PATCH', `${SC}/cc`, {
      contentType: 'application/json-patch+json',
      body: [{ op: 'add', path: '/spec/egress/0/hosts/-', value: 'b/*' }],
    });
    assert.equal(patched.status, 200);
    assert.deepEqual(patched.json.spec.egress[0].hosts, ['a/*', 'b/*']);
    const failed = await request(server, 'PATCH', `${SC}/cc`, {
      contentType: 'application/json-patch+json',
      body: [{ op: 'test', path: '/spec/egress/0/hosts/0', value: 'zzz' }],
    });
    assert.equal(failed.status, 422);
    assert.equal(failed.json.kind, 'Status');
  });

  it('keeps status out of main-resource writes and spec out of status writes', async () => {
    const obj = (await request(server, 'GET', `${SC}/cc`)).json;
    const withStatus = await request(server, 'PUT', `${SC}/cc/status`, {
      body: { ...obj, spec: { egress: [{ hosts: ['ignored/*'] }] }, status: { observedGeneration: 2 } },
    });
    assert.equal(withStatus.status, 200);
    assert.deepEqual(withStatus.json.status, { observedGeneration: 2 });
    assert.deepEqual(withStatus.json.spec.egress[0].hosts, ['a/*', 'b/*']);
    const main = await request(server, 'PATCH', `${SC}/cc`, {
      body: { status: { observedGeneration: 99 } },
      contentType: 'application/merge-patch+json',
    });
    assert.deepEqual(main.json.status, { observedGeneration: 2 });
  });

  it('runs dry-run writes without storing or bumping resourceVersion', async () => {
    const rv = server.store.resourceVersion();
    const create = await request(server, 'POST', `${SC}?dryRun=All`, { body: sidecarBody('dry', ['./*']) });
    assert.equal(create.status, 201);
    assert.equal(create.json.metadata.name, 'dry');
    const del = await request(server, 'DELETE', `${SC}/cc?dryRun=All`);
    assert.equal(del.status, 200);
    const patch = await request(server, 'PATCH', `${SC}/cc?dryRun=All`, {
      body: { spec: { egress: [] } },
      contentType: 'application/merge-patch+json',
    });
    assert.deepEqual(patch.json.spec.egress, []);
    assert.equal(server.store.resourceVersion(), rv);
    assert.equal((await request(server, 'GET', `${SC}/dry`)).status, 404);
    assert.deepEqual((await request(server, 'GET', `${SC}/cc`)).json.spec.egress[0].hosts, ['a/*', 'b/*']);
  });

  it('warns about pruned unknown fields under fieldValidation=Warn, with escaped Warning headers', async () => {
    const body = { ...sidecarBody('warned', ['./*']), spec: { egress: [{ hosts: ['./*'] }], 'we"ird\\key': 1 } };
    const r = await request(server, 'POST', `${SC}?fieldValidation=Warn`, { body });
    assert.equal(r.status, 201);
    // The text is: unknown field "spec.we"ird\key" -- quotes and backslashes escaped with a backslash.
    assert.equal(r.headers.warning, '299 - "unknown field \\"spec.we\\"ird\\\\key\\""');
    assert.deepEqual(r.json.spec, { egress: [{ hosts: ['./*'] }] });
    const ignored = await request(server, 'POST', `${SC}?fieldValidation=Ignore`, {
      body: { ...body, metadata: { name: 'ignored' } },
    });
    assert.equal(ignored.headers.warning, undefined);
  });

  it('lists with label and field selectors, per namespace and across namespaces', async () => {
    await request(server, 'POST', '/api/v1/namespaces', {
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'pay' } },
    });
    await request(server, 'POST', '/apis/networking.istio.io/v1/namespaces/pay/sidecars', {
      body: sidecarBody('p1', ['./*'], { team: 'pay', tier: 'web' }),
    });
    await request(server, 'POST', SC, { body: sidecarBody('s1', ['./*'], { team: 'shop' }) });
    const names = async (path: string): Promise<string[]> =>
      ((await request(server, 'GET', path)).json.items as { metadata: { namespace: string; name: string } }[]).map(
        (o) => `${o.metadata.namespace}/${o.metadata.name}`,
      );
    assert.deepEqual(await names('/apis/networking.istio.io/v1/sidecars?labelSelector=team'), ['pay/p1', 'shop/s1']);
    assert.deepEqual(await names('/apis/networking.istio.io/v1/sidecars?labelSelector=team%20in%20(pay),tier!=db'), [
      'pay/p1',
    ]);
    assert.deepEqual(await names('/apis/networking.istio.io/v1/sidecars?labelSelector=team%20notin%20(pay),team'), [
      'shop/s1',
    ]);
    assert.deepEqual(await names('/apis/networking.istio.io/v1/sidecars?labelSelector=!tier,team'), ['shop/s1']);
    assert.deepEqual(await names('/apis/networking.istio.io/v1/sidecars?fieldSelector=metadata.name%3Dp1'), ['pay/p1']);
    assert.deepEqual(
      await names(
        '/apis/networking.istio.io/v1/sidecars?fieldSelector=metadata.namespace%3Dshop,metadata.name!%3Dcc&labelSelector=team',
      ),
      ['shop/s1'],
    );
    const list = (await request(server, 'GET', '/apis/networking.istio.io/v1beta1/sidecars')).json;
    assert.equal(list.kind, 'SidecarList');
    assert.equal(list.apiVersion, 'networking.istio.io/v1beta1');
    assert.equal(list.metadata.resourceVersion, server.store.resourceVersion());
    assert.ok((list.items as { apiVersion: string }[]).every((i) => i.apiVersion === 'networking.istio.io/v1beta1'));
    const badField = await request(server, 'GET', '/apis/networking.istio.io/v1/sidecars?fieldSelector=spec.foo%3Dx');
    assert.equal(badField.status, 400);
  });

  it('replays watch events after a resourceVersion, at the watched version', async () => {
    const from = server.store.resourceVersion();
    await request(server, 'POST', SC, { body: sidecarBody('w1', ['./*']) });
    await request(server, 'PATCH', `${SC}/w1`, {
      body: { spec: { egress: [{ hosts: ['x/*'] }] } },
      contentType: 'application/merge-patch+json',
    });
    await request(server, 'DELETE', `${SC}/w1`);
    const watch = await openWatch(
      server,
      `/apis/networking.istio.io/v1alpha3/namespaces/shop/sidecars?watch=true&resourceVersion=${from}`,
    );
    await until('three events', () => watch.events.length >= 3);
    assert.deepEqual(
      watch.events.map((e) => e.type),
      ['ADDED', 'MODIFIED', 'DELETED'],
    );
    assert.ok(watch.events.every((e) => e.object.apiVersion === 'networking.istio.io/v1alpha3'));
    const rvs = watch.events.map((e) => Number(e.object.metadata.resourceVersion));
    assert.deepEqual(
      [...rvs].sort((a, b) => a - b),
      rvs,
    );
    watch.close();
  });

  it('streams live events and moves objects in and out of a label selection', async () => {
    const watch = await openWatch(server, `${SC}?watch=true&labelSelector=watched%3Dyes-please`);
    await until('watch registered', () => server.openWatches() === 1);
    await request(server, 'POST', SC, { body: sidecarBody('sel', ['./*']) });
    await request(server, 'PATCH', `${SC}/sel`, {
      body: { metadata: { labels: { watched: 'yes-please' } } },
      contentType: 'application/merge-patch+json',
    });
    await request(server, 'PATCH', `${SC}/sel`, {
      body: { metadata: { labels: { watched: 'no' } } },
      contentType: 'application/merge-patch+json',
    });
    await until('two events', () => watch.events.length >= 2);
    assert.deepEqual(
      watch.events.map((e) => `${e.type} ${e.object.metadata.name}`),
      ['ADDED sel', 'DELETED sel'],
    );
    watch.close();
    await until('watch closed', () => server.openWatches() === 0);
  });

  it('sends synthetic ADDED events for a watch without resourceVersion, on the legacy /watch/ path too', async () => {
    const watch = await openWatch(server, '/api/v1/watch/namespaces?timeoutSeconds=1');
    await watch.ended;
    assert.deepEqual(
      watch.events.map((e) => `${e.type} ${e.object.metadata.name}`),
      ['ADDED default', 'ADDED kube-node-lease', 'ADDED kube-public', 'ADDED kube-system', 'ADDED pay', 'ADDED shop'],
    );
  });

  it('ends a watch from an expired resourceVersion with one 410 Expired ERROR event', async () => {
    const old = server.store.resourceVersion();
    server.faults.expireHistory();
    const current = server.store.resourceVersion();
    const watch = await openWatch(server, `${SC}?watch=true&resourceVersion=${old}`);
    await watch.ended;
    assert.deepEqual(watch.events, [
      {
        type: 'ERROR',
        object: {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: `too old resource version: ${old} (${current})`,
          reason: 'Expired',
          code: 410,
        },
      },
    ]);
    // A list returns a resourceVersion that can be watched from.
    const rv = (await request(server, 'GET', SC)).json.metadata.resourceVersion;
    const fresh = await openWatch(server, `${SC}?watch=true&resourceVersion=${rv}&timeoutSeconds=1`);
    await fresh.ended;
    assert.deepEqual(fresh.events, []);
  });

  it('sends BOOKMARK events carrying the current resourceVersion when asked to', async () => {
    const watch = await openWatch(
      server,
      `${SC}?watch=true&allowWatchBookmarks=true&resourceVersion=${server.store.resourceVersion()}`,
    );
    await until('a bookmark', () => watch.events.some((e) => e.type === 'BOOKMARK'));
    const bookmark = watch.events.find((e) => e.type === 'BOOKMARK');
    assert.deepEqual(bookmark?.object, {
      kind: 'Sidecar',
      apiVersion: 'networking.istio.io/v1',
      metadata: { resourceVersion: server.store.resourceVersion() },
    });
    watch.close();
    const plain = await openWatch(
      server,
      `${SC}?watch=true&resourceVersion=${server.store.resourceVersion()}&timeoutSeconds=1`,
    );
    await plain.ended;
    assert.deepEqual(plain.events, []);
  });

  it('counts open watches, and drops them on demand', async () => {
    const a = await openWatch(server, `${SC}?watch=true`);
    const b = await openWatch(server, '/apis/networking.istio.io/v1/sidecars?watch=true');
    await until('two watches', () => server.openWatches() === 2);
    server.faults.dropWatches();
    await Promise.all([a.ended, b.ended]);
    await until('no watches', () => server.openWatches() === 0);
  });

  it('fails and hangs requests as told, then clears', async () => {
    server.faults.failRequests({
      match: (method, path) => method === 'GET' && path.startsWith(SC),
      status: 503,
      times: 2,
    });
    const first = await request(server, 'GET', SC);
    const second = await request(server, 'GET', SC);
    const third = await request(server, 'GET', SC);
    assert.deepEqual([first.status, second.status, third.status], [503, 503, 200]);
    assert.equal(first.json.reason, 'ServiceUnavailable');

    server.faults.hangRequests({ match: (_m, path) => path.startsWith(SC), ms: 60_000 });
    await assert.rejects(request(server, 'GET', SC, { timeoutMs: 300 }), /abort|timeout/i);
    server.faults.clear();
    assert.equal((await request(server, 'GET', SC)).status, 200);
  });

  it('serves discovery in both formats and OpenAPI v3 with the fieldValidation parameter', async () => {
    const resources = (await request(server, 'GET', '/apis/networking.istio.io/v1beta1')).json;
    const sidecars = resources.resources.find((r: { name: string }) => r.name === 'sidecars');
    assert.deepEqual(
      { kind: sidecars.kind, namespaced: sidecars.namespaced, singularName: sidecars.singularName },
      { kind: 'Sidecar', namespaced: true, singularName: 'sidecar' },
    );
    const core = (await request(server, 'GET', '/api/v1')).json.resources.find(
      (r: { name: string }) => r.name === 'namespaces',
    );
    assert.deepEqual(core.shortNames, ['ns']);
    assert.equal(core.namespaced, false);
    const group = (await request(server, 'GET', '/apis')).json.groups.find(
      (g: { name: string }) => g.name === 'networking.istio.io',
    );
    assert.deepEqual(
      group.versions.map((v: { version: string }) => v.version),
      ['v1', 'v1beta1', 'v1alpha3'],
    );
    const aggregated = await request(server, 'GET', '/apis', {
      headers: { Accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json' },
    });
    assert.equal(
      aggregated.headers['content-type'],
      'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList',
    );
    assert.equal(aggregated.json.kind, 'APIGroupDiscoveryList');
    const root = (await request(server, 'GET', '/openapi/v3')).json;
    const doc = (await request(server, 'GET', root.paths['apis/networking.istio.io/v1'].serverRelativeURL)).json;
    const patch = doc.paths['/apis/networking.istio.io/v1/namespaces/{namespace}/sidecars/{name}'].patch;
    assert.deepEqual(patch['x-kubernetes-group-version-kind'], {
      group: 'networking.istio.io',
      version: 'v1',
      kind: 'Sidecar',
    });
    assert.ok(
      patch.parameters.some((p: { name: string; in: string }) => p.name === 'fieldValidation' && p.in === 'query'),
    );
    assert.equal('application/strategic-merge-patch+json' in patch.requestBody.content, false);
  });
});

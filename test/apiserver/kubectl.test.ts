// The real kubectl (1.32, default flags) against the test API server.
//
// Default flags that matter here and how they are served:
// - `--validate=strict` (default): kubectl reads /openapi/v3, finds the
//   `fieldValidation` parameter on the kind's PATCH operation and sends
//   `?fieldValidation=Strict`; the server prunes Sidecars against the CRD
//   schema and rejects unknown fields. Built-in kinds (Namespace, Pod, ...)
//   have no schemas here, so unknown fields in them are accepted silently.
// - `kubectl apply` (client-side, the default) patches Sidecars with a JSON
//   merge patch (the OpenAPI says CRDs take no strategic merge patch) and
//   built-in kinds with a strategic merge patch computed from kubectl's
//   compiled-in types (the v3 documents carry no built-in schemas and
//   /openapi/v2 answers 404, which kubectl tolerates silently).
// - `kubectl create namespace` sends protobuf; the server decodes it for
//   Namespace, Secret and ConfigMap only (`kubectl run` of a Pod would get 415).
// - `--server-side` apply is not supported: it answers 415 with a message.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { startTestApiServer } from './index.js';
import type { TestApiServer } from './index.js';
import { kubectlFor } from './helpers/kubectl.js';
import type { Kubectl } from './helpers/kubectl.js';

function sidecar(name: string, hosts: string[], extraSpec: Record<string, unknown> = {}, apiVersion = 'networking.istio.io/v1'): string {
  return stringify({ apiVersion, kind: 'Sidecar', metadata: { name, namespace: 'shop' }, spec: { egress: [{ hosts }], ...extraSpec } });
}

describe('kubectl against the test API server', () => {
  let server: TestApiServer;
  let kubectl: Kubectl;

  async function ok(args: string[], stdin?: string): Promise<string> {
    const r = await kubectl(args, stdin === undefined ? undefined : { stdin });
    assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  }

  async function fails(args: string[], stdin?: string): Promise<string> {
    const r = await kubectl(args, stdin === undefined ? undefined : { stdin });
    assert.equal(r.code, 1, `kubectl ${args.join(' ')} should fail; stdout: ${r.stdout}`);
    return r.stderr;
  }

  before(async () => {
    server = await startTestApiServer();
    kubectl = kubectlFor(server);
  });

  after(async () => {
    kubectl.cleanup();
    await server.close();
  });

  it('creates and labels a namespace; the server adds kubernetes.io/metadata.name', async () => {
    assert.match(await ok(['create', 'namespace', 'shop']), /^namespace\/shop created$/m);
    assert.match(await ok(['label', 'namespace', 'shop', 'x=y']), /^namespace\/shop labeled$/m);
    const ns = JSON.parse(await ok(['get', 'namespace', 'shop', '-o', 'json'])) as { metadata: { labels: Record<string, string> }; status: { phase: string } };
    assert.deepEqual(ns.metadata.labels, { 'kubernetes.io/metadata.name': 'shop', x: 'y' });
    assert.equal(ns.status.phase, 'Active');
    assert.match(await fails(['create', 'namespace', 'shop']), /Error from server \(AlreadyExists\): namespaces "shop" already exists/);
    assert.match(await ok(['get', 'namespaces']), /^shop\s+Active\s+\d+s$/m);
  });

  it('applies a Sidecar, then re-applies it modified (merge patch), bumping generation', async () => {
    assert.match(await ok(['apply', '-f', '-'], sidecar('default', ['./*'])), /sidecar\.networking\.istio\.io\/default created/);
    assert.match(await ok(['apply', '-f', '-'], sidecar('default', ['./*', 'istio-system/*'])), /sidecar\.networking\.istio\.io\/default configured/);
    assert.match(await ok(['apply', '-f', '-'], sidecar('default', ['./*', 'istio-system/*'])), /sidecar\.networking\.istio\.io\/default unchanged/);
    const obj = parse(await ok(['get', 'sidecar', '-n', 'shop', 'default', '-o', 'yaml'])) as { metadata: { generation: number }; spec: unknown };
    assert.equal(obj.metadata.generation, 2);
    assert.deepEqual(obj.spec, { egress: [{ hosts: ['./*', 'istio-system/*'] }] });
  });

  it('reads the one stored Sidecar at v1, v1beta1 and v1alpha3', async () => {
    for (const version of ['v1', 'v1beta1', 'v1alpha3']) {
      const obj = parse(await ok(['get', `sidecars.${version}.networking.istio.io`, '-n', 'shop', 'default', '-o', 'yaml'])) as { apiVersion: string; spec: unknown };
      assert.equal(obj.apiVersion, `networking.istio.io/${version}`);
      assert.deepEqual(obj.spec, { egress: [{ hosts: ['./*', 'istio-system/*'] }] });
    }
    assert.match(await ok(['get', 'sidecars', '--all-namespaces']), /^shop\s+default\s+\d+s$/m);
  });

  it('stores nothing on apply --dry-run=server', async () => {
    assert.match(await ok(['apply', '--dry-run=server', '-f', '-'], sidecar('dry', ['./*'])), /sidecar\.networking\.istio\.io\/dry created \(server dry run\)/);
    const rv = server.store.resourceVersion();
    await ok(['apply', '--dry-run=server', '-f', '-'], sidecar('default', ['changed/*']));
    assert.equal(server.store.resourceVersion(), rv, 'dry run does not bump resourceVersion');
    assert.match(await fails(['get', 'sidecar', '-n', 'shop', 'dry']), /Error from server \(NotFound\): sidecars\.networking\.istio\.io "dry" not found/);
    const stored = server.store.get({ apiVersion: 'networking.istio.io/v1', resource: 'sidecars', namespace: 'shop', name: 'default' });
    assert.deepEqual(stored?.spec, { egress: [{ hosts: ['./*', 'istio-system/*'] }] });
  });

  it('rejects unknown fields under the default strict validation, on create and on patch', async () => {
    const onCreate = await fails(['apply', '-f', '-'], sidecar('unknown', ['./*'], { foo: 'bar' }));
    assert.match(onCreate, /Error from server \(BadRequest\): error when creating "STDIN": Sidecar in version "v1" cannot be handled as a Sidecar: strict decoding error: unknown field "spec\.foo"/);
    const onPatch = await fails(['apply', '-f', '-'], sidecar('default', ['./*'], { foo: 'bar' }));
    assert.match(onPatch, /strict decoding error: unknown field "spec\.foo"/);
    const warned = await kubectl(['apply', '--validate=warn', '-f', '-'], { stdin: sidecar('warned', ['./*'], { foo: 'bar' }) });
    assert.equal(warned.code, 0, warned.stderr);
    assert.match(warned.stderr, /^Warning: unknown field "spec\.foo"$/m);
    const stored = server.store.get({ apiVersion: 'networking.istio.io/v1', resource: 'sidecars', namespace: 'shop', name: 'warned' });
    assert.deepEqual(stored?.spec, { egress: [{ hosts: ['./*'] }] }, 'the unknown field was pruned');
  });

  it('answers in kube-apiserver words for missing namespaces, strategic patches of CRs and stale updates', async () => {
    const noNs = await fails(['apply', '-f', '-'], sidecar('x', ['./*']).replace('namespace: shop', 'namespace: nope'));
    assert.match(noNs, /namespaces "nope" not found/);
    const smp = await fails(['patch', 'sidecar', '-n', 'shop', 'default', '-p', '{"spec":{"egress":[{"hosts":["a/*"]}]}}']);
    assert.match(smp, /the body of the request was in an unknown format - accepted media types include: application\/json-patch\+json, application\/merge-patch\+json, application\/apply-patch\+yaml/);
    await ok(['patch', 'sidecar', '-n', 'shop', 'default', '--type=merge', '-p', '{"metadata":{"labels":{"patched":"done"}}}']);
    const stale = parse(await ok(['get', 'sidecar', '-n', 'shop', 'default', '-o', 'yaml'])) as { metadata: { resourceVersion: string; labels: Record<string, string> } };
    assert.equal(stale.metadata.labels.patched, 'done');
    await ok(['label', 'sidecar', '-n', 'shop', 'default', 'another=label']);
    const conflict = await fails(['replace', '-f', '-'], stringify(stale));
    assert.match(conflict, /Error from server \(Conflict\): error when replacing "STDIN": Operation cannot be fulfilled on sidecars\.networking\.istio\.io "default": the object has been modified; please apply your changes to the latest version and try again/);
  });

  it('lists pods by label selector and strategic-merge-patches them on re-apply', async () => {
    const pod = (name: string, labels: Record<string, string>, image: string): string =>
      stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name, labels }, spec: { containers: [{ name: 'app', image, env: [{ name: 'A', value: '1' }] }, { name: 'side', image: 'busybox' }] } });
    await ok(['apply', '-f', '-'], pod('web', { app: 'x', tier: 'front' }, 'nginx:1'));
    await ok(['apply', '-f', '-'], pod('db', { app: 'other' }, 'postgres'));
    await ok(['apply', '-f', '-'], pod('web', { app: 'x', tier: 'back' }, 'nginx:2'));

    const table = await ok(['get', 'pods', '-l', 'app=x']);
    assert.match(table, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/m);
    assert.match(table, /^web\s+0\/2\s+Pending\s+0\s+\d+s$/m);
    assert.doesNotMatch(table, /^db/m);
    assert.equal((await ok(['get', 'pods', '-l', 'app in (x,other),!nope', '-o', 'name'])).trim().split('\n').sort().join(' '), 'pod/db pod/web');
    assert.equal((await ok(['get', 'pods', '-l', 'tier notin (back)', '-o', 'name'])).trim(), 'pod/db');
    assert.equal((await ok(['get', 'pods', '-l', 'tier', '-o', 'name'])).trim(), 'pod/web');
    const none = await kubectl(['get', 'pods', '-l', 'app=z']);
    assert.equal(none.code, 0);
    assert.match(none.stderr, /No resources found in default namespace\./);

    const web = JSON.parse(await ok(['get', 'pod', 'web', '-o', 'json'])) as { spec: { containers: { name: string; image: string; env?: unknown }[] }; metadata: { labels: unknown } };
    assert.deepEqual(
      web.spec.containers.map((c) => [c.name, c.image]),
      [['app', 'nginx:2'], ['side', 'busybox']],
    );
    assert.deepEqual(web.spec.containers[0]?.env, [{ name: 'A', value: '1' }]);
    assert.deepEqual(web.metadata.labels, { app: 'x', tier: 'back' });
  });

  it('deletes, reports NotFound afterwards, and removes a namespace with its contents', async () => {
    assert.match(await ok(['delete', 'sidecar', '-n', 'shop', 'warned']), /sidecar\.networking\.istio\.io "warned" deleted/);
    assert.match(await fails(['delete', 'sidecar', '-n', 'shop', 'warned']), /Error from server \(NotFound\): sidecars\.networking\.istio\.io "warned" not found/);
    assert.match(await ok(['delete', 'namespace', 'shop']), /namespace "shop" deleted/);
    assert.deepEqual(server.store.list({ apiVersion: 'networking.istio.io/v1', resource: 'sidecars', namespace: 'shop' }), []);
  });

  it('refuses server-side apply with a clear message', async () => {
    await ok(['create', 'namespace', 'ssa']);
    const r = await fails(['apply', '--server-side', '-f', '-'], sidecar('ssa', ['./*']).replace('namespace: shop', 'namespace: ssa'));
    assert.match(r, /server-side apply \(application\/apply-patch\+yaml\) is not implemented by the test API server/);
  });
});

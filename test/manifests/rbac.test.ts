// RBAC derived from what the code does, not from a list: serve runs with the
// flags the Deployment passes (namespace-defaults component included)
// against the test API server, through every path that writes (the TLS
// Secret created and repaired, caBundle published, failurePolicy set to
// Fail, a namespace default created and updated, Events recorded, claims
// created and updated for Sidecar CREATEs the webhook admits). Each
// request the server saw becomes the attributes kube-apiserver's authorizer
// would check (verb, group, resource, namespace, name). Every one must be
// allowed by the rendered roles bound to our ServiceAccount, and every grant
// must be used by at least one of them.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { serveConfigOf } from '../../src/cli.js';
import { generateDefault, DEFAULT_TEMPLATE, TEMPLATE_HASH_ANNOTATION } from '../../src/defaults/generate.js';
import { KubeClient } from '../../src/cluster/kube.js';
import { serve } from '../../src/main.js';
import { startTestApiServer, type KubeObject, type RequestRecord, type TestApiServer } from '../apiserver/index.js';
import { istioExtraResources } from '../apiserver/resources.js';
import { waitFor } from '../helpers/wait.js';
import { find, renderWithNamespaceDefaults, type K8sObject } from './render.js';

const NS = 'sidecar-guard';
const LABEL = 'sidecar-guard.io/default-sidecar';
const SECRET = { apiVersion: 'v1', resource: 'secrets', namespace: NS, name: 'sidecar-guard-tls' };

/** What the authorizer decides on (k8s.io/apiserver RequestInfo, for the resource requests the code makes). */
interface Attributes {
  verb: string;
  group: string;
  resource: string;
  namespace: string;
  name: string;
}

/** A request line as kube-apiserver's RequestInfoFactory reads it. */
export function attributesOf(method: string, pathAndQuery: string): Attributes {
  const url = new URL(pathAndQuery, 'https://x');
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  let rest: string[];
  let group: string;
  if (parts[0] === 'api' && parts[1] === 'v1') [group, rest] = ['', parts.slice(2)];
  else if (parts[0] === 'apis' && parts.length >= 3) [group, rest] = [parts[1]!, parts.slice(3)];
  else throw new Error(`not a resource request: ${method} ${pathAndQuery}`);
  let namespace = '';
  // namespaces/{ns}/{resource}...: a namespaced resource; namespaces[/{name}] is the Namespace resource itself.
  if (rest[0] === 'namespaces' && rest.length >= 3) [namespace, rest] = [rest[1]!, rest.slice(2)];
  const [resource = '', name = '', subresource] = rest;
  if (subresource) throw new Error(`subresources are not modelled: ${method} ${pathAndQuery}`);
  const watch = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
  const verbs: Record<string, string> = {
    POST: 'create',
    PUT: 'update',
    PATCH: 'patch',
    DELETE: name ? 'delete' : 'deletecollection',
  };
  const verb = method === 'GET' ? (name ? 'get' : watch ? 'watch' : 'list') : verbs[method];
  if (!verb) throw new Error(`unknown method ${method}`);
  return { verb, group, resource, namespace, name };
}

const describeAttributes = (a: Attributes) =>
  `${a.verb} ${a.group || 'core'}/${a.resource}${a.namespace ? ` in ${a.namespace}` : ''}${a.name ? ` named ${a.name}` : ''}`;

/** One grant: a (role, rule) pair expanded to a single group, resource, verb and optional name. */
interface Grant {
  role: string;
  /** Role: only requests in this namespace; ClusterRole: any. */
  namespace: string | undefined;
  group: string;
  resource: string;
  verb: string;
  /** undefined: any name (and requests without one); else only this name. */
  name: string | undefined;
}

const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);

/** Every grant of every role bound to our ServiceAccount in the rendered manifests. */
function grantsOf(objects: K8sObject[]): Grant[] {
  const grants: Grant[] = [];
  for (const binding of objects.filter((o) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding')) {
    const subjects = binding.subjects as { kind: string; name: string; namespace?: string }[];
    if (!subjects.some((s) => s.kind === 'ServiceAccount' && s.name === 'sidecar-guard' && s.namespace === NS))
      continue;
    const ref = binding.roleRef as { kind: string; name: string };
    const role = find(objects, ref.kind, ref.name);
    const namespace = binding.kind === 'RoleBinding' ? binding.metadata.namespace : undefined;
    for (const rule of (role.rules ?? []) as Record<string, unknown>[]) {
      const names = list(rule.resourceNames);
      for (const group of list(rule.apiGroups))
        for (const resource of list(rule.resources))
          for (const verb of list(rule.verbs))
            for (const name of names.length > 0 ? names : [undefined])
              grants.push({ role: `${role.kind}/${role.metadata.name}`, namespace, group, resource, verb, name });
    }
  }
  return grants;
}

/** The RBAC authorizer's rule match (no wildcards: the manifests test forbids them). */
const allows = (g: Grant, a: Attributes): boolean =>
  g.group === a.group &&
  g.resource === a.resource &&
  g.verb === a.verb &&
  (g.namespace === undefined || g.namespace === a.namespace) &&
  (g.name === undefined || g.name === a.name);

const describeGrant = (g: Grant) =>
  `${g.role}: ${g.verb} ${g.group || 'core'}/${g.resource}${g.name ? `@${g.name}` : ''}`;

describe('RBAC derived from the requests serve makes', () => {
  let manifests: K8sObject[];
  let server: TestApiServer;
  let kubeconfig: string;
  let args: string[];
  let webhookUrl: string | undefined;

  before(async () => {
    manifests = renderWithNamespaceDefaults();
    const deployment = find(manifests, 'Deployment', 'sidecar-guard');
    const container = (deployment.spec as { template: { spec: { containers: { args: string[] }[] } } }).template.spec
      .containers[0]!;
    assert.equal(container.args[0], 'serve');
    // The API server calls the webhook Service: that is the serve under test.
    // A cluster with Istio's other CRDs (ServiceEntry, WorkloadEntry, WorkloadGroup), so every informer lists and watches as in a mesh.
    server = await startTestApiServer({
      serviceResolver: () => webhookUrl ?? 'https://127.0.0.1:1',
      extraResources: istioExtraResources(),
    });
    kubeconfig = join(mkdtempSync(join(tmpdir(), 'sg-rbac-')), 'kubeconfig');
    server.writeKubeconfig(kubeconfig);
    // The Deployment's flags; then only what differs on a test machine: where the API server and the
    // listeners are, and the namespace the downward API would give (POD_NAMESPACE).
    args = [
      ...container.args.slice(1),
      `--kubeconfig=${kubeconfig}`,
      '--listen=127.0.0.1:0',
      '--metrics-listen=off',
      '--drain-delay=0',
      `--self-namespace=${NS}`,
      '--log-level=silent',
    ];
    server.store.put('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    for (const kind of ['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration']) {
      const config = structuredClone(find(manifests, kind, 'sidecar-guard'));
      server.store.put(`${kind.toLowerCase()}s`, config as unknown as KubeObject);
    }
    // A labelled namespace without a default (create), and one whose managed default is stale (get + update).
    server.store.put('namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'fresh', labels: { [LABEL]: 'enabled' } },
    });
    server.store.put('namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'stale', labels: { [LABEL]: 'enabled' } },
    });
    const old = generateDefault('stale', { rootNamespace: 'istio-system', template: { ...DEFAULT_TEMPLATE } });
    server.store.put('sidecars', {
      ...old,
      metadata: { ...old.metadata, annotations: { [TEMPLATE_HASH_ANNOTATION]: 'from-an-older-template' } },
    } as unknown as KubeObject);
  });

  after(() => server.close());

  /** serve with the Deployment's flags until the scenario's effects are visible (then `more`), then a clean shutdown. */
  async function run(until: () => boolean, more?: () => Promise<void>): Promise<void> {
    const running = await serve(serveConfigOf(args), pino({ level: 'silent' }));
    webhookUrl = running.url;
    try {
      await waitFor('serve to do its work', until, 30_000);
      await more?.();
    } finally {
      await running.shutdown('test');
    }
  }

  const webhookConfig = (resource: string) =>
    server.store.get({ apiVersion: 'admissionregistration.k8s.io/v1', resource, name: 'sidecar-guard' }) as unknown as {
      webhooks: { failurePolicy?: string; clientConfig: { caBundle?: string } }[];
    };
  const sidecar = (namespace: string) =>
    server.store.get({
      apiVersion: 'networking.istio.io/v1',
      resource: 'sidecars',
      namespace,
      name: 'default',
    }) as unknown as { metadata: { annotations?: Record<string, string> } } | undefined;
  const events = () =>
    server.store.list({ apiVersion: 'v1', resource: 'events', namespace: 'stale' }).length +
    server.store.list({ apiVersion: 'v1', resource: 'events', namespace: 'fresh' }).length;

  let requests: RequestRecord[];

  test('serve, first start: creates the TLS Secret, publishes the caBundle, fails closed when ready, manages defaults', async () => {
    await run(
      () =>
        server.store.get(SECRET) !== undefined &&
        webhookConfig('validatingwebhookconfigurations').webhooks.every(
          (w) => w.failurePolicy === 'Fail' && w.clientConfig.caBundle,
        ) &&
        webhookConfig('mutatingwebhookconfigurations').webhooks.every((w) => w.clientConfig.caBundle) &&
        sidecar('fresh') !== undefined &&
        sidecar('stale')?.metadata.annotations?.[TEMPLATE_HASH_ANNOTATION] !== 'from-an-older-template' &&
        events() >= 2,
      // The controller's CREATE of fresh/default was claimed (the claims ConfigMap read, then created);
      // a user's Sidecar beside it is claimed in the same ConfigMap (updated).
      () => createThroughTheApiServer('fresh', 'reviews', { app: 'reviews' }),
    );
    const claims = server.store.get({
      apiVersion: 'v1',
      resource: 'configmaps',
      namespace: NS,
      name: 'sidecar-guard-claims.fresh',
    }) as unknown as { data: Record<string, string> };
    assert.deepEqual(
      Object.values(claims.data)
        .map((c) => (JSON.parse(c) as { name: string }).name)
        .sort(),
      ['default', 'reviews'],
    );
  });

  /** A Sidecar created as a user would (admin, through admission); the request itself is not one serve made. */
  async function createThroughTheApiServer(
    namespace: string,
    name: string,
    selector: Record<string, string>,
  ): Promise<void> {
    const path = `/apis/networking.istio.io/v1/namespaces/${namespace}/sidecars`;
    const body = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'Sidecar',
      metadata: { name, namespace },
      spec: { workloadSelector: { labels: selector }, egress: [{ hosts: ['./*'] }] },
    };
    await KubeClient.load(kubeconfig).request('POST', path, { body });
    const mine = server.requests().findLast((r) => r.method === 'POST' && r.path === path);
    assert.ok(mine);
    ours.add(mine);
  }
  /** The requests the test made itself (the server's own records). */
  const ours = new Set<RequestRecord>();

  test('serve, after the Secret was emptied by hand: repairs it', async () => {
    const emptied = { ...(server.store.get(SECRET) as object), data: {} } as unknown as KubeObject;
    server.store.put('secrets', emptied);
    await run(() => Object.keys((server.store.get(SECRET) as { data?: object }).data ?? {}).length > 0);
    requests = server.requests().filter((r) => !ours.has(r));
  });

  test('every request serve made is allowed by the manifests', () => {
    const grants = grantsOf(manifests);
    const denied = [
      ...new Set(
        requests
          .map((r) => attributesOf(r.method, r.path))
          .filter((a) => !grants.some((g) => allows(g, a)))
          .map(describeAttributes),
      ),
    ];
    assert.deepEqual(denied, []);
  });

  test('every grant in the manifests is used by some request', () => {
    const attributes = requests.map((r) => attributesOf(r.method, r.path));
    const unused = grantsOf(manifests)
      .filter((g) => !attributes.some((a) => allows(g, a)))
      .map(describeGrant);
    assert.deepEqual(unused, []);
  });

  test('the request reading follows kube-apiserver', () => {
    assert.deepEqual(attributesOf('GET', '/api/v1/pods?limit=500'), {
      verb: 'list',
      group: '',
      resource: 'pods',
      namespace: '',
      name: '',
    });
    assert.deepEqual(attributesOf('GET', '/api/v1/namespaces?watch=true&resourceVersion=5'), {
      verb: 'watch',
      group: '',
      resource: 'namespaces',
      namespace: '',
      name: '',
    });
    assert.deepEqual(attributesOf('GET', '/api/v1/namespaces/shop'), {
      verb: 'get',
      group: '',
      resource: 'namespaces',
      namespace: '',
      name: 'shop',
    });
    assert.deepEqual(attributesOf('POST', '/api/v1/namespaces/shop/events'), {
      verb: 'create',
      group: '',
      resource: 'events',
      namespace: 'shop',
      name: '',
    });
    assert.deepEqual(
      attributesOf('PUT', '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/sidecar-guard'),
      {
        verb: 'update',
        group: 'admissionregistration.k8s.io',
        resource: 'validatingwebhookconfigurations',
        namespace: '',
        name: 'sidecar-guard',
      },
    );
    assert.deepEqual(attributesOf('GET', '/apis/networking.istio.io/v1/namespaces/a/sidecars/default'), {
      verb: 'get',
      group: 'networking.istio.io',
      resource: 'sidecars',
      namespace: 'a',
      name: 'default',
    });
  });
});

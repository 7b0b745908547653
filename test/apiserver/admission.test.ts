// Admission webhooks called by the test API server, driven by the real
// kubectl with its default flags, against a throwaway HTTPS webhook.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { startTestApiServer } from './index.js';
import type { TestApiServer } from './index.js';
import { kubectlFor } from './helpers/kubectl.js';
import type { Kubectl } from './helpers/kubectl.js';
import { encodePatch, startThrowawayWebhook } from './helpers/webhook.js';
import type { ReceivedReview, ThrowawayWebhook } from './helpers/webhook.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// A port nothing listens on: the webhook "down" case.
const DOWN_PORT = 1;

function sidecarYaml(name: string, namespace: string, hosts: string[], apiVersion = 'networking.istio.io/v1', labels?: Record<string, string>): string {
  return stringify({ apiVersion, kind: 'Sidecar', metadata: { name, namespace, ...(labels ? { labels } : {}) }, spec: { egress: [{ hosts }] } });
}

function hostsOf(review: ReceivedReview): string[] {
  const obj = review.review.request.object as { spec?: { egress?: { hosts?: string[] }[] } } | null;
  return obj?.spec?.egress?.[0]?.hosts ?? [];
}

interface HookOptions {
  name: string;
  service?: string;
  path?: string;
  failurePolicy?: 'Fail' | 'Ignore';
  sideEffects?: string;
  caBundle?: string;
  namespaceSelector?: unknown;
  rules?: unknown[];
  timeoutSeconds?: number;
}

const SIDECAR_RULE = { apiGroups: ['networking.istio.io'], apiVersions: ['v1'], resources: ['sidecars'], operations: ['CREATE', 'UPDATE'] };

function webhookConfigYaml(kind: 'Validating' | 'Mutating', configName: string, hooks: HookOptions[], caBundle: string): string {
  return stringify({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: `${kind}WebhookConfiguration`,
    metadata: { name: configName },
    webhooks: hooks.map((h) => ({
      name: h.name,
      clientConfig: { service: { namespace: 'system', name: h.service ?? 'guard', path: h.path ?? '/validate' }, caBundle: h.caBundle ?? caBundle },
      rules: h.rules ?? [SIDECAR_RULE],
      failurePolicy: h.failurePolicy ?? 'Fail',
      sideEffects: h.sideEffects ?? 'None',
      admissionReviewVersions: ['v1'],
      ...(h.namespaceSelector ? { namespaceSelector: h.namespaceSelector } : {}),
      ...(h.timeoutSeconds ? { timeoutSeconds: h.timeoutSeconds } : {}),
    })),
  });
}

describe('admission webhooks through kubectl', () => {
  let server: TestApiServer;
  let hook: ThrowawayWebhook;
  let otherCaHook: ThrowawayWebhook;
  let kubectl: Kubectl;

  // The throwaway webhook denies egress host "bad/*", warns on "warn/*",
  // and (on /mutate) labels the object.
  function decide(r: ReceivedReview): Record<string, unknown> {
    if (r.path.startsWith('/mutate')) {
      const obj = r.review.request.object as { metadata?: { labels?: Record<string, string> } } | null;
      if (!obj) return { allowed: true };
      const op = obj.metadata?.labels ? { op: 'add', path: '/metadata/labels/mutated-by', value: 'guard' } : { op: 'add', path: '/metadata/labels', value: { 'mutated-by': 'guard' } };
      return { allowed: true, patchType: 'JSONPatch', patch: encodePatch([op]) };
    }
    const hosts = hostsOf(r);
    if (hosts.includes('bad/*')) return { allowed: false, status: { code: 403, message: 'egress host "bad/*" is not allowed' } };
    if (hosts.includes('warn/*')) return { allowed: true, warnings: ['host "warn/*" is risky \\ see docs', 'second warning'] };
    return { allowed: true };
  }

  async function apply(yaml: string, ...flags: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return kubectl(['apply', '-f', '-', ...flags], { stdin: yaml });
  }

  async function withConfig(kind: 'Validating' | 'Mutating', name: string, hooks: HookOptions[], body: () => Promise<void>): Promise<void> {
    const created = await apply(webhookConfigYaml(kind, name, hooks, hook.caBundle));
    assert.equal(created.code, 0, created.stderr);
    try {
      await body();
    } finally {
      const deleted = await kubectl(['delete', `${kind.toLowerCase()}webhookconfiguration`, name]);
      assert.equal(deleted.code, 0, deleted.stderr);
    }
  }

  before(async () => {
    hook = await startThrowawayWebhook(['guard.system.svc'], decide);
    otherCaHook = await startThrowawayWebhook(['guard.system.svc'], decide);
    server = await startTestApiServer({
      serviceResolver: (namespace, name, port) => {
        if (namespace === 'system' && name === 'guard' && port === 443) return hook.base;
        if (namespace === 'system' && name === 'other-ca' && port === 443) return otherCaHook.base;
        if (namespace === 'system' && name === 'down' && port === 443) return `https://127.0.0.1:${DOWN_PORT}`;
        throw new Error(`unknown service ${namespace}/${name}:${port}`);
      },
    });
    kubectl = kubectlFor(server);
    for (const ns of ['shop', 'skipme']) {
      const r = await kubectl(['create', 'namespace', ns]);
      assert.equal(r.code, 0, r.stderr);
    }
  });

  after(async () => {
    kubectl.cleanup();
    await server.close();
    await hook.close();
    await otherCaHook.close();
  });

  it('prints a validating denial on stderr, exits 1 and stores nothing', async () => {
    await withConfig('Validating', 'guard-validate', [{ name: 'validate.guard.test' }], async () => {
      const r = await apply(sidecarYaml('denied', 'shop', ['bad/*']));
      assert.equal(r.code, 1);
      assert.match(r.stderr, /admission webhook "validate\.guard\.test" denied the request: egress host "bad\/\*" is not allowed/);
      assert.equal(server.store.get({ apiVersion: 'networking.istio.io/v1', resource: 'sidecars', namespace: 'shop', name: 'denied' }), undefined);
    });
  });

  it('prints allowed-response warnings as "Warning: <text>"', async () => {
    await withConfig('Validating', 'guard-validate', [{ name: 'validate.guard.test' }], async () => {
      const r = await apply(sidecarYaml('warned', 'shop', ['warn/*']));
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /^Warning: host "warn\/\*" is risky \\ see docs$/m);
      assert.match(r.stderr, /^Warning: second warning$/m);
    });
  });

  it('sends a complete AdmissionReview v1 on CREATE and UPDATE', async () => {
    await withConfig('Validating', 'guard-validate', [{ name: 'validate.guard.test', timeoutSeconds: 7 }], async () => {
      hook.received.length = 0;
      assert.equal((await apply(sidecarYaml('reviewed', 'shop', ['./*']))).code, 0);
      assert.equal((await apply(sidecarYaml('reviewed', 'shop', ['./*', 'istio-system/*']))).code, 0);
      const [create, update] = hook.received;
      assert.ok(create && update, 'two reviews received');

      assert.equal(create.path, '/validate?timeout=7s');
      assert.equal(create.review.apiVersion, 'admission.k8s.io/v1');
      assert.equal(create.review.kind, 'AdmissionReview');
      const req = create.review.request;
      assert.match(String(req.uid), UUID);
      assert.deepEqual(req.kind, { group: 'networking.istio.io', version: 'v1', kind: 'Sidecar' });
      assert.deepEqual(req.resource, { group: 'networking.istio.io', version: 'v1', resource: 'sidecars' });
      assert.deepEqual(req.requestKind, req.kind);
      assert.deepEqual(req.requestResource, req.resource);
      assert.equal('subResource' in req, false);
      assert.equal(req.name, 'reviewed');
      assert.equal(req.namespace, 'shop');
      assert.equal(req.operation, 'CREATE');
      assert.deepEqual(req.userInfo, { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] });
      const obj = req.object as { apiVersion: string; metadata: { uid?: string; generation?: number }; spec: unknown };
      assert.equal(obj.apiVersion, 'networking.istio.io/v1');
      assert.deepEqual(obj.spec, { egress: [{ hosts: ['./*'] }] });
      assert.match(String(obj.metadata.uid), UUID);
      assert.equal(obj.metadata.generation, 1);
      assert.equal(req.oldObject, null);
      assert.equal(req.dryRun, false);
      assert.deepEqual(req.options, { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1', fieldManager: 'kubectl-client-side-apply', fieldValidation: 'Strict' });

      const ureq = update.review.request;
      assert.equal(ureq.operation, 'UPDATE');
      assert.notEqual(ureq.uid, req.uid);
      assert.deepEqual((ureq.oldObject as { spec: unknown }).spec, { egress: [{ hosts: ['./*'] }] });
      assert.deepEqual((ureq.object as { spec: unknown }).spec, { egress: [{ hosts: ['./*', 'istio-system/*'] }] });
      assert.equal((ureq.object as { metadata: { generation: number } }).metadata.generation, 2);
      assert.deepEqual(ureq.options, { kind: 'UpdateOptions', apiVersion: 'meta.k8s.io/v1', fieldManager: 'kubectl-client-side-apply', fieldValidation: 'Strict' });
    });
  });

  it('converts a v1beta1 request for a rule naming only v1 (matchPolicy Equivalent)', async () => {
    await withConfig('Validating', 'guard-validate', [{ name: 'validate.guard.test' }], async () => {
      hook.received.length = 0;
      const r = await apply(sidecarYaml('beta', 'shop', ['./*'], 'networking.istio.io/v1beta1'));
      assert.equal(r.code, 0, r.stderr);
      const req = hook.received[0]?.review.request;
      assert.ok(req);
      assert.deepEqual(req.kind, { group: 'networking.istio.io', version: 'v1', kind: 'Sidecar' });
      assert.deepEqual(req.resource, { group: 'networking.istio.io', version: 'v1', resource: 'sidecars' });
      assert.deepEqual(req.requestKind, { group: 'networking.istio.io', version: 'v1beta1', kind: 'Sidecar' });
      assert.deepEqual(req.requestResource, { group: 'networking.istio.io', version: 'v1beta1', resource: 'sidecars' });
      assert.equal((req.object as { apiVersion: string }).apiVersion, 'networking.istio.io/v1');
    });
  });

  it("applies a mutating webhook's JSONPatch, visible in kubectl get -o yaml", async () => {
    await withConfig('Mutating', 'guard-mutate', [{ name: 'mutate.guard.test', path: '/mutate' }], async () => {
      const r = await apply(sidecarYaml('mutated', 'shop', ['./*'], 'networking.istio.io/v1', { app: 'web' }));
      assert.equal(r.code, 0, r.stderr);
      const got = await kubectl(['get', 'sidecar', 'mutated', '-n', 'shop', '-o', 'yaml']);
      assert.equal(got.code, 0, got.stderr);
      assert.match(got.stdout, /^ {4}mutated-by: guard$/m);
      assert.match(got.stdout, /^ {4}app: web$/m);
    });
  });

  it('sends dryRun: true on server dry-run, stores nothing, and refuses webhooks with side effects', async () => {
    await withConfig('Mutating', 'guard-mutate', [{ name: 'mutate.guard.test', path: '/mutate' }], async () => {
      hook.received.length = 0;
      const r = await apply(sidecarYaml('dry', 'shop', ['./*']), '--dry-run=server');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /sidecar\.networking\.istio\.io\/dry created \(server dry run\)/);
      assert.equal(hook.received[0]?.review.request.dryRun, true);
      assert.deepEqual((hook.received[0]?.review.request.options as { dryRun?: string[] }).dryRun, ['All']);
      assert.equal(server.store.get({ apiVersion: 'networking.istio.io/v1', resource: 'sidecars', namespace: 'shop', name: 'dry' }), undefined);
    });
    await withConfig('Validating', 'guard-side-effects', [{ name: 'effects.guard.test', sideEffects: 'Some' }], async () => {
      const r = await apply(sidecarYaml('dry2', 'shop', ['./*']), '--dry-run=server');
      assert.equal(r.code, 1);
      assert.match(r.stderr, /admission webhook "effects\.guard\.test" does not support dry run/);
    });
  });

  it('skips namespaces excluded by namespaceSelector on kubernetes.io/metadata.name', async () => {
    const selector = { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['skipme'] }] };
    await withConfig('Validating', 'guard-validate', [{ name: 'validate.guard.test', namespaceSelector: selector }], async () => {
      const skipped = await apply(sidecarYaml('bad-but-skipped', 'skipme', ['bad/*']));
      assert.equal(skipped.code, 0, skipped.stderr);
      const denied = await apply(sidecarYaml('bad-in-shop', 'shop', ['bad/*']));
      assert.equal(denied.code, 1);
      assert.match(denied.stderr, /denied the request/);
    });
  });

  it('fails closed with failurePolicy Fail and open with Ignore when the webhook is down', async () => {
    await withConfig('Validating', 'guard-down', [{ name: 'down.guard.test', service: 'down', failurePolicy: 'Fail' }], async () => {
      const r = await apply(sidecarYaml('down-fail', 'shop', ['./*']));
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /Internal error occurred: failed calling webhook "down\.guard\.test": failed to call webhook: Post "https:\/\/down\.system\.svc:443\/validate\?timeout=10s": dial tcp 127\.0\.0\.1:1: connect: connection refused/,
      );
    });
    await withConfig('Validating', 'guard-down', [{ name: 'down.guard.test', service: 'down', failurePolicy: 'Ignore' }], async () => {
      const r = await apply(sidecarYaml('down-ignore', 'shop', ['./*']));
      assert.equal(r.code, 0, r.stderr);
    });
  });

  it('fails calling a webhook whose certificate does not chain to caBundle', async () => {
    await withConfig('Validating', 'guard-ca', [{ name: 'ca.guard.test', service: 'other-ca' }], async () => {
      // other-ca serves a certificate from its own CA, but the config carries guard's caBundle.
      const r = await apply(sidecarYaml('wrong-ca', 'shop', ['./*']));
      assert.equal(r.code, 1);
      assert.match(r.stderr, /failed calling webhook "ca\.guard\.test": .*x509: certificate signed by unknown authority/);
    });
  });

  it('never sends webhook configurations to webhooks', async () => {
    const everything = { apiGroups: ['*'], apiVersions: ['*'], resources: ['*'], operations: ['*'] };
    await withConfig('Validating', 'guard-all', [{ name: 'all.guard.test', rules: [everything] }], async () => {
      hook.received.length = 0;
      const r = await apply(webhookConfigYaml('Validating', 'another', [{ name: 'another.guard.test' }], hook.caBundle));
      assert.equal(r.code, 0, r.stderr);
      assert.equal((await kubectl(['delete', 'validatingwebhookconfiguration', 'another'])).code, 0);
      assert.deepEqual(hook.received.map((x) => (x.review.request.resource as { resource: string }).resource), []);
    });
  });
});

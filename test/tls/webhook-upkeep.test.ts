// Upkeep of our webhook configurations: --webhook-selector finds more of them
// by label; --fail-closed-when-ready turns the validating one to Fail once ready.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { KubeClient } from '../../src/cluster/kube.js';
import { WebhookConfigPatcher, failClosedWhenReady } from '../../src/tls/cabundle.js';
import { createCA } from '../../src/tls/certs.js';
import { startTestApiServer, type TestApiServer } from '../apiserver/index.js';
import { waitFor } from '../helpers/wait.js';

let server: TestApiServer;
let client: KubeClient;

const vwc = (name: string, labels: Record<string, string>) => ({
  apiVersion: 'admissionregistration.k8s.io/v1',
  kind: 'ValidatingWebhookConfiguration',
  metadata: { name, labels },
  webhooks: [{ name: `${name}.example.com`, admissionReviewVersions: ['v1'], sideEffects: 'None', clientConfig: { url: 'https://127.0.0.1:1/validate' } }],
});

before(async () => {
  server = await startTestApiServer();
  const kubeconfig = join(mkdtempSync(join(tmpdir(), 'sg-cabundle-')), 'kubeconfig');
  server.writeKubeconfig(kubeconfig);
  client = KubeClient.load(kubeconfig);
  server.store.put('validatingwebhookconfigurations', vwc('sidecar-guard', {}));
  server.store.put('validatingwebhookconfigurations', vwc('sidecar-guard-canary', { 'app.kubernetes.io/name': 'sidecar-guard' }));
  server.store.put('validatingwebhookconfigurations', vwc('someone-else', { 'app.kubernetes.io/name': 'other' }));
});
after(() => server.close());

test('the named configuration and those matching the selector get the bundle; others are untouched', async () => {
  const ca = createCA();
  await new WebhookConfigPatcher(client, { names: ['sidecar-guard'], labelSelector: 'app.kubernetes.io/name=sidecar-guard' }).publish(ca.certPem);
  const bundleOf = (name: string) => {
    const obj = server.store.get({ apiVersion: 'admissionregistration.k8s.io/v1', resource: 'validatingwebhookconfigurations', name }) as unknown as { webhooks: { clientConfig: { caBundle?: string } }[] };
    return obj.webhooks[0]!.clientConfig.caBundle;
  };
  const expected = Buffer.from(ca.certPem).toString('base64');
  assert.equal(bundleOf('sidecar-guard'), expected);
  assert.equal(bundleOf('sidecar-guard-canary'), expected);
  assert.equal(bundleOf('someone-else'), undefined);
});

const policyOf = (resource: string, name: string) =>
  (server.store.get({ apiVersion: 'admissionregistration.k8s.io/v1', resource, name }) as unknown as { webhooks: { failurePolicy?: string }[] }).webhooks.map((w) => w.failurePolicy);

test('failClosedWhenReady waits for readiness, turns the validating configuration to Fail, leaves the mutating one, and re-applies it', async () => {
  server.store.put('validatingwebhookconfigurations', { ...vwc('sidecar-guard', {}), webhooks: [{ ...vwc('x', {}).webhooks[0], name: 'validate.sidecar-guard.io', failurePolicy: 'Ignore' }] });
  server.store.put('mutatingwebhookconfigurations', { ...vwc('sidecar-guard', {}), kind: 'MutatingWebhookConfiguration', webhooks: [{ ...vwc('x', {}).webhooks[0], name: 'mutate.sidecar-guard.io', failurePolicy: 'Ignore' }] });
  let ready = false;
  let checks = 0;
  const isReady = () => (checks++, ready);
  const stop = failClosedWhenReady(new WebhookConfigPatcher(client, { names: ['sidecar-guard'] }), isReady, undefined, 200);
  try {
    // The first readiness check runs before failClosedWhenReady returns; "not ready" means nothing to write.
    assert.equal(checks, 1);
    assert.deepEqual(policyOf('validatingwebhookconfigurations', 'sidecar-guard'), ['Ignore'], 'not before the webhook is ready');
    ready = true;
    await waitFor('failurePolicy Fail', () => policyOf('validatingwebhookconfigurations', 'sidecar-guard')[0] === 'Fail', 10_000);
    assert.deepEqual(policyOf('mutatingwebhookconfigurations', 'sidecar-guard'), ['Ignore']);
    // a re-apply of manifests that say Ignore is corrected on the next check
    const current = server.store.get({ apiVersion: 'admissionregistration.k8s.io/v1', resource: 'validatingwebhookconfigurations', name: 'sidecar-guard' }) as unknown as { webhooks: { failurePolicy?: string }[] };
    server.store.put('validatingwebhookconfigurations', { ...(current as object), webhooks: current.webhooks.map((w) => ({ ...w, failurePolicy: 'Ignore' })) } as never);
    await waitFor('failurePolicy Fail again', () => policyOf('validatingwebhookconfigurations', 'sidecar-guard')[0] === 'Fail', 10_000);
  } finally {
    stop();
  }
});


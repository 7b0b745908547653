// --webhook-selector: configurations found by label get the caBundle too.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { KubeClient } from '../../src/cluster/kube.js';
import { CaBundlePublisher } from '../../src/tls/cabundle.js';
import { createCA } from '../../src/tls/certs.js';
import { startTestApiServer, type TestApiServer } from '../apiserver/index.js';

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
  await new CaBundlePublisher(client, { names: ['sidecar-guard'], labelSelector: 'app.kubernetes.io/name=sidecar-guard' }).publish(ca.certPem);
  const bundleOf = (name: string) => {
    const obj = server.store.get({ apiVersion: 'admissionregistration.k8s.io/v1', resource: 'validatingwebhookconfigurations', name }) as unknown as { webhooks: { clientConfig: { caBundle?: string } }[] };
    return obj.webhooks[0]!.clientConfig.caBundle;
  };
  const expected = Buffer.from(ca.certPem).toString('base64');
  assert.equal(bundleOf('sidecar-guard'), expected);
  assert.equal(bundleOf('sidecar-guard-canary'), expected);
  assert.equal(bundleOf('someone-else'), undefined);
});

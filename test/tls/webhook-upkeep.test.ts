// Upkeep of our webhook configurations: --webhook-selector finds more of them
// by label; --fail-closed-when-ready turns the validating one to Fail once
// ready and proven reachable (the dry-run probe through the API server).
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { KubeClient } from '../../src/cluster/kube.js';
import {
  WebhookConfigPatcher,
  failClosedWhenReady,
  judgeProbe,
  type ReachabilityProof,
} from '../../src/tls/cabundle.js';
import { createCA } from '../../src/tls/certs.js';
import { startTestApiServer, type TestApiServer } from '../apiserver/index.js';
import { waitFor } from '../helpers/wait.js';

let server: TestApiServer;
let client: KubeClient;

const vwc = (name: string, labels: Record<string, string>) => ({
  apiVersion: 'admissionregistration.k8s.io/v1',
  kind: 'ValidatingWebhookConfiguration',
  metadata: { name, labels },
  webhooks: [
    {
      name: `${name}.example.com`,
      admissionReviewVersions: ['v1'],
      sideEffects: 'None',
      clientConfig: { url: 'https://127.0.0.1:1/validate' },
    },
  ],
});

before(async () => {
  server = await startTestApiServer();
  const kubeconfig = join(mkdtempSync(join(tmpdir(), 'sg-cabundle-')), 'kubeconfig');
  server.writeKubeconfig(kubeconfig);
  client = KubeClient.load(kubeconfig);
  server.store.put('validatingwebhookconfigurations', vwc('sidecar-guard', {}));
  server.store.put(
    'validatingwebhookconfigurations',
    vwc('sidecar-guard-canary', { 'app.kubernetes.io/name': 'sidecar-guard' }),
  );
  server.store.put('validatingwebhookconfigurations', vwc('someone-else', { 'app.kubernetes.io/name': 'other' }));
});
after(() => server.close());

test('the named configuration and those matching the selector get the bundle; others are untouched', async () => {
  const ca = createCA();
  await new WebhookConfigPatcher(client, {
    names: ['sidecar-guard'],
    labelSelector: 'app.kubernetes.io/name=sidecar-guard',
  }).publish(ca.certPem);
  const bundleOf = (name: string) => {
    const obj = server.store.get({
      apiVersion: 'admissionregistration.k8s.io/v1',
      resource: 'validatingwebhookconfigurations',
      name,
    }) as unknown as { webhooks: { clientConfig: { caBundle?: string } }[] };
    return obj.webhooks[0]!.clientConfig.caBundle;
  };
  const expected = Buffer.from(ca.certPem).toString('base64');
  assert.equal(bundleOf('sidecar-guard'), expected);
  assert.equal(bundleOf('sidecar-guard-canary'), expected);
  assert.equal(bundleOf('someone-else'), undefined);
});

const policyOf = (resource: string, name: string) =>
  (
    server.store.get({ apiVersion: 'admissionregistration.k8s.io/v1', resource, name }) as unknown as {
      webhooks: { failurePolicy?: string }[];
    }
  ).webhooks.map((w) => w.failurePolicy);

// Answers of kube-apiserver v1.35.4 to the probe, captured in the e2e environment (test/e2e).
const PROBE = 'Sidecar sidecar-guard/sidecar-guard-reachability-probe is invalid';
const ANSWERS = {
  denied: `POST /apis/networking.istio.io/v1/namespaces/sidecar-guard/sidecars: admission webhook "validate.sidecar-guard.io" denied the request: ${PROBE}: spec.egress[0].hosts[0]: host must be of form namespace/dnsName [H1] Fix: ...`,
  callFailed:
    'POST /apis/networking.istio.io/v1/namespaces/sidecar-guard/sidecars: Internal error occurred: failed calling webhook "validate.sidecar-guard.io": failed to call webhook: Post "https://127.0.0.1:1/validate?timeout=5s": dial tcp 127.0.0.1:1: connect: connection refused',
  forbidden:
    'POST /apis/networking.istio.io/v1/namespaces/sidecar-guard/sidecars: sidecars.networking.istio.io is forbidden: User "system:serviceaccount:sidecar-guard:sidecar-guard" cannot create resource "sidecars" in API group "networking.istio.io" in the namespace "sidecar-guard"',
};
const OURS = ['validate.sidecar-guard.io'];

test('judgeProbe: only a denial of the probe by one of our webhooks proves reachability', () => {
  assert.deepEqual(judgeProbe({ status: 403, message: ANSWERS.denied }, OURS, 'sidecar-guard').result, 'denied');
  assert.equal(judgeProbe({ status: 403, message: ANSWERS.denied }, OURS, 'sidecar-guard').reachable, true);
  const admitted = judgeProbe({ status: 201 }, OURS, 'sidecar-guard');
  assert.deepEqual([admitted.reachable, admitted.result], [false, 'admitted']);
  assert.match(admitted.reason, /admitted a known-invalid Sidecar/);
  // No validating configuration of ours at all (deleted, as the emergency path does): say that, not "check the caBundle".
  const absent = judgeProbe({ status: 201 }, [], 'sidecar-guard');
  assert.deepEqual([absent.reachable, absent.result], [false, 'admitted']);
  assert.match(
    absent.reason,
    /no validating webhook of ours is configured \(its ValidatingWebhookConfiguration deleted, as the emergency path does, or not applied yet\)/,
  );
  const other = judgeProbe(
    { status: 403, message: ANSWERS.denied.replace('validate.sidecar-guard.io', 'validate.someone-else.io') },
    OURS,
    'sidecar-guard',
  );
  assert.deepEqual([other.reachable, other.result], [false, 'denied-by-other']);
  assert.match(other.reason, /denied by webhook "validate\.someone-else\.io", not by this one/);
  // our webhook denying some other object (not the probe) proves nothing
  assert.equal(
    judgeProbe({ status: 403, message: ANSWERS.denied.replace('reachability-probe', 'x') }, OURS, 'sidecar-guard')
      .reachable,
    false,
  );
  const failed = judgeProbe({ status: 500, message: ANSWERS.callFailed }, OURS, 'sidecar-guard');
  assert.deepEqual([failed.reachable, failed.result], [false, 'call-failed']);
  assert.match(
    failed.reason,
    /could not call webhook "validate\.sidecar-guard\.io": failed to call webhook: Post .*connection refused$/,
  );
  const rbac = judgeProbe({ status: 403, message: ANSWERS.forbidden }, OURS, 'sidecar-guard');
  assert.deepEqual([rbac.reachable, rbac.result], [false, 'api-error']);
  assert.match(rbac.reason, /cannot create resource "sidecars"/);
});

test('failClosedWhenReady: waits for readiness and a proof; never Fail while unproven; Fail once proven; re-applied; never turned back to Ignore', async () => {
  server.store.put('validatingwebhookconfigurations', {
    ...vwc('sidecar-guard', {}),
    webhooks: [{ ...vwc('x', {}).webhooks[0], name: 'validate.sidecar-guard.io', failurePolicy: 'Ignore' }],
  });
  server.store.put('mutatingwebhookconfigurations', {
    ...vwc('sidecar-guard', {}),
    kind: 'MutatingWebhookConfiguration',
    webhooks: [{ ...vwc('x', {}).webhooks[0], name: 'mutate.sidecar-guard.io', failurePolicy: 'Ignore' }],
  });
  const proofs: ReachabilityProof[] = [];
  const answers: ReachabilityProof[] = [
    judgeProbe({ status: 201 }, OURS, 'sidecar-guard'),
    judgeProbe({ status: 403, message: ANSWERS.denied }, OURS, 'sidecar-guard'),
  ];
  let ready = false;
  let readyAsked = 0;
  const logged: string[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write: (chunk, _enc, done) => {
        logged.push(String(chunk));
        done();
      },
    }),
  );
  const stop = failClosedWhenReady(new WebhookConfigPatcher(client, { names: ['sidecar-guard'] }), {
    ready: () => {
      readyAsked++;
      return ready;
    },
    // After the scripted answers, every proof succeeds until the test says otherwise.
    prove: async () => answers.shift() ?? judgeProbe({ status: 403, message: ANSWERS.denied }, OURS, 'sidecar-guard'),
    onProof: (p) => proofs.push(p),
    logger,
    recheckMs: 50,
    initialRetryMs: 20,
  });
  try {
    // The first readiness check runs before failClosedWhenReady returns; "not ready" means nothing to prove or write.
    assert.equal(readyAsked, 1);
    assert.equal(proofs.length, 0, 'no proof before the webhook is ready');
    assert.deepEqual(policyOf('validatingwebhookconfigurations', 'sidecar-guard'), ['Ignore']);
    ready = true;
    await waitFor('the first proof', () => proofs.length >= 1);
    assert.equal(proofs[0]!.result, 'admitted');
    assert.deepEqual(
      policyOf('validatingwebhookconfigurations', 'sidecar-guard'),
      ['Ignore'],
      'an unproven webhook stays Ignore',
    );
    assert.match(
      logged.join(''),
      /failurePolicy not changed: could not prove that the API server reaches this webhook: the API server admitted a known-invalid Sidecar/,
    );
    await waitFor(
      'failurePolicy Fail',
      () => policyOf('validatingwebhookconfigurations', 'sidecar-guard')[0] === 'Fail',
    );
    assert.equal(proofs[1]!.result, 'denied');
    assert.deepEqual(
      policyOf('mutatingwebhookconfigurations', 'sidecar-guard'),
      ['Ignore'],
      'defaulting stays a convenience',
    );
    // a re-apply of manifests that say Ignore is corrected on the next check
    const current = server.store.get({
      apiVersion: 'admissionregistration.k8s.io/v1',
      resource: 'validatingwebhookconfigurations',
      name: 'sidecar-guard',
    }) as unknown as { webhooks: { failurePolicy?: string }[] };
    server.store.put('validatingwebhookconfigurations', {
      ...(current as object),
      webhooks: current.webhooks.map((w) => ({ ...w, failurePolicy: 'Ignore' })),
    } as never);
    await waitFor(
      'failurePolicy Fail again',
      () => policyOf('validatingwebhookconfigurations', 'sidecar-guard')[0] === 'Fail',
    );
    // a failed proof later (the API server lost us) never turns Fail back into Ignore
    const before = proofs.length;
    answers.push(judgeProbe({ status: 500, message: ANSWERS.callFailed }, OURS, 'sidecar-guard'));
    await waitFor('a failed proof', () => proofs.slice(before).some((p) => p.result === 'call-failed'));
    assert.deepEqual(policyOf('validatingwebhookconfigurations', 'sidecar-guard'), ['Fail']);
  } finally {
    stop();
  }
});

test('proveReachable: the webhook names come from our validating configurations', async () => {
  server.store.put('validatingwebhookconfigurations', {
    ...vwc('sidecar-guard', {}),
    webhooks: [
      { ...vwc('x', {}).webhooks[0], name: 'validate.sidecar-guard.io' },
      { ...vwc('x', {}).webhooks[0], name: 'second.sidecar-guard.io' },
    ],
  });
  assert.deepEqual(
    await new WebhookConfigPatcher(client, { names: ['sidecar-guard', 'absent'] }).validatingWebhookNames(),
    ['validate.sidecar-guard.io', 'second.sidecar-guard.io'],
  );
});

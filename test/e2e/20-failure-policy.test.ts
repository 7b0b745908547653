// failurePolicy is set to Fail only once the API server is proven to reach
// the webhook. A second sidecar-guard, with its own validating configuration
// whose url points at a port nobody listens on, must leave that
// configuration at Ignore and say why (log line and metric); once the url is
// corrected, the same instance proves it and sets Fail.
//
// It runs in kube-system, which the main configuration skips, so the probe
// there is judged by this configuration alone.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { freePort, spawnDetached, stopProcess } from '../cluster/control-plane.js';
import { waitFor } from '../helpers/wait.js';
import {
  E2E_DIR,
  KUBECONFIG,
  kubectl,
  mustKubectl,
  readState,
  ROOT,
  serveOnLoopback,
  sidecarWebhookConfiguration,
} from './env.js';

const NS = 'kube-system';
const CONFIG = 'sidecar-guard-unreachable';
const WEBHOOK = 'validate.unreachable.sidecar-guard.io';
const LOG = join(E2E_DIR, 'unreachable-webhook.log');

let pid: number | undefined;
let listenPort: number;
let metricsUrl: string;

const configuration = (url: string) =>
  sidecarWebhookConfiguration({
    name: CONFIG,
    webhook: WEBHOOK,
    clientConfig: { url },
    namespace: NS,
    failurePolicy: 'Ignore',
    timeoutSeconds: 2,
  });

const policy = async () =>
  (await mustKubectl(['get', 'validatingwebhookconfiguration', CONFIG, '-o', 'jsonpath={.webhooks[0].failurePolicy}']))
    .stdout;
const metrics = async () => (await fetch(`${metricsUrl}/metrics`)).text();

before(async () => {
  readState();
  listenPort = await freePort();
  const nobody = await freePort(); // free a moment ago, and nothing of ours listens there
  const metricsPort = await freePort();
  metricsUrl = `http://127.0.0.1:${metricsPort}`;
  await mustKubectl(['apply', '-f', '-'], { stdin: stringify(configuration(`https://127.0.0.1:${nobody}/validate`)) });
  const args = serveOnLoopback({
    kubeconfig: KUBECONFIG,
    port: listenPort,
    metricsPort,
    namespace: NS,
    tlsSecret: `${CONFIG}-tls`,
    webhookConfig: CONFIG,
  });
  const child = spawnDetached(process.execPath, args, LOG, ROOT);
  child.unref();
  pid = child.pid;
  // A run whose name filter selects none of this file's tests skips `after`: the webhook must not outlive it.
  process.once('exit', () => {
    if (pid === undefined) return;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already stopped by `after`
    }
  });
});

after(async () => {
  if (pid) await stopProcess(pid);
  pid = undefined;
  await kubectl(['delete', 'validatingwebhookconfiguration', CONFIG, '--ignore-not-found']);
  await kubectl(['delete', 'secret', '-n', NS, `${CONFIG}-tls`, '--ignore-not-found']);
});

test('the API server cannot reach the webhook: failurePolicy stays Ignore, and the log and a metric say why', async () => {
  await waitFor(
    'a reachability proof',
    async () => /webhook_reachability_checks_total\{result="admitted"\} [1-9]/.test(await metrics().catch(() => '')),
    60_000,
    100,
  );
  assert.equal(await policy(), 'Ignore');
  const text = await metrics();
  assert.match(text, /^sidecar_guard_webhook_reachable 0$/m);
  assert.doesNotMatch(text, /result="denied"/);
  const warning = readFileSync(LOG, 'utf8')
    .split('\n')
    .find((l) => l.includes('failurePolicy not changed'));
  assert.ok(warning, 'a warning in the log');
  assert.match(
    JSON.parse(warning).msg,
    /^failurePolicy not changed: could not prove that the API server reaches this webhook: the API server admitted a known-invalid Sidecar \(dry run\): it did not call this webhook, or the call failed and failurePolicy Ignore let the write through/,
  );
  assert.equal(JSON.parse(warning).level, 40, 'level warn');
});

test('once the url points at the webhook, the same instance proves it and sets Fail', async () => {
  await mustKubectl([
    'patch',
    'validatingwebhookconfiguration',
    CONFIG,
    '--type=json',
    '-p',
    JSON.stringify([
      { op: 'replace', path: '/webhooks/0/clientConfig/url', value: `https://127.0.0.1:${listenPort}/validate` },
    ]),
  ]);
  await waitFor('failurePolicy Fail', async () => (await policy()) === 'Fail', 60_000, 200);
  const text = await metrics();
  assert.match(text, /^sidecar_guard_webhook_reachable 1$/m);
  assert.match(text, /result="denied"\} 1$/m);
  assert.match(
    readFileSync(LOG, 'utf8'),
    /the API server reaches this webhook again: the API server called webhook \\"validate\.unreachable\.sidecar-guard\.io\\", which denied the probe/,
  );
});

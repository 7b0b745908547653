// kube-apiserver stops and starts again while sidecar-guard runs (last in the
// suite: it restarts the shared API server). The webhook keeps deciding from
// its last good view while the API server is gone, /readyz turns false once
// the view is older than --max-staleness (5 s in e2e:up) and true again when
// the watches are back, and no decision is ever taken on an empty view. A
// write that would need a claim meanwhile gets HTTP 500 (failurePolicy decides).
import assert from 'node:assert/strict';
import https from 'node:https';
import { test } from 'node:test';
import { apiServerReady, restart, stopProcess } from '../cluster/control-plane.js';
import { sidecarReview } from '../helpers/app.js';
import { sidecar as sidecarObject } from '../helpers/objects.js';
import { waitFor } from '../helpers/wait.js';
import { DENIED, kubectl, namespaces, needsRealApiServer, readState, writeState } from './env.js';

const NS = 'e2e-restart';
const wide = (name: string) =>
  `apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata:\n  name: ${name}\n  namespace: ${NS}\nspec:\n  egress:\n  - hosts: ["./*"]\n`;

/** GET or POST to the webhook itself, trusting the CA it published. */
function webhook(path: string, body?: unknown): Promise<{ status: number; body: string }> {
  const { webhook: w, caPem } = readState();
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = https.request(
      `${w.url}${path}`,
      {
        method: payload ? 'POST' : 'GET',
        ca: caPem,
        timeout: 5_000,
        headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {},
      },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`${path}: timeout`)));
    req.end(payload);
  });
}

const metric = async (pattern: RegExp) =>
  pattern.exec(await (await fetch(`${readState().webhook.metricsUrl}/metrics`)).text());

test('kube-apiserver restarts while the webhook runs: last good view meanwhile, honest /readyz, watches resumed', {
  skip: needsRealApiServer(),
}, async () => {
  await namespaces(NS);
  assert.equal((await kubectl(['apply', '-f', '-'], { stdin: wide('before') })).code, 0);
  await waitFor(
    'the webhook to see e2e-restart/before',
    async () => (await kubectl(['apply', '--dry-run=server', '-f', '-'], { stdin: wide('second') })).code === 1,
    20_000,
    100,
  );
  const listsBefore = Number((await metric(/^sidecar_guard_informer_lists\{resource="sidecars"\} (\d+)$/m))?.[1]);

  const state = readState();
  // kube-apiserver drains and exits within seconds on an idle machine; on a loaded one it can take
  // much longer, and a SIGKILL after a minute stops it as well (a crash is a restart too).
  const how = await stopProcess(state.apiserver.pid, 60_000);
  assert.notEqual(how, 'gone', 'kube-apiserver was running');
  console.log(`kube-apiserver ${how}`);

  // With the API server gone, a review still uses the view the webhook had.
  const review = await webhook('/validate', sidecarReview(sidecarObject(NS, 'second')));
  assert.equal(review.status, 200);
  const response = JSON.parse(review.body).response;
  assert.equal(response.allowed, false);
  assert.match(response.status.message, /already has a namespace-wide Sidecar: before/);
  // A write that passes the rules needs a claim, which cannot be written now: HTTP 500, so the
  // webhook's failurePolicy decides. Never admitted unclaimed.
  const selective = sidecarObject(NS, 'selective', { selector: { app: 'selective' } });
  (selective.metadata as Record<string, unknown>).uid = 'e2e-restart-selective';
  const unclaimed = await webhook('/validate', sidecarReview(selective));
  assert.equal(unclaimed.status, 500, unclaimed.body);
  assert.match(
    JSON.parse(unclaimed.body).message,
    /could not decide .*, so the webhook's failurePolicy applies: (the claim for namespace "e2e-restart" (could not be written|was not written within)|the cluster view has not heard from the API server)/,
  );

  // /readyz turns false once the view is older than --max-staleness, naming why.
  await waitFor('/readyz to report the stale view', async () => (await webhook('/readyz')).status === 503, 30_000, 200);
  assert.match((await webhook('/readyz')).body, /view stale/);

  const apiserver = await restart(state.control!.apiserver, apiServerReady(state.apiserver.url, state.control!.pki));
  writeState({
    ...state,
    apiserver: { ...state.apiserver, pid: apiserver.pid },
    control: { ...state.control!, apiserver },
  });

  // Right after the restart (the watches may still be reconnecting), the decision uses the full view.
  const right = await kubectl(['apply', '-f', '-'], { stdin: wide('second') });
  assert.equal(right.code, 1, right.stdout);
  assert.match(
    right.stderr,
    new RegExp(
      `${DENIED}Sidecar ${NS}/second is invalid: spec\\.workloadSelector: no workloadSelector, but namespace "${NS}" already has a namespace-wide Sidecar: before`,
    ),
  );

  await waitFor('/readyz 200 again', async () => (await webhook('/readyz')).status === 200, 60_000, 200);
  // /readyz asks for a fresh view; a watch the restarted API server ends early reopens after a backoff: wait for each.
  for (const resource of ['sidecars', 'pods', 'namespaces'])
    await waitFor(
      `the ${resource} watch connected`,
      async () =>
        (await metric(new RegExp(`^sidecar_guard_informer_connected\\{resource="${resource}"\\} 1$`, 'm'))) !== null,
      60_000,
      200,
    );
  // Changes after the restart reach the view: delete "before", then "second" is welcome.
  assert.equal((await kubectl(['delete', 'sidecar', '-n', NS, 'before'])).code, 0);
  await waitFor(
    'the delete to reach the view',
    async () => (await kubectl(['apply', '-f', '-'], { stdin: wide('second') })).code === 0,
    20_000,
    100,
  );
  const listsAfter = Number((await metric(/^sidecar_guard_informer_lists\{resource="sidecars"\} (\d+)$/m))?.[1]);
  // Resuming from the last resourceVersion or re-listing after 410 Gone are both right; the count shows which happened.
  assert.ok(listsAfter >= listsBefore, `Sidecar lists: ${listsBefore} before, ${listsAfter} after`);
});

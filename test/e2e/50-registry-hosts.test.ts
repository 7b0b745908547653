// A mistyped egress host at kubectl apply: the webhook's informers hold the
// Service, and kubectl prints the KIA1004 warning with the host that exists.
// Needs `npm run e2e:up` first (make e2e does up, this, then down).
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { waitFor } from '../helpers/wait.js';
import { kubectl, readState } from './env.js';

const NS = 'registry-e2e';
const service = (name: string) =>
  `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\n  namespace: ${NS}\nspec:\n  selector:\n    app: ${name}\n  ports:\n  - name: http\n    port: 9080\n`;
const sidecar = (name: string, host: string) =>
  `apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata:\n  name: ${name}\n  namespace: ${NS}\nspec:\n  workloadSelector:\n    labels:\n      app: ${name}\n  egress:\n  - hosts: ["${host}"]\n`;
const TYPO_WARNING = `Warning: Sidecar ${NS}/ratings-client: egress host "${NS}/ratings.${NS}.svc.cluster.locl" has no matching entry in the service registry (KIA1004); did you mean ${NS}/ratings.${NS}.svc.cluster.local? Fix: correct the host, or create the Service or ServiceEntry it names first (--unknown-hosts=off turns this check off)`;

before(async () => {
  readState(); // fails with "run npm run e2e:up first" when the environment is missing
  const r = await kubectl(['create', 'namespace', NS]);
  assert.ok(r.code === 0 || /AlreadyExists|already exists/.test(r.stderr), r.stderr);
});

describe('egress hosts against the service registry, through kubectl', () => {
  test('a mistyped cluster domain is admitted with a warning that names the existing host', async () => {
    const created = await kubectl(['apply', '-f', '-'], { stdin: service('ratings') });
    assert.equal(created.code, 0, created.stderr);
    // The webhook learns of the Service through its informer: ask with dry runs until it names it.
    let last = '';
    await waitFor(
      'the webhook to see Service ratings',
      async () => {
        const dry = await kubectl(['apply', '--dry-run=server', '-f', '-'], {
          stdin: sidecar('ratings-client', `${NS}/ratings.${NS}.svc.cluster.locl`),
        });
        last = dry.stderr;
        return dry.stderr.includes('did you mean');
      },
      20_000,
      200,
    ).catch((err: Error) => assert.fail(`${err.message}; kubectl said: ${last}`));

    const applied = await kubectl(['apply', '-f', '-'], {
      stdin: sidecar('ratings-client', `${NS}/ratings.${NS}.svc.cluster.locl`),
    });
    assert.equal(applied.code, 0, applied.stderr);
    assert.ok(applied.stderr.split('\n').includes(TYPO_WARNING), applied.stderr);
    assert.match(applied.stdout, /sidecar\.networking\.istio\.io\/ratings-client created/);
  });

  test('the corrected host is admitted without it', async () => {
    const fixed = await kubectl(['apply', '-f', '-'], {
      stdin: sidecar('ratings-client', `${NS}/ratings.${NS}.svc.cluster.local`),
    });
    assert.equal(fixed.code, 0, fixed.stderr);
    assert.doesNotMatch(fixed.stderr, /KIA1004/);
    assert.match(fixed.stdout, /sidecar\.networking\.istio\.io\/ratings-client configured/);
  });
});

// Admission corner cases over raw HTTPS: ordering, selectors, match policy,
// review versions, response verification, timeouts and denial statuses.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApiServer } from './index.js';
import type { TestApiServer } from './index.js';
import { request } from './helpers/http.js';
import { encodePatch, startThrowawayWebhook } from './helpers/webhook.js';
import type { ReceivedReview, ThrowawayWebhook } from './helpers/webhook.js';

const SC = '/apis/networking.istio.io/v1/namespaces/shop/sidecars';
const RULE = {
  apiGroups: ['networking.istio.io'],
  apiVersions: ['v1'],
  resources: ['sidecars'],
  operations: ['CREATE', 'UPDATE'],
};

function sidecarBody(
  name: string,
  labels?: Record<string, string>,
  apiVersion = 'networking.istio.io/v1',
): Record<string, unknown> {
  return {
    apiVersion,
    kind: 'Sidecar',
    metadata: { name, ...(labels ? { labels } : {}) },
    spec: { egress: [{ hosts: ['./*'] }] },
  };
}

type Answer = Record<string, unknown> | { rawStatus: number; rawBody: string };

describe('admission dispatch details', () => {
  let server: TestApiServer;
  let hook: ThrowawayWebhook;
  // Per-path answers; default: allow.
  const answers = new Map<string, (r: ReceivedReview) => Answer | Promise<Answer>>();

  function received(path: string): ReceivedReview[] {
    return hook.received.filter((r) => r.path.split('?')[0] === path);
  }

  async function withConfig(
    kind: 'validating' | 'mutating',
    name: string,
    webhooks: Record<string, unknown>[],
    body: () => Promise<void>,
  ): Promise<void> {
    const Kind = kind === 'validating' ? 'ValidatingWebhookConfiguration' : 'MutatingWebhookConfiguration';
    const resource = `${kind}webhookconfigurations`;
    server.store.put(resource, {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: Kind,
      metadata: { name },
      webhooks: webhooks.map((w) => ({
        clientConfig: {
          service: { namespace: 'system', name: 'guard', path: `/${w.name as string}` },
          caBundle: hook.caBundle,
        },
        rules: [RULE],
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
        ...w,
      })),
    });
    try {
      await body();
    } finally {
      server.store.remove({ apiVersion: 'admissionregistration.k8s.io/v1', resource, name });
    }
  }

  before(async () => {
    hook = await startThrowawayWebhook(
      ['guard.system.svc'],
      (r) => answers.get(r.path.split('?')[0] ?? '')?.(r) ?? { allowed: true },
    );
    server = await startTestApiServer({ serviceResolver: () => hook.base });
    for (const name of ['shop', 'quiet'])
      server.store.put('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  });

  after(async () => {
    await server.close();
    await hook.close();
  });

  it('runs mutating webhooks in configuration-name order, then validating webhooks on the mutated object', async () => {
    const annotate =
      (value: string) =>
      (r: ReceivedReview): Answer => {
        const annotations = (r.review.request.object as { metadata: { annotations?: Record<string, string> } }).metadata
          .annotations;
        const op = annotations
          ? { op: 'add', path: '/metadata/annotations/order', value: `${annotations.order},${value}` }
          : { op: 'add', path: '/metadata/annotations', value: { order: value } };
        return { allowed: true, patchType: 'JSONPatch', patch: encodePatch([op]) };
      };
    answers.set('/m-a', annotate('a'));
    answers.set('/m-b', annotate('b'));
    await withConfig('mutating', 'zz-second', [{ name: 'm-b' }], () =>
      withConfig('mutating', 'aa-first', [{ name: 'm-a' }], () =>
        withConfig('validating', 'check', [{ name: 'v-check' }], async () => {
          const r = await request(server, 'POST', SC, { body: sidecarBody('ordered') });
          assert.equal(r.status, 201, r.text);
          assert.equal(r.json.metadata.annotations.order, 'a,b');
          const seen = received('/v-check').at(-1)?.review.request.object as {
            metadata: { annotations: Record<string, string> };
          };
          assert.equal(seen.metadata.annotations.order, 'a,b');
        }),
      ),
    );
  });

  it('applies mutating patches to dry-run requests too', async () => {
    answers.set('/m-dry', () => ({
      allowed: true,
      patchType: 'JSONPatch',
      patch: encodePatch([{ op: 'add', path: '/metadata/labels', value: { dry: 'mutated' } }]),
    }));
    await withConfig('mutating', 'dry', [{ name: 'm-dry' }], async () => {
      const r = await request(server, 'POST', `${SC}?dryRun=All`, { body: sidecarBody('dry-mutated') });
      assert.equal(r.status, 201, r.text);
      assert.deepEqual(r.json.metadata.labels, { dry: 'mutated' });
      assert.equal(received('/m-dry').at(-1)?.review.request.dryRun, true);
      assert.equal((await request(server, 'GET', `${SC}/dry-mutated`)).status, 404);
    });
  });

  it('reports the first denial in configuration order and words denials like kube-apiserver 1.32', async () => {
    answers.set('/deny-a', () => ({ allowed: false, status: { message: 'first says no' } }));
    answers.set('/deny-b', () => ({
      allowed: false,
      status: { code: 422, reason: 'Invalid', message: 'second says no' },
    }));
    await withConfig('validating', 'b-config', [{ name: 'deny-b' }], () =>
      withConfig('validating', 'a-config', [{ name: 'deny-a' }], async () => {
        const r = await request(server, 'POST', SC, { body: sidecarBody('denied') });
        assert.equal(r.status, 400, 'a denial without a code (or below 400) becomes 400');
        assert.deepEqual(r.json, {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: 'admission webhook "deny-a" denied the request: first says no',
          code: 400,
        });
      }),
    );
    await withConfig('validating', 'b-config', [{ name: 'deny-b' }], async () => {
      const r = await request(server, 'POST', SC, { body: sidecarBody('denied') });
      assert.equal(r.status, 422);
      assert.equal(r.json.reason, 'Invalid');
      assert.equal(r.json.message, 'admission webhook "deny-b" denied the request: second says no');
    });
    answers.set('/deny-c', () => ({ allowed: false }));
    await withConfig('validating', 'c-config', [{ name: 'deny-c' }], async () => {
      const r = await request(server, 'POST', SC, { body: sidecarBody('denied') });
      assert.equal(r.json.message, 'admission webhook "deny-c" denied the request without explanation');
    });
  });

  it('sends DELETE reviews with the old object and DeleteOptions when a rule asks for DELETE', async () => {
    server.store.put('sidecars', { ...sidecarBody('doomed'), metadata: { name: 'doomed', namespace: 'shop' } });
    await withConfig(
      'validating',
      'deletes',
      [{ name: 'v-delete', rules: [{ ...RULE, operations: ['DELETE'] }] }],
      async () => {
        const r = await request(server, 'DELETE', `${SC}/doomed`);
        assert.equal(r.status, 200, r.text);
        const req = received('/v-delete').at(-1)?.review.request;
        assert.ok(req);
        assert.equal(req.operation, 'DELETE');
        assert.equal(req.object, null);
        assert.equal((req.oldObject as { metadata: { name: string } }).metadata.name, 'doomed');
        assert.deepEqual(req.options, { kind: 'DeleteOptions', apiVersion: 'meta.k8s.io/v1' });
      },
    );
  });

  it('sends admission.k8s.io/v1beta1 to a webhook that lists only v1beta1', async () => {
    await withConfig(
      'validating',
      'beta-review',
      [{ name: 'v-beta', admissionReviewVersions: ['v1beta1'] }],
      async () => {
        assert.equal((await request(server, 'POST', SC, { body: sidecarBody('beta-review') })).status, 201);
        assert.equal(received('/v-beta').at(-1)?.review.apiVersion, 'admission.k8s.io/v1beta1');
      },
    );
  });

  it('fails calling a webhook that answers with the wrong uid, or too slowly; Ignore lets the request through', async () => {
    answers.set('/bad-uid', () => ({ allowed: true, uid: 'not-the-uid' }));
    await withConfig('validating', 'bad-uid', [{ name: 'bad-uid' }], async () => {
      const r = await request(server, 'POST', SC, { body: sidecarBody('uid') });
      assert.equal(r.status, 500);
      assert.equal(r.json.reason, 'InternalError');
      assert.match(
        r.json.message,
        /^Internal error occurred: failed calling webhook "bad-uid": received invalid webhook response: expected response\.uid="[0-9a-f-]{36}", got "not-the-uid"$/,
      );
    });
    // The slow webhook answers only once the test is done with it: the API server's 1 s timeout is what ends
    // each call, and nothing here waits on a clock of its own.
    let answerSlowCalls!: () => void;
    const slowCallsMayAnswer = new Promise<void>((resolve) => {
      answerSlowCalls = resolve;
    });
    answers.set('/slow', async () => {
      await slowCallsMayAnswer;
      return { allowed: true };
    });
    try {
      await withConfig('validating', 'slow', [{ name: 'slow', timeoutSeconds: 1 }], async () => {
        const r = await request(server, 'POST', SC, { body: sidecarBody('slow') });
        assert.equal(r.status, 500);
        assert.equal(
          r.json.message,
          'Internal error occurred: failed calling webhook "slow": failed to call webhook: Post "https://guard.system.svc:443/slow?timeout=1s": context deadline exceeded',
        );
      });
      await withConfig(
        'validating',
        'slow',
        [{ name: 'slow', timeoutSeconds: 1, failurePolicy: 'Ignore' }],
        async () => {
          assert.equal((await request(server, 'POST', SC, { body: sidecarBody('slow-ignored') })).status, 201);
        },
      );
    } finally {
      answerSlowCalls();
    }
  });

  it('honours objectSelector on the new or the old object', async () => {
    await withConfig(
      'validating',
      'objsel',
      [{ name: 'v-objsel', objectSelector: { matchLabels: { guarded: 'true' } } }],
      async () => {
        const before = received('/v-objsel').length;
        await request(server, 'POST', SC, { body: sidecarBody('plain') });
        assert.equal(received('/v-objsel').length, before);
        await request(server, 'POST', SC, { body: sidecarBody('guarded', { guarded: 'true' }) });
        assert.equal(received('/v-objsel').length, before + 1);
        // Removing the label: the old object still matches.
        await request(server, 'PATCH', `${SC}/guarded`, {
          body: { metadata: { labels: null } },
          contentType: 'application/merge-patch+json',
        });
        assert.equal(received('/v-objsel').length, before + 2);
      },
    );
  });

  it('matches namespace objects by their own labels and namespaced objects by their namespace', async () => {
    const rule = { apiGroups: [''], apiVersions: ['v1'], resources: ['namespaces'], operations: ['CREATE'] };
    const selector = { matchLabels: { team: 'a' } };
    await withConfig(
      'validating',
      'ns-sel',
      [{ name: 'v-ns', rules: [rule, RULE], namespaceSelector: selector }],
      async () => {
        const before = received('/v-ns').length;
        await request(server, 'POST', '/api/v1/namespaces', {
          body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a', labels: { team: 'a' } } },
        });
        await request(server, 'POST', '/api/v1/namespaces', {
          body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-b', labels: { team: 'b' } } },
        });
        const reviews = received('/v-ns').slice(before);
        assert.deepEqual(
          reviews.map((r) => [r.review.request.name, r.review.request.namespace]),
          [['team-a', 'team-a']],
        );
        await request(server, 'POST', '/apis/networking.istio.io/v1/namespaces/team-a/sidecars', {
          body: sidecarBody('in-a'),
        });
        await request(server, 'POST', '/apis/networking.istio.io/v1/namespaces/team-b/sidecars', {
          body: sidecarBody('in-b'),
        });
        assert.deepEqual(
          received('/v-ns')
            .slice(before + 1)
            .map((r) => r.review.request.name),
          ['in-a'],
        );
      },
    );
  });

  it('converts for matchPolicy Equivalent, mutates in the rule version, and skips with Exact', async () => {
    answers.set('/m-equiv', (r) => ({
      allowed: true,
      patchType: 'JSONPatch',
      patch: encodePatch([
        {
          op: 'add',
          path: '/metadata/labels',
          value: { seen: (r.review.request.object as { apiVersion: string }).apiVersion.replace(/\W/g, '-') },
        },
      ]),
    }));
    await withConfig('mutating', 'equivalent', [{ name: 'm-equiv' }], async () => {
      const r = await request(server, 'POST', '/apis/networking.istio.io/v1beta1/namespaces/shop/sidecars', {
        body: sidecarBody('equiv', undefined, 'networking.istio.io/v1beta1'),
      });
      assert.equal(r.status, 201, r.text);
      assert.equal(r.json.apiVersion, 'networking.istio.io/v1beta1');
      assert.equal(r.json.metadata.labels.seen, 'networking-istio-io-v1');
    });
    await withConfig('validating', 'exact', [{ name: 'v-exact', matchPolicy: 'Exact' }], async () => {
      const before = received('/v-exact').length;
      await request(server, 'POST', '/apis/networking.istio.io/v1beta1/namespaces/shop/sidecars', {
        body: sidecarBody('exact', undefined, 'networking.istio.io/v1beta1'),
      });
      assert.equal(received('/v-exact').length, before);
    });
  });

  it('matches the status subresource only through sidecars/* rules, and reports subResource', async () => {
    const created = (await request(server, 'POST', SC, { body: sidecarBody('with-status') })).json;
    await withConfig(
      'validating',
      'sub',
      [{ name: 'v-main' }, { name: 'v-sub', rules: [{ ...RULE, resources: ['sidecars/*'] }] }],
      async () => {
        const main = received('/v-main').length;
        const r = await request(server, 'PUT', `${SC}/with-status/status`, {
          body: { ...created, status: { observedGeneration: 1 } },
        });
        assert.equal(r.status, 200, r.text);
        assert.equal(received('/v-main').length, main);
        const req = received('/v-sub').at(-1)?.review.request;
        assert.equal(req?.subResource, 'status');
        assert.equal(req?.requestSubResource, 'status');
      },
    );
  });

  it('calls a webhook by clientConfig.url, verifying the certificate for the URL host', async () => {
    await withConfig(
      'validating',
      'by-url',
      [{ name: 'v-url', clientConfig: { url: `${hook.base}/v-url`, caBundle: hook.caBundle } }],
      async () => {
        assert.equal((await request(server, 'POST', SC, { body: sidecarBody('by-url') })).status, 201);
        assert.equal(received('/v-url').at(-1)?.path, '/v-url?timeout=10s');
      },
    );
  });
});

// AdmissionReviews whose objects carry `__proto__` or `constructor` keys,
// sent as raw JSON over real HTTPS: kube-apiserver sends them (the CRD lets
// any key into workloadSelector.labels), so they are judged like any other
// object, never refused with 400, and nothing they carry reaches a
// prototype. What is allowed and what is denied follows Istio's own
// validator (conformance/bin/istio-validate, asserted in
// test/check/proto-keys.test.ts) plus kube-apiserver's metadata rules.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { localAdmitter } from '../../src/cluster/admitter.js';
import { ClusterStore } from '../../src/cluster/store.js';
import { httpsRequest, listen, type Listening } from '../reliability/helpers.js';

/** A review as kube-apiserver writes it, around a Sidecar given as raw JSON text (so `__proto__` stays a key). */
function rawReview(name: string, metadataExtra: string, specJson: string, namespace = name): string {
  const object = `{"apiVersion":"networking.istio.io/v1","kind":"Sidecar","metadata":{"name":"${name}","namespace":"${namespace}"${metadataExtra}},"spec":${specJson}}`;
  const gvk = '{"group":"networking.istio.io","version":"v1","kind":"Sidecar"}';
  const gvr = '{"group":"networking.istio.io","version":"v1","resource":"sidecars"}';
  return `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"${randomUUID()}","kind":${gvk},"resource":${gvr},"requestKind":${gvk},"requestResource":${gvr},"name":"${name}","namespace":"${namespace}","operation":"CREATE","userInfo":{"username":"kubernetes-admin"},"object":${object},"oldObject":null,"dryRun":false}}`;
}

interface Answer {
  status: number | undefined;
  allowed: boolean;
  message: string;
}

describe('__proto__ and constructor keys over HTTPS', () => {
  let server: Listening;
  before(async () => {
    const store = new ClusterStore();
    const { admitter } = localAdmitter(store, { overlap: 'labels', rootNamespace: 'istio-system' }, { ttlMs: 60_000 });
    server = await listen({ validate: (r) => admitter.validate(r) });
  });
  after(() => server.close());

  async function post(body: string): Promise<Answer> {
    const res = await httpsRequest(server.port, { path: '/validate?timeout=10s', body });
    assert.equal(res.error, undefined);
    const review = JSON.parse(res.body!) as { response: { allowed: boolean; status?: { message: string } } };
    return { status: res.status, allowed: review.response.allowed, message: review.response.status?.message ?? '' };
  }

  const egress = '"egress":[{"hosts":["./*"]}]';

  test('workloadSelector.labels with a __proto__ key: allowed, as Istio allows it', async () => {
    const a = await post(
      rawReview(
        'proto-selector',
        '',
        `{"workloadSelector":{"labels":{"__proto__":"x","app":"web"}},${egress}}`,
        'shop',
      ),
    );
    assert.equal(a.status, 200);
    assert.equal(a.allowed, true, a.message);
  });

  test('the same selector again: denied as an overlap, so the key took part in the comparison', async () => {
    const a = await post(
      rawReview(
        'proto-selector-2',
        '',
        `{"workloadSelector":{"labels":{"app":"web","__proto__":"x"}},${egress}}`,
        'shop',
      ),
    );
    assert.equal(a.status, 200);
    assert.equal(a.allowed, false);
    assert.match(a.message, /proto-selector/);
    assert.match(a.message, /\[conflict\.overlap\]/);
  });

  test('a selector that differs only in the __proto__ value does not overlap', async () => {
    const a = await post(
      rawReview(
        'proto-selector-3',
        '',
        `{"workloadSelector":{"labels":{"__proto__":"y","app":"web"}},${egress}}`,
        'shop',
      ),
    );
    assert.equal(a.allowed, true, a.message);
  });

  test('workloadSelector.labels with a constructor key: allowed', async () => {
    const a = await post(
      rawReview('ctor-selector', '', `{"workloadSelector":{"labels":{"constructor":"x"}},${egress}}`),
    );
    assert.equal(a.status, 200);
    assert.equal(a.allowed, true, a.message);
  });

  test("metadata.labels with a __proto__ key: denied with kube-apiserver's label-key message", async () => {
    const a = await post(rawReview('proto-meta', ',"labels":{"__proto__":"x"}', `{${egress}}`));
    assert.equal(a.status, 200);
    assert.equal(a.allowed, false);
    assert.match(
      a.message,
      /metadata\.labels\[__proto__\]: Invalid value: "__proto__": name part must consist of alphanumeric characters/,
    );
    assert.match(a.message, /\[meta\.labels\]/);
  });

  test('annotations with a constructor key: allowed (a valid annotation key)', async () => {
    const a = await post(
      rawReview('ctor-annotation', ',"annotations":{"constructor":"y","toString":"z"}', `{${egress}}`),
    );
    assert.equal(a.allowed, true, a.message);
  });

  test('spec.__proto__ holding an egress list: the egress is not inherited, so the Sidecar is empty (G1)', async () => {
    // kube-apiserver prunes the unknown field before it calls the webhook; sent anyway, it is data, not a prototype.
    const a = await post(rawReview('proto-spec', '', '{"__proto__":{"egress":[{"hosts":["./*"]}]}}'));
    assert.equal(a.status, 200);
    assert.equal(a.allowed, false);
    assert.match(a.message, /spec: sidecar: empty configuration provided \[G1\]/);
  });

  test('constructor.prototype in the spec and in the request: judged like any other review', async () => {
    const body = rawReview('ctor-proto', '', `{"constructor":{"prototype":{"polluted":"yes"}},${egress}}`).replace(
      '"request":{',
      '"request":{"constructor":{"prototype":{"polluted":"yes"}},',
    );
    const a = await post(body);
    assert.equal(a.status, 200);
    assert.equal(a.allowed, true, a.message);
  });

  test('a review whose top level is only __proto__ is a bad request for what it lacks, not for the key', async () => {
    const res = await httpsRequest(server.port, { path: '/validate', body: '{"__proto__":{"allowed":true}}' });
    assert.equal(res.status, 400);
    assert.doesNotMatch(res.body!, /prototype|forbidden key/);
  });

  test('nothing reached Object.prototype', () => {
    const probe = {} as Record<string, unknown>;
    for (const key of ['polluted', 'app', 'egress', 'allowed', 'x']) assert.equal(probe[key], undefined, key);
  });
});

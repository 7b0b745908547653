import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeReview } from '../../src/admission/decode.js';
import { allowed, denied, fromDecision, patched, toReview } from '../../src/admission/respond.js';

const request = {
  uid: 'u-1',
  kind: { group: 'networking.istio.io', version: 'v1', kind: 'Sidecar' },
  resource: { group: 'networking.istio.io', version: 'v1', resource: 'sidecars' },
  operation: 'CREATE',
};

describe('decodeReview', () => {
  test('accepts v1 and v1beta1 reviews', () => {
    for (const apiVersion of ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1']) {
      const d = decodeReview({ apiVersion, kind: 'AdmissionReview', request });
      assert.ok(d.ok);
      assert.equal(d.apiVersion, apiVersion);
      assert.equal(d.request.uid, 'u-1');
    }
  });

  test('a uid of 256 characters is still answered', () => {
    const d = decodeReview({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: { ...request, uid: 'u'.repeat(256) },
    });
    assert.ok(d.ok);
  });

  const bad: [string, unknown, RegExp][] = [
    ['not an object', [1, 2], /not a JSON object/],
    ['null', null, /not a JSON object/],
    ['wrong apiVersion', { apiVersion: 'v1', kind: 'AdmissionReview', request }, /apiVersion must be one of/],
    [
      'wrong kind',
      { apiVersion: 'admission.k8s.io/v1', kind: 'Pod', request },
      /kind must be AdmissionReview, got "Pod"/,
    ],
    ['no request', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, /request is missing/],
    [
      'no uid',
      { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { ...request, uid: undefined } },
      /request.uid is missing/,
    ],
    [
      'empty uid',
      { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { ...request, uid: '' } },
      /request.uid/,
    ],
    [
      'a uid longer than any kube-apiserver sends',
      { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { ...request, uid: 'u'.repeat(257) } },
      /request.uid is 257 characters long; at most 256 are answered/,
    ],
    [
      'bad operation',
      { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { ...request, operation: 'PATCH' } },
      /request.operation must be one of/,
    ],
    [
      'bad kind',
      { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { ...request, kind: 'Sidecar' } },
      /request.kind must be an object/,
    ],
    [
      'bad dryRun',
      { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { ...request, dryRun: 'yes' } },
      /dryRun must be a boolean/,
    ],
    [
      'bad namespace',
      { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { ...request, namespace: 3 } },
      /namespace must be a string/,
    ],
  ];
  test('a wrong value is described briefly and without recursion, however deep or long', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 50_000; i++) deep = [deep];
    const d = decodeReview({ apiVersion: deep, kind: 'AdmissionReview', request });
    assert.equal(d.ok, false);
    assert.match((d as { error: string }).error, /got an array of 1 item$/);
    const op = decodeReview({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: { ...request, operation: { deep } },
    });
    assert.match((op as { error: string }).error, /got an object$/);
    const long = decodeReview({ apiVersion: 'admission.k8s.io/v1', kind: 'x'.repeat(5_000_000), request });
    assert.ok((long as { error: string }).error.length < 120);
    assert.match((long as { error: string }).error, /got "x{50,}\.\.\.$/);
  });

  for (const [name, body, error] of bad) {
    test(`rejects ${name} with a message naming the problem`, () => {
      const d = decodeReview(body);
      assert.equal(d.ok, false);
      assert.match((d as { error: string }).error, error);
    });
  }
});

describe('responses', () => {
  test('allowed/denied/patched echo the uid and keep warnings', () => {
    assert.deepEqual(allowed('a'), { uid: 'a', allowed: true });
    assert.deepEqual(allowed('a', ['w']), { uid: 'a', allowed: true, warnings: ['w'] });
    assert.deepEqual(denied('b', { code: 403, reason: 'Forbidden', message: 'no' }), {
      uid: 'b',
      allowed: false,
      status: { status: 'Failure', code: 403, reason: 'Forbidden', message: 'no' },
    });
    const p = patched('c', [{ op: 'add', path: '/spec', value: {} }]);
    assert.equal(p.patchType, 'JSONPatch');
    assert.deepEqual(JSON.parse(Buffer.from(p.patch!, 'base64').toString()), [{ op: 'add', path: '/spec', value: {} }]);
    assert.deepEqual(patched('d', []), { uid: 'd', allowed: true }, 'an empty patch is a plain allow');
  });

  test('toReview answers in the version of the request', () => {
    assert.deepEqual(toReview('admission.k8s.io/v1beta1', allowed('x')), {
      apiVersion: 'admission.k8s.io/v1beta1',
      kind: 'AdmissionReview',
      response: { uid: 'x', allowed: true },
    });
  });

  test('fromDecision maps a denial to 403 Forbidden by default', () => {
    const r = fromDecision('u', { allowed: false, outcome: 'denied', message: 'm', warnings: ['w'], rules: ['E2'] });
    assert.deepEqual(r, {
      uid: 'u',
      allowed: false,
      status: { status: 'Failure', code: 403, reason: 'Forbidden', message: 'm' },
      warnings: ['w'],
    });
  });
});

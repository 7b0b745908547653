// Unit tests of the test API server's pure parts.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ruleMatches } from './admission.js';
import type { AdmissionAttributes } from './admission.js';
import { compareKubeVersions } from './discovery.js';
import { mergePatch, strategicMerge } from './patch.js';
import { decodeProtobufObject } from './protobuf.js';
import { pruneCustomResource, strictDecodingMessage } from './prune.js';
import { builtinResources, sidecarResource } from './resources.js';
import { labelSelectorMatcher, parseLabelSelector } from './selectors.js';
import { humanDuration } from './table.js';
import type { Json, KubeObject } from './types.js';
import { quoteWarningText, WarningRecorder } from './warnings.js';

describe('label selectors', () => {
  const cases: [string, Record<string, string>, boolean][] = [
    ['app=x', { app: 'x' }, true],
    ['app==x', { app: 'y' }, false],
    ['app!=x', {}, true],
    ['app in (x, y),tier', { app: 'y', tier: '' }, true],
    ['app notin (x,y)', { app: 'z' }, true],
    ['app notin (x,y)', {}, true],
    ['!app', { app: 'x' }, false],
    ['example.com/team=a,!legacy', { 'example.com/team': 'a' }, true],
    ['replicas>2', { replicas: '3' }, true],
    ['', { any: 'thing' }, true],
  ];
  for (const [selector, labels, expected] of cases) {
    it(`"${selector}" on ${JSON.stringify(labels)} is ${expected}`, () => {
      assert.equal(parseLabelSelector(selector)(labels), expected);
    });
  }

  it('rejects malformed selectors with 400', () => {
    assert.throws(
      () => parseLabelSelector('app in x'),
      (err: { code?: number }) => err.code === 400,
    );
  });

  it('evaluates metav1.LabelSelector objects (NotIn also matches an absent label)', () => {
    const m = labelSelectorMatcher({
      matchLabels: { a: '1' },
      matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system'] }],
    });
    assert.equal(m({ a: '1' }), true);
    assert.equal(m({ a: '1', 'kubernetes.io/metadata.name': 'kube-system' }), false);
    assert.equal(labelSelectorMatcher({})({}), true);
    assert.equal(
      labelSelectorMatcher({ matchExpressions: [{ key: 'x', operator: 'DoesNotExist' }] })({ x: '' }),
      false,
    );
  });
});

describe('patches', () => {
  it('merge patch deletes with null and replaces lists', () => {
    assert.deepEqual(mergePatch({ a: { b: 1, c: 2 }, l: [1, 2] }, { a: { b: null }, l: [3] }), { a: { c: 2 }, l: [3] });
  });

  it('strategic merge merges containers by name, honours $patch delete, $setElementOrder and finalizer union', () => {
    const pod = {
      metadata: { labels: { app: 'x', old: 'y' }, finalizers: ['a'] },
      spec: {
        containers: [
          { name: 'app', image: 'nginx:1', env: [{ name: 'A', value: '1' }] },
          { name: 'side', image: 'busybox' },
          { name: 'gone', image: 'x' },
        ],
      },
    } as Json;
    const patch: Json = {
      metadata: { labels: { old: null, new: 'z' }, finalizers: ['b'] },
      spec: {
        '$setElementOrder/containers': [{ name: 'side' }, { name: 'app' }],
        containers: [
          { name: 'app', image: 'nginx:2' },
          { name: 'gone', $patch: 'delete' },
        ],
      },
    };
    assert.deepEqual(strategicMerge(pod, patch), {
      metadata: { labels: { app: 'x', new: 'z' }, finalizers: ['a', 'b'] },
      spec: {
        containers: [
          { name: 'side', image: 'busybox' },
          { name: 'app', image: 'nginx:2', env: [{ name: 'A', value: '1' }] },
        ],
      },
    });
  });

  it('strategic merge honours $retainKeys and $patch: replace', () => {
    assert.deepEqual(strategicMerge({ s: { a: 1, b: 2 } }, { s: { $retainKeys: ['a', 'c'], c: 3 } }), {
      s: { a: 1, c: 3 },
    });
    assert.deepEqual(strategicMerge({ s: { a: 1, b: 2 } }, { s: { $patch: 'replace', z: 1 } }), { s: { z: 1 } });
  });
});

describe('pruning against the Sidecar CRD schema', () => {
  const schema = sidecarResource().schemas.v1 ?? {};

  it('drops undeclared fields (keeping maps and preserved subtrees) and reports their paths', () => {
    const obj = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'Sidecar',
      metadata: { name: 'x', bogus: 1 },
      spec: { foo: 1, egress: [{ hosts: ['./*'], bar: true }], workloadSelector: { labels: { app: 'x' } } },
      status: { anything: 'goes' },
      top: 1,
    } as unknown as KubeObject;
    const unknown = pruneCustomResource(obj, schema);
    assert.deepEqual(unknown.sort(), ['metadata.bogus', 'spec.egress[0].bar', 'spec.foo', 'top']);
    assert.deepEqual(obj, {
      apiVersion: 'networking.istio.io/v1',
      kind: 'Sidecar',
      metadata: { name: 'x' },
      spec: { egress: [{ hosts: ['./*'] }], workloadSelector: { labels: { app: 'x' } } },
      status: { anything: 'goes' },
    });
    assert.equal(
      strictDecodingMessage(['spec.a', 'spec.b']),
      'strict decoding error: unknown field "spec.a", unknown field "spec.b"',
    );
  });

  it('serves v1 first, then v1alpha3 and v1beta1 from the one CRD', () => {
    assert.deepEqual(sidecarResource().versions, ['v1', 'v1alpha3', 'v1beta1']);
    assert.deepEqual(['v1alpha3', 'v1', 'v1beta1', 'foo'].sort(compareKubeVersions), [
      'v1',
      'v1beta1',
      'v1alpha3',
      'foo',
    ]);
  });
});

describe('warning headers', () => {
  it('quotes like k8s.io/apimachinery net.NewWarningHeader', () => {
    assert.equal(quoteWarningText('say "hi" \\o/'), '"say \\"hi\\" \\\\o/"');
  });

  it('records each text once, in order, dropping empty and control-character texts', () => {
    const w = new WarningRecorder();
    for (const t of ['b', 'a', 'b', '', 'bad\ntext']) w.add(t);
    assert.deepEqual(w.headers(), ['299 - "b"', '299 - "a"']);
  });
});

describe('admission rules', () => {
  const sidecars = sidecarResource();
  const namespaces = builtinResources().find((t) => t.plural === 'namespaces');
  const attrs = (subresource = '', resource = sidecars): AdmissionAttributes => ({
    resource,
    version: 'v1',
    subresource,
    operation: 'UPDATE',
    name: 'n',
    namespace: resource === sidecars ? 'shop' : 'n',
    object: null,
    oldObject: null,
    dryRun: false,
    options: {},
    userInfo: { username: 'u', groups: [] },
  });
  const rule = (resources: string[], scope?: 'Cluster' | 'Namespaced' | '*') => ({
    apiGroups: ['*'],
    apiVersions: ['*'],
    operations: ['UPDATE'],
    resources,
    ...(scope ? { scope } : {}),
  });

  it('matches resources, subresources and wildcards like rules.Matcher', () => {
    assert.equal(ruleMatches(rule(['sidecars']), attrs(), 'v1'), true);
    assert.equal(ruleMatches(rule(['sidecars']), attrs('status'), 'v1'), false);
    assert.equal(ruleMatches(rule(['sidecars/*']), attrs('status'), 'v1'), true);
    assert.equal(ruleMatches(rule(['sidecars/*']), attrs(), 'v1'), true);
    assert.equal(ruleMatches(rule(['*']), attrs('status'), 'v1'), false);
    assert.equal(ruleMatches(rule(['*/status']), attrs('status'), 'v1'), true);
    assert.equal(ruleMatches({ ...rule(['sidecars']), operations: ['CREATE'] }, attrs(), 'v1'), false);
  });

  it('treats namespaces as cluster-scoped for rule scope', () => {
    assert.ok(namespaces);
    assert.equal(ruleMatches(rule(['*'], 'Namespaced'), attrs('', namespaces), 'v1'), false);
    assert.equal(ruleMatches(rule(['*'], 'Cluster'), attrs('', namespaces), 'v1'), true);
    assert.equal(ruleMatches(rule(['*'], 'Cluster'), attrs(), 'v1'), false);
  });
});

describe('protobuf request bodies', () => {
  it('decodes what `kubectl create namespace shop` sends', () => {
    // Captured from `kubectl create namespace shop -v=9` (kubectl 1.32.4).
    const hex =
      '6b3873000a0f0a0276311209 4e616d657370616365121c0a140a0473686f7012001a0022002a003200380042 0012001a020a001a002200';
    const decoded = decodeProtobufObject(Buffer.from(hex.replace(/\s/g, ''), 'hex'));
    assert.deepEqual(decoded, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
  });
});

describe('ages', () => {
  it('prints durations like apimachinery HumanDuration', () => {
    assert.deepEqual(
      [
        5_000,
        119_000,
        150_000,
        600_000,
        4 * 3600_000 + 60_000,
        30 * 3600_000,
        3 * 86400_000 + 3600_000,
        400 * 86400_000,
      ].map(humanDuration),
      ['5s', '119s', '2m30s', '10m', '4h1m', '30h', '3d1h', '400d'],
    );
  });
});

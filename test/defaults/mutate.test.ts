import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fastJsonPatch from 'fast-json-patch';
import type { AdmissionRequest } from '../../src/admission/types.js';
import { ClusterStore } from '../../src/cluster/store.js';
import { DEFAULT_TEMPLATE, generateSpec } from '../../src/defaults/generate.js';
import { mutate } from '../../src/defaults/mutate.js';
import { namespace } from '../helpers/objects.js';
import { sidecarReview } from '../helpers/app.js';

const options = {
  config: { rootNamespace: 'istio-system', template: { ...DEFAULT_TEMPLATE } },
  namespaceLabel: 'sidecar-guard.io/default-sidecar',
};
const raw = (spec: unknown, annotations?: Record<string, string>) => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'Sidecar',
  metadata: { name: 'mine', namespace: 'shop', ...(annotations ? { annotations } : {}) },
  ...(spec === undefined ? {} : { spec }),
});
const request = (obj: Record<string, unknown>, opts: { dryRun?: boolean; operation?: string } = {}) =>
  sidecarReview(obj, opts).request as unknown as AdmissionRequest;
const apply = (obj: unknown, patch: unknown[]) =>
  fastJsonPatch.applyPatch(structuredClone(obj), patch as fastJsonPatch.Operation[]).newDocument;

describe('/mutate: generated spec on request', () => {
  test('the annotation asks for it: the patch adds only the missing spec and the hash annotation', () => {
    const obj = raw(undefined, { 'sidecar-guard.io/generate': 'true' });
    const d = mutate(request(obj), new ClusterStore(), options);
    assert.equal(d.allowed, true);
    const result = apply(obj, d.patch!) as Record<string, unknown>;
    assert.deepEqual(result.spec, generateSpec('shop', options.config));
    assert.ok(
      d.patch!.every((op) => op.op === 'add'),
      JSON.stringify(d.patch),
    );
  });

  test('fields the user wrote are never overwritten', () => {
    const userSpec = { workloadSelector: { labels: { app: 'x' } }, egress: [{ hosts: ['./*'] }] };
    const obj = raw(userSpec, { 'sidecar-guard.io/generate': 'true', team: 'a' });
    const d = mutate(request(obj), new ClusterStore(), options);
    const result = apply(obj, d.patch ?? []) as {
      spec: Record<string, unknown>;
      metadata: { annotations: Record<string, string> };
    };
    assert.deepEqual(result.spec.egress, userSpec.egress);
    assert.deepEqual(result.spec.workloadSelector, userSpec.workloadSelector);
    assert.equal(result.metadata.annotations.team, 'a');
    assert.ok((d.patch ?? []).every((op) => op.op === 'add'));
  });

  test('an empty spec in a namespace labelled for generation is filled too; elsewhere it is left alone', () => {
    const store = new ClusterStore();
    store.upsertNamespace(namespace('shop', { 'sidecar-guard.io/default-sidecar': 'enabled' }));
    store.upsertNamespace(namespace('other'));
    assert.ok(mutate(request(raw({})), store, options).patch);
    const elsewhere = raw({});
    (elsewhere.metadata as { namespace: string }).namespace = 'other';
    const req = request(elsewhere);
    assert.equal(mutate(req, store, options).patch, undefined);
    assert.equal(
      mutate(request(raw({ egress: [{ hosts: ['./*'] }] })), store, options).patch,
      undefined,
      "a non-empty spec is the user's",
    );
  });

  test("a spec that is not an object is the user's writing: not replaced, left to validation", () => {
    for (const spec of ['garbage', [], 3]) {
      const obj = raw(spec, { 'sidecar-guard.io/generate': 'true' });
      assert.equal(mutate(request(obj), new ClusterStore(), options).patch, undefined, JSON.stringify(spec));
    }
  });

  test('dry-run gets the same answer; UPDATEs and other kinds are untouched', () => {
    const obj = raw(undefined, { 'sidecar-guard.io/generate': 'true' });
    assert.deepEqual(
      mutate(request(obj, { dryRun: true }), new ClusterStore(), options),
      mutate(request(obj), new ClusterStore(), options),
    );
    assert.equal(mutate(request(obj, { operation: 'UPDATE' }), new ClusterStore(), options).patch, undefined);
  });
});

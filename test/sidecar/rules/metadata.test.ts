// M1–M4: annotations checked before anything else; the first hit is the only finding.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expectFindings, run } from './helpers.js';

const VALID_SPEC = { egress: [{ hosts: ['*/*'] }] };
const INVALID_SPEC = { egress: [{ hosts: ['nope'] }], workloadSelector: { labels: { '': '*' } } };
const meta = (annotations: Record<string, string> | null) => ({ namespace: 'bar', name: 'foo', annotations });

describe('M1 istio.io/dry-run', () => {
  it('rejects the annotation whatever its value, naming namespace/name', () => {
    expectFindings(
      VALID_SPEC,
      [
        [
          'M1',
          'metadata.annotations[istio.io/dry-run]',
          'bar/foo has unsupported annotation istio.io/dry-run, please remove the annotation',
        ],
      ],
      meta({ 'istio.io/dry-run': 'false' }),
    );
  });

  it('returns alone, hiding selector and spec errors', () => {
    const found = run(INVALID_SPEC, meta({ 'istio.io/dry-run': 'true' }));
    assert.deepEqual(
      found.map((v) => v.rule),
      ['M1'],
    );
  });

  it('wins over the internal annotations', () => {
    const found = run(VALID_SPEC, meta({ 'internal.istio.io/parents': 'x', 'istio.io/dry-run': '' }));
    assert.deepEqual(
      found.map((v) => v.rule),
      ['M1'],
    );
  });
});

describe('M2–M4 internal annotations', () => {
  it('M2 webhook-always-reject', () => {
    expectFindings(
      INVALID_SPEC,
      [
        [
          'M2',
          'metadata.annotations[internal.istio.io/webhook-always-reject]',
          '"internal.istio.io/webhook-always-reject" annotation found, rejecting',
        ],
      ],
      meta({ 'internal.istio.io/webhook-always-reject': '' }),
    );
  });

  it('M3 parent-namespace', () => {
    expectFindings(
      VALID_SPEC,
      [
        [
          'M3',
          'metadata.annotations[internal.istio.io/parent-namespace]',
          '"internal.istio.io/parent-namespace" annotation found, this may not be set by users',
        ],
      ],
      meta({ 'internal.istio.io/parent-namespace': 'other' }),
    );
  });

  it('M4 parents', () => {
    expectFindings(
      VALID_SPEC,
      [
        [
          'M4',
          'metadata.annotations[internal.istio.io/parents]',
          '"internal.istio.io/parents" annotation found, this may not be set by users',
        ],
      ],
      meta({ 'internal.istio.io/parents': 'x' }),
    );
  });

  it('checks M2 before M3 before M4', () => {
    const all = {
      'internal.istio.io/parents': 'x',
      'internal.istio.io/parent-namespace': 'x',
      'internal.istio.io/webhook-always-reject': 'x',
    };
    assert.deepEqual(
      run(VALID_SPEC, meta(all)).map((v) => v.rule),
      ['M2'],
    );
    const { 'internal.istio.io/webhook-always-reject': _, ...rest } = all;
    assert.deepEqual(
      run(VALID_SPEC, meta(rest)).map((v) => v.rule),
      ['M3'],
    );
  });

  it('ignores other annotations and null annotations', () => {
    expectFindings(VALID_SPEC, [], meta({ 'istio.io/rev': 'canary', 'sidecar.istio.io/inject': 'false' }));
    expectFindings(VALID_SPEC, [], meta(null));
  });
});

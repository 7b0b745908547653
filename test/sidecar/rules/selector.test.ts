// S1–S3 (workload selector) and G1 (empty configuration), with their short-circuits.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expectFindings, findings } from './helpers.js';

const EGRESS = [{ hosts: ['*/*'] }];
const BAD_EGRESS = [{ hosts: ['no-slash'] }];

describe('S1 empty label key', () => {
  it('reports the key=value pair Go-quoted, at labels[]', () => {
    expectFindings({ workloadSelector: { labels: { '': 'web' } }, egress: EGRESS }, [
      ['S1', 'spec.workloadSelector.labels[]', 'empty key is not supported in selector: "=web"'],
    ]);
  });

  it('fires together with S2 for the same label', () => {
    expectFindings({ workloadSelector: { labels: { '': 'a*' } }, egress: EGRESS }, [
      ['S1', 'spec.workloadSelector.labels[]', 'empty key is not supported in selector: "=a*"'],
      ['S2', 'spec.workloadSelector.labels[]', 'wildcard is not supported in selector: "=a*"'],
    ]);
  });
});

describe('S2 wildcard in selector', () => {
  it('checks the value', () => {
    expectFindings({ workloadSelector: { labels: { app: 'web-*' } }, egress: EGRESS }, [
      ['S2', 'spec.workloadSelector.labels[app]', 'wildcard is not supported in selector: "app=web-*"'],
    ]);
  });

  it('checks the key, and quotes like Go %q', () => {
    expectFindings({ workloadSelector: { labels: { 'a"*': 'x\ny' } }, egress: EGRESS }, [
      ['S2', 'spec.workloadSelector.labels[a"*]', 'wildcard is not supported in selector: "a\\"*=x\\ny"'],
    ]);
  });

  it('reports every failing label (as a multiset: Istio order is random)', () => {
    const got = findings({ workloadSelector: { labels: { b: '*', a: '*', ok: 'fine' } }, egress: EGRESS });
    assert.deepEqual(got.map((f) => f[2]).sort(), [
      'wildcard is not supported in selector: "a=*"',
      'wildcard is not supported in selector: "b=*"',
    ]);
  });

  it('does no other label syntax check', () => {
    expectFindings({ workloadSelector: { labels: { 'not a label!': 'x/y' } }, egress: EGRESS }, []);
  });
});

describe('selector errors return alone', () => {
  it('hides every other error', () => {
    expectFindings({ workloadSelector: { labels: { app: '*' } }, egress: BAD_EGRESS }, [
      ['S2', 'spec.workloadSelector.labels[app]', 'wildcard is not supported in selector: "app=*"'],
    ]);
  });

  it('hides G1 too', () => {
    expectFindings({ workloadSelector: { labels: { '': '' } } }, [
      ['S1', 'spec.workloadSelector.labels[]', 'empty key is not supported in selector: "="'],
    ]);
  });
});

describe('S3 selector without labels', () => {
  const S3: [string, string, string] = [
    'S3',
    'spec.workloadSelector.labels',
    'sidecar: workload selector specified without labels, will be applied to all services in namespace',
  ];

  it('warns for {}, empty labels and null labels', () => {
    for (const workloadSelector of [{}, { labels: {} }, { labels: null }]) {
      expectFindings({ workloadSelector, egress: EGRESS }, [S3]);
    }
  });

  it('is a warning and is kept beside other findings', () => {
    const got = findings({ workloadSelector: {}, egress: BAD_EGRESS });
    assert.deepEqual(got, [S3, ['H1', 'spec.egress[0].hosts[0]', 'host must be of form namespace/dnsName']]);
  });

  it('does not warn when the selector is absent or null', () => {
    expectFindings({ workloadSelector: null, egress: EGRESS }, []);
  });
});

describe('G1 empty configuration', () => {
  const G1: [string, string, string] = ['G1', 'spec', 'sidecar: empty configuration provided'];

  it('rejects an empty spec, empty lists, null and non-object specs', () => {
    for (const spec of [
      {},
      { ingress: [], egress: [] },
      { outboundTrafficPolicy: null, inboundConnectionPool: null },
      null,
      'x',
      [1],
    ]) {
      expectFindings(spec, [G1]);
    }
  });

  it('drops the S3 warning', () => {
    expectFindings({ workloadSelector: {} }, [G1]);
  });

  it('counts an empty outboundTrafficPolicy or inboundConnectionPool as configuration', () => {
    expectFindings({ outboundTrafficPolicy: {} }, []);
    expectFindings({ inboundConnectionPool: {} }, [
      ['C1', 'spec.inboundConnectionPool', 'connection pool must have at least one field'],
    ]);
  });

  it('counts a null list element as a listener', () => {
    expectFindings({ ingress: [null] }, [
      ['I2', 'spec.ingress[0].port', 'sidecar: port is required for ingress listeners'],
    ]);
  });
});

// audit leaves out the namespaces Istio's analyzers never read
// (kube-system, kube-public, kube-node-lease, local-path-storage), as found
// by the differential against Istio's own analyzers (test/conformance/).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { audit } from '../../src/audit/analyze.js';
import { pod, sidecar } from '../helpers/objects.js';

describe('audit and the namespaces Istio ignores', () => {
  it('reports nothing about objects in kube-system and the other ignored namespaces', () => {
    const report = audit(
      {
        sidecars: [
          sidecar('kube-system', 'a'),
          sidecar('kube-system', 'b'),
          sidecar('local-path-storage', 's', { selector: { app: 'x' } }),
        ],
        pods: [pod('kube-public', 'p', { app: 'x' })],
        namespaces: [
          {
            apiVersion: 'v1',
            kind: 'Namespace',
            metadata: { name: 'kube-node-lease', labels: { 'istio.io/dataplane-mode': 'ambient' } },
          },
        ],
      },
      { overlap: 'pods', rootNamespace: 'istio-system' },
    );
    assert.deepEqual(report.findings, []);
    assert.equal(report.summary.sidecars, 0);
  });

  it('still reports the same conflict in any other namespace', () => {
    const report = audit(
      { sidecars: [sidecar('kube-systems', 'a'), sidecar('kube-systems', 'b')], pods: [], namespaces: [] },
      { overlap: 'pods', rootNamespace: 'istio-system' },
    );
    assert.deepEqual(
      report.findings.map((f) => [f.code, f.name]),
      [
        ['IST0111', 'a'],
        ['IST0111', 'b'],
      ],
    );
  });
});

// audit reports selector.no-proxy like admission: a selector Sidecar whose
// pods and pod templates all run without a sidecar proxy, stored before the
// webhook could warn.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { audit } from '../../src/audit/analyze.js';
import { pod, sidecar } from '../helpers/objects.js';

const run = (sidecars: Record<string, unknown>[], pods: Record<string, unknown>[]) =>
  audit({ sidecars, pods, namespaces: [] }, { overlap: 'workloads', rootNamespace: 'istio-system' })
    .findings.filter((f) => f.rule === 'selector.no-proxy')
    .map((f) => [f.code, f.severity, f.name, f.message]);

describe('audit and selector.no-proxy', () => {
  it('names a Sidecar that selects only a gateway, with no code, as admission words it', () => {
    const gateway = pod('shop', 'ingress-1', { istio: 'ingressgateway' }, { 'inject.istio.io/templates': 'gateway' });
    assert.deepEqual(run([sidecar('shop', 'gw', { selector: { istio: 'ingressgateway' } })], [gateway]), [
      [
        null,
        'warning',
        'gw',
        'Everything it selects runs without a sidecar proxy (pod ingress-1: a gateway, to which istiod applies no Sidecar), so this Sidecar has no effect.',
      ],
    ]);
  });

  it('says nothing when one selected pod has a sidecar, or for a namespace-wide Sidecar', () => {
    const off = pod('shop', 'batch-1', { app: 'batch', 'sidecar.istio.io/inject': 'false' });
    const on = pod('shop', 'batch-2', { app: 'batch' });
    assert.equal(run([sidecar('shop', 'batch', { selector: { app: 'batch' } })], [off]).length, 1);
    assert.deepEqual(run([sidecar('shop', 'batch', { selector: { app: 'batch' } })], [off, on]), []);
    assert.deepEqual(run([sidecar('shop', 'default')], [off]), []);
  });
});

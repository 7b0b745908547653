// O1–O5d: outboundTrafficPolicy and its egressProxy.
import { describe, it } from 'node:test';
import { expectFindings, expectValid, type Finding } from './helpers.js';

const O = 'spec.outboundTrafficPolicy';
const X = `${O}.egressProxy`;
const policy = (p: unknown) => ({ outboundTrafficPolicy: p });
const proxy = (egressProxy: unknown, mode: unknown = 'ALLOW_ANY') => policy({ mode, egressProxy });
const goodProxy = { host: 'foo.bar', port: { number: 5000 }, subset: 'shiny' };

describe('valid policies', () => {
  it('accepts modes without proxy, and ALLOW_ANY with a proxy', () => {
    expectValid(policy({ mode: 'REGISTRY_ONLY' }));
    expectValid(policy({ mode: 'ALLOW_ANY' }));
    expectValid(policy({}));
    expectValid(proxy(goodProxy));
    expectValid(proxy(goodProxy, 1));
  });

  it('accepts unknown mode numbers when there is no egressProxy', () => {
    expectValid(policy({ mode: 2 }));
  });

  it('accepts a short name and an uppercase subset', () => {
    expectValid(proxy({ host: 'proxy', port: { number: 1 }, subset: 'Shiny' }));
  });
});

describe('O1 ALLOW_ANY_DYNAMIC_DNS', () => {
  const O1: Finding = [
    'O1',
    `${O}.mode`,
    'sidecar: ALLOW_ANY_DYNAMIC_DNS mode is only supported in MeshConfig, not in Sidecar resource',
  ];

  it('rejects mode 3 by number or MeshConfig name', () => {
    expectFindings(policy({ mode: 3 }), [O1]);
    expectFindings(policy({ mode: 'ALLOW_ANY_DYNAMIC_DNS' }), [O1]);
  });

  it('stops the policy checks', () => {
    expectFindings(proxy({ host: '*' }, 3), [O1]);
  });
});

describe('O2 egressProxy needs ALLOW_ANY', () => {
  const O2: Finding = ['O2', X, 'sidecar: egress_proxy must be set only with ALLOW_ANY outbound_traffic_policy mode'];

  it('rejects an omitted mode (REGISTRY_ONLY) and other numbers, then stops', () => {
    expectFindings(policy({ egressProxy: goodProxy }), [O2]);
    expectFindings(proxy({ host: '*', subset: 'bad_subset' }, 2), [O2]);
    expectFindings(proxy({}, 'REGISTRY_ONLY'), [O2]);
  });
});

describe('O3 egressProxy host is an FQDN', () => {
  it('rejects wildcards (which O5b accepts)', () => {
    expectFindings(proxy({ ...goodProxy, host: '*.proxy.com' }), [
      ['O3', `${X}.host`, 'domain name "*.proxy.com" invalid (label "*" invalid)'],
    ]);
  });

  it('checks the top-level domain of the whole name', () => {
    expectFindings(proxy({ ...goodProxy, host: '123' }), [
      ['O3', `${X}.host`, 'domain name "123" invalid (top level domain "123" cannot be all-numeric)'],
    ]);
  });

  it('is repeated by O5b with different wording', () => {
    expectFindings(proxy({ ...goodProxy, host: 'a..b' }), [
      ['O3', `${X}.host`, 'domain name "a..b" invalid (label "" invalid)'],
      ['O5b', `${X}.host`, 'domain name ".b" invalid (label "" invalid)'],
    ]);
    expectFindings(proxy({ port: { number: 80 } }), [
      ['O3', `${X}.host`, 'empty domain name not allowed'],
      ['O5b', `${X}.host`, 'empty domain name not allowed'],
    ]);
  });
});

describe('O4 egressProxy port required', () => {
  it('reports a missing or null port, keeping O3 and skipping O5', () => {
    expectFindings(proxy({ host: 'foo.bar', subset: 'shiny' }), [
      ['O4', `${X}.port`, 'sidecar: egress_proxy port must be non-nil'],
    ]);
    expectFindings(proxy({ host: '*', port: null, subset: 'bad_subset' }), [
      ['O3', `${X}.host`, 'domain name "*" invalid (label "*" invalid)'],
      ['O4', `${X}.port`, 'sidecar: egress_proxy port must be non-nil'],
    ]);
  });
});

describe('O5 egressProxy as a destination', () => {
  it('O5a host *', () => {
    expectFindings(proxy({ ...goodProxy, host: '*' }), [
      ['O3', `${X}.host`, 'domain name "*" invalid (label "*" invalid)'],
      ['O5a', `${X}.host`, 'invalid destination host *'],
    ]);
  });

  it('O5c subset name', () => {
    expectFindings(proxy({ ...goodProxy, subset: 'v1.0' }), [['O5c', `${X}.subset`, 'subset name is invalid: v1.0']]);
  });

  it('O5d port number, port {} meaning 0', () => {
    expectFindings(proxy({ ...goodProxy, port: {} }), [
      ['O5d', `${X}.port.number`, 'port number 0 must be in the range 1..65535'],
    ]);
    expectFindings(proxy({ ...goodProxy, port: { number: 70000 } }), [
      ['O5d', `${X}.port.number`, 'port number 70000 must be in the range 1..65535'],
    ]);
  });

  it('reports O5a/O5b, O5c, O5d in order', () => {
    expectFindings(proxy({ host: 'x', port: { number: 0 }, subset: '-' }), [
      ['O5c', `${X}.subset`, 'subset name is invalid: -'],
      ['O5d', `${X}.port.number`, 'port number 0 must be in the range 1..65535'],
    ]);
  });
});

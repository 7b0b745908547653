// validateIstio as a whole: catalogue, evaluation order, decoding of raw JSON, totality.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { RULES, validateIstio } from '../../../src/sidecar/rules/index.js';
import { expectFindings, findings, httpPort, run } from './helpers.js';

describe('RULES catalogue', () => {
  const ids = Object.keys(RULES);

  it("has the 91 rows of the reference table and J1 (Istio's decoder), keyed by id", () => {
    assert.equal(ids.length, 92);
    for (const [id, info] of Object.entries(RULES)) {
      assert.equal(info.id, id);
      assert.ok(info.title.length > 0 && info.hint.length > 0, id);
    }
  });

  it('marks exactly the ten warning rows as warnings', () => {
    const warnings = ids.filter((id) => RULES[id as keyof typeof RULES].severity === 'warning').sort();
    assert.deepEqual(warnings, ['I23', 'S3', 'T1', 'T2', 'T3', 'T5', 'T9', 'W1', 'W2', 'W3']);
  });

  it('explains why I1, E1 and E3 are never emitted', () => {
    const unreachable = ids.filter((id) => RULES[id as keyof typeof RULES].unreachable !== undefined).sort();
    assert.deepEqual(unreachable, ['E1', 'E3', 'I1']);
  });

  it('says where pointer rows report', () => {
    assert.deepEqual(RULES.I22.reportedAs, RULES.P1.reportedAs);
    assert.ok(RULES.I21.reportedAs?.includes('T10'));
    assert.deepEqual(RULES.T7.reportedAs, []);
  });

  it('gives every finding the catalogue severity and hint', () => {
    const found = run({
      workloadSelector: {},
      ingress: [{ port: { number: 0, protocol: 'TCP' }, connectionPool: { http: {} }, tls: { mode: 'SIMPLE' } }],
      egress: [{ hosts: ['*/*', 'ns/x'] }],
    });
    assert.ok(found.length >= 6);
    for (const v of found) {
      const info = RULES[v.rule as keyof typeof RULES];
      assert.equal(v.severity, info.severity, v.rule);
      assert.equal(v.hint, info.hint, v.rule);
    }
  });
});

describe('evaluation order', () => {
  it('ingress, inboundConnectionPool, egress, then outboundTrafficPolicy', () => {
    const got = findings({
      outboundTrafficPolicy: { mode: 3 },
      egress: [{ hosts: ['x'] }],
      inboundConnectionPool: {},
      ingress: [{}],
      workloadSelector: {},
    });
    assert.deepEqual(
      got.map((f) => f[0]),
      ['S3', 'I2', 'C1', 'H1', 'O1'],
    );
  });
});

describe('decoding raw JSON like Istio', () => {
  it('accepts quoted integers', () => {
    expectFindings({ ingress: [{ port: { number: '70000', protocol: 'HTTP' } }] }, [
      ['I6', 'spec.ingress[0].port.number', 'port number 70000 must be in the range 1..65535'],
    ]);
  });

  it('treats null fields as absent', () => {
    expectFindings(
      { ingress: [{ port: { number: null, protocol: null, name: null }, tls: null, connectionPool: null }] },
      [['I6', 'spec.ingress[0].port.number', 'port number 0 must be in the range 1..65535']],
    );
  });

  it('ignores values of the wrong JSON type instead of throwing', () => {
    expectFindings({ ingress: [{ port: 'http' }], egress: 'x' }, [
      ['I2', 'spec.ingress[0].port', 'sidecar: port is required for ingress listeners'],
    ]);
    expectFindings({ ingress: [{ port: { number: 1.5 } }] }, [
      ['I6', 'spec.ingress[0].port.number', 'port number 0 must be in the range 1..65535'],
    ]);
  });

  it('treats an unknown enum name as matching no value', () => {
    expectFindings(
      { egress: [{ port: { number: 0 }, bind: 'unix:///a', captureMode: 'iptables-ish', hosts: ['./*'] }] },
      [
        [
          'E9',
          'spec.egress[0].captureMode',
          'sidecar: captureMode must be DEFAULT/NONE for unix domain socket listeners',
        ],
      ],
    );
    expectFindings(
      { ingress: [{ port: { ...httpPort, protocol: 'HTTPS' }, tls: { mode: 'simple', privateKey: '/k' } }] },
      [],
    );
  });

  it('reads own properties only', () => {
    const spec = JSON.parse(
      '{"__proto__": {"egress": 1}, "constructor": {}, "egress": [{"hosts": ["*/*"], "toString": 1}]}',
    );
    expectFindings(spec, []);
  });

  it('replaces unpaired surrogates like Go’s JSON decoder', () => {
    expectFindings({ egress: [{ hosts: ['\ud800/x.com'] }] }, [
      ['H3', 'spec.egress[0].hosts[0]', 'invalid namespace value "\ufffd" in sidecar'],
    ]);
  });
});

describe('independent of the CRD schema and its CEL rules', () => {
  const T = 'spec.ingress[0].tls';
  const https = { number: 443, protocol: 'HTTPS', name: 'https' };

  it('does not enforce list sizes or CEL exclusivity, only Istio’s own rules', () => {
    // CEL would cap credentialNames at 2 items; Istio only says "not supported".
    expectFindings({ ingress: [{ port: https, tls: { mode: 'SIMPLE', credentialNames: ['a', 'b', 'c'] } }] }, [
      ['I17', `${T}.credentialNames`, 'sidecar: credentialNames is not currently supported'],
    ]);
    // CEL's third rule tests the wrong field, so credentialName + tlsCertificates reaches Istio: T6.
    expectFindings(
      { ingress: [{ port: https, tls: { mode: 'SIMPLE', credentialName: 'c', tlsCertificates: [{}] } }] },
      [
        ['I16', `${T}.credentialName`, 'sidecar: credentialName is not currently supported'],
        ['I18', `${T}.tlsCertificates`, 'sidecar: tls_certificates is not currently supported'],
        [
          'T6',
          T,
          'only one of credential_name, credential_names, server_certificate/private_key, tls_certificates should be specified',
        ],
      ],
    );
  });

  it('accepts tcp.idleTimeout "0s", which has no CEL rule either', () => {
    expectFindings({ inboundConnectionPool: { tcp: { idleTimeout: '0s' } } }, []);
  });

  it("reports an unparseable duration as Istio's decoder does (J1), whatever the CEL rules say", () => {
    expectFindings({ inboundConnectionPool: { tcp: { connectTimeout: '5 seconds' } } }, [
      [
        'J1',
        'spec.inboundConnectionPool.tcp.connectTimeout',
        'error decoding configuration: bad Duration: time: unknown unit " seconds" in duration "5 seconds"',
      ],
    ]);
  });
});

describe('totality', () => {
  // Any JSON, and Sidecar-shaped JSON whose leaves are arbitrary JSON.
  const leaf = fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom(
      '',
      '*',
      '*/*',
      './*',
      'unix://',
      'unix:///a',
      '127.0.0.1:80',
      '[::1',
      'ALLOW_ANY',
      'SIMPLE',
      '0s',
      '1.5ms',
      '-1h',
    ),
    fc.integer({ min: -70000, max: 70000 }),
  );
  const shaped = fc.dictionary(
    fc.constantFrom('workloadSelector', 'ingress', 'egress', 'inboundConnectionPool', 'outboundTrafficPolicy'),
    fc.oneof(
      leaf,
      fc.array(
        fc.dictionary(
          fc.constantFrom(
            'port',
            'bind',
            'hosts',
            'tls',
            'connectionPool',
            'defaultEndpoint',
            'captureMode',
            'labels',
            'mode',
            'egressProxy',
            'http',
            'tcp',
          ),
          fc.oneof(leaf, fc.array(leaf), fc.dictionary(fc.string(), leaf)),
        ),
      ),
      fc.dictionary(fc.string(), leaf),
    ),
  );

  it('never throws and always returns well-formed findings', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), shaped), fc.jsonValue({ maxDepth: 1 }), (spec, annotations) => {
        const meta = { namespace: 'ns', name: 'n', annotations: annotations as Record<string, string> };
        for (const v of validateIstio(spec, meta)) {
          assert.ok(v.rule in RULES);
          assert.equal(typeof v.message, 'string');
          assert.equal(typeof v.path, 'string');
        }
      }),
      { numRuns: 400 },
    );
  });

  it("reads every index of a sparse list (no JSON text makes one; a caller's object can): a hole is an empty host", () => {
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point
    const spec = { egress: [{ hosts: [, 'istio-system/*'] }] };
    const found = validateIstio(spec, { namespace: 'ns', name: 'n' });
    assert.deepEqual(
      found.map((v) => [v.rule, v.path]),
      [['H1', 'spec.egress[0].hosts[0]']],
    );
  });

  it('survives a malformed meta', () => {
    const meta = { namespace: 5, name: null, annotations: 'x' } as unknown as Parameters<typeof validateIstio>[1];
    assert.deepEqual(
      validateIstio({}, meta).map((v) => v.rule),
      ['G1'],
    );
  });
});

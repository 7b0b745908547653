// J1: values the API server lets through but Istio's decoder refuses; the
// decode error is Istio's only answer (texts checked against Istio's code by
// test/conformance/).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expectFindings, run } from './helpers.js';

const pool = (p: Record<string, unknown>) => ({ inboundConnectionPool: p });

describe('J1 values Istio cannot decode', () => {
  it("refuses a tcp.idleTimeout Go cannot parse, with Go's error", () => {
    expectFindings(pool({ tcp: { idleTimeout: 'iptables' } }), [
      [
        'J1',
        'spec.inboundConnectionPool.tcp.idleTimeout',
        'error decoding configuration: bad Duration: time: invalid duration "iptables"',
      ],
    ]);
    expectFindings(pool({ tcp: { idleTimeout: '1S' } }), [
      [
        'J1',
        'spec.inboundConnectionPool.tcp.idleTimeout',
        'error decoding configuration: bad Duration: time: unknown unit "S" in duration "1S"',
      ],
    ]);
  });

  it('refuses int32 counters outside the int32 range', () => {
    expectFindings(pool({ http: { maxRetries: 2147483648 } }), [
      [
        'J1',
        'spec.inboundConnectionPool.http.maxRetries',
        'error decoding configuration: json: cannot unmarshal number 2147483648 into Go value of type int32',
      ],
    ]);
    expectFindings(
      {
        egress: [{ hosts: ['./*'] }],
        ingress: [{ port: { number: 80 }, connectionPool: { tcp: { maxConnections: -2147483649 } } }],
      },
      [
        [
          'J1',
          'spec.ingress[0].connectionPool.tcp.maxConnections',
          'error decoding configuration: json: cannot unmarshal number -2147483649 into Go value of type int32',
        ],
      ],
    );
  });

  it('reports only the first failure in protobuf field order (ingress, then inboundConnectionPool; tcp before http)', () => {
    const spec = {
      inboundConnectionPool: { http: { idleTimeout: 'x' }, tcp: { idleTimeout: 'y' } },
      ingress: [{ port: { number: 80 }, connectionPool: { http: { maxRetries: 2 ** 40 } } }],
    };
    const found = run(spec, { namespace: 'bar', name: 'foo', annotations: { 'istio.io/dry-run': 'true' } });
    assert.deepEqual(
      found.map((v) => [v.rule, v.path]),
      [['J1', 'spec.ingress[0].connectionPool.http.maxRetries']],
    );
  });

  it('names the list item that failed, counting null items', () => {
    const spec = { ingress: [null, { port: { number: 80 }, connectionPool: { http: { maxRetries: 2 ** 40 } } }] };
    assert.deepEqual(
      run(spec)
        .filter((v) => v.rule === 'J1')
        .map((v) => v.path),
      ['spec.ingress[1].connectionPool.http.maxRetries'],
    );
  });

  it('stays silent when the first failure is a value the CRD refuses anyway (the API server answers first)', () => {
    const spec = { inboundConnectionPool: { http: { http2MaxRequests: 1e21 } }, egress: [{ port: { number: 1e21 } }] };
    assert.deepEqual(
      run(spec).filter((v) => v.rule === 'J1'),
      [],
    );
    const enumFirst = { ingress: [{ captureMode: 'FOO', connectionPool: { tcp: { idleTimeout: 'abc' } } }] };
    assert.deepEqual(
      run(enumFirst).filter((v) => v.rule === 'J1'),
      [],
    );
    const durationFirst = {
      ingress: [{ connectionPool: { tcp: { idleTimeout: 'abc' } } }],
      egress: [{ captureMode: 'FOO', hosts: ['./*'] }],
    };
    assert.deepEqual(
      run(durationFirst)
        .filter((v) => v.rule === 'J1')
        .map((v) => v.path),
      ['spec.ingress[0].connectionPool.tcp.idleTimeout'],
    );
  });

  it('lets the edge values through', () => {
    expectFindings(
      pool({
        tcp: { idleTimeout: '0s', maxConnections: 2147483647 },
        http: { maxRetries: 0, maxConcurrentStreams: -2147483648 },
      }),
      [['C8', 'spec.inboundConnectionPool.http.maxConcurrentStreams', 'max concurrent streams must be non-negative']],
    );
  });
});

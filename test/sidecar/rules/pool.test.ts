// C1–C14 and the duration rule D, on inboundConnectionPool and ingress[].connectionPool.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RULES } from '../../../src/sidecar/rules/index.js';
import { durationError } from '../../../src/sidecar/rules/pool.js';
import { expectFindings, expectValid, findings, httpPort, inboundPool, ingress, type Finding } from './helpers.js';

const IP = 'spec.inboundConnectionPool';
const TOO_SHORT = 'duration must be greater than 1ms';
const PRECISION = 'only durations to ms precision are supported';

describe('C1 empty pool', () => {
  it('rejects {} on inboundConnectionPool and on an ingress listener', () => {
    expectFindings(inboundPool({}), [['C1', IP, 'connection pool must have at least one field']]);
    expectFindings(ingress({ port: httpPort, connectionPool: { http: null, tcp: null } }), [
      ['C1', 'spec.ingress[0].connectionPool', 'connection pool must have at least one field'],
    ]);
  });

  it('accepts http: {} alone', () => {
    expectValid(inboundPool({ http: {} }));
    expectValid(inboundPool({ tcp: {} }));
  });
});

describe('C2–C5, C8, C10 negative counters', () => {
  const cases: Array<[rule: string, section: 'http' | 'tcp', field: string, message: string]> = [
    ['C2', 'http', 'http1MaxPendingRequests', 'http1 max pending requests must be non-negative'],
    ['C3', 'http', 'http2MaxRequests', 'http2 max requests must be non-negative'],
    ['C4', 'http', 'maxRequestsPerConnection', 'max requests per connection must be non-negative'],
    ['C5', 'http', 'maxRetries', 'max retries must be non-negative'],
    ['C8', 'http', 'maxConcurrentStreams', 'max concurrent streams must be non-negative'],
    ['C10', 'tcp', 'maxConnections', 'max connections must be non-negative'],
  ];
  for (const [rule, section, field, message] of cases) {
    it(`${rule} ${section}.${field} < 0`, () => {
      expectFindings(inboundPool({ [section]: { [field]: -1 } }), [[rule, `${IP}.${section}.${field}`, message]]);
      expectFindings(inboundPool({ [section]: { [field]: -2147483648 } }), [
        [rule, `${IP}.${section}.${field}`, message],
      ]);
      expectValid(inboundPool({ [section]: { [field]: 0 } }));
      expectValid(inboundPool({ [section]: { [field]: 2147483647 } }));
    });
  }

  it('reports http before tcp, in field order', () => {
    const all = findings(
      inboundPool({
        tcp: { maxConnections: -1 },
        http: {
          maxConcurrentStreams: -1,
          maxRetries: -1,
          maxRequestsPerConnection: -1,
          http2MaxRequests: -1,
          http1MaxPendingRequests: -1,
        },
      }),
    );
    assert.deepEqual(
      all.map((f) => f[0]),
      ['C2', 'C3', 'C4', 'C5', 'C8', 'C10'],
    );
  });
});

describe('C7 useClientProtocol with UPGRADE', () => {
  it('rejects the combination (name or number 2)', () => {
    const C7: Finding = [
      'C7',
      `${IP}.http.useClientProtocol`,
      'use client protocol must not be true when H2UpgradePolicy is UPGRADE',
    ];
    expectFindings(inboundPool({ http: { h2UpgradePolicy: 'UPGRADE', useClientProtocol: true } }), [C7]);
    expectFindings(inboundPool({ http: { h2UpgradePolicy: 2, useClientProtocol: true } }), [C7]);
  });

  it('accepts either one alone', () => {
    expectValid(inboundPool({ http: { h2UpgradePolicy: 'UPGRADE', useClientProtocol: false } }));
    expectValid(inboundPool({ http: { h2UpgradePolicy: 'DO_NOT_UPGRADE', useClientProtocol: true } }));
  });
});

describe('D duration rule', () => {
  it('needs at least 1ms, in whole milliseconds', () => {
    assert.equal(durationError(0n), TOO_SHORT);
    assert.equal(durationError(-5_000_000n), TOO_SHORT);
    assert.equal(durationError(999_999n), TOO_SHORT);
    assert.equal(durationError(1_000_000n), undefined);
    assert.equal(durationError(1_500_000n), PRECISION);
    assert.equal(durationError(2_000_000_005n), PRECISION);
  });

  it('is reported under the field’s C row, never as D', () => {
    assert.deepEqual(RULES.D.reportedAs, ['C6', 'C9', 'C11', 'C12', 'C13', 'C14']);
  });
});

describe('C6 http.idleTimeout', () => {
  it('applies D', () => {
    expectFindings(inboundPool({ http: { idleTimeout: '0s' } }), [['C6', `${IP}.http.idleTimeout`, TOO_SHORT]]);
    expectFindings(inboundPool({ http: { idleTimeout: '1.0005s' } }), [['C6', `${IP}.http.idleTimeout`, PRECISION]]);
    expectValid(inboundPool({ http: { idleTimeout: '1h' } }));
  });
});

describe('C9 http2KeepAlive', () => {
  const K = `${IP}.http.http2KeepAlive`;

  it('requires interval then timeout', () => {
    expectFindings(inboundPool({ http: { http2KeepAlive: {} } }), [
      ['C9', `${K}.interval`, 'http2 keepalive interval is required'],
      ['C9', `${K}.timeout`, 'http2 keepalive timeout is required'],
    ]);
    expectFindings(inboundPool({ http: { http2KeepAlive: { timeout: '5s' } } }), [
      ['C9', `${K}.interval`, 'http2 keepalive interval is required'],
    ]);
  });

  it('applies D to each', () => {
    expectFindings(inboundPool({ http: { http2KeepAlive: { interval: '0.5ms', timeout: '-1s' } } }), [
      ['C9', `${K}.interval`, TOO_SHORT],
      ['C9', `${K}.timeout`, TOO_SHORT],
    ]);
    expectFindings(inboundPool({ http: { http2KeepAlive: { interval: '15.000000005s', timeout: '5s' } } }), [
      ['C9', `${K}.interval`, PRECISION],
    ]);
  });
});

describe('C11, C12 tcp timeouts', () => {
  it('C11 connectTimeout', () => {
    expectFindings(inboundPool({ tcp: { connectTimeout: '2.000000005s' } }), [
      ['C11', `${IP}.tcp.connectTimeout`, PRECISION],
    ]);
    expectFindings(inboundPool({ tcp: { connectTimeout: '0s' } }), [['C11', `${IP}.tcp.connectTimeout`, TOO_SHORT]]);
    expectValid(inboundPool({ tcp: { connectTimeout: '1ms' } }));
  });

  it('C12 maxConnectionDuration', () => {
    expectFindings(inboundPool({ tcp: { maxConnectionDuration: '-1m' } }), [
      ['C12', `${IP}.tcp.maxConnectionDuration`, TOO_SHORT],
    ]);
  });
});

describe('C13 tcp.idleTimeout', () => {
  it('skips 0s and anything under one millisecond', () => {
    expectValid(inboundPool({ tcp: { idleTimeout: '0s' } }));
    expectValid(inboundPool({ tcp: { idleTimeout: '0.0005s' } }));
    expectValid(inboundPool({ tcp: { idleTimeout: '-999us' } }));
  });

  it('applies D from 1ms up (and to negatives of at least 1ms)', () => {
    expectFindings(inboundPool({ tcp: { idleTimeout: '1.5ms' } }), [['C13', `${IP}.tcp.idleTimeout`, PRECISION]]);
    expectFindings(inboundPool({ tcp: { idleTimeout: '-2ms' } }), [['C13', `${IP}.tcp.idleTimeout`, TOO_SHORT]]);
    expectValid(inboundPool({ tcp: { idleTimeout: '1h' } }));
  });
});

describe('C14 tcpKeepalive', () => {
  it('applies D to time then interval', () => {
    expectFindings(inboundPool({ tcp: { tcpKeepalive: { interval: '1.1ms', time: '0s', probes: 3 } } }), [
      ['C14', `${IP}.tcp.tcpKeepalive.time`, TOO_SHORT],
      ['C14', `${IP}.tcp.tcpKeepalive.interval`, PRECISION],
    ]);
    expectValid(inboundPool({ tcp: { tcpKeepalive: {} } }));
  });
});

describe('pools on ingress listeners', () => {
  it('uses the listener path and runs after the listener’s TLS checks', () => {
    expectFindings(
      {
        ingress: [
          { port: { number: 80, protocol: 'TCP' }, tls: {}, connectionPool: { tcp: { connectTimeout: '0s' } } },
        ],
      },
      [
        ['I20', 'spec.ingress[0].port.protocol', 'server cannot have TLS settings for non HTTPS/TLS ports'],
        ['C11', 'spec.ingress[0].connectionPool.tcp.connectTimeout', TOO_SHORT],
      ],
    );
  });

  it('checks inboundConnectionPool after every ingress listener', () => {
    const got = findings({ inboundConnectionPool: {}, ingress: [{ port: httpPort, connectionPool: {} }] });
    assert.deepEqual(
      got.map((f) => f[1]),
      ['spec.ingress[0].connectionPool', IP],
    );
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CEL_RULES, celRuleFor } from '../../../src/sidecar/schema/cel.js';
import { check, lines, validSidecar, withValue } from './helpers.js';

const DURATION_PATHS = [
  'connectionPool.http.http2KeepAlive.interval',
  'connectionPool.http.http2KeepAlive.timeout',
  'connectionPool.http.idleTimeout',
  'connectionPool.tcp.connectTimeout',
  'connectionPool.tcp.maxConnectionDuration',
  'connectionPool.tcp.tcpKeepalive.time',
  'connectionPool.tcp.tcpKeepalive.interval',
];

function withDuration(path: string, value: string) {
  const sidecar = validSidecar();
  const [pool, ...rest] = path.split('.');
  const target = `spec.ingress.0.${pool}.${rest.join('.')}`;
  const parent = target.split('.').slice(0, -1).join('.');
  // Create the intermediate objects the valid sidecar may not have.
  let node = sidecar as Record<string, unknown>;
  for (const step of parent.split('.')) {
    node[step] ??= {};
    node = node[step] as Record<string, unknown>;
  }
  return withValue(sidecar, target, value);
}

describe("CEL: duration(self) >= duration('1ms')", () => {
  for (const path of DURATION_PATHS) {
    it(`checks ingress[].${path}`, () => {
      assert.deepEqual(lines(check(withDuration(path, '1ms'))), []);
      assert.deepEqual(lines(check(withDuration(path, '999us'))), [
        `schema.cel spec.ingress[0].${path.replace(/\.(\d+)/g, '[$1]')}: Invalid value: "999us": must be a valid duration greater than 1ms`,
      ]);
    });
  }

  it('checks the top-level inboundConnectionPool too', () => {
    const sidecar = withValue(validSidecar(), 'spec.inboundConnectionPool', { tcp: { maxConnectionDuration: '0s' } });
    assert.deepEqual(lines(check(sidecar)), [
      'schema.cel spec.inboundConnectionPool.tcp.maxConnectionDuration: Invalid value: "0s": must be a valid duration greater than 1ms',
    ]);
  });

  it('uses Go duration syntax: 1ms exactly passes, below it fails', () => {
    for (const ok of ['1ms', '1000us', '1000000ns', '0.001s', '1h30m', '1.5s', '2562047h']) {
      assert.deepEqual(lines(check(withDuration('connectionPool.tcp.connectTimeout', ok))), [], ok);
    }
    for (const low of ['999us', '999999ns', '0s', '0', '-1s', '0.0009s']) {
      assert.equal(
        check(withDuration('connectionPool.tcp.connectTimeout', low)).violations[0]?.message,
        `Invalid value: ${JSON.stringify(low)}: must be a valid duration greater than 1ms`,
        low,
      );
    }
  });

  it('reports an unparseable duration as the rule failing to evaluate', () => {
    for (const bad of ['', '1', 'abc', '1 s', '1d', '5m1', '9999999999h']) {
      assert.deepEqual(
        lines(check(withDuration('connectionPool.http.idleTimeout', bad))),
        [
          "schema.cel spec.ingress[0].connectionPool.http.idleTimeout: Invalid value: \"string\": type conversion error from 'string' to 'google.protobuf.Duration' evaluating rule: must be a valid duration greater than 1ms",
        ],
        bad,
      );
    }
  });

  it('has no rule on tcp.idleTimeout, so 0s stays allowed there', () => {
    assert.deepEqual(lines(check(withDuration('connectionPool.tcp.idleTimeout', '0s'))), []);
  });

  it("does not run on a value of the wrong type (the type error blocks CEL rules, with the API server's note)", () => {
    const result = check(withValue(validSidecar(), 'spec.ingress.0.connectionPool.tcp.connectTimeout', 5));
    assert.deepEqual(
      result.violations.map((v) => `${v.rule} ${v.path}`),
      ['schema.type spec.ingress[0].connectionPool.tcp.connectTimeout', 'schema.cel '],
    );
  });
});

describe('CEL: ingress[].tls certificate sources', () => {
  const tls = (fields: object) => check(withValue(validSidecar(), 'spec.ingress.0.tls', { mode: 'SIMPLE', ...fields }));
  const creds = { credentialName: 'one' };
  const names = { credentialNames: ['a', 'b'] };
  const certs = { tlsCertificates: [{ serverCertificate: '/c.pem', privateKey: '/k.pem' }] };

  it('accepts a single source', () => {
    for (const fields of [creds, names, certs, {}]) assert.deepEqual(lines(tls(fields)), []);
  });

  it('refuses credentialNames with tlsCertificates (rules 1 and 3 share that expression)', () => {
    assert.deepEqual(lines(tls({ ...names, ...certs })), [
      'schema.cel spec.ingress[0].tls: Invalid value: only one of credentialNames or tlsCertificates can be set',
      'schema.cel spec.ingress[0].tls: Invalid value: only one of credentialName or tlsCertificates can be set',
    ]);
  });

  it('refuses credentialName with credentialNames', () => {
    assert.deepEqual(lines(tls({ ...creds, ...names })), [
      'schema.cel spec.ingress[0].tls: Invalid value: only one of credentialName or credentialNames can be set',
    ]);
  });

  it('does NOT refuse credentialName with tlsCertificates: the third rule tests credentialNames despite its message', () => {
    assert.deepEqual(lines(tls({ ...creds, ...certs })), []);
  });

  it('counts a null field as absent (pruned before CEL runs)', () => {
    assert.deepEqual(lines(tls({ ...names, tlsCertificates: null })), []);
  });

  it('reports all three with every source set', () => {
    assert.equal(tls({ ...creds, ...names, ...certs }).violations.length, 3);
  });
});

describe('CEL: workloadSelector label values have no wildcard', () => {
  it('refuses * anywhere in a value, at the label path', () => {
    for (const value of ['*', 'ratings-*', 'a*b']) {
      assert.deepEqual(lines(check(withValue(validSidecar(), 'spec.workloadSelector.labels.app', value))), [
        `schema.cel spec.workloadSelector.labels[app]: Invalid value: ${JSON.stringify(value)}: wildcard is not supported in selector`,
      ]);
    }
  });

  it('does not look at keys', () => {
    assert.deepEqual(
      lines(check(withValue(validSidecar(), 'spec.workloadSelector.labels', { 'app*': 'ratings' }))),
      [],
    );
  });

  it('keeps map keys with dots and slashes intact in the path', () => {
    assert.deepEqual(lines(check(withValue(validSidecar(), 'spec.workloadSelector.labels', { 'istio.io/rev': '*' }))), [
      'schema.cel spec.workloadSelector.labels[istio.io/rev]: Invalid value: "*": wildcard is not supported in selector',
    ]);
  });
});

describe('CEL rule table', () => {
  it('has exactly the five expressions of the CRD', () => {
    assert.equal(CEL_RULES.size, 5);
  });

  it('throws for an expression it does not implement', () => {
    assert.throws(() => celRuleFor('self.size() > 0'), /CEL rule not implemented/);
  });
});

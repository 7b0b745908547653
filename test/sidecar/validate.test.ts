// validateObject: the CRD schema and Istio's rules together, one explanation per field.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { validateObject } from '../../src/sidecar/validate.js';

const judge = (spec: unknown, rejectUnknownFields = false) =>
  validateObject(
    { apiVersion: 'networking.istio.io/v1', kind: 'Sidecar', metadata: { name: 'foo', namespace: 'bar' }, spec },
    { namespace: 'bar', name: 'foo' },
    { rejectUnknownFields },
  );
const rules = (spec: unknown, strict = false) => judge(spec, strict).violations.map((v) => `${v.rule} ${v.path}`);

describe('validateObject', () => {
  test("Istio's error at the same field supersedes the schema finding", () => {
    assert.deepEqual(rules({ ingress: [{ defaultEndpoint: '127.0.0.1:80' }] }), ['I2 spec.ingress[0].port']);
    assert.deepEqual(rules({ egress: [{ port: { number: 80, name: 'http', protocol: 'HTTP' } }] }), [
      'E15 spec.egress[0].hosts',
    ]);
    assert.deepEqual(rules({ inboundConnectionPool: { tcp: { connectTimeout: '0s' } } }), [
      'C11 spec.inboundConnectionPool.tcp.connectTimeout',
    ]);
  });

  test('…and inside it: a null listener is explained by what Istio then misses', () => {
    assert.deepEqual(rules({ ingress: [null] }), ['I2 spec.ingress[0].port']);
    assert.deepEqual(rules({ egress: [null] }), ['E15 spec.egress[0].hosts']);
  });

  test('schema findings Istio says nothing about stay', () => {
    // with the API server's note that the enum error kept it from running the CEL rules
    assert.deepEqual(rules({ egress: [{ hosts: ['./*'], captureMode: 'SOMETIMES' }] }), [
      'schema.enum spec.egress[0].captureMode',
      'schema.cel ',
    ]);
    assert.deepEqual(rules({ egress: [{ hosts: ['./*'], bogus: 1 }] }, true), [
      'schema.unknown-field spec.egress[0].bogus',
    ]);
    assert.deepEqual(
      rules({ egress: [{ hosts: ['./*'], bogus: 1 }] }, false),
      [],
      'the API server prunes unknown fields before a webhook sees them',
    );
  });

  test("wrong JSON types stop at the schema, as Istio's decoder would", () => {
    const result = judge({ egress: 'all' });
    assert.equal(result.wellFormed, false);
    assert.deepEqual(
      result.violations.map((v) => v.rule),
      ['schema.type', 'schema.cel'],
    );
  });
});

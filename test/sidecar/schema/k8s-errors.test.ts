import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  goNumber,
  goQuote,
  goValue,
  jsonTypeOf,
  notSupported,
  tooMany,
} from '../../../src/sidecar/schema/k8s-errors.js';

describe('Go formatting of values in messages', () => {
  it('quotes strings like Go %q', () => {
    assert.equal(goQuote('plain'), '"plain"');
    assert.equal(goQuote('a"b\\c'), '"a\\"b\\\\c"');
    assert.equal(goQuote('tab\there\nnl'), '"tab\\there\\nnl"');
    assert.equal(goQuote('\x00\x7f'), '"\\x00\\x7f"');
    assert.equal(goQuote('héllo ✓ 日本'), '"héllo ✓ 日本"');
    assert.equal(goQuote('nb\u00a0sp\u2028'), '"nb\\u00a0sp\\u2028"');
    assert.equal(goQuote('\u{1F600}'), '"\u{1F600}"');
    assert.equal(goQuote('\u{E0001}'), '"\\U000e0001"');
  });

  it('cuts very long strings', () => {
    const quoted = goQuote('x'.repeat(100_000));
    assert.ok(quoted.length < 5000);
    assert.ok(quoted.endsWith('..."'));
  });

  it('prints numbers like Go %v of the decoded JSON value', () => {
    assert.equal(goNumber(4294967296), '4294967296');
    assert.equal(goNumber(-1), '-1');
    assert.equal(goNumber(2 ** 62), '4611686018427387904');
    assert.equal(goNumber(1e20), '1e+20');
    assert.equal(goNumber(1e19), '1e+19');
    assert.equal(goNumber(1.5), '1.5');
    assert.equal(goNumber(1234567.5), '1.2345675e+06');
    assert.equal(goNumber(0.00001), '1e-05');
    assert.equal(goNumber(0.0001), '0.0001');
  });

  it('prints other values compactly', () => {
    assert.equal(goValue(true), 'true');
    assert.equal(goValue(null), 'null');
    assert.equal(goValue({ a: [1, 'x'] }), '{"a":[1,"x"]}');
  });

  it("prints lists and maps as Go's json.Marshal: keys in code point order, HTML-safe, floats as ES6 does", () => {
    assert.equal(
      goValue({ b: 1, a: 'x<&>\u2028', '\u{1F600}': 0, '\uFFFD': 0 }),
      '{"a":"x\\u003c\\u0026\\u003e\\u2028","b":1,"\uFFFD":0,"\u{1F600}":0}',
    );
    assert.equal(goValue([1.5e-7, 30842351.575013883, 1e21, '\ud800']), '[1.5e-7,30842351.575013883,1e+21,"\uFFFD"]');
  });

  it('names JSON types as kube-openapi does', () => {
    assert.deepEqual([null, 'x', 1, 1.5, true, [], {}].map(jsonTypeOf), [
      'null',
      'string',
      'integer',
      'number',
      'boolean',
      'array',
      'object',
    ]);
    // Go's decoder keeps int64 only: larger integral numbers are float64
    assert.deepEqual([2 ** 63 - 1024, 2 ** 63, -(2 ** 63), 1e300].map(jsonTypeOf), [
      'integer',
      'number',
      'number',
      'number',
    ]);
  });

  it('never cuts a long string between the halves of a surrogate pair', () => {
    const quoted = goQuote(`${'x'.repeat(4_095)}\u{1F600}tail`);
    assert.ok(quoted.endsWith('x..."'), quoted.slice(-10));
  });

  it('words field errors like k8s.io/apimachinery', () => {
    assert.equal(notSupported('FOO', ['A', 'B']), 'Unsupported value: "FOO": supported values: "A", "B"');
    assert.equal(tooMany(3, 2), 'Too many: 3: must have at most 2 items');
  });
});

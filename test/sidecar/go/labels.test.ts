// Istio's DNS label patterns (uppercase allowed, at most 63 characters).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  isDNS1123Label,
  isDNS1123LabelAt,
  isWildcardDNS1123Label,
  isWildcardDNS1123LabelAt,
} from '../../../src/sidecar/go/labels.js';

describe('isDNS1123Label', () => {
  it('accepts letters (any case), digits and inner hyphens', () => {
    for (const s of ['a', 'A', '0', 'ns1', 'NS1', 'my-ns', 'a--b', 'x'.repeat(63)]) assert.ok(isDNS1123Label(s), s);
  });

  it('rejects empty, too long, edge hyphens and other characters', () => {
    for (const s of ['', 'x'.repeat(64), '-a', 'a-', '-', 'a_b', 'a.b', '*', 'é', 'a b', 'a\n', '\na', 'a/b', 'a:b'])
      assert.ok(!isDNS1123Label(s), s);
  });
});

describe('isWildcardDNS1123Label', () => {
  it('accepts *, *label, *-label and plain labels', () => {
    for (const s of ['*', '*foo', '*-foo', 'foo', 'Foo-1', `*${'x'.repeat(62)}`])
      assert.ok(isWildcardDNS1123Label(s), s);
  });

  it('rejects other wildcard shapes and overlong labels', () => {
    for (const s of ['', '**', 'foo*', 'f*o', '*-', '*.', '*--', '-*', `*${'x'.repeat(63)}`])
      assert.ok(!isWildcardDNS1123Label(s), s);
  });
});

describe('label checks on a range of a string', () => {
  it('look only at the range', () => {
    assert.ok(isDNS1123LabelAt('ns1/foo.com', 4, 7));
    assert.ok(!isDNS1123LabelAt('ns1/foo.com', 3, 7));
    assert.ok(!isDNS1123LabelAt('a..b', 2, 2)); // an empty label
    assert.ok(isDNS1123LabelAt(`/${'x'.repeat(63)}/`, 1, 64));
    assert.ok(!isDNS1123LabelAt(`/${'x'.repeat(64)}/`, 1, 65));
    assert.ok(isWildcardDNS1123LabelAt('ns/*.foo', 3, 4));
    assert.ok(isWildcardDNS1123LabelAt('ns/*-foo.com', 3, 8));
    assert.ok(!isWildcardDNS1123LabelAt('ns/*-.com', 3, 5));
    assert.ok(!isWildcardDNS1123LabelAt('*x', 1, 1));
  });
});

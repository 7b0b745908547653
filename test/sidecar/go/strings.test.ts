// Go string semantics: UTF-8 lengths and order, rune-wise lowercasing, %v of []string.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  compareGoStrings,
  firstUtf8Byte,
  formatStringSlice,
  goToLower,
  toWellFormed,
  utf8Length,
  utf8LengthUpTo,
} from '../../../src/sidecar/go/strings.js';

describe('Go string helpers', () => {
  it('utf8Length counts bytes', () => {
    assert.equal(utf8Length(''), 0);
    assert.equal(utf8Length('abc'), 3);
    assert.equal(utf8Length('é'), 2);
    assert.equal(utf8Length('中'), 3);
    assert.equal(utf8Length('😀'), 4);
    assert.equal(utf8Length('\ud800'), 3); // becomes U+FFFD
  });

  it('firstUtf8Byte is s[0]', () => {
    assert.equal(firstUtf8Byte(''), undefined);
    assert.equal(firstUtf8Byte('A'), 0x41);
    assert.equal(firstUtf8Byte('é'), 0xc3);
    assert.equal(firstUtf8Byte('א'), 0xd7);
    assert.equal(firstUtf8Byte('😀'), 0xf0);
  });

  it('compareGoStrings orders by bytes (code points), not UTF-16 units', () => {
    assert.deepEqual(['b', 'B', 'a', 'ab', ''].sort(compareGoStrings), ['', 'B', 'a', 'ab', 'b']);
    assert.deepEqual(['\uffff', '😀'].sort(compareGoStrings), ['\uffff', '😀']);
  });

  it('goToLower maps rune by rune like strings.ToLower', () => {
    assert.equal(goToLower('HTTP_Proxy'), 'http_proxy');
    assert.equal(goToLower('İ'), 'i');
    assert.equal(goToLower('ΣΑΣ'), 'σασ'); // no final-sigma rule
    assert.equal(goToLower('\u212a'), 'k'); // Kelvin sign
  });

  it('formatStringSlice prints like %v', () => {
    assert.equal(formatStringSlice([]), '[]');
    assert.equal(formatStringSlice(['A', 'B']), '[A B]');
    assert.equal(formatStringSlice(['', 'x']), '[ x]');
  });

  it('toWellFormed replaces unpaired surrogates only', () => {
    assert.equal(toWellFormed('a\ud800b\udc00'), 'a\ufffdb\ufffd');
    assert.equal(toWellFormed('😀'), '😀');
    assert.equal(toWellFormed('😀\ud83d'), '😀\ufffd');
    assert.equal(toWellFormed('plain'), 'plain');
  });

  it('utf8LengthUpTo counts the bytes from an offset, and stops once past the cap', () => {
    for (const s of ['', 'abc', 'é', '中', '😀', '\ud800', 'a\udc00b', '\ud83d', 'ns/é.中😀']) {
      for (let from = 0; from <= s.length; from++) {
        assert.equal(utf8LengthUpTo(s, from, 255), utf8Length(s.slice(from)), `${JSON.stringify(s)} from ${from}`);
      }
    }
    assert.equal(utf8LengthUpTo('ns/foo.com', 3, 255), 7);
    assert.ok(utf8LengthUpTo('x'.repeat(1_000_000), 0, 255) > 255);
    assert.equal(utf8LengthUpTo('x'.repeat(256), 0, 255), 256);
  });

  it('goToLower on ASCII is plain lowercasing', () => {
    assert.equal(goToLower('HTTP'), 'http');
    assert.equal(goToLower('Grpc-Web'), 'grpc-web');
    assert.equal(goToLower('A\u0000Z~'), 'a\u0000z~');
  });
});

// goQuote must print exactly what Go's %q (strconv.Quote) prints.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { goQuote } from '../../../src/sidecar/go/quote.js';

describe('goQuote (Go %q)', () => {
  it('wraps in double quotes and escapes quotes and backslashes', () => {
    assert.equal(goQuote(''), '""');
    assert.equal(goQuote('app=web'), '"app=web"');
    assert.equal(goQuote('a"b\\c'), '"a\\"b\\\\c"');
    assert.equal(goQuote("it's"), '"it\'s"');
  });

  it('uses named escapes for \\a \\b \\f \\n \\r \\t \\v', () => {
    assert.equal(goQuote('\x07\b\f\n\r\t\v'), '"\\a\\b\\f\\n\\r\\t\\v"');
  });

  it('uses \\xNN for other control characters and DEL', () => {
    assert.equal(goQuote('\x00\x1b\x7f'), '"\\x00\\x1b\\x7f"');
  });

  it('keeps printable non-ASCII characters', () => {
    assert.equal(goQuote('é中😀ü'), '"é中😀ü"');
    assert.equal(goQuote('\u0301'), '"\u0301"'); // combining mark (category M) is printable
  });

  it('escapes non-printable non-ASCII: \\u for the BMP, \\U above', () => {
    assert.equal(goQuote('\u00a0'), '"\\u00a0"'); // no-break space is not ASCII space
    assert.equal(goQuote('\u200b\u2028\u0085'), '"\\u200b\\u2028\\u0085"');
    assert.equal(goQuote('\u{e0001}'), '"\\U000e0001"');
    assert.equal(goQuote('\u{10ffff}'), '"\\U0010ffff"');
  });

  it('keeps ASCII space and prints an unpaired surrogate as U+FFFD', () => {
    assert.equal(goQuote('a b'), '"a b"');
    assert.equal(goQuote('x\ud800y'), '"x\ufffdy"');
  });
});

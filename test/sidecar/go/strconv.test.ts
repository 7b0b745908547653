// atoi must behave like Go's strconv.Atoi on 64-bit platforms, error texts included.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { atoi } from '../../../src/sidecar/go/strconv.js';

const value = (s: string, v: bigint) => assert.deepEqual(atoi(s), { ok: true, value: v }, s);
const syntax = (s: string, quoted: string) =>
  assert.deepEqual(atoi(s), { ok: false, error: `strconv.Atoi: parsing ${quoted}: invalid syntax` }, s);
const range = (s: string) =>
  assert.deepEqual(atoi(s), { ok: false, error: `strconv.Atoi: parsing "${s}": value out of range` }, s);

describe('atoi (Go strconv.Atoi)', () => {
  it('parses an optional sign and decimal digits', () => {
    value('80', 80n);
    value('+80', 80n);
    value('-5', -5n);
    value('0080', 80n);
    value('-0', 0n);
    value('9223372036854775807', 9223372036854775807n);
    value('-9223372036854775808', -9223372036854775808n);
  });

  it('rejects anything else with invalid syntax, quoting the input with %q', () => {
    syntax('', '""');
    syntax('+', '"+"');
    syntax('-', '"-"');
    syntax('hi', '"hi"');
    syntax('8 0', '"8 0"');
    syntax(' 80', '" 80"');
    syntax('1_000', '"1_000"');
    syntax('0x10', '"0x10"');
    syntax('++1', '"++1"');
    syntax('1e3', '"1e3"');
    syntax('٣', '"٣"');
    syntax('\t1', '"\\t1"');
  });

  it('reports int64 overflow as value out of range', () => {
    range('9223372036854775808');
    range('-9223372036854775809');
    range('99999999999999999999');
    range('+18446744073709551616');
  });

  it('reports whichever problem comes first, like ParseUint', () => {
    range('99999999999999999999x'); // uint64 overflows before the x
    syntax('9300000000000000000x', '"9300000000000000000x"'); // fits uint64, so the x is seen first
  });
});

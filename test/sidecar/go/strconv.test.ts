// atoi must behave like Go's strconv.Atoi on 64-bit platforms, error texts included.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { atoi, isAtoiInteger } from '../../../src/sidecar/go/strconv.js';

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

describe('isAtoiInteger (whether atoi succeeds, without building a result)', () => {
  const accepted = ['0', '80', '+1', '-1', '-0', '+0', '00', '0080', '9223372036854775807', '-9223372036854775808'];
  const refused = [
    ...['', '+', '-', '++1', '+-1', '1+', ' 1', '1 ', '1_0', '0x1', '1e3', '٣', '１', '1.0', '\u00001'],
    ...['9223372036854775808', '-9223372036854775809', '99999999999999999999', '+18446744073709551616'],
  ];

  it('agrees with atoi on signs, leading zeros, non-ASCII digits and the int64 limits', () => {
    for (const s of [...accepted, ...refused]) assert.equal(isAtoiInteger(s), atoi(s).ok, s);
    for (const s of accepted) assert.ok(isAtoiInteger(s), s);
    for (const s of refused) assert.ok(!isAtoiInteger(s), s);
  });

  it('does not count leading zeros towards the 19 digits of int64', () => {
    const padded = `000000${'9223372036854775807'}`;
    assert.ok(isAtoiInteger(padded) && atoi(padded).ok);
    assert.ok(!isAtoiInteger(`000000${'9223372036854775808'}`));
    assert.ok(isAtoiInteger(`-000${'9223372036854775808'}`));
    assert.ok(isAtoiInteger('1000000000000000000')); // 19 digits below the limit
    assert.ok(!isAtoiInteger('10000000000000000000')); // 20 digits
  });

  it('reads only the range it is given', () => {
    assert.ok(isAtoiInteger('foo.123', 4, 7));
    assert.ok(!isAtoiInteger('foo.123', 3, 7));
    assert.ok(!isAtoiInteger('a-1', 1, 1)); // empty, though a '-' follows it
    assert.ok(!isAtoiInteger('x-', 1, 2));
    assert.ok(isAtoiInteger('x-5y', 1, 3));
  });
});

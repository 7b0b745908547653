// parseGoDuration must agree with Go's time.ParseDuration.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseGoDuration } from '../../../src/sidecar/go/duration.js';

const nanos = (s: string, n: bigint) => assert.deepEqual(parseGoDuration(s), { ok: true, nanos: n }, s);
const error = (s: string, e: string) => assert.deepEqual(parseGoDuration(s), { ok: false, error: e }, s);

describe('parseGoDuration (Go time.ParseDuration)', () => {
  it('parses units, fractions, signs and sequences', () => {
    nanos('0', 0n);
    nanos('-0', 0n);
    nanos('+0s', 0n);
    nanos('1.5s', 1_500_000_000n);
    nanos('.5s', 500_000_000n);
    nanos('5.s', 5_000_000_000n);
    nanos('300ms', 300_000_000n);
    nanos('-2us', -2_000n);
    nanos('2µs', 2_000n);
    nanos('2μs', 2_000n);
    nanos('1h30m', 5_400_000_000_000n);
    nanos('2.000000005s', 2_000_000_005n);
    nanos('1h1ns', 3_600_000_000_001n);
  });

  it('scales fractions in float64 and truncates like Go', () => {
    nanos('0.123456789123s', 123_456_789n);
    nanos('1.0000000001h', 3_600_000_000_360n);
    nanos('0.1ns', 0n);
  });

  it('covers the whole int64 range, MinInt64 included', () => {
    nanos('9223372036854775807ns', 9_223_372_036_854_775_807n);
    nanos('-9223372036854775808ns', -9_223_372_036_854_775_808n);
    nanos('2562047h47m16.854775807s', 9_223_372_036_854_775_807n);
    error('9223372036854775808ns', 'time: invalid duration "9223372036854775808ns"');
    error('2562047h47m16.854775808s', 'time: invalid duration "2562047h47m16.854775808s"');
    error('99999999999999999999ns', 'time: invalid duration "99999999999999999999ns"');
  });

  it('reports Go errors', () => {
    error('', 'time: invalid duration ""');
    error('-', 'time: invalid duration "-"');
    error('.s', 'time: invalid duration ".s"');
    error('1', 'time: missing unit in duration "1"');
    error('1s2', 'time: missing unit in duration "1s2"');
    error('1e3s', 'time: unknown unit "e" in duration "1e3s"');
    error('1d', 'time: unknown unit "d" in duration "1d"');
    error('s', 'time: invalid duration "s"');
    error(' 1s', 'time: invalid duration " 1s"');
  });

  it('quotes non-ASCII bytes as \\x like the time package', () => {
    error('1é', 'time: unknown unit "\\xc3\\xa9" in duration "1\\xc3\\xa9"');
  });
});

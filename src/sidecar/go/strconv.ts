// Go's strconv.Atoi on a 64-bit platform, with its exact error texts.
// Accepted: an optional '+' or '-', then one or more ASCII digits, and the
// value must fit in int64. Leading zeros are fine ("0080" is 80).
import { goQuote } from './quote.js';

export type AtoiResult = { ok: true; value: bigint } | { ok: false; error: string };

const UINT64_MAX = (1n << 64n) - 1n;

export function atoi(s: string): AtoiResult {
  if (isAtoiInteger(s)) return { ok: true, value: BigInt(s) }; // BigInt reads the same sign and digits
  return { ok: false, error: `strconv.Atoi: parsing ${goQuote(s)}: ${atoiProblem(s)}` };
}

/** Why atoi refuses s. */
function atoiProblem(s: string): 'invalid syntax' | 'value out of range' {
  const digits = s.startsWith('-') || s.startsWith('+') ? s.slice(1) : s;
  if (digits === '') return 'invalid syntax';
  // Like ParseUint, stop at the first problem from the left: an overflow of
  // uint64 before a bad character is a range error, a bad character before
  // any overflow is a syntax error.
  let n = 0n;
  for (const ch of digits) {
    if (ch < '0' || ch > '9') return 'invalid syntax';
    n = n * 10n + BigInt(ch.charCodeAt(0) - 48);
    if (n > UINT64_MAX) return 'value out of range';
  }
  return 'value out of range'; // all digits, so the int64 range is what failed
}

const PLUS = 0x2b;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;
const INT64_MAX_DIGITS = '9223372036854775807';
const INT64_MIN_DIGITS = '9223372036854775808'; // without its '-'

/**
 * Whether atoi(s[start, end)) succeeds, without building anything. The domain
 * checks ask this of every host's last label, nearly always a word.
 */
export function isAtoiInteger(s: string, start = 0, end: number = s.length): boolean {
  let i = start;
  const first = i < end ? s.charCodeAt(i) : -1;
  const negative = first === MINUS;
  if (negative || first === PLUS) i++;
  if (i === end) return false;
  for (let j = i; j < end; j++) {
    const c = s.charCodeAt(j);
    if (c < ZERO || c > NINE) return false;
  }
  // Leading zeros do not count towards the size; 19 digits need a closer look.
  while (i < end - 1 && s.charCodeAt(i) === ZERO) i++;
  const digits = end - i;
  if (digits !== INT64_MAX_DIGITS.length) return digits < INT64_MAX_DIGITS.length;
  const limit = negative ? INT64_MIN_DIGITS : INT64_MAX_DIGITS;
  for (let k = 0; k < digits; k++) {
    const d = s.charCodeAt(i + k) - limit.charCodeAt(k);
    if (d !== 0) return d < 0;
  }
  return true;
}

// Go's time.ParseDuration, because both Istio (jsonpb decodes Duration with it)
// and the API server's CEL `duration()` accept exactly Go's syntax: "1h30m",
// "1.5s", "300ms", "-2us", "0". Nanoseconds are returned as a bigint so that
// values near Go's int64 limit keep their exact value.

const UNIT_NS: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n, // U+00B5 micro sign
  μs: 1_000n, // U+03BC Greek small letter mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

// Go accumulates the magnitude in a uint64 and allows up to 1<<63 so that
// "-9223372036854775808ns" (MinInt64) parses.
const MAGNITUDE_LIMIT = 1n << 63n;
const INT64_MAX = MAGNITUDE_LIMIT - 1n;

export type DurationResult = { ok: true; nanos: bigint } | { ok: false; error: string };

/** Parses like Go's time.ParseDuration; `error` is Go's error text. */
export function parseGoDuration(input: string): DurationResult {
  const invalid = (): DurationResult => ({ ok: false, error: `time: invalid duration ${timeQuote(input)}` });
  let s = input;
  let negative = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    negative = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return { ok: true, nanos: 0n };
  if (s === '') return invalid();
  let total = 0n;
  while (s !== '') {
    if (!(s[0] === '.' || isDigit(s[0]))) return invalid();
    const whole = leadingInt(s);
    if (whole === undefined) return invalid();
    s = s.slice(whole.length);
    let fraction: Fraction = { value: 0n, scale: 1, length: 0 };
    if (s.startsWith('.')) {
      s = s.slice(1);
      fraction = leadingFraction(s);
      s = s.slice(fraction.length);
    }
    if (whole.length === 0 && fraction.length === 0) return invalid(); // ".s", "-.s"

    const unitName = /^[^0-9.]*/.exec(s)?.[0] ?? '';
    if (unitName === '') return { ok: false, error: `time: missing unit in duration ${timeQuote(input)}` };
    s = s.slice(unitName.length);
    const unit = Object.hasOwn(UNIT_NS, unitName) ? UNIT_NS[unitName] : undefined;
    if (unit === undefined) {
      return { ok: false, error: `time: unknown unit ${timeQuote(unitName)} in duration ${timeQuote(input)}` };
    }

    if (whole.value > MAGNITUDE_LIMIT / unit) return invalid();
    let value = whole.value * unit;
    if (fraction.value > 0n) {
      // Go scales the fraction in float64 and truncates; do the same so that
      // long fractions round exactly as Istio sees them.
      value += BigInt(Math.trunc(Number(fraction.value) * (Number(unit) / fraction.scale)));
      if (value > MAGNITUDE_LIMIT) return invalid();
    }
    total += value;
    if (total > MAGNITUDE_LIMIT) return invalid();
  }
  if (negative) return { ok: true, nanos: -total };
  if (total > INT64_MAX) return invalid();
  return { ok: true, nanos: total };
}

function isDigit(ch: string | undefined): boolean {
  return ch !== undefined && ch >= '0' && ch <= '9';
}

/** Leading decimal digits as a uint64; undefined when they overflow 1<<63. */
function leadingInt(s: string): { value: bigint; length: number } | undefined {
  let value = 0n;
  let i = 0;
  for (; i < s.length && isDigit(s[i]); i++) {
    if (value > MAGNITUDE_LIMIT / 10n) return undefined;
    value = value * 10n + BigInt(s.charCodeAt(i) - 48);
    if (value > MAGNITUDE_LIMIT) return undefined;
  }
  return { value, length: i };
}

interface Fraction {
  value: bigint;
  scale: number;
  length: number;
}

/** Digits after the point; once they would overflow, further digits are consumed but ignored. */
function leadingFraction(s: string): Fraction {
  let value = 0n;
  let scale = 1;
  let overflow = false;
  let i = 0;
  for (; i < s.length && isDigit(s[i]); i++) {
    if (overflow) continue;
    if (value > INT64_MAX / 10n) {
      overflow = true;
      continue;
    }
    const next = value * 10n + BigInt(s.charCodeAt(i) - 48);
    if (next > MAGNITUDE_LIMIT) {
      overflow = true;
      continue;
    }
    value = next;
    scale *= 10;
  }
  return { value, scale, length: i };
}

// The time package quotes with its own helper: ASCII stays (with '"' and '\'
// escaped), every byte of a non-ASCII or control character becomes \xNN.
function timeQuote(s: string): string {
  let out = '"';
  for (const byte of new TextEncoder().encode(s)) {
    if (byte >= 0x80 || byte < 0x20) out += `\\x${byte.toString(16).padStart(2, '0')}`;
    else if (byte === 0x22 || byte === 0x5c) out += `\\${String.fromCharCode(byte)}`;
    else out += String.fromCharCode(byte);
  }
  return `${out}"`;
}

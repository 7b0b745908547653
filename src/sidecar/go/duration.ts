// Go's time.ParseDuration, because both Istio (jsonpb decodes Duration with it)
// and the API server's CEL `duration()` accept exactly Go's syntax: "1h30m",
// "1.5s", "300ms", "-2us", "0". Nanoseconds are returned as a bigint so that
// values near Go's int64 limit keep their exact value.

const UNIT_NS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n, // U+00B5 micro sign
  'μs': 1_000n, // U+03BC Greek small letter mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const INT64_MAX = (1n << 63n) - 1n;

export type DurationResult = { ok: true; nanos: bigint } | { ok: false; error: string };

/** Parses like Go's time.ParseDuration; `error` is Go's error text. */
export function parseGoDuration(input: string): DurationResult {
  const quoted = goQuoteAscii(input);
  const invalid = (): DurationResult => ({ ok: false, error: `time: invalid duration ${quoted}` });
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
    const m = /^(\d*)(?:\.(\d*))?/.exec(s);
    const intPart = m?.[1] ?? '';
    const fracPart = m?.[2];
    if (intPart === '' && (fracPart === undefined || fracPart === '')) return invalid();
    s = s.slice(m![0].length);
    const unitMatch = /^[^\d.]+/.exec(s);
    if (!unitMatch) return { ok: false, error: `time: missing unit in duration ${quoted}` };
    const unitName = unitMatch[0];
    const unit = UNIT_NS[unitName];
    if (unit === undefined) return { ok: false, error: `time: unknown unit ${goQuoteAscii(unitName)} in duration ${quoted}` };
    s = s.slice(unitName.length);
    const whole = intPart === '' ? 0n : BigInt(intPart);
    if (whole > INT64_MAX / unit) return invalid();
    let value = whole * unit;
    if (fracPart) {
      // Go scales the fraction in floating point; for the digits people write
      // (at most nanosecond precision) exact integer arithmetic gives the same value.
      const digits = fracPart.slice(0, 19);
      const scale = 10n ** BigInt(digits.length);
      value += (BigInt(digits) * unit) / scale;
    }
    total += value;
    if (total > INT64_MAX + (negative ? 1n : 0n)) return invalid();
  }
  return { ok: true, nanos: negative ? -total : total };
}

// Go quotes the input with %q in these errors; durations are short ASCII in
// practice, so escaping quotes, backslashes and control bytes is enough here.
function goQuoteAscii(s: string): string {
  return JSON.stringify(s);
}

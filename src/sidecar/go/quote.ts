// Go's strconv.Quote (what fmt's %q prints for a string): double quotes,
// backslash escapes for quotes, backslashes and non-printable runes, and
// printable non-ASCII characters kept as they are.

// strconv.IsPrint: letters, marks, numbers, punctuation, symbols, ASCII space.
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

const NAMED_ESCAPES: Readonly<Record<string, string>> = {
  '\x07': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
};

export function isGoPrintable(ch: string): boolean {
  return ch === ' ' || PRINTABLE.test(ch);
}

export function goQuote(s: string): string {
  // Printable ASCII other than the quote and the backslash stands for itself;
  // only the rest goes rune by rune (a long host is quoted in one step).
  return `"${s.replace(NEEDS_A_LOOK, quoteRune)}"`;
}

/** Runs of anything but printable ASCII, and single quotes and backslashes. */
const NEEDS_A_LOOK = /["\\]|[^\x20-\x7e]+/g;

function quoteRune(run: string): string {
  let out = '';
  for (const raw of run) {
    // An unpaired surrogate cannot exist in a Go string; it decoded as U+FFFD.
    const ch = isLoneSurrogate(raw) ? '\uFFFD' : raw;
    out += escapeRune(ch);
  }
  return out;
}

function escapeRune(ch: string): string {
  if (ch === '"' || ch === '\\') return `\\${ch}`;
  if (isGoPrintable(ch)) return ch;
  const named = NAMED_ESCAPES[ch];
  if (named !== undefined) return named;
  const cp = ch.codePointAt(0) ?? 0;
  if (cp < 0x20 || cp === 0x7f) return `\\x${hex(cp, 2)}`;
  if (cp < 0x10000) return `\\u${hex(cp, 4)}`;
  return `\\U${hex(cp, 8)}`;
}

function isLoneSurrogate(ch: string): boolean {
  const cp = ch.codePointAt(0) ?? 0;
  return ch.length === 1 && cp >= 0xd800 && cp <= 0xdfff;
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

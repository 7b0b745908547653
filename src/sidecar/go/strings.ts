// Go string semantics that differ from JavaScript's: Go strings are UTF-8
// bytes, so lengths, ordering and "the first byte" are measured on the UTF-8
// encoding, and strings.ToLower maps one rune to one rune.

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const ANY_SURROGATE = /[\uD800-\uDFFF]/;
const NON_ASCII = /[\u0080-\uffff]/;

/**
 * Go's JSON decoder turns an unpaired UTF-16 surrogate escape into U+FFFD, so
 * Istio never sees one; doing the same here keeps lengths and quoting aligned.
 * A string without any surrogate (nearly all) is returned as it is: replace()
 * would allocate even when it finds nothing.
 */
export function toWellFormed(s: string): string {
  return ANY_SURROGATE.test(s) ? s.replace(LONE_SURROGATE, '\uFFFD') : s;
}

/**
 * Go's len(s): the number of UTF-8 bytes (lone surrogates count as U+FFFD,
 * which is also how Node's UTF-8 encoder writes them: 3 bytes). Native, so a
 * host of a million characters costs a millisecond, not a second.
 */
export function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/**
 * utf8Length(s.slice(from)), counted only until it exceeds `cap`: any number
 * above `cap` then means "longer than cap". A length limit on part of a host
 * name costs neither a slice nor a walk of a huge string.
 */
export function utf8LengthUpTo(s: string, from: number, cap: number): number {
  let n = 0;
  for (let i = from; i < s.length && n <= cap; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && isLowSurrogate(s.charCodeAt(i + 1))) {
      n += 4; // a surrogate pair is one rune of 4 bytes
      i++;
    } else n += 3; // the rest of the BMP, and a lone surrogate (U+FFFD)
  }
  return n;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** s[0] in Go: the first byte of the UTF-8 encoding (undefined for ""). */
export function firstUtf8Byte(s: string): number | undefined {
  const cp = s.codePointAt(0);
  if (cp === undefined) return undefined;
  const r = cp >= 0xd800 && cp <= 0xdfff ? 0xfffd : cp;
  if (r < 0x80) return r;
  if (r < 0x800) return 0xc0 | (r >> 6);
  if (r < 0x10000) return 0xe0 | (r >> 12);
  return 0xf0 | (r >> 18);
}

/**
 * Go's string comparison (sort.Strings): byte-wise on UTF-8, which is code
 * point order. JavaScript's default sort compares UTF-16 units instead, which
 * puts U+E000..U+FFFF after astral characters.
 */
export function compareGoStrings(a: string, b: string): number {
  const ai = a[Symbol.iterator]();
  const bi = b[Symbol.iterator]();
  for (;;) {
    const x = ai.next();
    const y = bi.next();
    if (x.done || y.done) return x.done === y.done ? 0 : x.done ? -1 : 1;
    const cx = x.value.codePointAt(0) ?? 0;
    const cy = y.value.codePointAt(0) ?? 0;
    if (cx !== cy) return cx < cy ? -1 : 1;
  }
}

/**
 * Go's strings.ToLower: a simple one-rune-to-one-rune mapping. JavaScript's
 * toLowerCase applies full and context-sensitive mappings (U+0130 becomes two
 * code points, final sigma depends on position), so map rune by rune.
 */
export function goToLower(s: string): string {
  // On ASCII both mappings are A-Z to a-z; protocol names nearly always are ASCII.
  if (!NON_ASCII.test(s)) return s.toLowerCase();
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp === 0x130) {
      out += 'i'; // LATIN CAPITAL LETTER I WITH DOT ABOVE: Go's simple mapping
      continue;
    }
    const lower = ch.toLowerCase();
    out += [...lower].length === 1 ? lower : ch;
  }
  return out;
}

/** fmt's %v of a []string: `[a b c]`, elements unquoted. */
export function formatStringSlice(items: readonly string[]): string {
  return `[${items.join(' ')}]`;
}

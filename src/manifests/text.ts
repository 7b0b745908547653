// A manifest file's bytes as kubectl reads them, and the characters its YAML
// reader refuses. kubectl's file reader (k8s.io/cli-runtime's FileVisitor)
// decodes through unicode.BOMOverride: a UTF-16 file with a byte order mark
// is read as UTF-16 (editors on Windows save such files), a UTF-8 mark is
// dropped, and anything else is UTF-8 with each invalid byte read as U+FFFD.
// Its YAML reader (go-yaml) then refuses control characters, which is where a
// binary file, or a UTF-16 one without a mark (every other byte a NUL), stops.

const UTF8_BOM = [0xef, 0xbb, 0xbf] as const;

/** The text of a manifest file's bytes, decoded as kubectl decodes them. */
export function manifestText(bytes: Uint8Array): string {
  if (startsWith(bytes, [0xff, 0xfe])) return decodeUtf16(bytes.subarray(2), 'utf-16le');
  if (startsWith(bytes, [0xfe, 0xff])) return decodeUtf16(bytes.subarray(2), 'utf-16be');
  const body = startsWith(bytes, UTF8_BOM) ? bytes.subarray(UTF8_BOM.length) : bytes;
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
}

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return bytes.length >= prefix.length && prefix.every((b, i) => bytes[i] === b);
}

/** Unpaired surrogates and an odd last byte become U+FFFD, as Go's UTF-16 decoder makes them. */
function decodeUtf16(bytes: Uint8Array, encoding: 'utf-16le' | 'utf-16be'): string {
  return new TextDecoder(encoding, { ignoreBOM: true }).decode(bytes);
}

/** Go's unicode.IsSpace, as the inside of a regular expression's character class: kubectl skips it before JSON. */
export const GO_SPACE = '\\t\\n\\v\\f\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';

/** kubectl's test for JSON (YAMLOrJSONDecoder): `{` first after white space, in its 4 KiB peek. */
const JSON_PREFIX = new RegExp(`^[${GO_SPACE}]*\\{`);
const JSON_PEEK_BYTES = 4096;

export function isJsonText(text: string): boolean {
  const found = JSON_PREFIX.exec(text.slice(0, JSON_PEEK_BYTES));
  return found !== null && Buffer.byteLength(found[0]) <= JSON_PEEK_BYTES;
}

/**
 * A YAML text (not JSON: see isJsonText) with the line breaks and document
 * starts go-yaml sees, as the yaml library reads them. A CR alone ends a line for go-yaml (files from
 * old Mac editors) and not for the library, which then reads the whole file
 * as one line: it becomes a line feed (one character for one, so offsets do
 * not move). A byte order mark that starts a later document (files joined
 * with `cat`) is dropped, as go-yaml drops it from the start of each
 * document kubectl hands it; else it would be part of the first key
 * ("\ufeffapiVersion") and the document not read as a Sidecar. (NEL, U+2028 and U+2029 end lines for go-yaml too, but where
 * they stand in a value it treats them in ways the library has no setting
 * for: they are left alone, see the README's known differences.)
 */
export function asKubectlReadsYaml(text: string): string {
  const breaks = text.includes('\r') ? text.replace(/\r(?!\n)/g, '\n') : text;
  return breaks.includes('\ufeff') ? breaks.replace(/^(---[^\n]*\n)\ufeff/gm, '$1') : breaks;
}

/**
 * What go-yaml's reader lets through: tab, line feed, carriage return,
 * printable ASCII, NEL, and U+00A0 up to U+10FFFF less the surrogates,
 * U+FFFE and U+FFFF. Anything else is "control characters are not allowed".
 */
const NOT_IN_YAML = /[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu;
/**
 * A text that starts with `{` (after white space) is JSON to kubectl, read by
 * Go's JSON decoder, which refuses the C0 controls other than white space
 * anywhere and takes DEL and the C1 controls in strings.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what it is for
const NOT_IN_JSON = /[\x00-\x08\x0b\x0c\x0e-\x1f]/g;

/** Where a text's characters are checked from: the first refused one at or after an offset. */
export class RefusedCharacters {
  private readonly pattern: RegExp;
  private next: number;

  /** `json`: the text is (a value of) a file kubectl reads as JSON, see isJsonText. */
  constructor(
    private readonly text: string,
    json: boolean,
  ) {
    this.pattern = json ? NOT_IN_JSON : NOT_IN_YAML;
    this.next = this.search(0);
  }

  /**
   * The first refused character before `end` not yet reported, or -1; the
   * rest up to `end` is passed over (one finding per document).
   */
  before(end: number): number {
    if (this.next < 0 || this.next >= end) return -1;
    const found = this.next;
    this.next = this.search(end);
    return found;
  }

  /** The first refused character not yet reported, or -1. */
  remaining(): number {
    return this.before(Number.POSITIVE_INFINITY);
  }

  private search(from: number): number {
    if (from >= this.text.length) return -1;
    this.pattern.lastIndex = from;
    const found = this.pattern.exec(this.text);
    return found ? found.index : -1;
  }
}

/**
 * The finding for a refused character: go-yaml's words, which character it
 * is, and what a NUL usually means.
 */
export function controlCharacterMessage(text: string, offset: number): string {
  const code = text.codePointAt(offset) ?? 0;
  const name = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  const why =
    code === 0
      ? ': is it a binary file, or UTF-16 without a byte order mark? kubectl reads UTF-8, and UTF-16 that starts with a byte order mark'
      : '';
  return `control characters are not allowed (${name})${why}`;
}

// Warning response headers (RFC 7234 `Warning: 299 - "text"`), recorded per
// request the way kube-apiserver's warning recorder does: deduplicated, in
// order, texts that are empty or not valid header material dropped.

/** Quotes a warning text: wraps it in double quotes, escaping `"` and `\` with a backslash. */
export function quoteWarningText(text: string): string {
  let out = '"';
  for (const c of text) {
    if (c === '"' || c === '\\') out += '\\';
    out += c;
  }
  return `${out}"`;
}

/** One `Warning` header value for a text, with code 299 and the unknown agent `-`. */
export function warningHeader(text: string): string {
  return `299 - ${quoteWarningText(text)}`;
}

// Control characters cannot go in a header value; kube-apiserver refuses such
// warnings outright rather than mangling them.
function isHeaderSafe(text: string): boolean {
  for (const c of text) {
    const code = c.codePointAt(0) ?? 0;
    if ((code < 0x20 && c !== '\t') || code === 0x7f) return false;
  }
  return true;
}

const MAX_WARNING_RUNES = 4 * 1024;

export class WarningRecorder {
  private readonly texts: string[] = [];

  add(text: string): void {
    if (text.length === 0 || !isHeaderSafe(text) || this.texts.includes(text)) return;
    this.texts.push(text);
  }

  /** Header values, truncated like the real recorder once the total grows past 4 KiB of characters. */
  headers(): string[] {
    let total = 0;
    const out: string[] = [];
    for (const text of this.texts) {
      const runes = [...text];
      if (total + runes.length > MAX_WARNING_RUNES) break;
      total += runes.length;
      out.push(warningHeader(text));
    }
    return out;
  }
}

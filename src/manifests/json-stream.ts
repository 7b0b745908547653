// A JSON manifest file as kubectl reads it: a stream of JSON values, one
// after another (what `jq -c '.items[]'` prints), not only one object, and
// where something that is no JSON value follows them (`---` and YAML
// documents, a `#` comment), the rest of the file read as YAML. The yaml
// library reads one JSON value per document, so the stream is cut into its
// values here, each to be read on its own. Only where each value starts and
// ends is found: brackets and strings are followed, nothing is parsed, and a
// value that does not close runs to the end of the text (where the library
// then says what is wrong with it).

import { GO_SPACE } from './text.js';

/** What kubectl's reader skips between values. */
const SPACE = new RegExp(`[${GO_SPACE}]`);
/** Where a bare token (a number, true, null, or anything else) ends. */
const TOKEN_END = new RegExp(`[${GO_SPACE}{}[\\]"]`);
/** A JSON number, true, false or null. */
const JSON_SCALAR = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)$/;

export interface ValueRange {
  start: number;
  end: number;
}

export interface JsonStream {
  values: ValueRange[];
  /** Where the YAML that follows the values starts, if something that is no JSON value follows them. */
  yamlFrom?: number;
}

/**
 * The values of a JSON text, in order, at most `max` of them: more is
 * `{ tooMany: offset }`, the offset where the one past the limit starts.
 */
export function jsonValues(text: string, max: number): JsonStream | { tooMany: number } {
  const values: ValueRange[] = [];
  let i = 0;
  for (;;) {
    while (i < text.length && SPACE.test(text[i]!)) i++;
    if (i >= text.length) return { values };
    if (values.length === max) return { tooMany: i };
    const start = i;
    i = valueEnd(text, i);
    if (!isValueStart(text, start, i)) return { values, yamlFrom: start };
    values.push({ start, end: i });
  }
}

/** A container, a string, or a bare token that is a JSON scalar (`---`, `#`, `key:` are not). */
function isValueStart(text: string, start: number, end: number): boolean {
  const first = text[start];
  return first === '{' || first === '[' || first === '"' || JSON_SCALAR.test(text.slice(start, end));
}

/** Where the value that starts at `start` ends (exclusive). */
function valueEnd(text: string, start: number): number {
  const first = text[start];
  if (first === '{' || first === '[') return containerEnd(text, start);
  if (first === '"') return stringEnd(text, start);
  let i = start + 1;
  while (i < text.length && !TOKEN_END.test(text[i]!)) i++;
  return i;
}

/** After the bracket that closes the one at `start`; the end of the text if none does. */
function containerEnd(text: string, start: number): number {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) i = stringEnd(text, i) - 1;
    else if (c === 0x7b /* { */ || c === 0x5b /* [ */) depth++;
    else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return text.length;
}

/** After the quote that closes the string at `start`; the end of the text if none does. */
function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c /* \ */) i++;
    else if (c === 0x22) return i + 1;
  }
  return text.length;
}

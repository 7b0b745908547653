// A JSON manifest file as kubectl reads it: a stream of JSON values, one
// after another (what `jq -c '.items[]'` prints), not only one object, and
// where something that is no JSON value follows them (`---` and YAML
// documents, a `#` comment), the rest of the file read as YAML. The yaml
// library reads one JSON value per document, so the stream is cut into its
// values here, each to be read on its own. Only where each value starts and
// ends is found: brackets and strings are followed, nothing is parsed, and a
// value that does not close runs to the end of the text (where the library
// then says what is wrong with it).

import { MAX_DOCUMENTS } from '../util/yaml.js';
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

/**
 * The white space JSON allows inside a value (GO_SPACE is what kubectl skips
 * between values), less a CR that no line feed follows: the yaml library,
 * which reads the pieces, does not take one as white space.
 */
function isJsonSpaceAt(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  return c === 0x20 || c === 0x0a || c === 0x09 || (c === 0x0d && text.charCodeAt(i + 1) === 0x0a);
}

function skipJsonSpace(text: string, i: number, end: number): number {
  while (i < end && isJsonSpaceAt(text, i)) i++;
  return i;
}

/** Where a bare member value (a number, true, false, null) ends: at white space (a CR of any kind), `,`, `}` or `]`. */
function scalarEnd(text: string, i: number, end: number): number {
  for (; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d || c === 0x2c || c === 0x7d || c === 0x5d) return i;
  }
  return end;
}

interface Member {
  key: string;
  value: ValueRange;
}

/**
 * The elements of the JSON object or list at [start, end), each read by
 * `element` from where it starts to where it ends (undefined: not one), or
 * undefined when they are not separated by commas and white space alone,
 * the bracket that closes them is not at `end - 1`, or there are more than
 * MAX_DOCUMENTS. Only boundaries are found: whether each piece is well formed
 * is for the reader of it to say.
 */
function elementsOf<T>(
  text: string,
  start: number,
  end: number,
  element: (at: number) => { element: T; end: number } | undefined,
): T[] | undefined {
  const close = text[start] === '{' ? '}' : ']';
  const out: T[] = [];
  let i = skipJsonSpace(text, start + 1, end);
  if (text[i] === close) return i + 1 === end ? out : undefined;
  for (;;) {
    const read = element(i);
    if (read === undefined || read.end > end) return undefined;
    if (out.push(read.element) > MAX_DOCUMENTS) return undefined;
    i = skipJsonSpace(text, read.end, end);
    if (text[i] === ',') i = skipJsonSpace(text, i + 1, end);
    else return text[i] === close && i + 1 === end ? out : undefined;
  }
}

/** The keys of the JSON object at [start, end) and where each value is (elementsOf). */
function membersOf(text: string, start: number, end: number): Member[] | undefined {
  return elementsOf(text, start, end, (at) => {
    if (text[at] !== '"') return undefined;
    const keyEnd = stringEnd(text, at);
    const key = parsedString(text.slice(at, keyEnd));
    const colon = skipJsonSpace(text, keyEnd, end);
    if (key === undefined || text[colon] !== ':') return undefined;
    const valueStart = skipJsonSpace(text, colon + 1, end);
    const first = text[valueStart];
    const valueEnd =
      first === '{' || first === '['
        ? containerEnd(text, valueStart)
        : first === '"'
          ? stringEnd(text, valueStart)
          : scalarEnd(text, valueStart, end);
    if (valueEnd <= valueStart) return undefined;
    return { element: { key, value: { start: valueStart, end: valueEnd } }, end: valueEnd };
  });
}

function parsedString(json: string): string | undefined {
  try {
    const value: unknown = JSON.parse(json);
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The `{…}` items of the JSON list at [start, end), or undefined when any is something else (elementsOf). */
function objectItemsOf(text: string, start: number, end: number): ValueRange[] | undefined {
  return elementsOf(text, start, end, (at) => {
    if (text[at] !== '{') return undefined;
    const itemEnd = containerEnd(text, at);
    return { element: { start: at, end: itemEnd }, end: itemEnd };
  });
}

/**
 * A List document cut into the pieces that are read one at a time: its own
 * keys (the skeleton, `items` left empty) and each item. What kubectl makes
 * of the whole is what the pieces make together, unless one of them does not
 * read cleanly alone; the reader then reads the whole (documents.ts).
 */
export interface ListPieces {
  /** The List's own text with its items left out (`items: []`), to be read on its own. */
  skeleton: string;
  /** Where each item is in the text (its placement: a field of an item is placed from its start). */
  items: ValueRange[];
  /** The text an item is read from, as long as its range: offsets within it are offsets from its start. */
  itemText(item: ValueRange): string;
}

export function jsonListItems(text: string, start: number, end: number): ListPieces | undefined {
  // Most values are single objects (a stream of them, as `jq -c '.items[]'` prints): not scanned at all.
  if (text[start] !== '{' || !text.slice(start, end).includes('"items"')) return undefined;
  const members = membersOf(text, start, end);
  if (members === undefined || new Set(members.map((m) => m.key)).size !== members.length) return undefined;
  const kind = members.find((m) => m.key === 'kind');
  const items = members.find((m) => m.key === 'items');
  if (kind === undefined || items === undefined || text[items.value.start] !== '[') return undefined;
  if (!parsedString(text.slice(kind.value.start, kind.value.end))?.endsWith('List')) return undefined;
  const ranges = objectItemsOf(text, items.value.start, items.value.end);
  if (ranges === undefined) return undefined;
  const skeleton = text.slice(start, items.value.start + 1) + text.slice(items.value.end - 1, end);
  return { skeleton, items: ranges, itemText: ({ start, end }) => text.slice(start, end) };
}

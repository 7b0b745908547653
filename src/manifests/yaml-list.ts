// A YAML List as `kubectl get -o yaml` prints it, cut into its items by
// lines, without parsing: every top-level key starts its line, `items:` is
// followed at once by the items, and each item starts with `- ` at the start
// of its line, its other lines indented. Only that shape is cut; anything
// else (another document, a directive, an indented list, a comment or blank
// line before the first item, a line the scan cannot place) is left to be
// read whole. Whether the pieces read cleanly, and as the whole would, is for
// the reader to find (documents.ts listRead).
import { MAX_DOCUMENTS } from '../util/yaml.js';
import type { ListPieces, ValueRange } from './json-stream.js';

/** Some line starts with `items:` (ITEMS_KEY on each line decides). */
const ITEMS_LINE = /^items:/m;
/** The `items:` key alone on its line: nothing after it but spaces (no comment: the skeleton would drop it). */
const ITEMS_KEY = /^items:[ \t]*\r?$/;
/** `-` alone or before white space, and not before an anchor or a tag. */
const ITEM_START = /^-(?:[ \t]*\r?$|[ \t]+[^ \t&!])/;
/** Nothing but YAML's white space (not JavaScript's: U+00A0, \v and \f are content or refused). */
const BLANK = /^[ \t]*\r?$/;

type LineKind = 'item' | 'key' | 'indented' | 'blank' | 'unknown';

/** What a line is, by its first characters (`line` without its line feed). */
function lineKind(line: string): LineKind {
  if (BLANK.test(line)) return 'blank';
  const first = line[0];
  if (first === ' ' || first === '\t') return 'indented';
  if (first === '#') return 'blank';
  // `- x` and `-` alone start an item; `---` ends the document, `-x` is a plain scalar: neither is cut.
  // An anchor or a tag first (`- &a key: v`) would start the item's contents after it, where a field's
  // place could not be found again from the item's text alone: kubectl writes neither.
  if (first === '-') return ITEM_START.test(line) ? 'item' : 'unknown';
  if (first === '.' || first === '%' || first === '?' || first === ':') return 'unknown';
  return 'key';
}

/**
 * The pieces of a text that is one `items:` List document in kubectl's
 * shape, or undefined. The items' lines are left out of the skeleton and
 * `items: []` stands on the `items:` line; each item is read with its `-`
 * turned into a space, so that it is a mapping with every offset where it was.
 * At most MAX_DOCUMENTS items: a text of more is read whole, and refused.
 */
export function yamlListPieces(text: string): ListPieces | undefined {
  // Most texts hold no top-level `items:` at all: not scanned line by line.
  if (!ITEMS_LINE.test(text)) return undefined;
  let itemsLine: ValueRange | undefined;
  let regionEnd = -1;
  const items: ValueRange[] = [];
  let inItems = false;
  for (let start = 0; start < text.length; ) {
    const newline = text.indexOf('\n', start);
    const end = newline < 0 ? text.length : newline + 1;
    const kind = lineKind(text.slice(start, newline < 0 ? text.length : newline));
    if (kind === 'unknown') return undefined;
    if (inItems) {
      const last = items.at(-1);
      if (kind === 'key') {
        inItems = false;
        regionEnd = start;
      } else if (kind === 'item') {
        if (last) last.end = start;
        if (items.push({ start, end }) > MAX_DOCUMENTS) return undefined;
      } else if (last) last.end = end;
      else return undefined; // anything but an item right after `items:` (an indented list, a comment, a blank line)
    }
    if (!inItems && kind === 'item') return undefined; // a list outside `items:`: not a mapping at the top
    if (kind === 'key' && ITEMS_KEY.test(text.slice(start, newline < 0 ? text.length : newline))) {
      if (itemsLine) return undefined; // a second `items:`: read whole, which names the repeated key
      itemsLine = { start, end };
      inItems = true;
    }
    start = end;
  }
  // `items:` with nothing under it is null, not an empty list: read whole.
  if (!itemsLine || items.length === 0) return undefined;
  if (inItems) regionEnd = text.length;
  const lineBreak = /\r?\n$/.exec(text.slice(itemsLine.start, itemsLine.end))?.[0] ?? '';
  const skeleton = `${text.slice(0, itemsLine.start)}items: []${lineBreak}${text.slice(regionEnd)}`;
  return { skeleton, items, itemText: ({ start, end }) => ` ${text.slice(start + 1, end)}` };
}

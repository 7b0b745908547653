// A YAML List as `kubectl get -o yaml` prints it, cut into its items by
// lines, without parsing: every top-level key starts its line, `items:` is
// followed at once by the items, and each item starts with `- ` at one column
// (the first, as kubectl writes it, or indented, as yq does), its other lines
// indented further. Only that shape is cut; anything else (another document,
// a directive, a comment or blank line before the first item, a tab where the
// scan would have to guess, a line the scan cannot place) is left to be read
// whole. Whether the pieces read cleanly, and as the whole would, is for the
// reader to find (documents.ts listRead).
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

/** A line outside the items: an item (not there), a top-level key, anything else a mapping holds, or unknown. */
type LineKind = 'item' | 'key' | 'other' | 'unknown';

/** What a line is, by its first characters (`line` without its line feed). */
function lineKind(line: string): LineKind {
  const first = line[0];
  // Blank, indented (a value of the key above), or a comment.
  if (BLANK.test(line) || first === ' ' || first === '\t' || first === '#') return 'other';
  // `- x` and `-` alone start an item; `---` ends the document, `-x` is a plain scalar: neither is cut.
  // An anchor or a tag first (`- &a key: v`) would start the item's contents after it, where a field's
  // place could not be found again from the item's text alone: kubectl writes neither.
  if (first === '-') return ITEM_START.test(line) ? 'item' : 'unknown';
  if (first === '.' || first === '%' || first === '?' || first === ':') return 'unknown';
  return 'key';
}

/** Where a line of the items region stands: an item, a line of the current one, the first after them, or unknown. */
type RegionLine = 'item' | 'more' | 'end' | 'unknown';

/** The column the items' `-` stands at, from the first line after `items:`; undefined when that is no item. */
function itemIndent(line: string): number | undefined {
  const dash = /^ *-/.exec(line);
  if (!dash) return undefined;
  const indent = dash[0].length - 1;
  return ITEM_START.test(line.slice(indent)) ? indent : undefined;
}

/** A line in the items region, their `-` at column `indent`. */
function regionLine(line: string, indent: number): RegionLine {
  if (BLANK.test(line)) return 'more';
  let spaces = 0;
  while (line[spaces] === ' ') spaces++;
  const first = line[spaces];
  if (first === '#' || spaces > indent) return 'more';
  if (first === '\t') return 'unknown';
  if (spaces === indent && first === '-') return ITEM_START.test(line.slice(spaces)) ? 'item' : 'unknown';
  // Back at the first column: a key of the List itself (lineKind says which); anything between, unknown.
  return spaces === 0 ? 'end' : 'unknown';
}

/**
 * The pieces of a text that is one `items:` List document in kubectl's
 * shape (or yq's, its items indented), or undefined. The items' lines are
 * left out of the skeleton and `items: []` stands on the `items:` line; each
 * item is read with its `-` turned into a space, so that it is a mapping with
 * every offset where it was. At most MAX_DOCUMENTS items: a text of more is
 * read whole, and refused.
 */
export function yamlListPieces(text: string): ListPieces | undefined {
  // Most texts hold no top-level `items:` at all: not scanned line by line.
  if (!ITEMS_LINE.test(text)) return undefined;
  let itemsLine: ValueRange | undefined;
  let regionEnd = -1;
  const items: ValueRange[] = [];
  let indent: number | undefined;
  let inItems = false;
  for (let start = 0; start < text.length; ) {
    const newline = text.indexOf('\n', start);
    const end = newline < 0 ? text.length : newline + 1;
    const line = text.slice(start, newline < 0 ? text.length : newline);
    if (inItems) {
      // Anything but an item right after `items:` (a comment, a blank line, more on the line) is read whole.
      indent ??= itemIndent(line);
      if (indent === undefined) return undefined;
      const where = regionLine(line, indent);
      if (where === 'unknown') return undefined;
      if (where === 'item') {
        const last = items.at(-1);
        if (last) last.end = start;
        if (items.push({ start, end }) > MAX_DOCUMENTS) return undefined;
      } else if (where === 'more') items.at(-1)!.end = end;
      else {
        inItems = false;
        regionEnd = start;
      }
    }
    if (!inItems) {
      const kind = lineKind(line);
      // A list outside `items:` is not a mapping at the top.
      if (kind === 'unknown' || kind === 'item') return undefined;
      if (kind === 'key' && ITEMS_KEY.test(line)) {
        if (itemsLine) return undefined; // a second `items:`: read whole, which names the repeated key
        itemsLine = { start, end };
        inItems = true;
      }
    }
    start = end;
  }
  // `items:` with nothing under it is null, not an empty list: read whole.
  if (!itemsLine || indent === undefined || items.length === 0) return undefined;
  if (inItems) regionEnd = text.length;
  const lineBreak = /\r?\n$/.exec(text.slice(itemsLine.start, itemsLine.end))?.[0] ?? '';
  const skeleton = `${text.slice(0, itemsLine.start)}items: []${lineBreak}${text.slice(regionEnd)}`;
  const dash = indent;
  return {
    skeleton,
    items,
    itemText: ({ start, end }) => `${text.slice(start, start + dash)} ${text.slice(start + dash + 1, end)}`,
  };
}

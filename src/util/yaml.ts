// YAML text to the yaml library's syntax tokens, with nesting, stray tokens
// and the size of one document bounded. The library's parser and composer
// take time and memory that grow with the square of the nesting: 2 MB of `[`
// then `]` held `check` 7.7 s at 1.25 GB, 8 MB ran V8 out of heap. kubectl's YAML reader (go-yaml) refuses anything
// deeper than 10,000 levels, as encoding/json does for the webhook's bodies,
// so a text is refused at the first token that goes deeper than that, while
// it is read: the library's own lexer decides what is a quoted scalar, a
// comment or a block scalar, so nothing in a string is ever counted and
// nothing can hide from the count. Up to the limit the library's work stays
// small (about 0.1 s at 10,000 levels).
import { CST, type Document, isCollection, isScalar, isSeq, Lexer, Parser, visit } from 'yaml';

/** kubectl's limit (go-yaml's, as encoding/json's): no Kubernetes object nests anywhere near it. */
export const MAX_NESTING_DEPTH = 10_000;

/**
 * Stray tokens a text may hold before it is refused. The library makes an
 * error object for each one, with its stack trace: 1 MB of `]` took 11.5 s
 * and 1.5 GB, and a 16 MiB file of them would run the process out of memory.
 * A manifest with more than a few is not one a person is editing.
 */
export const MAX_SYNTAX_ERRORS = 1000;

/**
 * Scalars (keys and values) one document may hold: four times the 50,000
 * values sidecar-guard judges in one object (size.ts), keys counted. One
 * document is parsed whole before it can be looked at, at about 3 KB of
 * syntax tree and errors per line: one 16 MiB document of 2.3 million
 * `a: - x` lines ran the process out of memory.
 */
export const MAX_DOCUMENT_SCALARS = 200_000;

/**
 * The same in a whole text, so that `---` between documents does not reset
 * it: 16 MiB of `- a` lines in documents of 199,000 took 28–32 s and 1.4 GB.
 * A 16 MiB file of 80,000 Sidecars holds 1.45 million.
 */
export const MAX_TEXT_SCALARS = 2_000_000;

/**
 * Block list items (`- `) and explicit keys (`? `) one document, and one
 * text, may hold: an item without a value has no scalar to count, and one
 * document of 2 million `-` lines (4 MB) took 8 s and 1.4 GB, 16 MiB of them
 * ran out of memory. The 16 MiB file of 80,000 Sidecars holds 241,000.
 */
export const MAX_DOCUMENT_ITEMS = 200_000;
export const MAX_TEXT_ITEMS = 1_000_000;

/**
 * Flow collections (`[`, `{`), their separators (`,`) and aliases (`*a`) one
 * document may hold, counted apart from its scalars and above their limit (a
 * flow list of 200,000 values holds 200,000 commas): each costs about as much
 * as a scalar and needs no text of its own, so 3 MB of `{},` (1.5 GB) or of
 * `*a,` (1.5 GB) got past the scalar count, and 16 MiB of either ran the
 * process out of memory.
 */
export const MAX_DOCUMENT_STRUCTURE = 250_000;

/**
 * Comments one document may hold: the library keeps each on the document, and
 * 16 MiB of `#` lines (8 million comments) took 21 s and 825 MB.
 */
export const MAX_DOCUMENT_COMMENTS = 200_000;

/**
 * The same in a whole text, so that `---` between them does not reset the
 * bound: 16 MiB of `{},` in 45 documents took 49 s and 2.3 GB. A 16 MiB file
 * of 80,000 Sidecars written in flow style holds about 500,000.
 */
export const MAX_TEXT_STRUCTURE = 1_000_000;
export const MAX_TEXT_COMMENTS = 1_000_000;

/**
 * Lines with nothing on them (or only spaces) one text may hold: the library
 * takes about a microsecond for each, and 16 MiB of line breaks took 21 s and
 * 1.9 GB (and a file of CR line endings, read as line breaks as kubectl reads
 * them, as many). A manifest has a few; comments are counted apart.
 */
export const MAX_TEXT_BLANK_LINES = 1_000_000;

/** Documents one text may hold: 16 MiB of `---` lines (4 million documents) took 21 s. */
export const MAX_DOCUMENTS = 200_000;

/** A text refused while it is read; `offset` is where. */
export class UnreadableYaml extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

/** A text that nests deeper than MAX_NESTING_DEPTH; `offset` is where it first does. */
export class NestingTooDeep extends UnreadableYaml {
  constructor(offset: number) {
    super(offset, `nesting deeper than ${MAX_NESTING_DEPTH} levels`);
  }
}

/** A document or a text past one of the counts of `Bound`; `offset` is the token past the limit. */
export class DocumentTooLarge extends UnreadableYaml {}

/**
 * One kind of token counted against a limit per document and one for the
 * whole text (Infinity: none), so that `---` between them does not reset
 * the second; `add` throws DocumentTooLarge at the token past either.
 */
class Bound {
  private inDocument = 0;
  private inText = 0;

  constructor(
    private readonly perDocument: number,
    private readonly perText: number,
    /** What is counted, for the message ("comments"). */
    private readonly what: string,
  ) {}

  add(offset: number): void {
    if (++this.inDocument > this.perDocument)
      throw new DocumentTooLarge(offset, `a document of more than ${this.perDocument} ${this.what}`);
    if (++this.inText > this.perText) throw new DocumentTooLarge(offset, `more than ${this.perText} ${this.what}`);
  }

  /** The counts of `other`, so that a trial read can be dropped (TextBounds.copy). */
  countAs(other: Bound): void {
    this.inDocument = other.inDocument;
    this.inText = other.inText;
  }

  newDocument(): void {
    this.inDocument = 0;
  }

  /** The count for the whole text is past its limit. */
  get textExceeded(): boolean {
    return this.inText > this.perText;
  }
}

/**
 * The counts of one text, kept across the pieces it may be read in (each
 * value of a JSON stream is read alone): without them, 16 MiB of JSON
 * objects of 120,000 `{}` each, every one within a document's bounds, took
 * 31 s and 1.8 GB.
 */
export class TextBounds {
  readonly scalars = new Bound(MAX_DOCUMENT_SCALARS, MAX_TEXT_SCALARS, 'keys and values');
  readonly items = new Bound(MAX_DOCUMENT_ITEMS, MAX_TEXT_ITEMS, 'list items and explicit keys');
  readonly structure = new Bound(MAX_DOCUMENT_STRUCTURE, MAX_TEXT_STRUCTURE, 'flow collections, commas and aliases');
  readonly comments = new Bound(MAX_DOCUMENT_COMMENTS, MAX_TEXT_COMMENTS, 'comments');
  readonly documents = new Bound(Infinity, MAX_DOCUMENTS, 'documents');
  readonly blankLines = new Bound(Infinity, MAX_TEXT_BLANK_LINES, 'empty lines');
  private readonly all = [this.scalars, this.items, this.structure, this.comments, this.documents, this.blankLines];
  strays = 0;

  /** The same counts in a copy: a piece read on trial counts in the copy, kept only if the trial is. */
  copy(): TextBounds {
    const copy = new TextBounds();
    for (const [i, bound] of copy.all.entries()) bound.countAs(this.all[i]!);
    copy.strays = this.strays;
    return copy;
  }

  /** A count for the whole text is past its limit (or its syntax errors are): none of the rest is read. */
  get exceeded(): boolean {
    return this.strays > MAX_SYNTAX_ERRORS || this.all.some((bound) => bound.textExceeded);
  }
}

/** A text with more than MAX_SYNTAX_ERRORS stray tokens; `offset` is the one past the limit. */
export class TooManySyntaxErrors extends UnreadableYaml {
  constructor(offset: number) {
    super(offset, `more than ${MAX_SYNTAX_ERRORS} syntax errors`);
  }
}

/**
 * What `new Parser(onNewLine).parse(text)` yields, but throws (and parses no
 * further) at the first token past a limit: DocumentTooLarge, TooManySyntaxErrors,
 * or NestingTooDeep for flow collections (`[`, `{`) open at once, block
 * indicators (`- `, `? `, `: `) on one line outside them, which the parser
 * does not always stack (`- a: - a: …` is an error per indicator instead), or
 * the parser's stack of open collections.
 */
export function* boundedTokens(
  text: string,
  onNewLine?: (offset: number) => void,
  /** The counts of the text this is a piece of (see TextBounds); by default `text` is the whole text. */
  bounds = new TextBounds(),
): Generator<CST.Token, void> {
  const parser = new Parser(onNewLine);
  onNewLine?.(0);
  let flow = 0;
  let indicatorsOnLine = 0;
  let scalarNext = false;
  const { scalars, items, structure, comments, documents, blankLines } = bounds;
  let previous: string | undefined;
  let lineHasText = false;
  for (const lexeme of new Lexer().lex(text)) {
    // Where the token starts (the lexer's markers of what comes next take no room in the text).
    const offset = parser.offset;
    if (lexeme === '\n' || lexeme === '\r\n') {
      if (!lineHasText) blankLines.add(offset);
      lineHasText = false;
      indicatorsOnLine = 0;
    } else if (!lineHasText && !isMarker(lexeme) && lexeme.trim() !== '') lineHasText = true;
    if (scalarNext) scalarNext = false;
    else if (lexeme === CST.SCALAR || isQuoted(lexeme)) {
      scalarNext = lexeme === CST.SCALAR;
      scalars.add(offset);
    } else if (lexeme === CST.DOCUMENT || lexeme === '---' || lexeme === '...') {
      // A document begins or ends.
      scalars.newDocument();
      items.newDocument();
      structure.newDocument();
      comments.newDocument();
      // A document starts at a DOCUMENT marker, or at a `---` that does not follow one (the lexer puts the
      // marker before a stream's first `---` and after each `...`).
      if (lexeme === CST.DOCUMENT || (lexeme === '---' && previous !== CST.DOCUMENT)) documents.add(offset);
    } else if (lexeme === ',' || lexeme.charCodeAt(0) === ASTERISK) structure.add(offset);
    else if (lexeme.charCodeAt(0) === HASH) comments.add(offset);
    else if (lexeme === '-' || lexeme === '?' || lexeme === ':') {
      if (flow === 0 && ++indicatorsOnLine > MAX_NESTING_DEPTH) throw new NestingTooDeep(offset);
      if (lexeme !== ':') items.add(offset);
    } else if (lexeme === '[' || lexeme === '{') {
      if (++flow > MAX_NESTING_DEPTH) throw new NestingTooDeep(offset);
      structure.add(offset);
    } else if (lexeme === ']' || lexeme === '}') flow = Math.max(0, flow - 1);
    else if (lexeme === CST.FLOW_END) flow = 0;
    // What came last, spaces, line breaks and comments aside (for the document count above).
    if (lexeme.trim() !== '' && lexeme.charCodeAt(0) !== HASH) previous = lexeme;
    for (const token of parser.next(lexeme)) {
      if (token.type === 'error' && ++bounds.strays > MAX_SYNTAX_ERRORS) throw new TooManySyntaxErrors(offset);
      yield token;
    }
    // The stack holds the document, then one entry per open collection (and the scalar being read);
    // block collections nested through indentation are counted here, a token late.
    if (parser.stack.length > MAX_NESTING_DEPTH + 1) throw new NestingTooDeep(offset);
  }
  yield* parser.end();
}

/** The lexer's markers of what comes next, which are not in the text. */
const isMarker = (lexeme: string): boolean =>
  lexeme === CST.DOCUMENT || lexeme === CST.SCALAR || lexeme === CST.FLOW_END;

/** An alias (`*a`): a plain scalar starting with `*` comes after a SCALAR marker, so it never gets here. */
const ASTERISK = 0x2a;
/** A comment (`# …`): a `#` inside a scalar is part of the scalar's source, which never gets here. */
const HASH = 0x23;

/** A quoted scalar's source (the lexer gives those without a SCALAR marker before them). */
const isQuoted = (lexeme: string): boolean => lexeme.charCodeAt(0) === 0x22 || lexeme.charCodeAt(0) === 0x27;

/** Why `text` is refused while it is read (see boundedTokens), or undefined; it is parsed as far as that, no further. */
export function unreadableYaml(text: string, onNewLine?: (offset: number) => void): UnreadableYaml | undefined {
  try {
    for (const _ of boundedTokens(text, onNewLine));
    return undefined;
  } catch (err) {
    if (err instanceof UnreadableYaml) return err;
    throw err;
  }
}

/**
 * A key kubectl's reader would not take as it stands: repeated in its mapping
 * (kubectl keeps the last value), or a list or a mapping (go-yaml refuses it,
 * "invalid map key").
 */
export type KeyProblem =
  | { problem: 'repeated'; offset: number; key: unknown }
  | { problem: 'collection'; offset: number; collection: 'list' | 'mapping' };

/**
 * The first key that repeats one before it in the same mapping, or that is a
 * list or a mapping (`? [1]`), or undefined. The library's own check
 * (`uniqueKeys`) compares each key with every key before it: a mapping of
 * 20,000 keys took 4.7 s, 100,000 (under 1 MB) about two minutes. Here each
 * mapping's scalar keys go into a Set: the same keys the library's default
 * compares equal (scalars with the same value), in one pass. A collection
 * key the library would turn into a string (and say so on stderr, with
 * advice about its own options); kubectl refuses the file.
 */
export function firstKeyProblem(doc: Document): KeyProblem | undefined {
  let found: KeyProblem | undefined;
  visit(doc, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const { key } of map.items) {
        if (isCollection(key)) {
          found = { problem: 'collection', offset: key.range?.[0] ?? 0, collection: isSeq(key) ? 'list' : 'mapping' };
          return visit.BREAK;
        }
        if (!isScalar(key)) continue;
        if (seen.has(key.value)) {
          found = { problem: 'repeated', offset: key.range?.[0] ?? 0, key: key.value };
          return visit.BREAK;
        }
        seen.add(key.value);
      }
      return undefined;
    },
  });
  return found;
}

/** The yaml library's words for a repeated key (kubectl takes the last value, see documents.ts). */
export const DUPLICATE_KEY_MESSAGE = 'Map keys must be unique';

/** What a key that is a list or a mapping is called, wherever one is refused (a manifest, a config file). */
export const collectionKeyMessage = (collection: 'list' | 'mapping'): string => `a mapping key that is a ${collection}`;

// YAML text to the yaml library's syntax tokens, with nesting bounded. The
// library's parser and composer take time and memory that grow with the
// square of the nesting: 2 MB of `[` then `]` held `check` 7.7 s at 1.25 GB,
// 8 MB ran V8 out of heap. kubectl's YAML reader (go-yaml) refuses anything
// deeper than 10,000 levels, as encoding/json does for the webhook's bodies,
// so a text is refused at the first token that goes deeper than that, while
// it is read: the library's own lexer decides what is a quoted scalar, a
// comment or a block scalar, so nothing in a string is ever counted and
// nothing can hide from the count. Up to the limit the library's work stays
// small (about 0.1 s at 10,000 levels).
import { CST, Lexer, Parser } from 'yaml';

/** kubectl's limit (go-yaml's, as encoding/json's): no Kubernetes object nests anywhere near it. */
export const MAX_NESTING_DEPTH = 10_000;

/** A text that nests deeper than MAX_NESTING_DEPTH; `offset` is where it first does. */
export class NestingTooDeep extends Error {
  constructor(readonly offset: number) {
    super(`nesting deeper than ${MAX_NESTING_DEPTH} levels`);
  }
}

/**
 * What `new Parser(onNewLine).parse(text)` yields, but throws NestingTooDeep
 * (and parses no further) at the first token nested deeper than the limit:
 * flow collections (`[`, `{`) open at once, block indicators (`- `, `? `,
 * `: `) on one line outside them, which the parser does not always stack
 * (`- a: - a: …` is an error per indicator instead), or the parser's stack of
 * open collections.
 */
export function* boundedTokens(text: string, onNewLine?: (offset: number) => void): Generator<CST.Token, void> {
  const parser = new Parser(onNewLine);
  onNewLine?.(0);
  let flow = 0;
  let indicatorsOnLine = 0;
  let scalarNext = false;
  for (const lexeme of new Lexer().lex(text)) {
    // Where the token starts (the lexer's markers of what comes next take no room in the text).
    const offset = parser.offset;
    if (scalarNext) scalarNext = false;
    else if (lexeme === CST.SCALAR) scalarNext = true;
    else if (lexeme === '-' || lexeme === '?' || lexeme === ':') {
      if (flow === 0 && ++indicatorsOnLine > MAX_NESTING_DEPTH) throw new NestingTooDeep(offset);
    } else if (lexeme === '\n' || lexeme === '\r\n') indicatorsOnLine = 0;
    else if (lexeme === '[' || lexeme === '{') {
      if (++flow > MAX_NESTING_DEPTH) throw new NestingTooDeep(offset);
    } else if (lexeme === ']' || lexeme === '}') flow = Math.max(0, flow - 1);
    else if (lexeme === CST.FLOW_END) flow = 0;
    yield* parser.next(lexeme);
    // The stack holds the document, then one entry per open collection (and the scalar being read);
    // block collections nested through indentation are counted here, a token late.
    if (parser.stack.length > MAX_NESTING_DEPTH + 1) throw new NestingTooDeep(offset);
  }
  yield* parser.end();
}

/** The offset where `text` nests deeper than the limit, or undefined; it is parsed as far as that, no further. */
export function nestingTooDeepAt(text: string): number | undefined {
  try {
    for (const _ of boundedTokens(text));
    return undefined;
  } catch (err) {
    if (err instanceof NestingTooDeep) return err.offset;
    throw err;
  }
}

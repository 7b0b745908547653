// Manifests as kubectl reads them: multi-document YAML (YAML 1.1, like
// sigs.k8s.io/yaml), JSON, and `kind: List`, each object remembering where
// its fields are so findings can point at a line.
//
// Documents are composed one at a time and only their values are kept: a
// document's syntax tree costs 40-60 times its text (a 15 MB file of 75,000
// Sidecars held 650 MB of them), and almost no object ever asks where a field
// is. The few that do (an object with a finding) have their document parsed
// again from its slice of the text, once.
import { Composer, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { append } from '../util/arrays.js';
import { isRecord } from '../util/json.js';
import { formatCount } from '../sidecar/violation.js';
import {
  boundedTokens,
  collectionKeyMessage,
  DUPLICATE_KEY_MESSAGE,
  firstKeyProblem,
  MAX_DOCUMENTS,
  TextBounds,
  UnreadableYaml,
} from '../util/yaml.js';
import { jsonListItems, jsonValues, type ListPieces, type ValueRange } from './json-stream.js';
import { yamlListPieces } from './yaml-list.js';
import { asKubectlReadsYaml, controlCharacterMessage, isJsonText, RefusedCharacters } from './text.js';

export interface Source {
  file: string;
  text: string;
}

export interface Position {
  line: number;
  col: number;
}

export interface ManifestObject {
  file: string;
  object: unknown;
  /** Where the object starts. */
  position: Position;
  /** Line and column of a field path like spec.egress[1].hosts[0], or of its nearest existing parent. */
  locate(path: string): Position;
}

export interface ParseFailure {
  file: string;
  position: Position;
  message: string;
  /** What the document says it is, when that much of it could be read. */
  kind?: string;
  namespace?: string;
  name?: string;
}

export type Manifest = ({ ok: true } & ManifestObject) | ({ ok: false } & ParseFailure);

export function parseSources(sources: readonly Source[]): Manifest[] {
  return sources.flatMap(parseSource);
}

// Repeated keys are found by firstKeyProblem in one pass: the library's own check is quadratic in a mapping's size.
const YAML_OPTIONS = { version: '1.1', uniqueKeys: false, prettyErrors: false } as const;

/**
 * What a document too deep to read says: the library's own words for it are
 * V8's ("Maximum call stack size exceeded"), which name no cause a person can fix.
 */
const TOO_DEEP_TO_READ = 'nesting too deep to read: not a Kubernetes manifest';

export function parseSource(read: Source): Manifest[] {
  if (isJsonText(read.text)) return parseJsonStream(read.file, read.text);
  const text = asKubectlReadsYaml(read.text);
  const pieces = yamlListPieces(text);
  const list = pieces && listRead(read.file, pieces, new TextBounds(), false);
  return list ? placed(list.manifests, pieces, new TextPlaces(text)) : parseText({ file: read.file, text }, false);
}

/**
 * A JSON text, value by value (json-stream.ts), each read alone and placed
 * back where it stands in the file: one object, or a stream of them as
 * kubectl reads it. At most as many values as a YAML text may hold documents.
 */
function parseJsonStream(file: string, text: string): Manifest[] {
  const values = jsonValues(text, MAX_DOCUMENTS);
  const place = new TextPlaces(text);
  if ('tooMany' in values) {
    const message = `more than ${MAX_DOCUMENTS} documents: not a Kubernetes manifest file`;
    return [{ ok: false, file, position: place.at(values.tooMany), message }];
  }
  // The text's bounds hold for all its values together; past one, the rest is not read.
  let bounds = new TextBounds();
  const out: Manifest[] = [];
  const read = (start: number, source: Source, json: boolean) => {
    for (const m of parseText(source, json, bounds)) out.push(movedTo(m, place.at(start)));
    return !bounds.exceeded;
  };
  for (const { start, end } of values.values) {
    const pieces = jsonListItems(text, start, end);
    const list = pieces && listRead(file, pieces, bounds, true);
    if (list) {
      bounds = list.bounds;
      append(out, placed(list.manifests, pieces, place));
    } else if (!read(start, { file, text: text.slice(start, end) }, true)) return out;
  }
  const { yamlFrom } = values;
  if (yamlFrom !== undefined) read(yamlFrom, { file, text: asKubectlReadsYaml(text.slice(yamlFrom)) }, false);
  return out;
}

/**
 * A List (`kubectl get -o json` or `-o yaml`) read item by item, each item a
 * document of its own: read whole, a cluster's dump is one document whose
 * syntax tree costs 40-60 times its text, and past MAX_DOCUMENT_SCALARS
 * (about 3,000 Sidecars as kubectl prints them) it was refused. Undefined
 * when the List's own keys or any item do not read cleanly alone (a syntax
 * error, a repeated key, a refused character, an alias to an anchor in
 * another piece, a bound passed), when its own keys hold an anchor or an
 * alias at all (an item could redefine the anchor, which the whole read would
 * then use), or when the skeleton is no List after all: then the caller reads
 * the whole, so what is wrong is reported as it always was. The trial counts
 * against a copy of the text's bounds, returned to be kept.
 */
function listRead(
  file: string,
  pieces: ListPieces,
  bounds: TextBounds,
  json: boolean,
): { manifests: Manifest[]; bounds: TextBounds } | undefined {
  if (/[&*]/.test(pieces.skeleton) || !worthCutting(pieces.items)) return undefined;
  const trial = bounds.copy();
  const [list, ...more] = parseText({ file, text: pieces.skeleton }, json, trial, false);
  if (trial.exceeded || more.length > 0 || !list?.ok || !isEmptyList(list.object)) return undefined;
  const manifests: Manifest[] = [];
  for (const item of pieces.items) {
    const [object, ...others] = parseText({ file, text: pieces.itemText(item) }, json, trial, false);
    if (trial.exceeded || !object?.ok || others.length > 0) return undefined;
    manifests.push(object);
  }
  return { manifests, bounds: trial };
}

/**
 * Items of fewer bytes than this on average are read whole: each item read
 * alone costs about 10 us and 0.6 KB more than its part of the whole (200,000
 * items of `- a: 1` took 3.2 s and 470 MB cut, 1.1 s and 350 MB whole). An
 * object kubectl prints is a few hundred bytes at least.
 */
const MIN_ITEM_BYTES = 64;

function worthCutting(items: readonly ValueRange[]): boolean {
  const first = items[0];
  const last = items.at(-1);
  return first !== undefined && last !== undefined && (last.end - first.start) / items.length >= MIN_ITEM_BYTES;
}

/** What objectsOf expands: a `…List` kind, and here its items left out. */
const isEmptyList = (value: unknown): boolean =>
  isRecord(value) &&
  typeof value.kind === 'string' &&
  value.kind.endsWith('List') &&
  Array.isArray(value.items) &&
  value.items.length === 0;

/** Each manifest of listRead, read from its item's text, placed in the whole text. */
function placed(manifests: readonly Manifest[], pieces: ListPieces, place: TextPlaces): Manifest[] {
  return manifests.map((m, i) => movedTo(m, place.at(pieces.items[i]!.start)));
}

/** Line and column of offsets in a text, asked in increasing order (one pass over the text in all). */
class TextPlaces {
  private offset = 0;
  private line = 1;
  private lineStart = 0;

  constructor(private readonly text: string) {}

  at(offset: number): Position {
    for (; this.offset < offset; this.offset++) {
      if (this.text.charCodeAt(this.offset) === 0x0a) {
        this.line++;
        this.lineStart = this.offset + 1;
      }
    }
    return { line: this.line, col: offset - this.lineStart + 1 };
  }
}

/** A manifest read from a slice of the file that starts at `origin`, placed in the file. */
function movedTo(m: Manifest, origin: Position): Manifest {
  const move = (p: Position): Position =>
    p.line === 1 ? { line: origin.line, col: origin.col + p.col - 1 } : { line: origin.line + p.line - 1, col: p.col };
  if (!m.ok) return { ...m, position: move(m.position) };
  const locate = m.locate;
  return { ...m, position: move(m.position), locate: (path) => move(locate(path)) };
}

/**
 * A YAML text, or one value of a JSON text (`json`: the characters Go's JSON
 * reader refuses are refused). `lists`: a `kind: …List` stands for its items;
 * false for an item of one, which kubectl does not expand again.
 */
function parseText(source: Source, json: boolean, bounds?: TextBounds, lists = true): Manifest[] {
  const lineCounter = new LineCounter();
  const docs = new Composer(YAML_OPTIONS).compose(boundedTokens(source.text, lineCounter.addNewLine, bounds));
  const out: Manifest[] = [];
  const refused = new RefusedCharacters(source.text, json);
  // The library makes an Error per syntax error it finds, and a stack trace per Error cost more than the
  // rest of it (a file of 120,000 errors: 0.9 s of 1.4); nothing here reads those traces.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    // append, not push(...): a List of 130,000 items spread as arguments overflowed the stack.
    for (const doc of docs) append(out, manifestsOf(source, lineCounter, doc, refused, lists));
  } catch (err) {
    // Deeper than kubectl reads, or more stray tokens than a manifest has: the whole file is one failure,
    // at the line where the limit was passed (the composer may still hold the document before, so the
    // ones before are not reported either).
    if (!(err instanceof UnreadableYaml)) throw err;
    const position = positionAt(lineCounter, err.offset);
    return [{ ok: false, file: source.file, position, message: `${err.message}: not a Kubernetes manifest file` }];
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
  // After the last document (in a comment that follows it, say).
  const after = refused.remaining();
  if (after >= 0) out.push(refusedCharacter(source, lineCounter, after));
  return out;
}

/** A character kubectl's YAML reader refuses: the document that holds it is not read at all. */
function refusedCharacter(source: Source, lineCounter: LineCounter, offset: number, doc?: Document): Manifest {
  return {
    ok: false,
    file: source.file,
    position: positionAt(lineCounter, offset),
    message: controlCharacterMessage(source.text, offset),
    ...(doc ? identityOf(doc) : {}),
  };
}

/**
 * A repeated key, where the library would have reported it with uniqueKeys
 * on. kubectl takes such a file and keeps the last value, dropping the
 * earlier one without a word (two `egress:` keys: the first list is gone);
 * `check` refuses it, naming the key, so that the mistake is seen. A key that
 * is a list or a mapping kubectl refuses itself.
 */
function keyError(doc: Document.Parsed): { pos: [number]; code: string; message: string } | undefined {
  const found = firstKeyProblem(doc);
  if (found === undefined) return undefined;
  if (found.problem === 'collection')
    return {
      pos: [found.offset],
      code: 'COLLECTION_KEY',
      message: `${collectionKeyMessage(found.collection)}: kubectl refuses it ("invalid map key")`,
    };
  const key = JSON.stringify(String(found.key));
  const message = `${DUPLICATE_KEY_MESSAGE}: ${key} is repeated (kubectl would keep this last value and silently drop the earlier one)`;
  return { pos: [found.offset], code: 'DUPLICATE_KEY', message };
}

function manifestsOf(
  source: Source,
  lineCounter: LineCounter,
  doc: Document.Parsed,
  refused: RefusedCharacters,
  lists: boolean,
): Manifest[] {
  const control = refused.before(doc.range[2]);
  if (control >= 0) return [refusedCharacter(source, lineCounter, control, doc)];
  const error = doc.errors[0] ?? keyError(doc);
  if (error) {
    return [
      {
        ok: false,
        file: source.file,
        position: positionAt(lineCounter, withinText(source.text, error.pos[0])),
        message: error.code === 'RESOURCE_EXHAUSTION' ? TOO_DEEP_TO_READ : firstLine(error.message),
        ...identityOf(doc),
      },
    ];
  }
  if (doc.contents === null) return []; // empty document between `---` separators
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    const position = positionAt(lineCounter, doc.contents.range?.[0] ?? 0);
    const message = err instanceof RangeError ? TOO_DEEP_TO_READ : (err as Error).message;
    return [{ ok: false, file: source.file, position, message }];
  }
  if (value === null || value === undefined) return [];
  const where = new DocumentPlace(source.text, lineCounter, doc);
  return lists || !isRecord(value)
    ? objectsOf(source.file, value, doc, where)
    : [manifestAt(source.file, value, doc, where, [])];
}

/**
 * Where one document's fields are, without its syntax tree: the tree it
 * was parsed to is dropped, and the first locate() parses the document's
 * slice of the text again. The slice starts at the beginning of the line
 * the contents start on, so a block map keeps its indentation.
 */
class DocumentPlace {
  private readonly sliceStart: number;
  private readonly sliceEnd: number;
  private readonly contentsStart: number;
  private tree: Node | null | undefined;

  constructor(
    private readonly text: string,
    private readonly lineCounter: LineCounter,
    doc: Document,
  ) {
    const range = doc.contents?.range;
    this.contentsStart = range?.[0] ?? 0;
    const lineStart = text.lastIndexOf('\n', this.contentsStart - 1) + 1;
    // Anything but indentation before the contents on their line (`--- {a: 1}`): start at the contents.
    this.sliceStart = /^[ \t]*$/.test(text.slice(lineStart, this.contentsStart)) ? lineStart : this.contentsStart;
    this.sliceEnd = range?.[2] ?? this.contentsStart;
  }

  /** Line and column of a node of the tree still there (while the document is being read: no parse again). */
  at(doc: Document, path: readonly (string | number)[]): Position {
    return positionAt(this.lineCounter, rangeOf(doc.contents, path));
  }

  /** Line and column of the deepest node along `path`, in the whole file. */
  locate(path: readonly (string | number)[]): Position {
    const offset = this.reparsed() ? this.sliceStart + rangeOf(this.tree ?? null, path) : this.contentsStart;
    return positionAt(this.lineCounter, offset);
  }

  /**
   * The document's contents parsed again, or false when the slice does not
   * parse to the same place (a %TAG directive it depended on, say): then
   * every field is placed at the document's start.
   */
  private reparsed(): boolean {
    if (this.tree === undefined) {
      const doc = parseDocument(this.text.slice(this.sliceStart, this.sliceEnd), YAML_OPTIONS);
      const same = doc.errors.length === 0 && (doc.contents?.range?.[0] ?? -1) + this.sliceStart === this.contentsStart;
      this.tree = same ? doc.contents : null;
    }
    return this.tree !== null;
  }
}

/**
 * A `kind: List` (or any *List with items) stands for its items. A document
 * that is not a mapping (a string, a number, a YAML list) is no object at
 * all: kubectl refuses it, so it is a failure here, not a document to skip.
 * So is each item of a List that is not a mapping, but one failure stands
 * for all of them, at the first (an item each would be 120,000 failures for
 * one document of `- 1` lines); the List's objects are read as ever.
 */
function objectsOf(file: string, value: unknown, doc: Document, where: DocumentPlace): Manifest[] {
  if (!isRecord(value)) return [notAnObject(file, value, where.at(doc, []), 'the document')];
  if (typeof value.kind !== 'string' || !value.kind.endsWith('List') || !Array.isArray(value.items)) {
    return [manifestAt(file, value, doc, where, [])];
  }
  const { kind } = value;
  const items = value.items as unknown[];
  const notObjects = items.reduce<number>((n, item) => (isRecord(item) ? n : n + 1), 0);
  const out: Manifest[] = [];
  let reported = false;
  items.forEach((item, i) => {
    if (isRecord(item)) out.push(manifestAt(file, item, doc, where, ['items', i]));
    else if (!reported) {
      reported = true;
      const more = notObjects > 1 ? ` (and ${formatCount(notObjects - 1)} more items like it)` : '';
      out.push(notAnObject(file, item, where.at(doc, ['items', i]), `items[${i}] of the ${kind}`, more));
    }
  });
  return out;
}

function notAnObject(file: string, value: unknown, position: Position, what: string, more = ''): Manifest {
  const is = value === null ? 'null' : Array.isArray(value) ? 'a list' : `a ${typeof value}`;
  return {
    ok: false,
    file,
    position,
    message: `not a Kubernetes object: ${what} is ${is}, not a mapping${more} (kubectl refuses it as "invalid object to validate")`,
  };
}

function manifestAt(
  file: string,
  object: unknown,
  doc: Document,
  where: DocumentPlace,
  prefix: (string | number)[],
): Manifest {
  const locate = (path: string): Position => where.locate([...prefix, ...parseFieldPath(path)]);
  return { ok: true, file, object, position: where.at(doc, prefix), locate };
}

/** spec.egress[1].hosts[0] → ['spec','egress',1,'hosts',0]; labels[app.kubernetes.io/name] keeps its dots. */
export function parseFieldPath(path: string): (string | number)[] {
  const segments: (string | number)[] = [];
  const re = /([^.[\]]+)|\[([^\]]*)\]/g;
  for (const m of path.matchAll(re)) {
    if (m[1] !== undefined) segments.push(m[1]);
    else if (m[2] !== undefined) segments.push(/^\d+$/.test(m[2]) ? Number(m[2]) : m[2]);
  }
  return segments;
}

/** Offset of the deepest node along the path; for map entries, the key's offset. */
export function rangeOf(root: Node | null, path: readonly (string | number)[]): number {
  let node: unknown = root;
  let offset = (root as Node | null)?.range?.[0] ?? 0;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) break;
      offset = (pair.key as Node).range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment] as Node | undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      break;
    }
  }
  return offset;
}

/**
 * An error found at the end of the input (an unclosed bracket or quote) is
 * placed after the last character, on a line that does not exist when the
 * file ends with a newline: report it on the last line that has text.
 */
function withinText(text: string, offset: number): number {
  const end = text.trimEnd().length;
  return offset >= end && end > 0 ? end - 1 : offset;
}

/** kind, metadata.namespace and metadata.name of a document that failed to parse, as far as they were read. */
function identityOf(doc: Document): Pick<ParseFailure, 'kind' | 'namespace' | 'name'> {
  const text = (path: string[]): string | undefined => {
    try {
      const v = doc.getIn(path);
      return typeof v === 'string' && v !== '' ? v : undefined;
    } catch {
      return undefined;
    }
  };
  const [kind, namespace, name] = [text(['kind']), text(['metadata', 'namespace']), text(['metadata', 'name'])];
  return { ...(kind ? { kind } : {}), ...(namespace ? { namespace } : {}), ...(name ? { name } : {}) };
}

function positionAt(lc: LineCounter, offset: number): Position {
  const { line, col } = lc.linePos(offset);
  return { line, col };
}

const firstLine = (s: string): string => s.split('\n')[0]!.trim();

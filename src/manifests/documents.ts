// Manifests as kubectl reads them: multi-document YAML (YAML 1.1, like
// sigs.k8s.io/yaml), JSON, and `kind: List`, each object remembering where
// its fields are so findings can point at a line.
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from 'yaml';
import { isRecord } from '../util/json.js';

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

export function parseSource(source: Source): Manifest[] {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(source.text, { lineCounter, version: '1.1', uniqueKeys: true, prettyErrors: false });
  const out: Manifest[] = [];
  const docList = Array.isArray(docs) ? docs : [docs];
  for (const doc of docList) {
    const error = doc.errors[0];
    if (error) {
      const [line, col] = linePos(lineCounter, withinText(source.text, error.pos[0]));
      out.push({
        ok: false,
        file: source.file,
        position: { line, col },
        message: firstLine(error.message),
        ...identityOf(doc),
      });
      continue;
    }
    if (doc.contents === null) continue; // empty document between `---` separators
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      const [line, col] = linePos(lineCounter, doc.contents.range?.[0] ?? 0);
      out.push({ ok: false, file: source.file, position: { line, col }, message: (err as Error).message });
      continue;
    }
    if (value === null || value === undefined) continue;
    out.push(...objectsOf(source.file, value, doc, lineCounter));
  }
  return out;
}

/** A `kind: List` (or any *List with items) stands for its items. */
function objectsOf(file: string, value: unknown, doc: Document, lc: LineCounter): Manifest[] {
  if (
    !isRecord(value) ||
    typeof value.kind !== 'string' ||
    !value.kind.endsWith('List') ||
    !Array.isArray(value.items)
  ) {
    return [manifestAt(file, value, doc, lc, [])];
  }
  return value.items.map((item, i) => manifestAt(file, item, doc, lc, ['items', i]));
}

function manifestAt(
  file: string,
  object: unknown,
  doc: Document,
  lc: LineCounter,
  prefix: (string | number)[],
): Manifest {
  const locate = (path: string): Position => {
    const range = rangeOf(doc.contents, [...prefix, ...parseFieldPath(path)]);
    const [line, col] = linePos(lc, range);
    return { line, col };
  };
  return { ok: true, file, object, position: locate(''), locate };
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
function rangeOf(root: Node | null, path: (string | number)[]): number {
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

function linePos(lc: LineCounter, offset: number): [number, number] {
  const { line, col } = lc.linePos(offset);
  return [line, col];
}

const firstLine = (s: string): string => s.split('\n')[0]!.trim();

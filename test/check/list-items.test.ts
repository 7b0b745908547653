// A `kind: List` as `kubectl get -o json` or `-o yaml` prints it is read item
// by item (documents.ts listRead). The oracle is the same text read whole:
// a YAML comment line before a JSON text makes it a YAML text, and a `---`
// line before a YAML text makes it one the cut leaves alone; the library
// reads either as one document, as every List was read before. Whatever the split reads
// must be what the whole read gives, one line lower; whatever it cannot read
// cleanly falls back to the whole read, so broken Lists are reported as ever.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { parseSource, type Manifest } from '../../src/manifests/documents.js';
import { jsonListItems, jsonValues } from '../../src/manifests/json-stream.js';
import { yamlListPieces } from '../../src/manifests/yaml-list.js';
import { MAX_DOCUMENT_SCALARS } from '../../src/util/yaml.js';

const PATHS = ['', 'kind', 'metadata.name', 'spec.egress[0].hosts[1]', 'spec.egress[0].bind', 'items[0]'];

/** Any JSON value, small: strings of at most `strings` characters, keys of at most `keys`. */
function jsonValue(strings: number, keys: number): fc.Arbitrary<unknown> {
  const scalar = fc.oneof(fc.string({ maxLength: strings }), fc.integer(), fc.boolean(), fc.constant(null));
  return fc.letrec<{ v: unknown }>((tie) => ({
    v: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      scalar,
      fc.array(tie('v'), { maxLength: 3 }),
      fc.dictionary(fc.string({ maxLength: keys }), tie('v'), { maxKeys: 3 }),
    ),
  })).v;
}

/** Objects with a field long enough that a List of them is cut (items under 64 bytes are read whole). */
const padded = (objects: fc.Arbitrary<Record<string, unknown>>) =>
  objects.map((o) => ({ ...o, padding: 'p'.repeat(80) }));

/** What a Manifest says, with its places: comparable with deepEqual. */
function described(m: Manifest, lineShift = 0) {
  const at = (p: { line: number; col: number }) => ({ line: p.line - lineShift, col: p.col });
  if (!m.ok) return { ok: false, message: m.message, position: at(m.position) };
  return { ok: true, object: m.object, position: at(m.position), places: PATHS.map((p) => at(m.locate(p))) };
}

/** A text that is one JSON value to kubectl (others are cut into values before a List is looked at). */
function oneValue(text: string): boolean {
  const values = jsonValues(text, 10);
  return (
    text.trimStart().startsWith('{') &&
    'values' in values &&
    values.values.length === 1 &&
    values.yamlFrom === undefined
  );
}

const split = (text: string) => parseSource({ file: 'l.json', text }).map((m) => described(m));
/** The same text read as one YAML document: the List whole, as before. */
const whole = (text: string) =>
  parseSource({ file: 'l.json', text: `# read whole\n${text}` }).map((m) => described(m, 1));
const splitYaml = (text: string) => parseSource({ file: 'l.yaml', text }).map((m) => described(m));
const wholeYaml = (text: string) => parseSource({ file: 'l.yaml', text: `---\n${text}` }).map((m) => described(m, 1));
/** YAML as kubectl prints it: a list under a key not indented. */
const kubectlYaml = (value: unknown) => stringify(value, { indentSeq: false, aliasDuplicateObjects: false });

function sidecar(i: number, hosts: string[]) {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'Sidecar',
    metadata: { name: `s-${i}`, namespace: 'team', labels: { app: `a${i}` } },
    spec: { egress: [{ hosts }] },
  };
}

/**
 * A List of more values than one document may hold, written by `write`:
 * refused when read whole (it was, before Lists were cut), every item read cut.
 */
function readPastOneDocument(
  write: (items: unknown[]) => string,
  readWhole: (text: string) => ReturnType<typeof described>[],
  file: string,
): void {
  const hosts = Array.from({ length: 500 }, (_, h) => `ns-${h}/svc-${h}.example.com`);
  const items = Array.from({ length: Math.ceil(MAX_DOCUMENT_SCALARS / 500) + 10 }, (_, i) => sidecar(i, hosts));
  const text = write(items);
  const [first] = readWhole(text);
  assert.equal(first?.ok, false);
  assert.match(String(first.message), /^a document of more than 200000 keys and values/);
  const got = parseSource({ file, text });
  assert.deepEqual(
    got.map((m) => m.ok && m.object),
    items,
  );
}

describe('a JSON List is read item by item', () => {
  test('as kubectl prints it: each item, its place and its fields placed as the whole read places them', () => {
    const list = {
      apiVersion: 'v1',
      kind: 'List',
      metadata: { resourceVersion: '' },
      items: [0, 1, 2].map((i) => sidecar(i, ['./*', `ns-${i}/*`])),
    };
    for (const text of [JSON.stringify(list, null, 4), JSON.stringify(list), `${JSON.stringify(list, null, 2)}\n`]) {
      const got = split(text);
      assert.equal(got.length, 3);
      assert.deepEqual(got, whole(text));
    }
  });

  test('a List past the bounds of one document is read: a cluster dump of thousands of Sidecars', () => {
    // Read whole, it was refused ("a document of more than 200000 keys and values"); each item is well within them.
    readPastOneDocument((items) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items }), whole, 'dump.json');
  });

  test('past a bound of the whole text, the List is read whole, and refused as it always was', () => {
    // A text holds at most 1,000,000 commas (MAX_TEXT_STRUCTURE): the 10th item of 100,000 passes it.
    const item = `{"kind":"ConfigMap","data":[${'1,'.repeat(99_999)}1]}`;
    const text = `{"kind":"List","items":[${Array(21).fill(item).join(',')}]}`;
    const read = split(text);
    assert.equal(read.length, 1);
    assert.equal(read[0]?.ok, false);
    assert.deepEqual(read, whole(text));
  });

  test('what does not read cleanly item by item is read whole and reported as before', () => {
    const good = JSON.stringify(sidecar(0, ['./*']));
    const cases = {
      'a syntax error in an item': `{"kind": "List", "items": [${good}, {"kind": "Sidecar", "spec": {"a" 1}}]}`,
      'a repeated key in an item': `{"kind": "List", "items": [${good}, {"kind": "A", "kind": "B"}]}`,
      'a repeated key in the List': `{"kind": "List", "items": [${good}], "items": []}`,
      'an item that is not an object': `{"kind": "List", "items": [${good}, 7, "x"]}`,
      'a comma missing between items': `{"kind": "List", "items": [${good} ${good}]}`,
      'a refused character in the List': `{"kind": "List", "metadata": {"x": "a\u0001b"}, "items": [${good}]}`,
    };
    for (const [what, text] of Object.entries(cases)) {
      assert.equal(oneValue(text), true, what);
      const got = split(text);
      assert.ok(
        got.some((m) => !m.ok),
        what,
      );
      // The text as a JSON stream: the refused character is Go's JSON reader's; the whole YAML read has its own words.
      if (what !== 'a refused character in the List') assert.deepEqual(got, whole(text), what);
    }
    // The library takes a comma after the last item (Go's JSON reader does not): as the whole read takes it.
    const trailing = `{"kind": "List", "items": [${good},]}`;
    assert.deepEqual(split(trailing), whole(trailing));
  });

  test('an item that is itself a List is one object, as kubectl reads it, not expanded', () => {
    const inner = { kind: 'List', items: [sidecar(1, ['./*'])] };
    const text = JSON.stringify({ kind: 'List', items: [sidecar(0, ['./*']), inner] }, null, 2);
    const got = split(text);
    assert.deepEqual(got, whole(text));
    assert.deepEqual(
      got.map((m) => m.ok && (m.object as { kind: string }).kind),
      ['Sidecar', 'List'],
    );
  });

  test('any List, written any way, reads as the whole read reads it (property)', () => {
    const space = fc.constantFrom('', ' ', '\n', '\n  ', '\t');
    const value = jsonValue(6, 4);
    const item = fc.oneof(
      {
        weight: 4,
        arbitrary: padded(
          fc.dictionary(fc.constantFrom('kind', 'metadata', 'spec', 'items', 'x'), value, { maxKeys: 4 }),
        ),
      },
      { weight: 1, arbitrary: value },
    );
    const kind = fc.constantFrom('List', 'SidecarList', 'Sidecar', 7);
    /** JSON.stringify with `space` around every token of the top two levels, and sometimes a defect. */
    const written = fc.record({
      kind,
      items: fc.array(item, { maxLength: 5 }),
      gaps: fc.array(space, { minLength: 20, maxLength: 20 }),
      defect: fc.constantFrom('', '', '', ',', '}', ']', '"', '{'),
      at: fc.nat(),
    });
    fc.assert(
      fc.property(written, ({ kind, items, gaps, defect, at }) => {
        const g = (i: number) => gaps[i % gaps.length]!;
        const body = items.map((it, i) => `${g(i)}${JSON.stringify(it)}${g(i + 5)}`).join(',');
        let text = `${g(10)}{${g(11)}"kind"${g(12)}:${g(13)}${JSON.stringify(kind)},${g(14)}"items":${g(15)}[${body}]${g(16)}}${g(17)}`;
        if (defect) {
          const p = at % (text.length + 1);
          text = text.slice(0, p) + defect + text.slice(p);
        }
        // Only a text that is one JSON value to kubectl: the others were cut into values before, and still are.
        if (!oneValue(text)) return;
        assert.deepEqual(split(text), whole(text), text);
      }),
      { numRuns: 500 },
    );
  });
});

describe('a YAML List is read item by item', () => {
  const list = (items: unknown[]) => ({ apiVersion: 'v1', kind: 'List', items, metadata: { resourceVersion: '' } });

  test('as kubectl prints it: each item, its place and its fields placed as the whole read places them', () => {
    const items = [0, 1, 2].map((i) => ({
      ...sidecar(i, ['./*', `ns-${i}/*`]),
      // Block scalars, kept trailing lines among them, end where the item does, as in the whole read.
      data: { text: 'line one\nline two\n', kept: 'a\n\n\n', quoted: '- not an item\n# not a comment' },
    }));
    const text = kubectlYaml(list(items));
    assert.match(text, /^items:\n- /m);
    const got = splitYaml(text);
    assert.equal(got.length, 3);
    assert.deepEqual(got, wholeYaml(text));
    assert.deepEqual(
      got.map((m) => m.ok && m.object),
      items,
    );
    // yq's shape: the items indented under `items:`.
    const indented = stringify(list(items), { indentSeq: true, aliasDuplicateObjects: false });
    assert.match(indented, /^items:\n {2}- /m);
    assert.equal(yamlListPieces(indented)?.items.length, 3);
    assert.deepEqual(splitYaml(indented), wholeYaml(indented));
    // Comments and blank lines between items, CRLF line ends.
    const commented = text.replace(/^- /gm, '# next\n\n- ');
    assert.deepEqual(splitYaml(commented), wholeYaml(commented));
    const crlf = text.replace(/\n/g, '\r\n');
    assert.deepEqual(splitYaml(crlf), wholeYaml(crlf));
  });

  test('a List past the bounds of one document is read', () => {
    readPastOneDocument((items) => kubectlYaml(list(items)), wholeYaml, 'dump.yaml');
  });

  test('what is not cut, or does not read cleanly cut, is read whole and reported as before', () => {
    const good = kubectlYaml(list([sidecar(0, ['./*']), sidecar(1, ['./*'])]));
    const cases = {
      'an anchor first in an item': good.replace('- apiVersion', '- &first apiVersion'),
      'an alias across items': 'kind: List\nitems:\n- &a {kind: A}\n- *a\n',
      'an indented list': 'kind: List\nitems:\n  - kind: A\n  - kind: B\n',
      'a syntax error in an item': `${good}`.replace('kind: Sidecar', 'kind: [Sidecar'),
      'a repeated key in an item': good.replace('kind: Sidecar', 'kind: Sidecar\n  kind: Other'),
      'a second items key': `${good}items:\n- kind: A\n`,
      'items not a list': 'kind: List\nitems:\n  a: 1\n',
      'a list outside items': `${good}- kind: A\n`,
      'another document': `${good}---\nkind: A\n`,
      'a tab after the dash': 'kind: List\nitems:\n-\tkind: A\n',
      'not a List at all': 'kind: ConfigMap\nitems:\n- a: 1\n',
      'an item that is not a mapping': 'kind: List\nitems:\n- 1\n- kind: A\n',
      'an item that is itself a List': 'kind: List\nitems:\n- kind: List\n  items:\n  - kind: A\n',
    };
    for (const [what, text] of Object.entries(cases)) assert.deepEqual(splitYaml(text), wholeYaml(text), what);
    // Read whole by construction (the oracle's own `---` would change what these mean): not cut at all.
    for (const text of [`%YAML 1.1\n---\n${good}`, `---\n${good}`, `${good}...\n`])
      assert.equal(yamlListPieces(text), undefined, text);
    assert.equal(yamlListPieces(good)?.items.length, 2);
  });

  test("a review's finds: each read as the whole read reads it", () => {
    // A helper's review (2026-12-03) found each of these read differently cut; each is now left whole or cut alike.
    const yaml = [
      'kind: List\nitems:\n', // null, not an empty list
      'kind: List\nitems: # c\nother: x\n',
      'kind: List\nitems:\n# \u0001\n- a: 1\n', // a refused character before the first item
      'kind: List\nitems: # \u0001\n- a: 1\n', // ... or in a comment on the items line
      'kind: List\nitems:\n \u00a0\n- a: 1\n', // a line that only JavaScript calls blank
      'kind: List\nitems:\n \u000b\n- a: 1\n',
      'kind: List\nitems:#c\n- a: 1\n',
      'k: &x List\nitems:\n- kind: &x Foo\nkind: *x\n', // an anchor the item redefines
      'k: &x {kind: List}\nitems:\n- b: &x {kind: Foo}\n<<: *x\n',
      `kind: List\nitems:\n- a: 1\n- b: [${']]'.repeat(1200)}\n`, // past the syntax errors of a text
      'kind: List\r\nitems:\r\n- a: 1\r\n\r\n- b: 2\r\n\r\nc: 3\r\n', // CRLF blank lines between items: cut
    ];
    for (const text of yaml) assert.deepEqual(splitYaml(text), wholeYaml(text), JSON.stringify(text));
    assert.equal(yamlListPieces(yaml.at(-1)!)?.items.length, 2);
    const past = `{"kind":"List","items":[{"a":1},{"b":1 ${'{} '.repeat(1100)}}]}`;
    assert.deepEqual(split(past), whole(past));
    // A CR alone is no white space to the library, which reads a JSON text as it is (the oracle's YAML read
    // would take it as a line break): not cut, so read whole as before.
    for (const text of [
      '{"kind":"List","items":[{"a":1},\r{"b":2}]}',
      '{"kind":"List","items":[\r{"a":1}]}',
      '{"kind":"List","items":[{"a":1}\r,{"b":2}]}',
    ])
      assert.equal(jsonListItems(text, 0, text.length), undefined, JSON.stringify(text));
  });

  test('more items than a text may hold documents are not cut at all (nor collected first)', () => {
    assert.equal(yamlListPieces(`kind: List\nitems:\n${'-\n'.repeat(200_001)}`), undefined);
    assert.equal(yamlListPieces(`kind: List\nitems:\n${'-\n'.repeat(200_000)}`)?.items.length, 200_000);
    const list = (n: number) => `{"kind":"List","items":[${'{},'.repeat(n - 1)}{}]}`;
    assert.equal(jsonListItems(list(200_001), 0, list(200_001).length), undefined);
    assert.equal(jsonListItems(list(200_000), 0, list(200_000).length)?.items.length, 200_000);
  });

  test('any List, written any way, reads as the whole read reads it (property)', () => {
    const value = jsonValue(8, 5);
    const item = fc.oneof(
      {
        weight: 4,
        arbitrary: padded(
          fc.dictionary(fc.constantFrom('kind', 'metadata', 'spec', 'items', 'x y', '- z'), value, { maxKeys: 4 }),
        ),
      },
      { weight: 1, arbitrary: value },
    );
    const written = fc.record({
      kind: fc.constantFrom('List', 'SidecarList', 'Sidecar'),
      items: fc.array(item, { maxLength: 5 }),
      lineWidth: fc.constantFrom(0, 20, 80),
      strings: fc.constantFrom(
        'PLAIN',
        'QUOTE_DOUBLE',
        'QUOTE_SINGLE',
        'BLOCK_LITERAL',
        'BLOCK_FOLDED',
      ) as fc.Arbitrary<'PLAIN'>,
      /** A line put somewhere: each kind of line the cut has to place. */
      extra: fc.constantFrom(
        '',
        '',
        '',
        '---',
        '...',
        '- x',
        '-',
        'k: v',
        '# c',
        '  x: 1',
        '\tx',
        'items:',
        '-x',
        ': v',
        '- &a x',
        '- !t x',
        ' \u00a0',
        '  - x',
        '  # c',
        '    y: 2',
        ' - z',
      ),
      at: fc.nat(),
      /** kubectl's shape (`- ` at the first column) or yq's (the items indented under `items:`). */
      indentSeq: fc.boolean(),
    });
    fc.assert(
      fc.property(written, ({ kind, items, lineWidth, strings, extra, at, indentSeq }) => {
        const options = {
          indentSeq,
          lineWidth,
          defaultStringType: strings,
          defaultKeyType: 'PLAIN' as const,
          aliasDuplicateObjects: false,
        };
        let text = stringify({ apiVersion: 'v1', kind, items, metadata: {} }, options);
        if (extra) {
          const lines = text.split('\n');
          lines.splice(at % lines.length, 0, extra);
          text = lines.join('\n');
        }
        assert.deepEqual(splitYaml(text), wholeYaml(text), text);
      }),
      { numRuns: 500 },
    );
  });
});

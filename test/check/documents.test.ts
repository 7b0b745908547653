import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LineCounter, parseAllDocuments, type Node } from 'yaml';
import { parseFieldPath, parseSource, rangeOf } from '../../src/manifests/documents.js';

const yaml = `# leading comment
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata:
  name: a
  labels:
    app.kubernetes.io/name: x
spec:
  egress:
  - port:
      number: 80
    hosts:
    - "./*"
  - hosts:
    - bad
---
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: p}
- apiVersion: networking.istio.io/v1
  kind: Sidecar
  metadata:
    name: b
`;

describe('manifest documents', () => {
  const docs = parseSource({ file: 'f.yaml', text: yaml });

  test('multi-document YAML with empty documents and kind: List expands to objects', () => {
    assert.equal(docs.length, 3);
    assert.ok(docs.every((d) => d.ok));
    assert.deepEqual(
      docs.map((d) => (d.ok ? (d.object as { metadata: { name: string } }).metadata.name : '')),
      ['a', 'p', 'b'],
    );
  });

  test('field paths point at the key that holds the field', () => {
    const a = docs[0]!;
    assert.ok(a.ok);
    assert.deepEqual(a.position, { line: 2, col: 1 });
    assert.deepEqual(a.locate('spec.egress[1].hosts[0]'), { line: 15, col: 7 });
    assert.deepEqual(a.locate('spec.egress[0].port.number'), { line: 11, col: 7 });
    assert.deepEqual(a.locate('metadata.labels[app.kubernetes.io/name]'), { line: 7, col: 5 });
    // a missing field points at its nearest existing parent
    assert.deepEqual(a.locate('spec.egress[0].bind'), { line: 10, col: 5 });
    const b = docs[2]!;
    assert.ok(b.ok);
    assert.deepEqual(b.position, { line: 24, col: 3 });
    assert.deepEqual(b.locate('metadata.name'), { line: 27, col: 5 });
  });

  test('a YAML syntax error is a failure with the parser line, not an exception', () => {
    const [bad] = parseSource({ file: 'g.yaml', text: 'a: 1\nb: [\n' });
    assert.equal(bad!.ok, false);
    assert.ok(!bad!.ok && bad!.position.line >= 2);
  });

  test('duplicate keys are refused at the repeated key, naming it, in block and flow maps (kubectl keeps the last value)', () => {
    const [dup] = parseSource({ file: 'd.yaml', text: 'a: 1\na: 2\n' });
    assert.ok(dup && !dup.ok);
    assert.equal(
      dup.message,
      'Map keys must be unique: "a" is repeated (kubectl would keep this last value and silently drop the earlier one)',
    );
    assert.deepEqual(dup.position, { line: 2, col: 1 });
    const [nested] = parseSource({ file: 'n.yaml', text: 'spec:\n  x: {b: 1, c: 2, b: 3}\n' });
    assert.ok(nested && !nested.ok);
    assert.deepEqual(nested.position, { line: 2, col: 19 });
    // The same text is not the same key: 1 and "1" differ, as they do for the library's own check.
    const [typed] = parseSource({ file: 't.yaml', text: '1: a\n"1": b\nx: [{a: 1}, {a: 2}]\n' });
    assert.ok(typed?.ok, typed && !typed.ok ? typed.message : '');
  });

  test('a mapping key that is a list or a mapping is refused where it stands, as kubectl refuses it', () => {
    // The library would make it a string and say so on stderr; go-yaml says "invalid map key".
    const cases = [
      ['kind: A\nmetadata:\n  ? [1]\n  : x\n', 'list', { line: 3, col: 5 }],
      ['{"kind": "A", "data": {{"a": 1}: 2}}', 'mapping', { line: 1, col: 24 }],
    ] as const;
    for (const [text, what, position] of cases) {
      const [bad, ...rest] = parseSource({ file: 'k.yaml', text });
      assert.equal(rest.length, 0);
      assert.ok(bad && !bad.ok);
      assert.equal(bad.message, `a mapping key that is a ${what}: kubectl refuses it ("invalid map key")`);
      assert.deepEqual(bad.position, position);
    }
  });

  test('a mapping of 100,000 keys is read, and a key repeated at its end found, by the one-pass check', () => {
    // The library's uniqueKeys compared each key with every one before it: 20,000 keys took 4.7 s, 100,000 about
    // two minutes (5 minutes for this test); now under a second each. The time is make bench's to watch, not this test's.
    const keys = (n: number) => Array.from({ length: n }, (_, i) => `k${i}: v\n`).join('');
    const [many] = parseSource({ file: 'many.yaml', text: keys(100_000) });
    assert.ok(many?.ok);
    const [last] = parseSource({ file: 'last.yaml', text: `${keys(100_000)}k5: again\n` });
    assert.ok(last && !last.ok);
    assert.deepEqual(last.position, { line: 100_001, col: 1 });
  });

  test('JSON files parse too', () => {
    const [j] = parseSource({ file: 'x.json', text: '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}' });
    assert.ok(j!.ok);
  });

  test('YAML 1.1 scalars behave as in kubectl (yes is a boolean)', () => {
    const [y] = parseSource({ file: 'y.yaml', text: 'a: yes\nb: "yes"\n' });
    assert.ok(y!.ok);
    assert.deepEqual(y!.ok && y!.object, { a: true, b: 'yes' });
  });

  describe('nesting deeper than kubectl reads (10,000 levels) is refused at the line it happens, unparsed', () => {
    const D = 10_000;
    const TOO_DEEP = /^nesting deeper than 10000 levels: not a Kubernetes manifest file$/;
    const failure = (text: string) => {
      const out = parseSource({ file: 'deep.yaml', text });
      const last = out.at(-1);
      assert.ok(last && !last.ok, 'the last result is a failure');
      return { out, last };
    };
    const shapes: Record<string, (n: number) => string> = {
      'flow sequences': (n) => `${'['.repeat(n)}${']'.repeat(n)}`,
      'flow mappings': (n) => `${'{a: '.repeat(n)}1${'}'.repeat(n)}`,
      'JSON objects': (n) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`,
      'block sequences on one line': (n) => `${'- '.repeat(n)}x\n`,
      'explicit keys on one line': (n) => `${'? '.repeat(n)}x\n`,
      'key: - chains on one line': (n) => `${'a: - '.repeat(n / 2 + 1)}x\n`,
    };
    for (const [name, shape] of Object.entries(shapes)) {
      test(name, () => {
        const { last } = failure(`apiVersion: v1\nkind: List\n---\n${shape(D + 1)}`);
        assert.match(last.message, TOO_DEEP);
        assert.equal(last.position.line, 4);
      });
    }

    test('the whole file is the one failure, documents before and after the deep one included', () => {
      const { out, last } = failure(`kind: Pod\nmetadata: {name: p}\n---\n${'['.repeat(D + 1)}\n---\nkind: Pod\n`);
      assert.equal(out.length, 1);
      assert.match(last.message, TOO_DEEP);
      assert.deepEqual(last.position, { line: 4, col: D + 1 });
    });

    test('exactly 10,000 levels are not refused for their depth (the reader runs out of stack first, said plainly)', () => {
      const { out, last } = failure(shapes['flow sequences']!(D));
      assert.equal(out.length, 1);
      assert.equal(last.message, 'nesting too deep to read: not a Kubernetes manifest');
    });

    test('a deep but readable document parses', () => {
      const deep = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\ndata: ${'{a: ['.repeat(100)}1${']}'.repeat(100)}\n`;
      const [doc] = parseSource({ file: 'ok.yaml', text: deep });
      assert.ok(doc!.ok);
    });

    test('brackets and indicators in quoted scalars, comments and block scalars are not counted', () => {
      const many = '[{- ? : '.repeat(D);
      const text = [
        'apiVersion: v1',
        'kind: ConfigMap',
        `# ${many}`,
        'metadata:',
        `  name: "${many}"`,
        'data:',
        `  single: '${many}'`,
        '  block: |',
        `    ${many}`,
        '',
      ].join('\n');
      const [doc] = parseSource({ file: 'quoted.yaml', text });
      assert.ok(doc!.ok, doc!.ok ? '' : doc!.message);
    });
  });

  describe('what would cost the reader out of proportion is refused while it is read', () => {
    const only = (text: string) => {
      const out = parseSource({ file: 'hostile.yaml', text });
      assert.equal(out.length, 1, 'the whole file is one result');
      const [result] = out;
      assert.ok(result && !result.ok);
      return result;
    };
    const flowList = (n: number) => `[${'1,'.repeat(n - 1)}1]`;

    test('more than 1,000 stray tokens: one failure at the one past the limit', () => {
      const result = only(`kind: List
${']'.repeat(1001)}`);
      assert.equal(result.message, 'more than 1000 syntax errors: not a Kubernetes manifest file');
      assert.deepEqual(result.position, { line: 2, col: 1001 });
    });

    test('1,000 stray tokens are reported as the first syntax error, as any', () => {
      const result = only(']'.repeat(1000));
      assert.doesNotMatch(result.message, /more than 1000/);
    });

    test('a document of more than 200,000 keys and values, flow or block', () => {
      assert.equal(
        only(`apiVersion: v1
kind: ConfigMap
data: ${flowList(199_999)}
`).message,
        'a document of more than 200000 keys and values: not a Kubernetes manifest file',
      );
      const block = Array.from({ length: 100_001 }, (_, i) => `k${i}: v\n`).join('');
      assert.match(only(block).message, /^a document of more than 200000 keys and values/);
    });

    test('quoted scalars count as well', () => {
      const quoted = `[${'"a",'.repeat(200_000)}"a"]`;
      assert.match(only(quoted).message, /^a document of more than 200000 keys and values/);
    });

    test('flow collections, commas and aliases count apart: 250,001 of them is refused, with no scalar at all', () => {
      // 1,000,000 `{},` took 9.2 s and 1.5 GB, as many `*a,` 8 s and 1.5 GB; 16 MiB of either ran out of memory.
      for (const [text, at] of [
        [`l: [${'{},'.repeat(200_000)}{}]`, 'maps'],
        [`a: &a v\nl: [${'*a,'.repeat(200_000)}*a]`, 'aliases'],
        [`l: [${','.repeat(300_000)}]`, 'commas'],
      ] as const) {
        assert.equal(
          only(text).message,
          'a document of more than 250000 flow collections, commas and aliases: not a Kubernetes manifest file',
          at,
        );
      }
      // A flow list at the scalar limit meets that limit first.
      assert.match(only(`l: ${flowList(200_001)}`).message, /^a document of more than 200000 keys and values/);
    });

    test('the structure and comment bounds hold for the whole text too: `---` between them does not reset them', () => {
      // 16 MiB of `{},` in 45 documents took 49 s and 2.3 GB with per-document bounds alone.
      const maps = Array.from({ length: 5 }, () => `l: [${'{},'.repeat(120_000)}{}]\n`).join('---\n');
      assert.equal(
        only(maps).message,
        'more than 1000000 flow collections, commas and aliases: not a Kubernetes manifest file',
      );
      const notes = Array.from({ length: 6 }, () => '# note\n'.repeat(190_000)).join('---\n');
      assert.equal(only(notes).message, 'more than 1000000 comments: not a Kubernetes manifest file');
    });

    test('and across the values of a JSON stream, each read alone: past the text bound, the rest is not read', () => {
      // 16 MiB of such values, every one within a document's bounds, took 31 s and 1.8 GB before the text's
      // counts were kept across values.
      const values = Array.from({ length: 6 }, () => `{"l": [${'{},'.repeat(120_000)}{}]}\n`).join('');
      const read = parseSource({ file: 's.json', text: values });
      const failures = read.filter((m) => !m.ok);
      assert.equal(read.length, 5, 'four values read, then the one past the bound, and no more');
      assert.equal(failures.length, 1);
      assert.ok(!failures[0]!.ok);
      assert.equal(
        failures[0]!.message,
        'more than 1000000 flow collections, commas and aliases: not a Kubernetes manifest file',
      );
      assert.equal(failures[0]!.position.line, 5);
    });

    test('more than 1,000,000 empty lines, written with LF or with CR alone: refused where the limit is passed', () => {
      // 16 MiB of line breaks took 21 s and 1.9 GB; since CR alone is a line break (as for kubectl), CRs as many.
      for (const br of ['\n', '\r', ' \n']) {
        const result = only(`a: 1\n${br.repeat(1_000_001)}b: 2\n`);
        assert.equal(result.message, 'more than 1000000 empty lines: not a Kubernetes manifest file');
        assert.equal(result.position.line, 1_000_002);
      }
      // A manifest's own blank lines are far fewer: they are read.
      assert.ok(parseSource({ file: 'ok.yaml', text: `a: 1\n${'\n'.repeat(1000)}b: 2\n` })[0]?.ok);
    });

    test('list items without a value count too: a document of more than 200,000, a text of more than 1,000,000', () => {
      // One document of 2 million `-` lines (4 MB) took 8 s and 1.4 GB; 16 MiB of them ran out of memory.
      assert.equal(
        only('-\n'.repeat(200_001)).message,
        'a document of more than 200000 list items and explicit keys: not a Kubernetes manifest file',
      );
      const documents = Array.from({ length: 6 }, () => '-\n'.repeat(199_999)).join('---\n');
      assert.equal(
        only(documents).message,
        'more than 1000000 list items and explicit keys: not a Kubernetes manifest file',
      );
    });

    test('more than 200,000 comments in a document: refused; a # in a scalar is not one', () => {
      // 16 MiB of `#` lines took 21 s and 825 MB.
      assert.equal(
        only(`kind: List\n${'# note\n'.repeat(200_001)}`).message,
        'a document of more than 200000 comments: not a Kubernetes manifest file',
      );
      const hashes = `a: |\n${'  # text\n'.repeat(200_001)}b: "#"\nc: x#y\n`;
      const [read] = parseSource({ file: 'h.yaml', text: hashes });
      assert.ok(read?.ok, read && !read.ok ? read.message : 'no result');
    });

    test('more than 200,000 documents: refused at the one past the limit', () => {
      // 4 million `---` lines (16 MiB) took 21 s.
      const result = only('---\n'.repeat(200_001));
      assert.equal(result.message, 'more than 200000 documents: not a Kubernetes manifest file');
      assert.equal(result.position?.line, 200_001);
      // Exactly 200,000, each begun with `---` (after `...` too): read, each counted once.
      assert.equal(parseSource({ file: 'at.yaml', text: '---\n'.repeat(200_000) }).length, 0);
      assert.equal(parseSource({ file: 'ends.yaml', text: '...\n# c\n---\na: 1\n'.repeat(1_000) }).length, 1_000);
      assert.equal(parseSource({ file: 'many.yaml', text: 'a: 1\n---\n'.repeat(1_000) }).length, 1_000);
    });

    test('the count is per document: two of 150,000 each are read', () => {
      const doc = (name: string) =>
        `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\nx: ${flowList(149_990)}\n`;
      const out = parseSource({ file: 'two.yaml', text: `${doc('a')}---\n${doc('b')}` });
      assert.equal(out.length, 2);
      for (const result of out) assert.ok(result.ok, result.ok ? '' : result.message);
    });
  });

  test('a List of 130,000 items is read (spreading them as arguments overflowed the stack)', () => {
    const items = parseSource({ file: 'l.yaml', text: `kind: List\nitems:\n${'- {}\n'.repeat(130_000)}` });
    assert.equal(items.length, 130_000);
    assert.ok(items.every((m) => m.ok));
  });

  test("a List's items that are not mappings are one failure, at the first, counting the rest; its objects are read", () => {
    const ms = parseSource({ file: 'l.yaml', text: 'kind: List\nitems:\n- 1\n- {kind: A}\n- 2\n- x\n' });
    assert.equal(ms.length, 2);
    const [bad, a] = ms;
    assert.ok(bad && !bad.ok && a?.ok);
    assert.equal(
      bad.message,
      'not a Kubernetes object: items[0] of the List is a number, not a mapping (and 2 more items like it) (kubectl refuses it as "invalid object to validate")',
    );
    assert.deepEqual(bad.position, { line: 3, col: 3 });
  });

  test('parseFieldPath keeps dotted map keys in brackets together', () => {
    assert.deepEqual(parseFieldPath('spec.egress[1].hosts[0]'), ['spec', 'egress', 1, 'hosts', 0]);
    assert.deepEqual(parseFieldPath('metadata.annotations[istio.io/dry-run]'), [
      'metadata',
      'annotations',
      'istio.io/dry-run',
    ]);
    assert.deepEqual(parseFieldPath(''), []);
  });

  // The syntax trees are dropped after reading; a field's place comes from its document's slice parsed again.
  // Every layout a document can start with, each placed as the whole file's own parse places it.
  const layouts = [
    'apiVersion: v1\nkind: Sidecar\nspec:\n  egress:\n  - hosts:\n    - bad\n',
    '# a comment first\n\napiVersion: v1\nkind: Sidecar\nspec:\n  egress:\n  - hosts: [a, bad]\n',
    '  apiVersion: v1\n  kind: Sidecar\n  spec:\n    egress:\n    - hosts:\n      - bad\n',
    '{"apiVersion": "v1", "kind": "Sidecar",\n "spec": {"egress": [{"hosts": ["a", "bad"]}]}}\n',
    'apiVersion: v1\r\nkind: Sidecar\r\nspec:\r\n  egress:\r\n  - hosts:\r\n    - bad\r\n',
    'kind: List\nitems:\n- kind: Sidecar\n  spec:\n    egress:\n    - hosts: [bad]\n- kind: Sidecar\n  spec: {egress: [{hosts: [x, bad]}]}\n',
  ];
  const paths = [
    '',
    'kind',
    'spec.egress[0].hosts[0]',
    'spec.egress[0].hosts[1]',
    'spec.egress[0].bind',
    'spec.nothing',
  ];

  test('a field is placed as a parse of the whole file places it, in any document of it', () => {
    const text = `${layouts.join('---\n')}--- {"kind": "Sidecar", "spec": {"egress": [{"hosts": ["bad"]}]}}\n`;
    const parsed = parseSource({ file: 'many.yaml', text });
    const expected = wholeFilePlaces(text);
    assert.equal(parsed.length, expected.length);
    parsed.forEach((m, i) => {
      assert.ok(m.ok, `object ${i}`);
      assert.deepEqual(m.position, expected[i]!(''), `object ${i} starts`);
      for (const path of paths) assert.deepEqual(m.locate(path), expected[i]!(path), `object ${i}: ${path}`);
    });
  });

  test('a document that does not parse alone the same way has its fields placed at its start', () => {
    // A %TAG handle declared before the document: its slice alone does not know the handle.
    const text = '%TAG !k! tag:example.com,2000:\n---\nkind: !k!thing Sidecar\nspec:\n  egress: []\n';
    const [tagged] = parseSource({ file: 't.yaml', text });
    assert.ok(tagged?.ok);
    assert.deepEqual(tagged.position, { line: 3, col: 1 });
    assert.deepEqual(tagged.locate('spec.egress'), { line: 3, col: 1 });
  });
});

/**
 * Per object, where each path lands in the trees of parseAllDocuments over the whole text (List items expanded): the
 * same walk down a tree (rangeOf) over the trees the reading used to keep, so only the slices and offsets are tested.
 */
function wholeFilePlaces(text: string): ((path: string) => { line: number; col: number })[] {
  const lc = new LineCounter();
  const out: ((path: string) => { line: number; col: number })[] = [];
  for (const doc of parseAllDocuments(text, { lineCounter: lc, version: '1.1' }) as ReturnType<
    typeof parseAllDocuments
  > &
    unknown[]) {
    const value = doc.toJS() as { kind?: string; items?: unknown[] };
    const prefixes: (string | number)[][] =
      value.kind === 'List' && Array.isArray(value.items) ? value.items.map((_, i) => ['items', i]) : [[]];
    for (const prefix of prefixes)
      out.push((path) => lc.linePos(rangeOf(doc.contents as Node, [...prefix, ...parseFieldPath(path)])));
  }
  return out;
}

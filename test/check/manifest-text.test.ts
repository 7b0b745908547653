// A manifest file's bytes and documents as kubectl reads them: UTF-16 with a
// byte order mark is read, control characters and documents that are not
// objects are refused. What kubectl itself does with each of these files is
// asserted against the real kubectl in test/e2e/15-encodings.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { type Manifest, parseSource } from '../../src/manifests/documents.js';
import { jsonValues } from '../../src/manifests/json-stream.js';
import { manifestText } from '../../src/manifests/text.js';

const SIDECAR = 'apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata:\n  name: é\n';

const utf16be = (text: string): Buffer => Buffer.from(text, 'utf16le').swap16();
const failures = (ms: Manifest[]) => ms.filter((m) => !m.ok).map((m) => (m.ok ? null : m));
const parse = (text: string) => parseSource({ file: 'f.yaml', text });

describe('manifestText: bytes to text as kubectl decodes them', () => {
  test('UTF-16 with a byte order mark, little or big endian, is read as UTF-16', () => {
    assert.equal(manifestText(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(SIDECAR, 'utf16le')])), SIDECAR);
    assert.equal(manifestText(Buffer.concat([Buffer.from([0xfe, 0xff]), utf16be(SIDECAR)])), SIDECAR);
  });

  test("a UTF-8 byte order mark is dropped, and a file without one is UTF-8, its invalid bytes U+FFFD (Go's decoder)", () => {
    assert.equal(manifestText(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(SIDECAR)])), SIDECAR);
    assert.equal(manifestText(Buffer.from([0x61, 0xff, 0x62])), 'a\ufffdb');
  });

  test('an odd last byte and an unpaired surrogate of UTF-16 become U+FFFD', () => {
    assert.equal(manifestText(Buffer.from([0xff, 0xfe, 0x61, 0x00, 0x62])), 'a\ufffd');
    assert.equal(manifestText(Buffer.from([0xff, 0xfe, 0x00, 0xd8, 0x61, 0x00])), '\ufffda');
  });

  test('UTF-16 without a byte order mark is not guessed: it stays bytes with NULs between them', () => {
    assert.equal(manifestText(Buffer.from('a: 1', 'utf16le')), 'a\u0000:\u0000 \u00001\u0000');
  });
});

describe('characters the YAML reader refuses (go-yaml: "control characters are not allowed")', () => {
  test('a C0 control, DEL or U+FFFE in YAML refuses the document that holds it, at its place', () => {
    for (const [ch, name] of [
      ['\u0001', 'U+0001'],
      ['\u007f', 'U+007F'],
      ['\u009f', 'U+009F'],
      ['\ufffe', 'U+FFFE'],
    ] as const) {
      const [bad, ...rest] = parse(`a: b\nc: "x${ch}y"\n`);
      assert.ok(bad && !bad.ok, name);
      assert.equal(bad.message, `control characters are not allowed (${name})`);
      assert.deepEqual(bad.position, { line: 2, col: 6 });
      assert.equal(rest.length, 0);
    }
  });

  test('tab, CR, NEL, U+00A0 and astral characters are allowed', () => {
    const [ok] = parse('a: "x\ty\u0085\u00a0\u{1f600}"\r\nb: 1\n');
    assert.ok(ok?.ok, ok && !ok.ok ? ok.message : '');
  });

  test('a NUL says what it usually is: binary, or UTF-16 without a byte order mark', () => {
    const [bad] = parse(manifestText(Buffer.from('kind: Sidecar\n', 'utf16le')));
    assert.ok(bad && !bad.ok);
    assert.match(
      bad.message,
      /^control characters are not allowed \(U\+0000\): is it a binary file, or UTF-16 without a byte order mark\?/,
    );
  });

  test('each document is judged apart: the ones before and after a refused one are read; one failure per document', () => {
    const ms = parse('kind: A\n---\nkind: "\u0001\u0002"\n# \u0003\n---\nkind: C\n');
    assert.deepEqual(
      ms.map((m) => (m.ok ? (m.object as { kind: string }).kind : `${m.position.line}: ${m.message}`)),
      ['A', '3: control characters are not allowed (U+0001)', 'C'],
    );
  });

  test('a control character in a comment after the last document is reported too', () => {
    const ms = parse('kind: A\n# \u0004\n');
    assert.equal(failures(ms).length, 1);
    assert.deepEqual(failures(ms)[0]!.position, { line: 2, col: 3 });
  });

  test("in JSON (a text that starts with '{') DEL and the C1 controls are allowed, as Go's JSON decoder allows them", () => {
    const [ok] = parse('{"kind": "x\u007fy\u0085"}');
    assert.ok(ok?.ok, ok && !ok.ok ? ok.message : '');
    const [bad] = parse('{"kind": "x\u0001"}');
    assert.ok(bad && !bad.ok);
    assert.equal(bad.message, 'control characters are not allowed (U+0001)');
  });
});

describe('documents that are not objects', () => {
  test('a string, a number, a boolean or a list is a failure where it starts, naming what it is', () => {
    for (const [text, is] of [
      ['just text\n', 'a string'],
      ['42\n', 'a number'],
      ['true\n', 'a boolean'],
      ['- a: 1\n', 'a list'],
    ] as const) {
      const [bad] = parse(`kind: A\n---\n${text}`).slice(1);
      assert.ok(bad && !bad.ok, text);
      assert.equal(
        bad.message,
        `not a Kubernetes object: the document is ${is}, not a mapping (kubectl refuses it as "invalid object to validate")`,
      );
      assert.deepEqual(bad.position, { line: 3, col: 1 });
    }
  });

  test('an empty or null document is nothing, as kubectl skips it', () => {
    assert.deepEqual(parse('---\nnull\n---\n~\n---\n# only a comment\n'), []);
  });

  test('an item of a List that is not a mapping is a failure at the item; the other items are read', () => {
    const ms = parse('kind: List\nitems:\n- kind: A\n- 7\n');
    assert.equal(ms.length, 2);
    assert.ok(ms[0]!.ok);
    const bad = ms[1]!;
    assert.ok(!bad.ok);
    assert.match(bad.message, /^not a Kubernetes object: items\[1\] of the List is a number, not a mapping/);
    assert.deepEqual(bad.position, { line: 4, col: 3 });
  });
});

describe('line breaks and document starts as go-yaml reads them', () => {
  const kinds = (ms: Manifest[]) => ms.map((m) => (m.ok ? (m.object as { kind: string }).kind : `! ${m.message}`));

  test('a CR alone ends a line (old Mac files), so the file is not one long line', () => {
    const ms = parse('apiVersion: v1\rkind: A\rmetadata:\r  name: x\r---\rkind: B\r');
    assert.deepEqual(kinds(ms), ['A', 'B']);
    assert.ok(ms[1]!.ok);
    assert.deepEqual(ms[1]!.position, { line: 6, col: 1 });
  });

  test('a byte order mark at the start of a later document is dropped (files joined with cat), not read into its first key', () => {
    const ms = parse('kind: A\n---\n\ufeffkind: B\n--- # c\n\ufeffkind: C\n');
    assert.deepEqual(kinds(ms), ['A', 'B', 'C']);
  });
});

describe('JSON streams, as kubectl reads a JSON file', () => {
  const stream = '{"kind": "A", "metadata": {"name": "a"}}\n  {"kind": "B",\n "x": {"y": "}{\\"]"}}\n[1]\n';

  test('jsonValues finds each value, across strings with brackets and escaped quotes', () => {
    const found = jsonValues(stream, 10);
    assert.ok(!('tooMany' in found));
    assert.deepEqual(
      found.values.map(({ start, end }) => stream.slice(start, end)),
      ['{"kind": "A", "metadata": {"name": "a"}}', '{"kind": "B",\n "x": {"y": "}{\\"]"}}', '[1]'],
    );
    assert.equal(found.yamlFrom, undefined);
  });

  test('each value is a document, placed where it stands in the file; a list value is refused as any', () => {
    const ms = parseSource({ file: 's.json', text: stream });
    assert.equal(ms.length, 3);
    assert.ok(ms[0]!.ok && ms[1]!.ok && !ms[2]!.ok);
    assert.deepEqual(ms[1]!.position, { line: 2, col: 3 });
    assert.deepEqual(ms[1]!.locate('x.y'), { line: 3, col: 8 });
    assert.deepEqual(ms[2]!.position, { line: 4, col: 1 });
    assert.match(ms[2]!.message, /the document is a list/);
  });

  test('what follows the values and is no JSON value (`---` and YAML, a comment) is read as YAML, where it stands', () => {
    const ms = parseSource({ file: 'm.json', text: '{"kind": "A"}\n---\nkind: B\n# done\n' });
    assert.deepEqual(
      ms.map((m) => (m.ok ? [(m.object as { kind: string }).kind, m.position.line] : m.message)),
      [
        ['A', 1],
        ['B', 3],
      ],
    );
    assert.deepEqual(jsonValues('{} 12 -1.5e3 true null ---', 10), {
      values: [
        { start: 0, end: 2 },
        { start: 3, end: 5 },
        { start: 6, end: 12 },
        { start: 13, end: 17 },
        { start: 18, end: 22 },
      ],
      yamlFrom: 23,
    });
  });

  test('a value that does not close runs to the end, where the reader says what is wrong', () => {
    const ms = parseSource({ file: 'u.json', text: '{"kind": "A"}\n{"kind": "B"\n' });
    assert.equal(ms.length, 2);
    assert.ok(ms[0]!.ok);
    assert.ok(!ms[1]!.ok);
    assert.equal(ms[1]!.position.line >= 2, true);
  });

  test('property: any JSON values, joined by any white space kubectl skips, are found one for one', () => {
    const space = fc.constantFrom(' ', '\n', '\t', '\r\n', '\u00a0', '\u2028', '\f');
    const value = fc.jsonValue({ maxDepth: 3 }).filter((v) => typeof v === 'object' || typeof v === 'string');
    fc.assert(
      fc.property(fc.array(fc.tuple(value, space, fc.boolean()), { maxLength: 6 }), (items) => {
        const text = items.map(([v, gap, pretty]) => JSON.stringify(v, null, pretty ? 2 : 0) + gap).join('');
        const found = jsonValues(text, 100);
        assert.ok(!('tooMany' in found));
        assert.equal(found.yamlFrom, undefined);
        assert.deepEqual(
          found.values.map(({ start, end }) => JSON.parse(text.slice(start, end))),
          items.map(([v]) => JSON.parse(JSON.stringify(v))),
        );
      }),
      { numRuns: 500 },
    );
  });

  test('more values than a file may hold documents: one failure where the one past the limit starts', () => {
    assert.deepEqual(jsonValues('{} {} {}', 2), { tooMany: 6 });
  });
});

// `check` reads a manifest file's bytes as the real kubectl does: for each
// file below, `kubectl apply --dry-run=server -f FILE` and `sidecar-guard
// check FILE` come to the same kind of answer. kubectl refuses the file
// before sending it (control characters, a document that is not an object),
// the webhook denies the Sidecar in it, or it is accepted. The encodings are
// those an editor can save: UTF-16 with a byte order mark (read), UTF-16
// without one (refused), a UTF-8 byte order mark (dropped), CR line endings;
// and the shapes tools make: files joined with cat, JSON streams
// (`jq -c '.items[]'`), JSON followed by YAML documents.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { parseSource, type Manifest } from '../../src/manifests/documents.js';
import { runProcess } from '../helpers/process.js';
import { DENIED, kubectl, readState, ROOT } from './env.js';

const NS = 'e2e-encodings';

const sidecar = (host: string, annotation = 'plain') =>
  [
    'apiVersion: networking.istio.io/v1',
    'kind: Sidecar',
    'metadata:',
    '  name: enc',
    `  namespace: ${NS}`,
    `  annotations: {note: "${annotation}"}`,
    'spec:',
    '  egress:',
    `  - hosts: ["${host}"]`,
    '',
  ].join('\n');
const asJson = (host: string, annotation: string) =>
  JSON.stringify({
    apiVersion: 'networking.istio.io/v1',
    kind: 'Sidecar',
    metadata: { name: 'enc', namespace: NS, annotations: { note: annotation } },
    spec: { egress: [{ hosts: [host] }] },
  });

const BAD = 'bad-host'; // H1: not namespace/dnsName
const GOOD = './*';
const utf16le = (text: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
const utf16be = (text: string) => Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]);

type Verdict = 'refused before sending' | 'denied' | 'accepted';

const CASES: { name: string; file: string; bytes: Buffer; expected: Verdict }[] = [
  { name: 'UTF-8', file: 'a.yaml', bytes: Buffer.from(sidecar(BAD)), expected: 'denied' },
  {
    name: 'UTF-8 with a byte order mark',
    file: 'b.yaml',
    bytes: Buffer.from(`\ufeff${sidecar(BAD)}`),
    expected: 'denied',
  },
  { name: 'UTF-16LE with a byte order mark', file: 'c.yaml', bytes: utf16le(sidecar(BAD)), expected: 'denied' },
  { name: 'UTF-16BE with a byte order mark', file: 'd.yaml', bytes: utf16be(sidecar(BAD)), expected: 'denied' },
  { name: 'UTF-16LE, a valid Sidecar', file: 'e.yaml', bytes: utf16le(sidecar(GOOD)), expected: 'accepted' },
  {
    name: 'UTF-16LE without a byte order mark',
    file: 'f.yaml',
    bytes: Buffer.from(sidecar(BAD), 'utf16le'),
    expected: 'refused before sending',
  },
  {
    name: 'a control character (U+0001) in YAML',
    file: 'g.yaml',
    bytes: Buffer.from(sidecar(GOOD, 'x\u0001y')),
    expected: 'refused before sending',
  },
  {
    name: 'DEL in YAML',
    file: 'h.yaml',
    bytes: Buffer.from(sidecar(GOOD, 'x\u007fy')),
    expected: 'refused before sending',
  },
  { name: 'DEL in JSON', file: 'i.json', bytes: Buffer.from(asJson(GOOD, 'x\u007fy')), expected: 'accepted' },
  {
    name: 'a string document after a valid Sidecar',
    file: 'j.yaml',
    bytes: Buffer.from(`${sidecar(GOOD)}---\njust some text\n`),
    expected: 'refused before sending',
  },
  { name: 'a YAML list', file: 'k.yaml', bytes: Buffer.from('- a: 1\n- b: 2\n'), expected: 'refused before sending' },
  {
    name: 'a byte order mark at the start of the second document (files joined with cat)',
    file: 'l.yaml',
    bytes: Buffer.from(`${sidecar(GOOD)}---\n\ufeff${sidecar(BAD).replace('name: enc', 'name: enc2')}`),
    expected: 'denied',
  },
  {
    name: 'CR line endings alone (an old Mac editor)',
    file: 'm.yaml',
    bytes: Buffer.from(sidecar(BAD).replaceAll('\n', '\r')),
    expected: 'denied',
  },
  {
    name: 'a JSON stream: two objects, one per line',
    file: 'n.json',
    bytes: Buffer.from(`${asJson(GOOD, 'a')}\n${asJson(BAD, 'b').replace('"enc"', '"enc2"')}\n`),
    expected: 'denied',
  },
  {
    name: 'a JSON stream of a valid Sidecar and a ConfigMap, on one line',
    file: 'o.json',
    bytes: Buffer.from(
      `${asJson(GOOD, 'a')} ${JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'enc', namespace: NS } })}`,
    ),
    expected: 'accepted',
  },
  {
    name: 'JSON, then --- and a YAML document',
    file: 'p.json',
    bytes: Buffer.from(`${asJson(GOOD, 'a')}\n---\n${sidecar(BAD).replace('name: enc', 'name: enc2')}`),
    expected: 'denied',
  },
  {
    name: 'a mapping key that is a list',
    file: 'q.yaml',
    bytes: Buffer.from(sidecar(GOOD).replace('spec:\n', '  ? [1]\n  : x\nspec:\n')),
    expected: 'refused before sending',
  },
  // Lists as `kubectl get -o json` and `-o yaml` print them: read item by item (src/manifests/documents.ts).
  {
    name: 'a JSON List as kubectl prints it',
    file: 'r.json',
    bytes: Buffer.from(JSON.stringify(kubectlList(), null, 4)),
    expected: 'denied',
  },
  {
    name: 'a YAML List as kubectl prints it',
    file: 's.yaml',
    bytes: Buffer.from(stringify(kubectlList(), { indentSeq: false })),
    expected: 'denied',
  },
];

/** Two Sidecars, the second with a host Istio refuses, as one List. */
function kubectlList() {
  const item = (name: string, host: string) => ({
    apiVersion: 'networking.istio.io/v1',
    kind: 'Sidecar',
    metadata: { name, namespace: NS, annotations: { note: 'list' } },
    spec: { egress: [{ hosts: [host] }] },
  });
  return {
    apiVersion: 'v1',
    items: [item('enc', GOOD), item('enc2', BAD)],
    kind: 'List',
    metadata: { resourceVersion: '' },
  };
}

let dir: string;

before(async () => {
  readState();
  dir = mkdtempSync(join(tmpdir(), 'sidecar-guard-encodings-'));
  // Created once and left, as the other suites leave theirs: nothing here finalizes a deleted namespace.
  const r = await kubectl(['create', 'namespace', NS]);
  if (r.code !== 0) assert.match(r.stderr, /AlreadyExists/);
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function kubectlVerdict(path: string): Promise<Verdict> {
  const r = await kubectl(['apply', '--dry-run=server', '-f', path]);
  if (r.code === 0) return 'accepted';
  if (r.stderr.includes(DENIED)) return 'denied';
  assert.match(r.stderr, /^error: error (parsing|validating) /m, `kubectl failed otherwise: ${r.stderr}`);
  return 'refused before sending';
}

async function checkVerdict(path: string): Promise<Verdict> {
  const r = await runProcess(process.execPath, ['bin/sidecar-guard.js', 'check', '--output', 'json', path], {
    cwd: ROOT,
    timeout: 60_000,
  });
  const { summary } = JSON.parse(r.stdout) as { summary: { unparsable: number; rejected: number; allowed: number } };
  if (summary.unparsable > 0) return 'refused before sending';
  return summary.rejected > 0 ? 'denied' : 'accepted';
}

describe('check reads a file as the real kubectl does', () => {
  for (const c of CASES) {
    test(`${c.name}: ${c.expected}`, async () => {
      const path = join(dir, c.file);
      writeFileSync(path, c.bytes);
      assert.equal(await kubectlVerdict(path), c.expected, 'kubectl');
      assert.equal(await checkVerdict(path), c.expected, 'sidecar-guard check');
    });
  }
});

test('a repeated key: kubectl keeps the last value and drops the first without a word; check refuses, naming the key', async () => {
  // The first egress list, with a host Istio refuses, is what kubectl silently throws away.
  const twice = sidecar(GOOD).replace('spec:\n', `spec:\n  egress:\n  - hosts: ["${BAD}"]\n`);
  const path = join(dir, 'repeated.yaml');
  writeFileSync(path, twice);
  const applied = await kubectl(['apply', '--dry-run=server', '-f', path, '-o', 'jsonpath={.spec.egress[*].hosts}']);
  assert.equal(applied.code, 0, applied.stderr);
  assert.equal(applied.stdout, `["${GOOD}"]`);
  const checked = await runProcess(process.execPath, ['bin/sidecar-guard.js', 'check', path], {
    cwd: ROOT,
    timeout: 60_000,
  });
  assert.equal(checked.code, 1);
  assert.match(
    checked.stdout,
    /repeated\.yaml:10:3: error: Map keys must be unique: "egress" is repeated \(kubectl would keep this last value and silently drop the earlier one\)/,
  );
});

test('kubectl get -o yaml and -o json of stored Sidecars: check reads each item where it stands, as it reads the List whole', async () => {
  // Stored by kubectl apply: the last-applied annotation (a block scalar), a value long enough for the YAML
  // printer to fold across lines, and the metadata the API server adds.
  const long = 'a description long enough that the YAML printer folds it across several lines, past eighty columns';
  const applied = Array.from({ length: 3 }, (_, i) =>
    sidecar(GOOD, long)
      .replace('name: enc', `name: dump-${i}`)
      .replace('spec:\n', `spec:\n  workloadSelector:\n    labels:\n      app: dump-${i}\n`),
  ).join('---\n');
  const created = await kubectl(['apply', '-f', '-'], { stdin: applied });
  assert.equal(created.code, 0, created.stderr);
  try {
    for (const [format, file, whole] of [
      ['yaml', 'dump.yaml', (text: string) => `---\n${text}`],
      ['json', 'dump.json', (text: string) => `# read whole\n${text}`],
    ] as const) {
      const dump = await kubectl(['get', 'sidecars', '-n', NS, '-o', format]);
      assert.equal(dump.code, 0, dump.stderr);
      const cut = parseSource({ file, text: dump.stdout });
      assert.deepEqual(
        cut.map((m) => m.ok && (m.object as { metadata: { name: string } }).metadata.name).sort(),
        ['dump-0', 'dump-1', 'dump-2'],
        format,
      );
      // The same text read as one document (a leading line the cut leaves alone), one line lower.
      const read = parseSource({ file, text: whole(dump.stdout) });
      const places = (ms: Manifest[], shift: number) =>
        ms.map((m) => {
          assert.ok(m.ok);
          const at = (p: { line: number; col: number }) => ({ line: p.line - shift, col: p.col });
          return [
            m.object,
            at(m.position),
            at(m.locate('metadata.annotations[note]')),
            at(m.locate('spec.egress[0].hosts[0]')),
          ];
        });
      assert.deepEqual(places(cut, 0), places(read, 1), format);
      const path = join(dir, file);
      writeFileSync(path, dump.stdout);
      assert.equal(await checkVerdict(path), 'accepted', format);
    }
  } finally {
    await kubectl(['delete', 'sidecars', '-n', NS, 'dump-0', 'dump-1', 'dump-2']);
  }
});

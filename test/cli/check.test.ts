import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runCli, spawnCli } from '../helpers/cli.js';

const good = `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata:
  name: default
  namespace: shop
spec:
  egress:
  - hosts: ["./*", "istio-system/*"]
`;
const bad = `apiVersion: networking.istio.io/v1beta1
kind: Sidecar
metadata:
  name: broken
spec:
  egress:
  - hosts:
    - "./*"
  - port:
      number: 80
      protocol: HTTP
      name: http
    hosts:
    - "noslash"
`;

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'sg-check-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

describe('sidecar-guard check', () => {
  test('text output: file:line:col: severity: namespace/name: path: message [rule], then a summary; exit 1 on rejection', async () => {
    const dir = tree({ 'bad.yaml': bad });
    const res = await runCli(['check', join(dir, 'bad.yaml')]);
    assert.equal(res.code, 1);
    const lines = res.stdout.trim().split('\n');
    assert.equal(
      lines[0],
      `${join(dir, 'bad.yaml')}:7:5: error: default/broken: spec.egress[0].port: sidecar: the egress listener with empty port should be the last listener in the list [E2]`,
    );
    assert.equal(
      lines[1],
      `${join(dir, 'bad.yaml')}:14:7: error: default/broken: spec.egress[1].hosts[0]: host must be of form namespace/dnsName [H1]`,
    );
    assert.equal(lines.at(-1), '1 file, 1 Sidecar: 0 allowed, 1 rejected, 0 other documents skipped');
  });

  test('a warning\'s line names its Sidecar once: the message\'s own "Sidecar ns/name: " (there for kubectl) is dropped', async () => {
    const file = [
      'apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: default, namespace: shop}',
      'spec:\n  egress:\n  - hosts: ["./*"]\n  outboundTrafficPolicy: {mode: REGISTRY_ONLY}\n---',
      'apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: reviews, namespace: shop}',
      'spec:\n  workloadSelector: {labels: {app: reviews}}\n  egress:\n  - hosts: ["./*"]\n',
    ].join('\n');
    const res = await runCli(['check', '-'], { stdin: file });
    assert.equal(res.code, 0, res.stderr);
    assert.match(
      res.stdout,
      /^<stdin>:\d+:\d+: warning: shop\/reviews: spec\.outboundTrafficPolicy: without outboundTrafficPolicy, the pods it selects get the mesh's outbound mode .* \[outbound\.bypass\]$/m,
    );
  });

  test('a UTF-16 file with a byte order mark is read as kubectl reads it: its Sidecar is judged, at the same lines', async () => {
    const dir = tree({});
    const file = join(dir, 'windows.yaml');
    writeFileSync(file, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(bad, 'utf16le')]));
    const res = await runCli(['check', file]);
    assert.equal(res.code, 1);
    assert.match(
      res.stdout,
      /windows\.yaml:14:7: error: default\/broken: spec\.egress\[1\]\.hosts\[0\]: host must be of form namespace\/dnsName \[H1\]/,
    );
    // Without the mark it is UTF-8 with a NUL after every character: refused, saying so.
    writeFileSync(file, Buffer.from(bad, 'utf16le'));
    const bare = await runCli(['check', file]);
    assert.equal(bare.code, 1);
    assert.match(
      bare.stdout,
      /windows\.yaml:1:2: error: control characters are not allowed \(U\+0000\): is it a binary file, or UTF-16 without a byte order mark\?/,
    );
    assert.match(bare.stdout, /1 document could not be parsed\n$/);
  });

  test('json output is one object with the documented shape; the default namespace is "default"', async () => {
    const dir = tree({ 'bad.yaml': bad });
    const res = await runCli(['check', '-o', 'json', join(dir, 'bad.yaml')]);
    const out = JSON.parse(res.stdout);
    assert.deepEqual(Object.keys(out), ['results', 'summary']);
    assert.deepEqual(out.summary, { files: 1, sidecars: 1, allowed: 0, rejected: 1, unparsable: 0, skipped: 0 });
    const [r] = out.results;
    assert.deepEqual(Object.keys(r), [
      'file',
      'line',
      'apiVersion',
      'kind',
      'namespace',
      'name',
      'allowed',
      'errors',
      'warnings',
    ]);
    assert.equal(r.namespace, 'default');
    assert.equal(r.apiVersion, 'networking.istio.io/v1beta1');
    assert.equal(r.line, 1);
    assert.deepEqual(r.errors[0], {
      rule: 'E2',
      path: 'spec.egress[0].port',
      message: 'sidecar: the egress listener with empty port should be the last listener in the list',
    });
  });

  test('--namespace sets the namespace of objects that do not say', async () => {
    const dir = tree({ 'bad.yaml': bad });
    const res = await runCli(['check', '-o', 'json', '--namespace', 'billing', join(dir, 'bad.yaml')]);
    assert.equal(JSON.parse(res.stdout).results[0].namespace, 'billing');
  });

  test('directories are read recursively (*.yaml, *.yml, *.json), other documents are skipped and counted', async () => {
    const dir = tree({
      'a.yaml': good,
      'sub/b.yml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n',
      'sub/deeper/c.json': JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          {
            apiVersion: 'networking.istio.io/v1',
            kind: 'Sidecar',
            metadata: { name: 'j', namespace: 'x' },
            spec: { egress: [{ hosts: ['./*'] }] },
          },
        ],
      }),
      'notes.txt': 'not a manifest',
    });
    const res = await runCli(['check', '-o', 'json', dir]);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(JSON.parse(res.stdout).summary, {
      files: 3,
      sidecars: 2,
      allowed: 2,
      rejected: 0,
      unparsable: 0,
      skipped: 1,
    });
  });

  test('stdin with -, in a real process', async () => {
    const res = await spawnCli(['check', '-'], { stdin: good });
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /1 file, 1 Sidecar: 1 allowed, 0 rejected/);
    const rejected = await spawnCli(['check', '-'], { stdin: bad });
    assert.equal(rejected.code, 1);
  });

  // Like a file named twice, stdin is read once: it was counted as two files, the second empty.
  test('check - - reads and counts stdin once, as a file named twice is', async () => {
    const res = await spawnCli(['check', '-o', 'json', '-', '-'], { stdin: bad });
    assert.equal(res.code, 1, res.stderr);
    const report = JSON.parse(res.stdout);
    assert.equal(report.summary.files, 1);
    assert.deepEqual(
      report.results.map((r: { file: string; name: string }) => `${r.file} ${r.name}`),
      ['<stdin> broken'],
    );
    const dir = tree({ 'bad.yaml': bad });
    const twice = await spawnCli(['check', join(dir, 'bad.yaml'), '-', join(dir, 'bad.yaml'), '-'], { stdin: good });
    assert.match(twice.stdout, /^2 files, 2 Sidecars: 1 allowed, 1 rejected/m);
  });

  test('a YAML syntax error is a rejected result with the parser line, not a crash', async () => {
    const res = await runCli(['check', '-o', 'json', '-'], { stdin: 'apiVersion: v1\nkind: [\n' });
    assert.equal(res.code, 1);
    const [r] = JSON.parse(res.stdout).results;
    assert.equal(r.allowed, false);
    assert.equal(r.errors[0].rule, 'yaml.parse');
    assert.ok(r.line >= 2);
  });

  test('unknown fields are errors, as kubectl strict validation would refuse them', async () => {
    const res = await runCli(['check', '-o', 'json', '-'], { stdin: good.replace('spec:\n', 'spec:\n  egres: []\n') });
    assert.equal(res.code, 1);
    const errors = JSON.parse(res.stdout).results[0].errors;
    assert.ok(
      errors.some(
        (e: { rule: string; message: string }) => e.rule === 'schema.unknown-field' && /spec\.egres/.test(e.message),
      ),
      JSON.stringify(errors),
    );
  });

  test('cross-object rules apply among the documents; same kind/namespace/name is one object applied in order', async () => {
    const second = good.replace('name: default', 'name: second');
    const res = await runCli(['check', '-o', 'json', '-'], { stdin: `${good}---\n${second}---\n${good}` });
    const results = JSON.parse(res.stdout).results;
    assert.deepEqual(
      results.map((r: { allowed: boolean }) => r.allowed),
      [true, false, true],
    );
    assert.equal(results[1].errors[0].rule, 'conflict.default');
    const isolated = await runCli(['check', '--isolated', '-'], { stdin: `${good}---\n${second}` });
    assert.equal(isolated.code, 0);
  });

  test('a finding reported twice in a row (H5) is one text line saying so; JSON keeps both', async () => {
    const stdin = good.replace('["./*", "istio-system/*"]', '["shop/foo_bar.example.com"]');
    const text = await runCli(['check', '--isolated', '-'], { stdin });
    assert.equal(text.code, 1);
    const lines = text.stdout.split('\n').filter((l) => l.includes('[H5]'));
    assert.equal(lines.length, 1, text.stdout);
    assert.match(lines[0]!, /domain name "foo_bar\.example\.com" invalid .*\[H5\] \(reported 2 times\)$/);
    const json = await runCli(['check', '--isolated', '-o', 'json', '-'], { stdin });
    assert.equal(JSON.parse(json.stdout).results[0].errors.filter((e: { rule: string }) => e.rule === 'H5').length, 2);
  });

  test('a conflict says where the other Sidecar was read, in another file or the same one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-peer-'));
    writeFileSync(join(dir, 'a.yaml'), good);
    const selective = (name: string) =>
      good
        .replace('name: default', `name: ${name}`)
        .replace('spec:\n', 'spec:\n  workloadSelector:\n    labels:\n      app: web\n');
    writeFileSync(
      join(dir, 'b.yaml'),
      `${good.replace('name: default', 'name: second')}---\n${selective('one')}---\n${selective('two')}`,
    );
    const res = await runCli(['check', '-o', 'json', dir]);
    assert.equal(res.code, 1);
    const errors = JSON.parse(res.stdout).results.flatMap(
      (r: { errors: { rule: string; message: string }[] }) => r.errors,
    );
    const message = (rule: string) => errors.find((e: { rule: string }) => e.rule === rule)?.message ?? '';
    assert.ok(
      message('conflict.default').endsWith(`(shop/default is at ${join(dir, 'a.yaml')}:1)`),
      message('conflict.default'),
    );
    assert.match(message('conflict.overlap'), new RegExp(`\\(shop/one is at ${join(dir, 'b.yaml')}:\\d+\\)$`));
  });

  test("a top-level field Istio does not know gets Istio's text (istio.unknown-field), once", async () => {
    const res = await runCli(['check', '-o', 'json', '-'], { stdin: `${good}extra: 1\n` });
    assert.equal(res.code, 1);
    const errors = JSON.parse(res.stdout).results[0].errors;
    assert.deepEqual(errors, [
      { rule: 'istio.unknown-field', path: 'extra', message: 'unknown field "extra" on Sidecar resource shop/default' },
    ]);
  });

  test('a later document of an accepted object is its UPDATE: a deletion is grandfathered as in the webhook', async () => {
    const deleting = good
      .replace(
        'namespace: shop',
        'namespace: shop\n  deletionTimestamp: "2026-01-01T00:00:00Z"\n  finalizers: [example.com/keep]',
      )
      .replace('"istio-system/*"', '"noslash"');
    const res = await runCli(['check', '-o', 'json', '-'], { stdin: `${good}---\n${deleting}` });
    assert.equal(res.code, 0, res.stdout);
    const [, second] = JSON.parse(res.stdout).results;
    assert.deepEqual(second.errors, []);
    assert.equal(second.warnings.length, 1);
    assert.equal(second.warnings[0].rule, 'H1');
    assert.match(
      second.warnings[0].message,
      /^host must be of form namespace\/dnsName \(allowed: the Sidecar is being deleted\)$/,
    );
    // Alone (no accepted version before it), the same document is a CREATE and is refused.
    const alone = await runCli(['check', '-o', 'json', '-'], { stdin: deleting });
    assert.equal(alone.code, 1);
    assert.equal(JSON.parse(alone.stdout).results[0].errors[0].rule, 'H1');
  });

  test('usage errors and unreadable paths exit 2 with a message on stderr', async () => {
    for (const args of [
      ['check'],
      ['check', '/no/such/file.yaml'],
      ['check', '--output', 'xml', '-'],
      ['check', '--bogus', 'x'],
      ['nope'],
    ]) {
      const res = await runCli(args);
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`);
      assert.match(res.stderr, /^sidecar-guard: /);
    }
  });
});

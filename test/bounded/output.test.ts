// Issue 14: `check` and `audit` print a bounded amount per object, as the
// webhook answers: FINDING_LIMITS per Sidecar ("… and N more like this" for
// the rest, counted in the summary line), messages cut at 1,024 characters.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { pod, sidecar } from '../helpers/objects.js';

const yaml = (objects: readonly unknown[]) => objects.map((o) => `---\n${JSON.stringify(o)}\n`).join('');
const shortNames = (n: number) => Array.from({ length: n }, (_, i) => `ns/short${i}`);

describe('check prints a bounded amount per Sidecar', () => {
  test('30 short names: 20 lines, then "… and 10 more like this" right after them; the summary counts the Sidecar once', async () => {
    const text = yaml([sidecar('shop', 'many', { spec: { egress: [{ hosts: shortNames(30) }] } })]);
    const res = await runCli(['check', '-'], { stdin: text });
    assert.equal(res.code, 1);
    const lines = res.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 22);
    assert.ok(
      lines.slice(0, 20).every((l) => l.endsWith(': short names (non FQDN) are not allowed [H4]')),
      lines[0],
    );
    assert.match(
      lines[20]!,
      /^<stdin>:\d+:\d+: error: shop\/many: spec\.egress\[0\]\.hosts: … and 10 more like this \[H4\]$/,
    );
    assert.equal(lines[21], '1 file, 1 Sidecar: 0 allowed, 1 rejected, 0 other documents skipped');
  });

  test('--output json: the summary finding says how many of which rule it stands for', async () => {
    const text = yaml([sidecar('shop', 'many', { spec: { egress: [{ hosts: shortNames(30) }] } })]);
    const res = await runCli(['check', '--output', 'json', '-'], { stdin: text });
    const [result] = JSON.parse(res.stdout).results;
    assert.equal(result.errors.length, 21);
    assert.deepEqual(result.errors[20], {
      rule: 'H4',
      path: 'spec.egress[0].hosts',
      message: '… and 10 more like this',
      omitted: { H4: 10 },
    });
  });

  test('a 100,000-character host: each message cut at 1,024 characters, in text and JSON', async () => {
    const host = `ns/${'a*'.repeat(50_000)}.com`;
    const text = yaml([sidecar('shop', 'long', { spec: { egress: [{ hosts: [host] }] } })]);
    const json = JSON.parse((await runCli(['check', '--output', 'json', '-'], { stdin: text })).stdout);
    const messages: string[] = json.results[0].errors.map((e: { message: string }) => e.message);
    assert.deepEqual(
      json.results[0].errors.map((e: { rule: string }) => e.rule),
      ['H5', 'H5', 'H6'],
    );
    assert.ok(
      messages.every((m) => m.length === 1024 && m.endsWith('…')),
      `${messages.map((m) => m.length)}`,
    );
    const out = (await runCli(['check', '-'], { stdin: text })).stdout;
    assert.ok(out.length < 4 * 1200, `${out.length} characters of text`);
  });

  test('a Sidecar of 2 MiB is one line: object.size', async () => {
    const hosts = Array.from({ length: 2_000 }, (_, i) => `ns/h${i}.${'a'.repeat(1000)}.com`);
    const text = yaml([sidecar('shop', 'huge', { spec: { egress: [{ hosts }] } })]);
    const res = await runCli(['check', '-'], { stdin: text });
    assert.equal(res.code, 1);
    assert.match(
      res.stdout,
      /^<stdin>:\d+:\d+: error: shop\/huge: the object is larger than 1,572,864 bytes \(1\.5 MiB\) as JSON, the most etcd stores in one request by default; it was not judged \[object\.size\]\n1 file, 1 Sidecar: 0 allowed, 1 rejected/,
    );
  });
});

describe('audit prints a bounded amount per Sidecar', () => {
  // Two Sidecars select the same 30 pods: with --overlap pods, Istio's analyzer reports each pair once per pod.
  const input = yaml([
    sidecar('shop', 'a', { selector: { app: 'x' } }),
    sidecar('shop', 'b', { selector: { app: 'x' } }),
    ...Array.from({ length: 30 }, (_, i) => pod('shop', `x-${i}`, { app: 'x' })),
  ]);

  test('30 overlaps per Sidecar: 20 lines each, then "… and 10 more like this"; the summary counts all 60', async () => {
    const res = await runCli(['audit', '--overlap', 'pods', '-'], { stdin: input });
    assert.equal(res.code, 1);
    const lines = res.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 2 * 21 + 1);
    assert.equal(lines.filter((l) => l.startsWith('Error [IST0110] (Sidecar shop/a) The Sidecars [a b]')).length, 20);
    assert.equal(lines[20], 'Error [IST0110] (Sidecar shop/a) … and 10 more like this [conflict.overlap]');
    assert.equal(lines[41], 'Error [IST0110] (Sidecar shop/b) … and 10 more like this [conflict.overlap]');
    assert.equal(lines[42], '60 findings (60 errors, 0 warnings) among 2 Sidecars in 1 namespace (30 pods).');
  });

  test('--output json: the same findings, the summary entry with its code and count', async () => {
    const json = JSON.parse(
      (await runCli(['audit', '--overlap', 'pods', '--output', 'json', '-'], { stdin: input })).stdout,
    );
    assert.equal(json.findings.length, 42);
    assert.deepEqual(json.findings[20], {
      code: 'IST0110',
      rule: 'conflict.overlap',
      severity: 'error',
      kind: 'Sidecar',
      namespace: 'shop',
      name: 'a',
      message: '… and 10 more like this',
      omitted: { 'conflict.overlap': 10 },
    });
    assert.equal(json.summary.findings, 60);
  });

  test('500 Sidecars with one selector (249,500 overlapping pairs): 21 lines each, every pair counted', async () => {
    // Each Sidecar overlaps 499 others. Every pair was made a finding, and the list spread into push():
    // a stack overflow from about 400 such Sidecars, out of memory at 10,000 (found by an adversarial review).
    const same = yaml(Array.from({ length: 500 }, (_, i) => sidecar('shop', `s-${i}`, { selector: { app: 'a' } })));
    const res = await runCli(['audit', '-'], { stdin: same });
    assert.equal(res.code, 1, res.stderr);
    const lines = res.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 500 * 21 + 1);
    assert.equal(lines.filter((l) => l.startsWith('Error [IST0110] (Sidecar shop/s-7) The Sidecars [')).length, 20);
    assert.ok(lines.includes('Error [IST0110] (Sidecar shop/s-7) … and 479 more like this [conflict.overlap]'));
    assert.equal(
      lines.at(-1),
      '249500 findings (249500 errors, 0 warnings) among 500 Sidecars in 1 namespace (0 pods).',
    );
    const json = JSON.parse((await runCli(['audit', '--output', 'json', '-'], { stdin: same })).stdout);
    assert.equal(json.summary.findings, 500 * 499);
    assert.equal(json.findings.length, 500 * 21);
  });

  test('300 namespace-wide Sidecars: one finding each, its message (naming all 300) cut at 1,024 characters', async () => {
    const many = yaml(Array.from({ length: 300 }, (_, i) => sidecar('shop', `sidecar-number-${i}`)));
    const json = JSON.parse((await runCli(['audit', '--output', 'json', '-'], { stdin: many })).stdout);
    assert.equal(json.findings.length, 300);
    assert.ok(
      json.findings.every(
        (f: { code: string; message: string }) =>
          f.code === 'IST0111' && f.message.length === 1024 && f.message.endsWith('…'),
      ),
    );
  });
});

describe('text outputs show control characters from the input as text', () => {
  // An object's names and keys, and a file's name, are the input's: an ANSI sequence in one would recolour or
  // rewrite the terminal, and a newline would print a line of its own that looks like a finding (adversarial review).
  const ESC = '\u001b';
  const hostileKey = `${ESC}[2K${ESC}[1Gok\nfake.yaml:1:1: error: forged`;
  const dir = mkdtempSync(join(tmpdir(), 'sg-controls-'));
  const file = join(dir, `x${ESC}[31m\ny.yaml`);
  writeFileSync(file, yaml([sidecar('shop', 'a', { labels: { [hostileKey]: 'v' } })]));
  const escaped = (s: string) => s.replaceAll(ESC, '\\u001b').replaceAll('\n', '\\u000a');

  for (const output of ['text', 'github']) {
    test(`check --output ${output}: no control character reaches stdout, each finding stays one line`, async () => {
      const res = await runCli(['check', '--output', output, file]);
      assert.equal(res.code, 1);
      // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for them
      assert.doesNotMatch(res.stdout, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
      const lines = res.stdout.trimEnd().split('\n');
      assert.equal(lines.length, 2, res.stdout);
      assert.ok(lines[0]!.includes(output === 'text' ? escaped(file) : 'x\\u001b[31m%0Ay.yaml'), lines[0]);
      assert.ok(
        lines[0]!.includes(output === 'text' ? escaped(hostileKey) : '\\u001b[2K\\u001b[1Gok%0Afake.yaml'),
        lines[0],
      );
    });
  }

  test('audit: a Sidecar name or namespace from the cluster is printed escaped', async () => {
    const stdin = yaml([sidecar('shop', 'one'), sidecar('shop', `two${ESC}]0;owned${ESC}\\`)]);
    const res = await runCli(['audit', '-'], { stdin });
    assert.equal(res.code, 1);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for them
    assert.doesNotMatch(res.stdout, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    assert.match(res.stdout, /two\\u001b\]0;owned\\u001b\\/);
  });
});

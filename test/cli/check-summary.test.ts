// check's totals and parse errors as CI logs show them: Sidecars are allowed
// or rejected, documents that are not YAML are counted on their own line;
// an error at the end of a file points at its last line and names the
// object when its name could be read; --isolated keeps the rules that need
// no other object.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runCli } from '../helpers/cli.js';

const sidecar = (name: string, spec: string, namespace = 'shop') =>
  `apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\nspec:\n${spec}`;
const GOOD = sidecar('good', '  egress:\n  - hosts: ["./*"]\n');
const BAD = sidecar('bad', '  workloadSelector:\n    labels:\n      app: x\n  egress:\n  - hosts: ["nodots"]\n');
/** Eight lines, the last one unclosed: the error is found past the end of the text. */
const UNCLOSED = sidecar('broken', '  egress:\n  - hosts: ["./*"\n');

describe('check summary', () => {
  const stdin = `${GOOD}---\n${BAD}---\nkind: [\n---\n${UNCLOSED}`;

  test('text: Sidecars = allowed + rejected; parse failures on their own line; exit 1', async () => {
    const res = await runCli(['check', '-'], { stdin });
    assert.equal(res.code, 1);
    const lines = res.stdout.trimEnd().split('\n');
    assert.equal(lines.at(-2), '1 file, 2 Sidecars: 1 allowed, 1 rejected, 0 other documents skipped');
    assert.equal(lines.at(-1), '2 documents could not be parsed');
  });

  test('json: sidecars = allowed + rejected, unparsable apart', async () => {
    const res = await runCli(['check', '-o', 'json', '-'], { stdin });
    const { summary } = JSON.parse(res.stdout) as { summary: Record<string, number> };
    assert.deepEqual(summary, { files: 1, sidecars: 2, allowed: 1, rejected: 1, unparsable: 2, skipped: 0 });
    assert.equal(summary.sidecars, summary.allowed! + summary.rejected!);
  });

  test('only parse failures: no Sidecar line lies about them, exit 1', async () => {
    const res = await runCli(['check', '-'], { stdin: 'kind: [\n' });
    assert.equal(res.code, 1);
    assert.match(
      res.stdout,
      /1 file, 0 Sidecars: 0 allowed, 0 rejected, 0 other documents skipped\n1 document could not be parsed\n$/,
    );
  });

  test('an error at the end of a file: its last line, and the name of the document', async () => {
    const res = await runCli(['check', '-'], { stdin: UNCLOSED });
    const total = UNCLOSED.trimEnd().split('\n').length;
    assert.equal(total, 8);
    const [finding] = res.stdout.split('\n');
    assert.match(
      finding!,
      new RegExp(`^<stdin>:${total}:\\d+: error: .* \\(Sidecar shop/broken\\) \\[yaml\\.parse\\]$`),
    );
    const json = JSON.parse((await runCli(['check', '-o', 'json', '-'], { stdin: UNCLOSED })).stdout) as {
      results: { line: number; namespace: string; name: string }[];
    };
    assert.deepEqual(
      json.results.map((r) => [r.line, r.namespace, r.name]),
      [[total, 'shop', 'broken']],
    );
  });
});

describe('check --isolated', () => {
  test('keeps root.selector, which needs no other object', async () => {
    const stdin = sidecar(
      'root-sel',
      '  workloadSelector:\n    labels:\n      app: x\n  egress:\n  - hosts: ["./*"]\n',
      'istio-system',
    );
    const res = await runCli(['check', '--isolated', '-o', 'json', '-'], { stdin });
    const [r] = (JSON.parse(res.stdout) as { results: { warnings: { rule: string }[] }[] }).results;
    assert.deepEqual(
      r!.warnings.map((w) => w.rule),
      ['root.selector'],
    );
  });
});

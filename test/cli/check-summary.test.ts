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

describe('a near miss of the kind or the group is judged, not skipped', () => {
  const doc = (apiVersion: string, kind: string) =>
    `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata:\n  name: a\n  namespace: shop\nspec:\n  egress:\n  - hosts: ["./*"]\n`;

  test('Sidcar, sidecar, Sidecars, networking.isito.io: refused with object.kind, exit 1 (kubectl refuses them too)', async () => {
    for (const [apiVersion, kind, path] of [
      ['networking.istio.io/v1', 'Sidcar', 'kind'],
      ['networking.istio.io/v1', 'sidecar', 'kind'],
      ['networking.istio.io/v1beta1', 'Sidecars', 'kind'],
      ['networking.isito.io/v1', 'Sidecar', 'apiVersion'],
      ['Networking.Istio.io/v1', 'SideCar', 'apiVersion'],
      ['networking.istio.io', 'Sidecar', 'apiVersion'],
    ] as const) {
      const res = await runCli(['check', '-'], { stdin: doc(apiVersion, kind) });
      assert.equal(res.code, 1, `${apiVersion} ${kind}`);
      assert.match(res.stdout, new RegExp(`error: shop/a: ${path}: .*\\[object\\.kind\\]`), `${apiVersion} ${kind}`);
      assert.match(res.stdout, /1 Sidecar: 0 allowed, 1 rejected, 0 other documents skipped/);
    }
  });

  test('the JSON result gives the kind as written', async () => {
    const res = await runCli(['check', '-o', 'json', '-'], { stdin: doc('networking.istio.io/v1', 'Sidcar') });
    const [result] = (JSON.parse(res.stdout) as { results: { kind: string; namespace: string }[] }).results;
    assert.deepEqual([result!.kind, result!.namespace], ['Sidcar', 'shop']);
  });

  test('audit says on stderr that it skips one, and audits the rest', async () => {
    const res = await runCli(['audit', '-'], { stdin: `${doc('networking.istio.io/v1', 'Sidcar')}---\n${GOOD}` });
    assert.equal(res.code, 0);
    assert.equal(
      res.stderr,
      'sidecar-guard: <stdin>:1: "Sidcar" of networking.istio.io/v1 is not a Sidecar and is not audited (check reports it as object.kind)\n',
    );
    assert.match(res.stdout, /among 1 Sidecar/);
  });

  test("the group's other kinds and a Sidecar kind of another group are other documents", async () => {
    for (const [apiVersion, kind] of [
      ['networking.istio.io/v1', 'Gateway'],
      ['networking.istio.io/v1', 'ServiceEntry'],
      ['networking.istio.io/v1', 'ProxyConfig'],
      ['apps/v1', 'Sidecar'],
      ['v1', 'Sidecar'],
      ['example.com/v1', 'Sidecar'],
    ] as const) {
      const res = await runCli(['check', '-'], { stdin: doc(apiVersion, kind) });
      assert.equal(res.code, 0, `${apiVersion} ${kind}: ${res.stdout}`);
      assert.match(res.stdout, /0 Sidecars: 0 allowed, 0 rejected, 1 other document skipped/);
    }
  });
});

test("the API server's note that it skipped the CEL rules follows the errors it is about, as kubectl prints it", async () => {
  const stdin = sidecar(
    'typed',
    '  ingress:\n  - port: {number: "80", protocol: HTTP, name: http}\n    defaultEndpoint: 127.0.0.1:8080\n',
  );
  const res = await runCli(['check', '-'], { stdin });
  assert.equal(res.code, 1);
  const rules = res.stdout
    .trimEnd()
    .split('\n')
    .slice(0, -1)
    .map((l) => /\[([a-z.]+)\]$/.exec(l)?.[1]);
  assert.deepEqual(rules, ['schema.type', 'schema.cel']);
});

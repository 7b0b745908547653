// `check` on a YAML file whose maps carry `__proto__` and `constructor`
// keys: each document judged like any other, with Istio's own validator
// (conformance/bin/istio-validate, built by `make oracle`) as the reference
// for everything Istio decides; the metadata label key is refused as
// kube-apiserver refuses it (Istio's webhook never sees such an object).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { before, describe, test } from 'node:test';
import { fixture, runCli } from '../helpers/cli.js';
import { ensureOracle, VALIDATE_BIN } from '../conformance/oracle.js';

const FILE = fixture('proto-keys/sidecars.yaml');

interface Result {
  name: string;
  allowed: boolean;
  errors: { rule: string; message: string }[];
}

describe('check: __proto__ and constructor keys in YAML', () => {
  let ours: Result[];
  let istio: { name: string; allowed: boolean }[];
  before(async () => {
    ensureOracle();
    istio = (
      JSON.parse(execFileSync(VALIDATE_BIN, [FILE], { encoding: 'utf8' })) as {
        results: { name: string; allowed: boolean }[];
      }
    ).results;
    const res = await runCli(['check', '-o', 'json', '--overlap', 'identical', FILE]);
    assert.equal(res.code, 1, res.stderr);
    ours = (JSON.parse(res.stdout) as { results: Result[] }).results;
  });

  test('selector and annotation keys: the same verdict as Istio (allowed)', () => {
    for (const name of ['proto-selector', 'ctor-selector', 'ctor-annotation']) {
      const theirs = istio.find((r) => r.name === name)!;
      const mine = ours.find((r) => r.name === name)!;
      assert.equal(theirs.allowed, true, `istio on ${name}`);
      assert.equal(mine.allowed, theirs.allowed, `${name}: ${JSON.stringify(mine.errors)}`);
    }
  });

  test("a __proto__ metadata label: denied with kube-apiserver's label-key message", () => {
    const r = ours.find((x) => x.name === 'proto-meta')!;
    assert.equal(r.allowed, false);
    assert.deepEqual(
      r.errors.map((e) => e.rule),
      ['meta.labels'],
    );
    assert.match(
      r.errors[0]!.message,
      /^Invalid value: "__proto__": name part must consist of alphanumeric characters/,
    );
  });

  test('nothing reached Object.prototype', () => {
    assert.equal(({} as Record<string, unknown>).app, undefined);
  });
});

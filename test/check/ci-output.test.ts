// check's CI formats against their consumers' rules: SARIF validated with
// ajv against the official SARIF 2.1.0 JSON schema (test/fixtures/sarif/),
// JUnit XML parsed by a real XML parser (fast-xml-parser) and checked for
// the structure CI test panes read, GitHub workflow commands checked for
// GitHub's escaping by decoding them as the runner does.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import ajvDraft04 from 'ajv-draft-04';
import ajvFormats from 'ajv-formats';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { githubData, githubProperty, xmlEscape } from '../../src/check/ci-report.js';
import { RULE_REGISTRY } from '../../src/sidecar/rule-registry.js';
import { fixture, ROOT, runCli, spawnCli } from '../helpers/cli.js';

// Both are CommonJS modules that also export themselves as .default, which is what the types describe.
const Ajv = ajvDraft04.default;
const addFormats = ajvFormats.default;
const schema = JSON.parse(readFileSync(fixture('sarif/sarif-2.1.0-rtm.5.json'), 'utf8')) as Record<string, unknown>;
// unicodeRegExp off: the schema's language pattern has a stray ']' that only non-unicode regular expressions accept.
const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
addFormats(ajv);
const validateSarif = ajv.compile(schema);

const EXAMPLES = join(ROOT, 'examples');
const tmp = mkdtempSync(join(tmpdir(), 'sg-ci-'));
/** A file name and contents with every character the formats must escape. */
const hostileFile = join(tmp, 'odd,name:100%&<"x">.yaml');
writeFileSync(
  hostileFile,
  [
    'apiVersion: networking.istio.io/v1',
    'kind: Sidecar',
    'metadata:',
    '  name: odd',
    '  namespace: shop',
    'spec:',
    '  egress:',
    '  - hosts: ["./50%-off,now:\\u0007<b>&\\nnext"]',
    '---',
    'kind: [',
    '',
  ].join('\n'),
);

interface SarifLog {
  runs: {
    tool: { driver: { rules: { id: string; help: { text: string } }[] } };
    results: {
      ruleId: string;
      ruleIndex: number;
      level: string;
      message: { text: string };
      locations: {
        physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number; startColumn: number } };
      }[];
    }[];
  }[];
}

function assertValidSarif(text: string): SarifLog {
  const log = JSON.parse(text) as SarifLog;
  assert.ok(validateSarif(log), JSON.stringify(validateSarif.errors?.slice(0, 5), null, 2));
  return log;
}

describe('check --output sarif', () => {
  test('examples/ validates against the SARIF 2.1.0 schema; each finding where the text output puts it', async () => {
    const res = await spawnCli(['check', '--output', 'sarif', 'examples/']);
    assert.equal(res.code, 1, res.stderr);
    const log = assertValidSarif(res.stdout);
    const [run] = log.runs;
    const text = await runCli(['check', 'examples/']);
    const expected = text.stdout
      .trimEnd()
      .split('\n')
      .slice(0, -1)
      .map((l) => /^([^:]+):(\d+):(\d+): (error|warning): .* \[([^\]]+)\]$/.exec(l)!.slice(1).join(' '));
    const got = run!.results.map((r) => {
      const { artifactLocation, region } = r.locations[0]!.physicalLocation;
      return `${artifactLocation.uri} ${region.startLine} ${region.startColumn} ${r.level} ${r.ruleId}`;
    });
    assert.deepEqual(got.sort(), expected.sort());
    assert.ok(got.length > 5);
  });

  test('one rule per rule id, with its fix text as help; every result points at its rule', async () => {
    const log = assertValidSarif((await runCli(['check', '-o', 'sarif', EXAMPLES])).stdout);
    const rules = log.runs[0]!.tool.driver.rules;
    assert.deepEqual(
      rules.map((r) => r.id),
      RULE_REGISTRY.map((r) => r.id),
    );
    assert.equal(new Set(rules.map((r) => r.id)).size, rules.length);
    for (const [i, r] of rules.entries()) assert.equal(r.help.text, RULE_REGISTRY[i]!.help);
    for (const result of log.runs[0]!.results) assert.equal(rules[result.ruleIndex]!.id, result.ruleId);
  });

  test('stdin, an absolute path with odd characters, and a YAML error still validate', async () => {
    const log = assertValidSarif((await runCli(['check', '-o', 'sarif', hostileFile])).stdout);
    const uris = new Set(log.runs[0]!.results.map((r) => r.locations[0]!.physicalLocation.artifactLocation.uri));
    assert.deepEqual([...uris], [`file://${hostileFile.split('/').map(encodeURIComponent).join('/')}`]);
    assert.ok(log.runs[0]!.results.some((r) => r.ruleId === 'yaml.parse'));
    assertValidSarif(
      (await runCli(['check', '-o', 'sarif', '-'], { stdin: readFileSync(join(EXAMPLES, 'sidecars.yaml'), 'utf8') }))
        .stdout,
    );
  });

  test('the schema check can fail: a log without a version or with a result lacking its message is refused', () => {
    assert.equal(validateSarif({ runs: [] }), false);
    assert.equal(
      validateSarif({ version: '2.1.0', runs: [{ tool: { driver: { name: 'x' } }, results: [{ ruleId: 'H1' }] }] }),
      false,
    );
  });
});

describe('check --output junit', () => {
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    isArray: (name) => ['testsuite', 'testcase'].includes(name),
  });
  type Case = {
    name: string;
    classname: string;
    failure?: { type: string; message: string; '#text': string };
    'system-out'?: string;
  };
  type Suite = { name: string; tests: string; failures: string; testcase?: Case[] };

  async function junit(args: string[]) {
    const res = await runCli(['check', '-o', 'junit', ...args]);
    assert.equal(XMLValidator.validate(res.stdout), true, 'well-formed XML');
    const doc = parser.parse(res.stdout) as { testsuites: { tests: string; failures: string; testsuite: Suite[] } };
    return { res, root: doc.testsuites };
  }

  test('examples/: one testsuite per file, one testcase per Sidecar, a failure per rejected one with its errors', async () => {
    const { res, root } = await junit([EXAMPLES]);
    const json = JSON.parse((await runCli(['check', '-o', 'json', EXAMPLES])).stdout) as {
      results: { file: string; name: string; allowed: boolean; errors: { rule: string }[] }[];
      summary: { files: number; sidecars: number; rejected: number };
    };
    assert.equal(res.code, 1);
    assert.equal(root.testsuite.length, json.summary.files);
    assert.equal(Number(root.tests), json.summary.sidecars);
    assert.equal(Number(root.failures), json.summary.rejected);
    for (const r of json.results) {
      const suite = root.testsuite.find((s) => s.name === r.file)!;
      const tc = suite.testcase!.find((c) => c.name.endsWith(`/${r.name}`))!;
      assert.equal(tc.classname, r.file);
      assert.equal(tc.failure === undefined, r.allowed, `${r.file} ${r.name}`);
      if (tc.failure) {
        assert.equal(tc.failure.type, r.errors[0]!.rule);
        for (const e of r.errors) assert.match(tc.failure['#text'], new RegExp(`\\[${e.rule.replace('.', '\\.')}\\]`));
      }
    }
    for (const s of root.testsuite)
      assert.equal(Number(s.failures), (s.testcase ?? []).filter((c) => c.failure).length);
  });

  test('names and messages with &, <, ", control characters stay well-formed and round-trip', async () => {
    const { root } = await junit([hostileFile]);
    const [suite] = root.testsuite;
    assert.equal(suite!.name, hostileFile);
    const [sidecar, broken] = suite!.testcase!;
    assert.equal(sidecar!.name, 'Sidecar shop/odd');
    // Istio's message quotes the host as Go does (\a, \n); the XML carries it unchanged.
    assert.match(sidecar!.failure!['#text'], /50%-off,now:\\a<b>&\\nnext/);
    assert.equal(broken!.failure!.type, 'yaml.parse');
  });

  test('characters XML 1.0 cannot hold are dropped, the rest escaped', () => {
    assert.equal(xmlEscape('a\u0007b\u0000c<&>"\''), 'abc&lt;&amp;&gt;&quot;&apos;');
    assert.equal(XMLValidator.validate(`<x a="${xmlEscape('\u0001"<')}">${xmlEscape('\u001b[0m&')}</x>`), true);
  });

  test('the parser does reject what is not well-formed (the check can fail)', () => {
    assert.notEqual(XMLValidator.validate('<testsuites><testsuite name="a&b"></testsuites>'), true);
  });
});

describe('check --output github', () => {
  /** What the Actions runner does with a command's data and properties (the inverse of @actions/core's escaping). */
  const decodeCommand = (s: string) =>
    s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%3A/g, ':').replace(/%2C/g, ',').replace(/%25/g, '%');
  const COMMAND = /^::(error|warning) file=([^,:]*),line=(\d+),col=(\d+),title=([^,:]*)::(.*)$/;

  test('one annotation per finding with file, line, col and title; a notice with the totals last', async () => {
    const res = await runCli(['check', '-o', 'github', EXAMPLES]);
    const text = await runCli(['check', EXAMPLES]);
    const lines = res.stdout.trimEnd().split('\n');
    const findings = text.stdout.trimEnd().split('\n').slice(0, -1);
    assert.equal(lines.length, findings.length + 1);
    for (const line of lines.slice(0, -1)) assert.match(line, COMMAND);
    // The totals as the text output words them, the skipped documents included.
    assert.equal(lines.at(-1)!, `::notice title=sidecar-guard check::${text.stdout.trimEnd().split('\n').at(-1)}`);
    assert.match(
      lines.at(-1)!,
      /::\d+ files?, \d+ Sidecars?: \d+ allowed, \d+ rejected, \d+ other documents? skipped$/,
    );
    const first = COMMAND.exec(lines.find((l) => l.includes('[') || l.includes('H4'))!)!;
    assert.match(decodeCommand(first[5]!), /^[A-Za-z0-9.-]+: /);
  });

  test("file names and messages are escaped by GitHub's rules and decode to the original", async () => {
    const res = await runCli(['check', '-o', 'github', hostileFile]);
    const lines = res.stdout.trimEnd().split('\n').slice(0, -1);
    assert.ok(lines.length >= 2);
    for (const line of lines) {
      const m = COMMAND.exec(line);
      assert.ok(m, line);
      assert.equal(decodeCommand(m[2]!), hostileFile);
      assert.doesNotMatch(m[6]!, /[\r\n]/);
    }
    const host = lines.map((l) => decodeCommand(COMMAND.exec(l)![6]!)).find((m) => m.includes('50%-off'))!;
    assert.match(host, /50%-off,now:/);
  });

  test('escaping as @actions/core does: %, CR, LF in data; also : and , in properties', () => {
    assert.equal(githubData('100%\r\nok: a,b'), '100%25%0D%0Aok: a,b');
    assert.equal(githubProperty('a,b:c%\n'), 'a%2Cb%3Ac%25%0A');
    assert.equal(decodeCommand(githubProperty('x%0A,y')), 'x%0A,y');
  });
});

// check's output for CI systems: SARIF 2.1.0 (code scanning), JUnit XML
// (test report panes) and GitHub Actions workflow commands (annotations on
// the diff). Pure functions of the report; the rule list comes from the one
// registry, so each SARIF rule carries its fix text as help.
import { clip, escapeControls, MESSAGE_CHARS, PATH_CHARS } from '../sidecar/format.js';
import { RULE_REGISTRY, ruleById, type RuleEntry } from '../sidecar/rule-registry.js';
import { summaryLine } from './report.js';
import type { CheckReport, CheckResult, Finding } from './run.js';

export interface ToolInfo {
  name: string;
  version: string;
}

/** One finding as a line of text: its field path first, as the text output shows it. */
function findingText(f: Finding): string {
  const path = f.path ? `${clip(f.path, PATH_CHARS)}: ` : '';
  return `${path}${clip(f.message, MESSAGE_CHARS)}`;
}

const findingsOf = (r: CheckResult): Finding[] => [...r.errors, ...r.warnings];

// ---------------------------------------------------------------- SARIF 2.1.0

/**
 * A file name as a SARIF artifact URI: relative paths stay relative (code
 * scanning resolves them against the checkout), absolute ones become file:
 * URIs, stdin is named as such.
 */
export function artifactUri(file: string): string {
  if (file === '<stdin>') return 'stdin';
  const slashed = file.replace(/\\/g, '/');
  const encoded = slashed.split('/').map(encodeURIComponent).join('/');
  return slashed.startsWith('/') ? `file://${encoded}` : encoded.replace(/^\.\//, '');
}

function sarifRule(r: RuleEntry) {
  return {
    id: r.id,
    name: r.id,
    shortDescription: { text: r.title },
    fullDescription: { text: `${r.title}. ${r.source}` },
    help: { text: r.help, markdown: `${r.help}\n\nSee \`sidecar-guard explain ${r.id}\`.` },
    defaultConfiguration: { level: r.severity },
    properties: { tags: ['istio', 'sidecar', ...(r.code ? [r.code] : [])] },
  };
}

export function formatSarif(report: CheckReport, tool: ToolInfo): string {
  const rules = [...RULE_REGISTRY];
  const index = new Map(rules.map((r, i) => [r.id, i]));
  const ruleIndex = (id: string): number => {
    let i = index.get(id);
    if (i === undefined) {
      // A rule missing from the registry still gets an entry: every ruleId is declared.
      i = rules.push({ id, severity: 'error', title: id, help: id, source: 'sidecar-guard' }) - 1;
      index.set(id, i);
    }
    return i;
  };
  const results = report.results.flatMap((r) =>
    findingsOf(r).map((f) => ({
      ruleId: f.rule,
      ruleIndex: ruleIndex(f.rule),
      level: f.severity,
      message: { text: findingText(f) },
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: artifactUri(r.file) },
            region: { startLine: Math.max(1, f.line), startColumn: Math.max(1, f.col) },
          },
          ...(r.name
            ? {
                logicalLocations: [
                  {
                    name: r.name,
                    fullyQualifiedName: `${r.kind ?? 'document'}/${r.namespace ? `${r.namespace}/` : ''}${r.name}`,
                    kind: 'object',
                  },
                ],
              }
            : {}),
        },
      ],
    })),
  );
  const sarif = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: tool.name,
            version: tool.version,
            semanticVersion: tool.version,
            rules: rules.map(sarifRule),
          },
        },
        results,
        columnKind: 'unicodeCodePoints',
      },
    ],
  };
  return `${JSON.stringify(sarif, null, 2)}\n`;
}

// ------------------------------------------------------------------ JUnit XML

/** XML 1.0 allows only these characters; anything else (control characters) is dropped. */
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

export function xmlEscape(text: string): string {
  return text
    .replace(NOT_XML_CHAR, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const attrs = (a: Record<string, string | number>): string =>
  Object.entries(a)
    .map(([k, v]) => ` ${k}="${xmlEscape(String(v))}"`)
    .join('');

/** A document's test case name: the object it is, or where it starts when it is not one. */
function caseName(r: CheckResult): string {
  const object = r.name ? `${r.namespace ? `${r.namespace}/` : ''}${r.name}` : undefined;
  return r.kind ? `${r.kind} ${object}` : `document at line ${r.line}${object ? ` (${object})` : ''}`;
}

const located = (file: string, f: Finding): string =>
  `${file}:${f.line}:${f.col}: ${f.severity}: ${findingText(f)} [${f.rule}]`;

/**
 * One <testsuite> per file, one <testcase> per Sidecar (or unparsable
 * document): a rejected one has a <failure> listing its errors, warnings go
 * to <system-out>. Files without Sidecars are listed with no test cases.
 */
export function formatJunit(report: CheckReport, files: readonly string[]): string {
  const byFile = new Map<string, CheckResult[]>(files.map((f) => [f, []]));
  for (const r of report.results) (byFile.get(r.file) ?? byFile.set(r.file, []).get(r.file)!).push(r);
  const suites = [...byFile].map(([file, results]) => {
    const failures = results.filter((r) => !r.allowed).length;
    const cases = results.map((r) => {
      const head = `    <testcase${attrs({ name: caseName(r), classname: file, file, line: r.line })}>`;
      const body: string[] = [];
      if (!r.allowed) {
        const first = r.errors[0];
        const message = first ? `${findingText(first)} [${first.rule}]` : 'rejected';
        body.push(
          `      <failure${attrs({ message, type: first?.rule ?? 'error' })}>${xmlEscape(r.errors.map((f) => located(file, f)).join('\n'))}</failure>`,
        );
      }
      if (r.warnings.length > 0)
        body.push(`      <system-out>${xmlEscape(r.warnings.map((f) => located(file, f)).join('\n'))}</system-out>`);
      return body.length === 0 ? `${head.slice(0, -1)}/>` : [head, ...body, '    </testcase>'].join('\n');
    });
    const open = `  <testsuite${attrs({ name: file, tests: results.length, failures, errors: 0, skipped: 0 })}`;
    return cases.length === 0 ? `${open}/>` : [`${open}>`, ...cases, '  </testsuite>'].join('\n');
  });
  const tests = report.results.length;
  const failures = report.results.filter((r) => !r.allowed).length;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attrs({ name: 'sidecar-guard check', tests, failures, errors: 0 })}>`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}

// ------------------------------------------------- GitHub workflow commands

/** A command's message: %, CR and LF escaped, as @actions/core's escapeData does. */
export function githubData(text: string): string {
  // Then the other control characters as \u escapes: the runner's log would act on an ANSI sequence.
  return escapeControls(text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A'));
}

/** A command property (file, title): also ':' and ',', which separate properties (escapeProperty). */
export function githubProperty(text: string): string {
  return githubData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/**
 * `::error file=…,line=…,col=…,title=…::message` per finding (`::warning`
 * for warnings): GitHub shows each on the line of the file in the pull
 * request. A notice with the totals ends the output.
 */
export function formatGithub(report: CheckReport): string {
  const lines: string[] = [];
  for (const r of report.results) {
    for (const f of findingsOf(r)) {
      const title = `${f.rule}: ${ruleById(f.rule)?.title ?? f.rule}`;
      const props = [
        `file=${githubProperty(r.file)}`,
        `line=${f.line}`,
        `col=${f.col}`,
        `title=${githubProperty(title)}`,
      ].join(',');
      lines.push(`::${f.severity} ${props}::${githubData(findingText(f))}`);
    }
  }
  // The text output's summary, word for word (its unparsable line becomes a second line of the notice).
  lines.push(`::notice title=${githubProperty('sidecar-guard check')}::${githubData(summaryLine(report))}`);
  return `${lines.join('\n')}\n`;
}

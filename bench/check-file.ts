// `sidecar-guard check` on one manifest file as large as --max-file-size lets
// in (16 MiB): peak RSS and wall time of the whole command. Every hundredth
// Sidecar has an egress host Istio refuses, so findings are placed on lines
// (the only time a document is parsed again, see src/manifests/documents.ts).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { REPO_ROOT } from './child.js';
import { CLI } from './startup.js';

export interface CheckFile {
  fileMb: number;
  sidecars: number;
  rejected: number;
  wallMs: number;
  peakRssMb: number;
}

const FILE_BYTES = 16 * 1024 * 1024 - 4096;

/**
 * How the Sidecars are written: YAML documents between `---` lines, or one
 * `kind: List` as `kubectl get sidecars -A -o json` (or `-o yaml`) prints a
 * cluster's Sidecars, every item with the metadata the API server adds.
 */
export type FileShape = 'documents' | 'json-list' | 'yaml-list';

function sidecarAt(i: number): Record<string, unknown> {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'Sidecar',
    metadata: { name: `s${i}`, namespace: `ns${i % 500}` },
    spec: {
      workloadSelector: { labels: { app: `a${i}` } },
      egress: [{ hosts: ['./*', i % 100 === 99 ? 'no-namespace-part' : 'istio-system/*'] }],
    },
  };
}

/** As the API server returns it: uid, resourceVersion, generation, creationTimestamp. */
function storedSidecarAt(i: number): Record<string, unknown> {
  const s = sidecarAt(i);
  const uid = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
  const metadata = { ...(s.metadata as object), uid, resourceVersion: String(1000 + i), generation: 1 };
  return { ...s, metadata: { ...metadata, creationTimestamp: '2026-11-23T10:00:00Z' } };
}

const indented = (text: string, first: string, rest: string) =>
  text
    .replace(/\n$/, '')
    .split('\n')
    .map((line, n) => (n === 0 ? first : rest) + line)
    .join('\n');

/** One Sidecar's text in the file, and what closes the file after the last. */
const SHAPES: Record<FileShape, { open: string; item: (i: number) => string; separator: string; close: string }> = {
  // Written out as it always was, so that check_file_* stays comparable with earlier runs.
  documents: {
    open: '',
    item: (i) => `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata:
  name: s${i}
  namespace: ns${i % 500}
spec:
  workloadSelector:
    labels:
      app: a${i}
  egress:
  - hosts:
    - "./*"
    - "${i % 100 === 99 ? 'no-namespace-part' : 'istio-system/*'}"
---
`,
    separator: '',
    close: '',
  },
  'json-list': {
    open: '{\n    "apiVersion": "v1",\n    "items": [\n',
    item: (i) => indented(JSON.stringify(storedSidecarAt(i), null, 4), '        ', '        '),
    separator: ',\n',
    close: '\n    ],\n    "kind": "List",\n    "metadata": {\n        "resourceVersion": ""\n    }\n}\n',
  },
  'yaml-list': {
    open: 'apiVersion: v1\nitems:\n',
    item: (i) => `${indented(stringify(storedSidecarAt(i), { indentSeq: false }), '- ', '  ')}\n`,
    separator: '',
    close: 'kind: List\nmetadata:\n  resourceVersion: ""\n',
  },
};

function manifest(shape: FileShape): { text: string; sidecars: number } {
  const { open, item, separator, close } = SHAPES[shape];
  const parts: string[] = [open];
  let bytes = open.length + close.length;
  for (let i = 0; ; i++) {
    const next = (i === 0 ? '' : separator) + item(i);
    if (bytes + next.length > FILE_BYTES) return { text: parts.join('') + close, sidecars: i };
    parts.push(next);
    bytes += next.length;
  }
}

// The child reports its own peak RSS as it exits (Node cannot read a child's rusage).
const REPORT_RSS =
  'data:text/javascript,process.on("exit",()=>process.stderr.write("peak-rss-kb "+process.resourceUsage().maxRSS+"\\n"))';

export function measureCheckFile(shape: FileShape = 'documents'): CheckFile {
  const dir = mkdtempSync(join(tmpdir(), 'sidecar-guard-check-'));
  try {
    const { text, sidecars } = manifest(shape);
    const file = join(dir, shape === 'json-list' ? 'big.json' : 'big.yaml');
    writeFileSync(file, text);
    const t0 = performance.now();
    const run = spawnSync(process.execPath, ['--import', REPORT_RSS, CLI, 'check', '--output', 'json', file], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    });
    const wallMs = performance.now() - t0;
    const rss = /peak-rss-kb (\d+)/.exec(run.stderr);
    if (run.status !== 1 || !rss) throw new Error(`check exited ${run.status}: ${run.stderr.slice(0, 2000)}`);
    const report = JSON.parse(run.stdout) as { summary?: { rejected?: number } };
    return {
      fileMb: text.length / 2 ** 20,
      sidecars,
      rejected: report.summary?.rejected ?? NaN,
      wallMs,
      peakRssMb: Number(rss[1]) / 1024,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `check` on one document that is a single mapping of 100,000 keys (about
 * 1 MB): the cost of finding repeated keys. The yaml library's own check
 * compared each key with every one before it (about two minutes here); it
 * is one pass now (src/util/yaml.ts firstKeyProblem).
 */
export function measureWideMapping(keys = 100_000): { keys: number; wallMs: number } {
  const dir = mkdtempSync(join(tmpdir(), 'sidecar-guard-check-'));
  try {
    const file = join(dir, 'wide.yaml');
    writeFileSync(file, Array.from({ length: keys }, (_, i) => `k${i}: v\n`).join(''));
    const t0 = performance.now();
    const run = spawnSync(process.execPath, [CLI, 'check', file], { cwd: REPO_ROOT, encoding: 'utf8' });
    const wallMs = performance.now() - t0;
    if (run.status !== 0) throw new Error(`check exited ${run.status}: ${run.stderr.slice(0, 2000)}`);
    return { keys, wallMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('check-file.ts'))
  console.log(measureCheckFile(), measureCheckFile('json-list'), measureCheckFile('yaml-list'), measureWideMapping());

// `sidecar-guard check` on one manifest file as large as --max-file-size lets
// in (16 MiB): peak RSS and wall time of the whole command. Every hundredth
// Sidecar has an egress host Istio refuses, so findings are placed on lines
// (the only time a document is parsed again, see src/manifests/documents.ts).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

function manifest(): { text: string; sidecars: number } {
  const parts: string[] = [];
  let bytes = 0;
  for (let i = 0; ; i++) {
    const host = i % 100 === 99 ? 'no-namespace-part' : 'istio-system/*';
    const doc = `apiVersion: networking.istio.io/v1
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
    - "${host}"
---
`;
    if (bytes + doc.length > FILE_BYTES) return { text: parts.join(''), sidecars: i };
    parts.push(doc);
    bytes += doc.length;
  }
}

// The child reports its own peak RSS as it exits (Node cannot read a child's rusage).
const REPORT_RSS =
  'data:text/javascript,process.on("exit",()=>process.stderr.write("peak-rss-kb "+process.resourceUsage().maxRSS+"\\n"))';

export function measureCheckFile(): CheckFile {
  const dir = mkdtempSync(join(tmpdir(), 'sidecar-guard-check-'));
  try {
    const { text, sidecars } = manifest();
    const file = join(dir, 'big.yaml');
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
 * is one pass now (src/util/yaml.ts firstDuplicateKey).
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

if (process.argv[1]?.endsWith('check-file.ts')) console.log(measureCheckFile(), measureWideMapping());

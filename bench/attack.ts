// Memory and latency under body floods and trickles (issue 14), against the
// real `sidecar-guard serve --standalone` process:
//   flood:   32 clients sending ~6.9 MiB AdmissionReviews back to back;
//   trickle: 32 clients sending one body byte per second, reconnecting when cut.
// Meanwhile an honest client sends one ordinary review every 200 ms, each on a
// new HTTPS connection (handshake included), and the server's RSS is sampled
// every 50 ms from /proc. Reported: peak RSS against the Deployment's memory
// limit (manifests/deployment.yaml), and the honest reviews' latency
// (target: every one answered 200 within 1 s) and failures.
//   node --import tsx bench/attack.ts [--seconds 20] [--json]
// `make bench` runs it as its "attack" phase (bench/run.ts).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { createCA, issueServingCert } from '../src/tls/certs.js';
import { writeCertFiles } from '../src/tls/files.js';
import { finish, REPO_ROOT, startChild } from './child.js';
import { cpuSeconds } from './load.js';
import { DIST_DIR, productRoot } from './product.js';
import { summarize, type Summary } from './stats.js';
import { createReview, newSidecar } from './workload.js';

export interface AttackRun {
  mode: 'flood' | 'trickle';
  body: FloodBody | 'review';
  seconds: number;
  /** RSS of the idle server before the attack, and the highest sample during it. */
  rssBeforeMb: number;
  rssPeakMb: number;
  honest: { sent: number; ok: number; failures: string[]; latencyMs: Summary };
  attackers: { clients: number; bodyBytes: number; bodiesSent: number; statuses: Record<string, number> };
}

export interface Attack {
  limitMb: number;
  /** The V8 heap flag the server ran with (what Node derives from that limit in a container). */
  heapFlag: string;
  source: 'dist' | 'src';
  runs: AttackRun[];
}

const log = (msg: string) => process.stderr.write(`bench attack: ${msg}\n`);

/** The container memory limit the Deployment sets (e.g. 512Mi), in MB of 2^20 bytes. */
export function manifestMemoryLimitMb(): number {
  const text = readFileSync(join(REPO_ROOT, 'manifests', 'deployment.yaml'), 'utf8');
  for (const doc of parseAllDocuments(text)) {
    const limit = (doc.toJS() as { spec?: { template?: { spec?: { containers?: { resources?: { limits?: { memory?: string } } }[] } } } })?.spec?.template?.spec?.containers?.[0]?.resources?.limits?.memory;
    const m = /^(\d+)(Mi|Gi)$/.exec(limit ?? '');
    if (m) return Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1);
  }
  throw new Error('no memory limit in manifests/deployment.yaml');
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

/**
 * A 6.9 MiB review of a valid Sidecar whose status holds a huge list: status
 * is preserved by the CRD (so the API server forwards it) but judged by no
 * rule, so the decision is cheap and what is measured is the body itself.
 * "conditions": small objects, a parse tree about 3 times the text;
 * "empty-objects": `{}` items, the costliest JSON there is to parse (a tree
 * about 20 times the text).
 */
export type FloodBody = 'conditions' | 'empty-objects';

function floodBody(kind: FloodBody): Buffer {
  const review = createReview(newSidecar('flood')) as { request: { object: Record<string, unknown> } };
  const item = kind === 'conditions' ? (i: number) => ({ t: `c${i}`, s: 'True' }) : () => ({});
  const unit = JSON.stringify(item(100_000)).length + 1;
  const items = Math.floor((6.9 * 2 ** 20 - JSON.stringify(review).length) / unit);
  review.request.object.status = { conditions: Array.from({ length: items }, (_, i) => item(100_000 + (i % 900_000))) };
  return Buffer.from(JSON.stringify(review));
}

/** Where the CLI runs from: the build when it is fresh (bin/ picks it), else the sources through tsx. */
function cliPath(): string {
  return process.env.BENCH_DIST_DIR ? join(DIST_DIR, 'cli.js') : fileURLToPath(new URL('../bin/sidecar-guard.js', import.meta.url));
}

/**
 * Inside a container Node sizes V8's old space from the cgroup memory limit
 * (libuv's constrained memory): a quarter of it, doubled for 64-bit pointers,
 * so half the limit (256 MB under 512Mi). This machine has no such limit
 * (V8 would allow 4 GB and collect lazily), so the server is started with the
 * heap it would get under the manifests' limit.
 */
export const heapFlagFor = (limitMb: number): string => `--max-old-space-size=${Math.floor(limitMb / 2)}`;

async function startServer(certDir: string, limitMb: number): Promise<{ pid: number; port: number; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [heapFlagFor(limitMb), cliPath(), 'serve', '--standalone', '--listen', '127.0.0.1:0', '--cert-dir', certDir, '--metrics-listen', 'off'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /listening on https:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`serve exited (${code}) before listening: ${out}`)));
  });
  const exited = new Promise((r) => child.once('exit', r));
  return { pid: child.pid!, port, stop: async () => void (child.kill('SIGTERM'), await exited) };
}

function honestReview(port: number, ca: string, body: string): Promise<{ ms: number; status?: number; error?: string }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = https.request({ host: '127.0.0.1', port, method: 'POST', path: '/validate?timeout=10s', ca, servername: 'localhost', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ ms: performance.now() - started, status: res.statusCode }));
    });
    req.setTimeout(15_000, () => req.destroy(new Error('no answer within 15 s')));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ ms: performance.now() - started, error: err.code ?? err.message }));
    req.end(body);
  });
}

async function attackRun(mode: 'flood' | 'trickle', body: FloodBody | 'review', seconds: number, certDir: string, ca: string, limitMb: number): Promise<AttackRun> {
  const server = await startServer(certDir, limitMb);
  try {
    const honestBody = JSON.stringify(createReview(newSidecar('honest')));
    // Warm up (JIT, first handshake) and let the idle RSS settle.
    for (let i = 0; i < 20; i++) await honestReview(server.port, ca, honestBody);
    const rssBeforeMb = rssMb(server.pid);
    const bodyFile = join(certDir, `${mode}.json`);
    writeFileSync(bodyFile, body === 'review' ? Buffer.from(honestBody) : floodBody(body));
    const attackers = startChild('attack-child.ts', ['--mode', mode, '--port', String(server.port), '--ca', join(certDir, 'ca.crt'), '--body', bodyFile, '--clients', '32', '--seconds', String(seconds)]);
    let rssPeakMb = rssBeforeMb;
    const cpuBefore = cpuSeconds(server.pid);
    const sampler = setInterval(() => void (rssPeakMb = Math.max(rssPeakMb, rssMb(server.pid))), 50);
    const latencies: number[] = [];
    const failures: string[] = [];
    let sent = 0;
    let attacking = true;
    const done = finish<AttackRun['attackers']>('attack-child.ts', attackers).finally(() => void (attacking = false));
    // Let the attack take hold before the first honest review.
    await new Promise((r) => setTimeout(r, 1_000));
    while (attacking) {
      const next = new Promise((r) => setTimeout(r, 200));
      const r = await honestReview(server.port, ca, honestBody);
      sent++;
      latencies.push(r.ms);
      if (r.status !== 200) failures.push(`${r.status ?? r.error} after ${Math.round(r.ms)} ms`);
      await next;
    }
    clearInterval(sampler);
    const report = await done;
    if (process.env.ATTACK_DEBUG) log(`server CPU ${(cpuSeconds(server.pid)! - cpuBefore!).toFixed(1)} s, attackers ${JSON.stringify(report)}`);
    const run: AttackRun = { mode, body, seconds, rssBeforeMb, rssPeakMb, honest: { sent, ok: sent - failures.length, failures: failures.slice(0, 20), latencyMs: summarize(latencies) }, attackers: report };
    log(`${mode} (${body}): RSS ${rssBeforeMb.toFixed(0)} → peak ${rssPeakMb.toFixed(0)} MB; honest ${run.honest.ok}/${sent} answered 200, p50 ${run.honest.latencyMs.p50.toFixed(0)} ms, max ${run.honest.latencyMs.max.toFixed(0)} ms; attackers ${JSON.stringify(report.statuses)}`);
    return run;
  } finally {
    await server.stop();
  }
}

export async function measureAttacks(seconds: number): Promise<Attack> {
  const certDir = mkdtempSync(join(tmpdir(), 'sidecar-guard-attack-'));
  try {
    const ca = createCA({ commonName: 'sidecar-guard-attack-ca' });
    writeCertFiles(certDir, ca, issueServingCert(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }));
    const limitMb = manifestMemoryLimitMb();
    const runs: AttackRun[] = [];
    for (const [mode, body] of [['flood', 'conditions'], ['flood', 'empty-objects'], ['trickle', 'review']] as const) runs.push(await attackRun(mode, body, seconds, certDir, ca.certPem, limitMb));
    return { limitMb, heapFlag: heapFlagFor(limitMb), source: productRoot(), runs };
  } finally {
    rmSync(certDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1] || 20) || 20;
  const result = await measureAttacks(seconds);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

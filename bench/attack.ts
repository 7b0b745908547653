// Memory and latency under body floods and trickles (issue 14), against the
// real `sidecar-guard serve --standalone` process:
//   flood:   32 clients sending ~6.9 MiB AdmissionReviews back to back;
//   trickle: 32 clients sending one body byte per second, reconnecting when cut;
//   connect: 32 clients holding 64 idle connections each (4 times
//            --max-connections), reopening each one the server closes.
// Meanwhile two honest clients each send one ordinary review every 200 ms:
// one on a kept-alive connection (as kube-apiserver's transport does), one
// on a new HTTPS connection each time (handshake included, the worst case);
// and the server's RSS is sampled every 50 ms from /proc. Reported: peak RSS
// against the Deployment's memory limit (manifests/deployment.yaml), and the
// honest reviews' latency (target: every one answered 200 within 1 s).
//   node --import tsx bench/attack.ts [--seconds 20] [--json]
// `make bench` runs it as its "attack" phase (bench/run.ts).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCA, issueServingCert } from '../src/tls/certs.js';
import { writeCertFiles } from '../src/tls/files.js';
import { finish, REPO_ROOT, startChild } from './child.js';
import { manifestMemoryLimitMb } from './manifest.js';
import { cpuSeconds } from './load.js';
import { DIST_DIR, productRoot } from './product.js';
import { summarize, type Summary } from './stats.js';
import { createReview, newSidecar } from './workload.js';

export type AttackMode = 'flood' | 'trickle' | 'connect';

export interface AttackRun {
  mode: AttackMode;
  body: FloodBody | 'review' | 'idle';
  seconds: number;
  /** Set when the server died during the attack (how it ended). */
  crashed?: string;
  /** The machine's 1-minute load average at the end: on a shared machine, latency mostly measures the scheduler. */
  loadavg: number;
  /** CPU the server used during the attack (every thread), when /proc is there. */
  serverCpuSeconds?: number;
  /** RSS of the idle server before the attack, and the highest sample during it. */
  rssBeforeMb: number;
  rssPeakMb: number;
  /** The honest reviews on a kept-alive connection, and on a new connection each. */
  honest: Honest;
  honestFresh: Honest;
  attackers: { clients: number; bodyBytes: number; bodiesSent: number; statuses: Record<string, number> };
  /** connect: /healthz on the metrics listener every 200 ms meanwhile, and the server's dropped-connection count. */
  probes?: Honest;
  connectionsDropped?: number;
}

export interface Honest {
  sent: number;
  ok: number;
  failures: string[];
  latencyMs: Summary;
}

export interface Attack {
  limitMb: number;
  /** The V8 heap flag the server ran with (what Node derives from that limit in a container). */
  heapFlag: string;
  source: 'dist' | 'src';
  runs: AttackRun[];
}

const log = (msg: string) => process.stderr.write(`bench attack: ${msg}\n`);

/** Resident memory of a process in MiB; 0 once it is gone. */
function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
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
  return process.env.BENCH_DIST_DIR
    ? join(DIST_DIR, 'cli.js')
    : fileURLToPath(new URL('../bin/sidecar-guard.js', import.meta.url));
}

/**
 * Inside a container Node sizes V8's old space from the cgroup memory limit
 * (libuv's constrained memory): a quarter of it, doubled for 64-bit pointers,
 * so half the limit (256 MB under 512Mi). This machine has no such limit
 * (V8 would allow 4 GB and collect lazily), so the server is started with the
 * heap it would get under the manifests' limit.
 */
export const heapFlagFor = (limitMb: number): string => `--max-old-space-size=${Math.floor(limitMb / 2)}`;

interface Server {
  pid: number;
  port: number;
  metricsUrl: string;
  /** How it ended, if it did before it was stopped (a crash). */
  died(): string | undefined;
  stop(): Promise<void>;
}

async function startServer(certDir: string, limitMb: number): Promise<Server> {
  const child = spawn(
    process.execPath,
    [
      heapFlagFor(limitMb),
      cliPath(),
      'serve',
      '--standalone',
      '--listen',
      '127.0.0.1:0',
      '--cert-dir',
      certDir,
      '--metrics-listen',
      '127.0.0.1:0',
    ],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let listening = false;
  const [port, metricsUrl] = await new Promise<[number, string]>((resolve, reject) => {
    // Read to the end (a full pipe would block the server), keep only what comes before it listens.
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      if (listening) return;
      out += d;
      const m = /listening on https:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      const metrics = /"url":"(http:\/\/127\.0\.0\.1:\d+)\/metrics"/.exec(out);
      if (m && metrics) {
        listening = true;
        resolve([Number(m[1]), metrics[1]!]);
      }
    });
    child.once('exit', (code) => reject(new Error(`serve exited (${code}) before listening: ${out}`)));
  });
  let ended: string | undefined;
  let stopping = false;
  const exited = new Promise<void>((r) =>
    child.once('exit', (code, signal) => {
      if (!stopping)
        ended = `exited with ${signal ?? code}${/heap out of memory/.test(err) ? ' (JavaScript heap out of memory)' : ''}`;
      r();
    }),
  );
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err = (err + d).slice(-4_000);
  });
  return {
    pid: child.pid!,
    port,
    metricsUrl,
    died: () => ended,
    stop: async () => {
      stopping = true;
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function honestReview(
  port: number,
  ca: string,
  body: string,
  agent: https.Agent | false = false,
): Promise<{ ms: number; status?: number; error?: string }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/validate?timeout=10s',
        ca,
        servername: 'localhost',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ ms: performance.now() - started, status: res.statusCode }));
      },
    );
    req.setTimeout(15_000, () => req.destroy(new Error('no answer within 15 s')));
    req.on('error', (err: NodeJS.ErrnoException) =>
      resolve({ ms: performance.now() - started, error: err.code ?? err.message }),
    );
    req.end(body);
  });
}

async function attackRun(
  mode: AttackMode,
  body: FloodBody | 'review' | 'idle',
  seconds: number,
  certDir: string,
  ca: string,
  limitMb: number,
): Promise<AttackRun> {
  const server = await startServer(certDir, limitMb);
  try {
    const honestBody = JSON.stringify(createReview(newSidecar('honest')));
    // Warm up (JIT, first handshake) and let the idle RSS settle.
    for (let i = 0; i < 20; i++) await honestReview(server.port, ca, honestBody);
    const rssBeforeMb = rssMb(server.pid);
    const bodyFile = join(certDir, `${mode}.json`);
    writeFileSync(bodyFile, body === 'review' || body === 'idle' ? Buffer.from(honestBody) : floodBody(body));
    // kube-apiserver's pooled connections are open before a connection flood starts; the kept-alive client's too.
    const keptAlive = new https.Agent({ keepAlive: true, maxSockets: 1 });
    if (mode === 'connect') await honestReview(server.port, ca, honestBody, keptAlive);
    // At the lowest CPU priority: on this one machine the attackers stand in for clients elsewhere, and
    // what is measured is the server's share of the CPU going to them, not the load generator's.
    const attackers = startChild(
      'attack-child.ts',
      [
        '--mode',
        mode,
        '--port',
        String(server.port),
        '--ca',
        join(certDir, 'ca.crt'),
        '--body',
        bodyFile,
        '--clients',
        '32',
        '--seconds',
        String(seconds),
      ],
      { nice: 19 },
    );
    let rssPeakMb = rssBeforeMb;
    const cpuBefore = cpuSeconds(server.pid);
    const sampler = setInterval(() => {
      rssPeakMb = Math.max(rssPeakMb, rssMb(server.pid));
    }, 50);
    let attacking = true;
    const done = finish<AttackRun['attackers']>('attack-child.ts', attackers).finally(() => {
      attacking = false;
    });
    // Let the attack take hold before the first honest review.
    await new Promise((r) => setTimeout(r, 1_000));
    const [honest, honestFresh, probes] = await Promise.all([
      honestLoop(
        () => attacking,
        () => honestReview(server.port, ca, honestBody, keptAlive),
      ),
      honestLoop(
        () => attacking,
        () => honestReview(server.port, ca, honestBody),
      ),
      mode === 'connect'
        ? honestLoop(
            () => attacking,
            () => probe(`${server.metricsUrl}/healthz`),
          )
        : undefined,
    ]);
    keptAlive.destroy();
    clearInterval(sampler);
    const report = await done;
    const cpuAfter = cpuSeconds(server.pid);
    const serverCpuSeconds = cpuBefore !== undefined && cpuAfter !== undefined ? cpuAfter - cpuBefore : undefined;
    const crashed = server.died();
    const run: AttackRun = {
      mode,
      body,
      seconds,
      ...(crashed ? { crashed } : {}),
      loadavg: loadavg()[0]!,
      ...(serverCpuSeconds === undefined ? {} : { serverCpuSeconds }),
      rssBeforeMb,
      rssPeakMb,
      honest,
      honestFresh,
      attackers: report,
      ...(probes ? { probes, connectionsDropped: await droppedCount(server.metricsUrl) } : {}),
    };
    const line = (h: Honest) =>
      `${h.ok}/${h.sent} answered 200, p50 ${h.latencyMs.p50.toFixed(0)} ms, max ${h.latencyMs.max.toFixed(0)} ms`;
    const connect = probes
      ? `; metrics-port /healthz ${line(probes)}; connections dropped ${run.connectionsDropped}`
      : '';
    log(
      `${mode} (${body}):${crashed ? ` SERVER ${crashed};` : ''} RSS ${rssBeforeMb.toFixed(0)} → peak ${rssPeakMb.toFixed(0)} MB; honest kept-alive ${line(honest)}; honest on new connections ${line(honestFresh)}; server CPU ${serverCpuSeconds?.toFixed(1) ?? '?'} s; load ${run.loadavg.toFixed(1)}; attackers ${JSON.stringify(report.statuses)}${connect}`,
    );
    return run;
  } finally {
    await server.stop();
  }
}

/** A GET on the metrics listener, in honestReview's terms. */
async function probe(url: string): Promise<{ ms: number; status?: number; error?: string }> {
  const started = performance.now();
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(15_000) });
    await res.arrayBuffer();
    return { ms: performance.now() - started, status: res.status };
  } catch (err) {
    return { ms: performance.now() - started, error: (err as Error).message };
  }
}

/** sidecar_guard_connections_dropped_total from the server's metrics listener. */
async function droppedCount(metricsUrl: string): Promise<number | undefined> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  const m = /^sidecar_guard_connections_dropped_total (\d+)$/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** One honest review every 200 ms while `going()`, each waited for. */
async function honestLoop(going: () => boolean, review: () => ReturnType<typeof honestReview>): Promise<Honest> {
  const latencies: number[] = [];
  const failures: string[] = [];
  while (going()) {
    const next = new Promise((r) => setTimeout(r, 200));
    const r = await review();
    latencies.push(r.ms);
    if (r.status !== 200) failures.push(`${r.status ?? r.error} after ${Math.round(r.ms)} ms`);
    await next;
  }
  return {
    sent: latencies.length,
    ok: latencies.length - failures.length,
    failures: failures.slice(0, 20),
    latencyMs: summarize(latencies),
  };
}

export async function measureAttacks(seconds: number): Promise<Attack> {
  const certDir = mkdtempSync(join(tmpdir(), 'sidecar-guard-attack-'));
  try {
    const ca = createCA({ commonName: 'sidecar-guard-attack-ca' });
    writeCertFiles(certDir, ca, issueServingCert(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }));
    const limitMb = manifestMemoryLimitMb();
    const runs: AttackRun[] = [];
    for (const [mode, body] of [
      ['flood', 'conditions'],
      ['flood', 'empty-objects'],
      ['trickle', 'review'],
      ['connect', 'idle'],
    ] as const)
      runs.push(await attackRun(mode, body, seconds, certDir, ca.certPem, limitMb));
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

// sidecar-guard benchmark (issue 8): one command, one process tree.
//   node --import tsx bench/run.ts [--quick] [--json] [--profile] [--strict] [--only PHASE,...]
// Prints a table with each target beside the measured value; --json adds one
// JSON object as the last stdout line. Every run writes bench/results.json.
// Progress goes to stderr. Servers run in child processes so the load
// generator (this process) never shares their event loop.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createCA, issueServingCert } from '../src/tls/certs.js';
import { writeCertFiles } from '../src/tls/files.js';
import { childNodeFlags, finish, REPO_ROOT, runChild, startChild, type Child } from './child.js';
import type { DecisionSize } from './decision.js';
import { probe, throughput, type FixedRate, type Target, type Throughput } from './load.js';
import { measureAttacks } from './attack.js';
import { BENCH_CASES, measureBounded } from './bounded.js';
import type { ClaimsRun } from './claims.js';
import { AdminClient } from '../test/cluster/admin-client.js';
import { startControlPlane, stopProcess } from '../test/cluster/control-plane.js';
import { marginalBytes, measureMemory, measureScale } from './memory.js';
import { missed, table, type Results } from './report.js';
import { distIsFresh, DIST_DIR, productRoot } from './product.js';
import { measureCheckFile, measureWideMapping } from './check-file.js';
import { measureStartup } from './startup.js';
import { median, round, type Summary } from './stats.js';
import { fullGcDuringWarmUp, GC_TRACE_FLAGS, GcLog, medianOf, summarizeGc, type GcSummary } from './gc-trace.js';
import { clusterPlan, createReview, newSidecar, typicalNamespaces } from './workload.js';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    strict: { type: 'boolean', default: false },
    /** Only these phases (comma-separated names), e.g. --only claims. */
    only: { type: 'string' },
  },
});

interface Settings {
  decision: { iterations: number; warmup: number; crowdedIterations: number };
  claims: { iterations: number; warmup: number };
  /** Seconds of each attack (flood, worst-case flood, trickle). */
  attackSeconds: number;
  https: { connections: number; warmupS: number; seconds: number; rounds: number };
  fixed: { rate: number; seconds: number; connections: number; warmupS: number };
  startupRuns: number;
}

const SETTINGS: Settings = flags.quick
  ? {
      decision: { iterations: 20_000, warmup: 5_000, crowdedIterations: 3_000 },
      claims: { iterations: 300, warmup: 100 },
      attackSeconds: 8,
      https: { connections: 10, warmupS: 1, seconds: 3, rounds: 2 },
      fixed: { rate: 1_000, seconds: 5, connections: 8, warmupS: 2 },
      startupRuns: 3,
    }
  : {
      decision: { iterations: 200_000, warmup: 20_000, crowdedIterations: 20_000 },
      claims: { iterations: 2_000, warmup: 200 },
      attackSeconds: 20,
      https: { connections: 10, warmupS: 1, seconds: 6, rounds: 6 },
      fixed: { rate: 1_000, seconds: 30, connections: 8, warmupS: 3 },
      startupRuns: 7,
    };

const SIZES = [100, 1_000, 10_000];
const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`);

async function decisionPhase(results: Results, details: Record<string, unknown>): Promise<void> {
  const { iterations, warmup, crowdedIterations } = SETTINGS.decision;
  const run = await runChild<{ sizes: DecisionSize[] }>(
    'decision.ts',
    [
      '--sizes',
      SIZES.join(','),
      '--iterations',
      String(iterations),
      '--warmup',
      String(warmup),
      '--crowded-iterations',
      String(crowdedIterations),
    ],
    { nodeFlags: ['--expose-gc'] },
  );
  const bySize = (n: number) => run.sizes.find((s) => s.sidecars === n);
  const large = bySize(10_000);
  const small = bySize(100);
  results.decision_p50_us = round(large?.typical.p50 ?? NaN, 1);
  results.decision_p99_us = round(large?.typical.p99 ?? NaN, 1);
  results.decision_p99_us_1k = round(bySize(1_000)?.typical.p99 ?? NaN, 1);
  results.decision_p99_us_small = round(small?.typical.p99 ?? NaN, 1);
  results.decision_growth = large && small ? round(large.typical.p99 / small.typical.p99, 2) : null;
  results.decision_p99_us_crowded = round(large?.crowded?.p99 ?? NaN, 1);
  results.decision_p50_us_crowded = round(large?.crowded?.p50 ?? NaN, 1);
  results.decision_p99_us_burst = round(large?.burst?.p99 ?? NaN, 1);
  results.decision_p99_us_admitter = round(large?.admitter?.p99 ?? NaN, 1);
  results.decision_cpu_us = round(large?.typical.cpuUs ?? NaN, 1);
  results.decision_cpu_us_server = round(large?.server?.cpuUs ?? NaN, 1);
  results.decision_alloc_kb = round((large?.server?.allocBytes ?? NaN) / 1024, 2);
  details.decision = run;
  const layers = await runChild<{ layers: { layer: string; cpuUs: number; allocKb: number }[] }>(
    'layers.ts',
    ['--report'],
    {
      nodeFlags: ['--expose-gc'],
    },
  );
  for (const { layer, cpuUs, allocKb } of layers.layers) {
    results[`layer_cpu_us_${layer}`] = round(cpuUs, 1);
    results[`layer_alloc_kb_${layer}`] = round(allocKb, 2);
  }
  details.layers = layers.layers;
}

/**
 * A decision including its claim, against a local kube-apiserver and etcd
 * (test/cluster/, built by make cluster), started here and stopped after.
 */
async function claimsPhase(results: Results, details: Record<string, unknown>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sidecar-guard-bench-cluster-'));
  const control = await startControlPlane(dir);
  try {
    const admin = new AdminClient(control.apiserver.url, control.pki, 1);
    const created = await admin.request('/api/v1/namespaces', {
      method: 'POST',
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'sidecar-guard' } },
    });
    admin.close();
    if (created.status !== 201) throw new Error(`creating namespace sidecar-guard: HTTP ${created.status}`);
    const { iterations, warmup } = SETTINGS.claims;
    const run = await runChild<ClaimsRun>('claims.ts', [
      '--kubeconfig',
      control.kubeconfig,
      '--iterations',
      String(iterations),
      '--warmup',
      String(warmup),
    ]);
    if (run.failures > 0) throw new Error(`${run.failures} claims failed`);
    results.claim_p50_ms = round(run.single.p50, 2);
    results.claim_p99_ms = round(run.single.p99, 2);
    results.claim_p99_ms_contended = round(run.contended.p99, 2);
    results.claim_bare_put_p50_ms = round(run.bareRoundTrip.p50, 2);
    results.claim_bare_put_p99_ms = round(run.bareRoundTrip.p99, 2);
    details.claims = run;
    log(
      `claims: p50 ${run.single.p50.toFixed(2)} ms, p99 ${run.single.p99.toFixed(2)} ms (a bare PUT: p50 ${run.bareRoundTrip.p50.toFixed(2)}, p99 ${run.bareRoundTrip.p99.toFixed(2)} ms); three replicas at once: p99 ${run.contended.p99.toFixed(2)} ms, ${run.conflicts} conflicts retried`,
    );
  } finally {
    await stopProcess(control.apiserver.pid);
    await stopProcess(control.etcd.pid);
    rmSync(dir, { recursive: true, force: true });
  }
}

function makeCerts(dir: string): string {
  const ca = createCA({ commonName: 'sidecar-guard-bench-ca' });
  const serving = issueServingCert(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  writeCertFiles(dir, ca, serving);
  return ca.certPem;
}

type Side = 'noop' | 'noop-app' | 'stub' | 'stub-10us' | 'validate';
/**
 * `stub-10us`: the stub decision spinning 10 µs of wall time first (bench/server.ts --burn-us), a decision that
 * meets decision_cpu_us_server's target and touches no memory: what such a decision scores in https_ratio.
 */
const SIDES: readonly Side[] = ['noop', 'noop-app', 'stub', 'stub-10us', 'validate'];
const STUB_BURN_US = 10;
const serverArgs = (side: Side): string[] =>
  side === 'stub-10us' ? ['--mode', 'stub', '--burn-us', String(STUB_BURN_US)] : ['--mode', side];

interface Server {
  side: Side;
  child: Child;
  target: Target;
  gc: GcLog;
}

/** Every server prints V8's GC trace (the same flag on each side, so none pays for it alone). */
async function startServer(side: Side, certDir: string, body: string, ca: string): Promise<Server> {
  const gc = new GcLog();
  const child = startChild('server.ts', [...serverArgs(side), '--cert-dir', certDir, '--sidecars', '10000'], {
    nodeFlags: [...GC_TRACE_FLAGS],
    onLine: gc.onLine,
  });
  const { port } = await child.next<{ port: number }>();
  return {
    side,
    child,
    gc,
    target: {
      origin: `https://127.0.0.1:${port}`,
      path: side === 'noop' || side === 'noop-app' ? '/noop' : '/validate',
      body,
      ca,
    },
  };
}

/** Each server must answer what the benchmark assumes before it is loaded. */
async function checkAnswers(servers: readonly Server[]): Promise<void> {
  for (const { side, target } of servers) {
    const { status, body } = await probe(target);
    if (status !== 200) throw new Error(`${side} server answered ${status}`);
    if (side === 'noop' || side === 'noop-app') continue;
    const response = (body as { response?: { allowed?: boolean; warnings?: unknown } }).response;
    if (response?.allowed !== true || response.warnings !== undefined) {
      throw new Error(
        `${side}: /validate did not allow the benchmark's Sidecar cleanly: ${JSON.stringify(body).slice(0, 400)}`,
      );
    }
  }
}

interface Stopped {
  decision: { decisions: number; meanUs: number } | null;
  inServerMs: Summary | null;
}

/**
 * 1,000 req/s from a client in a fresh child process: its clock is not paused
 * by this runner's garbage. After the warm-up (which also lets the server's
 * collector finish after the saturation runs) the server's own latency record
 * is reset, so it covers the measured run only.
 */
async function fixedRatePhase(validate: Server, certDir: string, body: string): Promise<FixedRate> {
  const { rate, seconds, connections, warmupS } = SETTINGS.fixed;
  const bodyFile = join(certDir, 'review.json');
  writeFileSync(bodyFile, body);
  const child = startChild('fixed-rate-child.ts', [
    '--origin',
    validate.target.origin,
    '--path',
    validate.target.path,
    '--ca',
    join(certDir, 'ca.crt'),
    '--body',
    bodyFile,
    '--rate',
    String(rate),
    '--seconds',
    String(seconds),
    '--warmup',
    String(warmupS),
    '--connections',
    String(connections),
  ]);
  await child.next<{ warm: true }>();
  validate.child.process.kill('SIGUSR2');
  child.process.kill('SIGUSR2');
  return finish<FixedRate>('fixed-rate-child.ts', child);
}

async function httpsPhase(
  results: Results,
  details: Record<string, unknown>,
  certDir: string,
  ca: string,
): Promise<void> {
  const plan = clusterPlan(10_000);
  const body = JSON.stringify(createReview(newSidecar(typicalNamespaces(plan)[0]!.name)));
  const servers = await Promise.all(SIDES.map((side) => startServer(side, certDir, body, ca)));
  const server = (side: Side) => servers.find((s) => s.side === side)!;
  let stopped: Stopped | undefined;
  try {
    await checkAnswers(servers);
    const { connections, warmupS, seconds, rounds } = SETTINGS.https;
    const runs: Record<Side, Throughput & { gc: GcSummary }>[] = [];
    for (let round = 0; round < rounds; round++) {
      const run: Partial<Record<Side, Throughput & { gc: GcSummary }>> = {};
      // Alternate the order, so drift in the machine's load hits every side alike;
      // the fair ceiling and /validate always run back to back (paired).
      for (const side of round % 2 === 0 ? SIDES : [...SIDES].reverse()) {
        const { target, child, gc } = server(side);
        await fullGcDuringWarmUp(child.process, warmupS * 1000, () =>
          throughput(target, { connections, seconds: warmupS }),
        );
        const from = performance.now();
        const r = await throughput(target, { connections, seconds, serverPid: child.process.pid });
        // The child's GC lines for the window may still be in the pipe.
        await new Promise((resolve) => setTimeout(resolve, 50));
        const gcSummary = summarizeGc(gc.window(from, performance.now()));
        if (r.non2xx > 0 || r.errors > 0)
          throw new Error(`${side}: ${r.non2xx} non-2xx answers and ${r.errors} errors under load`);
        log(
          `https ${side}: ${Math.round(r.rps)} req/s, p99 ${r.p99Ms} ms, server CPU ${r.serverCpuUsPerRequest?.toFixed(0) ?? '?'} µs/request, ${gcSummary.scavenges} scavenges promoting ${gcSummary.promotedKbPerScavenge.toFixed(1)} KB each (pause ${gcSummary.scavengePauseMsMean.toFixed(2)} ms)`,
        );
        run[side] = { ...r, gc: gcSummary };
      }
      runs.push(run as Record<Side, Throughput & { gc: GcSummary }>);
    }
    const rps = (side: Side) => median(runs.map((r) => r[side].rps));
    const cpu = (side: Side) => median(runs.map((r) => r[side].serverCpuUsPerRequest ?? NaN));
    const sys = (side: Side) => median(runs.map((r) => r[side].serverSysUsPerRequest ?? NaN));
    /** Median over rounds of the ratio within each round (each pair ran back to back). */
    const pairedRatio = (side: Side, ceiling: Side) => median(runs.map((r) => r[side].rps / r[ceiling].rps));
    results.https_rps_noop = round(rps('noop'), 0);
    results.https_rps_noop_app = round(rps('noop-app'), 0);
    results.https_rps_validate = round(rps('validate'), 0);
    results.https_ratio = round(pairedRatio('validate', 'noop-app'), 3);
    results.https_ratio_noop = round(pairedRatio('validate', 'noop'), 3);
    results.https_p99_ms = round(median(runs.map((r) => r.validate.p99Ms)), 2);
    results.https_p99_ms_noop = round(median(runs.map((r) => r.noop.p99Ms)), 2);
    results.https_rps_stub = round(rps('stub'), 0);
    results.https_ratio_stub = round(pairedRatio('stub', 'noop-app'), 3);
    results.https_ratio_stub_10us = round(pairedRatio('stub-10us', 'noop-app'), 3);
    results.https_cpu_us_noop = round(cpu('noop'), 0);
    results.https_cpu_us_noop_app = round(cpu('noop-app'), 0);
    results.https_cpu_us_stub = round(cpu('stub'), 0);
    results.https_cpu_us_stub_10us = round(cpu('stub-10us'), 0);
    results.https_cpu_us_validate = round(cpu('validate'), 0);
    results.https_cpu_ratio = round(cpu('noop-app') / cpu('validate'), 3);
    results.https_sys_us_noop_app = round(sys('noop-app'), 1);
    results.https_sys_us_stub = round(sys('stub'), 1);
    results.https_sys_us_stub_10us = round(sys('stub-10us'), 1);
    results.https_sys_us_validate = round(sys('validate'), 1);
    results.promoted_kb_per_scavenge = round(medianOf(runs.map((r) => r.validate.gc.promotedKbPerScavenge)), 1);
    results.promoted_kb_per_scavenge_noop_app = round(
      medianOf(runs.map((r) => r['noop-app'].gc.promotedKbPerScavenge)),
      1,
    );
    results.scavenge_pause_ms = round(medianOf(runs.map((r) => r.validate.gc.scavengePauseMsMean)), 2);
    details.https = { connections, seconds, rounds, bodyBytes: Buffer.byteLength(body), runs };

    const validate = server('validate');
    const fixed = await fixedRatePhase(validate, certDir, body);
    if (fixed.failed > 0) throw new Error(`fixed rate: ${fixed.failed} requests failed`);
    log(`fixed rate: ${Math.round(fixed.achievedRps)} req/s achieved, p99 ${fixed.latency.p99.toFixed(2)} ms`);
    results.fixed_rate_p99_ms = round(fixed.latency.p99, 2);
    results.fixed_rate_p50_ms = round(fixed.latency.p50, 2);
    results.fixed_rate_p99_ms_from_schedule = round(fixed.latencyFromSchedule.p99, 2);
    details.fixedRate = fixed;
  } finally {
    await Promise.all(servers.map((s) => s.child.stop()));
    stopped = await server('validate')
      .child.next<Stopped>()
      .catch(() => undefined);
  }
  if (stopped?.decision) {
    results.decision_mean_us_in_server = round(stopped.decision.meanUs, 1);
    details.decisionInServer = stopped.decision;
    // What each decision costs the server beyond its own time, over the stub: the rest of the request (TLS, HTTP,
    // parsing, the kernel's wake-ups) runs slower beside a decision that reads memory than beside one that spins.
    const beyond = (cpuUs: number | null | undefined, decisionUs: number) =>
      round(Number(cpuUs) - Number(results.https_cpu_us_stub) - decisionUs, 1);
    results.https_cpu_us_beyond_decision = beyond(results.https_cpu_us_validate, stopped.decision.meanUs);
    results.https_cpu_us_beyond_spin = beyond(results.https_cpu_us_stub_10us, STUB_BURN_US);
    // Of that, the kernel's part: a decision makes no system calls, yet a server answering fewer requests a second
    // pays the kernel more for each (fewer ready sockets per wake-up, the client asleep more often), as the
    // spinning stub, which touches no memory, shows too.
    results.https_sys_us_beyond_decision = round(
      Number(results.https_sys_us_validate) - Number(results.https_sys_us_stub),
      1,
    );
    results.https_sys_us_beyond_spin = round(
      Number(results.https_sys_us_stub_10us) - Number(results.https_sys_us_stub),
      1,
    );
    // The rest is user time: the request's own code running slower beside a decision that reads memory.
    results.https_user_us_beyond_decision = round(
      Number(results.https_cpu_us_beyond_decision) - Number(results.https_sys_us_beyond_decision),
      1,
    );
  }
  if (stopped?.inServerMs) {
    results.fixed_rate_p99_ms_in_server = round(stopped.inServerMs.p99, 2);
    details.fixedRateInServerMs = stopped.inServerMs;
  }
}

async function memoryPhase(results: Results, details: Record<string, unknown>): Promise<void> {
  const memory = await measureMemory(10_000);
  results.rss_mb = round(memory.rssMb, 1);
  results.rss_baseline_mb = round(memory.rssBaselineMb, 1);
  results.heap_used_mb = round(memory.heapUsedMb, 1);
  const marginal = marginalBytes(memory);
  const key: Record<string, string> = {
    'sidecars and pods': 'bytes_per_sidecar_or_pod',
    workloads: 'bytes_per_workload',
    services: 'bytes_per_service',
    serviceEntries: 'bytes_per_service_entry',
  };
  for (const m of marginal) results[key[m.group]!] = m.heapBytes;
  details.memory = { ...memory, marginal };
  log(
    `memory (${memory.root}): RSS ${memory.rssMb.toFixed(1)} MB, before loading ${memory.rssBaselineMb.toFixed(1)} MB; heap bytes per object: ${marginal.map((m) => `${m.group} ${m.heapBytes}`).join(', ')}`,
  );
}

/** Issue 20: 150,000 pods in 10,000 namespaces, shared and unique label sets, and a re-list of them. */
async function scalePhase(results: Results, details: Record<string, unknown>): Promise<void> {
  const shared = await measureScale(false);
  const unique = await measureScale(true);
  const loaded = (m: typeof shared) => m.groups[0]!;
  results.rss_mb_150k = round(loaded(shared).rssMb, 1);
  results.rss_mb_150k_unique = round(loaded(unique).rssMb, 1);
  results.relist_peak_mb = round(unique.relist?.peakAboveSteadyMb ?? NaN, 1);
  results.bytes_per_pod_150k_unique = Math.round(
    ((loaded(unique).heapUsedMb - unique.heapUsedBaselineMb) * 2 ** 20) / unique.counts.pods,
  );
  results.bytes_per_pod_150k = Math.round(
    ((loaded(shared).heapUsedMb - shared.heapUsedBaselineMb) * 2 ** 20) / shared.counts.pods,
  );
  details.scale = { shared, unique };
  for (const [name, m] of [
    ['shared', shared],
    ['unique', unique],
  ] as const) {
    log(
      `scale (${name} label sets): RSS ${loaded(m).rssMb.toFixed(1)} MB (${m.counts.pods} pods, ${m.counts.sidecars} Sidecars, ${m.counts.namespaces} namespaces), before loading ${m.rssBaselineMb.toFixed(1)} MB; re-list peak ${m.relist?.peakRssMb.toFixed(1)} MB, ${m.relist?.peakAboveSteadyMb.toFixed(1)} MB above ${m.relist?.steadyRssMb.toFixed(1)}`,
    );
  }
}

async function startupPhase(results: Results, details: Record<string, unknown>, certDir: string): Promise<void> {
  const startup = await measureStartup(certDir, SETTINGS.startupRuns);
  results.startup_ms = round(median(startup.runs), 0);
  details.startup = startup;
  log(`startup (${startup.mode}): ${startup.runs.map((r) => Math.round(r)).join(', ')} ms`);
}

async function attackPhase(results: Results, details: Record<string, unknown>): Promise<void> {
  const attack = await measureAttacks(SETTINGS.attackSeconds);
  const run = (mode: string, body: string) => attack.runs.find((r) => r.mode === mode && r.body === body)!;
  const flood = run('flood', 'conditions');
  const worst = run('flood', 'empty-objects');
  const trickle = run('trickle', 'review');
  results.attack_flood_rss_mb = round(flood.rssPeakMb, 0);
  results.attack_flood_honest_max_ms = round(flood.honest.latencyMs.max, 0);
  results.attack_flood_honest_fresh_max_ms = round(flood.honestFresh.latencyMs.max, 0);
  results.attack_flood_worst_rss_mb = round(worst.rssPeakMb, 0);
  results.attack_flood_worst_honest_max_ms = round(worst.honest.latencyMs.max, 0);
  results.attack_flood_worst_honest_fresh_max_ms = round(worst.honestFresh.latencyMs.max, 0);
  results.attack_trickle_rss_mb = round(trickle.rssPeakMb, 0);
  results.attack_trickle_honest_max_ms = round(trickle.honest.latencyMs.max, 0);
  results.attack_trickle_honest_fresh_max_ms = round(trickle.honestFresh.latencyMs.max, 0);
  const connect = run('connect', 'idle');
  results.attack_connect_rss_mb = round(connect.rssPeakMb, 0);
  results.attack_connect_honest_max_ms = round(connect.honest.latencyMs.max, 0);
  results.attack_connect_probe_max_ms = round(connect.probes!.latencyMs.max, 0);
  results.attack_connect_fresh_answered_pct = round((100 * connect.honestFresh.ok) / connect.honestFresh.sent, 0);
  results.attack_connect_dropped = connect.connectionsDropped ?? 0;
  results.attack_server_crashes = attack.runs.filter((r) => r.crashed).length;
  // New connections during the connection flood are dropped by design (--max-connections): reported above, not here.
  const failed = (h: { sent: number; ok: number } | undefined) => (h ? h.sent - h.ok : 0);
  results.attack_honest_failed = attack.runs.reduce(
    (n, r) => n + failed(r.honest) + (r.mode === 'connect' ? 0 : failed(r.honestFresh)) + failed(r.probes),
    0,
  );
  details.attack = attack;
}

/** audit --scope at 1,000 and 10,000 namespaces of one Sidecar each (bench/scope.ts): CPU, near-linear in the cluster. */
async function scopePhase(results: Results, details: Record<string, unknown>): Promise<void> {
  const run = await runChild<{ sizes: { namespaces: number; wallMs: number; cpuMs: number }[] }>('scope.ts', [
    '--sizes',
    '1000,10000',
    '--runs',
    flags.quick ? '1' : '3',
  ]);
  const at = (n: number) => run.sizes.find((s) => s.namespaces === n);
  results.scope_audit_cpu_ms = round(at(10_000)?.cpuMs ?? NaN, 0);
  results.scope_audit_ms = round(at(10_000)?.wallMs ?? NaN, 0);
  results.scope_audit_cpu_ms_1k = round(at(1_000)?.cpuMs ?? NaN, 0);
  results.scope_audit_growth = round((at(10_000)?.cpuMs ?? NaN) / (at(1_000)?.cpuMs ?? NaN), 1);
  details.scope = run;
}

/** `check` on a 16 MiB manifest file, the largest --max-file-size lets in by default (bench/check-file.ts). */
async function checkFilePhase(results: Results, details: Record<string, unknown>): Promise<void> {
  const run = measureCheckFile();
  results.check_file_rss_mb = round(run.peakRssMb, 0);
  results.check_file_ms = round(run.wallMs, 0);
  // A cluster's dump as kubectl prints it: one List, read item by item.
  const jsonList = measureCheckFile('json-list');
  results.check_list_json_rss_mb = round(jsonList.peakRssMb, 0);
  results.check_list_json_ms = round(jsonList.wallMs, 0);
  const yamlList = measureCheckFile('yaml-list');
  results.check_list_yaml_rss_mb = round(yamlList.peakRssMb, 0);
  results.check_list_yaml_ms = round(yamlList.wallMs, 0);
  const wide = measureWideMapping();
  results.check_wide_mapping_ms = round(wide.wallMs, 0);
  details.checkFile = { ...run, jsonList, yamlList, wideMapping: wide };
}

/** Issue 14, bounded output: the largest bodies and the costliest objects still judged, each on a fresh server (bench/bounded.ts). */
async function boundedPhase(results: Results, details: Record<string, unknown>): Promise<void> {
  const rows = await measureBounded(BENCH_CASES);
  const all = rows.flatMap((r) => r.attempts);
  results.bounded_response_bytes_max = Math.max(...all.map((a) => a.responseBytes));
  results.bounded_decision_max_ms = Math.max(...all.map((a) => a.decisionMs));
  results.bounded_healthz_max_ms = Math.max(...all.map((a) => a.healthzMaxMs));
  results.bounded_rss_peak_mb = Math.max(...rows.map((r) => r.rssPeakMb));
  results.bounded_failed = all.filter((a) => a.error || a.status !== 200).length;
  details.bounded = rows;
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return null;
  }
}

async function main(): Promise<number> {
  const startedAt = new Date();
  const t0 = performance.now();
  const loadBefore = loadavg();
  if (flags.profile) {
    const dir = join(REPO_ROOT, 'bench', 'profiles');
    mkdirSync(dir, { recursive: true });
    childNodeFlags.push('--cpu-prof', '--cpu-prof-dir', dir);
    log(`CPU profiles of the children go to ${dir} (summarize with bench/profile-summary.ts)`);
  }
  const distFresh = distIsFresh();
  const source = productRoot();
  // Decided once: others may edit src/ during a long run, and every phase must measure the same code.
  process.env.BENCH_SOURCE = source;
  if (source === 'src')
    log(
      `${DIST_DIR} is missing or older than src/: measuring the sources through tsx, which is slower than the build (run make bench)`,
    );
  const results: Results = {};
  const details: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  const certDir = mkdtempSync(join(tmpdir(), 'sidecar-guard-bench-'));
  try {
    const ca = makeCerts(certDir);
    const phases: [string, () => Promise<void>][] = [
      ['decision', () => decisionPhase(results, details)],
      ['memory', () => memoryPhase(results, details)],
      ['scale', () => scalePhase(results, details)],
      ['claims', () => claimsPhase(results, details)],
      ['https', () => httpsPhase(results, details, certDir, ca)],
      ['startup', () => startupPhase(results, details, certDir)],
      ['attack', () => attackPhase(results, details)],
      ['bounded', () => boundedPhase(results, details)],
      ['scope', () => scopePhase(results, details)],
      ['check-file', () => checkFilePhase(results, details)],
    ];
    const only = flags.only?.split(',');
    for (const [name, phase] of phases) {
      if (only && !only.includes(name)) continue;
      log(`${name}...`);
      try {
        await phase();
      } catch (err) {
        errors[name] = (err as Error).stack ?? String(err);
        log(`${name} failed: ${errors[name]}`);
      }
    }
  } finally {
    rmSync(certDir, { recursive: true, force: true });
  }
  const wallS = (performance.now() - t0) / 1000;
  const meta = {
    date: startedAt.toISOString(),
    quick: flags.quick,
    wallSeconds: round(wallS, 1),
    commit: gitCommit(),
    source,
    distFresh,
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGb: round(totalmem() / 2 ** 30, 1),
    loadavgBefore: loadBefore.map((l) => round(l, 2)),
    loadavgAfter: loadavg().map((l) => round(l, 2)),
    settings: SETTINGS,
  };
  const output = { ...results, missed: missed(results), errors, meta, details };
  writeFileSync(join(REPO_ROOT, 'bench', 'results.json'), `${JSON.stringify(output, null, 2)}\n`);

  process.stdout.write(
    `\nsidecar-guard benchmark${flags.quick ? ' (quick)' : ''}, ${meta.date}, ${meta.cpus} × ${meta.cpuModel}, node ${meta.node}\n`,
  );
  process.stdout.write(
    `load average before ${meta.loadavgBefore.join(' ')}, after ${meta.loadavgAfter.join(' ')}; wall time ${meta.wallSeconds} s\n\n`,
  );
  process.stdout.write(`${table(results)}\n\n`);
  if (Object.keys(errors).length > 0)
    process.stdout.write(`phases that failed: ${Object.keys(errors).join(', ')} (see stderr)\n`);
  process.stdout.write(`results written to bench/results.json\n`);
  if (flags.json)
    process.stdout.write(
      `${JSON.stringify({ ...results, missed: output.missed, errors: Object.keys(errors), meta: { ...meta, settings: undefined } })}\n`,
    );
  if (Object.keys(errors).length > 0) return 1;
  return flags.strict && output.missed.length > 0 ? 2 : 0;
}

process.exitCode = await main();

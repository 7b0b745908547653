// Paired HTTPS rounds over the servers of bench/server.ts, to see one effect
// of the https phase again without the whole benchmark: each side's req/s and
// server CPU per request, user and system (kernel) time apart, medians over
// rounds that alternate the order.
//   node --import tsx bench/https-sides.ts [--rounds 4] [--seconds 5] SIDE...
// SIDE is noop, noop-app, stub, validate, or stub-<N>us (the stub decision
// spinning N µs, touching no memory). `stub-25us validate` shows that a
// server answering as many requests a second as /validate does pays the
// kernel as much more per request as /validate does, though it reads nothing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createCA, issueServingCert } from '../src/tls/certs.js';
import { writeCertFiles } from '../src/tls/files.js';
import { startChild, type Child } from './child.js';
import { throughput, type Throughput } from './load.js';
import { median } from './stats.js';
import { clusterPlan, createReview, newSidecar, typicalNamespaces } from './workload.js';

const { values, positionals } = parseArgs({
  options: { rounds: { type: 'string', default: '4' }, seconds: { type: 'string', default: '5' } },
  allowPositionals: true,
});
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
if (positionals.length === 0 || !(rounds > 0) || !(seconds > 0)) {
  process.stderr.write('usage: bench/https-sides.ts [--rounds N] [--seconds N] SIDE... (see the first lines)\n');
  process.exit(2);
}

/** bench/server.ts's arguments for a side. */
function serverArgs(side: string): string[] {
  const spin = /^stub-(\d+)us$/.exec(side);
  if (spin) return ['--mode', 'stub', '--burn-us', spin[1]!];
  if (['noop', 'noop-app', 'stub', 'validate'].includes(side)) return ['--mode', side];
  process.stderr.write(`unknown side ${side}: noop, noop-app, stub, validate or stub-<N>us\n`);
  process.exit(2);
}

const certDir = mkdtempSync(join(tmpdir(), 'sidecar-guard-https-sides-'));
const ca = createCA({ commonName: 'sidecar-guard-bench-ca' });
writeCertFiles(certDir, ca, issueServingCert(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }));
// The https phase's body: a typical namespace's new Sidecar, allowed cleanly.
const body = JSON.stringify(createReview(newSidecar(typicalNamespaces(clusterPlan(10_000))[0]!.name)));

const servers: { side: string; child: Child; origin: string; runs: Throughput[] }[] = [];
try {
  for (const side of positionals) {
    const child = startChild('server.ts', [...serverArgs(side), '--cert-dir', certDir, '--sidecars', '10000']);
    const { port } = await child.next<{ port: number }>();
    servers.push({ side, child, origin: `https://127.0.0.1:${port}`, runs: [] });
  }
  for (let round = 0; round < rounds; round++) {
    for (const s of round % 2 === 0 ? servers : [...servers].reverse()) {
      const target = {
        origin: s.origin,
        path: s.side.startsWith('noop') ? '/noop' : '/validate',
        body,
        ca: ca.certPem,
      };
      await throughput(target, { connections: 10, seconds: 1 });
      const run = await throughput(target, { connections: 10, seconds, serverPid: s.child.process.pid });
      if (run.non2xx > 0 || run.errors > 0) throw new Error(`${s.side}: ${run.non2xx} non-2xx, ${run.errors} errors`);
      s.runs.push(run);
    }
  }
  // Each server reports, as it stops, the mean time its route measured around the decision.
  await Promise.all(servers.map((s) => s.child.stop()));
  const decisionUs = await Promise.all(
    servers.map((s) =>
      s.child
        .next<{ decision?: { meanUs: number } | null }>()
        .then((m) => m.decision?.meanUs ?? Number.NaN)
        .catch(() => Number.NaN),
    ),
  );
  const at = (runs: Throughput[], pick: (r: Throughput) => number | undefined) =>
    median(runs.map((r) => pick(r) ?? Number.NaN));
  process.stdout.write('side            req/s   CPU µs/req   user   system   decision µs\n');
  for (const [i, { side, runs }] of servers.entries()) {
    const cpu = at(runs, (r) => r.serverCpuUsPerRequest);
    const user = at(runs, (r) => (r.serverCpuUsPerRequest ?? Number.NaN) - (r.serverSysUsPerRequest ?? Number.NaN));
    const sys = at(runs, (r) => r.serverSysUsPerRequest);
    const rps = at(runs, (r) => r.rps);
    process.stdout.write(
      `${side.padEnd(12)} ${rps.toFixed(0).padStart(8)} ${cpu.toFixed(1).padStart(12)} ${user.toFixed(1).padStart(6)} ${sys.toFixed(1).padStart(8)} ${decisionUs[i]!.toFixed(1).padStart(13)}\n`,
    );
  }
} finally {
  await Promise.all(servers.map((s) => s.child.stop()));
  rmSync(certDir, { recursive: true, force: true });
}

// One benchmark server under load, and what V8's garbage collector did
// meanwhile (--trace-gc-nvp): to check a GC finding by hand, with or without
// a V8 flag, e.g.
//   node --import tsx bench/gc-probe.ts validate 5
//   node --import tsx bench/gc-probe.ts validate 5 --no-allocation-site-pretenuring
// MODE is a bench/server.ts mode (noop, noop-app, stub, validate); SECONDS
// the measured load after a 1 s warm-up (autocannon, 10 connections) with a
// full GC halfway through it (fullGcDuringWarmUp in gc-trace.ts); any
// further arguments are node flags for the server, except --burn-us=N, which
// goes to the server (a stub that spins N µs per decision, bench/server.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCA, issueServingCert } from '../src/tls/certs.js';
import { writeCertFiles } from '../src/tls/files.js';
import { startChild } from './child.js';
import { fullGcDuringWarmUp, GC_TRACE_FLAGS, GcLog, summarizeGc } from './gc-trace.js';
import { throughput } from './load.js';
import { clusterPlan, createReview, newSidecar, typicalNamespaces } from './workload.js';

const [mode = 'validate', seconds = '5', ...rest] = process.argv.slice(2);
const serverArgs = rest.filter((a) => a.startsWith('--burn-us='));
const flags = rest.filter((a) => !a.startsWith('--burn-us='));
const dir = mkdtempSync(join(tmpdir(), 'sidecar-guard-gc-probe-'));
try {
  const ca = createCA({ commonName: 'sidecar-guard-gc-probe' });
  writeCertFiles(dir, ca, issueServingCert(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }));
  const gc = new GcLog();
  const child = startChild('server.ts', ['--mode', mode, '--cert-dir', dir, '--sidecars', '10000', ...serverArgs], {
    nodeFlags: [...GC_TRACE_FLAGS, ...flags],
    onLine: gc.onLine,
  });
  const { port } = await child.next<{ port: number }>();
  const plan = clusterPlan(10_000);
  const body = JSON.stringify(createReview(newSidecar(typicalNamespaces(plan)[0]!.name)));
  const target = {
    origin: `https://127.0.0.1:${port}`,
    path: mode.startsWith('noop') ? '/noop' : '/validate',
    body,
    ca: ca.certPem,
  };
  await fullGcDuringWarmUp(child.process, 1000, () => throughput(target, { connections: 10, seconds: 1 }));
  const from = performance.now();
  const r = await throughput(target, { connections: 10, seconds: Number(seconds), serverPid: child.process.pid });
  await new Promise((resolve) => setTimeout(resolve, 50));
  const summary = summarizeGc(gc.window(from, performance.now()));
  await child.stop();
  process.stdout.write(
    `${mode} ${flags.join(' ')}: ${Math.round(r.rps)} req/s, server CPU ${r.serverCpuUsPerRequest?.toFixed(0) ?? '?'} µs/request; ` +
      `${summary.scavenges} scavenges, ${summary.promotedKbPerScavenge.toFixed(1)} KB promoted each, mean pause ${summary.scavengePauseMsMean.toFixed(2)} ms, ${summary.markCompacts} mark-compacts\n`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}

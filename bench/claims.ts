// Child: a decision including its claim (--claims=api), against a local
// kube-apiserver (started by the runner, bench/run.ts). One replica admits
// CREATEs of selector Sidecars that pass the rules, one at a time, spread
// over a namespace per four of them (each namespace's ConfigMap keeps its
// recent claims, as in production, so it holds four or five); then
// three replicas in this process admit together in the same namespaces, so
// their writes conflict and are retried. Latency is Admitter.validate's,
// call by call, in milliseconds. For scale, the bare round trip: a PUT of a
// ConfigMap of the same size with the same client, nothing else.

//   node --import tsx bench/claims.ts --kubeconfig FILE --iterations N --warmup N
import { parseArgs } from 'node:util';
import type { AdmissionRequest } from '../src/admission/types.js';
import { report } from './child.js';
import { loadClaimsProduct } from './product.js';
import { summarize, type Summary } from './stats.js';
import { createReview, newSidecar } from './workload.js';

export interface ClaimsRun {
  root: 'dist' | 'src';
  /** One replica, one request at a time. */
  single: Summary;
  /** The API server alone: PUT of a ConfigMap with the resourceVersion read, one at a time. */
  bareRoundTrip: Summary;
  /** Three replicas at once in the same namespace. */
  contended: Summary;
  conflicts: number;
  failures: number;
}

const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    iterations: { type: 'string', default: '1000' },
    warmup: { type: 'string', default: '200' },
  },
});
const { Admitter, ApiClaims, KubeClient, Reservations, ClusterStore, root } = await loadClaimsProduct();
const client = KubeClient.load(values.kubeconfig!);
let conflicts = 0;
let failures = 0;
let serial = 0;

function replica(name: string) {
  const reservations = new Reservations({ view: new ClusterStore(), replica: name });
  const claims = new ApiClaims({ client, namespace: 'sidecar-guard', pruneAfterMs: 65_000 });
  return new Admitter(reservations, {
    review: { overlap: 'labels', rootNamespace: 'istio-system' },
    replica: name,
    ttlMs: 30_000,
    claims,
    claimTimeoutMs: 5_000,
    maxViewAgeMs: 60_000,
    observer: { claimWritten: () => {}, claimConflict: () => void conflicts++, claimFailed: () => void failures++ },
  });
}

/** A CREATE that passes: a selector no other Sidecar of the namespace has, name and uid filled in as kube-apiserver does. */
function admissible(namespace: string): AdmissionRequest {
  const n = ++serial;
  const sidecar = newSidecar(namespace) as {
    metadata: Record<string, unknown>;
    spec: { workloadSelector: { labels: Record<string, string> } };
  };
  sidecar.metadata.name = `bench-${n}`;
  sidecar.metadata.uid = `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
  sidecar.spec.workloadSelector = { labels: { app: `bench-${n}` } };
  return createReview(sidecar).request as AdmissionRequest;
}

async function timed(admitter: ReturnType<typeof replica>, request: AdmissionRequest): Promise<number> {
  const t0 = process.hrtime.bigint();
  const decision = await admitter.validate(request, { budgetMs: 5_000 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (!decision.allowed) throw new Error(`not admitted: ${decision.message}`);
  return ms;
}

const iterations = Number(values.iterations);
const warmup = Number(values.warmup);
const NAMESPACES = Math.max(100, Math.ceil(iterations / 4));
const one = replica('bench-1');
// Warm-up: every namespace's claims object read and created, the code paths compiled.
for (let i = 0; i < Math.max(warmup, NAMESPACES); i++) await timed(one, admissible(`bench-${i % NAMESPACES}`));
const single: number[] = [];
for (let i = 0; i < iterations; i++) single.push(await timed(one, admissible(`bench-${i % NAMESPACES}`)));

// The bare round trip in the same conditions: PUT a ConfigMap of about the claims' size (five claims).
const bare: number[] = [];
const data = { claims: 'x'.repeat(1_500) };
let version = String(
  (
    await client.request<{ metadata: { resourceVersion: string } }>(
      'POST',
      '/api/v1/namespaces/sidecar-guard/configmaps',
      { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'bench-bare' }, data } },
    )
  ).body.metadata.resourceVersion,
);
for (let i = 0; i < iterations; i++) {
  const t0 = process.hrtime.bigint();
  const { body } = await client.request<{ metadata: { resourceVersion: string } }>(
    'PUT',
    '/api/v1/namespaces/sidecar-guard/configmaps/bench-bare',
    {
      body: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'bench-bare', resourceVersion: version },
        data: { ...data, i: String(i) },
      },
    },
  );
  bare.push(Number(process.hrtime.bigint() - t0) / 1e6);
  version = body.metadata.resourceVersion;
}

const three = [one, replica('bench-2'), replica('bench-3')];
const contended: number[] = [];
const rounds = Math.ceil(iterations / 3);
for (let i = 0; i < rounds; i++) {
  const ns = `bench-${i % NAMESPACES}`;
  contended.push(...(await Promise.all(three.map((r) => timed(r, admissible(ns))))));
}
report({
  root,
  single: summarize(single),
  bareRoundTrip: summarize(bare),
  contended: summarize(contended),
  conflicts,
  failures,
} satisfies ClaimsRun);

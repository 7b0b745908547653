// No conflicting pair is admitted across replicas (issue 15): three
// sidecar-guard replicas (npm run e2e:up -- --replicas 3) decide through
// claims in the real kube-apiserver.
//   - 200 concurrent AdmissionReviews of namespace-wide CREATEs, posted
//     round-robin straight to the replicas (.e2e/replicas.json): exactly one
//     admitted;
//   - 200 with random selectors over a small label alphabet: no two admitted
//     ones can select the same pod. The replicas run with the default
//     --overlap workloads, and each such namespace holds a Deployment for each
//     of the 9 label combinations, so they refuse exactly the pairs that
//     --overlap labels refuses (a pair is refused when some pod could carry
//     both label sets), which the test checks on its own;
//   each repeated E2E_RACE_RUNS times (50, about 10 s each), every run in a
//   namespace of its own;
//   - the same with kubectl: a folder of 200 manifests applied in parallel, by
//     20 kubectl processes at once with 10 files each (as a GitOps tool with a
//     parallelism of 20 would), the API server calling the replicas through
//     a round-robin proxy (a Service's part), E2E_RACE_KUBECTL_RUNS times
//     (make test: 5, about 30 s; make e2e-race: 50, about 5 minutes); what
//     ends up stored is checked.
// An HTTP 500 (claim not written) counts as a failure: the API server is healthy.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { sidecarReview } from '../helpers/app.js';
import { ALPHABET, labelsOverlap, randomSelector, type Selector } from '../helpers/claims.js';
import { sidecar } from '../helpers/objects.js';
import { waitFor } from '../helpers/wait.js';
import { E2E_DIR, kubectl, mustKubectl, namespaces, needsRealApiServer, readState, REPLICAS_FILE } from './env.js';
import { roundRobin, type RoundRobin } from './round-robin.js';

const RUNS = Number(process.env.E2E_RACE_RUNS ?? 50);
const KUBECTL_RUNS = Number(process.env.E2E_RACE_KUBECTL_RUNS ?? 5);
const CONCURRENT = 200;
/** kubectl processes applying the folder at once (200 at once starve two cores: kube-apiserver's 5 s webhook deadline passes). */
const KUBECTL_PARALLEL = 20;

interface Replica {
  url: string;
  ca: string;
  agent: https.Agent;
}

function loadReplicas(): Replica[] {
  if (!existsSync(REPLICAS_FILE)) return [];
  const list = JSON.parse(readFileSync(REPLICAS_FILE, 'utf8')) as { url: string; caFile: string }[];
  return list.map((r) => ({
    url: r.url,
    ca: readFileSync(r.caFile, 'utf8'),
    agent: new https.Agent({ keepAlive: true, maxSockets: CONCURRENT }),
  }));
}

const replicas = loadReplicas();
const needsThree =
  replicas.length >= 3
    ? false
    : `needs three replicas (npm run e2e:up -- --replicas 3); ${REPLICAS_FILE} lists ${replicas.length}`;

interface Verdict {
  status: number;
  allowed?: boolean;
  message?: string;
  warnings?: string[];
  body?: string;
}

function post(replica: Replica, review: unknown): Promise<Verdict> {
  const payload = JSON.stringify(review);
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${replica.url}/validate?timeout=5s`,
      {
        method: 'POST',
        ca: replica.ca,
        agent: replica.agent,
        timeout: 10_000,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => {
          if (res.statusCode !== 200) return resolve({ status: res.statusCode ?? 0, body: text });
          const response = JSON.parse(text).response as {
            allowed: boolean;
            status?: { message: string };
            warnings?: string[];
          };
          resolve({
            status: 200,
            allowed: response.allowed,
            warnings: response.warnings ?? [],
            ...(response.status ? { message: response.status.message } : {}),
          });
        });
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.end(payload);
  });
}

/** A CREATE as kube-apiserver sends it to validating webhooks: name and uid filled in. */
function createReview(namespace: string, name: string, selector?: Selector) {
  const object = sidecar(namespace, name, selector ? { selector } : {});
  (object.metadata as Record<string, unknown>).uid = randomUUID();
  return sidecarReview(object);
}

/** Every review at once, round-robin over the replicas. */
const raceAll = (reviews: unknown[]) => Promise.all(reviews.map((r, i) => post(replicas[i % replicas.length]!, r)));

async function metricsOf(replicaIndex: number): Promise<string> {
  const state = readState();
  const url = (state.replicas ?? [state.webhook])[replicaIndex]!.metricsUrl;
  return (await fetch(`${url}/metrics`)).text();
}
const sample = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
const admissionRequests = (text: string) =>
  [...text.matchAll(/^sidecar_guard_admission_requests_total\{[^}]*endpoint="validate"[^}]*\} (\d+)$/gm)].reduce(
    (n, m) => n + Number(m[1]),
    0,
  );

async function claimFigures(): Promise<string> {
  const texts = await Promise.all(replicas.map((_r, i) => metricsOf(i)));
  const count = texts.reduce((n, t) => n + sample(t, 'sidecar_guard_claim_duration_seconds_count'), 0);
  const sum = texts.reduce((n, t) => n + sample(t, 'sidecar_guard_claim_duration_seconds_sum'), 0);
  const conflicts = texts.reduce((n, t) => n + sample(t, 'sidecar_guard_claim_conflicts_total'), 0);
  const failures = texts.reduce(
    (n, t) =>
      n +
      [...t.matchAll(/^sidecar_guard_claim_failures_total\{[^}]*\} (\d+)$/gm)].reduce((m, x) => m + Number(x[1]), 0),
    0,
  );
  return `claims written ${count} (mean ${count ? ((sum / count) * 1000).toFixed(1) : '-'} ms), conflicts retried ${conflicts}, claim failures ${failures}`;
}

const stamp = Date.now().toString(36);

describe('three replicas, claims in the real API server: no conflicting pair admitted', {
  skip: needsThree,
  timeout: 30 * 60_000,
}, () => {
  after(() => {
    for (const r of replicas) r.agent.destroy();
  });

  test(`${CONCURRENT} concurrent namespace-wide CREATEs, round-robin over the replicas: exactly one admitted (${RUNS} runs)`, async (t) => {
    const admittedPerRun: number[] = [];
    const ms: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const ns = `race-wide-${stamp}-${run}`;
      const started = performance.now();
      const verdicts = await raceAll(Array.from({ length: CONCURRENT }, (_, i) => createReview(ns, `s${i}`)));
      ms.push(performance.now() - started);
      const failed = verdicts.filter((v) => v.status !== 200);
      assert.deepEqual(failed, [], `run ${run}: every review answered`);
      const admitted = verdicts.filter((v) => v.allowed);
      admittedPerRun.push(admitted.length);
      assert.equal(admitted.length, 1, `run ${run}: ${admitted.length} admitted`);
      for (const v of verdicts.filter((x) => !x.allowed))
        assert.match(v.message!, /already has a namespace-wide Sidecar: s\d+/);
    }
    t.diagnostic(
      `${RUNS} runs × ${CONCURRENT}: admitted per run ${summary(admittedPerRun)}; run time ${summary(ms.map(Math.round))} ms; ${await claimFigures()}`,
    );
  });

  test(`${CONCURRENT} concurrent CREATEs with random selectors over {app,tier} × {a,b,c}: no overlapping pair admitted (${RUNS} runs)`, async (t) => {
    const admittedPerRun: number[] = [];
    const overlapNamespaces = Array.from({ length: RUNS }, (_, run) => `race-overlap-${stamp}-${run}`);
    await seedWorkloads(overlapNamespaces);
    for (let run = 0; run < RUNS; run++) {
      const ns = overlapNamespaces[run]!;
      const selectors = Array.from({ length: CONCURRENT }, () => randomSelector());
      const verdicts = await raceAll(selectors.map((s, i) => createReview(ns, `s${i}`, s)));
      assert.deepEqual(
        verdicts.filter((v) => v.status !== 200),
        [],
        `run ${run}: every review answered`,
      );
      const admitted = selectors.filter((_s, i) => verdicts[i]!.allowed);
      assertDisjoint(admitted, `run ${run}`);
      admittedPerRun.push(admitted.length);
    }
    t.diagnostic(
      `${RUNS} runs × ${CONCURRENT}: admitted per run ${summary(admittedPerRun)}, pairwise disjoint; ${await claimFigures()}`,
    );
  });

  describe('kubectl applying a folder in parallel, the API server calling the replicas round-robin', {
    skip: needsRealApiServer() || (KUBECTL_RUNS === 0 && 'E2E_RACE_KUBECTL_RUNS=0'),
  }, () => {
    let proxy: RoundRobin;
    let originalUrl: string;

    before(async () => {
      proxy = await roundRobin(replicas.map((r) => ({ host: '127.0.0.1', port: Number(new URL(r.url).port) })));
      originalUrl = await webhookUrl();
      await setWebhookUrl(`https://127.0.0.1:${proxy.port}/validate`);
    });

    after(async () => {
      await setWebhookUrl(originalUrl);
      await proxy.close();
    });

    test(`${CONCURRENT} namespace-wide Sidecars: exactly one stored; random selectors: no overlapping pair stored (${KUBECTL_RUNS} runs each)`, async (t) => {
      const before = await Promise.all(replicas.map(async (_r, i) => admissionRequests(await metricsOf(i))));
      const stored: string[] = [];
      for (let run = 0; run < KUBECTL_RUNS; run++) {
        const wide = `kubectl-wide-${stamp}-${run}`;
        const results = await applyInParallel(
          wide,
          Array.from({ length: CONCURRENT }, () => undefined),
        );
        const names = await storedSidecars(wide);
        assert.equal(names.length, 1, `run ${run}: stored ${names.map((n) => n.name).join(', ')}`);
        assert.equal(results.created, 1, `run ${run}: kubectl reported ${results.created} created`);
        assert.equal(results.denied, CONCURRENT - 1, `run ${run}: ${results.other.slice(0, 3).join(' | ')}`);

        const overlap = `kubectl-overlap-${stamp}-${run}`;
        await seedWorkloads([overlap]);
        const selectors = Array.from({ length: CONCURRENT }, () => randomSelector());
        const second = await applyInParallel(overlap, selectors);
        const kept = await storedSidecars(overlap);
        assertDisjoint(
          kept.map((s) => s.selector!),
          `run ${run}`,
        );
        assert.equal(second.created, kept.length);
        assert.equal(second.denied, CONCURRENT - kept.length, `run ${run}: ${second.other.slice(0, 3).join(' | ')}`);
        stored.push(`${names.length}/${kept.length}`);
      }
      const afterCounts = await Promise.all(replicas.map(async (_r, i) => admissionRequests(await metricsOf(i))));
      const perReplica = afterCounts.map((n, i) => n - before[i]!);
      assert.ok(
        perReplica.every((n) => n > 0),
        `every replica decided some: ${perReplica.join(', ')}`,
      );
      t.diagnostic(
        `${KUBECTL_RUNS} runs: stored (namespace-wide/selector) ${stored.join(', ')}; reviews per replica ${perReplica.join(', ')}; proxy connections ${proxy.connections.join(', ')}; ${await claimFigures()}`,
      );
    });
  });
});

/**
 * A namespace for each name holding a Deployment for each of the 9 label
 * combinations of the alphabet (created in one kubectl call), then waits
 * until every replica's view has the last one: a dry run selecting it gets
 * no IST0101 warning from any replica.
 */
async function seedWorkloads(names: string[]): Promise<void> {
  const combos = ALPHABET.app.flatMap((app) => ALPHABET.tier.map((tier) => ({ app, tier })));
  const objects = names.flatMap((ns) => [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
    ...combos.map((labels) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: `${labels.app}-${labels.tier}`, namespace: ns },
      spec: {
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }] } },
      },
    })),
  ]);
  mkdirSync(join(E2E_DIR, 'race'), { recursive: true });
  const file = join(E2E_DIR, 'race', `workloads-${names[0]}.yaml`);
  writeFileSync(file, objects.map((o) => stringify(o)).join('---\n'));
  await mustKubectl(['create', '-f', file]);
  const last = combos[combos.length - 1]!;
  const ns = names[names.length - 1]!;
  for (const replica of replicas) {
    await waitFor(
      `${replica.url} to see the Deployments of ${ns}`,
      async () => {
        const probe = await post(replica, sidecarReview(sidecar(ns, 'probe', { selector: last }), { dryRun: true }));
        return probe.status === 200 && !(probe.warnings ?? []).some((w) => w.includes('(IST0101)'));
      },
      60_000,
      100,
    );
  }
}

/** Writes one manifest per Sidecar into a folder and applies it with KUBECTL_PARALLEL kubectl processes at once, each given every KUBECTL_PARALLEL-th file. */
async function applyInParallel(
  namespace: string,
  selectors: (Selector | undefined)[],
): Promise<{ created: number; denied: number; other: string[] }> {
  await namespaces(namespace);
  const dir = join(E2E_DIR, 'race', namespace);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const files = selectors.map((selector, i) => {
    const file = join(dir, `s${i}.yaml`);
    writeFileSync(file, stringify(sidecar(namespace, `s${i}`, selector ? { selector } : {})));
    return file;
  });
  const shares = Array.from({ length: KUBECTL_PARALLEL }, (_, p) =>
    files.filter((_f, i) => i % KUBECTL_PARALLEL === p),
  );
  const results = await Promise.all(shares.map((share) => kubectl(['apply', ...share.flatMap((f) => ['-f', f])])));
  // kubectl prints "… created" on stdout per file, and an error per refused file on stderr (a denial
  // with several findings spans several lines); warnings are left out.
  const created = results
    .flatMap((r) => r.stdout.split('\n'))
    .filter((l) => /^sidecar\.networking\.istio\.io\/s\d+ created$/.test(l)).length;
  const errors = results
    .flatMap((r) => r.stderr.split(/^(?=Error)/m))
    .map((e) =>
      e
        .split('\n')
        .filter((l) => !l.startsWith('Warning: '))
        .join('\n')
        .trim(),
    )
    .filter((e) => e !== '');
  const denied = errors.filter((e) =>
    /^Error from server \(Forbidden\): .*denied the request: [\s\S]*\[conflict\.(default|overlap)\]/.test(e),
  ).length;
  const other = errors.filter((e) => !/\[conflict\.(default|overlap)\]/.test(e));
  return { created, denied, other };
}

async function storedSidecars(namespace: string): Promise<{ name: string; selector: Selector | undefined }[]> {
  const list = JSON.parse((await mustKubectl(['get', 'sidecars', '-n', namespace, '-o', 'json'])).stdout) as {
    items: { metadata: { name: string }; spec: { workloadSelector?: { labels?: Selector } } }[];
  };
  return list.items.map((i) => ({ name: i.metadata.name, selector: i.spec.workloadSelector?.labels }));
}

function assertDisjoint(selectors: Selector[], what: string): void {
  assert.ok(selectors.length >= 1, `${what}: at least one admitted`);
  for (let i = 0; i < selectors.length; i++) {
    for (let j = i + 1; j < selectors.length; j++) {
      assert.ok(
        !labelsOverlap(selectors[i]!, selectors[j]!),
        `${what}: ${JSON.stringify(selectors[i])} and ${JSON.stringify(selectors[j])} both admitted`,
      );
    }
  }
}

async function webhookUrl(): Promise<string> {
  return (
    await mustKubectl([
      'get',
      'validatingwebhookconfiguration',
      'sidecar-guard',
      '-o',
      'jsonpath={.webhooks[0].clientConfig.url}',
    ])
  ).stdout;
}

/** Points the validating webhook at `url` (sidecar-guard itself only ever writes its caBundle and failurePolicy there). */
async function setWebhookUrl(url: string): Promise<void> {
  await mustKubectl([
    'patch',
    'validatingwebhookconfiguration',
    'sidecar-guard',
    '--type=json',
    '-p',
    JSON.stringify([{ op: 'replace', path: '/webhooks/0/clientConfig/url', value: url }]),
  ]);
}

function summary(xs: number[]): string {
  if (xs.length === 0) return '-';
  const sorted = [...xs].sort((a, b) => a - b);
  const min = sorted[0]!;
  const max = sorted[sorted.length - 1]!;
  return min === max ? `${min} (all)` : `min ${min}, median ${sorted[Math.floor(sorted.length / 2)]}, max ${max}`;
}

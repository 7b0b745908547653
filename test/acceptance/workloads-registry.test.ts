// The workload- and registry-aware rules through the three doors: `check`
// and `audit` on manifests (test/fixtures/workloads/: Namespaces,
// Deployments, a CronJob, Services, a ServiceEntry, an ambient namespace)
// and /validate against a view holding the same cluster.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parseSources } from '../../src/manifests/documents.js';
import { clusterObjects, storeOf } from '../../src/manifests/state.js';
import { sidecarReview, testApp } from '../helpers/app.js';
import { runCli } from '../helpers/cli.js';

const DIR = new URL('../fixtures/workloads/', import.meta.url);
const CLUSTER = 'test/fixtures/workloads/cluster.yaml';
const SIDECARS = 'test/fixtures/workloads/sidecars.yaml';

/** What each Sidecar of sidecars.yaml gets, by rule id, under the defaults (overlap workloads, unknown hosts warn). */
const EXPECTED: Record<string, { allowed: boolean; errors: string[]; warnings: string[] }> = {
  'shop/reviews-v2': { allowed: false, errors: ['conflict.overlap'], warnings: [] },
  'shop/report': { allowed: true, errors: [], warnings: [] },
  'shop/ratings-client': { allowed: true, errors: [], warnings: ['host.unknown', 'host.unknown', 'selector.no-match'] },
  'billing/default': { allowed: true, errors: [], warnings: ['host.unknown'] },
  'mesh/default': { allowed: true, errors: [], warnings: ['ambient.ineffective'] },
  'shop/batch': { allowed: true, errors: [], warnings: ['egress.bypass', 'outbound.mode-empty', 'selector.no-match'] },
  'backend/everything': { allowed: true, errors: [], warnings: ['S3', 'selector.empty'] },
};

interface CheckResult {
  namespace: string;
  name: string;
  allowed: boolean;
  errors: { rule: string; message: string }[];
  warnings: { rule: string; message: string }[];
}

const rules = (fs: { rule: string }[]) => fs.map((f) => f.rule).sort();

describe('check: cluster manifests and Sidecars together', () => {
  test('every rule fires where it should, and nowhere else', async () => {
    const res = await runCli(['check', '-o', 'json', CLUSTER, SIDECARS]);
    assert.equal(res.code, 1);
    const results = (JSON.parse(res.stdout) as { results: CheckResult[] }).results;
    const got = Object.fromEntries(
      results
        .filter((r) => !(r.namespace === 'shop' && ['default', 'reviews'].includes(r.name)))
        .map((r) => [
          `${r.namespace}/${r.name}`,
          { allowed: r.allowed, errors: rules(r.errors), warnings: rules(r.warnings) },
        ]),
    );
    assert.deepEqual(got, EXPECTED);
    const text = (key: string, rule: string) =>
      results
        .filter((r) => `${r.namespace}/${r.name}` === key)
        .flatMap((r) => [...r.errors, ...r.warnings])
        .filter((f) => f.rule === rule)
        .map((f) => f.message);
    assert.match(
      text('shop/reviews-v2', 'conflict.overlap')[0]!,
      /both apply to pods labelled app=reviews,version=v2 \(Deployment shop\/reviews-v2 \(0 replicas\)\)/,
    );
    assert.deepEqual(text('shop/ratings-client', 'host.unknown'), [
      'Sidecar shop/ratings-client: egress host "shop/ratings.shop.svc.cluster.locl" has no matching entry in the service registry (KIA1004); did you mean shop/ratings.shop.svc.cluster.local?',
      'Sidecar shop/ratings-client: egress host "backend/payments.backend.svc.cluster.local" has no matching entry in the service registry (KIA1004); did you mean backend/payment.backend.svc.cluster.local?',
    ]);
    assert.match(
      text('billing/default', 'host.unknown')[0]!,
      /ServiceEntry egress\/stripe declares it but is not exported to namespace billing \(exportTo: shop\)$/,
    );
  });

  test('--overlap labels refuses an overlap no pod or workload exhibits, and says so', async () => {
    const extra =
      'apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: reviews-v3, namespace: shop}\nspec:\n  workloadSelector:\n    labels: {app: reviews, version: v3}\n  egress:\n  - hosts: ["./*"]\n';
    const strict = await runCli(['check', '-o', 'json', '--overlap', 'labels', CLUSTER, '-'], { stdin: extra });
    const [r] = (JSON.parse(strict.stdout) as { results: CheckResult[] }).results.filter(
      (x) => x.name === 'reviews-v3',
    );
    assert.equal(r!.allowed, false);
    assert.match(
      r!.errors[0]!.message,
      /no pod or workload carries these labels: --overlap=labels refuses overlaps that might only come later; --overlap=workloads, the default, would allow this/,
    );
    const lenient = await runCli(['check', '-o', 'json', CLUSTER, '-'], { stdin: extra });
    assert.equal(
      (JSON.parse(lenient.stdout) as { results: CheckResult[] }).results.find((x) => x.name === 'reviews-v3')!.allowed,
      true,
    );
  });

  test('--unknown-hosts deny refuses the typos; off says nothing about them', async () => {
    const deny = (
      JSON.parse((await runCli(['check', '-o', 'json', '--unknown-hosts', 'deny', CLUSTER, SIDECARS])).stdout) as {
        results: CheckResult[];
      }
    ).results;
    assert.deepEqual(rules(deny.find((r) => r.name === 'ratings-client')!.errors), ['host.unknown', 'host.unknown']);
    const off = (
      JSON.parse((await runCli(['check', '-o', 'json', '--unknown-hosts', 'off', CLUSTER, SIDECARS])).stdout) as {
        results: CheckResult[];
      }
    ).results;
    assert.ok(off.every((r) => ![...r.errors, ...r.warnings].some((f) => f.rule === 'host.unknown')));
  });

  test('bad values of the new flags are usage errors', async () => {
    for (const [args, message] of [
      [['--unknown-hosts', 'maybe'], /--unknown-hosts must be one of warn, deny, off, got "maybe"/],
      [['--cluster-domain', 'Not A Domain'], /--cluster-domain must be a DNS name/],
    ] as [string[], RegExp][]) {
      const res = await runCli(['check', ...args, SIDECARS]);
      assert.equal(res.code, 2);
      assert.match(res.stderr, message);
    }
  });

  test('--isolated judges each Sidecar alone: only the rules that need no other object', async () => {
    const res = await runCli(['check', '-o', 'json', '--isolated', SIDECARS]);
    const results = (JSON.parse(res.stdout) as { results: CheckResult[] }).results;
    assert.deepEqual(
      results.flatMap((r) => [...r.errors, ...r.warnings].map((f) => f.rule)),
      ['outbound.mode-empty', 'S3'],
    );
  });
});

describe('audit: the same cluster, every finding with its code', () => {
  test('Istio codes, Kiali codes, and none where neither has one', async () => {
    const res = await runCli(['audit', '-o', 'json', CLUSTER, SIDECARS]);
    assert.equal(res.code, 1);
    const report = JSON.parse(res.stdout) as {
      findings: { code: string | null; rule: string; namespace: string; name: string; message: string }[];
      summary: Record<string, number>;
    };
    assert.deepEqual(
      report.findings.map((f) => `${f.code ?? '-'} ${f.rule} ${f.namespace}/${f.name}`),
      [
        '- selector.empty backend/everything',
        'KIA1004 host.unknown billing/default',
        'IST0167 ambient.ineffective mesh/default',
        '- egress.bypass shop/batch',
        'IST0101 selector.no-match shop/batch',
        'KIA1007 outbound.mode-empty shop/batch',
        'IST0101 selector.no-match shop/ratings-client',
        'KIA1004 host.unknown shop/ratings-client',
        'KIA1004 host.unknown shop/ratings-client',
        'IST0110 conflict.overlap shop/reviews',
        'IST0110 conflict.overlap shop/reviews-v2',
      ],
    );
    const overlap = report.findings.find((f) => f.name === 'reviews')!;
    assert.equal(
      overlap.message,
      'The Sidecars [reviews reviews-v2] in namespace "shop" select the same workload Deployment shop/reviews-v2 (0 replicas), which can lead to undefined behavior.',
    );
    assert.equal(
      report.findings.filter((f) => f.rule === 'host.unknown')[1]!.message,
      'Egress host "shop/ratings.shop.svc.cluster.locl" has no matching entry in the service registry; did you mean shop/ratings.shop.svc.cluster.local?',
    );
    assert.deepEqual(
      { sidecars: report.summary.sidecars, workloads: report.summary.workloads },
      { sidecars: 9, workloads: 3 },
    );
  });

  test('--overlap pods stays with Istio and reads pods only: the Deployment makes no overlap, and without pods no IST0101', async () => {
    const res = await runCli(['audit', '-o', 'json', '--overlap', 'pods', CLUSTER, SIDECARS]);
    const findings = (JSON.parse(res.stdout) as { findings: { code: string | null; name: string }[] }).findings;
    assert.deepEqual(
      findings.filter((f) => f.code === 'IST0110' || f.code === 'IST0101'),
      [],
    );
    const withPod = await runCli(['audit', '-o', 'json', '--overlap', 'pods', CLUSTER, SIDECARS, '-'], {
      stdin:
        'apiVersion: v1\nkind: Pod\nmetadata: {name: reviews-v1-abc, namespace: shop, labels: {app: reviews, version: v1}}\n',
    });
    const ist0101 = (
      JSON.parse(withPod.stdout) as { findings: { code: string | null; name: string }[] }
    ).findings.filter((f) => f.code === 'IST0101');
    assert.deepEqual(
      ist0101.map((f) => f.name).sort(),
      ['batch', 'ratings-client', 'report', 'reviews-v2'],
      'the CronJob and the scaled-to-zero Deployment do not count',
    );
  });
});

describe('/validate against a view of the same cluster', () => {
  const cluster = clusterObjects(
    parseSources([{ file: 'cluster.yaml', text: readFileSync(new URL('cluster.yaml', DIR), 'utf8') }]),
    'default',
  );
  const candidates = parseSources([
    { file: 'sidecars.yaml', text: readFileSync(new URL('sidecars.yaml', DIR), 'utf8') },
  ]).map((m) => (m.ok ? (m.object as Record<string, unknown>) : assert.fail(m.message)));

  for (const object of candidates) {
    const meta = object.metadata as { namespace: string; name: string };
    const key = `${meta.namespace}/${meta.name}`;
    test(key, async () => {
      const { app, store } = testApp({ overlap: 'workloads' });
      storeOf(cluster, store);
      const res = await app.inject({ method: 'POST', url: '/validate', payload: sidecarReview(object) });
      const { response } = res.json() as {
        response: { allowed: boolean; warnings?: string[]; status?: { message: string } };
      };
      const expected = EXPECTED[key]!;
      assert.equal(response.allowed, expected.allowed);
      for (const rule of expected.errors)
        assert.ok(response.status!.message.includes(`[${rule}]`), response.status!.message);
      assert.equal((response.warnings ?? []).length, expected.warnings.length, JSON.stringify(response.warnings));
    });
  }

  test('the mistyped host reaches kubectl as one warning line with the suggestion', async () => {
    const { app, store } = testApp();
    storeOf(cluster, store);
    const res = await app.inject({ method: 'POST', url: '/validate', payload: sidecarReview(candidates[2]!) });
    assert.ok(
      (res.json().response.warnings as string[]).includes(
        'Sidecar shop/ratings-client: egress host "shop/ratings.shop.svc.cluster.locl" has no matching entry in the service registry (KIA1004); did you mean shop/ratings.shop.svc.cluster.local? Fix: correct the host, or create the Service or ServiceEntry it names first (--unknown-hosts=off turns this check off)',
      ),
    );
  });
});

// Issue 14, "work per request must be bounded": a Sidecar whose egress hosts
// list held 800,000 short names (3 MiB, which kube-apiserver forwards: the
// CRD sets no maxItems) got a 131 MB denial. What one decision produces is
// bounded now: findings per rule and per object, the denial message, the
// warnings (as kube-apiserver itself bounds them), and objects too large for
// any cluster to store are refused before they are judged.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { AdmissionRequest } from '../../src/admission/types.js';
import { ClusterStore } from '../../src/cluster/store.js';
import { storeOf } from '../../src/manifests/state.js';
import { judge, review } from '../../src/sidecar/review.js';
import { sidecarReview, testApp } from '../helpers/app.js';
import { sidecar } from '../helpers/objects.js';
import { kubeApiserverWarnings } from './kube-warnings.js';

const ctx = { view: new ClusterStore(), options: { overlap: 'labels' as const, rootNamespace: 'istio-system' } };
const request = (object: Record<string, unknown>, opts: Parameters<typeof sidecarReview>[1] = {}) =>
  sidecarReview(object, { dryRun: true, ...opts }).request as unknown as AdmissionRequest;
const withHosts = (hosts: unknown[], extra: Record<string, unknown> = {}) =>
  sidecar('shop', 'big', { spec: { egress: [{ hosts }] }, ...extra });
const judged = (object: Record<string, unknown>) =>
  judge({ object, ref: { namespace: 'shop', name: 'big' } }, undefined, {
    overlap: 'labels',
    rootNamespace: 'istio-system',
    rejectUnknownFields: false,
  });
/** As many copies of `item` as fill `bytes` of JSON (each with its comma). */
const filling = <T>(bytes: number, item: T): T[] =>
  new Array<T>(Math.floor(bytes / (JSON.stringify(item).length + 1))).fill(item);
const MiB = 1024 * 1024;
const count = (n: number) => n.toLocaleString('en-US');

describe('an object over 1.5 MiB (more than etcd stores by default) or 50,000 values is refused before it is judged', () => {
  test('786,000 short names (3 MiB, the size of the report): one finding, object.size, and a short answer', async () => {
    const hosts = filling(3 * MiB, 'a');
    assert.ok(hosts.length > 780_000);
    const d = review(request(withHosts(hosts)), ctx);
    assert.equal(d.allowed, false);
    assert.deepEqual(d.rules, ['object.size']);
    assert.deepEqual(d.warnings, []);
    assert.match(
      d.message!,
      /^Sidecar shop\/big is invalid: the object holds more than 50,000 values \(list items, fields and map entries\), more than sidecar-guard judges in one decision; it was not judged \[object\.size\] Fix: /,
    );
  });

  test('over HTTPS-less inject through the real app: the 3 MiB and the 7 MiB review are answered in under 1 KiB', async () => {
    const { app } = testApp();
    after(() => app.close());
    for (const mib of [3, 6.9]) {
      const body = JSON.stringify(sidecarReview(withHosts(filling(mib * MiB - 2048, 'a')), { dryRun: true }));
      const res = await app.inject({
        method: 'POST',
        url: '/validate',
        payload: body,
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(res.statusCode, 200);
      assert.equal(res.json().response.allowed, false);
      assert.ok(res.rawPayload.length < 1024, `${mib} MiB: answered ${res.rawPayload.length} bytes`);
    }
  });

  test('1.5 MiB is counted from below: an object that fits is judged, a deleted one is never held up', () => {
    const distinct = (bytes: number) =>
      Array.from({ length: Math.floor(bytes / 64) }, (_, i) => `ns/h${i}.${'a'.repeat(40)}.example.com`);
    const fits = withHosts(distinct(1.4 * MiB));
    assert.deepEqual(judged(fits), []);
    const big = withHosts(distinct(2 * MiB));
    assert.deepEqual(
      judged(big).map((v) => `${v.rule} ${v.message}`),
      [
        'object.size the object is larger than 1,572,864 bytes (1.5 MiB) as JSON, the most etcd stores in one request by default; it was not judged',
      ],
    );
    const deleting = structuredClone(big) as { metadata: Record<string, unknown> };
    deleting.metadata.deletionTimestamp = '2026-11-30T00:00:00Z';
    const d = review(request(deleting, { operation: 'UPDATE', oldObject: big }), ctx);
    assert.equal(d.allowed, true, 'finalizers of an object being deleted can always be removed');
  });
  test('50,000 values are judged, 50,001 are not (the object, its fields and the listener are 10 besides the hosts)', () => {
    const hosts = (n: number) => Array.from({ length: n }, (_, i) => `ns/h${i}.example.com`);
    assert.deepEqual(judged(withHosts(hosts(50_000 - 10))), []);
    assert.deepEqual(
      judged(withHosts(hosts(50_000 - 9))).map((v) => v.rule),
      ['object.size'],
    );
  });
});

describe('findings are bounded per rule and per object', () => {
  test('20 of one rule, then "… and N more like this" at the list that holds them', () => {
    const findings = judged(withHosts(Array.from({ length: 30 }, (_, i) => `ns/short${i}`)));
    assert.equal(findings.length, 21);
    assert.ok(
      findings.slice(0, 20).every((v) => v.rule === 'H4' && v.message === 'short names (non FQDN) are not allowed'),
    );
    assert.deepEqual(
      findings.slice(0, 20).map((v) => v.path),
      Array.from({ length: 20 }, (_, i) => `spec.egress[0].hosts[${i}]`),
    );
    assert.deepEqual(findings[20], {
      rule: 'H4',
      severity: 'error',
      path: 'spec.egress[0].hosts',
      message: '… and 10 more like this',
      omitted: { H4: 10 },
    });
  });

  test('100 in all; findings of rules not shown yet are counted in one summary naming them', () => {
    // Each listener breaks 8 rules once (E4, E5, E11, E13, H1–H4); the last one also H5 (twice) and H6.
    const listener = (i: number) => ({
      port: { number: 1000 + i, protocol: 'FOO', name: 'Bad_Name', targetPort: 1 },
      bind: 'x',
      hosts: ['x', '/a.com', 'Bad_/a.com', 'ns/short', ...(i === 29 ? ['ns/a*b.com'] : [])],
    });
    const findings = judged(
      sidecar('shop', 'big', { spec: { egress: Array.from({ length: 30 }, (_, i) => listener(i)) } }),
    );
    const kept = findings.filter((v) => !v.omitted);
    assert.equal(kept.length, 100);
    const summaries = findings.filter((v) => v.omitted);
    // A rule's summary follows its last finding shown: listener 11's hosts, then listener 12's port and bind.
    assert.deepEqual(
      summaries.map((v) => v.rule),
      ['H1', 'H2', 'H3', 'H4', 'E4', 'E5', 'E11', 'E13', 'findings.more'],
    );
    assert.deepEqual(summaries.at(-1), {
      rule: 'findings.more',
      severity: 'error',
      path: 'spec.egress[29].hosts[4]',
      message: '… and 3 more errors of other rules: H5 ×2, H6 ×1',
      omitted: { H5: 2, H6: 1 },
    });
    const stood = summaries.reduce((n, v) => n + Object.values(v.omitted!).reduce((a, b) => a + b, 0), 0);
    assert.equal(kept.length + stood, 30 * 8 + 3, 'every finding is either shown or counted');
  });

  test('conflict.overlap with 60 peers: 20 described of each severity, the rest counted per severity', () => {
    // The UPDATE moves the selector from app=web to tier=a: each w* overlapped the stored version with the same
    // labels (a warning, kept), each e* is a new overlap (an error).
    const peers = [
      ...Array.from({ length: 30 }, (_, i) => sidecar('shop', `w${i}`, { selector: { app: 'web' } })),
      ...Array.from({ length: 30 }, (_, i) => sidecar('shop', `e${i}`, { selector: { tier: 'a', app: 'api' } })),
    ];
    const view = storeOf({ sidecars: peers, pods: [], namespaces: [] });
    const findings = judge(
      {
        object: sidecar('shop', 'moved', { selector: { tier: 'a' } }),
        oldObject: sidecar('shop', 'moved', { selector: { app: 'web' } }),
        ref: { namespace: 'shop', name: 'moved' },
      },
      view,
      { overlap: 'labels', rootNamespace: 'istio-system', rejectUnknownFields: false },
    ).filter((v) => v.rule === 'conflict.overlap');
    for (const [severity, prefix] of [
      ['error', 'e'],
      ['warning', 'w'],
    ] as const) {
      const ofSeverity = findings.filter((v) => v.severity === severity);
      const described = ofSeverity.filter((v) => !v.omitted);
      assert.equal(described.length, 20, severity);
      assert.ok(described.every((v) => v.peer?.name.startsWith(prefix)));
      assert.deepEqual(
        ofSeverity.filter((v) => v.omitted).map((v) => [v.message, v.path, v.omitted]),
        [['… and 10 more like this', 'spec.workloadSelector.labels', { 'conflict.overlap': 10 }]],
      );
    }
  });

  test('a Sidecar with 49,000 short names: 20 findings and one summary', () => {
    const hosts = new Array(49_000).fill('a');
    const findings = judged(withHosts(hosts));
    assert.equal(findings.length, 21);
    assert.equal(findings[20]!.message, `… and ${count(hosts.length - 20)} more like this`);
    assert.deepEqual(findings[20]!.omitted, { H1: hosts.length - 20 });
  });
});

describe('the denial fits on one screen', () => {
  test('49,000 short names: 5 shown, then how many more; the count in the first line is exact', () => {
    const hosts = new Array(49_000).fill('a');
    const d = review(request(withHosts(hosts)), ctx);
    const lines = d.message!.split('\n');
    assert.equal(lines[0], `Sidecar shop/big is invalid (${count(hosts.length)} errors):`);
    assert.deepEqual(
      lines.slice(1, 6),
      Array.from(
        { length: 5 },
        (_, i) =>
          `- spec.egress[0].hosts[${i}]: host must be of form namespace/dnsName [H1] Fix: Write the host as namespace/dnsName, e.g. "./foo.com", "*/foo.com" or "ns1/*".`,
      ),
    );
    assert.equal(lines[6], `- spec.egress[0].hosts: … and ${count(hosts.length - 5)} more like this [H1]`);
    assert.equal(lines.length, 7);
    assert.deepEqual(d.rules, ['H1']);
  });

  test('many rules: at most 10 findings, each rule with its summary, one line for the rest; a quoted 10,000-character host cut at 1,024', () => {
    const long = `ns/${'a*'.repeat(5000)}.com`; // H5 twice and H6, each quoting 10,000 characters
    const listener = (i: number) => ({
      port: { number: 1000 + i, protocol: 'HTTP', name: 'Bad_Name' },
      hosts: ['x', ...Array.from({ length: 12 }, (_, j) => `ns/s${i}x${j}`), ...(i === 0 ? [long] : [])],
    });
    const d = review(
      request(sidecar('shop', 'big', { spec: { egress: Array.from({ length: 6 }, (_, i) => listener(i)) } })),
      ctx,
    );
    const lines = d.message!.split('\n');
    assert.ok(lines.length <= 1 + 10 * 2 + 1, `${lines.length} lines`);
    assert.ok(d.message!.length <= 4_000 + 200, `${d.message!.length} characters`);
    assert.ok(lines.some((l) => /… and [\d,]+ more like this \[H4\]$/.test(l)));
    const quoting = lines.filter((l) => l.includes('a*a*a*'));
    assert.ok(
      quoting.length > 0 && quoting.every((l) => l.includes('a*…" ') || l.includes('…')),
      'the line quoting the host is cut',
    );
    assert.ok(
      quoting.every((l) => l.length < 1_024 + 300),
      `${quoting.map((l) => l.length)}`,
    );
    assert.deepEqual(d.rules.sort(), ['E5', 'H1', 'H4', 'H5', 'H6']);
  });

  test('long lines: the denial stops before 4,000 characters and its last line counts the rest by rule', () => {
    // Ten 1,200-character bad hosts: H5 twice and H6 each, every message quoting the host (cut at 1,024).
    const hosts = Array.from({ length: 10 }, (_, i) => `ns/${'a*'.repeat(600)}${i}.com`);
    const d = review(request(withHosts(hosts)), ctx);
    const lines = d.message!.split('\n');
    assert.equal(lines[0], 'Sidecar shop/big is invalid (30 errors):');
    assert.ok(lines.slice(1, -1).join('\n').length <= 4_000, `${d.message!.length}`);
    assert.match(
      lines.at(-1)!,
      /^- spec\.egress\[0\]\.hosts(\[\d+\])?: … and (\d+) more errors: (H5|H6) ×\d+(, (H5|H6) ×\d+)? \[findings\.more\]$/,
    );
    const shown = lines
      .slice(1, -1)
      .map((l) => Number(/… and (\d+) more like this/.exec(l)?.[1] ?? /\(reported (\d+) times\)$/.exec(l)?.[1] ?? 1))
      .reduce((a, b) => a + b, 0);
    const rest = Number(/… and (\d+) more errors/.exec(lines.at(-1)!)![1]);
    assert.equal(shown + rest, 30, 'every error is shown or counted');
  });

  test('a single long finding is whole but for its message: the rule id and the fix stay', () => {
    const d = review(request(withHosts([`ns/${'a*'.repeat(3000)}.com`, 'ns/ok.example.com'])), ctx);
    assert.ok(d.message!.split('\n').every((l) => l.length < 1_024 + 300));
    assert.ok(d.message!.includes('… [H6] Fix: '), d.message!.slice(-400));
  });
});

describe('warnings stay within what kube-apiserver passes on', () => {
  test('49,000 repeats of one host: the warning once, then how many more', () => {
    const hosts = new Array(49_000).fill('ns/a.com');
    const d = review(request(withHosts(hosts)), ctx);
    assert.equal(d.allowed, true);
    assert.deepEqual(d.warnings, [
      'duplicated egress host: ns/a.com',
      `spec.egress[0].hosts: … and ${count(hosts.length - 2)} more like this [W1]`,
    ]);
    assert.deepEqual(kubeApiserverWarnings(d.warnings), d.warnings);
  });

  test('long warnings are cut to 256 runes each, in the message, when they exceed 4,096 in all; kube-apiserver shows them unchanged', () => {
    // An UPDATE that leaves five bad 200-character hosts as they were: grandfathered, so warnings, each quoting its host.
    const old = withHosts(Array.from({ length: 5 }, (_, i) => `ns/${'a*'.repeat(100)}${i}.com`));
    const relabelled = { ...old, metadata: { ...(old.metadata as object), labels: { team: 'x' } } };
    const d = review(request(relabelled, { operation: 'UPDATE', oldObject: old }), ctx);
    assert.equal(d.allowed, true);
    const runes = d.warnings.map((w) => [...w].length);
    assert.ok(
      runes.every((n) => n <= 256),
      `${runes}`,
    );
    assert.ok(runes.reduce((a, b) => a + b, 0) <= 4096);
    assert.match(
      d.warnings[0]!,
      /^spec\.egress\[0\]\.hosts\[0\]: domain name "(a\*)+a?… \[H5\] \(allowed: the stored Sidecar already had this and the update leaves its spec unchanged\)$/,
    );
    assert.deepEqual(kubeApiserverWarnings(d.warnings), d.warnings);
  });

  test('a control character in a warning is escaped: kube-apiserver would drop the warning', () => {
    const d = review(request(withHosts(['ns/a\n.com', 'ns/a\n.com'])), ctx);
    assert.ok(d.warnings.includes('duplicated egress host: ns/a\\u000a.com'), JSON.stringify(d.warnings));
  });

  test('an UPDATE that leaves 30 bad hosts unchanged is allowed with bounded warnings', () => {
    const old = withHosts(Array.from({ length: 30 }, (_, i) => `ns/short${i}`));
    const relabelled = { ...old, metadata: { ...(old.metadata as object), labels: { team: 'x' } } };
    const d = review(request(relabelled, { operation: 'UPDATE', oldObject: old, dryRun: false }), ctx);
    assert.equal(d.allowed, true);
    assert.equal(d.warnings.length, 6);
    assert.match(
      d.warnings[0]!,
      /^spec\.egress\[0\]\.hosts\[0\]: short names \(non FQDN\) are not allowed \[H4\] \(allowed: /,
    );
    assert.equal(d.warnings[5], 'spec.egress[0].hosts: … and 25 more like this [H4]');
  });
});

describe('the CRD schema of a large spec is checked up to its first error', () => {
  test('49,000 numbers in a host list (a hand-made request; kube-apiserver refuses it): the first error, and why no more', () => {
    const findings = judged(withHosts(new Array(49_000).fill(1)));
    assert.deepEqual(
      findings.map((v) => `${v.rule} ${v.path}`),
      ['schema.type spec.egress[0].hosts[0]', 'schema.partial spec'],
    );
    assert.match(
      findings[1]!.message,
      /^only the first schema error is listed: the spec holds more than 20,000 values/,
    );
  });

  test('a spec of 20,000 values or fewer still gets every schema error (capped like any other findings)', () => {
    const findings = judged(withHosts(filling(19_990 * 2, 1)));
    assert.equal(findings.filter((v) => v.rule === 'schema.type' && !v.omitted).length, 20);
    assert.deepEqual(findings.find((v) => v.omitted)?.omitted, { 'schema.type': 19_990 - 20 });
  });
});

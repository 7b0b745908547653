// What `serve` writes to its log at info level, captured from the real
// composition (standalone mode: self-signed CA and serving key generated,
// HTTPS listener, shutdown): no object bodies, no key material. RBAC minimum
// and the locked-down pod (non-root, read-only root filesystem) are asserted
// in test/manifests/manifests.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import type { ServeConfig } from '../../src/config.js';
import { DEFAULT_TEMPLATE } from '../../src/defaults/generate.js';
import { serve, type RunningServer } from '../../src/main.js';
import { MAX_UID_CHARS } from '../../src/admission/decode.js';
import { sidecarReview } from '../helpers/app.js';
import { sidecar } from '../helpers/objects.js';
import { httpsRequest } from './helpers.js';

const CANARY = 'canary-7f3e9c1d';
const MiB = 1024 * 1024;

describe('serve logs at info level', { timeout: 60_000 }, () => {
  let dir: string;
  let logged = '';
  let server: RunningServer;
  let port: number;
  let caPem: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sg-logs-'));
    const config: ServeConfig = {
      listen: { host: '127.0.0.1', port: 0 },
      certDir: dir,
      mode: 'standalone',
      statePaths: [],
      overlap: 'labels',
      rootNamespace: 'istio-system',
      logLevel: 'info',
      metricsListen: null,
      tlsService: 'sidecar-guard',
      failClosedWhenReady: false,
      webhookConfig: 'sidecar-guard',
      reservationTtlMs: 10_000,
      claims: 'local',
      claimTimeoutMs: 2_000,
      drainDelayMs: 0,
      maxStalenessMs: 60_000,
      selfNamespace: 'sidecar-guard',
      defaults: {
        mode: 'off',
        namespaceLabel: 'x',
        exclude: [],
        config: { rootNamespace: 'istio-system', template: DEFAULT_TEMPLATE },
      },
    };
    const sink = new Writable({
      write: (chunk, _enc, done) => {
        logged += chunk;
        done();
      },
    });
    server = await serve(config, pino({ level: 'info', base: { app: 'sidecar-guard' } }, sink));
    port = Number(new URL(server.url).port);
    caPem = readFileSync(join(dir, 'ca.crt'), 'utf8');

    try {
      await exercise();
    } finally {
      await server.shutdown('test');
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function exercise(): Promise<void> {
    const post = (object: Record<string, unknown>) =>
      httpsRequest(port, { path: '/validate?timeout=10s', body: JSON.stringify(sidecarReview(object)), caPem });
    // Allowed, with the canary in the spec, a label and an annotation.
    const allowed = await post(
      sidecar('shop', 'payments', {
        labels: { team: CANARY },
        annotations: { note: CANARY },
        spec: { egress: [{ hosts: [`./${CANARY}.example.com`] }] },
      }),
    );
    assert.equal(JSON.parse(allowed.body!).response.allowed, true);
    // Denied (bad host), the canary in the offending value.
    const denied = await post(
      sidecar('shop', 'orders', {
        annotations: { note: CANARY },
        spec: { egress: [{ hosts: [`${CANARY}-no-namespace`] }] },
      }),
    );
    assert.equal(JSON.parse(denied.body!).response.allowed, false);
    // Not JSON, with the canary inside: its 400 goes back to the caller, nothing to the log.
    const garbage = await httpsRequest(port, { path: '/validate', body: `{"${CANARY}": `, caPem });
    assert.equal(garbage.status, 400);
    // Denied, with a 1 MiB name and namespace and the longest uid answered: the log line must not carry them whole.
    const huge = sidecarReview(
      sidecar(`ns-${'n'.repeat(MiB)}`, `nm-${'m'.repeat(MiB)}`, { spec: { egress: [{ hosts: ['no-namespace'] }] } }),
      { uid: `id-${'u'.repeat(MAX_UID_CHARS - 3)}` },
    );
    // A uid longer than that is refused rather than echoed back: it is the one part of an answer not otherwise capped.
    const longUid = sidecarReview(sidecar('shop', 'orders'), { uid: `id-${'u'.repeat(MiB)}` });
    const refused = await httpsRequest(port, { path: '/validate', body: JSON.stringify(longUid), caPem });
    assert.equal(refused.status, 400);
    assert.ok(refused.body!.length < 1_000, `an answer of ${refused.body!.length} characters`);
    const amplified = await httpsRequest(port, { path: '/validate?timeout=10s', body: JSON.stringify(huge), caPem });
    assert.equal(amplified.status, 200, amplified.body?.slice(0, 300));
    assert.equal(JSON.parse(amplified.body!).response.allowed, false);
    // Denied for 25 rules at once (the denial log line lists at most 20 of them); alone in its namespace.
    const manyRules = await post(
      sidecar('lint', 'many-rules', {
        spec: {
          egress: [
            {
              port: { number: 1000, protocol: 'FOO', name: 'Bad_Name', targetPort: 1 },
              bind: 'x',
              hosts: ['x', '/a.com', 'Bad_/a.com', 'ns/short', 'ns/a*b.com'],
            },
          ],
          ingress: [
            {
              port: { number: 8080, protocol: 'BAR', name: 'Bad_Name', targetPort: 1 },
              bind: 'y',
              defaultEndpoint: 'nope',
              tls: {
                mode: 'ISTIO_MUTUAL',
                subjectAltNames: ['a'],
                httpsRedirect: true,
                credentialName: 'c',
                credentialNames: ['d'],
                tlsCertificates: [{}],
              },
            },
            { port: { number: 8080, protocol: 'HTTP', name: 'http' }, defaultEndpoint: '127.0.0.1:8080' },
          ],
        },
      }),
    );
    assert.equal(JSON.parse(manyRules.body!).response.allowed, false);
  }

  test('the denial is logged (one line, with uid and rule ids) and so are start and stop', () => {
    const lines = logged
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const denials = lines.filter((l) => l.msg === 'denied');
    assert.equal(denials.length, 3);
    assert.equal(denials[0]!.name, 'orders');
    assert.equal(typeof denials[0]!.uid, 'string');
    assert.ok(Array.isArray(denials[0]!.rules) && (denials[0]!.rules as string[]).length > 0);
    assert.ok(lines.some((l) => String(l.msg).startsWith('sidecar-guard listening on https://')));
    assert.ok(lines.some((l) => l.msg === 'stopped'));
    assert.ok(
      lines.every((l) => Number(l.level) >= 30),
      'nothing below info',
    );
  });

  test('every field taken from the request is clipped: a 1 MiB name and namespace make a short line', (t) => {
    const lines = logged.trim().split('\n');
    const longest = Math.max(...lines.map((l) => l.length));
    t.diagnostic(`longest log line: ${longest} characters (the request carried 2 MiB of name and namespace)`);
    assert.ok(longest < 2_000, `a log line of ${longest} characters`);
    const denial = lines
      .map((l) => JSON.parse(l) as Record<string, string>)
      .find((l) => l.msg === 'denied' && l.uid?.startsWith('id-'))!;
    for (const field of ['name', 'namespace']) assert.match(denial[field]!, /… \(1048579 characters\)$/, field);
    assert.ok(denial.uid!.length <= MAX_UID_CHARS, 'the uid, at most as long as an answered one, as it came');
  });

  test('the rule ids of a denial are listed up to 20, then how many more', () => {
    const denial = logged
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.msg === 'denied' && l.name === 'many-rules')!;
    const rules = denial.rules as string[];
    assert.equal(rules.length, 21, JSON.stringify(rules));
    assert.ok(
      rules.slice(0, 20).every((r) => /^[A-Z]\d+$/.test(r)),
      JSON.stringify(rules),
    );
    assert.equal(new Set(rules.slice(0, 20)).size, 20, 'each rule id once');
    assert.equal(rules[20], '… 5 more', JSON.stringify(rules));
  });

  test('no object content: the canary from spec, labels, annotations and a malformed body never appears', () => {
    assert.ok(!logged.includes(CANARY), logged);
  });

  test('no key material: neither the serving key nor the CA key, in PEM or in part', () => {
    assert.doesNotMatch(logged, /PRIVATE KEY/);
    for (const file of ['tls.key', 'ca.key']) {
      const body = readFileSync(join(dir, file), 'utf8')
        .split('\n')
        .filter((l) => l && !l.startsWith('-----'));
      for (const line of body) assert.ok(!logged.includes(line), `a line of ${file} was logged`);
    }
  });
});

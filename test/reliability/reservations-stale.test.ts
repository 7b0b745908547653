// A reservation lasts until the view has shown the object, however long that
// takes (issue 14): `serve` in cluster mode against the test API server, whose
// Sidecar lists fail and whose watches are dropped. CREATE first is admitted
// (and stored, as kube-apiserver would); 11 s later, past the 10 s
// --reservation-ttl but within --max-staleness (60 s, /readyz still 200),
// CREATE second (also namespace-wide) must still be denied, with a warning
// that says why. Before, the reservation expired at its TTL and second was
// admitted. With --claims=api, a write that needs a claim while the view is
// older than --max-staleness is answered with HTTP 500 (failurePolicy decides).
//
// The wall clock (Date) is mocked and moved by the test; every other timer is real.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, mock, test } from 'node:test';
import { pino } from 'pino';
import { serveConfigOf } from '../../src/cli.js';
import { serve, type RunningServer } from '../../src/main.js';
import { createCA, issueServingCert } from '../../src/tls/certs.js';
import { writeCertFiles } from '../../src/tls/files.js';
import { startTestApiServer, type KubeObject, type TestApiServer } from '../apiserver/index.js';
import { sidecarReview } from '../helpers/app.js';
import { sidecar } from '../helpers/objects.js';
import { httpsRequest, waitFor } from './helpers.js';

const SIDECARS = '/apis/networking.istio.io/v1/sidecars';

for (const claims of ['local', 'api'] as const) {
  describe(`--claims=${claims}: a reservation outlives its TTL while the view is cut off from the API server`, {
    timeout: 60_000,
  }, () => {
    let dir: string;
    let api: TestApiServer;
    let server: RunningServer;
    let port: number;
    let caPem: string;

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'sg-stale-'));
      const ca = createCA();
      writeCertFiles(dir, ca, issueServingCert(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }));
      caPem = ca.certPem;
      api = await startTestApiServer();
      api.writeKubeconfig(join(dir, 'kubeconfig'));
      for (const name of ['shop', 'sidecar-guard', 'istio-system'])
        api.store.put('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
      mock.timers.enable({ apis: ['Date'], now: Date.now() });
      const args = [
        '--kubeconfig',
        join(dir, 'kubeconfig'),
        '--listen',
        '127.0.0.1:0',
        '--cert-dir',
        dir,
        '--metrics-listen',
        'off',
        '--drain-delay',
        '0',
        '--self-namespace',
        'sidecar-guard',
        '--reservation-ttl',
        '10000',
        '--max-staleness',
        '60000',
        '--log-level',
        'silent',
        '--claims',
        claims,
      ];
      server = await serve(serveConfigOf(args), pino({ level: 'silent' }));
      port = Number(new URL(server.url).port);
      await waitFor('/readyz 200', async () => (await httpsRequest(port, { path: '/readyz', caPem })).status === 200);
    });

    after(async () => {
      await server?.shutdown('test');
      mock.timers.reset();
      await api?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    async function post(object: Record<string, unknown>) {
      const res = await httpsRequest(port, {
        path: '/validate?timeout=5s',
        body: JSON.stringify(sidecarReview(object)),
        caPem,
      });
      if (res.status !== 200) return { status: res.status, body: res.body };
      const response = JSON.parse(res.body!).response as {
        allowed: boolean;
        status?: { message: string };
        warnings?: string[];
      };
      return {
        status: 200,
        allowed: response.allowed,
        message: response.status?.message,
        warnings: response.warnings ?? [],
      };
    }
    const withUid = (object: Record<string, unknown>, uid: string) => ({
      ...object,
      metadata: { ...(object.metadata as object), uid },
    });

    test('admitted and stored while the Sidecar view is cut off; 11 s later a second namespace-wide one is still denied, saying why', async () => {
      api.faults.failRequests({ match: (method, path) => method === 'GET' && path.startsWith(SIDECARS), status: 500 });
      api.faults.dropWatches();
      await waitFor('a failed Sidecar re-list', () =>
        api.requests().some((r) => r.status === 500 && r.path.startsWith(SIDECARS)),
      );

      const first = withUid(sidecar('shop', 'first'), 'uid-first');
      const admitted = await post(first);
      assert.equal(admitted.allowed, true, JSON.stringify(admitted));
      api.store.put('sidecars', first as unknown as KubeObject);

      mock.timers.tick(11_000);
      assert.equal(
        (await httpsRequest(port, { path: '/readyz', caPem })).status,
        200,
        'within --max-staleness: still ready',
      );
      const second = await post(withUid(sidecar('shop', 'second'), 'uid-second'));
      assert.equal(second.allowed, false, JSON.stringify(second));
      assert.match(second.message!, /namespace "shop" already has a namespace-wide Sidecar: first/);
      assert.ok(
        second.warnings!.some((w) =>
          /Sidecar shop\/first \(admitted 11s ago\): admitted but not in sidecar-guard's view, which has not heard from the API server for 1\ds/.test(
            w,
          ),
        ),
        JSON.stringify(second.warnings),
      );
    });

    test(
      claims === 'api'
        ? 'past --max-staleness a write that needs a claim gets HTTP 500 (failurePolicy decides), naming why'
        : 'past --max-staleness the reservation still holds',
      async () => {
        mock.timers.tick(60_000);
        const selective = await post(
          withUid(sidecar('shop', 'selective', { selector: { app: 'x' } }), 'uid-selective'),
        );
        if (claims === 'api') {
          assert.equal(selective.status, 500, JSON.stringify(selective));
          assert.match(
            String(selective.body),
            /failurePolicy applies: the cluster view has not heard from the API server for 7\ds, longer than --max-staleness \(60s\)/,
          );
        } else {
          assert.equal(selective.allowed, true, 'one replica: its own reservations are all it needs');
        }
        const second = await post(withUid(sidecar('shop', 'second'), 'uid-second'));
        assert.equal(second.allowed, false, 'a denial needs no claim');
      },
    );

    test('once the view is back it shows first, and the reservation gives way to it', async () => {
      api.faults.clear();
      await waitFor('the view to show shop/first', () => server.store.sidecar('shop', 'first') !== undefined);
      const second = await post(withUid(sidecar('shop', 'second'), 'uid-second'));
      assert.equal(second.allowed, false);
      assert.match(second.message!, /already has a namespace-wide Sidecar: first/);
      assert.deepEqual(
        second.warnings!.filter((w) => w.includes("not in sidecar-guard's view")),
        [],
        'nothing is held for a stale view any more',
      );
    });
  });
}

// Hot reload seen from the outside: while clients keep sending (over a
// keep-alive connection and over new connections), the serving certificate
// is swapped; nothing fails, the old connection keeps working, and new
// handshakes present the new certificate.
import assert from 'node:assert/strict';
import https from 'node:https';
import { after, before, describe, test } from 'node:test';
import { certInfo, createCA, issueServingCert } from '../../src/tls/certs.js';
import {
  reloadOnChange,
  swapCertificate,
  type CertificateSource,
  type ServingMaterial,
} from '../../src/tls/reloader.js';
import { httpsGet, startTlsServer, waitFor, type GetResult, type TlsTestServer } from './helpers.js';

const ca = createCA();
const names = { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] };
const first = issueServingCert(ca, names);
const second = issueServingCert(ca, names);
const third = issueServingCert(ca, names);
const fp = (pem: string) => certInfo(pem).fingerprint256;

interface Sample extends GetResult {
  afterSwap: boolean;
}

/** Sends GET /healthz in a loop until stopped; records every result. */
function clientLoop(port: number, agent: https.Agent | false, isAfterSwap: () => boolean) {
  const samples: Sample[] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const swapped = isAfterSwap();
      const r = await httpsGet(port, '/healthz', { ca: ca.certPem, agent });
      samples.push({ ...r, afterSwap: swapped });
    }
  })();
  return {
    samples,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

describe('hot reload with setSecureContext', () => {
  let server: TlsTestServer;
  before(async () => {
    server = await startTlsServer(first);
  });
  after(() => server.close());

  test('no failed request during the swap; keep-alive connections survive; new connections see the new certificate', async () => {
    let swapped = false;
    const keepAlive = new https.Agent({ keepAlive: true, maxSockets: 1 });
    const reused = clientLoop(server.port, keepAlive, () => swapped);
    const fresh = clientLoop(server.port, false, () => swapped);
    try {
      await waitFor(
        'traffic on both loops before the swap',
        () => reused.samples.length >= 5 && fresh.samples.length >= 5,
      );
      const keepAliveSocket = reused.samples[0]!.socket;
      swapCertificate(server.app.server as unknown as { setSecureContext(o: object): void }, second);
      swapped = true;
      await waitFor('traffic on both loops after the swap', () => {
        const newConnections = fresh.samples.filter((s) => s.afterSwap && s.fingerprint256 === fp(second.certPem));
        const oldConnection = reused.samples.filter((s) => s.afterSwap);
        return newConnections.length >= 5 && oldConnection.length >= 5;
      });
      await reused.stop();
      await fresh.stop();

      const all = [...reused.samples, ...fresh.samples];
      assert.deepEqual(
        all.filter((s) => s.status !== 200).map((s) => s.error ?? s.status),
        [],
        'no failed request',
      );
      // The keep-alive connection established before the swap carried requests after it, still with the old certificate.
      const afterOnOld = reused.samples.filter((s) => s.afterSwap && s.socket === keepAliveSocket);
      assert.ok(afterOnOld.length >= 5, 'the pre-swap keep-alive connection kept serving');
      assert.ok(afterOnOld.every((s) => s.fingerprint256 === fp(first.certPem)));
      // Every handshake that started after the swap returned presents the new certificate.
      assert.ok(fresh.samples.filter((s) => s.afterSwap).every((s) => s.fingerprint256 === fp(second.certPem)));
      // A new connection on a fresh keep-alive agent also gets the new one.
      const late = await httpsGet(server.port, '/healthz', {
        ca: ca.certPem,
        agent: new https.Agent({ keepAlive: false }),
      });
      assert.equal(late.fingerprint256, fp(second.certPem));
    } finally {
      await reused.stop();
      await fresh.stop();
      keepAlive.destroy();
    }
  });

  test('reloadOnChange applies every change a certificate source announces', async () => {
    const listeners: ((m: ServingMaterial) => void)[] = [];
    const source: CertificateSource = {
      current: () => ({ ...second, caBundlePem: ca.certPem, notAfter: certInfo(second.certPem).notAfter }),
      onChange: (l) => {
        listeners.push(l);
        return () => listeners.splice(listeners.indexOf(l), 1);
      },
    };
    const unsubscribe = reloadOnChange(server.app.server as unknown as { setSecureContext(o: object): void }, source);
    for (const l of listeners) l({ ...third, caBundlePem: ca.certPem, notAfter: certInfo(third.certPem).notAfter });
    const r = await httpsGet(server.port, '/healthz', { ca: ca.certPem });
    assert.equal(r.status, 200);
    assert.equal(r.fingerprint256, fp(third.certPem));
    unsubscribe();
    assert.equal(listeners.length, 0);
  });

  test('a broken certificate is not swapped in: the server keeps serving the previous one', async () => {
    const listeners: ((m: ServingMaterial) => void)[] = [];
    const source: CertificateSource = {
      current: () => {
        throw new Error('unused');
      },
      onChange: (l) => {
        listeners.push(l);
        return () => undefined;
      },
    };
    reloadOnChange(server.app.server as unknown as { setSecureContext(o: object): void }, source);
    const before = (await httpsGet(server.port, '/healthz', { ca: ca.certPem })).fingerprint256;
    for (const l of listeners) l({ certPem: 'garbage', keyPem: 'garbage', caBundlePem: '', notAfter: new Date() });
    const r = await httpsGet(server.port, '/healthz', { ca: ca.certPem });
    assert.equal(r.status, 200);
    assert.equal(r.fingerprint256, before);
  });
});

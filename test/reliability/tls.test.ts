// TLS 1.2+ only, on the real listener: TLS 1.0 and 1.1 clients fail the
// handshake and plain HTTP never reaches a route. A control server that does
// allow old versions proves the test client really speaks them. Cipher
// policy, TLS 1.3 negotiation and client-certificate authentication are
// proven in test/tls/server-options.test.ts.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { sidecarReview } from '../helpers/app.js';
import { sidecar } from '../helpers/objects.js';
import { serverTlsOptions } from '../../src/tls/server-options.js';
import { listen, testPki, type Listening } from './helpers.js';

interface Handshake {
  protocol?: string | null;
  error?: string;
}

/** One handshake with a client limited to exactly `version`; OpenSSL needs security level 0 to offer TLS 1.0/1.1 at all. */
function handshake(port: number, version: tls.SecureVersion): Promise<Handshake> {
  return new Promise((resolve) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      ca: testPki().caPem,
      minVersion: version,
      maxVersion: version,
      ciphers: 'DEFAULT@SECLEVEL=0',
    });
    socket.once('secureConnect', () => {
      resolve({ protocol: socket.getProtocol() });
      socket.destroy();
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      resolve({ error: err.code ?? err.message });
      socket.destroy();
    });
  });
}

describe('protocol versions', { timeout: 30_000 }, () => {
  let server: Listening;
  let control: tls.Server;
  let controlPort: number;
  const decided: string[] = [];

  before(async () => {
    server = await listen({
      validate: (r) => {
        decided.push(r.uid);
        return { allowed: true, outcome: 'allowed', warnings: [], rules: [] };
      },
    });
    const { serving } = testPki();
    // Allows everything down to TLS 1.0: shows what the client would get from a lax server.
    control = tls.createServer(
      { cert: serving.certPem, key: serving.keyPem, minVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' },
      (s) => s.end(),
    );
    await new Promise<void>((r) => control.listen(0, '127.0.0.1', () => r()));
    controlPort = (control.address() as AddressInfo).port;
  });
  after(async () => {
    await server.close();
    await new Promise((r) => control.close(r));
  });

  test('the listener is configured with TLS 1.2 as its minimum', () => {
    const { serving } = testPki();
    assert.equal(serverTlsOptions({ certPem: serving.certPem, keyPem: serving.keyPem }).minVersion, 'TLSv1.2');
  });

  for (const version of ['TLSv1', 'TLSv1.1'] as const) {
    test(`a ${version} client fails the handshake`, async (t) => {
      const lax = await handshake(controlPort, version);
      const ours = await handshake(server.port, version);
      t.diagnostic(
        `${version}: lax control server → ${lax.protocol ?? lax.error}; sidecar-guard → ${ours.protocol ?? ours.error}`,
      );
      // Where the local OpenSSL cannot offer the version at all, what remains shown is the
      // configured minimum (above) and that the capped client does not get through.
      if (lax.protocol !== version) t.diagnostic(`the local OpenSSL cannot offer ${version} (${lax.error})`);
      assert.equal(ours.protocol, undefined);
      assert.match(ours.error ?? '', /PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL|NO_PROTOCOLS|WRONG_VERSION/);
    });
  }

  test('a TLS 1.2 client connects', async () => {
    assert.deepEqual(await handshake(server.port, 'TLSv1.2'), { protocol: 'TLSv1.2' });
  });

  test('plain HTTP to the HTTPS port gets no HTTP answer and reaches no route', async (t) => {
    const body = JSON.stringify(sidecarReview(sidecar('a', 'b'), { uid: 'plain-http' }));
    const result = await new Promise<{ status?: number; error?: string }>((resolve) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: server.port,
          method: 'POST',
          path: '/validate',
          headers: { 'content-type': 'application/json' },
        },
        (res) => {
          resolve({ status: res.statusCode });
          res.resume();
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
      req.end(body);
    });
    t.diagnostic(`plain HTTP → ${result.status ?? result.error}`);
    assert.equal(result.status, undefined);
    assert.ok(result.error);
    assert.ok(!decided.includes('plain-http'));
  });
});

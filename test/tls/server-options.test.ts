// serverTlsOptions(): TLS 1.2 minimum, AEAD-only ciphers, optional mutual
// TLS, and a private key that never shows up in logs.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import https from 'node:https';
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { createCA, issueClientCert, issueServingCert } from '../../src/tls/certs.js';
import { secureContextOptions, serverTlsOptions, TLS_CIPHERS } from '../../src/tls/server-options.js';
import { httpsGet, startTlsServer, tlsProbe, type TlsTestServer } from './helpers.js';

const ca = createCA();
const serving = issueServingCert(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });

describe('serverTlsOptions', () => {
  test('TLS 1.2 minimum and only ECDHE AEAD suites for TLS 1.2 (no CBC, RC4, 3DES, static RSA)', () => {
    const o = serverTlsOptions(serving);
    assert.equal(o.minVersion, 'TLSv1.2');
    const suites = TLS_CIPHERS.split(':');
    assert.equal(o.ciphers, TLS_CIPHERS);
    for (const s of suites.filter((s) => !s.startsWith('TLS_'))) {
      assert.match(s, /^ECDHE-(RSA|ECDSA)-/, s);
      assert.match(s, /(GCM|CHACHA20-POLY1305)/, s);
    }
    for (const s of suites) assert.doesNotMatch(s, /CBC|RC4|3DES|DES|NULL|MD5|EXPORT|PSK/, s);
    assert.equal(o.requestCert, undefined, 'no client certificate unless --client-ca');
  });

  test('--client-ca asks for a client certificate from that CA (the routes insist, so the probes keep working)', () => {
    const clientCa = createCA({ commonName: 'apiserver-client-ca' });
    const o = serverTlsOptions({ ...serving, clientCaPem: clientCa.certPem });
    assert.equal(o.requestCert, true);
    assert.equal(o.rejectUnauthorized, false);
    const fingerprint = (pem: unknown) => new X509Certificate(String(pem)).fingerprint256;
    assert.equal(fingerprint(o.ca), fingerprint(clientCa.certPem));
    assert.equal(
      fingerprint(secureContextOptions({ ...serving, clientCaPem: clientCa.certPem }).ca),
      fingerprint(clientCa.certPem),
      'a hot reload keeps the client CA',
    );
  });

  test('--client-ca must hold CA certificates', () => {
    assert.throws(() => serverTlsOptions({ ...serving, clientCaPem: 'not a pem' }), /no PEM certificate/);
    assert.throws(() => serverTlsOptions({ ...serving, clientCaPem: serving.certPem }), /is not a CA certificate/);
  });

  test('the key never appears in JSON, util.inspect or a pino log line, but spreading keeps it', () => {
    const o = serverTlsOptions(serving);
    const keyBody = serving.keyPem.split('\n')[1]!;
    let logged = '';
    const logger = pino(
      { level: 'info' },
      new Writable({
        write: (chunk, _enc, done) => {
          logged += chunk;
          done();
        },
      }),
    );
    logger.info({ tls: o }, 'starting');
    for (const text of [JSON.stringify(o), inspect(o, { depth: 5 }), logged]) {
      assert.doesNotMatch(text, /PRIVATE KEY/);
      assert.ok(!text.includes(keyBody));
      assert.match(text, /\[redacted\]/);
    }
    assert.match(logged, /BEGIN CERTIFICATE/, 'the certificate itself may be logged');
    assert.equal({ ...o }.key, serving.keyPem, 'buildApp spreads the options: the key must survive');
  });
});

const REVIEW = JSON.stringify({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: {
    uid: 'u-1',
    kind: { group: 'networking.istio.io', version: 'v1', kind: 'Sidecar' },
    resource: { group: 'networking.istio.io', version: 'v1', resource: 'sidecars' },
    operation: 'DELETE',
  },
});

/** POST JSON over HTTPS; never rejects. */
function httpsPost(
  port: number,
  path: string,
  body: string,
  opts: { ca: string; cert?: string; key?: string },
): Promise<{ status?: number; body?: string; error?: string }> {
  return new Promise((resolve) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json' },
        ...opts,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode, body: text }));
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    req.end(body);
  });
}

describe('the listener with serverTlsOptions', () => {
  let plain: TlsTestServer;
  let mutual: TlsTestServer;
  const clientCa = createCA({ commonName: 'apiserver-client-ca' });
  const client = issueClientCert(clientCa, { commonName: 'kube-apiserver' });
  const stranger = issueClientCert(createCA(), { commonName: 'kube-apiserver' });

  before(async () => {
    plain = await startTlsServer(serving);
    mutual = await startTlsServer({ ...serving, clientCaPem: clientCa.certPem });
  });
  after(async () => {
    await plain.close();
    await mutual.close();
  });

  test('a TLS 1.2 client offering only a CBC suite is refused; with an ECDHE-GCM suite it connects', async () => {
    // Node's own default list still allows ECDHE-RSA-AES128-SHA256 (CBC): only our list refuses it.
    const cbc = await tlsProbe(plain.port, {
      ca: ca.certPem,
      maxVersion: 'TLSv1.2',
      ciphers: 'ECDHE-RSA-AES128-SHA256',
    });
    assert.ok(cbc.error, 'handshake must fail');
    const gcm = await tlsProbe(plain.port, {
      ca: ca.certPem,
      maxVersion: 'TLSv1.2',
      ciphers: 'ECDHE-RSA-AES128-GCM-SHA256',
    });
    assert.equal(gcm.error, undefined);
    assert.equal(gcm.protocol, 'TLSv1.2');
    assert.equal(gcm.cipher, 'ECDHE-RSA-AES128-GCM-SHA256');
  });

  test('a default client negotiates TLS 1.3', async () => {
    const r = await tlsProbe(plain.port, { ca: ca.certPem });
    assert.equal(r.protocol, 'TLSv1.3');
  });

  test('mutual TLS: a client certificate from the client CA reaches /validate', async () => {
    const r = await httpsPost(mutual.port, '/validate', REVIEW, {
      ca: ca.certPem,
      cert: client.certPem,
      key: client.keyPem,
    });
    assert.equal(r.error, undefined);
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body!).response.allowed, true);
  });

  test('mutual TLS: no client certificate, or one from another CA, never reaches an admission route', async () => {
    for (const opts of [{}, { cert: stranger.certPem, key: stranger.keyPem }]) {
      const r = await httpsPost(mutual.port, '/validate', REVIEW, { ca: ca.certPem, ...opts });
      assert.equal(r.status, 403);
      assert.match(r.body!, /a client certificate signed by the --client-ca authority is required/);
      assert.doesNotMatch(r.body!, /AdmissionReview/);
    }
  });

  test("mutual TLS: the kubelet's probes need no client certificate", async () => {
    for (const path of ['/healthz', '/readyz']) {
      const r = await httpsGet(mutual.port, path, { ca: ca.certPem });
      assert.equal(r.status, 200, path);
    }
  });

  test('without --client-ca, clients need no certificate', async () => {
    const r = await httpsGet(plain.port, '/healthz', { ca: ca.certPem });
    assert.equal(r.status, 200);
  });
});

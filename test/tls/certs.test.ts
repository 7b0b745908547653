// The `certs` command's material: SANs, lifetimes, and a chain that a real
// TLS client trusts with nothing but the CA (and refuses otherwise).
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { certInfo, createCA, issueServingCert, serviceDnsNames } from '../../src/tls/certs.js';
import { runCli } from '../helpers/cli.js';
import { startTlsServer, tlsProbe, type TlsTestServer } from './helpers.js';

const DAY = 24 * 3600 * 1000;

describe('sidecar-guard certs', () => {
  let dir: string;
  let out: { code: number | null; stdout: string; stderr: string };
  const read = (name: string) => readFileSync(join(dir, name), 'utf8');

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'certs-test-'));
    out = await runCli(['certs', '--service', 'hook', '--namespace', 'ops', '--out', dir]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('writes the four files and prints the base64 caBundle', () => {
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout.trim(), Buffer.from(read('ca.crt')).toString('base64'));
    assert.match(read('ca.key'), /-----BEGIN (RSA )?PRIVATE KEY-----/);
    assert.match(read('tls.key'), /-----BEGIN (RSA )?PRIVATE KEY-----/);
  });

  test('the serving certificate covers the Service names, localhost and 127.0.0.1, and nothing else', () => {
    const info = certInfo(read('tls.crt'));
    assert.deepEqual(info.dnsNames, ['hook', 'hook.ops', 'hook.ops.svc', 'hook.ops.svc.cluster.local', 'localhost']);
    assert.deepEqual(info.ipAddresses, ['127.0.0.1']);
    assert.equal(info.isCA, false);
  });

  test('lifetimes: CA about a year, serving certificate about 90 days', () => {
    const ca = certInfo(read('ca.crt'));
    const leaf = certInfo(read('tls.crt'));
    const days = (i: { notBefore: Date; notAfter: Date }) =>
      Math.round((i.notAfter.getTime() - i.notBefore.getTime()) / DAY);
    assert.equal(ca.isCA, true);
    assert.equal(days(ca), 365);
    assert.equal(days(leaf), 90);
  });

  test('the chain verifies with node:crypto: issued by the CA, signed by its key, not by another CA', () => {
    const ca = new X509Certificate(read('ca.crt'));
    const leaf = new X509Certificate(read('tls.crt'));
    const other = new X509Certificate(createCA().certPem);
    assert.equal(ca.verify(ca.publicKey), true, 'the CA is self-signed');
    assert.equal(leaf.checkIssued(ca), true);
    assert.equal(leaf.verify(ca.publicKey), true);
    assert.equal(leaf.verify(other.publicKey), false);
    assert.equal(leaf.checkHost('hook.ops.svc'), 'hook.ops.svc');
    assert.equal(leaf.checkHost('hook.other.svc'), undefined);
  });
});

describe('a TLS client that trusts only the CA', () => {
  const ca = createCA();
  const serving = issueServingCert(ca, {
    dnsNames: [...serviceDnsNames('sidecar-guard', 'sidecar-guard'), 'localhost'],
    ipAddresses: ['127.0.0.1'],
  });
  let server: TlsTestServer;

  before(async () => {
    server = await startTlsServer(serving);
  });
  after(() => server.close());

  for (const name of serviceDnsNames('sidecar-guard', 'sidecar-guard')) {
    test(`connects as ${name}`, async () => {
      const r = await tlsProbe(server.port, { ca: ca.certPem, servername: name });
      assert.equal(r.error, undefined);
      assert.equal(r.authorized, true);
      assert.equal(r.fingerprint256, certInfo(serving.certPem).fingerprint256);
    });
  }

  test('connects to 127.0.0.1 by IP', async () => {
    const r = await tlsProbe(server.port, { ca: ca.certPem });
    assert.equal(r.error, undefined);
  });

  test('refuses a name the certificate does not cover', async () => {
    const r = await tlsProbe(server.port, { ca: ca.certPem, servername: 'sidecar-guard.default.svc' });
    assert.equal(r.error, 'ERR_TLS_CERT_ALTNAME_INVALID');
  });

  test('refuses the certificate when it trusts a different CA', async () => {
    const r = await tlsProbe(server.port, { ca: createCA().certPem, servername: 'sidecar-guard.sidecar-guard.svc' });
    assert.equal(r.error, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });
});

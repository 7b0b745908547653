// serve as a process: a failed start exits instead of lingering; SIGTERM in
// cluster mode exits even when the API server was never reachable; mounted
// certificates are re-read when they change; an expired one is served with
// an error line and /readyz not ready.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createCA, issueServingCert } from '../../src/tls/certs.js';
import { FileCertificateSource } from '../../src/tls/file-source.js';
import { writeCertFiles } from '../../src/tls/files.js';
import { BIN } from '../helpers/cli.js';
import { outputMatching } from '../helpers/wait.js';
import { tlsProbe } from '../tls/helpers.js';

function startServe(args: string[]) {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const output = () => out;
  const waitFor = (re: RegExp) => outputMatching(child, output, re);
  return { child, exited, output, waitFor };
}

function busyPort(): Promise<{ port: number; close(): void }> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () =>
      resolve({ port: (srv.address() as { port: number }).port, close: () => srv.close() }),
    );
  });
}

describe('serve lifecycle', () => {
  test('a failed start (port in use) exits 2 with the reason in one line instead of lingering', {
    timeout: 60_000,
  }, async () => {
    const busy = await busyPort();
    try {
      const dir = mkdtempSync(join(tmpdir(), 'sg-serve-'));
      const serve = startServe([
        '--standalone',
        '--listen',
        `127.0.0.1:${busy.port}`,
        '--cert-dir',
        dir,
        '--metrics-listen',
        'off',
      ]);
      assert.equal(await serve.exited, 2);
      assert.match(
        serve.output(),
        /sidecar-guard: cannot listen on 127\.0\.0\.1:\d+: address already in use; choose another --listen/,
      );
    } finally {
      busy.close();
    }
  });

  test('SIGTERM in cluster mode exits 0 even though the API server was never reachable (namespace defaults on)', {
    timeout: 60_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-serve-'));
    const ca = createCA();
    writeCertFiles(dir, ca, issueServingCert(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }));
    const serve = serveUnreachable(dir, '--generate-defaults', 'label');
    await serve.waitFor(/listening on https:\/\/127\.0\.0\.1:\d+ \(cluster mode; Node\.js v\d+/);
    serve.child.kill('SIGTERM');
    assert.equal(await serve.exited, 0, serve.output());
    assert.match(serve.output(), /"msg":"stopped"/);
  });
});

describe('serve --metrics-listen', () => {
  // main.ts wires the metrics listener's own refusals into the same counter as the admission port's.
  test('a malformed request on the metrics port is answered 400 and counted as endpoint "metrics"', {
    timeout: 60_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-serve-'));
    const serve = startServe([
      '--standalone',
      '--listen',
      '127.0.0.1:0',
      '--cert-dir',
      dir,
      '--metrics-listen',
      '127.0.0.1:0',
    ]);
    try {
      await serve.waitFor(/"msg":"metrics listening"/);
      const url = /"url":"(http:\/\/[^"]+)\/metrics"/.exec(serve.output())![1]!;
      const socket = connect({ host: '127.0.0.1', port: Number(new URL(url).port) });
      let answer = '';
      socket.on('data', (d) => (answer += d));
      socket.write('GET /metrics HTTP/1.1\r\nHost metrics\r\n\r\n');
      await once(socket, 'close');
      assert.match(answer, /^HTTP\/1\.1 400 Bad Request\r\n/);
      const scrape = await (await fetch(`${url}/metrics`)).text();
      assert.match(scrape, /^sidecar_guard_http_errors_total\{endpoint="metrics",status="400"\} 1$/m);
    } finally {
      serve.child.kill('SIGTERM');
      await serve.exited;
    }
  });
});

describe('serve with an expired --cert-dir certificate', () => {
  test('starts, says so at error level naming the file and notAfter, and /readyz answers 503 with the reason', {
    timeout: 60_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-expired-'));
    const issued = new Date(Date.now() - 100 * 24 * 3600 * 1000);
    const ca = createCA({ now: issued });
    const leaf = issueServingCert(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], days: 90, now: issued });
    writeCertFiles(dir, ca, leaf);
    const notAfter = new X509Certificate(leaf.certPem).validToDate.toISOString();
    const serve = serveUnreachable(dir);
    try {
      await serve.waitFor(/listening on https:\/\/127\.0\.0\.1:\d+/);
      const line = serve
        .output()
        .split('\n')
        .find((l) => l.includes('expired at'));
      assert.ok(line, serve.output());
      const entry = JSON.parse(line);
      assert.equal(entry.level, 50);
      assert.equal(entry.file, join(dir, 'tls.crt'));
      assert.equal(entry.notAfter, notAfter);
      assert.match(entry.msg, /renew it where it comes from \(cert-manager/);
      const port = Number(/listening on https:\/\/127\.0\.0\.1:(\d+)/.exec(serve.output())![1]);
      // What the API server sees: the handshake fails on the expiry.
      assert.equal((await tlsProbe(port, { ca: ca.certPem, servername: 'localhost' })).error, 'CERT_HAS_EXPIRED');
      const readyz = await getInsecure(port, '/readyz');
      assert.equal(readyz.status, 503);
      assert.ok(
        (JSON.parse(readyz.body).reasons as string[]).includes(`serving certificate expired at ${notAfter}`),
        readyz.body,
      );
    } finally {
      serve.child.kill('SIGTERM');
      await serve.exited;
    }
  });
});

/** A kubeconfig whose server nobody answers at (the view never syncs; start-up does not wait for it). */
function unreachableKubeconfig(dir: string): string {
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n',
  );
  return kubeconfig;
}

/** serve in cluster mode with --cert-dir DIR, against an API server nobody listens at, no drain delay. */
function serveUnreachable(dir: string, ...extra: string[]) {
  return startServe([
    '--kubeconfig',
    unreachableKubeconfig(dir),
    '--listen',
    '127.0.0.1:0',
    '--cert-dir',
    dir,
    '--metrics-listen',
    'off',
    '--drain-delay',
    '0',
    ...extra,
  ]);
}

/** GET without verifying the certificate (the probe does not either: kubelet HTTPS probes skip verification). */
function getInsecure(port: number, path: string): Promise<{ status?: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', port, path, rejectUnauthorized: false, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode, body }));
      })
      .on('error', reject);
  });
}

describe('FileCertificateSource (mounted certificates)', () => {
  test('a renewed pair on disk is picked up; an unreadable one keeps the current pair', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-files-'));
    const ca = createCA();
    const first = issueServingCert(ca, { dnsNames: ['sidecar-guard.sidecar-guard.svc'] });
    writeCertFiles(dir, ca, first);
    const source = new FileCertificateSource(dir);
    try {
      const seen: string[] = [];
      source.onChange((m) => seen.push(m.certPem));
      source.check();
      assert.deepEqual(seen, [], 'unchanged files: no event');
      const renewed = issueServingCert(ca, { dnsNames: ['sidecar-guard.sidecar-guard.svc'] });
      writeCertFiles(dir, ca, renewed);
      source.check();
      assert.deepEqual(seen, [renewed.certPem]);
      assert.equal(source.current().keyPem, renewed.keyPem);
      writeFileSync(join(dir, 'tls.crt'), 'half-written');
      source.check();
      assert.equal(source.current().certPem, renewed.certPem, 'a broken file is not served');
      // A renewer that copies tls.crt before tls.key: no change until the key matches (nor an expiry metric for it).
      const next = issueServingCert(ca, { dnsNames: ['sidecar-guard.sidecar-guard.svc'] });
      writeFileSync(join(dir, 'tls.crt'), next.certPem);
      source.check();
      assert.deepEqual(seen, [renewed.certPem], 'a certificate without its key yet is no change');
      writeFileSync(join(dir, 'tls.key'), next.keyPem);
      source.check();
      assert.deepEqual(seen, [renewed.certPem, next.certPem]);
    } finally {
      source.stop();
    }
  });
});

// A body in 1-byte pieces must cost memory in proportion to its bytes. The
// reader kept every piece Node handed it, a Buffer object per byte of a
// chunked body with 1-byte chunks, a few hundred bytes of heap each: a 2.5 MB
// review killed a server with a 256 MB heap (found by an adversarial review).
// Here `serve` runs as a process with a 96 MB heap, which such a 1 MB body
// overran, and must answer it and stay up.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { describe, test } from 'node:test';
import { BIN, ROOT } from '../helpers/cli.js';
import { outputMatching } from '../helpers/wait.js';
import { httpsRequest } from './helpers.js';

const HEAP_MB = 96;
const BODY_BYTES = 1024 * 1024;

/** The README's invalid review, padded in its status to `size` bytes of JSON, framed as 1-byte chunks. */
function tinyChunkedRequest(size: number): Buffer {
  const review = JSON.parse(readFileSync(join(ROOT, 'examples/review-invalid.json'), 'utf8'));
  const base = Buffer.byteLength(JSON.stringify(review));
  review.request.object.status = { pad: 'x'.repeat(Math.max(0, size - base - 20)) };
  const body = Buffer.from(JSON.stringify(review));
  const head = `POST /validate HTTP/1.1\r\nHost: sidecar-guard\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`;
  const wire = Buffer.alloc(head.length + body.length * 6 + 5);
  let at = wire.write(head, 'latin1');
  for (const byte of body) {
    at += wire.write('1\r\n', at, 'latin1');
    wire[at++] = byte;
    at += wire.write('\r\n', at, 'latin1');
  }
  wire.write('0\r\n\r\n', at, 'latin1');
  return wire;
}

/** Sends the bytes over one TLS connection and resolves with the status line once the answer's body has come. */
function post(port: number, caPem: string, wire: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = '';
    const socket = tls.connect({ host: '127.0.0.1', port, ca: caPem }, () => socket.write(wire));
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      answer += d;
      if (answer.includes('\r\n\r\n') && answer.trimEnd().endsWith('}')) {
        socket.destroy();
        resolve(answer.split('\r\n')[0]!);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(answer.split('\r\n')[0] || 'closed without an answer'));
  });
}

describe('a review in 1-byte chunks', { timeout: 120_000 }, () => {
  test(`1 MiB in 1-byte chunks to a server with a ${HEAP_MB} MB heap: answered, and the server stays up`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-chunks-'));
    const args = ['--standalone', '--listen', '127.0.0.1:0', '--cert-dir', dir, '--metrics-listen', 'off'];
    const child = spawn(
      process.execPath,
      [`--max-old-space-size=${HEAP_MB}`, BIN, 'serve', ...args, '--log-format', 'json'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    try {
      await outputMatching(child, () => out, /listening on https:\/\/127\.0\.0\.1:\d+/);
      const port = Number(/listening on https:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1]);
      const caPem = readFileSync(join(dir, 'ca.crt'), 'utf8');
      assert.equal(await post(port, caPem, tinyChunkedRequest(BODY_BYTES)), 'HTTP/1.1 200 OK', out.slice(-2_000));
      assert.equal(child.exitCode, null, 'the server is still running');
      assert.equal((await httpsRequest(port, { path: '/healthz', caPem })).status, 200);
    } finally {
      child.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

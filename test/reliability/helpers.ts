// Shared by the reliability tests: one PKI per process, the real app on a
// real TLS socket, raw TLS clients that report what happened instead of
// throwing, and `serve` as a child process.
import { spawn, type ChildProcess } from 'node:child_process';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppDeps } from '../../src/http/app.js';
import { createCA, issueServingCert, type KeyPairPem } from '../../src/tls/certs.js';
import { serverTlsOptions } from '../../src/tls/server-options.js';
import { waitFor } from '../helpers/wait.js';

export { waitFor };

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

let pki: { caPem: string; serving: KeyPairPem } | undefined;

/** One CA and serving certificate per test process (RSA key generation is slow). */
export function testPki(): { caPem: string; serving: KeyPairPem } {
  if (!pki) {
    const ca = createCA();
    pki = { caPem: ca.certPem, serving: issueServingCert(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }) };
  }
  return pki;
}

export interface Listening {
  app: FastifyInstance;
  port: number;
  /** Raw TCP sockets the server accepted, in order (bytesRead counts what it consumed, TLS included). */
  accepted: Socket[];
  /** Request heads the server has parsed so far (counted before any hook runs). */
  heads(): number;
  close(): Promise<void>;
}

const allow = () => ({ allowed: true, outcome: 'allowed' as const, warnings: [], rules: [] });

/** buildApp() over HTTPS on 127.0.0.1 with the test PKI; deps override the allow-all defaults. */
export async function listen(deps: Partial<AppDeps> = {}): Promise<Listening> {
  const { serving } = testPki();
  const app = buildApp({
    validate: allow,
    readiness: () => ({ ready: true, reasons: [] }),
    https: serverTlsOptions({ certPem: serving.certPem, keyPem: serving.keyPem }),
    ...deps,
  });
  const accepted: Socket[] = [];
  app.server.on('connection', (s: Socket) => accepted.push(s));
  let heads = 0;
  app.server.on('request', () => void heads++);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  return { app, port, accepted, heads: () => heads, close: () => app.close() };
}

/** A raw TLS connection that records everything it receives and how it ended. */
export class RawClient {
  readonly socket: tls.TLSSocket;
  received = '';
  closed = false;
  error: string | undefined;
  private readonly closedPromise: Promise<void>;

  private constructor(socket: tls.TLSSocket) {
    this.socket = socket;
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (this.received += d));
    socket.on('error', (e: NodeJS.ErrnoException) => (this.error ??= e.code ?? e.message));
    this.closedPromise = new Promise((resolve) =>
      socket.once('close', () => {
        this.closed = true;
        resolve();
      }),
    );
  }

  static async connect(port: number, opts: tls.ConnectionOptions = {}): Promise<RawClient> {
    const socket = tls.connect({ host: '127.0.0.1', port, ...opts, ca: opts.ca ?? testPki().caPem });
    const client = new RawClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', () => resolve());
      socket.once('error', reject);
    });
    return client;
  }

  /** Resolves once the data is handed to the kernel, or the socket is gone. */
  write(data: string | Buffer): Promise<boolean> {
    if (this.closed || this.error || this.socket.destroyed) return Promise.resolve(false);
    return new Promise((resolve) => this.socket.write(data, (err) => resolve(!err)));
  }

  whenClosed(): Promise<void> {
    return this.closedPromise;
  }

  /** The status code of the first response received, if any. */
  status(): number | undefined {
    const m = /^HTTP\/1\.1 (\d{3})/.exec(this.received);
    return m ? Number(m[1]) : undefined;
  }

  /** Header value of the first response (lower-cased name). */
  header(name: string): string | undefined {
    const head = this.received.split('\r\n\r\n', 1)[0] ?? '';
    const line = head.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
    return line?.slice(line.indexOf(':') + 1).trim();
  }

  /** Body of the first response, parsed (Content-Length framing). */
  json(): unknown {
    const at = this.received.indexOf('\r\n\r\n');
    const length = Number(this.header('content-length'));
    return JSON.parse(
      Buffer.from(this.received.slice(at + 4), 'latin1')
        .subarray(0, length)
        .toString('utf8'),
    );
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export function requestHead(path: string, headers: Record<string, string | number>): string {
  const lines = Object.entries({ host: 'localhost', ...headers }).map(([k, v]) => `${k}: ${v}`);
  return `POST ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`;
}

/**
 * A clock and timers on it (deps.now, deps.timers) that move only when the
 * test calls advance(): due timers then fire in order, synchronously.
 */
export function fakeTime() {
  let clock = 0;
  let ids = 0;
  const due = new Map<number, { at: number; callback: () => void }>();
  return {
    now: () => clock,
    timers: {
      setTimeout: (callback: () => void, ms: number) => {
        due.set(++ids, { at: clock + ms, callback });
        return ids;
      },
      clearTimeout: (id: unknown) => void due.delete(id as number),
    },
    /** Timers set and not yet fired or cleared. */
    pending: () => due.size,
    advance(ms: number) {
      clock += ms;
      for (const [id, timer] of [...due].sort(([, a], [, b]) => a.at - b.at))
        if (timer.at <= clock && due.delete(id)) timer.callback();
    },
  };
}

export interface HttpResult {
  status?: number;
  headers?: Record<string, string | string[] | undefined>;
  body?: string;
  error?: string;
}

/** One HTTPS request; never rejects (the error code is returned instead). */
export function httpsRequest(
  port: number,
  opts: {
    method?: string;
    path: string;
    body?: string;
    agent?: https.Agent | false;
    caPem?: string;
    timeoutMs?: number;
    host?: string;
  },
): Promise<HttpResult> {
  return new Promise((resolve) => {
    const req = https.request(
      {
        host: opts.host ?? '127.0.0.1',
        port,
        method: opts.method ?? (opts.body === undefined ? 'GET' : 'POST'),
        path: opts.path,
        ca: opts.caPem ?? testPki().caPem,
        agent: opts.agent ?? false,
        headers:
          opts.body === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(opts.body) },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
        res.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
      },
    );
    if (opts.timeoutMs)
      req.setTimeout(opts.timeoutMs, () =>
        req.destroy(Object.assign(new Error('client timeout'), { code: 'CLIENT_TIMEOUT' })),
      );
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    req.end(opts.body);
  });
}

export interface ServeProcess {
  child: ChildProcess;
  port: number;
  /** Every log line so far (pino JSON on stdout). */
  lines(): Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `sidecar-guard serve --standalone` as a child process, resolved once it listens. */
export async function spawnServe(args: string[]): Promise<ServeProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', CLI, 'serve', '--standalone', '--listen', '127.0.0.1:0', '--metrics-listen', 'off', ...args],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const lines = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  let port = 0;
  await waitFor(
    'serve to listen',
    () => {
      if (child.exitCode !== null) throw new Error(`serve exited with ${child.exitCode}: ${err}${out}`);
      const m = /listening on https:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) port = Number(m[1]);
      return port > 0;
    },
    60_000,
    20,
  );
  return { child, port, lines, exited };
}

// Graceful shutdown of the real `serve` process over real HTTPS: on SIGTERM
// /readyz turns 503, after the drain delay new connections are refused,
// requests in flight are still answered, then the process exits 0; a second
// signal exits at once; a request stuck past --shutdown-timeout is cut. And a
// rolling restart of one of two instances behind a round-robin client that
// behaves like a Service (skips unready or refusing endpoints) loses nothing.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { ensureStandaloneCerts } from '../../src/tls/files.js';
import { sidecarReview } from '../helpers/app.js';
import { sidecar } from '../helpers/objects.js';
import { httpsRequest, RawClient, requestHead, spawnServe, waitFor, type ServeProcess } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const HOLD_LISTEN = fileURLToPath(new URL('../helpers/hold-listen.ts', import.meta.url));

let dir: string;
let caPem: string;
const running = new Set<ServeProcess>();

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'sg-shutdown-'));
  // Created once here, so instances started together do not race to write them.
  ensureStandaloneCerts(dir);
  caPem = readFileSync(join(dir, 'ca.crt'), 'utf8');
});
after(() => {
  for (const p of running) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function start(...flags: string[]): Promise<ServeProcess> {
  const p = await spawnServe(['--cert-dir', dir, ...flags]);
  running.add(p);
  return p;
}

/** A review whose head and first half are sent; finish() sends the rest. */
async function halfSent(port: number, uid: string) {
  const client = await RawClient.connect(port, { ca: caPem });
  const body = JSON.stringify(sidecarReview(sidecar('shop', uid, { selector: { app: uid } }), { uid }));
  const half = Math.floor(body.length / 2);
  await client.write(
    requestHead('/validate?timeout=10s', {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    }) + body.slice(0, half),
  );
  return { client, finish: () => client.write(body.slice(half)) };
}

const get = (port: number, path: string) => httpsRequest(port, { path, caPem, timeoutMs: 5_000 });

describe('SIGTERM', { concurrency: true, timeout: 120_000 }, () => {
  test('readyz 503, then new connections refused, the in-flight request answered, exit 0', async (t) => {
    const p = await start('--drain-delay', '1500');
    const idle = await RawClient.connect(p.port, { ca: caPem });
    await idle.write('GET /healthz HTTP/1.1\r\nhost: localhost\r\n\r\n');
    await waitFor('the idle connection to be used once', () => idle.status() === 200);
    const inflight = await halfSent(p.port, 'in-flight');
    assert.equal((await get(p.port, '/readyz')).status, 200);

    p.child.kill('SIGTERM');
    let readyz: Awaited<ReturnType<typeof get>> = {};
    await waitFor('readyz to turn 503', async () => {
      readyz = await get(p.port, '/readyz');
      return readyz.status === 503;
    });
    assert.deepEqual(JSON.parse(readyz.body!), { status: 'not ready', reasons: ['shutting down'] });
    await waitFor(
      'new connections to be refused',
      async () => (await get(p.port, '/healthz')).error === 'ECONNREFUSED',
    );
    assert.equal(p.child.exitCode, null, 'still running: a request is in flight');
    await waitFor('the idle keep-alive connection to be closed', () => idle.closed);

    await inflight.finish();
    await waitFor('the in-flight answer', () => inflight.client.received.endsWith('}'));
    assert.equal(inflight.client.status(), 200);
    assert.equal(inflight.client.header('connection'), 'close');
    const answer = inflight.client.json() as { response: { uid: string; allowed: boolean } };
    assert.deepEqual(answer.response, { uid: 'in-flight', allowed: true });

    const exit = await p.exited;
    assert.deepEqual(exit, { code: 0, signal: null });
    const messages = p.lines().map((l) => l.msg);
    t.diagnostic(`log: ${messages.slice(1).join(' → ')}`);
    assert.ok(messages.includes('stopped'));
  });

  test('a second signal exits at once without waiting for in-flight requests (exit 1)', async () => {
    const p = await start('--drain-delay', '0', '--shutdown-timeout', '120000');
    const inflight = await halfSent(p.port, 'stuck');
    p.child.kill('SIGTERM');
    await waitFor('the listener to close', async () => (await get(p.port, '/healthz')).error === 'ECONNREFUSED');
    assert.equal(p.child.exitCode, null, 'waiting for the stuck request');
    p.child.kill('SIGTERM');
    assert.deepEqual(await p.exited, { code: 1, signal: null });
    assert.ok(p.lines().some((l) => String(l.msg).startsWith('second signal')));
    await inflight.client.whenClosed();
  });

  test('a request still incomplete after --shutdown-timeout is cut, and the process exits 0', async () => {
    const p = await start('--drain-delay', '0', '--shutdown-timeout', '300');
    const inflight = await halfSent(p.port, 'never-finished');
    p.child.kill('SIGTERM');
    await inflight.client.whenClosed();
    assert.equal(inflight.client.status(), undefined, 'never answered: it never finished');
    assert.deepEqual(await p.exited, { code: 0, signal: null });
    assert.ok(p.lines().some((l) => String(l.msg).includes('after the shutdown timeout')));
  });
});

describe('SIGTERM while starting', { timeout: 60_000 }, () => {
  test('is logged, and the server stops as soon as it is up, exiting 0 as after a normal stop', async (t) => {
    // Start-up is held at its listen() by a preloaded test hook (test/helpers/hold-listen.ts), so the
    // signal lands while it is starting whatever the machine's speed; a line on stdin lets it go on.
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--import',
        HOLD_LISTEN,
        CLI,
        'serve',
        '--standalone',
        '--listen',
        '127.0.0.1:0',
        '--cert-dir',
        dir,
        '--metrics-listen',
        'off',
      ],
      { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    try {
      await waitFor('start-up held at listen', () => out.includes('held: listen'), 60_000);
      child.kill('SIGTERM');
      await waitFor('the signal logged while starting', () => out.includes('"signal":"SIGTERM"'), 30_000);
      child.stdin!.end('go\n');
      assert.deepEqual(await exited, { code: 0, signal: null }, out);
      const lines = out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { msg: string; reason?: string; signal?: string });
      const at = (prefix: string) => lines.findIndex((l) => l.msg.startsWith(prefix));
      const order = lines.map((l) => l.msg).join(' → ');
      assert.ok(at('signal received while starting') >= 0, order);
      assert.ok(
        at('starting') < at('signal received while starting') &&
          at('signal received while starting') < at('sidecar-guard listening') &&
          at('sidecar-guard listening') < at('shutting down') &&
          at('shutting down') < at('stopped'),
        order,
      );
      t.diagnostic(`SIGTERM while starting: ${order}`);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

describe('SIGTERM without a drain delay (the standalone default)', { timeout: 120_000 }, () => {
  test('8 keep-alive clients sending back to back lose nothing: what was sent is answered, then new connections are refused', async (t) => {
    const p = await start('--drain-delay', '0');
    const answered = Array.from({ length: 8 }, () => 0);
    let signalled = false;
    const afterSignal = Array.from({ length: 8 }, () => 0);
    const lost: string[] = [];
    const client = async (k: number) => {
      const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        for (let i = 0; ; i++) {
          const uid = `c${k}-${i}`;
          const body = JSON.stringify(sidecarReview(sidecar(`ns-${k}`, 'x', { selector: { app: uid } }), { uid }));
          const res = await httpsRequest(p.port, {
            path: '/validate?timeout=10s',
            body,
            caPem,
            agent,
            timeoutMs: 10_000,
          });
          if (res.status === 200 && JSON.parse(res.body!).response.uid === uid) {
            answered[k]!++;
            if (signalled) afterSignal[k]!++;
            continue;
          }
          // Refused: a new connection once the listener closed, nothing sent. Anything else is a request lost.
          if (res.error !== 'ECONNREFUSED') lost.push(`${uid}: ${res.status ?? res.error}`);
          return;
        }
      } finally {
        agent.destroy();
      }
    };
    const clients = Array.from({ length: 8 }, (_, k) => client(k));
    await waitFor(
      'every client to be under way on its kept-alive connection',
      () => answered.every((n) => n >= 20),
      60_000,
    );
    p.child.kill('SIGTERM');
    signalled = true;
    await Promise.all(clients);
    const exit = await p.exited;
    t.diagnostic(
      `answered per client: ${answered.join(', ')}; after SIGTERM: ${afterSignal.join(', ')}; lost: ${lost.length}`,
    );
    assert.deepEqual(lost, []);
    assert.deepEqual(exit, { code: 0, signal: null });
  });
});

interface Endpoint {
  name: string;
  port: number;
  ready: boolean;
  agent: https.Agent;
  served: number;
}

/**
 * What kube-apiserver sees through a Service: endpoints that are ready per
 * /readyz, connections balanced round-robin and kept alive, and a retry on
 * a refused or reset connection or a 503 + Retry-After.
 */
class RoundRobinClient {
  private next = 0;
  private stopped = false;
  readonly stats = { answered: 0, failed: 0, retries: { refused: 0, unavailable: 0 }, failures: [] as string[] };
  private readonly controller: Promise<void>;

  constructor(readonly endpoints: Endpoint[]) {
    this.controller = this.watchReadiness();
  }

  /** The endpoints controller: polls readiness, drops endpoints that refuse. */
  private async watchReadiness(): Promise<void> {
    while (!this.stopped) {
      await Promise.all(
        this.endpoints.map(async (e) => {
          e.ready = (await get(e.port, '/readyz')).status === 200;
        }),
      );
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private pick(): Endpoint | undefined {
    const ready = this.endpoints.filter((e) => e.ready);
    if (ready.length === 0) return undefined;
    return ready[this.next++ % ready.length];
  }

  async review(i: number): Promise<void> {
    const uid = `rolling-${i}`;
    const body = JSON.stringify(sidecarReview(sidecar(`ns-${i}`, 'x', { selector: { app: 'a' } }), { uid }));
    for (let attempt = 0; attempt < 50; attempt++) {
      const e = this.pick();
      if (!e) {
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      const res = await httpsRequest(e.port, {
        path: '/validate?timeout=10s',
        body,
        caPem,
        agent: e.agent,
        timeoutMs: 10_000,
      });
      if (res.status === 200) {
        const response = JSON.parse(res.body!).response as { uid: string; allowed: unknown };
        if (response.uid === uid && typeof response.allowed === 'boolean') {
          this.stats.answered++;
          e.served++;
          return;
        }
        break;
      }
      // Refused: nothing was sent, the endpoint is gone. 503 + Retry-After: refused before deciding.
      // Anything else (a reset mid-request, a 503 without Retry-After, a 5xx) is a failed call.
      if (res.error === 'ECONNREFUSED') {
        e.ready = false;
        this.stats.retries.refused++;
      } else if (res.status === 503 && res.headers?.['retry-after']) this.stats.retries.unavailable++;
      else {
        this.stats.failures.push(`${uid}: ${res.status ?? res.error} ${res.body ?? ''}`.slice(0, 200));
        break;
      }
    }
    this.stats.failed++;
  }

  stop(): Promise<void> {
    this.stopped = true;
    return this.controller;
  }
}

describe('rolling restart of one of two instances under load', { timeout: 180_000 }, () => {
  test('zero failed requests', async (t) => {
    const flags = ['--drain-delay', '800'];
    const [a, b] = await Promise.all([start(...flags), start(...flags)]);
    const endpoint = (name: string, port: number): Endpoint => ({
      name,
      port,
      ready: false,
      agent: new https.Agent({ keepAlive: true, maxSockets: 4 }),
      served: 0,
    });
    const original = endpoint('a', a.port);
    const endpoints = [original, endpoint('b', b.port)];
    const client = new RoundRobinClient(endpoints);
    let i = 0;
    let loadOn = true;
    const worker = async () => {
      while (loadOn) await client.review(i++);
    };
    await waitFor('both endpoints ready', () => endpoints.every((e) => e.ready));
    const workers = Array.from({ length: 4 }, worker);

    await waitFor('load on both', () => endpoints.every((e) => e.served >= 100), 60_000);
    a.child.kill('SIGTERM');
    const exitA = await a.exited;
    const restarted = await start(...flags);
    // The new pod has a new address; the old endpoint is replaced, unready until its /readyz says so.
    const replacement = endpoint('a2', restarted.port);
    endpoints.splice(0, 1, replacement);
    await waitFor('the restarted instance to take load', () => replacement.served >= 100, 60_000);

    loadOn = false;
    await Promise.all(workers);
    await client.stop();
    for (const e of [...endpoints, original]) e.agent.destroy();
    for (const p of [b, restarted]) p.child.kill('SIGTERM');
    const exits = await Promise.all([b.exited, restarted.exited]);

    const { answered, failed, retries, failures } = client.stats;
    t.diagnostic(
      `rolling restart: ${answered} reviews answered, ${failed} failed; retries: ${retries.refused} refused, ${retries.unavailable} 503; served by a before its restart ${original.served}, by b ${endpoints[1]!.served}, by the restarted a ${replacement.served}`,
    );
    assert.deepEqual(failures, []);
    assert.equal(failed, 0);
    assert.deepEqual(exitA, { code: 0, signal: null });
    for (const e of exits) assert.deepEqual(e, { code: 0, signal: null });
  });
});

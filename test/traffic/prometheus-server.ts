// A real Prometheus for the traffic tests: Debian's prometheus package
// (prometheus and promtool; scripts/ensure-prometheus.sh installs it when
// missing), on loopback with a temporary data directory. Series are loaded by
// backfilling (`promtool tsdb create-blocks-from openmetrics`) before the
// server starts, and the tests query it through its HTTP API as a cluster's
// Prometheus would be queried. Readiness is /-/ready, polled with waitFor.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from '../helpers/wait.js';

const PROMETHEUS = process.env.PROMETHEUS ?? 'prometheus';
const PROMTOOL = process.env.PROMTOOL ?? 'promtool';

export interface TestPrometheus {
  url: string;
  /** Drops series through the admin API (the server runs with --web.enable-admin-api). */
  deleteSeries(match: string): Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Starts Prometheus; with `openMetrics`, backfilled first (waiting on promtool, an external process, until it exits). */
export async function startPrometheus(options: { openMetrics?: string } = {}): Promise<TestPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'sg-prometheus-'));
  const data = join(dir, 'data');
  if (options.openMetrics !== undefined) {
    const input = join(dir, 'series.om');
    writeFileSync(input, options.openMetrics);
    try {
      await promisify(execFile)(PROMTOOL, [
        'tsdb',
        'create-blocks-from',
        'openmetrics',
        '--quiet',
        '--max-block-duration=720h',
        input,
        data,
      ]);
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(
        `promtool could not backfill (${PROMTOOL}; scripts/ensure-prometheus.sh installs it): ${(err as Error).message}`,
      );
    }
  }
  const config = join(dir, 'prometheus.yml');
  writeFileSync(config, 'global:\n  scrape_interval: 1h\n');
  let child: ChildProcess | undefined;
  let output = '';
  let url = '';
  // A port found free can be taken before Prometheus binds it: try again with another.
  for (let attempt = 0; attempt < 3 && !url; attempt++) {
    const port = await freePort();
    const args = [
      `--config.file=${config}`,
      `--storage.tsdb.path=${data}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-admin-api',
      '--storage.tsdb.retention.time=60d',
      '--log.level=warn',
    ];
    const started = spawn(PROMETHEUS, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    started.stdout!.on('data', (d) => (output += d));
    started.stderr!.on('data', (d) => (output += d));
    const spawnError = new Promise<Error>((resolve) => started.once('error', resolve));
    let failed: Error | undefined;
    void spawnError.then((e) => (failed = e));
    const candidate = `http://127.0.0.1:${port}`;
    await waitFor(
      `Prometheus ready at ${candidate}/-/ready`,
      async () => failed !== undefined || started.exitCode !== null || (await ready(candidate)),
      30_000,
      50,
    );
    if (failed) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(
        `cannot start ${PROMETHEUS} (scripts/ensure-prometheus.sh installs Debian's prometheus package): ${failed.message}`,
      );
    }
    if (started.exitCode === null) {
      child = started;
      url = candidate;
    }
  }
  if (!child) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`Prometheus did not start: ${output}`);
  }
  const running = child;
  return {
    url,
    async deleteSeries(match) {
      const res = await fetch(`${url}/api/v1/admin/tsdb/delete_series?${new URLSearchParams({ 'match[]': match })}`, {
        method: 'POST',
      });
      if (res.status !== 204) throw new Error(`delete_series ${match}: HTTP ${res.status} ${await res.text()}`);
    },
    async stop() {
      if (running.exitCode === null) {
        const exited = new Promise((resolve) => running.once('exit', resolve));
        running.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function ready(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/-/ready`)).ok;
  } catch {
    return false;
  }
}

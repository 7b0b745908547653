// Cold start: `sidecar-guard serve --standalone` from spawn to the first 200
// from GET /readyz over verified HTTPS. The certificates exist beforehand,
// so key generation is not timed (a Deployment mounts them from a Secret).
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { REPO_ROOT } from './child.js';
import { DIST_DIR, distIsFresh } from './product.js';

export interface Startup {
  runs: number[];
  /** dist: compiled (what `make bench` runs after building); tsx: sources, when dist/ is missing. */
  mode: 'dist' | 'tsx';
  /** dist/ exists but some source file is newer: run `make build` for numbers that match the sources. */
  stale?: boolean;
}

/** bin/sidecar-guard.js runs dist/cli.js when it exists; BENCH_DIST_DIR runs that build's cli.js directly. */
export const CLI = process.env.BENCH_DIST_DIR ? join(DIST_DIR, 'cli.js') : join(REPO_ROOT, 'bin', 'sidecar-guard.js');

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** Whether this build has the metrics listener, which must not take the default port 9090 here. */
function hasMetricsFlag(): boolean {
  const help = spawnSync(process.execPath, [CLI, 'serve', '--help'], { cwd: REPO_ROOT, encoding: 'utf8' });
  return `${help.stdout}${help.stderr}`.includes('--metrics-listen');
}

function readyz(port: number, ca: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/readyz', ca, agent: false, timeout: 1_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

async function once200(certDir: string, pollMs: number, flags: string[]): Promise<number> {
  const ca = readFileSync(join(certDir, 'ca.crt'), 'utf8');
  const port = await freePort();
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [
      CLI,
      'serve',
      '--standalone',
      '--listen',
      `127.0.0.1:${port}`,
      '--cert-dir',
      certDir,
      '--log-level',
      'warn',
      ...flags,
    ],
    {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  let exited = false;
  child.on('exit', () => (exited = true));
  try {
    for (;;) {
      if (exited) throw new Error(`serve exited before /readyz answered: ${stderr.trim()}`);
      if ((await readyz(port, ca)) === 200) return performance.now() - started;
      if (performance.now() - started > 30_000) throw new Error('serve not ready after 30 s');
      await new Promise((r) => setTimeout(r, pollMs));
    }
  } finally {
    if (!exited) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  }
}

export async function measureStartup(certDir: string, runs: number): Promise<Startup> {
  const results: number[] = [];
  const metrics = hasMetricsFlag();
  for (let i = 0; i < runs; i++) {
    const flags = metrics ? ['--metrics-listen', `127.0.0.1:${await freePort()}`] : [];
    results.push(await once200(certDir, 5, flags));
  }
  const built = existsSync(join(DIST_DIR, 'cli.js'));
  return { runs: results, mode: built ? 'dist' : 'tsx', ...(built && !distIsFresh() ? { stale: true } : {}) };
}

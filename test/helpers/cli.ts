// Runs the CLI: in-process through main() with captured stdio (fast, most
// tests), or as a child process exactly as a user would (spawnCli, through bin/).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/**
 * The installed command: it runs the compiled dist/ (make test builds it first), which starts in
 * a fraction of the time tsx needs, and falls back to the sources through tsx when dist/ is stale.
 */
export const BIN = fileURLToPath(new URL('../../bin/sidecar-guard.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export async function runCli(args: string[], opts: { stdin?: string } = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    stdin: () => opts.stdin ?? '',
  });
  return { code, stdout, stderr };
}

export function spawnCli(
  args: string[],
  opts: { stdin?: string; cwd?: string; env?: NodeJS.ProcessEnv; killAfterMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const argv = [BIN, ...args];
    const child = spawn(process.execPath, argv, {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    // A command expected to exit that keeps running (a server that started) is killed, not waited on for ever.
    const killer =
      opts.killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.stdin ?? '');
  });
}

export const fixture = (rel: string): string => fileURLToPath(new URL(`../fixtures/${rel}`, import.meta.url));

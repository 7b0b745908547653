// Runs the CLI: in-process through main() with captured stdio (fast, most
// tests), or as a child process exactly as a user would (spawnCli).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export async function runCli(args: string[], opts: { stdin?: string } = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    stdin: () => opts.stdin ?? '',
  });
  return { code, stdout, stderr };
}

export function spawnCli(args: string[], opts: { stdin?: string; cwd?: string; env?: NodeJS.ProcessEnv; bin?: boolean } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const argv = opts.bin ? [fileURLToPath(new URL('../../bin/sidecar-guard.js', import.meta.url)), ...args] : ['--import', 'tsx', CLI, ...args];
    const child = spawn(process.execPath, argv, { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.stdin ?? '');
  });
}

export const fixture = (rel: string): string => fileURLToPath(new URL(`../fixtures/${rel}`, import.meta.url));

// Where the e2e environment lives and how to reach it: the test API server
// and the webhook started by `npm run e2e:up`, and the real kubectl.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const E2E_DIR = join(ROOT, '.e2e');
export const STATE_FILE = join(E2E_DIR, 'state.json');
export const KUBECONFIG = join(E2E_DIR, 'kubeconfig');
export const KUBECTL = process.env.KUBECTL ?? '/usr/bin/kubectl';

export interface E2eState {
  apiserver: { pid: number; url: string; log: string };
  webhook: { pid: number; url: string; metricsUrl: string; log: string };
  /** The caBundle sidecar-guard patched into its webhook configurations (PEM). */
  caPem: string;
}

export function readState(): E2eState {
  if (!existsSync(STATE_FILE)) throw new Error(`no e2e environment: run "npm run e2e:up" first (missing ${STATE_FILE})`);
  return JSON.parse(readFileSync(STATE_FILE, 'utf8')) as E2eState;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The real kubectl, with the e2e kubeconfig and a private HOME/cache so nothing of the user's leaks in. */
export function kubectl(args: string[], opts: { stdin?: string } = {}): Promise<KubectlResult> {
  const home = join(E2E_DIR, 'home');
  mkdirSync(home, { recursive: true });
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, KUBECONFIG, KUBECACHEDIR: join(home, 'cache') };
  return new Promise((resolve) => {
    const child = execFile(KUBECTL, args, { env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    child.stdin?.end(opts.stdin ?? '');
  });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

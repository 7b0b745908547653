// Runs the real kubectl against a test API server, asynchronously (the
// server answers from the same process).

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestApiServer } from '../index.js';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Kubectl {
  (args: string[], opts?: { stdin?: string }): Promise<KubectlResult>;
  kubeconfig: string;
  cleanup(): void;
}

export const KUBECTL = process.env.KUBECTL ?? 'kubectl';

/** A kubectl bound to a fresh kubeconfig and a private cache directory (kubectl caches discovery and OpenAPI on disk). */
export function kubectlFor(server: TestApiServer): Kubectl {
  const dir = mkdtempSync(join(tmpdir(), 'test-apiserver-kubectl-'));
  const kubeconfig = join(dir, 'kubeconfig');
  server.writeKubeconfig(kubeconfig);
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    KUBECONFIG: kubeconfig,
    KUBECACHEDIR: join(dir, 'cache'),
  };
  const run = ((args: string[], opts?: { stdin?: string }) =>
    new Promise<KubectlResult>((resolve) => {
      const child = execFile(KUBECTL, args, { env, timeout: 30_000 }, (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : 1
          : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      });
      child.stdin?.end(opts?.stdin ?? '');
    })) as Kubectl;
  run.kubeconfig = kubeconfig;
  run.cleanup = () => rmSync(dir, { recursive: true, force: true });
  return run;
}

// Which cluster a command talks to: --kubeconfig, else $KUBECONFIG,
// ~/.kube/config or the pod's service account. Shared by serve (main.ts) and
// audit / generate (cli.ts), so a missing or broken configuration gets the
// same one line from every command.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { KubeClient } from './cluster/kube.js';
import { DEFAULT_MAX_FILE_BYTES, readManifestFile, UnreadableFile, UsageError } from './sources.js';

/**
 * Without --kubeconfig, client-node falls back to http://localhost:8080 when
 * it finds no configuration, and what follows fails on connection errors (or
 * at once on "HTTP protocol is not allowed"); say at once that there is none.
 */
function anyKubeconfig(): boolean {
  const fromEnv = (process.env.KUBECONFIG ?? '').split(':').filter((p) => p !== '');
  if (fromEnv.some((p) => existsSync(p))) return true;
  if (existsSync(join(homedir(), '.kube', 'config'))) return true;
  return !!process.env.KUBERNETES_SERVICE_HOST && existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token');
}

/**
 * The client for --kubeconfig (or the defaults), or a UsageError: one line
 * naming the problem, then "give --kubeconfig FILE, or <otherwise>".
 * KubeClient is passed in: client-node is loaded only by the commands that need it.
 */
export function loadKubeClient(
  Client: typeof KubeClient,
  kubeconfig: string | undefined,
  otherwise: string,
): KubeClient {
  if (kubeconfig === undefined && !anyKubeconfig()) {
    throw new UsageError(
      `no cluster configuration: no $KUBECONFIG file, no ~/.kube/config and no in-cluster service account; give --kubeconfig FILE, or ${otherwise}`,
    );
  }
  try {
    // Read here, bounded and only if a regular file: client-node would read /dev/zero until memory runs out.
    return Client.load(
      kubeconfig,
      kubeconfig === undefined ? undefined : readManifestFile(kubeconfig, DEFAULT_MAX_FILE_BYTES),
    );
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason =
      err instanceof UnreadableFile
        ? err.reason
        : code === 'ENOENT'
          ? 'no such file or directory'
          : (err as Error).message.split('\n')[0];
    const which = kubeconfig
      ? `--kubeconfig ${kubeconfig}`
      : 'a kubeconfig ($KUBECONFIG, ~/.kube/config) or in-cluster configuration';
    throw new UsageError(`cannot load ${which}: ${reason}; give --kubeconfig FILE, or ${otherwise}`);
  }
}

// Which cluster a command talks to: --kubeconfig, else $KUBECONFIG,
// ~/.kube/config or the pod's service account. Shared by serve (main.ts) and
// audit / generate (cli.ts), so a missing or broken configuration gets the
// same one line from every command.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { KubeClient } from './cluster/kube.js';
import { isRecord } from './util/json.js';
import { unreadableYaml } from './util/yaml.js';
import { DEFAULT_MAX_FILE_BYTES, readManifestFile, UnreadableFile, UsageError } from './sources.js';

/**
 * Without --kubeconfig, client-node falls back to http://localhost:8080 when
 * it finds no configuration, and what follows fails on connection errors (or
 * at once on "HTTP protocol is not allowed"); say at once that there is none.
 */
function anyKubeconfig(): boolean {
  if (kubeconfigList().some((p) => existsSync(p))) return true;
  if (existsSync(homeKubeconfig())) return true;
  return !!process.env.KUBERNETES_SERVICE_HOST && existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token');
}

/** The paths in $KUBECONFIG, a list as client-node (and kubectl) read it. */
const kubeconfigList = (): string[] => (process.env.KUBECONFIG ?? '').split(delimiter).filter((p) => p !== '');
const homeKubeconfig = (): string => join(homedir(), '.kube', 'config');

/**
 * Without --kubeconfig, the files to read and how to name them: those of
 * $KUBECONFIG that exist (kubectl skips a missing one, as after a cluster's
 * deletion; client-node would fail on it), else ~/.kube/config if there; no
 * files means the in-cluster configuration (service account). A $KUBECONFIG
 * none of whose files exists is no configuration, as for kubectl: it does not
 * fall back to ~/.kube/config.
 */
function defaultKubeconfig(otherwise: string): { files: string[]; which: string } {
  const list = kubeconfigList();
  if (list.length > 0) {
    const which = `$KUBECONFIG ${process.env.KUBECONFIG}`;
    const files = list.filter((p) => existsSync(p));
    if (files.length === 0)
      throw new UsageError(`cannot load ${which}: none of its files exists; give --kubeconfig FILE, or ${otherwise}`);
    return { files, which };
  }
  const home = homeKubeconfig();
  if (existsSync(home)) return { files: [home], which: home };
  return { files: [], which: 'the in-cluster configuration (service account)' };
}

/** A certificate bundle is tens of KB; a file a kubeconfig names is refused past this. */
const MAX_REFERENCED_FILE_BYTES = 1024 * 1024;

/** A certificate or key file a kubeconfig names: a regular file, bounded, its field named if it is not. */
function readReferencedFile(path: string, field: string): string {
  try {
    return readManifestFile(path, MAX_REFERENCED_FILE_BYTES);
  } catch (err) {
    // A plain Error: loadKubeClient names the kubeconfig, and this message the field and the file it names.
    const reason = err instanceof UnreadableFile ? err.reason : (err as Error).message;
    throw new Error(`${field} ${path}: ${reason}`);
  }
}

/**
 * client-node reads every user's `token-file` while it loads a kubeconfig,
 * and an auth provider's `tokenFile` at each request, whole: a FIFO there
 * hung `audit`. Each that exists must be a regular file of at most 1 MiB; a
 * missing one is left to client-node, which reports it as before.
 */
function checkTokenFiles(text: string): void {
  // Read as far as client-node (js-yaml) would: a text past util/yaml.ts's limits, or one that is not YAML, is
  // left to it to refuse; uniqueKeys off, as the library's check is quadratic in a mapping's size.
  if (unreadableYaml(text)) return;
  let config: unknown;
  try {
    config = parseYaml(text, { uniqueKeys: false });
  } catch {
    return;
  }
  const users = isRecord(config) && Array.isArray(config.users) ? config.users : [];
  for (const entry of users) {
    const user = isRecord(entry) && isRecord(entry.user) ? entry.user : {};
    const provider = isRecord(user['auth-provider']) ? user['auth-provider'] : {};
    const providerConfig = isRecord(provider.config) ? provider.config : {};
    for (const [field, path] of [
      ['token-file', user['token-file']],
      ['auth-provider tokenFile', providerConfig.tokenFile],
    ] as const) {
      if (typeof path === 'string' && path !== '' && existsSync(path)) readReferencedFile(path, field);
    }
  }
}

/**
 * The client for --kubeconfig (or the defaults), or a UsageError: one line
 * naming the problem, then what to give instead, "or <otherwise>".
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
  const { files, which } =
    kubeconfig === undefined
      ? defaultKubeconfig(otherwise)
      : { files: [kubeconfig], which: `--kubeconfig ${kubeconfig}` };
  try {
    if (files.length === 0) return Client.load();
    // Read here, bounded and only if a regular file: client-node would read /dev/zero until memory runs out.
    const texts = files.map((path) => ({ path, text: readManifestFile(path, DEFAULT_MAX_FILE_BYTES) }));
    for (const { text } of texts) checkTokenFiles(text);
    return Client.fromFiles(texts, readReferencedFile);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason =
      err instanceof UnreadableFile
        ? files.length > 1
          ? `${err.path}: ${err.reason}`
          : err.reason
        : code === 'ENOENT'
          ? 'no such file or directory'
          : (err as Error).message.split('\n')[0];
    // With --kubeconfig given, the way out is another file, not the flag it already used.
    const remedy = kubeconfig === undefined ? 'give --kubeconfig FILE' : 'give a working kubeconfig file';
    throw new UsageError(`cannot load ${which}: ${reason}; ${remedy}, or ${otherwise}`);
  }
}

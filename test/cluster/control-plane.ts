// A real control plane on loopback, started the way controller-runtime's
// envtest starts one: etcd, then kube-apiserver with generated serving
// certificates, service-account signing keys, Node+RBAC authorization and the
// default admission plugins. No controller manager and no scheduler run, so
// nothing creates the "default" ServiceAccount of a namespace, finalizes a
// deleted namespace, collects garbage or schedules a pod; tests that need
// one of those do it themselves (see ensureDefaultServiceAccount).
//
// The processes are detached: `npm run e2e:up` starts them and exits, and
// later processes (the tests, `npm run e2e:down`) find them through the
// records returned here (the e2e state file keeps them).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { waitFor } from '../helpers/wait.js';
import { AdminClient } from './admin-client.js';
import { writeClusterPki, type ClusterPki } from './pki.js';

export const CLUSTER_BIN = fileURLToPath(new URL('./bin/', import.meta.url));
export const BUILD_SCRIPT = fileURLToPath(new URL('../../scripts/build-cluster.sh', import.meta.url));

export interface ProcessRecord {
  pid: number;
  command: string;
  args: string[];
  log: string;
  url: string;
}

export interface ControlPlane {
  etcd: ProcessRecord;
  apiserver: ProcessRecord;
  pki: ClusterPki;
  /** cluster-admin (client certificate in system:masters), certificates embedded. */
  kubeconfig: string;
}

/** The range the API server allocates ClusterIPs from (and 10.0.0.1 for the kubernetes Service). */
export const SERVICE_CLUSTER_IP_RANGE = '10.0.0.0/24';

const START_ATTEMPTS = 3;

/** Builds the binaries when missing or stale (a no-op once built), then starts etcd and kube-apiserver. */
export async function startControlPlane(dir: string, log: (line: string) => void = () => {}): Promise<ControlPlane> {
  mkdirSync(dir, { recursive: true });
  const pki = writeClusterPki(join(dir, 'pki'));
  const etcd = await startWithFreePorts(
    'etcd',
    (ports) => etcdProcess(dir, ports),
    (record) => etcdHealthy(record.url),
  );
  log(`etcd ${etcd.url} (pid ${etcd.pid})`);
  const apiserver = await startWithFreePorts(
    'kube-apiserver',
    ([port]) => apiServerProcess(dir, pki, etcd.url, port!),
    (record) => apiServerReady(record.url, pki),
  );
  log(`kube-apiserver ${apiserver.url} (pid ${apiserver.pid})`);
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, adminKubeconfig(apiserver.url, pki), { mode: 0o600 });
  return { etcd, apiserver, pki, kubeconfig };
}

/** Starts a process again with the arguments it was first started with (same ports, same data). */
export async function restart(record: ProcessRecord, ready: () => Promise<boolean>): Promise<ProcessRecord> {
  const child = spawnDetached(record.command, record.args, record.log);
  await readyOrExit(child, ready, `${record.command} (see ${record.log})`);
  child.unref();
  return { ...record, pid: child.pid };
}

/** SIGTERM, then waits for the process to go (a wait on an external process); SIGKILL after timeoutMs. */
export async function stopProcess(pid: number, timeoutMs = 15_000): Promise<'stopped' | 'killed' | 'gone'> {
  if (!isAlive(pid)) return 'gone';
  process.kill(pid, 'SIGTERM');
  try {
    await waitFor(`pid ${pid} to exit`, () => !isAlive(pid), timeoutMs, 50);
    return 'stopped';
  } catch {
    process.kill(pid, 'SIGKILL');
    await waitFor(`pid ${pid} to exit after SIGKILL`, () => !isAlive(pid), timeoutMs, 50);
    return 'killed';
  }
}

/** The process exists and has not exited: a zombie (exited, not yet reaped by whoever inherited it) counts as gone. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) state ...", where comm may hold spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (not Linux): the signal said it exists
  }
}

export function apiServerReady(url: string, pki: ClusterPki): () => Promise<boolean> {
  return async () => {
    const client = new AdminClient(url, pki, 1);
    try {
      const r = await client.request('/readyz', { timeoutMs: 2_000 });
      return r.status === 200;
    } catch {
      return false;
    } finally {
      client.close();
    }
  };
}

function etcdHealthy(url: string): () => Promise<boolean> {
  return async () => {
    try {
      const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) });
      return r.ok && ((await r.json()) as { health?: string }).health === 'true';
    } catch {
      return false;
    }
  };
}

interface Planned {
  command: string;
  args: string[];
  log: string;
  url: string;
}

function etcdProcess(dir: string, [clientPort, peerPort]: number[]): Planned {
  const url = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  return {
    command: join(CLUSTER_BIN, 'etcd'),
    args: [
      '--name=e2e',
      `--data-dir=${join(dir, 'etcd-data')}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=e2e=${peer}`,
      // A throwaway store: losing it in a power cut costs nothing, and fsync on a shared disk costs seconds.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
    log: join(dir, 'etcd.log'),
    url,
  };
}

function apiServerProcess(dir: string, pki: ClusterPki, etcdUrl: string, port: number): Planned {
  const url = `https://127.0.0.1:${port}`;
  return {
    command: join(CLUSTER_BIN, 'kube-apiserver'),
    args: [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${port}`,
      `--cert-dir=${join(dir, 'apiserver-certs')}`,
      `--tls-cert-file=${pki.apiserverCert}`,
      `--tls-private-key-file=${pki.apiserverKey}`,
      `--client-ca-file=${pki.caCert}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.serviceAccountPub}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
      '--authorization-mode=Node,RBAC',
      // The kubernetes Service's Endpoints would point at the advertise address, and loopback is not a valid
      // endpoint (the reconciler would log an error every 10 s); nothing here uses that Service.
      '--endpoint-reconciler-type=none',
      // On SIGTERM: drain the requests in flight, then close the listener within 2 s, cutting open
      // watches (the default waits up to 60 s for them); the restart test stops it this way.
      '--shutdown-send-retry-after=true',
      // Admission plugins: the defaults (no --enable/--disable-admission-plugins).
    ],
    log: join(dir, 'apiserver.log'),
    url,
  };
}

/**
 * Picks free ports (bind to 0, read, close) and starts the process on them;
 * if another process took a port in between, the start fails and is retried
 * with new ports.
 */
async function startWithFreePorts(
  name: string,
  plan: (ports: number[]) => Planned,
  ready: (record: Planned) => () => Promise<boolean>,
): Promise<ProcessRecord> {
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    const planned = plan([await freePort(), await freePort()]);
    if (!existsSync(planned.command)) throw new Error(`${planned.command} is missing: run scripts/build-cluster.sh`);
    const child = spawnDetached(planned.command, planned.args, planned.log);
    try {
      await readyOrExit(child, ready(planned), `${name} (see ${planned.log})`);
      child.unref();
      return { pid: child.pid, ...planned };
    } catch (err) {
      lastError = err as Error;
      if (isAlive(child.pid)) await stopProcess(child.pid);
      if (!/address already in use/.test(tail(planned.log))) break;
    }
  }
  throw lastError ?? new Error(`${name} did not start`);
}

/** A process in its own process group with its output appended to logFile; unref() it once it is up. */
export function spawnDetached(
  command: string,
  args: string[],
  logFile: string,
  cwd?: string,
): ChildProcess & { pid: number } {
  const out = openSync(logFile, 'a');
  const child = spawn(command, args, { detached: true, stdio: ['ignore', out, out], ...(cwd ? { cwd } : {}) });
  if (!child.pid) throw new Error(`could not start ${command}`);
  return child as ChildProcess & { pid: number };
}

/** Polls `ready` (a documented wait on an external process) until it says yes, or fails when the process exits first. */
async function readyOrExit(
  child: ChildProcess,
  ready: () => Promise<boolean>,
  what: string,
  timeoutMs = 90_000,
): Promise<void> {
  let exited: string | undefined;
  const onExit = (code: number | null, signal: string | null) => (exited = `exited (${signal ?? `code ${code}`})`);
  child.once('exit', onExit);
  try {
    await waitFor(
      `${what} to be ready`,
      async () => {
        if (exited) throw new Error(`${what} ${exited}`);
        return ready();
      },
      timeoutMs,
      100,
    );
  } finally {
    child.off('exit', onExit);
  }
}

/** A port free a moment ago: bind 0, read, close. A caller that then loses a race for it retries. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').slice(-4_000);
  } catch {
    return '';
  }
}

/** cluster-admin: the client certificate in system:masters, embedded. */
export function adminKubeconfig(url: string, pki: ClusterPki): string {
  const b64 = (path: string) => readFileSync(path).toString('base64');
  return kubeconfig(url, pki, 'e2e-admin', {
    'client-certificate-data': b64(pki.adminCert),
    'client-key-data': b64(pki.adminKey),
  });
}

/** A kubeconfig for a service account's bearer token (from the TokenRequest API). */
export function tokenKubeconfig(url: string, pki: ClusterPki, user: string, token: string): string {
  return kubeconfig(url, pki, user, { token });
}

function kubeconfig(url: string, pki: ClusterPki, user: string, credentials: Record<string, string>): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'e2e',
        cluster: { server: url, 'certificate-authority-data': readFileSync(pki.caCert).toString('base64') },
      },
    ],
    users: [{ name: user, user: credentials }],
    contexts: [{ name: 'e2e', context: { cluster: 'e2e', user } }],
    'current-context': 'e2e',
  });
}

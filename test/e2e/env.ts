// Where the e2e environment lives and how to reach it: the API server (the
// real kube-apiserver and etcd built from test/cluster/, or with
// --apiserver=test the simulator in test/apiserver/) and the webhook started
// by `npm run e2e:up`, and the kubectl built beside the API server.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AdminClient } from '../cluster/admin-client.js';
import type { ProcessRecord } from '../cluster/control-plane.js';
import type { ClusterPki } from '../cluster/pki.js';
import { type ProcessResult, runProcess } from '../helpers/process.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const E2E_DIR = join(ROOT, '.e2e');
export const STATE_FILE = join(E2E_DIR, 'state.json');
export const KUBECONFIG = join(E2E_DIR, 'kubeconfig');
/** Every webhook replica e2e:up started: [{url, caFile}]. */
export const REPLICAS_FILE = join(E2E_DIR, 'replicas.json');
/** The kubectl of the same release as the API server (test/cluster/bin), unless $KUBECTL names another. */
export const KUBECTL = process.env.KUBECTL ?? join(ROOT, 'test/cluster/bin/kubectl');
// test/manifests/render.ts renders the manifests with $KUBECTL's kustomize: the same binary.
process.env.KUBECTL = KUBECTL;

export const WEBHOOK_NAMESPACE = 'sidecar-guard';
export const DENIED = 'admission webhook "validate.sidecar-guard.io" denied the request: ';

export type ApiServerKind = 'real' | 'test';

export interface E2eState {
  kind: ApiServerKind;
  apiserver: { pid: number; url: string; log: string };
  /** The real control plane's processes (kind "real"): how to restart kube-apiserver, what to stop. */
  control?: { etcd: ProcessRecord; apiserver: ProcessRecord; pki: ClusterPki };
  webhook: { pid: number; url: string; metricsUrl: string; log: string };
  /** Every replica (--replicas N), the first being `webhook`, which the webhook configurations call. */
  replicas?: { pid: number; url: string; metricsUrl: string; log: string }[];
  /** The caBundle sidecar-guard patched into its webhook configurations (PEM). */
  caPem: string;
}

export function readState(): E2eState {
  if (!existsSync(STATE_FILE))
    throw new Error(`no e2e environment: run "npm run e2e:up" first (missing ${STATE_FILE})`);
  return JSON.parse(readFileSync(STATE_FILE, 'utf8')) as E2eState;
}

export function writeState(state: E2eState): void {
  writeFileSync(STATE_FILE, `${JSON.stringify(state, null, 2)}\n`);
}

/** For `test(name, { skip: needsRealApiServer() }, ...)`: the reason to skip when the simulator runs. */
export function needsRealApiServer(): string | false {
  return existsSync(STATE_FILE) && readState().kind !== 'real'
    ? 'needs the real kube-apiserver (e2e:up --apiserver=test runs the simulator)'
    : false;
}

/** Direct HTTPS to the real API server as cluster-admin (kind "real" only). */
export function adminClient(maxSockets?: number): AdminClient {
  const { control, apiserver } = readState();
  if (!control) throw new Error('the direct admin client needs the real kube-apiserver');
  return new AdminClient(apiserver.url, control.pki, maxSockets);
}

export type KubectlResult = ProcessResult;

/** kubectl with the e2e kubeconfig and a private HOME/cache so nothing of the user's leaks in. */
export function kubectl(args: string[], opts: { stdin?: string; kubeconfig?: string } = {}): Promise<KubectlResult> {
  const home = join(E2E_DIR, 'home');
  mkdirSync(home, { recursive: true });
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    KUBECONFIG: opts.kubeconfig ?? KUBECONFIG,
    KUBECACHEDIR: join(home, 'cache'),
  };
  return runProcess(KUBECTL, args, { env, timeout: 60_000, maxBuffer: 64 * 1024 * 1024 }, opts.stdin);
}

/**
 * Creates namespaces (existing ones are fine). On the real API server also
 * their "default" ServiceAccount, which the ServiceAccount admission plugin
 * requires of every pod and which kube-controller-manager would create (it
 * does not run here).
 */
export async function namespaces(...names: string[]): Promise<void> {
  const real = readState().kind === 'real';
  for (const ns of names) {
    const r = await kubectl(['create', 'namespace', ns]);
    if (r.code !== 0 && !/AlreadyExists|already exists/.test(r.stderr))
      throw new Error(`kubectl create namespace ${ns}: ${r.stderr}`);
    if (!real) continue;
    const sa = await kubectl(['create', 'serviceaccount', 'default', '-n', ns]);
    if (sa.code !== 0 && !/AlreadyExists|already exists/.test(sa.stderr))
      throw new Error(`kubectl create serviceaccount default -n ${ns}: ${sa.stderr}`);
  }
}

/**
 * `sidecar-guard serve` out of cluster on loopback, as the e2e runs it: the
 * self-managed TLS Secret with a certificate that also covers 127.0.0.1 (the
 * webhook configurations call a url there), and --fail-closed-when-ready.
 */
export function serveOnLoopback(o: {
  kubeconfig: string;
  port: number;
  metricsPort: number;
  namespace: string;
  tlsSecret: string;
  webhookConfig: string;
  extra?: string[];
}): string[] {
  return [
    'bin/sidecar-guard.js',
    'serve',
    '--kubeconfig',
    o.kubeconfig,
    '--listen',
    `127.0.0.1:${o.port}`,
    '--metrics-listen',
    `127.0.0.1:${o.metricsPort}`,
    '--self-namespace',
    o.namespace,
    '--tls-secret',
    o.tlsSecret,
    '--tls-san',
    '127.0.0.1',
    '--webhook-config',
    o.webhookConfig,
    '--fail-closed-when-ready',
    '--drain-delay',
    '0',
    ...(o.extra ?? []),
  ];
}

/** kubectl that must succeed. */
export async function mustKubectl(args: string[], opts: { stdin?: string } = {}): Promise<KubectlResult> {
  const r = await kubectl(args, opts);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr || r.stdout}`);
  return r;
}

/**
 * A ValidatingWebhookConfiguration with one webhook for Sidecars (all three versions, CREATE and UPDATE unless
 * told), called at `clientConfig` for the objects of one namespace only: the e2e tests' own webhooks beside
 * sidecar-guard's.
 */
export function sidecarWebhookConfiguration(o: {
  name: string;
  webhook: string;
  clientConfig: { url: string; caBundle?: string };
  namespace: string;
  failurePolicy: 'Fail' | 'Ignore';
  timeoutSeconds: number;
  operations?: string[];
}): Record<string, unknown> {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: o.name },
    webhooks: [
      {
        name: o.webhook,
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        clientConfig: o.clientConfig,
        rules: [
          {
            apiGroups: ['networking.istio.io'],
            apiVersions: ['v1', 'v1beta1', 'v1alpha3'],
            resources: ['sidecars'],
            operations: o.operations ?? ['CREATE', 'UPDATE'],
            scope: 'Namespaced',
          },
        ],
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': o.namespace } },
        failurePolicy: o.failurePolicy,
        timeoutSeconds: o.timeoutSeconds,
      },
    ],
  };
}

// The chart as helm renders it: the real helm CLI built from the pinned
// helm.sh/helm/v3 module (scripts/build-helm.sh → test/helm/bin/helm), with its
// config, cache and data directories in a throwaway HOME so that nothing on
// the machine (repositories, plugins) takes part.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocuments, type K8sObject } from '../manifests/render.js';

export const CHART = fileURLToPath(new URL('../../charts/sidecar-guard/', import.meta.url));
export const HELM = process.env.HELM ?? fileURLToPath(new URL('bin/helm', import.meta.url));
/** The ServiceMonitor CRD controller-gen generated from prometheus-operator's API types (scripts/build-helm.sh). */
export const SERVICEMONITOR_CRD = fileURLToPath(
  new URL('bin/crds/monitoring.coreos.com_servicemonitors.yaml', import.meta.url),
);

const home = mkdtempSync(join(tmpdir(), 'sidecar-guard-helm-'));
const ENV = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: home,
  HELM_CACHE_HOME: join(home, 'cache'),
  HELM_CONFIG_HOME: join(home, 'config'),
  HELM_DATA_HOME: join(home, 'data'),
};

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** helm with these args; `kubeconfig` for the commands that talk to a cluster (install, upgrade, uninstall). */
export function helm(args: string[], opts: { kubeconfig?: string } = {}): HelmResult {
  const env = opts.kubeconfig ? { ...ENV, KUBECONFIG: opts.kubeconfig } : ENV;
  const r = spawnSync(HELM, args, { env, encoding: 'utf8', timeout: 120_000 });
  if (r.error) throw new Error(`cannot run ${HELM} (make helm-tools builds it): ${r.error.message}`);
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

export interface RenderOptions {
  release?: string;
  namespace?: string;
}

let valuesFiles = 0;
/** `--values FILE` arguments for a values object (JSON is YAML), as a user's values file. */
export function valuesArgs(values: object | undefined): string[] {
  if (values === undefined) return [];
  const file = join(home, `values-${++valuesFiles}.yaml`);
  writeFileSync(file, JSON.stringify(values, null, 2));
  return ['--values', file];
}

/** `helm template`, as the raw result (for the failures). */
export function template(values?: object, opts: RenderOptions = {}): HelmResult {
  return helm([
    'template',
    opts.release ?? 'sidecar-guard',
    CHART,
    '--namespace',
    opts.namespace ?? 'sidecar-guard',
    ...valuesArgs(values),
  ]);
}

/** `helm template` → the objects; throws with helm's message when it fails. */
export function render(values?: object, opts: RenderOptions = {}): K8sObject[] {
  const r = template(values, opts);
  if (r.code !== 0) throw new Error(`helm template failed (${r.code}): ${r.stderr}`);
  return parseDocuments(r.stdout).filter((o) => o !== null);
}

/** `helm lint --strict` (warnings fail too), as the raw result. */
export function lint(values?: object, opts: RenderOptions = {}): HelmResult {
  return helm(['lint', '--strict', CHART, '--namespace', opts.namespace ?? 'sidecar-guard', ...valuesArgs(values)]);
}

/**
 * The one normalisation between a render and `kubectl kustomize manifests`:
 * Helm's standard labels, which the chart adds to every object's own
 * metadata.labels (never to selectors or the pod template), are removed.
 */
export const HELM_LABELS = [
  'helm.sh/chart',
  'app.kubernetes.io/instance',
  'app.kubernetes.io/version',
  'app.kubernetes.io/managed-by',
];
export function withoutHelmLabels(objects: K8sObject[]): K8sObject[] {
  return objects.map((o) => {
    const copy = structuredClone(o);
    for (const label of HELM_LABELS) delete copy.metadata.labels?.[label];
    return copy;
  });
}

/** Objects keyed "Kind namespace/name", for comparing two renders whatever their order. */
export function byKey(objects: K8sObject[]): Map<string, K8sObject> {
  return new Map(objects.map((o) => [`${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`, o]));
}

/** Every value away from its default at once (chart.test.ts, and the e2e dry run in test/e2e/70-helm.test.ts). */
export const EVERYTHING = {
  image: { repository: 'registry.example.com/platform/sidecar-guard', tag: '0.1.0-rc1', pullPolicy: 'Always' },
  imagePullSecrets: [{ name: 'registry-pull' }],
  replicas: 3,
  webhook: { failurePolicy: 'Fail', timeoutSeconds: 10, excludeNamespaces: ['kube-system', 'legacy'] },
  overlap: 'pods',
  unknownHosts: 'deny',
  rootNamespace: 'mesh-root',
  logLevel: 'debug',
  namespaceDefaults: {
    enabled: true,
    mode: 'all',
    optInLabel: 'example.com/default-sidecar',
    excludeNamespaces: ['batch-jobs'],
    template: {
      name: 'mesh-default',
      egressHosts: ['./*', '{root}/*', 'shared/*'],
      outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' },
      clusterDomain: 'corp.local',
    },
    dependencies: {
      services: { 'shop/cart': { calls: ['shop/payments', 'billing/*'], external: ['api.stripe.com'] } },
    },
  },
  metrics: {
    enabled: true,
    port: 9102,
    serviceMonitor: { enabled: true, labels: { release: 'kube-prometheus' }, interval: '15s', scrapeTimeout: '5s' },
  },
  podDisruptionBudget: { enabled: true, minAvailable: 2 },
  networkPolicy: {
    enabled: true,
    metricsFrom: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }],
  },
  resources: { requests: { cpu: '200m', memory: '256Mi' }, limits: { cpu: '2', memory: '1Gi' } },
  extraArgs: ['--max-inflight=64', '--reservation-ttl=60000'],
  podAnnotations: { 'example.com/team': 'platform' },
  podLabels: { 'example.com/cost-center': 'mesh' },
  nodeSelector: { 'kubernetes.io/os': 'linux' },
  tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'infra', effect: 'NoSchedule' }],
  affinity: {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchExpressions: [{ key: 'node-role.kubernetes.io/infra', operator: 'Exists' }] }],
      },
    },
  },
  priorityClassName: 'system-cluster-critical',
  namespace: { create: true },
};

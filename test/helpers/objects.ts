// Builders for the Kubernetes objects tests feed to the rules and the view.
export type Labels = Record<string, string>;

export interface SidecarOpts {
  /** undefined: no workloadSelector; {}: an empty selector. */
  selector?: Labels;
  labels?: Labels;
  annotations?: Labels;
  spec?: Record<string, unknown>;
  apiVersion?: string;
}

export function sidecar(namespace: string, name: string, opts: SidecarOpts = {}): Record<string, unknown> {
  const spec: Record<string, unknown> = { egress: [{ hosts: ['./*', 'istio-system/*'] }], ...(opts.spec ?? {}) };
  if (opts.selector !== undefined) spec.workloadSelector = { labels: opts.selector };
  const metadata: Record<string, unknown> = { name, namespace };
  if (opts.labels) metadata.labels = opts.labels;
  if (opts.annotations) metadata.annotations = opts.annotations;
  return { apiVersion: opts.apiVersion ?? 'networking.istio.io/v1', kind: 'Sidecar', metadata, spec };
}

export function pod(
  namespace: string,
  name: string,
  labels: Labels = {},
  annotations?: Labels,
): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels, ...(annotations ? { annotations } : {}) },
  };
}

export function namespace(name: string, labels: Labels = {}): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels } },
  };
}

export interface WorkloadOpts {
  /** spec.replicas (Deployments, StatefulSets, ReplicaSets); omitted when undefined. */
  replicas?: number;
  /** Set metadata.ownerReferences to a controlling owner of this kind (a Deployment's ReplicaSet, a CronJob's Job). */
  ownedBy?: string;
}

const WORKLOAD_API: Record<string, string> = {
  Deployment: 'apps/v1',
  StatefulSet: 'apps/v1',
  DaemonSet: 'apps/v1',
  ReplicaSet: 'apps/v1',
  Job: 'batch/v1',
  CronJob: 'batch/v1',
};

/** A workload whose pod template carries `labels` (a CronJob's sits under jobTemplate). */
export function workload(
  kind: keyof typeof WORKLOAD_API,
  namespace: string,
  name: string,
  labels: Labels,
  opts: WorkloadOpts = {},
): Record<string, unknown> {
  const template = { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'example.com/app:1' }] } };
  const spec: Record<string, unknown> =
    kind === 'CronJob'
      ? { schedule: '0 * * * *', jobTemplate: { spec: { template } } }
      : { selector: { matchLabels: labels }, template };
  if (opts.replicas !== undefined) spec.replicas = opts.replicas;
  const metadata: Record<string, unknown> = { name, namespace };
  if (opts.ownedBy)
    metadata.ownerReferences = [
      {
        apiVersion: WORKLOAD_API[opts.ownedBy] ?? 'apps/v1',
        kind: opts.ownedBy,
        name: `${name}-owner`,
        uid: 'u1',
        controller: true,
      },
    ];
  return { apiVersion: WORKLOAD_API[kind], kind, metadata, spec };
}

export const deployment = (namespace: string, name: string, labels: Labels, replicas?: number) =>
  workload('Deployment', namespace, name, labels, replicas === undefined ? {} : { replicas });

export function service(namespace: string, name: string, annotations?: Labels): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, ...(annotations ? { annotations } : {}) },
    spec: { selector: { app: name }, ports: [{ name: 'http', port: 80 }] },
  };
}

export function serviceEntry(
  namespace: string,
  name: string,
  hosts: string[],
  exportTo?: string[],
): Record<string, unknown> {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'ServiceEntry',
    metadata: { name, namespace },
    spec: {
      hosts,
      ports: [{ number: 443, name: 'https', protocol: 'TLS' }],
      resolution: 'DNS',
      location: 'MESH_EXTERNAL',
      ...(exportTo ? { exportTo } : {}),
    },
  };
}

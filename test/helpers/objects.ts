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

export function pod(namespace: string, name: string, labels: Labels = {}, annotations?: Labels): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels, ...(annotations ? { annotations } : {}) } };
}

export function namespace(name: string, labels: Labels = {}): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels } } };
}

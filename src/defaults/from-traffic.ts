// Namespace defaults (or one Sidecar per workload) from observed traffic:
// the template's hosts, the dependency map's, and one egress host per
// destination the namespace's (or workload's) proxies called in the window.
// Pure: the traffic comes from the Prometheus client, the cluster objects
// from the CLI.
import { ALWAYS_EXCLUDED } from './controller.js';
import type { ClusterStore } from '../cluster/store.js';
import type { Labels } from '../sidecar/selectors.js';
import { MESH_WORKLOAD_KINDS } from '../sidecar/view.js';
import { edgesByNamespace, hostsFor, type Edge, type Traffic, type Workload } from '../traffic/edges.js';
import {
  dependencyHosts,
  generateDefault,
  normaliseHosts,
  TEMPLATE_HASH_ANNOTATION,
  templateHash,
  templateHosts,
  type DefaultsConfig,
  type GeneratedSidecar,
} from './generate.js';

export interface FromTrafficOptions {
  /** A destination namespace with more distinct hosts than this becomes `ns/*` (0: never). */
  collapseThreshold: number;
}

/** Namespaces a traffic-derived default is never generated for: the system ones and the root namespace (its default is the mesh's). */
export function generatedNamespaces(candidates: Iterable<string>, rootNamespace: string): string[] {
  const excluded = new Set([...ALWAYS_EXCLUDED, rootNamespace]);
  return [...new Set(candidates)].filter((ns) => !excluded.has(ns)).sort();
}

/** The namespaces calls came from. */
export function callingNamespaces(traffic: Traffic): string[] {
  return [...edgesByNamespace(traffic.edges).keys()];
}

/** One namespace default per namespace: the template, the dependency map and every destination its workloads called. */
export function namespaceDefaultsFromTraffic(
  traffic: Traffic,
  namespaces: readonly string[],
  config: DefaultsConfig,
  options: FromTrafficOptions,
): GeneratedSidecar[] {
  const byNamespace = edgesByNamespace(traffic.edges);
  return namespaces.map((ns) =>
    generateDefault(ns, config, hostsFor(byNamespace.get(ns) ?? [], options.collapseThreshold)),
  );
}

export interface WorkloadSidecars {
  sidecars: GeneratedSidecar[];
  /** Calling workloads whose pod labels the cluster objects do not show: no selector can be written for them. */
  unknown: Workload[];
}

/**
 * One Sidecar per calling workload, selecting its pods by its pod template's
 * labels (or a bare pod's), named after the workload: the template, what the
 * dependency map says the service of that name calls, and what the workload
 * called.
 */
export function workloadSidecarsFromTraffic(
  traffic: Traffic,
  namespaces: readonly string[],
  store: ClusterStore,
  config: DefaultsConfig,
  options: FromTrafficOptions,
): WorkloadSidecars {
  const wanted = new Set(namespaces);
  const byWorkload = new Map<string, Edge[]>();
  for (const e of traffic.edges) {
    if (!wanted.has(e.source.namespace)) continue;
    const key = `${e.source.namespace}/${e.source.workload}`;
    byWorkload.set(key, [...(byWorkload.get(key) ?? []), e]);
  }
  const sidecars: GeneratedSidecar[] = [];
  const unknown: Workload[] = [];
  for (const [, edges] of [...byWorkload].sort(([a], [b]) => a.localeCompare(b))) {
    const source = edges[0]!.source;
    const labels = workloadLabels(store, source);
    if (!labels) {
      unknown.push(source);
      continue;
    }
    const hosts = normaliseHosts(source.namespace, [
      ...templateHosts(config),
      ...dependencyHosts(source.namespace, config, source.workload),
      ...hostsFor(edges, options.collapseThreshold),
    ]);
    sidecars.push(workloadSidecar(source, labels, hosts, config));
  }
  return { sidecars, unknown };
}

/**
 * The labels of a workload's pods, as Istio names workloads in its metrics
 * (source_workload): a Deployment, StatefulSet, DaemonSet, CronJob, a Job or
 * ReplicaSet no controller owns, else a bare pod of that name.
 */
export function workloadLabels(store: ClusterStore, { namespace, workload }: Workload): Labels | undefined {
  // A Deployment and a WorkloadEntry of one name (a VM migration): the pod template names the pods.
  const named = store.workloads(namespace).filter((w) => w.name === workload);
  const template = named.find((w) => !MESH_WORKLOAD_KINDS.has(w.kind)) ?? named[0];
  if (template) return Object.keys(template.labels).length > 0 ? template.labels : undefined;
  const pod = store.pods(namespace).find((p) => p.name === workload);
  return pod && Object.keys(pod.labels).length > 0 ? pod.labels : undefined;
}

function workloadSidecar(source: Workload, labels: Labels, hosts: string[], config: DefaultsConfig): GeneratedSidecar {
  const sorted: Record<string, string> = {};
  for (const k of Object.keys(labels).sort()) sorted[k] = labels[k]!;
  const spec: GeneratedSidecar['spec'] = { workloadSelector: { labels: sorted }, egress: [{ hosts }] };
  if (config.template.outboundTrafficPolicy)
    spec.outboundTrafficPolicy = { mode: config.template.outboundTrafficPolicy.mode };
  return {
    apiVersion: config.template.apiVersion,
    kind: 'Sidecar',
    metadata: {
      name: source.workload,
      namespace: source.namespace,
      annotations: { [TEMPLATE_HASH_ANNOTATION]: templateHash(spec) },
    },
    spec,
  };
}

// The read-only port the cross-object rules depend on. Rules never talk to the
// API server: the informer adapter, the standalone --state loader and tests
// all fill a ClusterStore, and rules read it through this interface.
import type { Labels, SelectorPairs } from './selectors.js';

export interface SidecarInfo {
  readonly namespace: string;
  readonly name: string;
  readonly uid?: string;
  readonly creationTimestamp?: string;
  /** The stored version, so a pending UPDATE can tell when the view has moved past the version it replaced. */
  readonly resourceVersion?: string;
  /** null for a namespace-wide Sidecar (no selector labels). */
  readonly selector: Labels | null;
  /** The same selector as key-sorted pairs, for allocation-free comparisons; null when namespace-wide. */
  readonly selectorPairs: SelectorPairs | null;
  /**
   * Whether spec.workloadSelector is set at all. istiod sorts `{}` (or
   * `{labels: {}}`) with the selector Sidecars, where it matches every pod,
   * and never makes it the namespace or mesh default.
   */
  readonly selectorPresent: boolean;
  /**
   * The egress hosts of a Sidecar without a workloadSelector field (a
   * namespace or mesh default), all listeners together; null when it has no
   * egress listener (istiod then imports every host). Absent for the others: the
   * rules only ask what a default restricts.
   */
  readonly egressHosts?: readonly string[] | null;
  /**
   * The outbound mode such a default sets (outboundTrafficPolicy without a
   * mode is REGISTRY_ONLY); null when it has no outboundTrafficPolicy (istiod
   * then uses the mesh's). Absent for the others, and when not known (a claim).
   */
  readonly outboundMode?: string | null;
  readonly labels: Labels;
  readonly annotations: Labels;
  /** Being deleted (metadata.deletionTimestamp): istiod still uses it until its finalizers let it go. */
  readonly deleting?: true;
}

export interface PodInfo {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Labels;
  /** Annotated ambient.istio.io/redirection=enabled (set by Istio's CNI): no sidecar, Sidecars do not apply. */
  readonly ambient: boolean;
  /** Injected with the gateway template (gateways.ts): a router, to which istiod applies no Sidecar. Absent otherwise. */
  readonly gateway?: true;
  /**
   * The istio.io/rev annotation the injector writes: the revision of the
   * istiod that injected the proxy, which serves it its configuration.
   * Absent on a pod without one (not injected, or injected by hand).
   */
  readonly revision?: string;
}

/** Which pods a lookup returns: all, those not in ambient mode (the ones a Sidecar applies to), or the ambient ones. */
export type PodFilter = 'all' | 'sidecar' | 'ambient';

export const WORKLOAD_KINDS = [
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'ReplicaSet',
  'Job',
  'CronJob',
  'WorkloadEntry',
  'WorkloadGroup',
] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];
/** Istio's own workload kinds (VMs and other non-Kubernetes workloads): their proxies take Sidecars by these labels. */
export const MESH_WORKLOAD_KINDS: ReadonlySet<WorkloadKind> = new Set(['WorkloadEntry', 'WorkloadGroup']);

/**
 * A pod template that will (again) make pods: a Deployment, StatefulSet or
 * DaemonSet, a ReplicaSet or Job that no controller owns, a CronJob; or a
 * workload outside Kubernetes: a WorkloadEntry (spec.labels; one a
 * WorkloadGroup registered too, as a running VM), a WorkloadGroup
 * (spec.metadata.labels, the template of the entries it registers). Only
 * the template's labels and the replica count are kept.
 */
export interface WorkloadInfo {
  readonly kind: WorkloadKind;
  readonly namespace: string;
  readonly name: string;
  /** spec.template.metadata.labels (for a CronJob, spec.jobTemplate.spec.template.metadata.labels). */
  readonly labels: Labels;
  /** spec.replicas of a Deployment, StatefulSet or ReplicaSet (1 when unset); undefined for the other kinds. */
  readonly replicas?: number;
  /** The template asks for the gateway injection template (gateways.ts); absent otherwise. */
  readonly gateway?: true;
}

/** A Kubernetes Service, by name only (its hostname is name.namespace.svc.<cluster domain>). */
export interface ServiceInfo {
  readonly namespace: string;
  readonly name: string;
  /** The networking.istio.io/exportTo annotation, split; undefined when absent (visible everywhere). */
  readonly exportTo?: readonly string[];
  /** spec.ports[].port numbers (none for a Service without ports); undefined when the object carried no spec. */
  readonly ports?: readonly number[];
}

export interface ServiceEntryInfo {
  readonly namespace: string;
  readonly name: string;
  readonly hosts: readonly string[];
  /** spec.exportTo; undefined when absent (visible everywhere, Istio's default). */
  readonly exportTo?: readonly string[];
  /** spec.ports[].number (none for a ServiceEntry without ports); undefined when the object carried no spec. */
  readonly ports?: readonly number[];
}

export interface NamespaceInfo {
  readonly name: string;
  readonly labels: Labels;
  /** metadata.deletionTimestamp is set: the API server refuses new objects in it. Absent otherwise. */
  readonly terminating?: true;
}

export interface ClusterView {
  sidecar(namespace: string, name: string): SidecarInfo | undefined;
  /** Every Sidecar of a namespace. */
  sidecars(namespace: string): readonly SidecarInfo[];
  /**
   * Calls `visit` with every Sidecar of a namespace whose workloadSelector is
   * compatible with `pairs` (no key on which the two require different
   * values), in sidecars()' order, and perhaps with others, namespace-wide
   * ones included: the overlap rule's candidates, which it filters and
   * compares in full. A view answers from an index where
   * it has one, so a namespace of 1,000 Sidecars is not visited whole; one
   * that lays Sidecars from elsewhere beside the stored ones (pending
   * admissions) visits those too, without building the list of both.
   */
  forEachSidecarCompatibleWith(namespace: string, pairs: SelectorPairs, visit: (s: SidecarInfo) => void): void;
  /** Namespace-wide (selector-less) Sidecars of a namespace: an index, not a scan. */
  namespaceWide(namespace: string): readonly SidecarInfo[];
  /** Pods of a namespace carrying every label of the selector, at most `limit` of them. */
  podsMatching(namespace: string, selector: Labels, limit: number, filter?: PodFilter): readonly PodInfo[];
  /** Whether some pod of a namespace carries every label of the selector: podsMatching's question when one pod answers it, asked without collecting. */
  hasPodMatching(namespace: string, selector: Labels, filter?: PodFilter): boolean;
  /** Whether pods are known at all (offline checks may have none), so "matches no pod" means something. */
  knowsPods(): boolean;
  /** Workloads of a namespace whose pod template carries every label of the selector, at most `limit`. */
  workloadsMatching(namespace: string, selector: Labels, limit: number): readonly WorkloadInfo[];
  /** Whether some workload's pod template carries every label of the selector, asked without collecting. */
  hasWorkloadMatching(namespace: string, selector: Labels): boolean;
  /** Whether workloads are known at all. */
  knowsWorkloads(): boolean;
  /** Whether a pod or pod template of a namespace injected as a gateway (PodInfo.gateway) carries the selector's labels: a look at the few gateways only. */
  hasGatewayMatching(namespace: string, selector: Labels): boolean;
  /**
   * False only when nothing in the namespace can run without a sidecar proxy:
   * no gateway pod or template, none labelled sidecar.istio.io/inject=false,
   * and the namespace not in ambient mode. selector.no-proxy asks it first:
   * a store answers from two small per-store tables, without reading the
   * namespace's pods, templates or Namespace (cold memory on nearly every
   * decision).
   */
  mayRunWithoutProxy(namespace: string): boolean;
  service(namespace: string, name: string): ServiceInfo | undefined;
  /** service(namespace, name) !== undefined, without building the record. */
  hasService(namespace: string, name: string): boolean;
  /**
   * The Service's exportTo without building its record: null when it has none
   * (exported everywhere), undefined when the namespace has no Service of that
   * name. One lookup tells whether it exists and who sees it.
   */
  serviceExportTo(namespace: string, name: string): readonly string[] | null | undefined;
  services(namespace: string): readonly ServiceInfo[];
  /** The Service's port numbers; undefined when there is no such Service or its ports are not known. */
  servicePorts(namespace: string, name: string): readonly number[] | undefined;
  /** ServiceEntries (any namespace) that list exactly this host. */
  serviceEntriesWithHost(host: string): readonly ServiceEntryInfo[];
  serviceEntries(namespace: string): readonly ServiceEntryInfo[];
  /** Whether Services and ServiceEntries are known, so "no such host" means something. */
  knowsRegistry(): boolean;
  namespace(name: string): NamespaceInfo | undefined;
  namespaceNames(): readonly string[];
  /** Whether Namespaces are known, so "no such namespace" means something. */
  knowsNamespaces(): boolean;
  /** A Namespace object exists, or (in manifests) some object lives in it. */
  hasNamespace(name: string): boolean;
}

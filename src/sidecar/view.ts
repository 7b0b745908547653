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
  readonly labels: Labels;
  readonly annotations: Labels;
}

export interface PodInfo {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Labels;
}

export interface NamespaceInfo {
  readonly name: string;
  readonly labels: Labels;
}

export interface ClusterView {
  sidecar(namespace: string, name: string): SidecarInfo | undefined;
  /** Every Sidecar of a namespace. */
  sidecars(namespace: string): readonly SidecarInfo[];
  /** Namespace-wide (selector-less) Sidecars of a namespace: an index, not a scan. */
  namespaceWide(namespace: string): readonly SidecarInfo[];
  /** Pods of a namespace carrying every label of the selector, at most `limit` of them. */
  podsMatching(namespace: string, selector: Labels, limit: number): readonly PodInfo[];
  /** Whether pods are known at all (offline checks may have none), so "matches no pod" means something. */
  knowsPods(): boolean;
  namespace(name: string): NamespaceInfo | undefined;
  namespaceNames(): readonly string[];
}

// Objects this replica has admitted but its informer has not delivered yet.
// Without them, two CREATEs of namespace-wide Sidecars arriving together
// would both be judged against a view that holds neither, and both admitted.
//
// Decisions are synchronous: the event loop runs review() and reserve() for
// one request before it looks at the next, so deciding per namespace is
// already serialised within a replica. Across replicas nothing is: the audit
// command is the backstop for that window.
import type { Labels } from '../sidecar/selectors.js';
import type { ClusterView, NamespaceInfo, PodFilter, PodInfo, ServiceEntryInfo, ServiceInfo, SidecarInfo, WorkloadInfo } from '../sidecar/view.js';

interface Reservation {
  info: SidecarInfo;
  expiresAt: number;
}

export class Reservations {
  private readonly byNs = new Map<string, Map<string, Reservation>>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  reserve(info: SidecarInfo): void {
    let ns = this.byNs.get(info.namespace);
    if (!ns) this.byNs.set(info.namespace, (ns = new Map()));
    ns.set(info.name, { info, expiresAt: this.now() + this.ttlMs });
  }

  /** The informer delivered this object (or its deletion): the view is authoritative again. */
  observed(namespace: string, name: string): void {
    const ns = this.byNs.get(namespace);
    if (ns?.delete(name) && ns.size === 0) this.byNs.delete(namespace);
  }

  size(): number {
    this.prune();
    let n = 0;
    for (const ns of this.byNs.values()) n += ns.size;
    return n;
  }

  /** Reserved Sidecars of a namespace that have not expired. */
  inNamespace(namespace: string): SidecarInfo[] {
    const ns = this.byNs.get(namespace);
    if (!ns) return [];
    const now = this.now();
    const live: SidecarInfo[] = [];
    for (const [name, r] of ns) {
      if (r.expiresAt <= now) ns.delete(name);
      else live.push(r.info);
    }
    if (ns.size === 0) this.byNs.delete(namespace);
    return live;
  }

  prune(): void {
    for (const namespace of [...this.byNs.keys()]) this.inNamespace(namespace);
  }

  /** The base view with this replica's reservations laid over it. */
  overlay(base: ClusterView): ClusterView {
    return new ReservedView(base, this);
  }
}

class ReservedView implements ClusterView {
  constructor(
    private readonly base: ClusterView,
    private readonly reservations: Reservations,
  ) {}

  sidecar(namespace: string, name: string): SidecarInfo | undefined {
    return this.reservations.inNamespace(namespace).find((s) => s.name === name) ?? this.base.sidecar(namespace, name);
  }
  sidecars(namespace: string): readonly SidecarInfo[] {
    return merge(this.base.sidecars(namespace), this.reservations.inNamespace(namespace));
  }
  namespaceWide(namespace: string): readonly SidecarInfo[] {
    const reserved = this.reservations.inNamespace(namespace);
    if (reserved.length === 0) return this.base.namespaceWide(namespace);
    return merge(this.base.sidecars(namespace), reserved).filter((s) => s.selector === null);
  }
  // Everything but Sidecars is read from the base view as it is.
  podsMatching(namespace: string, selector: Labels, limit: number, filter?: PodFilter): readonly PodInfo[] {
    return this.base.podsMatching(namespace, selector, limit, filter);
  }
  knowsPods(): boolean {
    return this.base.knowsPods();
  }
  workloadsMatching(namespace: string, selector: Labels, limit: number): readonly WorkloadInfo[] {
    return this.base.workloadsMatching(namespace, selector, limit);
  }
  knowsWorkloads(): boolean {
    return this.base.knowsWorkloads();
  }
  service(namespace: string, name: string): ServiceInfo | undefined {
    return this.base.service(namespace, name);
  }
  services(namespace: string): readonly ServiceInfo[] {
    return this.base.services(namespace);
  }
  serviceEntriesWithHost(host: string): readonly ServiceEntryInfo[] {
    return this.base.serviceEntriesWithHost(host);
  }
  serviceEntries(namespace: string): readonly ServiceEntryInfo[] {
    return this.base.serviceEntries(namespace);
  }
  knowsRegistry(): boolean {
    return this.base.knowsRegistry();
  }
  namespace(name: string): NamespaceInfo | undefined {
    return this.base.namespace(name);
  }
  namespaceNames(): readonly string[] {
    return this.base.namespaceNames();
  }
  knowsNamespaces(): boolean {
    return this.base.knowsNamespaces();
  }
  hasNamespace(name: string): boolean {
    return this.base.hasNamespace(name);
  }
}

/** Reserved objects replace stored ones of the same name (an admitted UPDATE not yet seen). */
function merge(stored: readonly SidecarInfo[], reserved: readonly SidecarInfo[]): readonly SidecarInfo[] {
  if (reserved.length === 0) return stored;
  const names = new Set(reserved.map((s) => s.name));
  return [...stored.filter((s) => !names.has(s.name)), ...reserved];
}

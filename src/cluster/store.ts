// In-memory ClusterView with the indexes a decision needs: Sidecars by
// namespace, namespace-wide Sidecars by namespace, pods by namespace and by
// label. Filled by the informer adapter, the --state loader, or tests.
import type { Labels } from '../sidecar/selectors.js';
import { namespaceInfoOf, podInfoOf, sidecarInfoOf } from './records.js';
import type { ClusterView, NamespaceInfo, PodInfo, SidecarInfo } from './view.js';

type ByName<T> = Map<string, T>;

/** Sidecars of one namespace, with the read-side arrays cached until the next change. */
class SidecarBucket {
  readonly byName: ByName<SidecarInfo> = new Map();
  private all: SidecarInfo[] | undefined;
  private wide: SidecarInfo[] | undefined;

  set(info: SidecarInfo): void {
    this.byName.set(info.name, info);
    this.all = this.wide = undefined;
  }
  delete(name: string): boolean {
    this.all = this.wide = undefined;
    return this.byName.delete(name);
  }
  list(): readonly SidecarInfo[] {
    return (this.all ??= [...this.byName.values()]);
  }
  namespaceWide(): readonly SidecarInfo[] {
    return (this.wide ??= this.list().filter((s) => s.selector === null));
  }
}

const labelKey = (k: string, v: string): string => `${k}\u0000${v}`;

/** Pods of one namespace with a posting list per label pair. */
class PodBucket {
  readonly byName: ByName<PodInfo> = new Map();
  private readonly byLabel = new Map<string, Set<string>>();

  set(pod: PodInfo): void {
    this.delete(pod.name);
    this.byName.set(pod.name, pod);
    for (const k in pod.labels) {
      const key = labelKey(k, pod.labels[k]!);
      let names = this.byLabel.get(key);
      if (!names) this.byLabel.set(key, (names = new Set()));
      names.add(pod.name);
    }
  }
  delete(name: string): boolean {
    const old = this.byName.get(name);
    if (!old) return false;
    this.byName.delete(name);
    for (const k in old.labels) {
      const key = labelKey(k, old.labels[k]!);
      const names = this.byLabel.get(key);
      names?.delete(name);
      if (names?.size === 0) this.byLabel.delete(key);
    }
    return true;
  }
  matching(selector: Labels, limit: number): PodInfo[] {
    const out: PodInfo[] = [];
    const keys = Object.keys(selector);
    if (keys.length === 0) {
      for (const pod of this.byName.values()) if (out.push(pod) >= limit) break;
      return out;
    }
    // Walk the shortest posting list and check the rest of the selector on each pod.
    let shortest: Set<string> | undefined;
    for (const k of keys) {
      const names = this.byLabel.get(labelKey(k, selector[k]!));
      if (!names) return out;
      if (!shortest || names.size < shortest.size) shortest = names;
    }
    for (const name of shortest!) {
      const pod = this.byName.get(name)!;
      if (keys.every((k) => pod.labels[k] === selector[k]) && out.push(pod) >= limit) break;
    }
    return out;
  }
}

export interface StoreCounts {
  sidecars: number;
  pods: number;
  namespaces: number;
}

export class ClusterStore implements ClusterView {
  private readonly sidecarsByNs = new Map<string, SidecarBucket>();
  private readonly podsByNs = new Map<string, PodBucket>();
  private readonly namespaces = new Map<string, NamespaceInfo>();
  private podsLoaded = false;
  private readonly listeners = new Set<(kind: 'Sidecar' | 'Pod' | 'Namespace', namespace: string, name: string) => void>();

  // ---- reads (ClusterView) ----
  sidecar(namespace: string, name: string): SidecarInfo | undefined {
    return this.sidecarsByNs.get(namespace)?.byName.get(name);
  }
  sidecars(namespace: string): readonly SidecarInfo[] {
    return this.sidecarsByNs.get(namespace)?.list() ?? [];
  }
  namespaceWide(namespace: string): readonly SidecarInfo[] {
    return this.sidecarsByNs.get(namespace)?.namespaceWide() ?? [];
  }
  podsMatching(namespace: string, selector: Labels, limit: number): readonly PodInfo[] {
    return this.podsByNs.get(namespace)?.matching(selector, limit) ?? [];
  }
  knowsPods(): boolean {
    return this.podsLoaded;
  }
  namespace(name: string): NamespaceInfo | undefined {
    return this.namespaces.get(name);
  }
  namespaceNames(): readonly string[] {
    const names = new Set<string>([...this.namespaces.keys(), ...this.sidecarsByNs.keys(), ...this.podsByNs.keys()]);
    return [...names].sort();
  }
  allSidecars(): SidecarInfo[] {
    return [...this.sidecarsByNs.values()].flatMap((b) => [...b.list()]);
  }
  pods(namespace: string): readonly PodInfo[] {
    return [...(this.podsByNs.get(namespace)?.byName.values() ?? [])];
  }
  counts(): StoreCounts {
    let sidecars = 0;
    let pods = 0;
    for (const b of this.sidecarsByNs.values()) sidecars += b.byName.size;
    for (const b of this.podsByNs.values()) pods += b.byName.size;
    return { sidecars, pods, namespaces: this.namespaces.size };
  }

  /** Called after every change, e.g. to drop a reservation once its object is seen. */
  onChange(listener: (kind: 'Sidecar' | 'Pod' | 'Namespace', namespace: string, name: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- writes ----
  upsertSidecar(obj: unknown, fallbackNamespace?: string): SidecarInfo | undefined {
    const info = sidecarInfoOf(obj, fallbackNamespace);
    if (!info) return undefined;
    bucket(this.sidecarsByNs, info.namespace, () => new SidecarBucket()).set(info);
    this.emit('Sidecar', info.namespace, info.name);
    return info;
  }
  deleteSidecar(namespace: string, name: string): void {
    this.sidecarsByNs.get(namespace)?.delete(name);
    this.emit('Sidecar', namespace, name);
  }
  upsertPod(obj: unknown, fallbackNamespace?: string): void {
    const info = podInfoOf(obj, fallbackNamespace);
    if (!info) return;
    this.podsLoaded = true;
    bucket(this.podsByNs, info.namespace, () => new PodBucket()).set(info);
    this.emit('Pod', info.namespace, info.name);
  }
  deletePod(namespace: string, name: string): void {
    this.podsByNs.get(namespace)?.delete(name);
    this.emit('Pod', namespace, name);
  }
  upsertNamespace(obj: unknown): void {
    const info = namespaceInfoOf(obj);
    if (!info) return;
    this.namespaces.set(info.name, info);
    this.emit('Namespace', '', info.name);
  }
  deleteNamespace(name: string): void {
    this.namespaces.delete(name);
    this.emit('Namespace', '', name);
  }

  /** Replaces every object of a kind after a (re-)list, so deletions missed while disconnected disappear. */
  replaceSidecars(objs: readonly unknown[]): void {
    this.sidecarsByNs.clear();
    for (const o of objs) this.upsertSidecar(o);
  }
  replacePods(objs: readonly unknown[]): void {
    this.podsByNs.clear();
    this.podsLoaded = true;
    for (const o of objs) this.upsertPod(o);
  }
  replaceNamespaces(objs: readonly unknown[]): void {
    this.namespaces.clear();
    for (const o of objs) this.upsertNamespace(o);
  }
  /** Marks pods as known even when there are none (a synced, empty pod informer). */
  markPodsKnown(): void {
    this.podsLoaded = true;
  }

  private emit(kind: 'Sidecar' | 'Pod' | 'Namespace', namespace: string, name: string): void {
    for (const l of this.listeners) l(kind, namespace, name);
  }
}

function bucket<T>(map: Map<string, T>, key: string, make: () => T): T {
  let b = map.get(key);
  if (!b) map.set(key, (b = make()));
  return b;
}

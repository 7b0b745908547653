// In-memory ClusterView with the indexes a decision needs: Sidecars by
// namespace, namespace-wide Sidecars by namespace, pods by namespace and by
// label. Filled by the informer adapter, the --state loader, or tests.
import type { Labels } from '../sidecar/selectors.js';
import { namespaceInfoOf, podInfoOf, sidecarInfoOf } from '../sidecar/records.js';
import type { ClusterView, NamespaceInfo, PodInfo, SidecarInfo } from '../sidecar/view.js';

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

/** Pods that carry exactly the same labels (typically one ReplicaSet's), stored once. */
interface LabelGroup {
  readonly labels: Labels;
  readonly pods: Set<string>;
}

/**
 * Pods of one namespace. Pods of a ReplicaSet share one label set, so each
 * distinct set is kept once and the posting lists index label groups, not
 * pods: 100,000 pods cost a map entry each plus a few hundred groups.
 */
class PodBucket {
  private readonly groupOf = new Map<string, LabelGroup>(); // pod name → its group
  private readonly groups = new Map<string, LabelGroup>(); // canonical label set → group
  private readonly byLabel = new Map<string, Set<LabelGroup>>();

  get size(): number {
    return this.groupOf.size;
  }

  has(name: string): boolean {
    return this.groupOf.has(name);
  }

  labelsOf(name: string): Labels | undefined {
    return this.groupOf.get(name)?.labels;
  }

  names(): IterableIterator<string> {
    return this.groupOf.keys();
  }

  set(pod: PodInfo): void {
    this.delete(pod.name);
    const id = canonical(pod.labels);
    let group = this.groups.get(id);
    if (!group) {
      group = { labels: pod.labels, pods: new Set() };
      this.groups.set(id, group);
      for (const k in pod.labels) {
        const key = labelKey(k, pod.labels[k]!);
        let groups = this.byLabel.get(key);
        if (!groups) this.byLabel.set(key, (groups = new Set()));
        groups.add(group);
      }
    }
    group.pods.add(pod.name);
    this.groupOf.set(pod.name, group);
  }

  delete(name: string): boolean {
    const group = this.groupOf.get(name);
    if (!group) return false;
    this.groupOf.delete(name);
    group.pods.delete(name);
    if (group.pods.size === 0) this.dropGroup(group);
    return true;
  }

  private dropGroup(group: LabelGroup): void {
    this.groups.delete(canonical(group.labels));
    for (const k in group.labels) {
      const key = labelKey(k, group.labels[k]!);
      const groups = this.byLabel.get(key);
      groups?.delete(group);
      if (groups?.size === 0) this.byLabel.delete(key);
    }
  }

  list(namespace: string): PodInfo[] {
    return [...this.groupOf].map(([name, g]) => ({ namespace, name, labels: g.labels }));
  }

  matching(namespace: string, selector: Labels, limit: number): PodInfo[] {
    const out: PodInfo[] = [];
    const keys = Object.keys(selector);
    // Walk the shortest posting list and check the rest of the selector on each group.
    let candidates: Iterable<LabelGroup> = this.groups.values();
    let shortest = Infinity;
    for (const k of keys) {
      const groups = this.byLabel.get(labelKey(k, selector[k]!));
      if (!groups) return out;
      if (groups.size < shortest) {
        shortest = groups.size;
        candidates = groups;
      }
    }
    for (const group of candidates) {
      if (!keys.every((k) => group.labels[k] === selector[k])) continue;
      for (const name of group.pods) {
        if (out.push({ namespace, name, labels: group.labels }) >= limit) return out;
      }
    }
    return out;
  }
}

/** A label set's identity: its sorted key=value pairs. */
function canonical(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => labelKey(k, labels[k]!))
    .join('\u0001');
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
    return this.podsByNs.get(namespace)?.matching(namespace, selector, limit) ?? [];
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
    return this.podsByNs.get(namespace)?.list(namespace) ?? [];
  }
  counts(): StoreCounts {
    let sidecars = 0;
    let pods = 0;
    for (const b of this.sidecarsByNs.values()) sidecars += b.byName.size;
    for (const b of this.podsByNs.values()) pods += b.size;
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

  /**
   * Replace every object of a kind after a (re-)list, so deletions missed
   * while disconnected disappear. The new state is built completely before
   * anyone is told, so a listener never sees a half-filled kind (a namespace
   * whose own default is not re-added yet); then one notification per object
   * that was added, changed or removed, and none for the unchanged rest.
   */
  replaceSidecars(objs: readonly unknown[]): void {
    const next = new Map<string, SidecarBucket>();
    const changed: { namespace: string; name: string }[] = [];
    for (const o of objs) {
      const info = sidecarInfoOf(o);
      if (!info) continue;
      bucket(next, info.namespace, () => new SidecarBucket()).set(info);
      const was = this.sidecar(info.namespace, info.name);
      if (!was || !sameSidecar(was, info)) changed.push(info);
    }
    for (const [ns, old] of this.sidecarsByNs) {
      for (const name of old.byName.keys()) if (!next.get(ns)?.byName.has(name)) changed.push({ namespace: ns, name });
    }
    swap(this.sidecarsByNs, next);
    for (const s of changed) this.emit('Sidecar', s.namespace, s.name);
  }
  replacePods(objs: readonly unknown[]): void {
    const next = new Map<string, PodBucket>();
    const changed: { namespace: string; name: string }[] = [];
    for (const o of objs) {
      const info = podInfoOf(o);
      if (!info) continue;
      bucket(next, info.namespace, () => new PodBucket()).set(info);
      const was = this.podsByNs.get(info.namespace)?.labelsOf(info.name);
      if (!was || !sameLabels(was, info.labels)) changed.push(info);
    }
    for (const [ns, old] of this.podsByNs) {
      for (const name of old.names()) if (!next.get(ns)?.has(name)) changed.push({ namespace: ns, name });
    }
    swap(this.podsByNs, next);
    this.podsLoaded = true;
    for (const p of changed) this.emit('Pod', p.namespace, p.name);
  }
  replaceNamespaces(objs: readonly unknown[]): void {
    const next = new Map<string, NamespaceInfo>();
    const changed: string[] = [];
    for (const o of objs) {
      const info = namespaceInfoOf(o);
      if (!info) continue;
      next.set(info.name, info);
      const was = this.namespaces.get(info.name);
      if (!was || !sameLabels(was.labels, info.labels)) changed.push(info.name);
    }
    for (const name of this.namespaces.keys()) if (!next.has(name)) changed.push(name);
    swap(this.namespaces, next);
    for (const name of changed) this.emit('Namespace', '', name);
  }
  /** Marks pods as known even when there are none (a synced, empty pod informer). */
  markPodsKnown(): void {
    this.podsLoaded = true;
  }

  private emit(kind: 'Sidecar' | 'Pod' | 'Namespace', namespace: string, name: string): void {
    for (const l of this.listeners) l(kind, namespace, name);
  }
}

function sameLabels(a: Labels, b: Labels): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

function sameSidecar(a: SidecarInfo, b: SidecarInfo): boolean {
  return (
    a.uid === b.uid &&
    a.creationTimestamp === b.creationTimestamp &&
    (a.selector === null ? b.selector === null : b.selector !== null && sameLabels(a.selector, b.selector)) &&
    sameLabels(a.labels, b.labels) &&
    sameLabels(a.annotations, b.annotations)
  );
}

/** Makes `target` hold exactly what `next` holds, in one synchronous step. */
function swap<K, V>(target: Map<K, V>, next: Map<K, V>): void {
  target.clear();
  for (const [k, v] of next) target.set(k, v);
}

function bucket<T>(map: Map<string, T>, key: string, make: () => T): T {
  let b = map.get(key);
  if (!b) map.set(key, (b = make()));
  return b;
}

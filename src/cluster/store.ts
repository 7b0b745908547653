// In-memory ClusterView with the indexes a decision needs: Sidecars by
// namespace, namespace-wide Sidecars by namespace, pods and workload
// templates by namespace and by label, Services by namespace, ServiceEntries
// by namespace and by host. Filled by the informer adapter, the --state
// loader, or tests.
import { bucket } from '../util/maps.js';
import { pairsEqual, type Labels, type SelectorPairs } from '../sidecar/selectors.js';
import { isAmbientNamespace } from '../sidecar/ambient.js';
import {
  isOptedOut,
  namespaceInfoOf,
  podInfoOf,
  serviceEntryInfoOf,
  serviceInfoOf,
  sidecarInfoOf,
  workloadInfoOf,
} from '../sidecar/records.js';
import type {
  ClusterView,
  NamespaceInfo,
  PodFilter,
  PodInfo,
  ServiceEntryInfo,
  ServiceInfo,
  SidecarInfo,
  WorkloadInfo,
  WorkloadKind,
} from '../sidecar/view.js';

/** What a change notification is about. */
export type ChangeKind = 'Sidecar' | 'Pod' | 'Namespace' | 'Workload' | 'Service' | 'ServiceEntry';
export type ChangeListener = (kind: ChangeKind, namespace: string, name: string) => void;

export interface ClusterStoreOptions {
  /**
   * A listener threw: every other listener has still been told of the change,
   * and the change stays applied. Without it, the first error is thrown once
   * all listeners ran (to the informer that applied the change, which then
   * re-lists), so a caller that can log one should pass this instead.
   */
  onListenerError?: (err: unknown, kind: ChangeKind, namespace: string, name: string) => void;
}

type ByName<T> = Map<string, T>;

/** Sidecars of one namespace, with the read-side arrays cached until the next change. */
class SidecarBucket {
  readonly byName: ByName<SidecarInfo> = new Map();
  private all: SidecarInfo[] | undefined;
  private wide: SidecarInfo[] | undefined;
  private selective: SelectorIndex | undefined;

  set(info: SidecarInfo): void {
    const old = this.byName.get(info.name);
    this.byName.set(info.name, info);
    this.all = this.wide = undefined;
    // The index follows the change where it can keep sidecars()' order (a new name goes last, as in byName; a
    // replaced one keeps its place when its selector is the same): a burst of CREATEs into a namespace of 1,000
    // Sidecars would otherwise rebuild it at every decision.
    if (!this.selective) return;
    if (!old) this.selective.add(info);
    else if (!this.selective.replace(old, info)) this.selective = undefined;
  }
  delete(name: string): boolean {
    const old = this.byName.get(name);
    this.all = this.wide = undefined;
    if (old) this.selective?.remove(old);
    return this.byName.delete(name);
  }
  list(): readonly SidecarInfo[] {
    this.all ??= [...this.byName.values()];
    return this.all;
  }
  namespaceWide(): readonly SidecarInfo[] {
    this.wide ??= this.list().filter((s) => s.selector === null);
    return this.wide;
  }
  /** The selector Sidecars a selector with these pairs can be compatible with, and maybe others (SelectorIndex). */
  compatibleWith(pairs: SelectorPairs): readonly SidecarInfo[] {
    this.selective ??= new SelectorIndex(this.list());
    return this.selective.compatibleWith(pairs);
  }
}

/**
 * The selector Sidecars of a namespace by label key and value. When every
 * one of them names a key, only those with the same value for it can be
 * compatible with a selector that names it too: in a namespace of 1,000
 * Sidecars selecting `app: <name>` each, a new one is compared with the one
 * or two of its own app rather than with all of them.
 */
class SelectorIndex {
  private readonly all: SidecarInfo[] = [];
  /** key → how many of them name it, and them by value, each list in sidecars()' order. */
  private readonly byKey = new Map<string, { count: number; byValue: Map<string, SidecarInfo[]> }>();

  constructor(sidecars: readonly SidecarInfo[]) {
    for (const s of sidecars) this.add(s);
  }

  compatibleWith(pairs: SelectorPairs): readonly SidecarInfo[] {
    for (let i = 0; i < pairs.length; i += 2) {
      const entry = this.byKey.get(pairs[i]!);
      // No selector names the key: it rules nothing out. Some do not: they stay compatible whatever its value.
      if (entry === undefined || entry.count !== this.all.length) continue;
      return entry.byValue.get(pairs[i + 1]!) ?? NO_SIDECARS;
    }
    return this.all;
  }

  /** A Sidecar that comes last in sidecars() (a new name). */
  add(s: SidecarInfo): void {
    const pairs = pairsOf(s);
    if (pairs === null) return;
    this.all.push(s);
    for (let i = 0; i < pairs.length; i += 2) {
      let entry = this.byKey.get(pairs[i]!);
      if (!entry) {
        entry = { count: 0, byValue: new Map() };
        this.byKey.set(pairs[i]!, entry);
      }
      entry.count++;
      const same = entry.byValue.get(pairs[i + 1]!);
      if (same) same.push(s);
      else entry.byValue.set(pairs[i + 1]!, [s]);
    }
  }

  remove(s: SidecarInfo): void {
    const pairs = pairsOf(s);
    if (pairs === null) return;
    removeFrom(this.all, s);
    for (let i = 0; i < pairs.length; i += 2) {
      const entry = this.byKey.get(pairs[i]!)!;
      entry.count--;
      const same = entry.byValue.get(pairs[i + 1]!)!;
      removeFrom(same, s);
      if (same.length === 0) entry.byValue.delete(pairs[i + 1]!);
      if (entry.count === 0) this.byKey.delete(pairs[i]!);
    }
  }

  /** `next` in `old`'s place, when both have the same selector (or neither has one); false otherwise: rebuild. */
  replace(old: SidecarInfo, next: SidecarInfo): boolean {
    const [a, b] = [pairsOf(old), pairsOf(next)];
    if (a === null || b === null) return a === b;
    if (!pairsEqual(a, b)) return false;
    replaceIn(this.all, old, next);
    for (let i = 0; i < a.length; i += 2) replaceIn(this.byKey.get(a[i]!)!.byValue.get(a[i + 1]!)!, old, next);
    return true;
  }
}

/** A selector Sidecar's pairs; null for a namespace-wide one, which the index leaves out. */
const pairsOf = (s: SidecarInfo): SelectorPairs | null => (s.selector === null ? null : s.selectorPairs);

function removeFrom<T>(list: T[], item: T): void {
  const at = list.indexOf(item);
  if (at >= 0) list.splice(at, 1);
}

function replaceIn<T>(list: T[], old: T, next: T): void {
  const at = list.indexOf(old);
  if (at >= 0) list[at] = next;
}

const NO_SIDECARS: readonly SidecarInfo[] = Object.freeze([]);

/** Pods that carry exactly the same labels (typically one ReplicaSet's) and the same ambient mode, stored once. */
interface LabelGroup {
  readonly labels: Labels;
  readonly ambient: boolean;
  /** The pods' istio.io/rev annotation (PodInfo.revision): pods of one ReplicaSet share it. */
  readonly revision: string | undefined;
  /** Its pods' names: one name (a StatefulSet's pod, whose labels name it) until a second pod shares the set. */
  pods: string | Set<string>;
}

/**
 * A label set as the store keeps it: no prototype, like stringMap's (a label
 * named like an Object method reads as absent), but with fast properties
 * that V8 lays out once for every set with the same keys in the same order.
 * A dictionary (Object.create(null)) costs about 250 bytes for a pod's eight
 * labels; this about 50.
 */
const CompactLabels = function CompactLabels(this: Record<string, string>) {} as unknown as {
  new (): Record<string, string>;
  prototype: object;
};
CompactLabels.prototype = Object.create(null);

/** `name`: the pod's name, kept once where a label repeats it (a StatefulSet pod's statefulset.kubernetes.io/pod-name). */
function compactLabels(labels: Labels, name: string): Labels {
  const out = new CompactLabels();
  for (const k in labels) {
    const v = labels[k]!;
    out[k] = v === name ? name : v;
  }
  return out;
}

/** An order-independent 32-bit hash of a label set and its ambient mode: groups are found by it, then compared. */
function labelSetHash(labels: Labels, ambient: boolean): number {
  let h = ambient ? 0x9e3779b9 : 0;
  for (const k in labels) {
    const v = labels[k]!;
    // Key and value hashed apart, so that no character of either can move the boundary: with `k=v` in one
    // stream, {p: '1=2'} and {'p=1': '2'} collided, and files with such keys made every pod one hash.
    let x = 0x811c9dc5;
    for (let i = 0; i < k.length; i++) x = Math.imul(x ^ k.charCodeAt(i), 0x01000193);
    let y = 0x050c5d1f;
    for (let i = 0; i < v.length; i++) y = Math.imul(y ^ v.charCodeAt(i), 0x01000193);
    x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) ^ y;
    h = (h + Math.imul(x ^ (x >>> 15), 0x2c1b3c6d)) | 0;
  }
  return h;
}

/** Pod groups a namespace holds before its label index is built (see PodBucket.byLabel). */
const INDEX_AFTER = 32;

/** The selector's first key, if any (a label set without keys selects everything). */
function firstKey(selector: Labels): string | undefined {
  for (const k in selector) return k;
  return undefined;
}

/** The labels carry every label of the selector (an empty selector: any). */
function carries(labels: Labels, selector: Labels): boolean {
  for (const k in selector) if (labels[k] !== selector[k]) return false;
  return true;
}

/**
 * One string per revision for every pod group (each pod's annotation is a
 * string of its own as parsed); at most INTERNED of them, so pods annotated
 * with arbitrary values cannot grow the table.
 */
const revisions = new Map<string, string>();
const INTERNED = 64;

function interned(revision: string | undefined): string | undefined {
  if (revision === undefined) return undefined;
  const known = revisions.get(revision);
  if (known !== undefined) return known;
  if (revisions.size < INTERNED) revisions.set(revision, revision);
  return revision;
}

const podNames = (g: LabelGroup): Iterable<string> => (typeof g.pods === 'string' ? [g.pods] : g.pods);

/**
 * Pods of one namespace. Pods of a ReplicaSet share one label set, so each
 * distinct set is kept once and the posting lists index label groups, not
 * pods: 100,000 pods cost a map entry each plus a few hundred groups. Pods
 * with a label set of their own (StatefulSets, hash labels) cost a group
 * each, so a group is small: found by a hash of its labels (no key string),
 * its labels in a compact object, its single pod's name without a Set.
 */
class PodBucket {
  /** `withoutProxy`: the store's count of what may run without a proxy, per namespace (see WithoutProxy). */
  constructor(
    private readonly namespace: string,
    private readonly withoutProxy: WithoutProxy,
  ) {}

  private readonly groupOf = new Map<string, LabelGroup>(); // pod name → its group
  private readonly groups = new Map<number, LabelGroup | LabelGroup[]>(); // label set hash → group(s)
  /**
   * Label → groups, built once the namespace holds more than INDEX_AFTER
   * groups. Below, a lookup checks every group, which costs less than the
   * index's maps (a few KB per namespace, most of a small namespace's memory).
   */
  private byLabel: Postings<LabelGroup> | undefined;
  private groupCount = 0;
  /** Groups of pods in ambient mode: a namespace without any answers the ambient rule's question at once. */
  private ambientGroups = 0;
  /** Names of gateway pods (PodInfo.gateway): a few per cluster, kept beside the groups rather than in them. */
  private gateways: Set<string> | undefined;

  get size(): number {
    return this.groupOf.size;
  }

  has(name: string): boolean {
    return this.groupOf.has(name);
  }

  /** The bucket holds this pod as it is: nothing a re-list or an update would change. */
  holds(pod: PodInfo): boolean {
    const was = this.groupOf.get(pod.name);
    return (
      was !== undefined &&
      was.ambient === pod.ambient &&
      was.revision === pod.revision &&
      this.isGateway(pod.name) === (pod.gateway === true) &&
      sameLabels(was.labels, pod.labels)
    );
  }

  /** Whether a gateway pod carries the selector's labels: a look at the few gateways, not at the pods. */
  hasGatewayMatching(selector: Labels): boolean {
    if (this.gateways === undefined) return false;
    for (const name of this.gateways) {
      const group = this.groupOf.get(name);
      if (group && carries(group.labels, selector)) return true;
    }
    return false;
  }

  private isGateway(name: string): boolean {
    return this.gateways?.has(name) === true;
  }

  /** The record of one pod of a group, marked when it is a gateway. */
  private info(namespace: string, name: string, group: LabelGroup): PodInfo {
    const pod: PodInfo =
      group.revision === undefined
        ? { namespace, name, labels: group.labels, ambient: group.ambient }
        : { namespace, name, labels: group.labels, ambient: group.ambient, revision: group.revision };
    return this.isGateway(name) ? { ...pod, gateway: true } : pod;
  }

  names(): IterableIterator<string> {
    return this.groupOf.keys();
  }

  set(pod: PodInfo): void {
    // Unchanged (a re-list, a status-only update): nothing to do, nothing allocated.
    if (this.holds(pod)) return;
    this.delete(pod.name);
    if (mayRunWithoutProxy(pod)) this.withoutProxy.add(this.namespace);
    if (pod.gateway) {
      this.gateways ??= new Set();
      this.gateways.add(pod.name);
    }
    const hash = labelSetHash(pod.labels, pod.ambient);
    let group = this.find(hash, pod);
    if (!group) {
      group = {
        labels: compactLabels(pod.labels, pod.name),
        ambient: pod.ambient,
        revision: interned(pod.revision),
        pods: pod.name,
      };
      const same = this.groups.get(hash);
      if (same === undefined) this.groups.set(hash, group);
      else if (Array.isArray(same)) same.push(group);
      else this.groups.set(hash, [same, group]);
      this.groupCount++;
      if (group.ambient) this.ambientGroups++;
      if (this.byLabel) addPosting(this.byLabel, group.labels, group);
      else if (this.groupCount > INDEX_AFTER) {
        this.byLabel = new Map();
        for (const g of this.all()) addPosting(this.byLabel, g.labels, g);
      }
    } else if (typeof group.pods === 'string') group.pods = new Set([group.pods, pod.name]);
    else group.pods.add(pod.name);
    this.groupOf.set(pod.name, group);
  }

  delete(name: string): boolean {
    const group = this.groupOf.get(name);
    if (!group) return false;
    if (this.isGateway(name) || mayRunWithoutProxy(group)) this.withoutProxy.remove(this.namespace);
    this.groupOf.delete(name);
    this.gateways?.delete(name);
    if (typeof group.pods === 'string') {
      this.dropGroup(group);
      return true;
    }
    group.pods.delete(name);
    if (group.pods.size === 1) group.pods = group.pods.values().next().value!;
    return true;
  }

  private find(hash: number, pod: PodInfo): LabelGroup | undefined {
    const same = this.groups.get(hash);
    if (same === undefined) return undefined;
    for (const g of Array.isArray(same) ? same : [same])
      if (g.ambient === pod.ambient && g.revision === pod.revision && sameLabels(g.labels, pod.labels)) return g;
    return undefined;
  }

  private dropGroup(group: LabelGroup): void {
    const hash = labelSetHash(group.labels, group.ambient);
    const same = this.groups.get(hash);
    if (same === group) this.groups.delete(hash);
    else if (Array.isArray(same)) {
      const rest = same.filter((g) => g !== group);
      this.groups.set(hash, rest.length === 1 ? rest[0]! : rest);
    }
    this.groupCount--;
    if (group.ambient) this.ambientGroups--;
    if (this.byLabel) dropPosting(this.byLabel, group.labels, group);
  }

  list(namespace: string): PodInfo[] {
    return [...this.groupOf].map(([name, g]) => this.info(namespace, name, g));
  }

  /** Every group (for an empty selector). */
  *all(): Generator<LabelGroup> {
    for (const g of this.groups.values()) {
      if (Array.isArray(g)) yield* g;
      else yield g;
    }
  }

  matching(namespace: string, selector: Labels, limit: number, filter: PodFilter): PodInfo[] {
    const out: PodInfo[] = [];
    if (this.noneCanPass(filter)) return out;
    this.visitMatching(selector, (group) => {
      if (!passes(group, filter)) return true;
      for (const name of podNames(group)) {
        if (out.push(this.info(namespace, name, group)) >= limit) return false;
      }
      return true;
    });
    return out;
  }

  /** matching(...).length > 0, without collecting: the visitor is a constant that stops at the first group that passes. */
  hasMatching(selector: Labels, filter: PodFilter): boolean {
    return !this.noneCanPass(filter) && !this.visitMatching(selector, UNTIL_PASSES[filter]);
  }

  /** No group can pass the filter: a namespace without ambient pods answers the ambient rule's question at once. */
  private noneCanPass(filter: PodFilter): boolean {
    return (
      (filter === 'ambient' && this.ambientGroups === 0) ||
      (filter === 'sidecar' && this.ambientGroups === this.groupCount)
    );
  }

  /** Visits the groups carrying the selector's labels until `visit` returns false; false when it did. */
  private visitMatching(selector: Labels, visit: (group: LabelGroup) => boolean): boolean {
    if (this.byLabel) return forEachMatching(this, this.byLabel, selector, visit);
    // Few groups: check each (a plain loop: this runs several times per decision), on the
    // selector's first label before the whole selector, since most groups fail on it.
    const first = firstKey(selector);
    const value = first === undefined ? undefined : selector[first];
    for (const entry of this.groups.values()) {
      if (!Array.isArray(entry)) {
        if (carriesFrom(entry.labels, first, value, selector) && !visit(entry)) return false;
        continue;
      }
      for (let i = 0; i < entry.length; i++)
        if (carriesFrom(entry[i]!.labels, first, value, selector) && !visit(entry[i]!)) return false;
    }
    return true;
  }
}

/** carries(labels, selector), with the selector's first label (and its value) tested first. */
const carriesFrom = (labels: Labels, first: string | undefined, value: string | undefined, selector: Labels) =>
  (first === undefined || labels[first] === value) && carries(labels, selector);

/** A group's pods are wanted by the filter. */
const passes = (g: LabelGroup, filter: PodFilter): boolean => filter === 'all' || (filter === 'ambient') === g.ambient;

/** Visitors that stop (return false) at the first group each filter wants: constants, so a test allocates no closure. */
const UNTIL_PASSES: Readonly<Record<PodFilter, (g: LabelGroup) => boolean>> = {
  all: () => false,
  sidecar: (g) => g.ambient,
  ambient: (g) => !g.ambient,
};

/** A visitor that stops at the first item. */
const STOP = (): boolean => false;

/**
 * The items carrying one label: a single item, or a Set once there are
 * several. Most label values (an app's name, a pod-template-hash) belong to
 * one workload or pod group, and a Set per value would cost more than the item.
 */
type Posting<T extends object> = T | Set<T>;
/**
 * Label key → label value → the items carrying it. Two lookups with the
 * selector's own strings (whose hashes V8 keeps) instead of one with a key
 * built per lookup.
 */
type Postings<T extends object> = Map<string, Map<string, Posting<T>>>;

const postingSize = <T extends object>(p: Posting<T>): number => (p instanceof Set ? p.size : 1);

/**
 * Visits the items whose labels carry every label of the selector (all
 * items for an empty selector) until `visit` returns false, and then
 * returns false: the shortest posting list among the selector's labels,
 * each entry checked against the rest of the selector. A loop with a
 * callback rather than a generator, and no list of keys: it runs on every
 * decision.
 */
function forEachMatching<T extends { readonly labels: Labels }>(
  source: { all(): Iterable<T> },
  byLabel: Postings<T>,
  selector: Labels,
  visit: (t: T) => boolean,
): boolean {
  let shortest: Posting<T> | undefined;
  for (const k in selector) {
    const p = byLabel.get(k)?.get(selector[k]!);
    if (!p) return true;
    if (!shortest || postingSize(p) < postingSize(shortest)) shortest = p;
  }
  if (shortest === undefined) {
    for (const item of source.all()) if (!visit(item)) return false;
    return true;
  }
  if (!(shortest instanceof Set)) return !carries(shortest.labels, selector) || visit(shortest);
  for (const item of shortest) if (carries(item.labels, selector) && !visit(item)) return false;
  return true;
}

function addPosting<T extends object>(byLabel: Postings<T>, labels: Labels, item: T): void {
  for (const k in labels) {
    const v = labels[k]!;
    const values = bucket(byLabel, k, () => new Map<string, Posting<T>>());
    const p = values.get(v);
    if (p === undefined) values.set(v, item);
    else if (p instanceof Set) p.add(item);
    else if (p !== item) values.set(v, new Set([p, item]));
  }
}

function dropPosting<T extends object>(byLabel: Postings<T>, labels: Labels, item: T): void {
  for (const k in labels) {
    const v = labels[k]!;
    const values = byLabel.get(k);
    const p = values?.get(v);
    if (!values || p === undefined) continue;
    if (p === item) values.delete(v);
    else if (p instanceof Set) {
      p.delete(item);
      if (p.size === 1) values.set(v, p.values().next().value!);
    }
    if (values.size === 0) byLabel.delete(k);
  }
}

/** A pod or template selector.no-proxy may speak of: injected as a gateway, or opted out of injection. */
const mayRunWithoutProxy = (x: { labels: Labels; gateway?: boolean }): boolean =>
  x.gateway === true || isOptedOut(x.labels);

/**
 * How many pods and templates of each namespace may run without a proxy
 * (mayRunWithoutProxy), counted by the buckets as they change and kept
 * outside them: selector.no-proxy asks at every decision, nearly always of a
 * namespace with none, and this small map answers without reading the
 * namespace's buckets, whose tables are usually out of the CPU's caches.
 */
class WithoutProxy {
  private readonly counts = new Map<string, number>();

  add(namespace: string): void {
    this.counts.set(namespace, (this.counts.get(namespace) ?? 0) + 1);
  }

  remove(namespace: string): void {
    const left = (this.counts.get(namespace) ?? 1) - 1;
    if (left > 0) this.counts.set(namespace, left);
    else this.counts.delete(namespace);
  }

  has(namespace: string): boolean {
    return this.counts.has(namespace);
  }
}

/** Workload templates of one namespace, by kind and name, and indexed by template label like pods. */
class WorkloadBucket {
  /** `withoutProxy`: the store's count of what may run without a proxy, per namespace (see WithoutProxy). */
  constructor(
    private readonly namespace: string,
    private readonly withoutProxy: WithoutProxy,
  ) {}

  private readonly byKind = new Map<WorkloadKind, Map<string, WorkloadInfo>>();
  private readonly byLabel: Postings<WorkloadInfo> = new Map();
  private count = 0;
  /** Templates of gateways (WorkloadInfo.gateway): a few per cluster. */
  private gateways: Set<WorkloadInfo> | undefined;

  get size(): number {
    return this.count;
  }

  hasGatewayMatching(selector: Labels): boolean {
    if (this.gateways === undefined) return false;
    for (const w of this.gateways) if (carries(w.labels, selector)) return true;
    return false;
  }

  get(kind: WorkloadKind, name: string): WorkloadInfo | undefined {
    return this.byKind.get(kind)?.get(name);
  }

  *all(): Generator<WorkloadInfo> {
    for (const m of this.byKind.values()) yield* m.values();
  }

  set(w: WorkloadInfo): void {
    this.delete(w.kind, w.name);
    bucket(this.byKind, w.kind, () => new Map()).set(w.name, w);
    this.count++;
    if (mayRunWithoutProxy(w)) this.withoutProxy.add(this.namespace);
    if (w.gateway) {
      this.gateways ??= new Set();
      this.gateways.add(w);
    }
    addPosting(this.byLabel, w.labels, w);
  }

  delete(kind: WorkloadKind, name: string): boolean {
    const w = this.get(kind, name);
    if (!w) return false;
    this.byKind.get(kind)!.delete(name);
    this.count--;
    if (mayRunWithoutProxy(w)) this.withoutProxy.remove(this.namespace);
    this.gateways?.delete(w);
    dropPosting(this.byLabel, w.labels, w);
    return true;
  }

  matching(selector: Labels, limit: number): WorkloadInfo[] {
    const out: WorkloadInfo[] = [];
    forEachMatching(this, this.byLabel, selector, (w) => out.push(w) < limit);
    return out;
  }

  hasMatching(selector: Labels): boolean {
    return !forEachMatching(this, this.byLabel, selector, STOP);
  }
}

/**
 * Services of one namespace. Only names are kept (the namespace is the
 * bucket's) with their exportTo, null for the many without one: 20,000
 * Services cost a Map entry each.
 */
class ServiceBucket {
  /** Name → its exportTo, null when it has none: one lookup tells a decision whether it exists and who sees it. */
  readonly byName = new Map<string, readonly string[] | null>();
  /**
   * Name → its port numbers, where known (only a port-specific egress
   * listener asks): the number itself for the many Services with one port,
   * so 20,000 of them cost a Map entry each, not an array too.
   */
  private readonly ports = new Map<string, number | readonly number[]>();

  set(s: ServiceInfo): void {
    this.byName.set(s.name, s.exportTo ?? null);
    if (s.ports) this.ports.set(s.name, s.ports.length === 1 ? s.ports[0]! : s.ports);
    else this.ports.delete(s.name);
  }
  portsOf(name: string): readonly number[] | undefined {
    const ports = this.ports.get(name);
    return typeof ports === 'number' ? [ports] : ports;
  }
  delete(name: string): boolean {
    this.ports.delete(name);
    return this.byName.delete(name);
  }
  info(namespace: string, name: string): ServiceInfo | undefined {
    const exportTo = this.byName.get(name);
    if (exportTo === undefined) return undefined;
    const ports = this.portsOf(name);
    return { namespace, name, ...(exportTo ? { exportTo } : {}), ...(ports ? { ports } : {}) };
  }
}

/** ServiceEntries by namespace and name, and by each host they list. */
class ServiceEntryIndex {
  readonly byNs = new Map<string, Map<string, ServiceEntryInfo>>();
  private readonly byHost = new Map<string, ServiceEntryInfo[]>();

  get size(): number {
    let n = 0;
    for (const m of this.byNs.values()) n += m.size;
    return n;
  }

  set(se: ServiceEntryInfo): void {
    this.delete(se.namespace, se.name);
    bucket(this.byNs, se.namespace, () => new Map()).set(se.name, se);
    for (const h of new Set(se.hosts)) bucket(this.byHost, h, () => []).push(se);
  }

  delete(namespace: string, name: string): boolean {
    const ns = this.byNs.get(namespace);
    const se = ns?.get(name);
    if (!ns || !se) return false;
    ns.delete(name);
    if (ns.size === 0) this.byNs.delete(namespace);
    for (const h of new Set(se.hosts)) {
      const list = this.byHost.get(h)?.filter((x) => x !== se) ?? [];
      if (list.length === 0) this.byHost.delete(h);
      else this.byHost.set(h, list);
    }
    return true;
  }

  withHost(host: string): readonly ServiceEntryInfo[] {
    return this.byHost.get(host) ?? [];
  }

  inNamespace(namespace: string): readonly ServiceEntryInfo[] {
    const ns = this.byNs.get(namespace);
    return ns ? [...ns.values()] : [];
  }

  clear(): void {
    this.byNs.clear();
    this.byHost.clear();
  }
}

export interface StoreCounts {
  sidecars: number;
  pods: number;
  namespaces: number;
  workloads: number;
  services: number;
  serviceEntries: number;
}

/** The kinds whose list the view can know to be complete (a synced informer, or manifests that hold some). */
export type KnownKind = 'Pod' | 'Workload' | 'Registry' | 'Namespace';

export class ClusterStore implements ClusterView {
  private readonly sidecarsByNs = new Map<string, SidecarBucket>();
  private readonly podsByNs = new Map<string, PodBucket>();
  private readonly namespaces = new Map<string, NamespaceInfo>();
  private readonly workloadsByNs = new Map<string, WorkloadBucket>();
  /** Per namespace, how many pods and templates may run without a proxy (the buckets keep it): few namespaces have any. */
  private readonly withoutProxy = new WithoutProxy();
  /** The namespaces in ambient mode (isAmbientNamespace), kept beside the Namespaces: few. */
  private readonly ambientNamespaces = new Set<string>();
  private readonly servicesByNs = new Map<string, ServiceBucket>();
  private readonly entries = new ServiceEntryIndex();
  /** Which kinds are known: flags, not a Set, since each decision asks several times. */
  private readonly known: Record<KnownKind, boolean> = {
    Pod: false,
    Workload: false,
    Registry: false,
    Namespace: false,
  };
  private readonly listeners = new Set<ChangeListener>();

  constructor(private readonly options: ClusterStoreOptions = {}) {}

  // ---- reads (ClusterView) ----
  sidecar(namespace: string, name: string): SidecarInfo | undefined {
    return this.sidecarsByNs.get(namespace)?.byName.get(name);
  }
  sidecars(namespace: string): readonly SidecarInfo[] {
    return this.sidecarsByNs.get(namespace)?.list() ?? [];
  }
  forEachSidecarCompatibleWith(namespace: string, pairs: SelectorPairs, visit: (s: SidecarInfo) => void): void {
    const list = this.sidecarsByNs.get(namespace)?.compatibleWith(pairs);
    if (list) for (let i = 0; i < list.length; i++) visit(list[i]!);
  }
  namespaceWide(namespace: string): readonly SidecarInfo[] {
    return this.sidecarsByNs.get(namespace)?.namespaceWide() ?? NO_SIDECARS;
  }
  podsMatching(namespace: string, selector: Labels, limit: number, filter: PodFilter = 'all'): readonly PodInfo[] {
    return this.podsByNs.get(namespace)?.matching(namespace, selector, limit, filter) ?? [];
  }
  hasPodMatching(namespace: string, selector: Labels, filter: PodFilter = 'all'): boolean {
    return this.podsByNs.get(namespace)?.hasMatching(selector, filter) ?? false;
  }
  knowsPods(): boolean {
    return this.known.Pod;
  }
  workloadsMatching(namespace: string, selector: Labels, limit: number): readonly WorkloadInfo[] {
    return this.workloadsByNs.get(namespace)?.matching(selector, limit) ?? [];
  }
  hasWorkloadMatching(namespace: string, selector: Labels): boolean {
    return this.workloadsByNs.get(namespace)?.hasMatching(selector) ?? false;
  }
  knowsWorkloads(): boolean {
    return this.known.Workload;
  }
  hasGatewayMatching(namespace: string, selector: Labels): boolean {
    return (
      (this.podsByNs.get(namespace)?.hasGatewayMatching(selector) ?? false) ||
      (this.workloadsByNs.get(namespace)?.hasGatewayMatching(selector) ?? false)
    );
  }
  mayRunWithoutProxy(namespace: string): boolean {
    return this.ambientNamespaces.has(namespace) || this.withoutProxy.has(namespace);
  }
  service(namespace: string, name: string): ServiceInfo | undefined {
    return this.servicesByNs.get(namespace)?.info(namespace, name);
  }
  hasService(namespace: string, name: string): boolean {
    return this.servicesByNs.get(namespace)?.byName.has(name) ?? false;
  }
  serviceExportTo(namespace: string, name: string): readonly string[] | null | undefined {
    return this.servicesByNs.get(namespace)?.byName.get(name);
  }
  servicePorts(namespace: string, name: string): readonly number[] | undefined {
    return this.servicesByNs.get(namespace)?.portsOf(name);
  }
  services(namespace: string): readonly ServiceInfo[] {
    const b = this.servicesByNs.get(namespace);
    return b ? [...b.byName.keys()].map((n) => b.info(namespace, n)!) : [];
  }
  serviceEntriesWithHost(host: string): readonly ServiceEntryInfo[] {
    return this.entries.withHost(host);
  }
  serviceEntries(namespace: string): readonly ServiceEntryInfo[] {
    return this.entries.inNamespace(namespace);
  }
  knowsRegistry(): boolean {
    return this.known.Registry;
  }
  namespace(name: string): NamespaceInfo | undefined {
    return this.namespaces.get(name);
  }
  namespaceNames(): readonly string[] {
    const names = new Set<string>([
      ...this.namespaces.keys(),
      ...this.sidecarsByNs.keys(),
      ...this.podsByNs.keys(),
      ...this.workloadsByNs.keys(),
      ...this.servicesByNs.keys(),
      ...this.entries.byNs.keys(),
    ]);
    return [...names].sort();
  }
  knowsNamespaces(): boolean {
    return this.known.Namespace;
  }
  hasNamespace(name: string): boolean {
    return (
      this.namespaces.has(name) ||
      (this.sidecarsByNs.get(name)?.byName.size ?? 0) > 0 ||
      (this.podsByNs.get(name)?.size ?? 0) > 0 ||
      (this.workloadsByNs.get(name)?.size ?? 0) > 0 ||
      (this.servicesByNs.get(name)?.byName.size ?? 0) > 0 ||
      this.entries.byNs.has(name)
    );
  }
  /** Every workload of a namespace (audit). */
  workloads(namespace: string): readonly WorkloadInfo[] {
    return [...(this.workloadsByNs.get(namespace)?.all() ?? [])];
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
    let workloads = 0;
    let services = 0;
    for (const b of this.sidecarsByNs.values()) sidecars += b.byName.size;
    for (const b of this.podsByNs.values()) pods += b.size;
    for (const b of this.workloadsByNs.values()) workloads += b.size;
    for (const b of this.servicesByNs.values()) services += b.byName.size;
    return { sidecars, pods, namespaces: this.namespaces.size, workloads, services, serviceEntries: this.entries.size };
  }

  /** Called after every change, e.g. to drop a reservation once its object is seen. */
  onChange(listener: ChangeListener): () => void {
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
    this.known.Pod = true;
    bucket(this.podsByNs, info.namespace, () => new PodBucket(info.namespace, this.withoutProxy)).set(info);
    this.emit('Pod', info.namespace, info.name);
  }
  deletePod(namespace: string, name: string): void {
    this.podsByNs.get(namespace)?.delete(name);
    this.emit('Pod', namespace, name);
  }
  upsertNamespace(obj: unknown): void {
    const info = namespaceInfoOf(obj);
    if (!info) return;
    this.known.Namespace = true;
    this.namespaces.set(info.name, info);
    if (isAmbientNamespace(info.labels)) this.ambientNamespaces.add(info.name);
    else this.ambientNamespaces.delete(info.name);
    this.emit('Namespace', '', info.name);
  }
  deleteNamespace(name: string): void {
    this.namespaces.delete(name);
    this.ambientNamespaces.delete(name);
    this.emit('Namespace', '', name);
  }
  /**
   * A workload of the given kind. One that a controller owns (a Deployment's
   * ReplicaSet, a CronJob's Job) is not kept, and an adopted one is dropped.
   */
  upsertWorkload(obj: unknown, kind: WorkloadKind, fallbackNamespace?: string): void {
    const info = workloadInfoOf(obj, kind, fallbackNamespace);
    this.known.Workload = true;
    if (!info) {
      const ref = refOfRaw(obj, fallbackNamespace);
      if (ref) this.deleteWorkload(kind, ref.namespace, ref.name);
      return;
    }
    bucket(this.workloadsByNs, info.namespace, () => new WorkloadBucket(info.namespace, this.withoutProxy)).set(info);
    this.emit('Workload', info.namespace, info.name);
  }
  deleteWorkload(kind: WorkloadKind, namespace: string, name: string): void {
    if (this.workloadsByNs.get(namespace)?.delete(kind, name)) this.emit('Workload', namespace, name);
  }
  upsertService(obj: unknown, fallbackNamespace?: string): void {
    const info = serviceInfoOf(obj, fallbackNamespace);
    if (!info) return;
    this.known.Registry = true;
    bucket(this.servicesByNs, info.namespace, () => new ServiceBucket()).set(info);
    this.emit('Service', info.namespace, info.name);
  }
  deleteService(namespace: string, name: string): void {
    if (this.servicesByNs.get(namespace)?.delete(name)) this.emit('Service', namespace, name);
  }
  upsertServiceEntry(obj: unknown, fallbackNamespace?: string): void {
    const info = serviceEntryInfoOf(obj, fallbackNamespace);
    if (!info) return;
    this.known.Registry = true;
    this.entries.set(info);
    this.emit('ServiceEntry', info.namespace, info.name);
  }
  deleteServiceEntry(namespace: string, name: string): void {
    if (this.entries.delete(namespace, name)) this.emit('ServiceEntry', namespace, name);
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
    const relist = this.relistPods();
    relist.add(objs);
    relist.done();
  }

  /**
   * A re-list of every pod, applied to the live view page by page as the
   * pages arrive, so that a re-list of 150,000 pods never holds a second
   * store beside the first, nor the whole list: a pod already held with the
   * same labels costs nothing, a new or relabelled one is set at once, and
   * done() removes the pods the list did not name. Meanwhile each pod the
   * view holds is as of the old view or the new list, never older, as
   * with watch events. Listeners hear of every change once, at done(), on
   * the complete view.
   */
  relistPods(): { add(objs: readonly unknown[]): void; done(): void } {
    const seen = new Map<string, Set<string>>();
    const changed: { namespace: string; name: string }[] = [];
    return {
      add: (objs) => {
        for (const o of objs) {
          const info = podInfoOf(o);
          if (!info) continue;
          const pods = bucket(this.podsByNs, info.namespace, () => new PodBucket(info.namespace, this.withoutProxy));
          if (!pods.holds(info)) {
            pods.set(info);
            changed.push({ namespace: info.namespace, name: info.name });
          }
          bucket(seen, info.namespace, () => new Set()).add(info.name);
        }
      },
      done: () => {
        for (const [ns, pods] of this.podsByNs) {
          const listed = seen.get(ns);
          for (const name of [...pods.names()]) {
            if (listed?.has(name)) continue;
            pods.delete(name);
            changed.push({ namespace: ns, name });
          }
          if (pods.size === 0) this.podsByNs.delete(ns);
        }
        this.known.Pod = true;
        for (const p of changed) this.emit('Pod', p.namespace, p.name);
      },
    };
  }
  replaceNamespaces(objs: readonly unknown[]): void {
    const next = new Map<string, NamespaceInfo>();
    const changed: string[] = [];
    for (const o of objs) {
      const info = namespaceInfoOf(o);
      if (!info) continue;
      next.set(info.name, info);
      const was = this.namespaces.get(info.name);
      if (!was || was.terminating !== info.terminating || !sameLabels(was.labels, info.labels)) changed.push(info.name);
    }
    for (const name of this.namespaces.keys()) if (!next.has(name)) changed.push(name);
    swap(this.namespaces, next);
    this.ambientNamespaces.clear();
    for (const info of next.values()) if (isAmbientNamespace(info.labels)) this.ambientNamespaces.add(info.name);
    this.known.Namespace = true;
    for (const name of changed) this.emit('Namespace', '', name);
  }
  /** Every workload of one kind after a (re-)list; the other kinds stay. */
  replaceWorkloads(kind: WorkloadKind, objs: readonly unknown[]): void {
    const next = new Map<string, WorkloadInfo>();
    for (const o of objs) {
      const info = workloadInfoOf(o, kind);
      if (info) next.set(`${info.namespace}/${info.name}`, info);
    }
    const changed: { namespace: string; name: string }[] = [];
    for (const [ns, b] of this.workloadsByNs) {
      for (const w of [...b.all()]) {
        if (w.kind !== kind) continue;
        const now = next.get(`${ns}/${w.name}`);
        if (!now) {
          b.delete(kind, w.name);
          changed.push(w);
        } else if (now.replicas === w.replicas && now.gateway === w.gateway && sameLabels(now.labels, w.labels))
          next.delete(`${ns}/${w.name}`);
      }
    }
    for (const info of next.values()) {
      bucket(this.workloadsByNs, info.namespace, () => new WorkloadBucket(info.namespace, this.withoutProxy)).set(info);
      changed.push(info);
    }
    this.known.Workload = true;
    for (const w of changed) this.emit('Workload', w.namespace, w.name);
  }
  /**
   * Services and ServiceEntries after a (re-)list. Nothing listens for their
   * changes (rules read them at decision time), so no notifications.
   */
  replaceServices(objs: readonly unknown[]): void {
    const next = new Map<string, ServiceBucket>();
    for (const o of objs) {
      const info = serviceInfoOf(o);
      if (info) bucket(next, info.namespace, () => new ServiceBucket()).set(info);
    }
    swap(this.servicesByNs, next);
    this.known.Registry = true;
  }
  replaceServiceEntries(objs: readonly unknown[]): void {
    this.entries.clear();
    for (const o of objs) {
      const info = serviceEntryInfoOf(o);
      if (info) this.entries.set(info);
    }
    this.known.Registry = true;
  }
  /** Marks a kind as known even when there are none (a synced, empty list). */
  markKnown(kind: KnownKind): void {
    this.known[kind] = true;
  }

  /** Tells every listener, whatever one of them throws: one that failed must not keep the others from hearing. */
  private emit(kind: ChangeKind, namespace: string, name: string): void {
    let failed: { err: unknown } | undefined;
    for (const l of this.listeners) {
      try {
        l(kind, namespace, name);
      } catch (err) {
        if (this.options.onListenerError) this.options.onListenerError(err, kind, namespace, name);
        else failed ??= { err };
      }
    }
    if (failed) throw failed.err;
  }
}

function refOfRaw(obj: unknown, fallbackNamespace = 'default'): { namespace: string; name: string } | undefined {
  const meta = (obj as { metadata?: { name?: unknown; namespace?: unknown } } | undefined)?.metadata;
  if (typeof meta?.name !== 'string' || meta.name === '') return undefined;
  return {
    namespace: typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : fallbackNamespace,
    name: meta.name,
  };
}

function sameLabels(a: Labels, b: Labels): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

/**
 * Whether a re-list brings nothing a listener acts on. Everything the view
 * keeps counts: the defaults controller reconciles on a changed egress or
 * outbound mode, and a pending UPDATE ends when its resourceVersion is seen.
 */
function sameSidecar(a: SidecarInfo, b: SidecarInfo): boolean {
  return (
    a.uid === b.uid &&
    a.resourceVersion === b.resourceVersion &&
    a.creationTimestamp === b.creationTimestamp &&
    a.selectorPresent === b.selectorPresent &&
    (a.selector === null ? b.selector === null : b.selector !== null && sameLabels(a.selector, b.selector)) &&
    sameHosts(a.egressHosts, b.egressHosts) &&
    a.outboundMode === b.outboundMode &&
    a.deleting === b.deleting &&
    sameLabels(a.labels, b.labels) &&
    sameLabels(a.annotations, b.annotations)
  );
}

function sameHosts(a: readonly string[] | null | undefined, b: readonly string[] | null | undefined): boolean {
  if (!a || !b) return a === b;
  return a.length === b.length && a.every((h, i) => h === b[i]);
}

/** Makes `target` hold exactly what `next` holds, in one synchronous step. */
function swap<K, V>(target: Map<K, V>, next: Map<K, V>): void {
  target.clear();
  for (const [k, v] of next) target.set(k, v);
}

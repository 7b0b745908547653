// Sidecars that were admitted (by this replica, or by another one through the
// claims in the API server, see claims.ts) but that this replica's view has
// not shown yet, and the rule for when one stops counting.
//
// A pending Sidecar only ever adds constraints: the rules see the stored
// objects AND every pending version beside them (an UPDATE beside the version
// it replaces, a CREATE beside a stored object of the same name that will make
// it fail with AlreadyExists). Letting a pending version replace the stored
// one would lift the stored one's constraints for a write the API server may
// never store.
//
// A pending Sidecar stops counting when
//   - the view shows it: the object with its uid (for an UPDATE, at a newer
//     version than the one it replaced); from then on the view carries it.
//     Checked when it is read from a claim or added (an UPDATE; see add), and
//     whenever the view tells of a change to a Sidecar of that name
//     (onChange), not at every decision: a decision reads the pending list
//     several times, and each check is a lookup in the store that is usually
//     out of the CPU's caches;
//   - or its expiry has passed AND the view is known to hold everything stored
//     up to that expiry (its watch was connected, or a list ran, after it):
//     had it been stored, the view would show it, so the API server refused it
//     after admission (a later webhook, AlreadyExists, a timeout).
// While the view is cut off from the API server nothing pending expires, for
// as long as that takes; overdue() names what is held that way so a denial
// can say why.
import { createHash, randomBytes } from 'node:crypto';
import { Undecided } from '../admission/decision.js';
import type { AdmissionRequest } from '../admission/types.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../sidecar/managed.js';
import { metadataOf } from '../sidecar/object.js';
import { REVISION_LABEL, revisionOf } from '../sidecar/revisions.js';
import { selectorOf, selectorPairs, type Labels, type SelectorPairs } from '../sidecar/selectors.js';
import { egressHostsOf, outboundModeOf, workloadSelectorPresent } from '../sidecar/records.js';
import type { ChangeListener } from './store.js';
import type {
  ClusterView,
  NamespaceInfo,
  PodFilter,
  PodInfo,
  ServiceEntryInfo,
  ServiceInfo,
  SidecarInfo,
  WorkloadInfo,
} from '../sidecar/view.js';
import { isRecord } from '../util/json.js';

export interface Reservation {
  /**
   * One per admitted version, the same on every replica and for a repeated
   * call: `c.<uid>` for a CREATE, `u.<uid>.<version replaced>` for an UPDATE,
   * `g.<random>` for a request without a uid (standalone, hand-made).
   */
  readonly key: string;
  /** What the rules see: namespace, name (made unique for a generateName-only CREATE), selector. */
  readonly info: SidecarInfo;
  readonly uid?: string;
  /** UPDATE: the resourceVersion it replaced ('' when unknown: then only its expiry ends it). */
  readonly replaces?: string;
  /** Which replica admitted it. */
  readonly replica: string;
  /** Wall-clock milliseconds. */
  readonly admittedAt: number;
  readonly expiresAt: number;
}

/** A view that tells of its changes (the informers' store); one that has no onChange never changes (--state files). */
export interface ObservedView extends ClusterView {
  onChange?(listener: ChangeListener): unknown;
}

export interface ReservationsOptions {
  /** The view pending Sidecars are checked against (the informers' store); its onChange settles them as it changes. */
  view: ObservedView;
  /** Wall clock, milliseconds since the epoch (claims carry absolute times). */
  now?: () => number;
  /**
   * The time up to which the view is known to hold every stored Sidecar
   * (sidecarViewCurrentAsOf for informers). Default: now, for a view that never
   * changes behind our back (--state files, tests).
   */
  viewCurrentAsOf?: () => number;
  /** This replica's name: only its own reservations are reported by onExpiredUnobserved. */
  replica?: string;
  /** One of our reservations ended by its expiry, never seen in the view. */
  onExpiredUnobserved?: (r: Reservation) => void;
  /**
   * How long after its expiry a key that stopped counting is remembered, so
   * that the same claim read again from the API server is not counted again.
   */
  forgetAfterMs?: number;
  /** At most this many pending Sidecars per namespace; beyond, add() throws Undecided. */
  maxPerNamespace?: number;
}

/** A watch event reaches the store a little after kube-apiserver sent it; a connected view is trusted up to this long ago. */
export const WATCH_SETTLE_MS = 1_000;
export const DEFAULT_MAX_PENDING_PER_NAMESPACE = 4_096;

export class Reservations {
  private readonly byNs = new Map<string, PendingNamespace>();
  /** Keys that stopped counting, until when they are remembered. */
  private readonly done = new Map<string, number>();
  private readonly now: () => number;
  private readonly currentAsOf: () => number;
  /** overlay() without extras: one view for every decision (it reads the reservations as they are at each call). */
  private plainOverlay: ReservedView | undefined;

  constructor(private readonly options: ReservationsOptions) {
    this.now = options.now ?? Date.now;
    this.currentAsOf = options.viewCurrentAsOf ?? this.now;
    options.view.onChange?.((kind, namespace, name) => kind === 'Sidecar' && this.observed(namespace, name));
  }

  get view(): ClusterView {
    return this.options.view;
  }

  add(r: Reservation): void {
    const ns = this.bucket(r.info.namespace);
    if (!ns.byKey.has(r.key) && ns.size >= (this.options.maxPerNamespace ?? DEFAULT_MAX_PENDING_PER_NAMESPACE)) {
      throw new Undecided(
        `namespace "${r.info.namespace}" already has ${ns.size} admitted Sidecars that the cluster view has not shown yet; not admitting more until it catches up`,
        'capacity',
      );
    }
    ns.set(r);
    // An UPDATE the view is already past (a concurrent write was stored first, so this one fails with a
    // conflict) never counts. A CREATE is not looked up: kube-apiserver stores an object only after its
    // admission is answered, so the view cannot show it yet, and the lookup, in a store table usually out of
    // the caches, cost about 0.8 us of each admitted CREATE (bench/ab.ts, 2026-12-03).
    if (r.replaces !== undefined && this.inView(r)) this.finish(r.info.namespace, ns, r);
  }

  /** What the claims object of a namespace holds now (api mode): it replaces what was known, less what already stopped counting here. */
  replaceNamespace(namespace: string, claims: readonly Reservation[]): void {
    this.forget();
    const ns = new PendingNamespace();
    for (const c of claims) {
      if (this.done.has(c.key)) continue;
      if (this.inView(c)) this.retire(c);
      else ns.set(c);
    }
    if (ns.size > 0) this.byNs.set(namespace, ns);
    else this.byNs.delete(namespace);
  }

  /** The pending Sidecars of a namespace that still count. */
  pending(namespace: string): readonly Reservation[] {
    const ns = this.byNs.get(namespace);
    if (!ns) return NONE;
    this.settle(namespace, ns);
    return ns.list();
  }

  /** Pending Sidecars of a namespace whose expiry has passed but that still count because the view is behind. */
  overdue(namespace: string): Reservation[] {
    const now = this.now();
    return this.pending(namespace).filter((r) => r.expiresAt <= now);
  }

  /** The store changed this Sidecar: settle what is pending for it now, not at the next decision. */
  private observed(namespace: string, name: string): void {
    const ns = this.byNs.get(namespace);
    if (!ns) return;
    for (const r of ns.list()) if (r.info.name === name && this.inView(r)) this.finish(namespace, ns, r);
  }

  size(): number {
    let n = 0;
    for (const namespace of [...this.byNs.keys()]) n += this.pending(namespace).length;
    return n;
  }

  /** How long ago the view was last known to hold everything (0 when current). */
  viewAgeMs(): number {
    return Math.max(0, this.now() - WATCH_SETTLE_MS - this.currentAsOf());
  }

  /** The view with the pending Sidecars laid beside the stored ones; `extra` adds a namespace's not yet recorded ones. */
  overlay(extra?: (namespace: string) => readonly Reservation[]): ClusterView {
    if (extra) return new ReservedView(this.options.view, this, extra);
    this.plainOverlay ??= new ReservedView(this.options.view, this);
    return this.plainOverlay;
  }

  /** Ends what has expired with the view current past its expiry (what the view shows was ended as it changed). */
  private settle(namespace: string, ns: PendingNamespace): void {
    const now = this.now();
    if (now < ns.earliestExpiry()) return;
    let asOf: number | undefined;
    for (const r of ns.list()) {
      if (r.expiresAt > now) continue;
      asOf ??= this.currentAsOf(); // read once, and only when some reservation has expired by the clock
      if (asOf < r.expiresAt) continue;
      this.finish(namespace, ns, r);
      if (r.replica === this.options.replica) this.options.onExpiredUnobserved?.(r);
    }
  }

  /** The view shows the admitted version (or a later one of the same object). */
  private inView(r: Reservation): boolean {
    if (r.uid === undefined) return false;
    const stored = this.options.view.sidecar(r.info.namespace, r.info.name);
    if (stored?.uid !== r.uid) return false;
    return r.replaces === undefined || newerVersion(stored.resourceVersion, r.replaces);
  }

  private finish(namespace: string, ns: PendingNamespace, r: Reservation): void {
    ns.delete(r.key);
    if (ns.size === 0) this.byNs.delete(namespace);
    this.retire(r);
  }

  /** Remembers that this key stopped counting, so that the same claim read again is not counted again. */
  private retire(r: Reservation): void {
    this.done.set(r.key, r.expiresAt + (this.options.forgetAfterMs ?? 0));
  }

  /** Drops remembered keys past their time (the map is in insertion order, roughly by expiry). */
  private forget(): void {
    const now = this.now();
    for (const [key, until] of this.done) {
      if (until > now) break;
      this.done.delete(key);
    }
  }

  private bucket(namespace: string): PendingNamespace {
    let ns = this.byNs.get(namespace);
    if (!ns) {
      ns = new PendingNamespace();
      this.byNs.set(namespace, ns);
    }
    return ns;
  }
}

const NONE: readonly never[] = Object.freeze([]);

/**
 * The pending Sidecars of one namespace, with their list and earliest expiry
 * found once per change rather than at every decision.
 */
class PendingNamespace {
  readonly byKey = new Map<string, Reservation>();
  private reservations: readonly Reservation[] | undefined;
  private earliest = Infinity;

  get size(): number {
    return this.byKey.size;
  }

  set(r: Reservation): void {
    this.byKey.set(r.key, r);
    this.reservations = undefined;
  }

  delete(key: string): void {
    if (this.byKey.delete(key)) this.reservations = undefined;
  }

  list(): readonly Reservation[] {
    if (this.reservations) return this.reservations;
    const list = [...this.byKey.values()];
    let earliest = Infinity;
    for (const r of list) earliest = Math.min(earliest, r.expiresAt);
    this.earliest = earliest;
    this.reservations = list;
    return list;
  }

  /** When the first of them expires by the clock. */
  earliestExpiry(): number {
    this.list();
    return this.earliest;
  }
}

const infoOf = (r: Reservation): SidecarInfo => r.info;

/**
 * Whether resourceVersion `a` is later than `b`. kube-apiserver's are etcd
 * revisions (decimal integers, comparable within a cluster); anything else
 * is compared for inequality only. '' (unknown) is never passed.
 */
export function newerVersion(a: string | undefined, b: string): boolean {
  if (a === undefined || b === '') return false;
  if (DECIMAL.test(a) && DECIMAL.test(b)) return a.length !== b.length ? a.length > b.length : a > b;
  return a !== b;
}
const DECIMAL = /^[0-9]+$/;

/** The informers' Sidecar status → the time up to which the view holds everything stored (see Reservations). */
export function sidecarViewCurrentAsOf(
  status: { synced: boolean; connected: boolean; disconnectedSince?: number; lastSyncAt?: number } | undefined,
  now: number,
): number {
  if (!status?.synced) return -Infinity;
  if (status.connected) return now - WATCH_SETTLE_MS;
  return Math.max(status.disconnectedSince ?? -Infinity, status.lastSyncAt ?? -Infinity) - WATCH_SETTLE_MS;
}

export interface ReserveAt {
  replica: string;
  now: number;
  ttlMs: number;
}

/**
 * The reservation for an admitted Sidecar CREATE or UPDATE. kube-apiserver
 * fills in name and uid before validating admission; a hand-made request (or
 * standalone mode) may carry neither, and still gets a key of its own, and a
 * name no other Sidecar can have, so it counts against every other one.
 */
export function reservationOf(request: AdmissionRequest, at: ReserveAt): Reservation | undefined {
  const object = request.object;
  if (!isRecord(object)) return undefined;
  const meta = metadataOf(object);
  const namespace = nonEmpty(meta.namespace) ?? nonEmpty(request.namespace) ?? 'default';
  const uid = nonEmpty(meta.uid);
  const update = request.operation === 'UPDATE';
  const replaces = update ? (nonEmpty(metadataOf(request.oldObject).resourceVersion) ?? '') : undefined;
  const random = uid === undefined ? randomBytes(8).toString('hex') : undefined;
  const key =
    uid === undefined
      ? `g.${random}`
      : update
        ? `u.${keyPart(uid)}.${keyPart(replaces || 'unknown')}`
        : `c.${keyPart(uid)}`;
  const name =
    nonEmpty(meta.name) ??
    nonEmpty(request.name) ??
    `${nonEmpty(meta.generateName) ?? ''}<generated ${random ?? keyPart(uid!)}>`;
  const selectorPresent = workloadSelectorPresent(object);
  // One literal, every field always present (undefined when absent): nothing built and spread in between.
  return {
    key,
    info: pendingInfo(namespace, name, {
      uid,
      selector: selectorOf(object),
      selectorPresent,
      managed: isRecord(meta.labels) && meta.labels[MANAGED_BY_LABEL] === MANAGED_BY_VALUE,
      revision: revisionOf(object),
      creationTimestamp: nonEmpty(meta.creationTimestamp),
      egressHosts: selectorPresent ? undefined : egressHostsOf(object),
      outboundMode: selectorPresent ? undefined : outboundModeOf(object),
    }),
    uid,
    replaces,
    replica: at.replica,
    admittedAt: at.now,
    expiresAt: at.now + at.ttlMs,
  };
}

/** What a pending Sidecar is known by: from the admitted object, or from a claim (which carries no egress hosts). */
export interface PendingFacts {
  uid?: string | undefined;
  selector: Labels | null;
  /** spec.workloadSelector is set at all (`{}` counts: istiod never makes such a Sidecar a default). */
  selectorPresent: boolean;
  managed: boolean;
  /** Its istio.io/rev label: Sidecars of different revisions do not conflict. */
  revision?: string | undefined;
  creationTimestamp?: string | undefined;
  /** Without a workloadSelector field: the egress hosts (null: no egress listener); absent when unknown. */
  egressHosts?: readonly string[] | null;
  /** Without a workloadSelector field: its outbound mode (null: no outboundTrafficPolicy); absent when unknown. */
  outboundMode?: string | null;
}

/**
 * The record the rules see for a pending Sidecar. Its own factory, on
 * purpose, not the store's sidecarInfoOf: V8 pretenures an allocation site
 * whose objects mostly survive, and loading thousands of Sidecars through
 * sidecarInfoOf teaches it exactly that, so a per-request record built there
 * is allocated in old space and keeps the request's young objects alive
 * through every scavenge (issue 20: about 500 KB promoted per scavenge at
 * 3,000+ Sidecars, gone under --no-allocation-site-pretenuring). `make bench`
 * watches for its return (promoted_kb_per_scavenge). Only what the rules read
 * is kept (the managed-by label phrases the way out of a conflict, istio.io/rev tells
 * which Sidecars can conflict at all), in one
 * literal of a fixed shape: a reservation is kept until the view shows its
 * object, so it should be small.
 */
export function pendingInfo(namespace: string, name: string, facts: PendingFacts): SidecarInfo {
  const { selector } = facts;
  return {
    namespace,
    name,
    uid: facts.uid,
    creationTimestamp: facts.creationTimestamp,
    selector,
    selectorPairs: selector ? selectorPairs(selector) : null,
    selectorPresent: facts.selectorPresent,
    egressHosts: facts.egressHosts,
    outboundMode: facts.outboundMode,
    labels:
      facts.revision !== undefined
        ? revisionLabels(facts.revision, facts.managed)
        : facts.managed
          ? MANAGED_LABELS
          : NO_LABELS,
    annotations: NO_LABELS,
  };
}

/** The labels a pending record keeps without a revision, and none: shared, so a kept reservation holds no label object of its own. */
const MANAGED_LABELS: Labels = Object.freeze({ [MANAGED_BY_LABEL]: MANAGED_BY_VALUE });
const NO_LABELS: Labels = Object.freeze({});

/** The labels of a pending record with a revision (rare: only then does it hold labels of its own). */
function revisionLabels(revision: string, managed: boolean): Labels {
  return managed
    ? { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [REVISION_LABEL]: revision }
    : { [REVISION_LABEL]: revision };
}

/** Keys name ConfigMap data entries ([-._a-zA-Z0-9], at most 253): a uid or version that is not safe there is hashed. */
function keyPart(s: string): string {
  return /^[-._a-zA-Z0-9]{1,80}$/.test(s) ? s : createHash('sha256').update(s).digest('hex').slice(0, 32);
}

const nonEmpty = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

class ReservedView implements ClusterView {
  constructor(
    private readonly base: ClusterView,
    private readonly reservations: Reservations,
    /** Not yet recorded reservations (api mode: a batch's earlier admissions), after the recorded ones. */
    private readonly extra?: (namespace: string) => readonly Reservation[],
  ) {}

  sidecar(namespace: string, name: string): SidecarInfo | undefined {
    return (
      this.base.sidecar(namespace, name) ?? this.pendingWithExtra(namespace).find((r) => r.info.name === name)?.info
    );
  }
  sidecars(namespace: string): readonly SidecarInfo[] {
    const stored = this.base.sidecars(namespace);
    const pending = this.pendingWithExtra(namespace);
    return pending.length === 0 ? stored : [...stored, ...pending.map(infoOf)];
  }
  /** The stored Sidecars the base view finds, then every pending one: nothing concatenated (a decision that reserves changes the pending list each time). */
  forEachSidecarCompatibleWith(namespace: string, pairs: SelectorPairs, visit: (s: SidecarInfo) => void): void {
    this.base.forEachSidecarCompatibleWith(namespace, pairs, visit);
    const pending = this.reservations.pending(namespace);
    for (let i = 0; i < pending.length; i++) visit(pending[i]!.info);
    const extra = this.extra?.(namespace) ?? NONE;
    for (let i = 0; i < extra.length; i++) visit(extra[i]!.info);
  }
  namespaceWide(namespace: string): readonly SidecarInfo[] {
    const stored = this.base.namespaceWide(namespace);
    const pending = this.pendingWithExtra(namespace);
    // Every decision asks (selector.shadowed looks for a `{}`): no list is made unless a pending one is namespace-wide.
    let wide: SidecarInfo[] | undefined;
    for (let i = 0; i < pending.length; i++) {
      const r = pending[i]!;
      if (r.info.selector !== null) continue;
      wide ??= [...stored];
      wide.push(infoOf(r));
    }
    return wide ?? stored;
  }
  /** The recorded pending Sidecars of a namespace, then the extra ones. */
  private pendingWithExtra(namespace: string): readonly Reservation[] {
    const pending = this.reservations.pending(namespace);
    const extra = this.extra?.(namespace) ?? NONE;
    return extra.length === 0 ? pending : [...pending, ...extra];
  }
  // Everything but Sidecars is read from the base view as it is.
  podsMatching(namespace: string, selector: Labels, limit: number, filter?: PodFilter): readonly PodInfo[] {
    return this.base.podsMatching(namespace, selector, limit, filter);
  }
  hasPodMatching(namespace: string, selector: Labels, filter?: PodFilter): boolean {
    return this.base.hasPodMatching(namespace, selector, filter);
  }
  knowsPods(): boolean {
    return this.base.knowsPods();
  }
  workloadsMatching(namespace: string, selector: Labels, limit: number): readonly WorkloadInfo[] {
    return this.base.workloadsMatching(namespace, selector, limit);
  }
  hasWorkloadMatching(namespace: string, selector: Labels): boolean {
    return this.base.hasWorkloadMatching(namespace, selector);
  }
  hasGatewayMatching(namespace: string, selector: Labels): boolean {
    return this.base.hasGatewayMatching(namespace, selector);
  }
  mayRunWithoutProxy(namespace: string): boolean {
    return this.base.mayRunWithoutProxy(namespace);
  }
  knowsWorkloads(): boolean {
    return this.base.knowsWorkloads();
  }
  service(namespace: string, name: string): ServiceInfo | undefined {
    return this.base.service(namespace, name);
  }
  hasService(namespace: string, name: string): boolean {
    return this.base.hasService(namespace, name);
  }
  serviceExportTo(namespace: string, name: string): readonly string[] | null | undefined {
    return this.base.serviceExportTo(namespace, name);
  }
  services(namespace: string): readonly ServiceInfo[] {
    return this.base.services(namespace);
  }
  servicePorts(namespace: string, name: string): readonly number[] | undefined {
    return this.base.servicePorts(namespace, name);
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

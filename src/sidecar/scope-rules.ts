// Warnings about what istiod will actually give a Sidecar's pods, where that
// differs from what the Sidecar seems to say: a Sidecar without egress or
// without outboundTrafficPolicy in place of a default that restricts them
// (istio/istio#59376; istiod merges no field from the default),
// `workloadSelector: {}` (istio/istio#46921), an outboundTrafficPolicy
// without a mode (Kiali's KIA1007) and egress hosts that an exclusion of
// their own listener cancels.
import { isRecord } from '../util/json.js';
import { describeRef, metadataOf, type ObjectRef } from './object.js';
import { hasEgress, isMeshDefault, outboundModeOf, workloadSelectorPresent } from './records.js';
import { readsIt, revisionIn, revisionOf, sameIstiod } from './revisions.js';
import { selectorOf } from './selectors.js';
import type { ClusterView, SidecarInfo } from './view.js';
import type { Violation } from './violation.js';

export interface ScopeInput {
  object: unknown;
  ref: ObjectRef;
}

export interface ScopeOptions {
  rootNamespace: string;
}

export function scopeRules(input: ScopeInput, view: ClusterView, options: ScopeOptions): Violation[] {
  const findings: Violation[] = [];
  addScopeFindings(findings, input, view, options);
  return findings;
}

/** scopeRules' findings, pushed onto `out` (the cross-object rules collect every finding in one array). */
export function addScopeFindings(out: Violation[], input: ScopeInput, view: ClusterView, options: ScopeOptions): void {
  emptySelector(out, input, view, options);
  shadowedByEmptySelector(out, input, view);
  // Most Sidecars have egress and an outbound policy: neither bypass can apply, and the default is not looked up.
  if (!hasEgress(input.object) || outboundModeOf(input.object) === null) {
    const replaced = replacedDefaults(input, view, options);
    egressBypass(out, input, replaced);
    outboundBypass(out, input, replaced);
  }
  addOutboundModeEmpty(out, input);
  addExcludedHosts(out, input, options.rootNamespace);
}

/**
 * The Sidecar the pods of a namespace get when no selector Sidecar picks
 * them, as the istiod of one revision chooses it: the oldest one of the
 * namespace without a workloadSelector field that this istiod reads
 * (unlabelled, or labelled istio.io/rev with its revision; `revision`
 * undefined: an istiod whose revision labels nothing, which reads the
 * unlabelled ones), else the oldest such one in the root namespace.
 */
export function defaultFor(
  namespace: string,
  view: ClusterView,
  rootNamespace: string,
  except?: string,
  revision?: string,
): SidecarInfo | undefined {
  const candidates = (ns: string) =>
    view
      .namespaceWide(ns)
      .filter(
        (s) =>
          !s.selectorPresent && !(ns === namespace && s.name === except) && readsIt(revision, revisionIn(s.labels)),
      );
  return oldest(candidates(namespace)) ?? (namespace === rootNamespace ? undefined : oldest(candidates(rootNamespace)));
}

/** Revisions the scope rules compare with one by one; a cluster runs two or three during an upgrade. */
const MAX_REVISIONS = 16;

/**
 * The defaults a Sidecar's pods may get in its place, one per istiod that
 * reads the Sidecar (`own`: its istio.io/rev label), without repeats: for one labelled istio.io/rev, its
 * revision's; for an unlabelled one (read by every istiod), that of each
 * revision a default of the namespace or the root namespace is labelled
 * with, and that of an istiod of any other revision. Without revision
 * labels, one lookup, as before revisions counted.
 */
function defaultsFor(own: string | undefined, ref: ObjectRef, view: ClusterView, rootNamespace: string): DefaultPick[] {
  let revisions: (string | undefined)[] = [own];
  if (own === undefined) {
    // Each revision's default is a scan of the defaults: thousands of revisions made a decision quadratic (8,000
    // defaults, 1.0-1.4 s; an adversarial probe, 2026-12-03). A cluster runs a few; past MAX_REVISIONS only the
    // default every istiod reads (an unlabelled one) is compared with.
    scan: for (const ns of ref.namespace === rootNamespace ? [ref.namespace] : [ref.namespace, rootNamespace])
      for (const s of view.namespaceWide(ns)) {
        const rev = revisionIn(s.labels);
        if (rev === undefined || revisions.includes(rev)) continue;
        revisions.push(rev);
        if (revisions.length > MAX_REVISIONS + 1) {
          revisions = [undefined];
          break scan;
        }
      }
  }
  const picks: DefaultPick[] = [];
  for (const revision of revisions) {
    const fallback = defaultFor(ref.namespace, view, rootNamespace, ref.name, revision);
    if (fallback && !picks.some((p) => p.fallback === fallback))
      picks.push({ fallback, revision: own === undefined ? revision : undefined });
  }
  return picks;
}

/** A default and, when the Sidecar is unlabelled but the default is not, the revision whose istiod picks it. */
interface DefaultPick {
  fallback: SidecarInfo;
  revision: string | undefined;
}

/** The first of them in istiod's order (olderThan). */
function oldest(sidecars: readonly SidecarInfo[]): SidecarInfo | undefined {
  let best: SidecarInfo | undefined;
  for (const s of sidecars) if (!best || olderThan(s, best)) best = s;
  return best;
}

/** Egress hosts restrict what the pods see unless they import every host (`*` in every namespace, nothing excluded). */
export function restrictsEgress(hosts: readonly string[] | null | undefined): hosts is readonly string[] {
  return !!hosts && !(hosts.includes('*/*') && !hosts.some((h) => h.startsWith('~')));
}

/** A default a Sidecar takes the place of for its pods, and how the warnings name it. */
interface Replaced {
  fallback: SidecarInfo;
  /** "the namespace default" or "the mesh-wide default", with the revision that picks it where that matters. */
  which: string;
  /** Whose traffic: "the pods it selects", or for a namespace-wide Sidecar "the pods of namespace <ns>". */
  whose: string;
}

/**
 * The defaults this Sidecar's pods would get without it, as istiod chooses:
 * for a selector Sidecar the namespace's default, else the root namespace's;
 * for a namespace-wide one outside the root namespace, the root namespace's
 * when it is the namespace's only one (beside another, conflict.default
 * speaks). One per istiod that reads it (istio.io/rev), usually one. Nothing
 * is inherited from them: istiod merges no field.
 */
function replacedDefaults({ object, ref }: ScopeInput, view: ClusterView, { rootNamespace }: ScopeOptions): Replaced[] {
  const selective = workloadSelectorPresent(object);
  if (!selective && ref.namespace === rootNamespace) return [];
  const replaced: Replaced[] = [];
  for (const { fallback, revision } of defaultsFor(revisionOf(object), ref, view, rootNamespace)) {
    if (!selective && fallback.namespace === ref.namespace) continue;
    const which = fallback.namespace === ref.namespace ? 'the namespace default' : 'the mesh-wide default';
    replaced.push({
      fallback,
      which: revision === undefined ? which : `${which} of revision "${revision}"`,
      whose: selective ? 'the pods it selects' : `the pods of namespace ${ref.namespace}`,
    });
  }
  return replaced;
}

/**
 * egress.bypass (istio/istio#59376): a Sidecar with no egress listener gives
 * its pods every host, while the default they would otherwise get (for a
 * namespace-wide Sidecar, the mesh-wide one) restricts egress.
 */
function egressBypass(out: Violation[], { object, ref }: ScopeInput, replaced: readonly Replaced[]): void {
  if (hasEgress(object)) return;
  // The first default that restricts egress: one is enough to warn.
  for (const { fallback, which, whose } of replaced) {
    const hosts = fallback.egressHosts;
    if (!restrictsEgress(hosts)) continue;
    const form = workloadSelectorPresent(object)
      ? 'with a workloadSelector and no egress listener'
      : 'with no egress listener';
    out.push({
      rule: 'egress.bypass',
      severity: 'warning',
      path: 'spec.egress',
      message: `${describeRef(ref)}: ${form}, ${whose} see every host (*/*) instead of the egress of ${which} ${describeRef(fallback)} (${shortList(hosts)}) (istio/istio#59376)`,
      hint: `add an egress listener with the hosts these pods need (those of ${fallback.namespace}/${fallback.name} to keep its restriction): a Sidecar inherits nothing from the default`,
    });
    return;
  }
}

/**
 * outbound.bypass: a Sidecar without outboundTrafficPolicy gets the mesh's
 * outbound mode (ALLOW_ANY unless MeshConfig sets another), not the
 * REGISTRY_ONLY of the default it replaces: its pods may call any host
 * outside the registry that the default blocked.
 */
function outboundBypass(out: Violation[], { object, ref }: ScopeInput, replaced: readonly Replaced[]): void {
  if (outboundModeOf(object) !== null) return;
  const first = replaced.find((r) => r.fallback.outboundMode === 'REGISTRY_ONLY');
  if (!first) return;
  const { fallback, which, whose } = first;
  out.push({
    rule: 'outbound.bypass',
    severity: 'warning',
    path: 'spec.outboundTrafficPolicy',
    message: `${describeRef(ref)}: without outboundTrafficPolicy, ${whose} get the mesh's outbound mode (ALLOW_ANY unless MeshConfig sets another) instead of REGISTRY_ONLY from ${which} ${describeRef(fallback)}: calls to hosts outside the service registry are let through`,
    hint: 'set outboundTrafficPolicy.mode: REGISTRY_ONLY here too: a Sidecar inherits nothing from the default',
  });
}

function shortList(hosts: readonly string[]): string {
  return hosts.length <= 4 ? hosts.join(', ') : `${hosts.slice(0, 4).join(', ')}, ... ${hosts.length - 4} more`;
}

/**
 * selector.empty: `workloadSelector: {}` (or `{labels: {}}`). Istio's
 * analyzer, and conflict.default here, count it as namespace-wide; istiod
 * sorts it with the selector Sidecars, where it matches every pod of the
 * namespace ahead of the real namespace default, and never makes it the
 * mesh-wide default.
 */
function emptySelector(
  out: Violation[],
  { object, ref }: ScopeInput,
  view: ClusterView,
  { rootNamespace }: ScopeOptions,
): void {
  if (!workloadSelectorPresent(object) || selectorOf(object) !== null) return;
  const revision = revisionOf(object);
  const [pick] = defaultsFor(revision, ref, view, rootNamespace);
  const over = !pick
    ? ''
    : `, ahead of the ${pick.fallback.namespace === ref.namespace ? 'namespace' : 'mesh-wide'} default ${describeRef(pick.fallback)}${pick.revision === undefined ? '' : ` (of revision "${pick.revision}")`}`;
  const root = ref.namespace === rootNamespace ? '; in the root namespace it never becomes the mesh-wide default' : '';
  out.push({
    rule: 'selector.empty',
    severity: 'warning',
    path: 'spec.workloadSelector',
    message: `${describeRef(ref)}: a workloadSelector without labels is counted as namespace-wide by Istio's analyzer, but istiod applies it as a selector matching every pod in ${ref.namespace}${over}${competing(ref, revision, view)}${root}`,
    hint: 'remove spec.workloadSelector to make it the namespace default, or give it labels',
  });
}

/**
 * selector.shadowed: a selector Sidecar beside an older `workloadSelector: {}`
 * of its namespace that every istiod reading the Sidecar reads too (the `{}`
 * unlabelled, or of the Sidecar's revision). istiod tries the Sidecars with
 * a selector field oldest first and `{}` matches every pod, so the older `{}`
 * takes every pod this one selects: it has no effect while the other exists.
 * Istio's analyzer counts `{}` as namespace-wide and reports no overlap, and
 * conflict.overlap compares labels, of which `{}` has none (found by the
 * SidecarScope differential, test/conformance/scope-claims.test.ts).
 * kube-apiserver sets a CREATE's creationTimestamp before admission; a
 * Sidecar without one (a manifest `check` reads) is taken to come after every
 * stored one, and the warning says so as a condition. Most namespaces hold no
 * `{}`: one look at their namespace-wide Sidecars.
 */
function shadowedByEmptySelector(out: Violation[], { object, ref }: ScopeInput, view: ClusterView): void {
  const wide = view.namespaceWide(ref.namespace);
  // An index loop that allocates nothing until a `{}` is seen: this runs for every Sidecar admitted.
  let own: { name: string; creationTimestamp: string | undefined; revision: string | undefined } | undefined;
  let first: SidecarInfo | undefined;
  for (let i = 0; i < wide.length; i++) {
    const s = wide[i]!;
    if (!s.selectorPresent || s.name === ref.name) continue;
    if (own === undefined) {
      if (selectorOf(object) === null) return;
      own = { name: ref.name, creationTimestamp: creationTimestampOf(object), revision: revisionOf(object) };
    }
    // Only when every istiod that reads this Sidecar reads the `{}` too: one of another revision takes only the
    // pods its own istiod serves (a review, 2026-12-03).
    if (!readsIt(own.revision, revisionIn(s.labels)) || !comesFirst(s, own)) continue;
    if (first === undefined || olderThan(s, first)) first = s;
  }
  if (own === undefined || first === undefined) return;
  // A manifest has no creationTimestamp: the order is the one `check` assumes, said as a condition.
  const when =
    own.creationTimestamp === undefined
      ? 'when it is created first (within the same second, istiod takes the name that sorts first)'
      : 'it is older';
  out.push({
    rule: 'selector.shadowed',
    severity: 'warning',
    path: 'spec.workloadSelector',
    peer: { namespace: first.namespace, name: first.name },
    message: `${describeRef(ref)}: ${describeRef(first)} has workloadSelector: {}, which istiod applies to every pod of ${ref.namespace}, and ${when}: istiod gives it every pod this Sidecar selects, so this Sidecar has no effect (Istio's analyzer does not report this)`,
    hint: `give ${first.name} workloadSelector labels, or remove its workloadSelector to make it the namespace default, which selector Sidecars take their pods from`,
  });
}

function creationTimestampOf(object: unknown): string | undefined {
  const created = metadataOf(object).creationTimestamp;
  return typeof created === 'string' && created !== '' ? created : undefined;
}

type Aged = Pick<SidecarInfo, 'name' | 'creationTimestamp'>;

/** Whether a stored Sidecar comes before the candidate, which without a creationTimestamp comes last. */
function comesFirst(a: Aged, candidate: Aged): boolean {
  return candidate.creationTimestamp === undefined || olderThan(a, candidate);
}

/**
 * istiod's order: creationTimestamp as a time (a manifest may write an offset
 * or fractions), then name; a missing or unreadable timestamp sorts first, as
 * in manifests none has one.
 */
function olderThan(a: Aged, b: Aged): boolean {
  const [x, y] = [timeOf(a.creationTimestamp), timeOf(b.creationTimestamp)];
  return x < y || (x === y && a.name < b.name);
}

function timeOf(timestamp: string | undefined): number {
  const t = timestamp === undefined ? Number.NaN : Date.parse(timestamp);
  return Number.isNaN(t) ? Number.NEGATIVE_INFINITY : t;
}

/**
 * The selector Sidecars of the namespace, which an empty selector competes
 * with for every pod they select: istiod gives each pod the oldest Sidecar
 * that selects it, so one of the two is ignored for those pods.
 */
function competing(ref: ObjectRef, revision: string | undefined, view: ClusterView): string {
  const names: string[] = [];
  let more = 0;
  for (const s of view.sidecars(ref.namespace)) {
    if (s.selector === null || s.name === ref.name || !sameIstiod(revision, revisionIn(s.labels))) continue;
    if (names.length < 3) names.push(s.name);
    else more++;
  }
  if (names.length === 0) return '';
  const list = `${names.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
  return `; for the pods that the selector Sidecars of ${ref.namespace} pick (${list}), istiod uses whichever of the two is older and ignores the other (Istio's analyzer does not report this overlap)`;
}

/**
 * outbound.mode-empty (Kiali's KIA1007, kiali/kiali#5882): an
 * outboundTrafficPolicy without a mode is REGISTRY_ONLY (the enum's zero
 * value) whatever the mesh's own setting, which readers rarely expect.
 * (Kiali, reading the decoded enum, also flags an explicit REGISTRY_ONLY;
 * the JSON here tells the two apart.)
 */
export function addOutboundModeEmpty(out: Violation[], { object, ref }: ScopeInput): void {
  const spec = isRecord(object) ? object.spec : undefined;
  const otp = isRecord(spec) ? spec.outboundTrafficPolicy : undefined;
  if (!isRecord(otp) || (otp.mode !== undefined && otp.mode !== null && otp.mode !== '')) return;
  out.push({
    rule: 'outbound.mode-empty',
    severity: 'warning',
    path: 'spec.outboundTrafficPolicy',
    message: `${describeRef(ref)}: outboundTrafficPolicy has no mode, which istiod reads as REGISTRY_ONLY whatever the mesh's outboundTrafficPolicy says (KIA1007)`,
    hint: 'set outboundTrafficPolicy.mode to REGISTRY_ONLY or ALLOW_ANY explicitly, or remove outboundTrafficPolicy to use the mesh setting',
  });
}

/** One listener's exclusions under one namespace key: `*` (everything), exact hosts, and `*.suffix` wildcards by suffix. */
interface Exclusions {
  all?: string;
  exact: Map<string, string>;
  /** `.suffix` (the wildcard without its `*`) to the exclusion as written. */
  suffixes: Map<string, string>;
}

/**
 * host.excluded: an egress host that a `~` exclusion of the same listener
 * removes whole. istiod tests a Service against the listener's exclusions
 * before its imports (pilot/pkg/model/sidecar.go, selectServices), so
 * `shop/reviews...` beside `~shop/*`, or `*\/*` beside `~/*`, imports
 * nothing, silently. Each host costs a lookup per label, whatever the
 * number of exclusions.
 */
export function addExcludedHosts(out: Violation[], { object, ref }: ScopeInput, rootNamespace: string): void {
  const spec = isRecord(object) ? object.spec : undefined;
  const egress = isRecord(spec) ? spec.egress : undefined;
  if (!Array.isArray(egress) || !hasExclusion(egress)) return;
  // In the root namespace's default, `.` is each proxy's own namespace: it equals only another `.`.
  const own = isMeshDefault(object, ref.namespace, rootNamespace) ? '.' : ref.namespace;
  for (let i = 0; i < egress.length; i++) {
    const listener = egress[i];
    const hosts = isRecord(listener) && Array.isArray(listener.hosts) ? (listener.hosts as unknown[]) : [];
    const byKey = exclusionsOf(hosts, own);
    if (byKey.size === 0) continue;
    const any = byKey.get('*');
    for (let j = 0; j < hosts.length; j++) {
      const host = hosts[j];
      if (typeof host !== 'string' || host.startsWith('~')) continue;
      const parts = splitHost(host, own);
      if (!parts) continue;
      const keyed = parts.key === '*' ? undefined : byKey.get(parts.key);
      const by = (keyed && excluder(parts.name, keyed)) ?? (any && excluder(parts.name, any));
      if (!by) continue;
      out.push({
        rule: 'host.excluded',
        severity: 'warning',
        path: `spec.egress[${i}].hosts[${j}]`,
        message: `${describeRef(ref)}: egress host "${host}" imports nothing: "${by}" in the same listener excludes everything it names, and istiod applies exclusions before imports`,
        hint: 'remove the host, or narrow or remove the exclusion so that it no longer covers the host',
      });
    }
  }
}

/** Whether any listener names a `~` host: without one (nearly always) nothing is built. */
function hasExclusion(egress: readonly unknown[]): boolean {
  for (const listener of egress) {
    const hosts = isRecord(listener) ? listener.hosts : undefined;
    if (!Array.isArray(hosts)) continue;
    for (const h of hosts) if (typeof h === 'string' && h.charCodeAt(0) === 0x7e) return true;
  }
  return false;
}

/** `ns/name` as istiod keys it (`.` resolved to `own`; `~` and an empty namespace part to `*` for exclusions). */
function splitHost(host: string, own: string): { key: string; name: string } | undefined {
  const slash = host.indexOf('/');
  if (slash < 0 || host.indexOf('/', slash + 1) >= 0) return undefined;
  let key = host.slice(0, slash);
  if (key.startsWith('~')) key = key.slice(1) || '*';
  return { key: key === '.' ? own : key, name: host.slice(slash + 1) };
}

function exclusionsOf(hosts: readonly unknown[], own: string): Map<string, Exclusions> {
  const byKey = new Map<string, Exclusions>();
  for (const host of hosts) {
    if (typeof host !== 'string' || !host.startsWith('~')) continue;
    const parts = splitHost(host, own);
    if (!parts) continue;
    let ex = byKey.get(parts.key);
    if (!ex) {
      ex = { exact: new Map(), suffixes: new Map() };
      byKey.set(parts.key, ex);
    }
    if (parts.name === '*') ex.all ??= host;
    else if (parts.name.startsWith('*.')) {
      if (!ex.suffixes.has(parts.name.slice(1))) ex.suffixes.set(parts.name.slice(1), host);
    } else if (!ex.exact.has(parts.name)) ex.exact.set(parts.name, host);
  }
  return byKey;
}

/**
 * The exclusion that covers every hostname `name` imports (Istio's
 * host.Name.SubsetOf of `name` in it), if any: `*`, the same exact name, or
 * a `*.suffix` that `name` ends in at a label boundary.
 */
function excluder(name: string, ex: Exclusions): string | undefined {
  if (ex.all) return ex.all;
  if (!name.startsWith('*')) {
    const exact = ex.exact.get(name);
    if (exact) return exact;
  }
  for (let dot = name.indexOf('.'); dot >= 0; dot = name.indexOf('.', dot + 1)) {
    const by = ex.suffixes.get(name.slice(dot));
    if (by) return by;
  }
  return undefined;
}

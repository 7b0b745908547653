// host.unknown (Kiali's KIA1004, "This host has no matching entry in the
// service registry", which Kiali shows after the fact): an egress host that
// imports nothing because no Service or ServiceEntry has that name where the
// host says, or no namespace of that name exists. Under REGISTRY_ONLY a
// typo there silently cuts the workload off.
//
// Istio's import rules (pilot/pkg/model/sidecar.go, selectServices): `ns/`
// is matched against the namespace the Service or ServiceEntry lives in
// (`*` any, `.` the Sidecar's own), an exact host matches a hostname only by
// equality (a wildcard ServiceEntry host is not imported by an exact one),
// a Kubernetes Service is name.namespace.svc.<cluster domain>, and only
// what is exported to the proxy's namespace can be imported.
import { boundedDistance } from '../util/distance.js';
import { isRecord } from '../util/json.js';
import { bucket } from '../util/maps.js';
import { HostClasses, keyMatches, serviceOf } from './imports.js';
import { describeRef, type ObjectRef } from './object.js';
import { isMeshDefault, visibleTo } from './records.js';
import type { ClusterView, ServiceEntryInfo, ServiceInfo } from './view.js';
import { FINDING_LIMITS, type Violation } from './violation.js';

export type UnknownHosts = 'warn' | 'deny' | 'off';
export const UNKNOWN_HOSTS_MODES: readonly UnknownHosts[] = ['warn', 'deny', 'off'];
/** Services often come after the Sidecars that name them, so a warning by default. */
export const DEFAULT_UNKNOWN_HOSTS: UnknownHosts = 'warn';
export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';

export interface HostInput {
  object: unknown;
  oldObject?: unknown;
  ref: ObjectRef;
}

export interface HostOptions {
  rootNamespace: string;
  unknownHosts?: UnknownHosts;
  clusterDomain?: string;
  /** Given by a caller that judges many Sidecars against a view that does not change (audit). */
  shared?: SharedSuggestions;
}

/**
 * What the host rules of every Sidecar of one audit share: the namespace
 * names read once, each unknown namespace's suggestion made once, and one
 * budget of comparisons for the run. Each Sidecar reading and searching every
 * namespace name was quadratic (10,000 defaults naming unknown namespaces:
 * 26 s); past the run's budget no more suggestions are made.
 */
export interface SharedSuggestions {
  namespaceNames?: readonly string[];
  nearestNamespace: Map<string, string | undefined>;
  comparisons: ComparisonBudget;
}

/** About 0.2 s of comparisons: 100 distinct unknown names in a cluster of 20,000 namespaces. */
const RUN_SUGGESTION_COMPARISONS = 2_000_000;

export function sharedSuggestions(): SharedSuggestions {
  return { nearestNamespace: new Map(), comparisons: { left: RUN_SUGGESTION_COMPARISONS } };
}

/** Suggestions further than this (in edits) from the host are not made: they would be guesses. */
const MAX_SUGGESTION_DISTANCE = 3;

/** Past this many hosts in a listener, host.unknown remembers what it found for each distinct host. */
const MEMO_AFTER = 16;

/** Whose view a registry entry is judged from: a Sidecar's namespace, or every namespace for the mesh default. */
interface Viewer {
  sidecarNamespace: string;
  /** The root namespace's default serves every namespace: it sees every entry. */
  meshDefault: boolean;
}

/** A Service or ServiceEntry living in `namespace` with this exportTo is visible to the viewer. */
const seenBy = (exportTo: readonly string[] | null | undefined, namespace: string, who: Viewer): boolean =>
  who.meshDefault || visibleTo(exportTo, namespace, who.sidecarNamespace);

/**
 * Explaining an unknown host searches the cluster (every namespace's name,
 * for `*\/` every ServiceEntry host), so one Sidecar gets a bounded number of
 * explanations: its first EXPLAINED_HOSTS unknown hosts (no more of one rule
 * are ever shown) and SUGGESTION_COMPARISONS edit-distance comparisons in
 * all. A Sidecar naming thousands of unknown hosts then costs a lookup per
 * host beyond what one naming twenty does, not a search of the cluster each.
 */
const EXPLAINED_HOSTS = FINDING_LIMITS.perRule;
const SUGGESTION_COMPARISONS = 20_000;

export function hostRules(input: HostInput, view: ClusterView, options: HostOptions): Violation[] {
  const findings: Violation[] = [];
  addHostFindings(findings, input, view, options);
  addListenerPortFindings(findings, input, view, options);
  return findings;
}

/**
 * host.port: istiod imports a host through an egress listener with a port
 * only where the host's Service or ServiceEntry has a port of that number
 * (pilot/pkg/model/sidecar.go, serviceMatchingListenerPort); without one the
 * listener makes no cluster, route or listener, so calls through it reach
 * nothing (istio/istio#16885). Judged for exact hosts whose Services and
 * ServiceEntries the view knows the ports of, on listeners with a port other
 * than 0 (a unix socket) and without protocol HTTP_PROXY (which imports
 * every port), when none of the ones the key imports has the port; and
 * for `ns/*` when none of the namespace's that the listener imports has it.
 * Listeners without a port, the usual kind, cost one property read.
 */
export function addListenerPortFindings(
  out: Violation[],
  { object, ref }: HostInput,
  view: ClusterView,
  options: HostOptions,
): void {
  const egress = egressOf(object);
  if (!egress) return;
  // The mesh default serves every namespace: `.` is each proxy's own, and every Service is seen.
  const meshDefault = isMeshDefault(object, ref.namespace, options.rootNamespace);
  let reads: NamespaceReads | undefined;
  for (let i = 0; i < egress.length; i++) {
    const port = listenerPortOf(egress[i]);
    if (port === undefined) continue;
    reads ??= { left: NAMESPACE_READS, services: new Map(), entries: new Map() };
    const hosts = hostsOf(egress[i]);
    if (!hosts) continue;
    const listener: ListenerContext = { hosts, port, sidecarNamespace: ref.namespace, meshDefault, reads };
    // A host listed many times is judged once: each judgement may read a namespace's Services.
    const judged = new Map<string, PortProblem | null>();
    for (let j = 0; j < hosts.length; j++) {
      const host = hosts[j];
      if (typeof host !== 'string') continue;
      let problem = judged.get(host);
      if (problem === undefined) {
        problem = portProblem(host, listener, view, options) ?? null;
        judged.set(host, problem);
      }
      if (problem)
        out.push({
          rule: 'host.port',
          severity: 'warning',
          path: `spec.egress[${i}].hosts[${j}]`,
          message: `${describeRef(ref)}: egress host "${host}" ${problem.text}`,
          hint: problem.hint,
        });
    }
  }
}

/** One egress listener with a port, as host.port reads it. */
interface ListenerContext {
  hosts: readonly unknown[];
  port: number;
  sidecarNamespace: string;
  meshDefault: boolean;
  /** What `ns/*` hosts read of their namespaces, shared by the Sidecar's listeners. */
  reads: NamespaceReads;
  /** The listener's hosts classified as istiod does, built for the first host that needs it. */
  classes?: HostClasses;
}

interface PortProblem {
  /** What follows `egress host "<host>" ` in the message. */
  text: string;
  hint: string;
}

const classesOf = (l: ListenerContext): HostClasses =>
  (l.classes ??= new HostClasses(stringsOf(l.hosts), l.sidecarNamespace));

/** Why a host of a listener with a port imports nothing through it, or undefined. */
function portProblem(
  host: string,
  l: ListenerContext,
  view: ClusterView,
  options: HostOptions,
): PortProblem | undefined {
  const { port } = l;
  const wholeNamespace = namespaceOfWildcard(host, l.sidecarNamespace, l.meshDefault);
  if (wholeNamespace !== undefined) {
    const why = noneOnPort(wholeNamespace, port, l, classesOf(l), view, options);
    if (!why) return undefined;
    return {
      text: `imports nothing through this listener: ${why}, and istiod imports a host through a listener with a port only where its Service or ServiceEntry has that port`,
      hint: "give the listener a port the namespace's Services have, or list the host in a listener without a port",
    };
  }
  const named = namedByHost(host, l.sidecarNamespace, l.meshDefault, view, options);
  // The common case, the host's Service has the port: nothing more is read.
  if (!named || named.every((n) => n.ports.includes(port))) return undefined;
  // What the listener imports, every host of it together (istiod's hostClassification): one the listener
  // excludes is host.excluded's, and the hostname may come in with the port through another key.
  const classes = classesOf(l);
  const imported = named.filter((n) => classes.imports(n.dns, n.namespace));
  if (imported.length === 0 || imported.some((n) => n.ports.includes(port))) return undefined;
  if (importedOnPort(imported[0]!.dns, port, l, classes, view, options)) return undefined;
  return {
    text: `${portlessText(imported, port)}: istiod imports a host through a listener with a port only where ${ownerNoun(imported)} has that port, so this listener gives it no route`,
    hint: `give the listener a port ${ownerNoun(imported)} has, or list the host in a listener without a port`,
  };
}

/** The namespace a `ns/*` host imports whole; undefined for any other host, `*\/*`, and `.` in the mesh default (each proxy's own). */
function namespaceOfWildcard(host: string, sidecarNamespace: string, meshDefault: boolean): string | undefined {
  const slash = host.indexOf('/');
  if (slash <= 0 || host.length !== slash + 2 || host.charCodeAt(slash + 1) !== STAR) return undefined;
  const key = host.slice(0, slash);
  if (key === '*' || key.charCodeAt(0) === TILDE || (key === '.' && meshDefault)) return undefined;
  return key === '.' ? sidecarNamespace : key;
}

/**
 * A namespace's Services and ServiceEntries, listed once per decision, and
 * how many more of them `ns/*` hosts may still read: past NAMESPACE_READS
 * they are not judged. 1,600 listeners on distinct ports, each with `big/*`
 * for a namespace of 20,000 Services, read 32 million of them (10 s, found
 * by an adversarial probe on 2026-12-03).
 */
interface NamespaceReads {
  left: number;
  services: Map<string, readonly ServiceInfo[]>;
  entries: Map<string, readonly ServiceEntryInfo[]>;
}

const NAMESPACE_READS = 100_000;

/**
 * Why `ns/*` imports nothing through a listener on `port`: every Service and
 * ServiceEntry of the namespace the listener imports for the Sidecar lacks
 * the port. Undefined when one has it, none is seen, or one's ports are not
 * known. Read only for `ns/*` on a listener with a port, a rare pair.
 */
function noneOnPort(
  namespace: string,
  port: number,
  ctx: ListenerContext,
  classes: HostClasses,
  view: ClusterView,
  options: HostOptions,
): string | undefined {
  const domain = options.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN;
  const seen = new Set<number>();
  let count = 0;
  const lacks = (ports: readonly number[] | undefined): boolean | undefined => {
    if (!ports) return undefined;
    count++;
    for (const p of ports) seen.add(p);
    return !ports.includes(port);
  };
  const { reads } = ctx;
  const services = bucket(reads.services, namespace, () => view.services(namespace));
  const entries = bucket(reads.entries, namespace, () => view.serviceEntries(namespace));
  reads.left -= services.length + entries.length;
  if (reads.left < 0) return undefined;
  for (const s of services) {
    if (!seenBy(s.exportTo, namespace, ctx) || !classes.imports(`${s.name}.${namespace}.svc.${domain}`, namespace))
      continue;
    if (lacks(s.ports) !== true) return undefined;
  }
  for (const se of entries) {
    if (!seenBy(se.exportTo, namespace, ctx) || !se.hosts.some((h) => classes.imports(h, namespace))) continue;
    if (lacks(se.ports) !== true) return undefined;
  }
  if (count === 0) return undefined;
  const listed = portList([...seen].sort((a, b) => a - b));
  return count === 1
    ? `the only Service or ServiceEntry of namespace ${namespace} it sees has no port ${port} (it has ${listed})`
    : `none of the ${count} Services and ServiceEntries of namespace ${namespace} it sees has port ${port} (they have ${listed})`;
}

/** A Service or ServiceEntry with a hostname, and its port numbers where the view knows them. */
interface SeenTarget {
  kind: 'Service' | 'ServiceEntry';
  namespace: string;
  name: string;
  dns: string;
  ports: readonly number[] | undefined;
}

/** A Service or ServiceEntry an exact egress host imports, with its port numbers. */
type PortedTarget = SeenTarget & { ports: readonly number[] };

/** What a host's ports belong to, for a message. */
function ownerNoun(targets: readonly PortedTarget[]): string {
  if (targets.length > 1) return 'one of them';
  return targets[0]!.kind === 'Service' ? 'the Service' : 'the ServiceEntry';
}

/**
 * Whether the listener imports the hostname on `port` through any of its
 * hosts: some Service or ServiceEntry with that hostname, visible to the
 * Sidecar, in a namespace the listener imports it from, has the port.
 */
function importedOnPort(
  dns: string,
  port: number,
  ctx: ListenerContext,
  classes: HostClasses,
  view: ClusterView,
  options: HostOptions,
): boolean {
  return visibleTargets(dns, ctx, view, options).some(
    (t) => classes.imports(dns, t.namespace) && t.ports?.includes(port) === true,
  );
}

/**
 * The Service and ServiceEntries with hostname `dns` that the viewer sees,
 * each with its port numbers where the view knows them.
 */
function visibleTargets(dns: string, who: Viewer, view: ClusterView, options: HostOptions): SeenTarget[] {
  const found: SeenTarget[] = [];
  const svc = serviceOf(dns, options.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN);
  if (svc) {
    const exportTo = view.serviceExportTo(svc.namespace, svc.name);
    // Not exported to the viewer: nothing is imported on any port, and host.unknown says why.
    if (exportTo !== undefined && seenBy(exportTo, svc.namespace, who))
      found.push({ kind: 'Service', ...svc, dns, ports: view.servicePorts(svc.namespace, svc.name) });
  }
  for (const se of view.serviceEntriesWithHost(dns))
    if (seenBy(se.exportTo, se.namespace, who))
      found.push({ kind: 'ServiceEntry', namespace: se.namespace, name: se.name, dns, ports: se.ports });
  return found;
}

/**
 * "is the Service a/b, which has no port 9080 (it has 80)"; for several,
 * each with its own ports: "is the host of the Service a/b (80) and
 * ServiceEntry c/d (none), none of which has port 9080".
 */
function portlessText(targets: readonly PortedTarget[], port: number): string {
  const what = (t: PortedTarget) =>
    t.kind === 'Service' ? `the Service ${t.namespace}/${t.name}` : `ServiceEntry ${t.namespace}/${t.name}`;
  if (targets.length === 1) {
    const t = targets[0]!;
    return `${t.kind === 'Service' ? 'is' : 'is declared by'} ${what(t)}, which has no port ${port} (it has ${portList(t.ports)})`;
  }
  const each = targets.map((t) => `${what(t)} (${portList(t.ports)})`);
  return `is the host of ${each.slice(0, -1).join(', ')} and ${each[each.length - 1]}, none of which has port ${port}`;
}

/** Port numbers for a message: the first eight, or "none". */
const portList = (ports: readonly number[]): string =>
  ports.length === 0 ? 'none' : `${ports.slice(0, 8).join(', ')}${ports.length > 8 ? ', ...' : ''}`;

/** A listener's port number when it restricts what it imports: set, not 0 (a unix socket), not HTTP_PROXY. */
function listenerPortOf(listener: unknown): number | undefined {
  const port = isRecord(listener) ? listener.port : undefined;
  if (!isRecord(port)) return undefined;
  const { number, protocol } = port;
  if (typeof number !== 'number' || number <= 0) return undefined;
  return typeof protocol === 'string' && protocol.toUpperCase() === 'HTTP_PROXY' ? undefined : number;
}

/** The string entries of a hosts list. */
const stringsOf = (hosts: readonly unknown[]): string[] => hosts.filter((h): h is string => typeof h === 'string');

/**
 * The Services and ServiceEntries an exact egress host `key/dns` imports for
 * the Sidecar (the key accepts their namespace, they are visible to it),
 * with their ports; undefined when it names none, names a wildcard, or one
 * of them has ports the view does not know (a metadata-only Service).
 */
function namedByHost(
  host: string,
  sidecarNamespace: string,
  meshDefault: boolean,
  view: ClusterView,
  options: HostOptions,
): PortedTarget[] | undefined {
  const slash = host.indexOf('/');
  if (slash <= 0 || host.charCodeAt(0) === TILDE || host.charCodeAt(slash + 1) === STAR) return undefined;
  const key = host.slice(0, slash);
  // `.` in the mesh default is each proxy's own namespace: not one Service.
  if (key === '.' && meshDefault) return undefined;
  const keyNs = key === '.' ? sidecarNamespace : key;
  const named: PortedTarget[] = [];
  for (const t of visibleTargets(host.slice(slash + 1), { sidecarNamespace, meshDefault }, view, options)) {
    if (!keyMatches(keyNs, t.namespace)) continue;
    // Ports not known (a metadata-only Service, an entry read without its spec): not judged.
    if (!t.ports) return undefined;
    named.push({ ...t, ports: t.ports });
  }
  return named.length > 0 ? named : undefined;
}

/**
 * hostRules' findings, pushed onto `out`. Index loops and no callback: this
 * runs for every host of every Sidecar admitted, and a host that names
 * something costs a lookup, not a finding or a closure.
 */
export function addHostFindings(
  out: Violation[],
  { object, oldObject, ref }: HostInput,
  view: ClusterView,
  options: HostOptions,
): void {
  const mode = options.unknownHosts ?? DEFAULT_UNKNOWN_HOSTS;
  if (mode === 'off' || !(view.knowsRegistry() || view.knowsNamespaces())) return;
  const egress = egressOf(object);
  if (!egress) return;
  const budget = Math.min(SUGGESTION_COMPARISONS, options.shared?.comparisons.left ?? Number.POSITIVE_INFINITY);
  const ctx: HostContext = {
    view,
    domain: options.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN,
    sidecarNamespace: ref.namespace,
    // The root namespace's default serves every namespace: `.` is each proxy's own, and visibility is per proxy.
    meshDefault: isMeshDefault(object, ref.namespace, options.rootNamespace),
    explained: 0,
    comparisons: { left: budget },
    shared: options.shared,
  };
  // The stored version's hosts, gathered on the first unknown host: asking the old list per host was
  // O(new × old), 7 s for an UPDATE of 49,000 hosts.
  let hadBefore: ReadonlySet<string> | undefined;
  // A long list judges each distinct host once (5,000 ServiceEntries of one host, listed 40,000 times, read
  // them all per listing: 1.3 s); the usual handful of hosts allocates no Map.
  let judged: Map<string, string | undefined> | undefined;
  for (let i = 0; i < egress.length; i++) {
    const hosts = hostsOf(egress[i]);
    if (!hosts) continue;
    if (hosts.length > MEMO_AFTER) judged ??= new Map();
    for (let j = 0; j < hosts.length; j++) {
      const host = hosts[j];
      if (typeof host !== 'string') continue;
      let problem: string | undefined;
      if (judged === undefined) problem = unknownHost(host, ctx);
      else if (judged.has(host)) problem = judged.get(host);
      else {
        problem = unknownHost(host, ctx);
        judged.set(host, problem);
      }
      if (!problem) continue;
      // With deny, a host the stored version already had is let through, so the object stays editable.
      if (mode === 'deny') hadBefore ??= hostsIn(oldObject);
      const error = hadBefore !== undefined && !hadBefore.has(host);
      out.push({
        rule: 'host.unknown',
        severity: error ? 'error' : 'warning',
        path: `spec.egress[${i}].hosts[${j}]`,
        message: error ? problem : `${describeRef(ref)}: ${problem}`,
        hint: 'correct the host, or create the Service or ServiceEntry it names first (--unknown-hosts=off turns this check off)',
      });
    }
  }
  if (ctx.shared) ctx.shared.comparisons.left -= budget - ctx.comparisons.left;
}

/** Every egress host a Sidecar names (none when there is no Sidecar, as on a CREATE). */
function hostsIn(sidecar: unknown): ReadonlySet<string> {
  const all = new Set<string>();
  const egress = egressOf(sidecar);
  if (!egress) return all;
  for (let i = 0; i < egress.length; i++) {
    const hosts = hostsOf(egress[i]);
    if (hosts) for (let j = 0; j < hosts.length; j++) if (typeof hosts[j] === 'string') all.add(hosts[j] as string);
  }
  return all;
}

interface HostContext {
  view: ClusterView;
  domain: string;
  sidecarNamespace: string;
  meshDefault: boolean;
  /** Unknown hosts explained so far (EXPLAINED_HOSTS at most). */
  explained: number;
  /** Edit-distance comparisons left to this Sidecar's suggestions. */
  comparisons: ComparisonBudget;
  shared: SharedSuggestions | undefined;
  /** The view's namespace names, read once per Sidecar (the store sorts them on every call). */
  namespaceNames?: readonly string[];
  /** Every visible exact ServiceEntry host and its namespace, gathered once per Sidecar for `*\/` hosts. */
  everyEntryHost?: Map<string, string>;
}

export interface ComparisonBudget {
  left: number;
}

/** Whether one more unknown host gets its explanation; counts it when it does. */
function mayExplain(ctx: HostContext): boolean {
  if (ctx.explained >= EXPLAINED_HOSTS) return false;
  ctx.explained++;
  return true;
}

/** spec.egress when it is a list. */
function egressOf(sidecar: unknown): readonly unknown[] | undefined {
  const spec = isRecord(sidecar) ? sidecar.spec : undefined;
  const egress = isRecord(spec) ? spec.egress : undefined;
  return Array.isArray(egress) ? egress : undefined;
}

/** A listener's hosts when they are a list. */
function hostsOf(listener: unknown): readonly unknown[] | undefined {
  const hosts = isRecord(listener) ? listener.hosts : undefined;
  return Array.isArray(hosts) ? hosts : undefined;
}

const TILDE = 0x7e;
const DOT = 0x2e;
const STAR = 0x2a;

/**
 * What is wrong with one egress host, or undefined when it imports something
 * (or cannot be judged). The host is read in place: only a host that names
 * a namespace or a hostname to look up is cut into its parts.
 */
function unknownHost(host: string, ctx: HostContext): string | undefined {
  const slash = host.indexOf('/');
  if (slash < 0 || host.indexOf('/', slash + 1) >= 0) return undefined; // Istio's own rules refuse it
  // An exclusion imports nothing by design; an empty namespace part is refused by Istio's own rules.
  if (slash === 0 || host.charCodeAt(0) === TILDE) return undefined;
  const own = slash === 1 && host.charCodeAt(0) === DOT; // `.`: the Sidecar's own namespace
  if (own && ctx.meshDefault) return undefined;
  const wildcard = host.charCodeAt(slash + 1) === STAR;
  if (wildcard && host.length !== slash + 2) return undefined; // a wildcard host: nothing to look up exactly
  const nsPart = own ? '.' : host.slice(0, slash);
  const ns = own ? ctx.sidecarNamespace : nsPart;
  // `ns/*`: the namespace must exist. The Sidecar's own does (the API server refuses an object in a namespace
  // that does not, before any webhook), even when the view has not shown it yet: a namespace created just
  // before its Sidecars are applied drew a false warning, and the lookup cost every decision a cold probe.
  if (wildcard) return ns === '*' || ns === ctx.sidecarNamespace ? undefined : unknownNamespace(host, ns, ctx);
  if (!ctx.view.knowsRegistry()) return undefined;
  const dns = host.slice(slash + 1);
  if (imported(dns, ns, ctx)) return undefined;
  const why = mayExplain(ctx) ? explanation(dns, ns, nsPart, ctx) : '';
  return `egress host "${host}" has no matching entry in the service registry (KIA1004)${why}`;
}

function unknownNamespace(host: string, ns: string, ctx: HostContext): string | undefined {
  const { view } = ctx;
  if (!view.knowsNamespaces() || view.hasNamespace(ns)) return undefined;
  const closest = mayExplain(ctx) ? nearestNamespace(ns, ctx) : undefined;
  return `egress host "${host}" names namespace "${ns}", which does not exist${closest ? `: did you mean ${closest}/*?` : ''}`;
}

function nearestNamespace(ns: string, ctx: HostContext): string | undefined {
  const memo = ctx.shared?.nearestNamespace;
  if (memo?.has(ns)) return memo.get(ns);
  const closest = nearest(ns, namespaceNamesOf(ctx), ctx.comparisons);
  // Kept only from a search that ran to its end: one cut short by this Sidecar's budget would answer for every
  // later Sidecar, which has a budget of its own (a review, 2026-12-03).
  if (ctx.comparisons.left > 0) memo?.set(ns, closest);
  return closest;
}

/** The view's namespace names, read once per Sidecar, or once per run when the caller shares them. */
function namespaceNamesOf(ctx: HostContext): readonly string[] {
  if (ctx.namespaceNames === undefined) {
    ctx.namespaceNames = ctx.shared?.namespaceNames ?? ctx.view.namespaceNames();
    if (ctx.shared) ctx.shared.namespaceNames = ctx.namespaceNames;
  }
  return ctx.namespaceNames;
}

function serviceVisible(name: string, namespace: string, ctx: HostContext): boolean {
  const exportTo = ctx.view.serviceExportTo(namespace, name);
  return exportTo !== undefined && seenBy(exportTo, namespace, ctx);
}

const entryVisible = (se: ServiceEntryInfo, ctx: HostContext): boolean => seenBy(se.exportTo, se.namespace, ctx);

/** Istio would import something for `ns/dns`: a visible Service or ServiceEntry with exactly that hostname, in a namespace the key accepts. */
function imported(dns: string, ns: string, ctx: HostContext): boolean {
  const svc = serviceOf(dns, ctx.domain, ctx.sidecarNamespace);
  if (svc && keyMatches(ns, svc.namespace) && serviceVisible(svc.name, svc.namespace, ctx)) return true;
  const entries = ctx.view.serviceEntriesWithHost(dns);
  for (let i = 0; i < entries.length; i++) {
    const se = entries[i]!;
    if (keyMatches(ns, se.namespace) && entryVisible(se, ctx)) return true;
  }
  return false;
}

/** Why nothing is imported, with the host that would work when one is near. */
function explanation(dns: string, ns: string, nsPart: string, ctx: HostContext): string {
  const { view } = ctx;
  const svc = serviceOf(dns, ctx.domain);
  if (svc && view.hasService(svc.namespace, svc.name)) {
    if (!keyMatches(ns, svc.namespace))
      return `: Service ${svc.name} lives in namespace ${svc.namespace}; did you mean ${svc.namespace}/${dns}?`;
    return `: Service ${svc.namespace}/${svc.name} is not exported to namespace ${ctx.sidecarNamespace} (networking.istio.io/exportTo)`;
  }
  const entries = view.serviceEntriesWithHost(dns);
  const elsewhere = entries.find((se) => !keyMatches(ns, se.namespace) && entryVisible(se, ctx));
  if (elsewhere)
    return `: ServiceEntry ${elsewhere.namespace}/${elsewhere.name} declares it in namespace ${elsewhere.namespace}; did you mean ${elsewhere.namespace}/${dns}?`;
  const hidden = entries.find((se) => keyMatches(ns, se.namespace));
  if (hidden)
    return `: ServiceEntry ${hidden.namespace}/${hidden.name} declares it but is not exported to namespace ${ctx.sidecarNamespace} (exportTo: ${(hidden.exportTo ?? []).join(', ')})`;
  const wildcard = coveringWildcard(dns, ns, ctx);
  if (wildcard)
    return `: ServiceEntry ${wildcard.se.namespace}/${wildcard.se.name} declares ${wildcard.host}, which an exact host does not import; did you mean ${wildcard.se.namespace}/${wildcard.host}?`;
  const near = nearestHost(dns, ns, nsPart, ctx);
  return near ? `; did you mean ${near}?` : '';
}

function coveringWildcard(
  dns: string,
  ns: string,
  ctx: HostContext,
): { se: ServiceEntryInfo; host: string } | undefined {
  for (const se of entriesUnder(ns, dns, ctx)) {
    const host = se.hosts.find((h) => h.startsWith('*') && (h === '*' || dns.endsWith(h.slice(1))));
    if (host) return { se, host };
  }
  return undefined;
}

/** The ServiceEntries a key can import from: its namespace's, or for `*` every one (found through the host's parts). */
function entriesUnder(ns: string, dns: string, { view }: HostContext): readonly ServiceEntryInfo[] {
  if (ns !== '*') return view.serviceEntries(ns);
  const out = new Set<ServiceEntryInfo>();
  for (const se of view.serviceEntriesWithHost(dns)) out.add(se);
  // `*.` and each suffix after a dot, cut from the host (re-joining its labels per suffix was quadratic:
  // 8.4 s for one 80 KB host, found by an adversarial probe on 2026-12-03).
  for (let dot = dns.indexOf('.'); dot >= 0; dot = dns.indexOf('.', dot + 1))
    for (const se of view.serviceEntriesWithHost(`*${dns.slice(dot)}`)) out.add(se);
  for (const se of view.serviceEntriesWithHost('*')) out.add(se);
  return [...out];
}

/**
 * The closest importable host in the namespace the key names (for `*`, the
 * namespace the host's own name points at): Service hostnames and visible
 * ServiceEntry hosts, by edit distance. A shortened Service name
 * (`reviews.shop.svc`, `reviews.shop`) is completed with the cluster domain.
 */
function nearestHost(dns: string, ns: string, nsPart: string, ctx: HostContext): string | undefined {
  const { view, domain } = ctx;
  // For `*`, Services of the namespace the name points at, and every ServiceEntry.
  const where = ns !== '*' ? ns : dns.split('.')[1];
  const serviceHosts: string[] = [];
  if (where) {
    for (const s of view.services(where))
      if (seenBy(s.exportTo, where, ctx)) serviceHosts.push(`${s.name}.${where}.svc.${domain}`);
  }
  const entryHost = ns !== '*' ? entryHostsIn([ns], ctx) : everyEntryHostOf(ctx);
  const best =
    completedService(dns, domain, [serviceHosts, entryHost.keys()]) ??
    nearest(dns, chain(serviceHosts, entryHost.keys()), ctx.comparisons);
  if (!best) return undefined;
  const key =
    nsPart === '.' || nsPart === '*' ? nsPart : (serviceOf(best, domain)?.namespace ?? entryHost.get(best) ?? ns);
  return `${key}/${best}`;
}

/** The first candidate that is a Service's hostname beginning with `dns.` (a shortened name completed). */
function completedService(dns: string, domain: string, lists: Iterable<string>[]): string | undefined {
  const prefix = `${dns}.`;
  for (const list of lists) for (const c of list) if (c.startsWith(prefix) && serviceOf(c, domain)) return c;
  return undefined;
}

function* chain(...lists: Iterable<string>[]): Generator<string> {
  for (const list of lists) yield* list;
}

function everyEntryHostOf(ctx: HostContext): Map<string, string> {
  ctx.everyEntryHost ??= entryHostsIn(namespaceNamesOf(ctx), ctx);
  return ctx.everyEntryHost;
}

/** The visible exact ServiceEntry hosts of `namespaces`, each with the namespace of its ServiceEntry. */
function entryHostsIn(namespaces: readonly string[], ctx: HostContext): Map<string, string> {
  const entryHost = new Map<string, string>();
  for (const n of namespaces) {
    for (const se of ctx.view.serviceEntries(n))
      if (entryVisible(se, ctx)) for (const h of se.hosts) if (!h.startsWith('*')) entryHost.set(h, se.namespace);
  }
  return entryHost;
}

/**
 * The candidate within MAX_SUGGESTION_DISTANCE edits of `word` (the nearest, then the first in order), if any.
 * With a budget, each candidate compared spends one; the search ends, with the best so far, when none is left.
 */
export function nearest(
  word: string,
  candidates: Iterable<string>,
  budget: ComparisonBudget = { left: Number.POSITIVE_INFINITY },
): string | undefined {
  let best: string | undefined;
  let bestDistance = MAX_SUGGESTION_DISTANCE;
  for (const c of candidates) {
    // Too far apart in length to be within reach: told without a comparison, so it costs nothing of the budget.
    if (c === word || Math.abs(c.length - word.length) > bestDistance) continue;
    if (budget.left <= 0) break;
    budget.left--;
    const d = boundedDistance(word, c, bestDistance);
    if (d < bestDistance || (d === bestDistance && (best === undefined || c < best))) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

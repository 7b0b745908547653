// What a Sidecar's egress hosts import, as istiod computes it
// (pilot/pkg/model/sidecar.go: hostClassification, selectServices;
// push_context.go: IsServiceVisible, doGetSidecarScope), over the view's
// registry: Kubernetes Services (name.namespace.svc.<domain>) and
// ServiceEntry hosts. One implementation for every reader: the
// host.unknown rule, audit --scope, and the traffic diff.
//
// - `ns/dns`: `ns` is matched against the namespace the Service or
//   ServiceEntry lives in (`.` the Sidecar's config namespace, `*` any);
//   `~ns/dns` excludes. An exact host matches only an equal hostname; a
//   wildcard (`*`, `*.example.com`) matches the hostnames it covers
//   (host.Name.SubsetOf).
// - only what is exported to the proxy's namespace can be imported
//   (exportTo: `*` or none, `.` own namespace, `~` nowhere, else the list).
// - no egress listener imports everything visible (`*/*`).
// Ports of port-specific egress listeners are not considered here (host.port
// judges exact Service hosts on them).
import { matches, selectorOf, type Labels } from './selectors.js';
import { egressHostsOf, visibleTo, workloadSelectorPresent } from './records.js';
import { metadataOf } from './object.js';
import type { ServiceEntryInfo, ServiceInfo } from './view.js';

/** `ns` accepts a Service or ServiceEntry living in `own` (after `.` was resolved). */
export const keyMatches = (ns: string, own: string): boolean => ns === '*' || ns === own;

/** Istio's host.Name.SubsetOf: every hostname `h` covers is covered by `o`. */
export function hostSubsetOf(h: string, o: string): boolean {
  const hWild = h.startsWith('*');
  const oWild = o.startsWith('*');
  if (hWild) return oWild && h.length >= o.length && h.slice(1).endsWith(o.slice(1));
  if (oWild) return h.endsWith(o.slice(1));
  return h === o;
}

/**
 * A Kubernetes Service hostname: name.namespace.svc.<cluster domain>. When
 * the namespace is `known` (the caller's own), that string is returned
 * rather than a copy cut from the hostname: a map lookup with a string
 * V8 has already hashed costs less than one with a new string.
 */
export function serviceOf(
  dns: string,
  domain: string,
  known?: string,
): { name: string; namespace: string } | undefined {
  const end = dns.length - domain.length - 5; // where ".svc.<domain>" starts
  if (end < 3 || !dns.endsWith(domain) || !dns.startsWith('.svc.', end)) return undefined;
  const dot = dns.indexOf('.');
  if (dot <= 0 || dot >= end - 1 || dns.indexOf('.', dot + 1) !== end) return undefined;
  const isKnown = known !== undefined && end - dot - 1 === known.length && dns.startsWith(known, dot + 1);
  return { name: dns.slice(0, dot), namespace: isKnown ? known : dns.slice(dot + 1, end) };
}

export const serviceHostname = (s: { name: string; namespace: string }, domain: string): string =>
  `${s.name}.${s.namespace}.svc.${domain}`;

/** The egress hosts of one namespace key: exact names, every name (exact and wildcard), and the excluded ones. */
export interface Classification {
  exact: Set<string>;
  all: string[];
  excluded: string[];
  /** Built on first use once a list is long (SCAN_LIMIT): what a host is tested against by lookups, not a scan. */
  index?: ClassIndex;
}

/**
 * Wildcards as the suffixes they cover (`*.example.com` as `.example.com`,
 * `*` as ''), exclusions split into exact names and such suffixes: a host is
 * then tested with one lookup per suffix of its own (at most its length),
 * not against every entry, which a Sidecar listing tens of thousands of
 * hosts and exclusions made quadratic.
 */
interface ClassIndex {
  wildcards: Set<string>;
  excludedExact: Set<string>;
  excludedWildcards: Set<string>;
}

/** Up to this many entries a scan costs less than the suffix lookups; typical listeners hold a handful. */
const SCAN_LIMIT = 16;

function classIndex(c: Classification): ClassIndex {
  if (c.index) return c.index;
  const index: ClassIndex = { wildcards: new Set(), excludedExact: new Set(), excludedWildcards: new Set() };
  for (const h of c.all) if (h.startsWith('*')) index.wildcards.add(h.slice(1));
  for (const e of c.excluded) {
    if (e.startsWith('*')) index.excludedWildcards.add(e.slice(1));
    else index.excludedExact.add(e);
  }
  c.index = index;
  return index;
}

/** Some wildcard whose suffix is in `suffixes` covers `h` (hostSubsetOf for a wildcard `o`): `h`'s suffixes looked up. */
function coveredBySuffix(suffixes: ReadonlySet<string>, h: string): boolean {
  if (suffixes.size === 0) return false;
  const name = h.startsWith('*') ? h.slice(1) : h;
  for (let k = 0; k <= name.length; k++) if (suffixes.has(k === 0 ? name : name.slice(k))) return true;
  return false;
}

/** Egress hosts grouped by namespace key, as istiod's hostClassification (`.` resolved to the config namespace). */
export class HostClasses {
  private readonly byNamespace = new Map<string, Classification>();

  constructor(hosts: readonly string[], configNamespace: string) {
    for (const h of hosts) {
      const slash = h.indexOf('/');
      if (slash < 0 || h.indexOf('/', slash + 1) >= 0) continue; // istiod logs and skips it
      let ns = h.slice(0, slash);
      const name = h.slice(slash + 1);
      const excluded = ns.startsWith('~');
      if (excluded) ns = ns.slice(1) || '*';
      if (ns === '.') ns = configNamespace;
      let c = this.byNamespace.get(ns);
      if (!c) {
        c = { exact: new Set(), all: [], excluded: [] };
        this.byNamespace.set(ns, c);
      }
      if (excluded) c.excluded.push(name);
      else {
        if (!name.startsWith('*')) c.exact.add(name);
        c.all.push(name);
      }
    }
  }

  /** Whether a Service or ServiceEntry host `hostname` living in `namespace` is imported (selectServices). */
  imports(hostname: string, namespace: string): boolean {
    const own = this.byNamespace.get(namespace);
    const any = this.byNamespace.get('*');
    if ((own && excludedBy(own, hostname)) || (any && excludedBy(any, hostname))) return false;
    return (!!own && classMatches(own, hostname)) || (!!any && classMatches(any, hostname));
  }

  /** imports() for a namespace no `ns/` key names: only the `*` key decides. */
  importsUnnamed(hostname: string): boolean {
    const any = this.byNamespace.get('*');
    return !!any && !excludedBy(any, hostname) && classMatches(any, hostname);
  }

  /** The keys and their hosts (`*` and the namespaces named), for indexes that look up candidates instead of testing every entry. */
  keys(): ReadonlyMap<string, Readonly<Classification>> {
    return this.byNamespace;
  }
}

function excludedBy(c: Classification, h: string): boolean {
  if (c.excluded.length <= SCAN_LIMIT) return c.excluded.some((e) => hostSubsetOf(h, e));
  const index = classIndex(c);
  // A wildcard host is never in excludedExact: an exact exclusion covers only its own name.
  return index.excludedExact.has(h) || coveredBySuffix(index.excludedWildcards, h);
}

/** hostClassification.Matches: exact lookup first; otherwise a match needs a wildcard on one side. */
function classMatches(c: Classification, h: string): boolean {
  if (c.exact.has(h)) return true;
  const hWild = h.startsWith('*');
  if (c.all.length <= SCAN_LIMIT)
    return c.all.some((imported) => (hWild || imported.startsWith('*')) && hostSubsetOf(h, imported));
  // A wildcard host is covered only by a wildcard (an exact import is no superset of it), as an exact one beyond `exact`.
  return coveredBySuffix(classIndex(c).wildcards, h);
}

export const serviceVisible = (s: ServiceInfo, toNamespace: string): boolean =>
  visibleTo(s.exportTo, s.namespace, toNamespace);
export const entryVisible = (se: ServiceEntryInfo, toNamespace: string): boolean =>
  visibleTo(se.exportTo, se.namespace, toNamespace);

/** The Sidecar a proxy gets: a selector one, the namespace's default, the root namespace's (mesh) default, or none. */
export interface SidecarInForce {
  kind: 'selector' | 'namespace' | 'mesh' | 'none';
  namespace?: string;
  name?: string;
  selector?: Labels;
  /** Egress hosts of every listener; null when it has no egress listener (everything is imported). */
  hosts: readonly string[] | null;
}

interface IndexedSidecar {
  namespace: string;
  name: string;
  created: string;
  selector: Labels | null;
  hosts: string[] | null;
}

/**
 * istiod's choice of Sidecar for a proxy (doGetSidecarScope): in the proxy's
 * namespace, the oldest Sidecar whose selector (`{}` included) matches its
 * labels, else the oldest selector-less one; else the root namespace's
 * selector-less one; else none. Ties in age go by name, as istiod sorts.
 */
export class SidecarIndex {
  private readonly byNamespace = new Map<string, IndexedSidecar[]>();

  constructor(
    sidecars: readonly unknown[],
    private readonly rootNamespace: string,
  ) {
    for (const obj of sidecars) {
      const meta = metadataOf(obj);
      if (typeof meta.name !== 'string' || typeof meta.namespace !== 'string') continue;
      const entry: IndexedSidecar = {
        namespace: meta.namespace,
        name: meta.name,
        created: typeof meta.creationTimestamp === 'string' ? meta.creationTimestamp : '',
        selector: workloadSelectorPresent(obj) ? (selectorOf(obj) ?? {}) : null,
        hosts: egressHostsOf(obj),
      };
      const list = this.byNamespace.get(entry.namespace) ?? [];
      list.push(entry);
      this.byNamespace.set(entry.namespace, list);
    }
    for (const list of this.byNamespace.values())
      list.sort((a, b) => a.created.localeCompare(b.created) || a.name.localeCompare(b.name));
  }

  /** The Sidecars with a workload selector in a namespace, oldest first. */
  selectorSidecars(namespace: string): SidecarInForce[] {
    return (this.byNamespace.get(namespace) ?? [])
      .filter((s) => s.selector !== null)
      .map((s) => inForce('selector', s));
  }

  /** What a proxy with these labels gets; without labels, what the namespace's other proxies get. */
  forProxy(namespace: string, labels?: Labels): SidecarInForce {
    const list = this.byNamespace.get(namespace) ?? [];
    if (labels) {
      const chosen = list.find((s) => s.selector !== null && matches(s.selector, labels));
      if (chosen) return inForce('selector', chosen);
    }
    const own = list.find((s) => s.selector === null);
    if (own) return inForce('namespace', own);
    const root = (this.byNamespace.get(this.rootNamespace) ?? []).find((s) => s.selector === null);
    if (root) return inForce('mesh', root);
    return { kind: 'none', hosts: null };
  }
}

function inForce(kind: SidecarInForce['kind'], s: IndexedSidecar): SidecarInForce {
  return {
    kind,
    namespace: s.namespace,
    name: s.name,
    ...(s.selector ? { selector: s.selector } : {}),
    hosts: s.hosts,
  };
}

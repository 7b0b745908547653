// How many registry hostnames a proxy imports (audit --scope), for every
// namespace of a cluster at once. The rule is imports.ts's, entry by entry:
// a Service or ServiceEntry host is imported when it is exported to the
// proxy's namespace (visibleTo) and the Sidecar's hosts import it
// (HostClasses.imports); a hostname counts once, as a Service when any
// Service declaring it is imported. Testing every entry for every namespace
// costs namespaces × registry, minutes at 10,000 of each; this index keeps
// the work per namespace to what its Sidecar names:
// - what no Sidecar imports (everything visible) is the count of the
//   hostnames exported everywhere, corrected by the few hostnames exported
//   to this namespace by name (exportTo lists): per namespace, work in
//   proportion to the exportTo lists that name it;
// - a Sidecar's `*/*.suffix` hosts are ranges of the hostnames sorted by
//   their reverse, counted from prefix sums as the registry exports them
//   everywhere, then corrected for the few hostnames this proxy may see
//   otherwise (exported to it by name, or named by an exclusion); `*/*` is
//   the range of every hostname;
// - its other hosts are turned into candidate hostnames by lookups (an
//   exact host: its hostname; a wildcard under `ns/`: that namespace's
//   hostnames), and only those are tested.
// - an `ns/*` key without exclusions (and no `*/` host beside it) counts
//   the namespace's hostnames that one declaration exports everywhere once
//   per namespace, for every Sidecar; only its other hostnames are tested.
// What is left in proportion to more than the Sidecar: any other wildcard
// under `ns/` reads that namespace's hostnames, and a wildcard exclusion the
// hostnames it names.
import { bucket } from '../util/maps.js';
import { HostClasses, serviceHostname } from './imports.js';
import type { ClusterView } from './view.js';

export interface ImportCounts {
  services: number;
  serviceEntryHosts: number;
}

type Kind = 'service' | 'entry';

/** Who declares one hostname: where everyone sees it (the namespaces, by kind), and whether any Service does. */
interface HostnameInfo {
  publicServices?: Set<string>;
  publicEntries?: Set<string>;
  anyService: boolean;
  /** How many Services and ServiceEntries declare it, and the namespace of the first. */
  declarations: number;
  home: string;
}

/**
 * A namespace's hostnames as an `ns/*` key with no exclusion imports them (all):
 * those only one Service or ServiceEntry declares, exported everywhere
 * (counted once for every viewer), and the rest, tested per viewer.
 */
interface WholeNamespace {
  sole: ImportCounts;
  soleHostnames: Set<string>;
  rest: string[];
}

/** A declaration exported to some namespaces by name (exportTo `.` or a list). */
interface NamedExport {
  namespace: string;
  kind: Kind;
}

const compareCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const reverse = (s: string): string => s.split('').reverse().join('');

/**
 * The suffixes no other of them ends in (their ranges are disjoint and cover
 * what all of them cover), and whether a hostname falls in one. Kept as
 * reversals in sorted order, where a suffix is a prefix and the strings with
 * a prefix follow it: a suffix is covered when the last one kept before it
 * is its prefix, and a hostname's range is found by binary search. Comparing
 * each suffix with each kept one was quadratic: 9 s for a Sidecar of 40,000
 * `*\/*.name` hosts in `audit --scope`.
 */
export class SuffixRanges {
  /** The widest suffixes, reversed, sorted; none is a prefix of another. */
  private readonly kept: string[] = [];

  constructor(suffixes: readonly string[]) {
    const reversed = [...new Set(suffixes)].map(reverse).sort(compareCodeUnits);
    for (const r of reversed) {
      const last = this.kept[this.kept.length - 1];
      if (last === undefined || !r.startsWith(last)) this.kept.push(r);
    }
  }

  get suffixes(): string[] {
    return this.kept.map(reverse);
  }

  /** Whether the hostname ends in one of the suffixes: the last kept reversal not after its own is its prefix. */
  covers(hostname: string): boolean {
    const r = reverse(hostname);
    let lo = 0;
    let hi = this.kept.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareCodeUnits(this.kept[mid]!, r) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo > 0 && r.startsWith(this.kept[lo - 1]!);
  }
}

export class ImportCounter {
  private readonly hostnames = new Map<string, HostnameInfo>();
  /** The hostnames declared in each namespace (a hostname may repeat). */
  private readonly inNamespace = new Map<string, string[]>();
  /** Viewer namespace → hostname → the declarations exported to it by name. */
  private readonly namedExports = new Map<string, Map<string, NamedExport[]>>();
  /** Every hostname reversed, sorted (the hostnames ending in a suffix are one range), and the hostnames in that order. */
  private readonly reversed: string[];
  private readonly byReverse: string[];
  /** How many of the first i hostnames in that order count as a Service, and as a ServiceEntry host, exported everywhere. */
  private readonly publicServicesBefore: Uint32Array;
  private readonly publicEntriesBefore: Uint32Array;
  private readonly everythingMemo = new Map<string, ImportCounts>();
  private readonly wholeMemo = new Map<string, WholeNamespace>();

  constructor(view: ClusterView, domain: string) {
    for (const ns of view.namespaceNames()) {
      for (const s of view.services(ns)) this.add(serviceHostname(s, domain), s.namespace, 'service', s.exportTo);
      for (const se of view.serviceEntries(ns))
        for (const h of se.hosts) this.add(h, se.namespace, 'entry', se.exportTo);
    }
    const order = [...this.hostnames.keys()].map((h) => [reverse(h), h] as const);
    order.sort((a, b) => compareCodeUnits(a[0], b[0]));
    this.reversed = order.map((o) => o[0]);
    this.byReverse = order.map((o) => o[1]);
    this.publicServicesBefore = new Uint32Array(order.length + 1);
    this.publicEntriesBefore = new Uint32Array(order.length + 1);
    this.byReverse.forEach((h, i) => {
      const kind = this.publicKind(h);
      this.publicServicesBefore[i + 1] = this.publicServicesBefore[i]! + (kind === 'service' ? 1 : 0);
      this.publicEntriesBefore[i + 1] = this.publicEntriesBefore[i]! + (kind === 'entry' ? 1 : 0);
    });
  }

  private add(hostname: string, namespace: string, kind: Kind, exportTo: readonly string[] | undefined): void {
    const info = bucket(
      this.hostnames,
      hostname,
      (): HostnameInfo => ({ anyService: false, declarations: 0, home: namespace }),
    );
    info.declarations++;
    if (kind === 'service') info.anyService = true;
    bucket(this.inNamespace, namespace, () => []).push(hostname);
    // visibleTo: no exportTo, or `*` among it, is everywhere; `.` is the own namespace; any other is that name.
    if (!exportTo || exportTo.length === 0 || exportTo.includes('*')) {
      if (kind === 'service') info.publicServices = (info.publicServices ?? new Set()).add(namespace);
      else info.publicEntries = (info.publicEntries ?? new Set()).add(namespace);
      return;
    }
    for (const viewer of new Set(exportTo.map((e) => (e === '.' ? namespace : e)))) {
      const byHost = bucket(this.namedExports, viewer, () => new Map<string, NamedExport[]>());
      bucket(byHost, hostname, () => []).push({ namespace, kind });
    }
  }

  /** Every hostname of the registry, whoever it is exported to: the whole mesh. */
  mesh(): ImportCounts {
    let services = 0;
    for (const info of this.hostnames.values()) if (info.anyService) services++;
    return { services, serviceEntryHosts: this.hostnames.size - services };
  }

  /** What a proxy in `namespace` imports with no Sidecar: everything exported to it. */
  everything(namespace: string): ImportCounts {
    const memo = this.everythingMemo.get(namespace);
    if (memo) return { ...memo };
    const counts = this.exportedEverywhere('');
    for (const h of this.namedExports.get(namespace)?.keys() ?? [])
      move(counts, this.publicKind(h), this.kindOf(h, namespace, null));
    this.everythingMemo.set(namespace, counts);
    return { ...counts };
  }

  /** What a proxy in `namespace` imports under a Sidecar with these egress hosts (`.` is `namespace`). */
  imported(hosts: readonly string[], namespace: string): ImportCounts {
    const classes = new HostClasses(hosts, namespace);
    const any = classes.keys().get('*');
    const ranges = new SuffixRanges(any?.all.filter((n) => n.startsWith('*')).map((n) => n.slice(1)) ?? []);
    const suffixes = ranges.suffixes;
    const inRanges = (h: string) => ranges.covers(h);
    const counts = { services: 0, serviceEntryHosts: 0 };
    if (suffixes.length > 0) {
      for (const s of suffixes) add(counts, this.exportedEverywhere(s));
      // The ranges counted each hostname as exported everywhere and imported. Not so for those exported to this
      // namespace by name, those an exclusion names, and a `*suffix` hostname under `*/**suffix` (not covered).
      const touched = this.candidates(classes, 'excluded');
      for (const h of this.namedExports.get(namespace)?.keys() ?? []) touched.add(h);
      for (const s of suffixes) if (s.startsWith('*') && this.hostnames.has(s)) touched.add(s);
      for (const h of touched) if (inRanges(h)) move(counts, this.publicKind(h), this.kindOf(h, namespace, classes));
    }
    // `ns/*` keys without exclusions, when no `*/` host can import the same hostnames again: what only one
    // declaration exports everywhere is counted per namespace once, not read per Sidecar (2,000 defaults of
    // `big/*` against 10,000 Services in big read them all for each: 13 s).
    const whole = any ? undefined : wholeKeys(classes);
    if (whole) for (const key of whole) add(counts, this.whole(key).sole);
    for (const h of this.candidates(classes, 'all', { anyWildcards: false, whole }))
      if (!inRanges(h)) move(counts, undefined, this.kindOf(h, namespace, classes));
    return counts;
  }

  /** A namespace's hostnames split for `ns/*` keys (WholeNamespace), once per namespace. */
  private whole(namespace: string): WholeNamespace {
    let w = this.wholeMemo.get(namespace);
    if (w) return w;
    w = { sole: { services: 0, serviceEntryHosts: 0 }, soleHostnames: new Set(), rest: [] };
    for (const h of new Set(this.inNamespace.get(namespace))) {
      const info = this.hostnames.get(h)!;
      const kind = info.declarations === 1 ? this.publicKind(h) : undefined;
      // `*` covers every hostname, wildcards too (hostSubsetOf).
      if (kind) {
        w.soleHostnames.add(h);
        move(w.sole, undefined, kind);
      } else w.rest.push(h);
    }
    this.wholeMemo.set(namespace, w);
    return w;
  }

  /** Whether a `whole` key counted the hostname already. */
  private countedWhole(hostname: string, whole: ReadonlySet<string> | undefined): boolean {
    if (!whole) return false;
    const info = this.hostnames.get(hostname);
    return info !== undefined && whole.has(info.home) && this.whole(info.home).soleHostnames.has(hostname);
  }

  /** Hostnames ending in `suffix`, by how they count when exported everywhere. */
  private exportedEverywhere(suffix: string): ImportCounts {
    const [from, to] = this.range(suffix);
    return {
      services: this.publicServicesBefore[to]! - this.publicServicesBefore[from]!,
      serviceEntryHosts: this.publicEntriesBefore[to]! - this.publicEntriesBefore[from]!,
    };
  }

  /** Every hostname the hosts (or the exclusions) of some key could match: a superset, each then tested. */
  private candidates(
    classes: HostClasses,
    which: 'all' | 'excluded',
    opts: { anyWildcards: boolean; whole?: ReadonlySet<string> } = { anyWildcards: true },
  ): Set<string> {
    const out = new Set<string>();
    const { whole } = opts;
    for (const [key, c] of classes.keys()) {
      if (whole?.has(key)) {
        for (const h of this.whole(key).rest) out.add(h);
        continue;
      }
      for (const name of c[which]) {
        // hostSubsetOf: a name without a leading `*` covers only itself; `*suffix` covers what ends in suffix.
        if (!name.startsWith('*')) {
          if (this.hostnames.has(name) && !this.countedWhole(name, whole)) out.add(name);
        } else if (key !== '*') {
          const suffix = name.slice(1);
          for (const h of this.inNamespace.get(key) ?? [])
            if (h.endsWith(suffix) && !this.countedWhole(h, whole)) out.add(h);
        } else if (opts.anyWildcards) {
          const [from, to] = this.range(name.slice(1));
          for (let i = from; i < to; i++) out.add(this.byReverse[i]!);
        }
      }
    }
    return out;
  }

  /** [from, to): the hostnames ending in `suffix`, in reverse order. */
  private range(suffix: string): [number, number] {
    const prefix = reverse(suffix);
    const first = (past: (r: string) => boolean): number => {
      let lo = 0;
      let hi = this.reversed.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (past(this.reversed[mid]!)) hi = mid;
        else lo = mid + 1;
      }
      return lo;
    };
    return [first((r) => r >= prefix), first((r) => r > prefix && !r.startsWith(prefix))];
  }

  private publicKind(hostname: string): Kind | undefined {
    const info = this.hostnames.get(hostname);
    return info?.publicServices ? 'service' : info?.publicEntries ? 'entry' : undefined;
  }

  /** How `hostname` counts for a proxy in `viewer`: a Service, a ServiceEntry host, or not at all. Null classes: no Sidecar. */
  private kindOf(hostname: string, viewer: string, classes: HostClasses | null): Kind | undefined {
    const info = this.hostnames.get(hostname);
    if (!info) return undefined;
    const named = this.namedExports.get(viewer)?.get(hostname);
    if (taken(hostname, 'service', info.publicServices, named, classes)) return 'service';
    if (taken(hostname, 'entry', info.publicEntries, named, classes)) return 'entry';
    return undefined;
  }
}

/** The `ns/*` keys with no exclusion, or undefined when there are none. */
function wholeKeys(classes: HostClasses): Set<string> | undefined {
  let keys: Set<string> | undefined;
  for (const [key, c] of classes.keys()) {
    if (c.excluded.length > 0 || !c.all.includes('*')) continue;
    keys ??= new Set();
    keys.add(key);
  }
  return keys;
}

/** Whether a declaration of this kind, visible to the viewer, is imported. */
function taken(
  hostname: string,
  kind: Kind,
  publicIn: ReadonlySet<string> | undefined,
  named: readonly NamedExport[] | undefined,
  classes: HostClasses | null,
): boolean {
  if (named?.some((d) => d.kind === kind && (!classes || classes.imports(hostname, d.namespace)))) return true;
  if (!publicIn) return false;
  if (!classes) return true;
  const keys = classes.keys();
  if (publicIn.size <= keys.size) {
    for (const ns of publicIn) if (classes.imports(hostname, ns)) return true;
    return false;
  }
  // Declared in more namespaces than the Sidecar names: test the named ones, and the rest as one.
  let inNamed = 0;
  for (const ns of keys.keys()) {
    if (ns === '*' || !publicIn.has(ns)) continue;
    inNamed++;
    if (classes.imports(hostname, ns)) return true;
  }
  return publicIn.size > inNamed && classes.importsUnnamed(hostname);
}

function add(counts: ImportCounts, more: ImportCounts): void {
  counts.services += more.services;
  counts.serviceEntryHosts += more.serviceEntryHosts;
}

function move(counts: ImportCounts, from: Kind | undefined, to: Kind | undefined): void {
  if (from === to) return;
  if (from === 'service') counts.services--;
  else if (from === 'entry') counts.serviceEntryHosts--;
  if (to === 'service') counts.services++;
  else if (to === 'entry') counts.serviceEntryHosts++;
}

// `generate --diff`: observed traffic against the Sidecars in force. Per
// namespace, the calls the Sidecar governing the caller does not allow
// (failing under REGISTRY_ONLY, or leaving through the passthrough cluster
// under ALLOW_ANY), and the hosts of the namespace's own Sidecars that no
// call used. A host that any call in the window used is never listed as
// unused; the template's hosts are never listed either (control-plane and
// same-namespace traffic is not always in the metrics). Pure.
import type { ClusterStore } from '../cluster/store.js';
import {
  entryVisible,
  HostClasses,
  serviceOf,
  serviceVisible,
  SidecarIndex,
  type SidecarInForce,
} from '../sidecar/imports.js';
import { egressHostOf, type Edge, type ObservedTraffic, type UnresolvedCalls } from '../traffic/edges.js';
import { workloadLabels } from './from-traffic.js';

export interface SidecarRef {
  kind: SidecarInForce['kind'];
  namespace?: string;
  name?: string;
}

export interface BlockedEdge {
  source: { namespace: string; workload: string };
  destination: string;
  destinationNamespace: string;
  requests: number;
  connections: number;
  /** The Sidecar that governs the calling workload. */
  sidecar: SidecarRef;
  /** not-imported: the Sidecar's egress hosts miss it (add `add`); not-exported: its exportTo hides it from the caller's namespace. */
  reason: 'not-imported' | 'not-exported';
  add: string;
}

export interface UnusedHost {
  sidecar: SidecarRef;
  host: string;
}

export interface NamespaceDiff {
  namespace: string;
  /** The Sidecar the namespace's proxies get when no selector Sidecar picks them. */
  sidecar: SidecarRef;
  blocked: BlockedEdge[];
  unused: UnusedHost[];
  unresolved: UnresolvedCalls[];
}

export interface DiffReport {
  window: string;
  namespaces: NamespaceDiff[];
  summary: { namespaces: number; edges: number; blocked: number; unused: number; unresolved: number };
}

export interface DiffOptions {
  rootNamespace: string;
  clusterDomain: string;
  /** Hosts as the template writes them (`./*`, `istio-system/*`): never proposed for removal. */
  templateHosts: readonly string[];
}

/**
 * `sidecars`: the raw Sidecar objects in force (their egress hosts); `store`:
 * the rest of the cluster (workloads and pods for the callers' labels,
 * Services and ServiceEntries for exportTo).
 */
export function trafficDiff(
  traffic: ObservedTraffic,
  sidecars: readonly unknown[],
  store: ClusterStore,
  namespaces: readonly string[],
  options: DiffOptions,
): DiffReport {
  const index = new SidecarIndex(sidecars, options.rootNamespace);
  const out: NamespaceDiff[] = [];
  for (const namespace of namespaces) {
    const edges = traffic.edges.filter((e) => e.source.namespace === namespace);
    const governed = edges.map((edge) => ({
      edge,
      sidecar: index.forProxy(namespace, workloadLabels(store, edge.source)),
    }));
    const blocked: BlockedEdge[] = [];
    for (const { edge, sidecar } of governed) {
      const reason = refusal(edge, sidecar, store, options);
      if (reason)
        blocked.push({
          source: edge.source,
          destination: edge.destination,
          destinationNamespace: edge.destinationNamespace,
          requests: edge.requests,
          connections: edge.connections,
          sidecar: refOf(sidecar),
          reason,
          add: egressHostOf(edge),
        });
    }
    const own = [index.forProxy(namespace), ...index.selectorSidecars(namespace)].filter(
      (s) => s.kind === 'namespace' || s.kind === 'selector',
    );
    const unused = own.flatMap((s) => unusedHosts(s, governed, namespace, store, options));
    out.push({
      namespace,
      sidecar: refOf(index.forProxy(namespace)),
      blocked,
      unused,
      unresolved: traffic.unresolved.filter((u) => u.source.namespace === namespace),
    });
  }
  const sum = (f: (d: NamespaceDiff) => number) => out.reduce((n, d) => n + f(d), 0);
  return {
    window: traffic.window,
    namespaces: out,
    summary: {
      namespaces: out.length,
      edges: traffic.edges.filter((e) => namespaces.includes(e.source.namespace)).length,
      blocked: sum((d) => d.blocked.length),
      unused: sum((d) => d.unused.length),
      unresolved: sum((d) => d.unresolved.length),
    },
  };
}

const refOf = (s: SidecarInForce): SidecarRef =>
  s.kind === 'none' ? { kind: 'none' } : { kind: s.kind, namespace: s.namespace!, name: s.name! };

/** Why the governing Sidecar does not let the call through, or undefined when it does. */
function refusal(
  edge: Edge,
  sidecar: SidecarInForce,
  store: ClusterStore,
  options: DiffOptions,
): BlockedEdge['reason'] | undefined {
  const caller = edge.source.namespace;
  if (hidden(edge, caller, store, options)) return 'not-exported';
  if (sidecar.hosts === null) return undefined; // no Sidecar, or one without egress: everything visible is imported
  const classes = new HostClasses(sidecar.hosts, caller);
  return namespacesDeclaring(edge, store).some((ns) => classes.imports(edge.destination, ns))
    ? undefined
    : 'not-imported';
}

/** Where the destination lives: the namespace the metrics name, or (when they do not) every namespace whose ServiceEntry declares the host. */
function namespacesDeclaring(edge: Edge, store: ClusterStore): string[] {
  if (edge.destinationNamespace) return [edge.destinationNamespace];
  return ['*', ...new Set(store.serviceEntriesWithHost(edge.destination).map((se) => se.namespace))];
}

/** The registry knows the destination and it is not exported to the caller's namespace. */
function hidden(edge: Edge, caller: string, store: ClusterStore, options: DiffOptions): boolean {
  if (!store.knowsRegistry() || !edge.destinationNamespace) return false;
  const svc = serviceOf(edge.destination, options.clusterDomain);
  const service =
    svc && svc.namespace === edge.destinationNamespace ? store.service(svc.namespace, svc.name) : undefined;
  if (service) return !serviceVisible(service, caller);
  const entries = store
    .serviceEntriesWithHost(edge.destination)
    .filter((se) => se.namespace === edge.destinationNamespace);
  return entries.length > 0 && !entries.some((se) => entryVisible(se, caller));
}

/** Hosts of one of the namespace's own Sidecars that none of the calls it governs used. */
function unusedHosts(
  sidecar: SidecarInForce,
  governed: readonly { edge: Edge; sidecar: SidecarInForce }[],
  namespace: string,
  store: ClusterStore,
  options: DiffOptions,
): UnusedHost[] {
  if (sidecar.hosts === null) return [];
  const calls = governed
    .filter((g) => g.sidecar.namespace === sidecar.namespace && g.sidecar.name === sidecar.name)
    .map((g) => g.edge);
  const template = new Set(
    options.templateHosts.flatMap((h) => [h, h.startsWith('./') ? `${namespace}/${h.slice(2)}` : h]),
  );
  const out: UnusedHost[] = [];
  for (const host of new Set(sidecar.hosts)) {
    if (host.startsWith('~') || template.has(host)) continue;
    const classes = new HostClasses([host], namespace);
    if (!calls.some((e) => namespacesDeclaring(e, store).some((ns) => classes.imports(e.destination, ns))))
      out.push({ sidecar: refOf(sidecar), host });
  }
  return out;
}

const describe = (s: SidecarRef): string =>
  s.kind === 'none'
    ? 'no default Sidecar'
    : `Sidecar ${s.namespace}/${s.name}${s.kind === 'mesh' ? ' (mesh default)' : ''}`;

function volume(e: { requests: number; connections: number }): string {
  const parts = [];
  if (e.requests > 0) parts.push(`${e.requests} request${e.requests === 1 ? '' : 's'}`);
  if (e.connections > 0) parts.push(`${e.connections} TCP connection${e.connections === 1 ? '' : 's'}`);
  return parts.join(', ');
}

export function formatDiffText(report: DiffReport): string {
  const lines: string[] = [];
  for (const d of report.namespaces) {
    if (d.blocked.length === 0 && d.unused.length === 0 && d.unresolved.length === 0) {
      lines.push(`${d.namespace} (${describe(d.sidecar)}): every call allowed, every host used`);
      continue;
    }
    lines.push(`${d.namespace} (${describe(d.sidecar)}):`);
    for (const b of d.blocked) {
      const why =
        b.reason === 'not-exported'
          ? `not exported to namespace ${b.source.namespace} (exportTo): no Sidecar host can import it`
          : `not allowed by ${describe(b.sidecar)}: add ${b.add}`;
      lines.push(`  blocked  ${b.source.namespace}/${b.source.workload} -> ${b.add} (${volume(b)}): ${why}`);
    }
    for (const u of d.unused)
      lines.push(`  unused   ${u.host} in ${describe(u.sidecar)}: no call in the last ${report.window}`);
    for (const u of d.unresolved) {
      lines.push(
        `  unnamed  ${u.source.namespace}/${u.source.workload} -> ${u.via} (${u.count} ${u.protocol === 'http' ? 'request' : 'TCP connection'}${u.count === 1 ? '' : 's'}): the metrics do not name the destination`,
      );
    }
  }
  const s = report.summary;
  lines.push(
    `${s.blocked} blocked call${s.blocked === 1 ? '' : 's'}, ${s.unused} unused host${s.unused === 1 ? '' : 's'} in ${s.namespaces} namespace${s.namespaces === 1 ? '' : 's'} (${s.edges} edges in the last ${report.window}; hosts with a call in the window are never listed as unused).`,
  );
  return `${lines.join('\n')}\n`;
}

export function formatDiffJson(report: DiffReport): string {
  return `${JSON.stringify(report)}\n`;
}

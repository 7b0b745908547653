// Who calls whom, from Istio's standard metrics: Prometheus series of
// istio_requests_total (HTTP, HTTP/2, gRPC) and
// istio_tcp_connections_opened_total (TCP), summed over a window and grouped
// by source workload and destination service, turned into edges a Sidecar
// must allow. Pure: the Prometheus client (prometheus.ts) fetches the series.
//
// Reporters: the client proxy reports a call with reporter="source", the
// server proxy reports the same call again with reporter="destination". An
// edge is counted once: from the source reporter when it has the edge, else
// from the destination reporter. The destination reporter alone names the
// service when the client proxy's own series say PassthroughCluster (the
// call left through the passthrough cluster under ALLOW_ANY because no
// Sidecar or registry entry covered it) or were not scraped. Other reporters
// (ambient's "waypoint") are left out: Sidecar resources do not apply there.

export const REQUESTS_METRIC = 'istio_requests_total';
export const TCP_METRIC = 'istio_tcp_connections_opened_total';
export const TRAFFIC_METRICS = [REQUESTS_METRIC, TCP_METRIC] as const;
export type TrafficMetric = (typeof TRAFFIC_METRICS)[number];

/** The labels every query groups by: reporter-aware, and enough to tell a named service from the passthrough and blackhole clusters. */
export const GROUP_BY = [
  'reporter',
  'source_workload_namespace',
  'source_workload',
  'destination_service',
  'destination_service_namespace',
  'destination_service_name',
] as const;

export type Protocol = 'http' | 'tcp';
const PROTOCOL_OF: Record<TrafficMetric, Protocol> = { [REQUESTS_METRIC]: 'http', [TCP_METRIC]: 'tcp' };

/** One series of a query result: its labels and its increase over the window. */
export interface TrafficSample {
  metric: TrafficMetric;
  labels: Readonly<Record<string, string>>;
  value: number;
}

export interface Workload {
  namespace: string;
  workload: string;
}

/** A call from a workload to a service (a Kubernetes Service FQDN or a ServiceEntry host). */
export interface Edge {
  source: Workload;
  /** The namespace of the Service or ServiceEntry; '' when the metrics do not say. */
  destinationNamespace: string;
  /** destination_service: `name.namespace.svc.<domain>` or a ServiceEntry host. */
  destination: string;
  /** Requests (http) and opened connections (tcp) in the window, each counted once. */
  requests: number;
  connections: number;
  /** Which reporter the counts come from, per protocol seen. */
  reporters: Partial<Record<Protocol, 'source' | 'destination'>>;
}

/** Calls whose destination the metrics cannot name (the passthrough or blackhole cluster, or "unknown"). */
export interface UnresolvedCalls {
  source: Workload;
  via: 'PassthroughCluster' | 'BlackHoleCluster' | 'unknown';
  protocol: Protocol;
  count: number;
}

export interface Traffic {
  edges: Edge[];
  unresolved: UnresolvedCalls[];
  /** Calls whose caller is not a known workload (source_workload "unknown": from outside the mesh). */
  fromOutside: number;
}

/** Traffic over a window, with the PromQL that produced it. */
export interface ObservedTraffic extends Traffic {
  window: string;
  /** The PromQL sent, one per metric. */
  queries: string[];
}

const UNKNOWN = 'unknown';
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** What a Sidecar egress host can name after the slash: a DNS name, lowercase, optionally with a leading `*.`. */
const DNS_NAME = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const SPECIAL_CLUSTERS = new Set(['PassthroughCluster', 'BlackHoleCluster']);

const known = (v: string | undefined): v is string => v !== undefined && v !== '' && v !== UNKNOWN;

/** The series of both metrics → edges, each counted once across reporters. */
export function edgesOf(samples: readonly TrafficSample[]): Traffic {
  type Counts = { source?: number; destination?: number };
  const counts = new Map<
    string,
    { edge: Omit<Edge, 'requests' | 'connections' | 'reporters'>; byProtocol: Partial<Record<Protocol, Counts>> }
  >();
  const unresolved = new Map<string, UnresolvedCalls>();
  let fromOutside = 0;
  for (const { metric, labels, value } of samples) {
    const reporter = labels.reporter;
    if ((reporter !== 'source' && reporter !== 'destination') || !(value > 0)) continue;
    const protocol = PROTOCOL_OF[metric];
    const srcNs = labels.source_workload_namespace;
    const srcWl = labels.source_workload;
    if (!known(srcNs) || !known(srcWl)) {
      fromOutside += value;
      continue;
    }
    const source = { namespace: srcNs, workload: srcWl };
    const name = labels.destination_service_name ?? '';
    const destination = labels.destination_service ?? '';
    if (SPECIAL_CLUSTERS.has(name) || !known(destination) || !DNS_NAME.test(destination)) {
      const via = SPECIAL_CLUSTERS.has(name) ? (name as UnresolvedCalls['via']) : 'unknown';
      const key = `${srcNs}\0${srcWl}\0${via}\0${protocol}`;
      // Only the client's proxy sees these; the server's report (if any) is an edge of its own.
      const u = unresolved.get(key) ?? { source, via, protocol, count: 0 };
      u.count += value;
      unresolved.set(key, u);
      continue;
    }
    const destNs = labels.destination_service_namespace;
    const destinationNamespace = known(destNs) && NAMESPACE.test(destNs) ? destNs : '';
    const key = `${srcNs}\0${srcWl}\0${destinationNamespace}\0${destination}`;
    let entry = counts.get(key);
    if (!entry) {
      entry = { edge: { source, destinationNamespace, destination }, byProtocol: {} };
      counts.set(key, entry);
    }
    entry.byProtocol[protocol] ??= {};
    const c = entry.byProtocol[protocol];
    c[reporter] = (c[reporter] ?? 0) + value;
  }
  const edges: Edge[] = [];
  for (const { edge, byProtocol } of counts.values()) {
    const out: Edge = { ...edge, requests: 0, connections: 0, reporters: {} };
    for (const protocol of ['http', 'tcp'] as const) {
      const c = byProtocol[protocol];
      if (!c) continue;
      const reporter = c.source !== undefined ? 'source' : 'destination';
      const n = Math.max(1, Math.round(c[reporter]!));
      if (protocol === 'http') out.requests = n;
      else out.connections = n;
      out.reporters[protocol] = reporter;
    }
    edges.push(out);
  }
  edges.sort(compareEdges);
  const calls = [...unresolved.values()].map((u) => ({ ...u, count: Math.max(1, Math.round(u.count)) }));
  calls.sort(
    (a, b) =>
      a.source.namespace.localeCompare(b.source.namespace) ||
      a.source.workload.localeCompare(b.source.workload) ||
      a.via.localeCompare(b.via) ||
      a.protocol.localeCompare(b.protocol),
  );
  return { edges, unresolved: calls, fromOutside: Math.round(fromOutside) };
}

function compareEdges(a: Edge, b: Edge): number {
  return (
    a.source.namespace.localeCompare(b.source.namespace) ||
    a.source.workload.localeCompare(b.source.workload) ||
    a.destinationNamespace.localeCompare(b.destinationNamespace) ||
    a.destination.localeCompare(b.destination)
  );
}

/** The egress host that allows an edge: `ns/<destination_service>`, or `*` for the namespace when the metrics do not say it. */
export function egressHostOf(edge: Pick<Edge, 'destinationNamespace' | 'destination'>): string {
  return `${edge.destinationNamespace || '*'}/${edge.destination}`;
}

/**
 * The egress hosts a set of edges needs, sorted and de-duplicated; with a
 * threshold, a destination namespace with more than that many hosts becomes
 * `ns/*` (0: never).
 */
export function hostsFor(edges: readonly Edge[], collapseThreshold = 0): string[] {
  const byNamespace = new Map<string, Set<string>>();
  for (const e of edges) {
    const key = e.destinationNamespace || '*';
    const set = byNamespace.get(key) ?? new Set<string>();
    set.add(egressHostOf(e));
    byNamespace.set(key, set);
  }
  const hosts: string[] = [];
  for (const [ns, set] of byNamespace) {
    if (collapseThreshold > 0 && ns !== '*' && set.size > collapseThreshold) hosts.push(`${ns}/*`);
    else hosts.push(...set);
  }
  return hosts.sort();
}

/** Edges grouped by the calling namespace. */
export function edgesByNamespace(edges: readonly Edge[]): Map<string, Edge[]> {
  const out = new Map<string, Edge[]>();
  for (const e of edges) {
    const list = out.get(e.source.namespace) ?? [];
    list.push(e);
    out.set(e.source.namespace, list);
  }
  return out;
}

// `audit --scope`: what the Sidecars in force save. For every namespace (and
// every selector Sidecar), how many Services and ServiceEntry hosts its
// proxies import under the Sidecar istiod picks for them, against what they
// would import with no Sidecar at all (everything exported to the
// namespace): the seeds' "config size per proxy" table, from the cluster's
// own objects. Istio's import rules live in src/sidecar/imports.ts.
import { storeOf, type ClusterObjects } from '../manifests/state.js';
import { ImportCounter, type ImportCounts } from '../sidecar/import-counts.js';
import { SidecarIndex, type SidecarInForce } from '../sidecar/imports.js';
import { matches, selectorString } from '../sidecar/selectors.js';
import { IGNORED_NAMESPACES } from './analyze.js';

export interface HostCounts {
  services: number;
  serviceEntryHosts: number;
  total: number;
}

export interface ScopeRow {
  namespace: string;
  /** The Sidecar in force: the namespace's own default, the root namespace's (mesh) default, none, or a selector Sidecar. */
  sidecar: { kind: SidecarInForce['kind']; namespace?: string; name?: string };
  /** For a selector Sidecar: its selector, and the workloads (pod templates, else pods) it picks. */
  selector?: string;
  workloads?: string[];
  /** What its proxies import under that Sidecar. */
  imported: HostCounts;
  /** What they would import with no Sidecar: everything exported to the namespace. */
  withoutSidecar: HostCounts;
}

export interface ScopeReport {
  namespaces: ScopeRow[];
  selectorSidecars: ScopeRow[];
  /** Namespaces where no Sidecar applies at all (no own default, no mesh default, no selector Sidecar): every proxy there imports the whole mesh. */
  unscoped: string[];
  summary: {
    namespaces: number;
    namespaceDefaults: number;
    meshDefault: number;
    withoutDefault: number;
    unscoped: number;
    selectorSidecars: number;
    mesh: HostCounts;
  };
}

export interface ScopeOptions {
  rootNamespace: string;
  clusterDomain: string;
}

const counts = (h: ImportCounts): HostCounts => ({ ...h, total: h.services + h.serviceEntryHosts });

export function scopeAudit(input: ClusterObjects, options: ScopeOptions): ScopeReport {
  const store = storeOf({ ...input, sidecars: [] });
  const index = new SidecarIndex(input.sidecars, options.rootNamespace);
  const registry = new ImportCounter(store, options.clusterDomain);
  const namespaces = store.namespaceNames().filter((ns) => !IGNORED_NAMESPACES.has(ns));
  const rows: ScopeRow[] = [];
  const selectorRows: ScopeRow[] = [];
  for (const namespace of namespaces) {
    const everything = counts(registry.everything(namespace));
    const row = (s: SidecarInForce): ScopeRow => ({
      namespace,
      sidecar: s.kind === 'none' ? { kind: 'none' } : { kind: s.kind, namespace: s.namespace!, name: s.name! },
      imported: s.hosts === null ? everything : counts(registry.imported(s.hosts, namespace)),
      withoutSidecar: everything,
    });
    rows.push(row(index.forProxy(namespace)));
    const selectorSidecars = index.selectorSidecars(namespace);
    // Read once per namespace, not once per selector Sidecar (the store copies its lists).
    const [workloadsHere, podsHere] =
      selectorSidecars.length > 0 ? [store.workloads(namespace), store.pods(namespace)] : [[], []];
    for (const s of selectorSidecars) {
      const selector = s.selector ?? {};
      const picked = workloadsHere.filter((w) => matches(selector, w.labels)).map((w) => w.name);
      const workloads =
        picked.length > 0 ? picked : podsHere.filter((p) => matches(selector, p.labels)).map((p) => p.name);
      selectorRows.push({ ...row(s), selector: selectorString(selector) || '{}', workloads: workloads.sort() });
    }
  }
  const mesh = counts(registry.mesh());
  const withSelectors = new Set(selectorRows.map((r) => r.namespace));
  const unscoped = rows
    .filter((r) => r.sidecar.kind === 'none' && !withSelectors.has(r.namespace))
    .map((r) => r.namespace);
  return {
    namespaces: rows,
    selectorSidecars: selectorRows,
    unscoped,
    summary: {
      namespaces: rows.length,
      namespaceDefaults: rows.filter((r) => r.sidecar.kind === 'namespace').length,
      meshDefault: rows.filter((r) => r.sidecar.kind === 'mesh').length,
      withoutDefault: rows.filter((r) => r.sidecar.kind === 'none').length,
      unscoped: unscoped.length,
      selectorSidecars: selectorRows.length,
      mesh,
    },
  };
}

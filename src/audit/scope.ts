// `audit --scope`: what the Sidecars in force save. For every namespace (and
// every selector Sidecar), how many Services and ServiceEntry hosts its
// proxies import under the Sidecar istiod picks for them, against what they
// would import with no Sidecar at all (everything exported to the
// namespace): the seeds' "config size per proxy" table, from the cluster's
// own objects. Istio's import rules live in src/sidecar/imports.ts.
import { storeOf, type ClusterObjects } from '../manifests/state.js';
import {
  importedHosts,
  registryHosts,
  SidecarIndex,
  type ImportedHosts,
  type SidecarInForce,
} from '../sidecar/imports.js';
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

const counts = (h: ImportedHosts): HostCounts => ({
  services: h.services.length,
  serviceEntryHosts: h.serviceEntryHosts.length,
  total: h.services.length + h.serviceEntryHosts.length,
});

export function scopeAudit(input: ClusterObjects, options: ScopeOptions): ScopeReport {
  const store = storeOf({ ...input, sidecars: [] });
  const index = new SidecarIndex(input.sidecars, options.rootNamespace);
  const namespaces = store.namespaceNames().filter((ns) => !IGNORED_NAMESPACES.has(ns));
  const rows: ScopeRow[] = [];
  const selectorRows: ScopeRow[] = [];
  for (const namespace of namespaces) {
    const everything = counts(importedHosts(store, null, namespace, options.clusterDomain));
    const row = (s: SidecarInForce): ScopeRow => ({
      namespace,
      sidecar: s.kind === 'none' ? { kind: 'none' } : { kind: s.kind, namespace: s.namespace!, name: s.name! },
      imported: s.hosts === null ? everything : counts(importedHosts(store, s.hosts, namespace, options.clusterDomain)),
      withoutSidecar: everything,
    });
    rows.push(row(index.forProxy(namespace)));
    for (const s of index.selectorSidecars(namespace)) {
      const selector = s.selector ?? {};
      const picked = store
        .workloads(namespace)
        .filter((w) => matches(selector, w.labels))
        .map((w) => w.name);
      const workloads =
        picked.length > 0
          ? picked
          : store
              .pods(namespace)
              .filter((p) => matches(selector, p.labels))
              .map((p) => p.name);
      selectorRows.push({ ...row(s), selector: selectorString(selector) || '{}', workloads: workloads.sort() });
    }
  }
  const mesh = counts(registryHosts(store, options.clusterDomain));
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

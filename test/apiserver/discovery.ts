// API discovery: /version, /api, /api/v1, /apis, /apis/<group>,
// /apis/<group>/<version>, in the classic format and in the aggregated
// format (apidiscovery.k8s.io/v2) that kubectl 1.30+ asks for first.

import { apiVersionOf } from './resources.js';
import type { ResourceRegistry } from './resources.js';
import type { ResourceType } from './types.js';

type Doc = Record<string, unknown>;

export const AGGREGATED_DISCOVERY_V2 = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

export function versionInfo(): Doc {
  return {
    major: '1',
    minor: '32',
    gitVersion: 'v1.32.0',
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2024-12-11T00:00:00Z',
    goVersion: 'go1.23.3',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

/** Kubernetes' version priority: v2 > v1 > v1beta2 > v1beta1 > v1alpha1 > anything else (alphabetical). */
export function compareKubeVersions(a: string, b: string): number {
  const parse = (v: string): [number, number, number] | undefined => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return undefined;
    const stability = m[2] === undefined ? 3 : m[2] === 'beta' ? 2 : 1;
    return [stability, Number(m[1]), Number(m[3] ?? 0)];
  };
  const pa = parse(a);
  const pb = parse(b);
  if (pa && pb) return pb[0] - pa[0] || pb[1] - pa[1] || pb[2] - pa[2];
  if (pa) return -1;
  if (pb) return 1;
  return a.localeCompare(b);
}

function sortedVersions(registry: ResourceRegistry, group: string): string[] {
  return [...registry.groupVersions(group)].sort(compareKubeVersions);
}

function resourceEntries(t: ResourceType): Doc[] {
  const entry: Doc = {
    name: t.plural,
    singularName: t.singular,
    namespaced: t.namespaced,
    kind: t.kind,
    verbs: t.verbs,
  };
  if (t.shortNames.length > 0) entry.shortNames = t.shortNames;
  if (t.categories.length > 0) entry.categories = t.categories;
  const out = [entry];
  if (t.statusSubresource) {
    out.push({
      name: `${t.plural}/status`,
      singularName: '',
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: ['get', 'patch', 'update'],
    });
  }
  return out;
}

export function apiVersions(serverAddress: string): Doc {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

export function resourceList(registry: ResourceRegistry, group: string, version: string): Doc | undefined {
  const types = registry.inGroupVersion(group, version);
  if (types.length === 0) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: apiVersionOf(group, version),
    resources: types.flatMap(resourceEntries),
  };
}

function groupEntry(registry: ResourceRegistry, group: string): Doc {
  const versions = sortedVersions(registry, group).map((v) => ({ groupVersion: `${group}/${v}`, version: v }));
  return { name: group, versions, preferredVersion: versions[0] };
}

export function groupList(registry: ResourceRegistry): Doc {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: registry.groups().map((g) => groupEntry(registry, g)) };
}

export function apiGroup(registry: ResourceRegistry, group: string): Doc | undefined {
  if (!registry.groups().includes(group)) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(registry, group) };
}

function aggregatedResource(t: ResourceType, version: string): Doc {
  const responseKind = { group: t.group, version, kind: t.kind };
  const entry: Doc = {
    resource: t.plural,
    responseKind,
    scope: t.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: t.singular,
    verbs: t.verbs,
  };
  if (t.shortNames.length > 0) entry.shortNames = t.shortNames;
  if (t.categories.length > 0) entry.categories = t.categories;
  if (t.statusSubresource)
    entry.subresources = [{ subresource: 'status', responseKind, verbs: ['get', 'patch', 'update'] }];
  return entry;
}

function aggregatedGroup(registry: ResourceRegistry, group: string, versions: string[]): Doc {
  return {
    metadata: group === '' ? { creationTimestamp: null } : { name: group, creationTimestamp: null },
    versions: versions.map((v) => ({
      version: v,
      resources: registry.inGroupVersion(group, v).map((t) => aggregatedResource(t, v)),
      freshness: 'Current',
    })),
  };
}

/** `/api` (legacy: true) or `/apis` in the aggregated discovery format. */
export function aggregatedDiscovery(registry: ResourceRegistry, legacy: boolean): Doc {
  const items = legacy
    ? [aggregatedGroup(registry, '', ['v1'])]
    : registry.groups().map((g) => aggregatedGroup(registry, g, sortedVersions(registry, g)));
  return { kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', metadata: {}, items };
}

/** Whether an Accept header asks for aggregated discovery v2 (kubectl lists it first, then falls back). */
export function wantsAggregatedDiscovery(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.split(',').some((part) => {
    const params = part.split(';').map((p) => p.trim());
    return (
      params.includes('g=apidiscovery.k8s.io') && params.includes('v=v2') && params.includes('as=APIGroupDiscoveryList')
    );
  });
}

// The namespace-default Sidecar: one selector-less Sidecar per namespace that
// limits egress to the namespace itself, the control plane, and what the
// dependency map says the namespace's services call. Pure: same inputs, same
// object, byte for byte.
import { createHash } from 'node:crypto';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../sidecar/managed.js';

export const TEMPLATE_HASH_ANNOTATION = 'sidecar-guard.io/template-hash';
export const GENERATE_ANNOTATION = 'sidecar-guard.io/generate';
export const DEFAULT_NAMESPACE_LABEL = 'sidecar-guard.io/default-sidecar';

export interface DefaultsTemplate {
  /** Name of the generated Sidecar (default "default"). */
  name: string;
  /** Egress hosts every namespace gets; `{root}` stands for the root namespace. */
  egressHosts: string[];
  /** REGISTRY_ONLY blocks traffic to hosts outside the mesh registry. */
  outboundTrafficPolicy?: { mode: 'REGISTRY_ONLY' | 'ALLOW_ANY' };
  clusterDomain: string;
  apiVersion: string;
}

/** The seeds' dependencies.yaml: `services: { "ns/svc": { calls: ["ns/svc" | "ns/*"], external: ["host"] } }`. */
export interface DependencyMap {
  services: Record<string, { calls?: string[]; external?: string[] }>;
}

export interface DefaultsConfig {
  rootNamespace: string;
  template: DefaultsTemplate;
  dependencies?: DependencyMap;
}

export const DEFAULT_TEMPLATE: DefaultsTemplate = {
  name: 'default',
  egressHosts: ['./*', '{root}/*'],
  clusterDomain: 'cluster.local',
  apiVersion: 'networking.istio.io/v1',
};

export type GeneratedSidecar = {
  apiVersion: string;
  kind: 'Sidecar';
  metadata: { name: string; namespace: string; labels?: Record<string, string>; annotations: Record<string, string> };
  spec: {
    workloadSelector?: { labels: Record<string, string> };
    egress: { hosts: string[] }[];
    outboundTrafficPolicy?: { mode: string };
  };
};

/** `extraHosts`: more egress hosts for this namespace (observed traffic), normalised with the rest. */
export function generateDefault(
  namespace: string,
  config: DefaultsConfig,
  extraHosts: readonly string[] = [],
): GeneratedSidecar {
  const spec = generateSpec(namespace, config, extraHosts);
  return {
    apiVersion: config.template.apiVersion,
    kind: 'Sidecar',
    metadata: {
      name: config.template.name,
      namespace,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
      annotations: { [TEMPLATE_HASH_ANNOTATION]: templateHash(spec) },
    },
    spec,
  };
}

export function generateSpec(
  namespace: string,
  config: DefaultsConfig,
  extraHosts: readonly string[] = [],
): GeneratedSidecar['spec'] {
  const spec: GeneratedSidecar['spec'] = { egress: [{ hosts: egressHosts(namespace, config, extraHosts) }] };
  if (config.template.outboundTrafficPolicy)
    spec.outboundTrafficPolicy = { mode: config.template.outboundTrafficPolicy.mode };
  return spec;
}

/** Hash of what the generator produced: a managed Sidecar whose annotation differs is out of date. */
export function templateHash(spec: GeneratedSidecar['spec']): string {
  return createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 16);
}

/**
 * Template hosts plus the namespace's dependencies, normalised to
 * `namespace/fqdn`, minus any host a `namespace/*` entry already covers (Istio
 * warns about those as duplicates), de-duplicated and sorted.
 */
export function egressHosts(namespace: string, config: DefaultsConfig, extraHosts: readonly string[] = []): string[] {
  return normaliseHosts(namespace, [...templateHosts(config), ...dependencyHosts(namespace, config), ...extraHosts]);
}

/** The template's hosts with `{root}` filled in. */
export function templateHosts(config: DefaultsConfig): string[] {
  return config.template.egressHosts.map((h) => h.replaceAll('{root}', config.rootNamespace));
}

/** `namespace/fqdn` hosts minus those a `namespace/*` covers (`./` is the namespace itself), de-duplicated and sorted. */
export function normaliseHosts(namespace: string, candidates: readonly string[]): string[] {
  const resolve = (host: string) => (host.startsWith('./') ? `${namespace}/${host.slice(2)}` : host);
  const wildcardNamespaces = new Set(
    candidates
      .map(resolve)
      .filter((h) => h.endsWith('/*'))
      .map((h) => h.slice(0, -2)),
  );
  const kept = new Map<string, string>(); // resolved → as written
  for (const host of candidates) {
    const resolved = resolve(host);
    const [ns, dns] = splitHost(resolved);
    if (dns !== '*' && (wildcardNamespaces.has(ns) || wildcardNamespaces.has('*'))) continue;
    if (!kept.has(resolved)) kept.set(resolved, host);
  }
  return [...kept.values()].sort();
}

/** What the dependency map says the namespace's services call (with `service`, only what that one service calls). */
export function dependencyHosts(namespace: string, config: DefaultsConfig, service?: string): string[] {
  const services = config.dependencies?.services ?? {};
  const hosts: string[] = [];
  for (const [key, deps] of Object.entries(services)) {
    const [ns, name] = splitHost(key);
    if (ns !== namespace || (service !== undefined && name !== service)) continue;
    for (const call of deps.calls ?? []) hosts.push(callHost(call, config.template.clusterDomain));
    for (const external of deps.external ?? []) hosts.push(`*/${external}`);
  }
  return hosts;
}

/** `backend/api` → `backend/api.backend.svc.cluster.local`; `backend/*` and FQDNs stay as they are. */
function callHost(call: string, clusterDomain: string): string {
  const [ns, name] = splitHost(call);
  if (name === '*' || name.includes('.')) return `${ns}/${name}`;
  return `${ns}/${name}.${ns}.svc.${clusterDomain}`;
}

function splitHost(host: string): [string, string] {
  const i = host.indexOf('/');
  return i < 0 ? ['', host] : [host.slice(0, i), host.slice(i + 1)];
}

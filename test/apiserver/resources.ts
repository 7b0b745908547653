// The resources the test API server serves. Adding one is a matter of adding
// an entry here (or a CRD file under ./crds and a call to customResource()).

import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import {
  configMapColumns,
  customResourceColumns,
  eventColumns,
  leaseColumns,
  namespaceColumns,
  nameColumn,
  ageColumn,
  podColumns,
  secretColumns,
  webhookConfigurationColumns,
} from './table.js';
import type { KubeObject, ResourceType, StructuralSchema } from './types.js';

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function builtin(
  partial: Partial<ResourceType> & Pick<ResourceType, 'group' | 'versions' | 'plural' | 'singular' | 'kind'>,
): ResourceType {
  return {
    listKind: `${partial.kind}List`,
    namespaced: true,
    shortNames: [],
    categories: [],
    verbs: ALL_VERBS,
    statusSubresource: false,
    tracksGeneration: false,
    custom: false,
    schemas: {},
    deleteReturnsObject: false,
    table: [nameColumn, ageColumn],
    ...partial,
  };
}

function namespaceDefaults(obj: KubeObject): void {
  // The real API server labels every namespace with its own name (so that
  // namespaceSelectors can pick namespaces by name) and adds the kubernetes finalizer.
  const name = obj.metadata.name ?? '';
  obj.metadata.labels = { ...(obj.metadata.labels ?? {}), 'kubernetes.io/metadata.name': name };
  const spec = (obj.spec ?? {}) as Record<string, unknown>;
  if (!Array.isArray(spec.finalizers) || spec.finalizers.length === 0) spec.finalizers = ['kubernetes'];
  obj.spec = spec;
  obj.status = { phase: 'Active' };
}

function podDefaults(obj: KubeObject): void {
  // No kubelet runs here: a pod stays Pending, as it would with no node to schedule on.
  const status = (obj.status ?? {}) as Record<string, unknown>;
  obj.status = { phase: 'Pending', qosClass: 'BestEffort', ...status };
}

function secretDefaults(obj: KubeObject): void {
  if (obj.type === undefined) obj.type = 'Opaque';
  // stringData is write-only: the registry folds it into base64 data.
  const stringData = obj.stringData as Record<string, string> | undefined;
  if (stringData && typeof stringData === 'object') {
    const data = { ...((obj.data as Record<string, string>) ?? {}) };
    for (const [k, v] of Object.entries(stringData)) data[k] = Buffer.from(String(v)).toString('base64');
    obj.data = data;
    delete obj.stringData;
  }
}

/** The built-in (non-CRD) resources. */
export function builtinResources(): ResourceType[] {
  return [
    builtin({
      group: '',
      versions: ['v1'],
      plural: 'namespaces',
      singular: 'namespace',
      kind: 'Namespace',
      namespaced: false,
      shortNames: ['ns'],
      verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
      statusSubresource: true,
      deleteReturnsObject: true,
      table: namespaceColumns,
      prepareForCreate: namespaceDefaults,
    }),
    builtin({
      group: '',
      versions: ['v1'],
      plural: 'pods',
      singular: 'pod',
      kind: 'Pod',
      shortNames: ['po'],
      categories: ['all'],
      statusSubresource: true,
      deleteReturnsObject: true,
      table: podColumns,
      prepareForCreate: podDefaults,
    }),
    builtin({
      group: '',
      versions: ['v1'],
      plural: 'services',
      singular: 'service',
      kind: 'Service',
      shortNames: ['svc'],
    }),
    // Workloads: stored as sent (no controller runs here, so no ReplicaSets or pods appear).
    builtin({
      group: 'apps',
      versions: ['v1'],
      plural: 'deployments',
      singular: 'deployment',
      kind: 'Deployment',
      shortNames: ['deploy'],
    }),
    builtin({
      group: 'apps',
      versions: ['v1'],
      plural: 'statefulsets',
      singular: 'statefulset',
      kind: 'StatefulSet',
      shortNames: ['sts'],
    }),
    builtin({
      group: 'apps',
      versions: ['v1'],
      plural: 'daemonsets',
      singular: 'daemonset',
      kind: 'DaemonSet',
      shortNames: ['ds'],
    }),
    builtin({
      group: 'apps',
      versions: ['v1'],
      plural: 'replicasets',
      singular: 'replicaset',
      kind: 'ReplicaSet',
      shortNames: ['rs'],
    }),
    builtin({ group: 'batch', versions: ['v1'], plural: 'jobs', singular: 'job', kind: 'Job' }),
    builtin({
      group: 'batch',
      versions: ['v1'],
      plural: 'cronjobs',
      singular: 'cronjob',
      kind: 'CronJob',
      shortNames: ['cj'],
    }),
    builtin({
      group: '',
      versions: ['v1'],
      plural: 'secrets',
      singular: 'secret',
      kind: 'Secret',
      table: secretColumns,
      prepareForCreate: secretDefaults,
    }),
    builtin({
      group: '',
      versions: ['v1'],
      plural: 'configmaps',
      singular: 'configmap',
      kind: 'ConfigMap',
      shortNames: ['cm'],
      table: configMapColumns,
    }),
    builtin({
      group: '',
      versions: ['v1'],
      plural: 'events',
      singular: 'event',
      kind: 'Event',
      shortNames: ['ev'],
      table: eventColumns,
    }),
    builtin({
      group: 'events.k8s.io',
      versions: ['v1'],
      plural: 'events',
      singular: 'event',
      kind: 'Event',
      shortNames: ['ev'],
      table: eventColumns,
    }),
    builtin({
      group: 'coordination.k8s.io',
      versions: ['v1'],
      plural: 'leases',
      singular: 'lease',
      kind: 'Lease',
      table: leaseColumns,
    }),
    builtin({
      group: 'admissionregistration.k8s.io',
      versions: ['v1'],
      plural: 'validatingwebhookconfigurations',
      singular: 'validatingwebhookconfiguration',
      kind: 'ValidatingWebhookConfiguration',
      namespaced: false,
      categories: ['api-extensions'],
      tracksGeneration: true,
      table: webhookConfigurationColumns,
    }),
    builtin({
      group: 'admissionregistration.k8s.io',
      versions: ['v1'],
      plural: 'mutatingwebhookconfigurations',
      singular: 'mutatingwebhookconfiguration',
      kind: 'MutatingWebhookConfiguration',
      namespaced: false,
      categories: ['api-extensions'],
      tracksGeneration: true,
      table: webhookConfigurationColumns,
    }),
  ];
}

interface CrdVersion {
  name: string;
  served?: boolean;
  storage?: boolean;
  schema?: { openAPIV3Schema?: StructuralSchema };
  subresources?: { status?: unknown };
}

interface Crd {
  spec: {
    group: string;
    scope: 'Namespaced' | 'Cluster';
    names: {
      plural: string;
      singular?: string;
      kind: string;
      listKind?: string;
      shortNames?: string[];
      categories?: string[];
    };
    versions: CrdVersion[];
  };
}

/** A resource served from a CustomResourceDefinition manifest (YAML text). */
export function customResource(crdYaml: string): ResourceType {
  const crd = parseYaml(crdYaml) as Crd;
  const served = crd.spec.versions.filter((v) => v.served !== false);
  const storage = served.find((v) => v.storage) ?? served[0];
  if (!storage) throw new Error(`CRD ${crd.spec.names.plural}.${crd.spec.group} serves no version`);
  // Storage version first: it is what the store keeps and what discovery prefers.
  const versions = [storage.name, ...served.filter((v) => v !== storage).map((v) => v.name)];
  const schemas: Record<string, StructuralSchema> = {};
  for (const v of served)
    schemas[v.name] = v.schema?.openAPIV3Schema ?? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  const names = crd.spec.names;
  return {
    group: crd.spec.group,
    versions,
    plural: names.plural,
    singular: names.singular ?? names.kind.toLowerCase(),
    kind: names.kind,
    listKind: names.listKind ?? `${names.kind}List`,
    namespaced: crd.spec.scope === 'Namespaced',
    shortNames: names.shortNames ?? [],
    categories: names.categories ?? [],
    verbs: ALL_VERBS,
    statusSubresource: storage.subresources?.status !== undefined,
    tracksGeneration: true,
    custom: true,
    schemas,
    deleteReturnsObject: true,
    table: customResourceColumns,
  };
}

export function sidecarResource(): ResourceType {
  // The product's one copy of Istio's CRD (its provenance is in the file's header).
  const url = new URL('../../src/sidecar/schema/sidecar-crd.yaml', import.meta.url);
  return customResource(readFileSync(url, 'utf8'));
}

/**
 * One of Istio's own kinds besides Sidecar, with a schema that keeps every
 * field (a stand-in for Istio's CRD: the view reads only a few fields). Not in
 * the default set, so the default server is a cluster without Istio's other
 * CRDs; tests that need them pass them as extra resources.
 */
function istioResource(kind: string, plural: string, shortName: string): ResourceType {
  const version = (name: string, storage: boolean) => `
    - name: ${name}
      served: true
      storage: ${storage}
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true`;
  return customResource(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: ${plural}.networking.istio.io
spec:
  group: networking.istio.io
  scope: Namespaced
  names:
    plural: ${plural}
    singular: ${kind.toLowerCase()}
    kind: ${kind}
    listKind: ${kind}List
    shortNames: [${shortName}]
  versions:${version('v1', true)}${version('v1beta1', false)}${version('v1alpha3', false)}
`);
}

export function serviceEntryResource(): ResourceType {
  return istioResource('ServiceEntry', 'serviceentries', 'se');
}

/** Every Istio kind the informers watch besides Sidecar: with them a test server is a cluster with Istio installed. */
export function istioExtraResources(): ResourceType[] {
  return [
    serviceEntryResource(),
    istioResource('WorkloadEntry', 'workloadentries', 'we'),
    istioResource('WorkloadGroup', 'workloadgroups', 'wg'),
  ];
}

export function defaultResources(): ResourceType[] {
  return [...builtinResources(), sidecarResource()];
}

/** Lookup of resources by group/version/plural, and of the GroupVersionKinds served. */
export class ResourceRegistry {
  constructor(readonly types: ResourceType[]) {}

  find(group: string, version: string, plural: string): ResourceType | undefined {
    return this.types.find((t) => t.group === group && t.plural === plural && t.versions.includes(version));
  }

  byGroupResource(group: string, plural: string): ResourceType | undefined {
    return this.types.find((t) => t.group === group && t.plural === plural);
  }

  /** Groups in discovery order: registration order, core ("") excluded. */
  groups(): string[] {
    const out: string[] = [];
    for (const t of this.types) if (t.group !== '' && !out.includes(t.group)) out.push(t.group);
    return out;
  }

  /** A group's versions, preferred first. */
  groupVersions(group: string): string[] {
    const out: string[] = [];
    for (const t of this.types) if (t.group === group) for (const v of t.versions) if (!out.includes(v)) out.push(v);
    return out;
  }

  inGroupVersion(group: string, version: string): ResourceType[] {
    return this.types.filter((t) => t.group === group && t.versions.includes(version));
  }
}

export function apiVersionOf(group: string, version: string): string {
  return group === '' ? version : `${group}/${version}`;
}

// Synthetic clusters and admission requests for the benchmark. Every
// namespace looks like a meshed application namespace: a namespace-wide
// default Sidecar, one selector Sidecar per app except the first, ten pods
// per app carrying the labels Istio's injector adds, three workloads per app
// (the app's Deployment, a CronJob and a StatefulSet), two Services per app
// and one ServiceEntry per two Sidecars (at least five per namespace). The request under test is the
// CREATE of the missing Sidecar for the first app: its pods exist, no other
// Sidecar selects them, and every egress host names a Service, a
// ServiceEntry or a namespace that exists, so the decision is "allowed"
// after every rule, including the cross-object and registry ones, has run.
import { randomUUID } from 'node:crypto';

export const PODS_PER_APP = 10;
export const APPS_PER_NAMESPACE = 10;
export const WORKLOADS_PER_APP = 3;
export const SERVICES_PER_APP = 2;
/** ServiceEntries per Sidecar, spread over the namespaces (at least five each at 10,000 Sidecars). */
export const SERVICE_ENTRIES_PER_SIDECAR = 0.5;
/** The external hosts an app's Sidecar picks from: every namespace has the first five. */
const EXTERNAL_HOSTS_PER_APP_CHOICE = 5;
export const CROWDED_NAMESPACE = 'crowded';
/** Namespaces the Sidecars' egress hosts name, present in every plan. */
export const PLATFORM_NAMESPACES = ['istio-system', 'observability'];

export interface NamespacePlan {
  name: string;
  apps: number;
}

export interface ClusterPlan {
  sidecars: number;
  pods: number;
  /** Pods per app (PODS_PER_APP unless a plan says otherwise). */
  podsPerApp?: number;
  /** Every pod gets a label set of its own (a StatefulSet's pod-name and pod-index labels), not its ReplicaSet's. */
  uniquePodLabels?: boolean;
  workloads: number;
  services: number;
  serviceEntries: number;
  namespaces: NamespacePlan[];
}

/**
 * `sidecars` Sidecars and ten pods per Sidecar, ten per namespace; from 10,000
 * Sidecars up, 1,000 of them share one namespace.
 */
export function clusterPlan(sidecars: number): ClusterPlan {
  const namespaces: NamespacePlan[] = [];
  let left = sidecars;
  if (sidecars >= 10_000) {
    namespaces.push({ name: CROWDED_NAMESPACE, apps: 1_000 });
    left -= 1_000;
  }
  const width = String(Math.ceil(left / APPS_PER_NAMESPACE)).length;
  for (let i = 0; left > 0; i++) {
    const apps = Math.min(APPS_PER_NAMESPACE, left);
    namespaces.push({ name: `team-${String(i).padStart(width, '0')}`, apps });
    left -= apps;
  }
  return {
    sidecars,
    pods: sidecars * PODS_PER_APP,
    workloads: sidecars * WORKLOADS_PER_APP,
    // One per app, plus the collector every Sidecar names.
    services: sidecars * SERVICES_PER_APP + 1,
    serviceEntries: Math.max(
      Math.ceil(sidecars * SERVICE_ENTRIES_PER_SIDECAR),
      namespaces.length * EXTERNAL_HOSTS_PER_APP_CHOICE,
    ),
    namespaces,
  };
}

/**
 * Kubernetes' published scale limits: 150,000 pods in 10,000 namespaces.
 * Each namespace holds one app of 15 pods and its namespace-wide Sidecar
 * (10,000 Sidecars).
 */
export function scalePlan(opts: { uniquePodLabels: boolean }): ClusterPlan {
  const namespaces = Array.from({ length: 10_000 }, (_, i) => ({ name: `ns-${String(i).padStart(5, '0')}`, apps: 1 }));
  return {
    sidecars: 10_000,
    pods: 150_000,
    podsPerApp: 15,
    uniquePodLabels: opts.uniquePodLabels,
    workloads: 0,
    services: 0,
    serviceEntries: 0,
    namespaces,
  };
}

export const typicalNamespaces = (plan: ClusterPlan): NamespacePlan[] =>
  plan.namespaces.filter((n) => n.name !== CROWDED_NAMESPACE);

const app = (i: number): string => `svc-${i}`;
const hashOf = (ns: string, i: number): string =>
  (((ns.length * 7919 + i * 104729) >>> 0) % 0xffffffff).toString(16).padStart(10, '7');

/** A Sidecar as `kubectl apply` stores it, with the selector of app `appIndex` (or none: the namespace default). */
export function sidecarObject(
  namespace: string,
  appIndex: number | null,
  opts: { uid?: string } = {},
): Record<string, unknown> {
  const name = appIndex === null ? 'default' : app(appIndex);
  const hosts = ['./*', 'istio-system/*', 'observability/otel-collector.observability.svc.cluster.local'];
  // Each app also calls the next app's Service and one of the namespace's external APIs: the registry is consulted.
  if (appIndex !== null)
    hosts.push(
      `*/${app(appIndex + 1)}.${namespace}.svc.cluster.local`,
      `*/${externalHost(namespace, appIndex % EXTERNAL_HOSTS_PER_APP_CHOICE)}`,
    );
  const spec: Record<string, unknown> = {
    egress: [{ hosts }],
    outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' },
  };
  if (appIndex !== null) {
    spec.workloadSelector = { labels: { app: name } };
    spec.ingress = [{ port: { number: 8080, protocol: 'HTTP', name: 'http' }, defaultEndpoint: '127.0.0.1:8080' }];
  }
  const applied = { apiVersion: 'networking.istio.io/v1', kind: 'Sidecar', metadata: { name, namespace }, spec };
  return {
    ...applied,
    metadata: {
      name,
      namespace,
      uid: opts.uid ?? randomUUID(),
      resourceVersion: '1',
      generation: 1,
      creationTimestamp: '2026-11-23T10:00:00Z',
      labels: { 'app.kubernetes.io/part-of': namespace },
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': `${JSON.stringify(applied)}\n` },
    },
  };
}

/**
 * A pod as a metadata-only list returns it (PartialObjectMetadata), labelled like an injected Deployment pod,
 * or with `unique` like a StatefulSet's pod: its own name and index among its labels.
 */
export function podObject(
  namespace: string,
  appIndex: number,
  replica: number,
  unique = false,
): Record<string, unknown> {
  const hash = hashOf(namespace, appIndex);
  const name = `${app(appIndex)}-${hash}-${replica.toString(36).padStart(5, 'x')}`;
  const owner = unique
    ? {
        'controller-revision-hash': `${app(appIndex)}-${hash}`,
        'statefulset.kubernetes.io/pod-name': name,
        'apps.kubernetes.io/pod-index': String(replica),
      }
    : { 'pod-template-hash': hash };
  return {
    apiVersion: 'meta.k8s.io/v1',
    kind: 'PartialObjectMetadata',
    metadata: {
      name,
      namespace,
      uid: randomUUID(),
      resourceVersion: '1',
      labels: {
        app: app(appIndex),
        version: 'v1',
        ...owner,
        'security.istio.io/tlsMode': 'istio',
        'service.istio.io/canonical-name': app(appIndex),
        'service.istio.io/canonical-revision': 'v1',
      },
      annotations: {
        'istio.io/rev': 'default',
        'sidecar.istio.io/status': '{"initContainers":["istio-init"],"containers":["istio-proxy"]}',
      },
    },
  };
}

export function namespaceObject(name: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'kubernetes.io/metadata.name': name, 'istio-injection': 'enabled' } },
  };
}

const externalHost = (namespace: string, i: number): string => `api-${i}.${namespace}.example.com`;

/**
 * A workload as the informer keeps it after reducing it (slimWorkload): name,
 * namespace, replicas, the template's labels. `which` 0 is the app's own
 * Deployment (its pods' template), 1 a CronJob, 2 a StatefulSet.
 */
export function workloadObject(
  namespace: string,
  appIndex: number,
  which: number,
): { kind: string; object: Record<string, unknown> } {
  const name = [app(appIndex), `${app(appIndex)}-report`, `${app(appIndex)}-cache`][which]!;
  const labels = { app: name, version: 'v1', 'app.kubernetes.io/part-of': namespace };
  const template = { metadata: { labels } };
  if (which === 1)
    return {
      kind: 'CronJob',
      object: { metadata: { name, namespace }, spec: { jobTemplate: { spec: { template } } } },
    };
  return {
    kind: which === 0 ? 'Deployment' : 'StatefulSet',
    object: { metadata: { name, namespace }, spec: { replicas: which === 0 ? PODS_PER_APP : 1, template } },
  };
}

/** A Service as the informer keeps it (slimService): name, namespace, exportTo and port numbers. */
export function serviceObject(namespace: string, name: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, uid: randomUUID(), resourceVersion: '1', labels: { app: name } },
    spec: { ports: [{ port: 8080 }] },
  };
}

/** A ServiceEntry as the informer keeps it (slimServiceEntry): hosts and exportTo. */
export function serviceEntryObject(namespace: string, i: number): Record<string, unknown> {
  return {
    metadata: { name: `external-${i}`, namespace },
    spec: { hosts: [externalHost(namespace, i)], exportTo: ['.'] },
  };
}

export type ClusterKind =
  | 'Namespace'
  | 'Sidecar'
  | 'Pod'
  | 'Deployment'
  | 'CronJob'
  | 'StatefulSet'
  | 'Service'
  | 'ServiceEntry';
export type ClusterObject = { kind: ClusterKind; object: Record<string, unknown> };

/** The groups objects are loaded in, so memory can be measured per kind. */
export type ObjectGroup = 'sidecars and pods' | 'workloads' | 'services' | 'serviceEntries';

/** Every object of the plan, one at a time and group by group, so callers never hold the whole list. */
export function* clusterObjects(
  plan: ClusterPlan,
  groups: readonly ObjectGroup[] = ['sidecars and pods', 'workloads', 'services', 'serviceEntries'],
): Generator<ClusterObject> {
  if (groups.includes('sidecars and pods')) {
    for (const name of PLATFORM_NAMESPACES) yield { kind: 'Namespace', object: namespaceObject(name) };
    for (const ns of plan.namespaces) {
      yield { kind: 'Namespace', object: namespaceObject(ns.name) };
      yield { kind: 'Sidecar', object: sidecarObject(ns.name, null) };
      for (let a = 1; a < ns.apps; a++) yield { kind: 'Sidecar', object: sidecarObject(ns.name, a) };
      for (let a = 0; a < ns.apps; a++)
        for (let r = 0; r < (plan.podsPerApp ?? PODS_PER_APP); r++)
          yield { kind: 'Pod', object: podObject(ns.name, a, r, plan.uniquePodLabels) };
    }
  }
  if (groups.includes('workloads')) {
    for (const ns of plan.namespaces)
      for (let a = 0; a < ns.apps; a++)
        for (let w = 0; w < WORKLOADS_PER_APP; w++) yield workloadObject(ns.name, a, w) as ClusterObject;
  }
  if (groups.includes('services')) {
    yield { kind: 'Service', object: serviceObject('observability', 'otel-collector') };
    for (const ns of plan.namespaces) {
      for (let a = 0; a < ns.apps; a++) {
        yield { kind: 'Service', object: serviceObject(ns.name, app(a)) };
        yield { kind: 'Service', object: serviceObject(ns.name, `${app(a)}-cache`) };
      }
    }
  }
  if (groups.includes('serviceEntries')) {
    // Round robin over the namespaces: external-0 everywhere first, then external-1, ...
    const n = plan.namespaces.length;
    for (let i = 0; i < plan.serviceEntries; i++)
      yield { kind: 'ServiceEntry', object: serviceEntryObject(plan.namespaces[i % n]!.name, Math.floor(i / n)) };
  }
}

export interface StoreLike {
  upsertSidecar(obj: unknown): unknown;
  upsertPod(obj: unknown): void;
  upsertNamespace(obj: unknown): void;
  upsertWorkload(obj: unknown, kind: 'Deployment' | 'CronJob' | 'StatefulSet'): void;
  upsertService(obj: unknown): void;
  upsertServiceEntry(obj: unknown): void;
}

/** One object into the store, by kind. */
export function load(store: StoreLike, kind: ClusterKind, obj: unknown): void {
  if (kind === 'Sidecar') store.upsertSidecar(obj);
  else if (kind === 'Pod') store.upsertPod(obj);
  else if (kind === 'Namespace') store.upsertNamespace(obj);
  else if (kind === 'Service') store.upsertService(obj);
  else if (kind === 'ServiceEntry') store.upsertServiceEntry(obj);
  else store.upsertWorkload(obj, kind);
}

/**
 * Loads the plan into a store. With `viaJson`, each object goes through
 * JSON text first, as it would arrive from the API server, so its strings are
 * allocated the way an informer's are (for memory measurements).
 */
export function loadCluster(store: StoreLike, plan: ClusterPlan, opts: { viaJson?: boolean } = {}): void {
  for (const { kind, object } of clusterObjects(plan))
    load(store, kind, opts.viaJson ? JSON.parse(JSON.stringify(object)) : object);
}

/** The Sidecar under test: the one app 0 of `namespace` is missing. */
export const newSidecar = (namespace: string): Record<string, unknown> => sidecarObject(namespace, 0);

/** An AdmissionReview for the CREATE of `object`, shaped like kube-apiserver's (with managedFields). */
export function createReview(object: Record<string, unknown>, opts: { dryRun?: boolean } = {}) {
  const meta = object.metadata as { name: string; namespace: string };
  const gvk = { group: 'networking.istio.io', version: 'v1', kind: 'Sidecar' };
  const gvr = { group: 'networking.istio.io', version: 'v1', resource: 'sidecars' };
  const withManagedFields = {
    ...object,
    metadata: {
      ...(object.metadata as object),
      managedFields: [
        {
          manager: 'kubectl-client-side-apply',
          operation: 'Update',
          apiVersion: 'networking.istio.io/v1',
          time: '2026-11-23T10:00:00Z',
          fieldsType: 'FieldsV1',
          fieldsV1: {
            'f:metadata': { 'f:annotations': { '.': {}, 'f:kubectl.kubernetes.io/last-applied-configuration': {} } },
            'f:spec': {
              '.': {},
              'f:egress': {},
              'f:ingress': {},
              'f:outboundTrafficPolicy': { '.': {}, 'f:mode': {} },
              'f:workloadSelector': { '.': {}, 'f:labels': { '.': {}, 'f:app': {} } },
            },
          },
        },
      ],
    },
  };
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: randomUUID(),
      kind: gvk,
      resource: gvr,
      requestKind: gvk,
      requestResource: gvr,
      name: meta.name,
      namespace: meta.namespace,
      operation: 'CREATE' as const,
      userInfo: { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] },
      object: withManagedFields,
      oldObject: null,
      dryRun: opts.dryRun ?? false,
      options: {
        apiVersion: 'meta.k8s.io/v1',
        kind: 'CreateOptions',
        fieldManager: 'kubectl-client-side-apply',
        fieldValidation: 'Strict',
      },
    },
  };
}

// Manifests taken as "what the cluster holds": the Sidecars, Pods,
// Namespaces, workloads (Deployments, StatefulSets, DaemonSets, ReplicaSets,
// Jobs, CronJobs), Services and ServiceEntries among them, each namespaced
// object given the default namespace when it names none (as kubectl would).
// Used by `serve --state`, `check` and `audit` on files, so it sits below all three.
import { boundedDistance } from '../util/distance.js';
import { isRecord } from '../util/json.js';
import { ClusterStore } from '../cluster/store.js';
import type { Manifest } from './documents.js';
import { SIDECAR_GROUP, SIDECAR_KIND } from '../sidecar/object.js';
import { WORKLOAD_KINDS, type WorkloadKind } from '../sidecar/view.js';

export interface ClusterObjects {
  sidecars: unknown[];
  pods: unknown[];
  namespaces: unknown[];
  /** Each with its `kind`; absent means none. */
  workloads?: unknown[];
  services?: unknown[];
  serviceEntries?: unknown[];
}

export class ManifestError extends Error {}

/** Any version of the group counts: a Sidecar in an unknown version is judged (and refused), not skipped. */
export function isSidecarManifest(obj: unknown): boolean {
  return isRecord(obj) && obj.kind === SIDECAR_KIND && inGroup(obj, SIDECAR_GROUP);
}

/**
 * A document meant as a Sidecar with a near miss in its kind or API group
 * (`Sidcar`, `sidecar`, `networking.isito.io/v1`: within two edits, case
 * aside). kubectl refuses it ("no matches for kind"), so `check` judges it,
 * and refuses it with object.kind, instead of skipping it as some other kind
 * and passing a CI gate (found by a newcomer's review, 2026-12-03).
 */
export function isSidecarNearMiss(obj: unknown): boolean {
  if (!isRecord(obj) || typeof obj.kind !== 'string' || typeof obj.apiVersion !== 'string') return false;
  const slash = obj.apiVersion.indexOf('/');
  // `networking.istio.io` without a version is a group too (the core group's versions have no dot).
  const group = slash >= 0 ? obj.apiVersion.slice(0, slash) : obj.apiVersion.includes('.') ? obj.apiVersion : '';
  return !isSidecarManifest(obj) && nearMiss(obj.kind, SIDECAR_KIND) && nearMiss(group, SIDECAR_GROUP);
}

const nearMiss = (value: string, meant: string): boolean =>
  boundedDistance(value.toLowerCase(), meant.toLowerCase(), NEAR_MISS_EDITS) <= NEAR_MISS_EDITS;
const NEAR_MISS_EDITS = 2;

/** apiVersion names one of the groups ('' is the core group: `v1`). */
function inGroup(obj: Record<string, unknown>, ...groups: string[]): boolean {
  const v = obj.apiVersion;
  return typeof v === 'string' && groups.some((g) => (g === '' ? !v.includes('/') : v.startsWith(`${g}/`)));
}

/** The API groups each workload kind is served from (extensions/v1beta1 for old manifests). */
const WORKLOAD_GROUPS: Record<WorkloadKind, readonly string[]> = {
  Deployment: ['apps', 'extensions'],
  StatefulSet: ['apps'],
  DaemonSet: ['apps', 'extensions'],
  ReplicaSet: ['apps', 'extensions'],
  Job: ['batch'],
  CronJob: ['batch'],
  WorkloadEntry: [SIDECAR_GROUP],
  WorkloadGroup: [SIDECAR_GROUP],
};

export function workloadKindOf(obj: unknown): WorkloadKind | undefined {
  if (!isRecord(obj) || !(WORKLOAD_KINDS as readonly unknown[]).includes(obj.kind)) return undefined;
  const kind = obj.kind as WorkloadKind;
  return inGroup(obj, ...WORKLOAD_GROUPS[kind]) ? kind : undefined;
}

/** Sorts parsed manifests by kind; a document that failed to parse is an error here. */
export function clusterObjects(manifests: readonly Manifest[], namespace: string): Required<ClusterObjects> {
  const objects: Required<ClusterObjects> = {
    sidecars: [],
    pods: [],
    namespaces: [],
    workloads: [],
    services: [],
    serviceEntries: [],
  };
  for (const m of manifests) {
    if (!m.ok) throw new ManifestError(`${m.file}:${m.position.line}:${m.position.col}: ${m.message}`);
    const obj = withNamespace(m.object, namespace);
    if (!isRecord(obj)) continue;
    if (isSidecarManifest(obj)) objects.sidecars.push(obj);
    else if (obj.kind === 'Pod') objects.pods.push(obj);
    else if (obj.kind === 'Namespace') objects.namespaces.push(obj);
    else if (obj.kind === 'Service' && inGroup(obj, '')) objects.services.push(obj);
    else if (obj.kind === 'ServiceEntry' && inGroup(obj, SIDECAR_GROUP)) objects.serviceEntries.push(obj);
    else if (workloadKindOf(obj)) objects.workloads.push(obj);
  }
  return objects;
}

/** The objects in a store (a new one unless given), everything else before the Sidecars that are judged against it. */
export function storeOf(objects: Partial<ClusterObjects>, store = new ClusterStore()): ClusterStore {
  for (const n of objects.namespaces ?? []) store.upsertNamespace(n);
  for (const p of objects.pods ?? []) store.upsertPod(p);
  for (const w of objects.workloads ?? []) {
    // The kind was checked when the object was sorted (list items from a cluster carry only the kind).
    const kind = isRecord(w) ? w.kind : undefined;
    if ((WORKLOAD_KINDS as readonly unknown[]).includes(kind)) store.upsertWorkload(w, kind as WorkloadKind);
  }
  for (const s of objects.services ?? []) store.upsertService(s);
  for (const e of objects.serviceEntries ?? []) store.upsertServiceEntry(e);
  for (const s of objects.sidecars ?? []) store.upsertSidecar(s);
  return store;
}

function withNamespace(obj: unknown, namespace: string): unknown {
  if (!isRecord(obj) || obj.kind === 'Namespace') return obj;
  const meta = isRecord(obj.metadata) ? obj.metadata : {};
  return typeof meta.namespace === 'string' && meta.namespace ? obj : { ...obj, metadata: { ...meta, namespace } };
}

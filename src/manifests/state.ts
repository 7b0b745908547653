// Manifests taken as "what the cluster holds": the Sidecars, Pods and
// Namespaces among them, each namespaced object given the default namespace
// when it names none (as kubectl would). Used by `serve --state`, `check`
// and `audit` on files, so it sits below all three.
import { isRecord } from '../util/json.js';
import { ClusterStore } from '../cluster/store.js';
import type { Manifest } from './documents.js';
import { SIDECAR_GROUP, SIDECAR_KIND } from '../sidecar/object.js';

export interface ClusterObjects {
  sidecars: unknown[];
  pods: unknown[];
  namespaces: unknown[];
}

export class ManifestError extends Error {}

/** Any version of the group counts: a Sidecar in an unknown version is judged (and refused), not skipped. */
export function isSidecarManifest(obj: unknown): boolean {
  return (
    isRecord(obj) &&
    obj.kind === SIDECAR_KIND &&
    typeof obj.apiVersion === 'string' &&
    obj.apiVersion.startsWith(`${SIDECAR_GROUP}/`)
  );
}


/** Sorts parsed manifests by kind; a document that failed to parse is an error here. */
export function clusterObjects(manifests: readonly Manifest[], namespace: string): ClusterObjects {
  const objects: ClusterObjects = { sidecars: [], pods: [], namespaces: [] };
  for (const m of manifests) {
    if (!m.ok) throw new ManifestError(`${m.file}:${m.position.line}:${m.position.col}: ${m.message}`);
    const obj = withNamespace(m.object, namespace);
    if (isSidecarManifest(obj)) objects.sidecars.push(obj);
    else if (isRecord(obj) && obj.kind === 'Pod') objects.pods.push(obj);
    else if (isRecord(obj) && obj.kind === 'Namespace') objects.namespaces.push(obj);
  }
  return objects;
}

/** The objects in a store (a new one unless given), namespaces and pods before the Sidecars that are judged against them. */
export function storeOf(objects: Partial<ClusterObjects>, store = new ClusterStore()): ClusterStore {
  for (const n of objects.namespaces ?? []) store.upsertNamespace(n);
  for (const p of objects.pods ?? []) store.upsertPod(p);
  for (const s of objects.sidecars ?? []) store.upsertSidecar(s);
  return store;
}

function withNamespace(obj: unknown, namespace: string): unknown {
  if (!isRecord(obj) || obj.kind === 'Namespace') return obj;
  const meta = isRecord(obj.metadata) ? obj.metadata : {};
  return typeof meta.namespace === 'string' && meta.namespace ? obj : { ...obj, metadata: { ...meta, namespace } };
}

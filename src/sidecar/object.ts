// Reading the few envelope facts the decisions need from an untrusted object.
import { isOwnKey, isRecord } from '../util/json.js';

export const SIDECAR_GROUP = 'networking.istio.io';
export const SIDECAR_KIND = 'Sidecar';
/** Istio's default root namespace (meshConfig.rootNamespace): its namespace-wide Sidecar is the mesh-wide default. */
export const DEFAULT_ROOT_NAMESPACE = 'istio-system';

export interface ObjectRef {
  namespace: string;
  name: string;
}

export function metadataOf(obj: unknown): Record<string, unknown> {
  return isRecord(obj) && isRecord(obj.metadata) ? obj.metadata : {};
}

/** String-valued entries of a map field, ignoring anything else. */
export function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  if (!isRecord(v)) return out;
  // for...in rather than Object.entries: no [key, value] pair per entry.
  for (const k in v) {
    if (!isOwnKey(v, k)) continue;
    const val = v[k];
    if (typeof val === 'string') out[k] = val;
  }
  return out;
}

/** `Sidecar ns/name`, the way every message names an object. */
export function describeRef(ref: ObjectRef): string {
  return `Sidecar ${ref.namespace}/${ref.name}`;
}

/**
 * Namespace and name of an object; the namespace falls back to the one the
 * request or the CLI gives (kubectl's `default`), a missing name to
 * generateName, which is what a person sees in kubectl.
 */
export function refOf(obj: unknown, fallbackNamespace: string, fallbackName = ''): ObjectRef {
  const meta = metadataOf(obj);
  const namespace = typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : fallbackNamespace;
  let name = typeof meta.name === 'string' && meta.name !== '' ? meta.name : fallbackName;
  if (name === '' && typeof meta.generateName === 'string') name = `${meta.generateName}<generated>`;
  return { namespace, name: name || '<unnamed>' };
}

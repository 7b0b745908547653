// The three patch formats kube-apiserver accepts besides server-side apply:
// RFC 7386 JSON merge patch, RFC 6902 JSON patch, and strategic merge patch
// (for built-in kinds only, as in the real server).

import fjp from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { badRequest, failure } from './status.js';
import type { Json, JsonObject } from './types.js';

function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** RFC 7386: objects merge recursively, null deletes, anything else replaces. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key] ?? null, value);
  }
  return out;
}

/** RFC 6902, failing like kube-apiserver (422 for a patch that does not apply). */
export function jsonPatch(target: Json, patch: Json): Json {
  if (!Array.isArray(patch)) throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  const doc = structuredClone(target);
  try {
    return fjp.applyPatch(doc, patch as unknown as Operation[], true, true).newDocument as Json;
  } catch (err) {
    const message = err instanceof Error ? (err.message.split('\n')[0] ?? err.message) : String(err);
    throw failure(422, 'Invalid', `the server rejected our request due to an error in our request: ${message}`);
  }
}

// Merge keys of the list fields that kubectl touches on Pods and Namespaces
// (the patchMergeKey struct tags of k8s.io/api). Lists not named here are
// replaced wholesale, which is the strategy of every other list.
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  imagePullSecrets: 'name',
  ownerReferences: 'uid',
  conditions: 'type',
  hostAliases: 'ip',
  topologySpreadConstraints: 'topologyKey',
  resourceClaims: 'name',
  ports: 'containerPort',
  webhooks: 'name',
};

// Lists of scalars whose strategy is merge (set union): metadata.finalizers.
const MERGED_SCALAR_LISTS = new Set(['finalizers']);

const SET_ORDER = '$setElementOrder/';
const DELETE_FROM = '$deleteFromPrimitiveList/';

function mergeKeyedList(original: Json[], patch: Json[], key: string): Json[] {
  const out = original.map((e) => structuredClone(e));
  for (const item of patch) {
    if (!isObject(item)) {
      out.push(structuredClone(item));
      continue;
    }
    const directive = item.$patch;
    const id = item[key];
    const index = out.findIndex((e) => isObject(e) && e[key] === id);
    if (directive === 'delete') {
      if (index >= 0) out.splice(index, 1);
      continue;
    }
    if (index >= 0) out[index] = strategicMerge(out[index] ?? null, item);
    else out.push(strategicMerge(null, item));
  }
  return out;
}

function orderBy(list: Json[], order: Json[], key: string | undefined): Json[] {
  const idOf = (e: Json): Json => (key && isObject(e) ? (e[key] ?? null) : e);
  const ranked = order.map(idOf);
  const rank = (e: Json): number => {
    const i = ranked.findIndex((r) => JSON.stringify(r) === JSON.stringify(key ? idOf(e) : e));
    return i < 0 ? Number.MAX_SAFE_INTEGER : i;
  };
  return [...list].sort((a, b) => rank(a) - rank(b));
}

/**
 * Strategic merge patch with the directives kubectl generates:
 * `$patch: replace|delete`, `$retainKeys`, `$setElementOrder/<list>`,
 * `$deleteFromPrimitiveList/<list>`, merge-keyed lists and null deletion.
 */
export function strategicMerge(target: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  if (patch.$patch === 'replace') {
    const { $patch: _ignored, ...rest } = patch;
    return structuredClone(rest);
  }
  if (patch.$patch === 'delete') return {};
  const out: JsonObject = isObject(target) ? structuredClone(target) : {};
  const retain = Array.isArray(patch.$retainKeys) ? new Set(patch.$retainKeys.map(String)) : undefined;

  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key === '$retainKeys' || key.startsWith(SET_ORDER)) continue;
    if (key.startsWith(DELETE_FROM)) {
      const field = key.slice(DELETE_FROM.length);
      const current = out[field];
      if (Array.isArray(current) && Array.isArray(value)) {
        const drop = new Set(value.map((v) => JSON.stringify(v)));
        out[field] = current.filter((v) => !drop.has(JSON.stringify(v)));
      }
      continue;
    }
    if (value === null) {
      delete out[key];
      continue;
    }
    const current = out[key];
    const mergeKey = MERGE_KEYS[key];
    if (Array.isArray(value) && mergeKey && value.every(isObject)) {
      out[key] = mergeKeyedList(Array.isArray(current) ? current : [], value, mergeKey);
    } else if (Array.isArray(value) && MERGED_SCALAR_LISTS.has(key)) {
      const merged = Array.isArray(current) ? [...current] : [];
      for (const v of value) if (!merged.some((m) => JSON.stringify(m) === JSON.stringify(v))) merged.push(v);
      out[key] = merged;
    } else if (isObject(value)) {
      out[key] = strategicMerge(current ?? null, value);
    } else {
      out[key] = structuredClone(value);
    }
  }

  for (const [key, value] of Object.entries(patch)) {
    if (!key.startsWith(SET_ORDER) || !Array.isArray(value)) continue;
    const field = key.slice(SET_ORDER.length);
    const list = out[field];
    if (Array.isArray(list)) out[field] = orderBy(list, value, MERGE_KEYS[field]);
  }
  if (retain) for (const key of Object.keys(out)) if (!retain.has(key)) delete out[key];
  return out;
}

export const MERGE_PATCH = 'application/merge-patch+json';
export const JSON_PATCH = 'application/json-patch+json';
export const STRATEGIC_MERGE_PATCH = 'application/strategic-merge-patch+json';
export const APPLY_PATCH = 'application/apply-patch+yaml';

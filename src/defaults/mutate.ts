// /mutate: a Sidecar CREATE that asks for it gets the generated spec filled
// in. Fields the user wrote are never touched; the patch is the RFC 6902 diff
// between the object as received and the completed copy.
import fastJsonPatch from 'fast-json-patch';
import { skipped, type Decision } from '../admission/decision.js';
import type { JsonPatchOperation } from '../admission/types.js';
import type { AdmissionRequest } from '../admission/types.js';
import type { ClusterView } from '../sidecar/view.js';
import { isRecord } from '../util/json.js';
import { isSidecarRequest } from '../sidecar/review.js';
import { GENERATE_ANNOTATION, generateSpec, TEMPLATE_HASH_ANNOTATION, templateHash, type DefaultsConfig } from './generate.js';

export interface MutateOptions {
  config: DefaultsConfig;
  /** Namespaces carrying this label with value "enabled" fill empty Sidecars too. */
  namespaceLabel: string;
}

export function mutate(req: AdmissionRequest, view: ClusterView, options: MutateOptions): Decision {
  if (!isSidecarRequest(req) || req.operation !== 'CREATE' || !isRecord(req.object)) return skipped();
  const namespace = req.namespace ?? 'default';
  if (!asksForGeneration(req.object, namespace, view, options.namespaceLabel)) return skipped();
  // A spec or annotations that are not objects are the user's (invalid) writing: leave them to validation.
  if (!fillable(req.object.spec) || !fillable(isRecord(req.object.metadata) ? req.object.metadata.annotations : undefined)) return skipped();
  const completed = completeSidecar(req.object, generateSpec(namespace, options.config));
  const patch = fastJsonPatch.compare(req.object, completed) as JsonPatchOperation[];
  return { allowed: true, outcome: 'allowed', warnings: [], rules: [], ...(patch.length > 0 ? { patch } : {}) };
}

const fillable = (v: unknown): boolean => v === undefined || v === null || isRecord(v);

function asksForGeneration(obj: Record<string, unknown>, namespace: string, view: ClusterView, label: string): boolean {
  const annotations = isRecord(obj.metadata) && isRecord(obj.metadata.annotations) ? obj.metadata.annotations : {};
  if (annotations[GENERATE_ANNOTATION] === 'true') return true;
  const spec = obj.spec;
  const emptySpec = spec === undefined || spec === null || (isRecord(spec) && Object.keys(spec).length === 0);
  return emptySpec && view.namespace(namespace)?.labels[label] === 'enabled';
}

/** A deep copy with the generated spec fields added where the user wrote nothing. */
function completeSidecar(obj: Record<string, unknown>, generated: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(obj);
  const spec = isRecord(copy.spec) ? copy.spec : (copy.spec = {});
  for (const [field, value] of Object.entries(generated)) {
    if (spec[field] === undefined || spec[field] === null) spec[field] = value;
  }
  const metadata = isRecord(copy.metadata) ? copy.metadata : (copy.metadata = {});
  const annotations = isRecord(metadata.annotations) ? metadata.annotations : (metadata.annotations = {});
  annotations[TEMPLATE_HASH_ANNOTATION] ??= templateHash(generated as Parameters<typeof templateHash>[0]);
  return copy;
}

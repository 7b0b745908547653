// /mutate: a Sidecar CREATE that asks for it gets the generated spec filled
// in. Fields the user wrote are never touched: the patch adds only the
// generated fields that are missing and the template-hash annotation, written
// out directly. Nothing of the user's object is copied or compared, so its
// size and depth (status preserves unknown fields, any nesting the API
// server's decoder accepts) cost nothing here.
import { skipped, type Decision } from '../admission/decision.js';
import type { JsonPatchOperation } from '../admission/types.js';
import type { AdmissionRequest } from '../admission/types.js';
import type { ClusterView } from '../sidecar/view.js';
import { isRecord } from '../util/json.js';
import { isSidecarRequest } from '../sidecar/review.js';
import {
  GENERATE_ANNOTATION,
  generateSpec,
  TEMPLATE_HASH_ANNOTATION,
  templateHash,
  type DefaultsConfig,
} from './generate.js';

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
  if (
    !fillable(req.object.spec) ||
    !fillable(isRecord(req.object.metadata) ? req.object.metadata.annotations : undefined)
  )
    return skipped();
  const patch = completionPatch(req.object, generateSpec(namespace, options.config));
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

/**
 * The RFC 6902 operations that add the generated spec fields where the user
 * wrote nothing (absent or null) and the template hash where no annotation
 * holds one. A null member is replaced; a missing one is added.
 */
function completionPatch(obj: Record<string, unknown>, generated: Record<string, unknown>): JsonPatchOperation[] {
  const ops: JsonPatchOperation[] = [];
  const set = (path: string, current: unknown, value: unknown) =>
    ops.push({ op: current === undefined ? 'add' : 'replace', path, value });
  if (!isRecord(obj.spec)) set('/spec', obj.spec, generated);
  else
    for (const [field, value] of Object.entries(generated))
      if (obj.spec[field] === undefined || obj.spec[field] === null)
        set(`/spec/${pointer(field)}`, obj.spec[field], value);
  const hash = templateHash(generated as Parameters<typeof templateHash>[0]);
  const metadata = obj.metadata;
  if (!isRecord(metadata)) set('/metadata', metadata, { annotations: { [TEMPLATE_HASH_ANNOTATION]: hash } });
  else if (!isRecord(metadata.annotations))
    set('/metadata/annotations', metadata.annotations, { [TEMPLATE_HASH_ANNOTATION]: hash });
  else if (
    metadata.annotations[TEMPLATE_HASH_ANNOTATION] === undefined ||
    metadata.annotations[TEMPLATE_HASH_ANNOTATION] === null
  ) {
    set(
      `/metadata/annotations/${pointer(TEMPLATE_HASH_ANNOTATION)}`,
      metadata.annotations[TEMPLATE_HASH_ANNOTATION],
      hash,
    );
  }
  return ops;
}

/** One JSON Pointer reference token (RFC 6901). */
const pointer = (key: string): string => key.replace(/~/g, '~0').replace(/\//g, '~1');

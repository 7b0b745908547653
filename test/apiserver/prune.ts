// Structural-schema pruning of custom resources, as apiextensions-apiserver
// does on every write: fields the CRD's openAPIV3Schema does not declare are
// dropped, and their paths are reported so that fieldValidation=Strict can
// reject them and fieldValidation=Warn can warn about them.
//
// Full schema validation (types, enums, patterns, CEL x-kubernetes-validations)
// is deliberately NOT done: the project's own validating webhook is what
// checks Sidecar contents, and these tests exercise it through admission.

import type { KubeObject, StructuralSchema } from './types.js';

const OBJECT_META_FIELDS = new Set([
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
]);

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function pruneValue(value: unknown, schema: StructuralSchema | undefined, path: string, unknown: string[]): void {
  if (!schema) return;
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      pruneValue(item, schema.items, `${path}[${i}]`, unknown);
    });
    return;
  }
  if (!isObject(value)) return;
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  const additional = typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined;
  for (const key of Object.keys(value)) {
    const declared = schema.properties?.[key];
    if (declared) {
      pruneValue(value[key], declared, join(path, key), unknown);
    } else if (additional) {
      pruneValue(value[key], additional, join(path, key), unknown);
    } else if (!preserve && schema.additionalProperties !== true) {
      unknown.push(join(path, key));
      delete value[key];
    }
  }
}

/**
 * Prunes `obj` in place against a CRD version's openAPIV3Schema and returns
 * the paths of the fields it dropped (`spec.foo`, `spec.egress[0].bar`).
 */
export function pruneCustomResource(obj: KubeObject, schema: StructuralSchema): string[] {
  const unknown: string[] = [];
  const root = obj as unknown as Record<string, unknown>;
  for (const key of Object.keys(root)) {
    if (key === 'apiVersion' || key === 'kind') continue;
    if (key === 'metadata') {
      if (isObject(root.metadata)) {
        for (const metaKey of Object.keys(root.metadata)) {
          if (!OBJECT_META_FIELDS.has(metaKey)) {
            unknown.push(`metadata.${metaKey}`);
            delete root.metadata[metaKey];
          }
        }
      }
      continue;
    }
    const declared = schema.properties?.[key];
    if (declared) pruneValue(root[key], declared, key, unknown);
    else if (schema['x-kubernetes-preserve-unknown-fields'] !== true) {
      unknown.push(key);
      delete root[key];
    }
  }
  return unknown;
}

/** The strict decoding error text kube-apiserver reports for unknown fields. */
export function strictDecodingMessage(paths: string[]): string {
  return `strict decoding error: ${paths.map((p) => `unknown field "${p}"`).join(', ')}`;
}

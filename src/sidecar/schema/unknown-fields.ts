// Fields the API server would prune. With kubectl's default --validate=strict
// the request is refused instead, with `unknown field "<path>"`. Walks the value
// and the structural schema together, like the API server's pruning: keys not
// in `properties` are unknown unless the schema preserves unknown fields there;
// map values and list items are followed into their schemas. The walk goes no
// deeper than the schema, so hostile nesting costs nothing.
import type { FindingSink, Violation } from '../violation.js';
import { unknownField } from './k8s-errors.js';
import { childPath, indexPath, keyPath } from './paths.js';
import { schemaViolation } from './rules.js';
import type { SchemaNode } from './schema-node.js';

/** Top-level keys of a custom resource besides the schema's own (spec, status). */
const TYPE_AND_OBJECT_META = ['apiVersion', 'kind', 'metadata'] as const;

/** Reports every unknown field of the object (metadata is checked separately against ObjectMeta). */
export function findUnknownFields(object: Record<string, unknown>, schema: SchemaNode, out: FindingSink): void {
  const properties = schema.properties ?? {};
  for (const key of Object.keys(object)) {
    if ((TYPE_AND_OBJECT_META as readonly string[]).includes(key)) continue;
    const child = Object.hasOwn(properties, key) ? properties[key] : undefined;
    if (child === undefined) out.push(unknownFieldViolation(key));
    else walk(object[key], child, key, out);
  }
}

function walk(value: unknown, node: SchemaNode, path: string, out: FindingSink): void {
  if (Array.isArray(value)) {
    if (node.items !== undefined) {
      for (let i = 0; i < value.length; i++) walk(value[i], node.items, indexPath(path, i), out);
    }
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const record = value as Record<string, unknown>;
  const properties = node.properties;
  const mapValues = typeof node.additionalProperties === 'object' ? node.additionalProperties : undefined;
  const preserve = node['x-kubernetes-preserve-unknown-fields'] === true;
  if (properties === undefined && mapValues === undefined) {
    // An object schema with no fields keeps nothing, unless it preserves unknown fields.
    if (node.type === 'object' && !preserve) for (const key of Object.keys(record)) out.push(unknownFieldViolation(childPath(path, key)));
    return;
  }
  for (const key of Object.keys(record)) {
    const child = properties !== undefined && Object.hasOwn(properties, key) ? properties[key] : undefined;
    if (child !== undefined) walk(record[key], child, childPath(path, key), out);
    else if (mapValues !== undefined) walk(record[key], mapValues, keyPath(path, key), out);
    else if (!preserve) out.push(unknownFieldViolation(childPath(path, key)));
  }
}

export function unknownFieldViolation(path: string): Violation {
  return schemaViolation('schema.unknown-field', path, unknownField(path));
}

// Fields the API server would prune. With kubectl's default --validate=strict
// the request is refused instead, with `unknown field "<path>"`. Walks the value
// and the structural schema together, like the API server's pruning: keys not
// in `properties` are unknown unless the schema preserves unknown fields there;
// map values and list items are followed into their schemas. Below a key the
// schema does not know, nothing is walked (that key is the finding); list
// items without a schema are searched for keys, as the API server does, with
// an explicit stack, so hostile nesting cannot exhaust the call stack.
import type { Violation } from '../violation.js';
import { unknownField } from './k8s-errors.js';
import { childPath, indexPath } from './paths.js';
import { schemaViolation } from './rules.js';
import type { SchemaNode } from './schema-node.js';

/** Top-level keys of a custom resource besides the schema's own (spec, status). */
const TYPE_AND_OBJECT_META = ['apiVersion', 'kind', 'metadata'] as const;

/** Reports every unknown field of the object (metadata is checked separately against ObjectMeta). */
export function findUnknownFields(object: Record<string, unknown>, schema: SchemaNode, out: Violation[]): void {
  const properties = schema.properties ?? {};
  for (const key of Object.keys(object)) {
    if ((TYPE_AND_OBJECT_META as readonly string[]).includes(key)) continue;
    const child = Object.hasOwn(properties, key) ? properties[key] : undefined;
    if (child === undefined) out.push(unknownFieldViolation(key));
    else walk(object[key], child, key, out);
  }
}

/**
 * apiextensions' pruning walk: the value's own shape decides (an object's
 * keys are looked up in the schema's properties whatever type the schema
 * declares; list items in its items), and where the schema has nothing to say
 * (node undefined) every key below is unknown. Paths join keys with "." and
 * indexes with "[i]", map keys included, as the API server prints them.
 */
function walk(value: unknown, node: SchemaNode | undefined, path: string, out: Violation[]): void {
  if (node === undefined) {
    everyKeyUnknown(value, path, out);
    return;
  }
  if (node['x-kubernetes-preserve-unknown-fields'] === true) {
    keepUnknown(value, node, path, out);
    return;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) walk(value[i], node.items, indexPath(path, i), out);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const record = value as Record<string, unknown>;
  const properties = node.properties;
  const mapValues = typeof node.additionalProperties === 'object' ? node.additionalProperties : undefined;
  for (const key of Object.keys(record)) {
    const child = properties !== undefined && Object.hasOwn(properties, key) ? properties[key] : undefined;
    if (child !== undefined) walk(record[key], child, childPath(path, key), out);
    else if (mapValues !== undefined) walk(record[key], mapValues, childPath(path, key), out);
    else out.push(unknownFieldViolation(childPath(path, key)));
  }
}

/** Under x-kubernetes-preserve-unknown-fields unknown keys stay; known ones are still walked. */
function keepUnknown(value: unknown, node: SchemaNode, path: string, out: Violation[]): void {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item = node.items;
      if (item !== undefined) keepUnknown(value[i], item, indexPath(path, i), out);
    }
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const record = value as Record<string, unknown>;
  const mapValues = typeof node.additionalProperties === 'object' ? node.additionalProperties : undefined;
  for (const key of Object.keys(record)) {
    const child =
      node.properties !== undefined && Object.hasOwn(node.properties, key) ? node.properties[key] : undefined;
    if (child !== undefined) walk(record[key], child, childPath(path, key), out);
    else if (mapValues !== undefined) walk(record[key], mapValues, childPath(path, key), out);
  }
}

/** Where the schema says nothing: each object key is unknown; lists are searched, iteratively. */
function everyKeyUnknown(value: unknown, path: string, out: Violation[]): void {
  const stack: [unknown, string][] = [[value, path]];
  while (stack.length > 0) {
    const [v, at] = stack.pop()!;
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], indexPath(at, i)]);
    } else if (typeof v === 'object' && v !== null) {
      for (const key of Object.keys(v)) out.push(unknownFieldViolation(childPath(at, key)));
    }
  }
}

export function unknownFieldViolation(path: string): Violation {
  return schemaViolation('schema.unknown-field', path, unknownField(path));
}

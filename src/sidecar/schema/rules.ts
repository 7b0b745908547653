// The rule ids that checkSchema reports, each with a one-line fix hint.
import type { Violation } from '../violation.js';

export type SchemaRuleId =
  | 'schema.type'
  | 'schema.required'
  | 'schema.enum'
  | 'schema.range'
  | 'schema.length'
  | 'schema.unknown-field'
  | 'schema.cel'
  | 'meta.name'
  | 'meta.namespace'
  | 'meta.labels'
  | 'meta.annotations'
  | 'object.kind'
  | 'object.size'
  | 'schema.partial';

export interface SchemaRule {
  readonly hint: string;
}

export const SCHEMA_RULES: Readonly<Record<SchemaRuleId, SchemaRule>> = {
  'schema.type': {
    hint: 'Give the field a value of the type the Sidecar CRD declares (for example a number, not a quoted string).',
  },
  'schema.required': { hint: 'Add the missing field; the Sidecar CRD requires it.' },
  'schema.enum': { hint: 'Use one of the listed values, spelled exactly (they are case-sensitive).' },
  'schema.range': { hint: 'Use a number inside the range the Sidecar CRD allows for this field.' },
  'schema.length': { hint: 'Shorten the value or the list to the size the Sidecar CRD allows.' },
  'schema.unknown-field': {
    hint: 'Remove the field or fix its spelling; the API server does not know it and would drop it.',
  },
  'schema.cel': { hint: "Change the value so that it satisfies the CRD's validation rule quoted in the message." },
  'meta.name': {
    hint: "Use a lowercase DNS-1123 name: a-z, 0-9, '-' and '.', starting and ending with a letter or digit, at most 253 characters.",
  },
  'meta.namespace': {
    hint: "Use a lowercase DNS-1123 label: a-z, 0-9 and '-', starting and ending with a letter or digit, at most 63 characters.",
  },
  'meta.labels': {
    hint: "Use label keys like 'example.com/name' and values of at most 63 characters: letters, digits, '-', '_' and '.'.",
  },
  'meta.annotations': {
    hint: "Use annotation keys like 'example.com/name' and keep all annotations together under 256 KiB.",
  },
  'object.kind': {
    hint: 'Use kind Sidecar with apiVersion networking.istio.io/v1 (v1beta1 and v1alpha3 are also served).',
  },
  'object.size': {
    hint: 'Make the Sidecar smaller: list namespaces (ns/*) instead of single hosts, or split it into Sidecars for different workloads.',
  },
  'schema.partial': {
    hint: 'Fix this error and check again; a Sidecar this large is checked in full only when it matches the schema.',
  },
};

export function schemaViolation(rule: SchemaRuleId, path: string, message: string): Violation {
  return { rule, severity: 'error', path, message, hint: SCHEMA_RULES[rule].hint };
}

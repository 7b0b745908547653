// The shape of the generated JSON Schema (sidecar-schema.gen.ts): the subset of
// OpenAPI v3 that the Sidecar CRD uses, plus the Kubernetes extensions we keep.
// A type alias (not an interface) so that it is assignable to Ajv's SchemaObject.

export type JsonType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';

export type CelRuleSpec = {
  readonly rule: string;
  readonly message: string;
};

export type SchemaNode = {
  readonly type?: JsonType;
  readonly nullable?: boolean;
  readonly format?: string;
  readonly enum?: readonly (string | null)[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly maxLength?: number;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly maxProperties?: number;
  readonly required?: readonly string[];
  readonly properties?: { readonly [name: string]: SchemaNode };
  readonly additionalProperties?: SchemaNode | boolean;
  readonly items?: SchemaNode;
  readonly anyOf?: readonly SchemaNode[];
  readonly 'x-kubernetes-validations'?: readonly CelRuleSpec[];
  readonly 'x-kubernetes-preserve-unknown-fields'?: boolean;
  readonly 'x-kubernetes-int-or-string'?: boolean;
};

export type CrdVersion = {
  readonly name: string;
  readonly served: boolean;
  readonly storage: boolean;
};

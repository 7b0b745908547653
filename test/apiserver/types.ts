// Shapes shared by the test API server's modules.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

/** Any API object as JSON. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

/** A column of `kubectl get`'s server-side table for one resource. */
export interface TableColumn {
  name: string;
  type: 'string' | 'integer' | 'date' | 'number' | 'boolean';
  format?: string;
  description: string;
  priority?: number;
  cell(obj: KubeObject): string | number | boolean | null;
}

/** A structural (CRD) schema, as far as pruning needs it. */
export interface StructuralSchema {
  type?: string;
  properties?: Record<string, StructuralSchema>;
  items?: StructuralSchema;
  additionalProperties?: StructuralSchema | boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  [key: string]: unknown;
}

/**
 * One API resource. Every served version of it is the same stored object; the
 * first entry of `versions` is the storage (and preferred) version.
 */
export interface ResourceType {
  group: string;
  versions: string[];
  plural: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  /** Served at `<plural>/status`, and main-resource writes leave `.status` alone. */
  statusSubresource: boolean;
  /** Sets metadata.generation (1 on create, +1 when anything but metadata/status changes). */
  tracksGeneration: boolean;
  /** Backed by a CustomResourceDefinition: no strategic merge patch, schema pruning, deleted object returned. */
  custom: boolean;
  /** Per-version openAPIV3Schema (custom resources only). */
  schemas: Record<string, StructuralSchema>;
  /** Delete answers with the deleted object (true) or with a Success Status (false). */
  deleteReturnsObject: boolean;
  table: TableColumn[];
  /** Defaults a create like the resource's registry strategy does. */
  prepareForCreate?(obj: KubeObject): void;
}

export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
}

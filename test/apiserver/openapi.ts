// OpenAPI v3 documents (`/openapi/v3` and `/openapi/v3/<api|apis/group/version>`).
//
// kubectl reads them for two things: whether a kind's PATCH operation takes
// the `fieldValidation` query parameter (if so, `--validate=strict` becomes
// server-side `?fieldValidation=Strict`), and whether that PATCH accepts
// strategic merge patch (`kubectl apply`'s patch type). Custom resources get
// their CRD schema as a component, like the real server. Built-in kinds get
// their paths but no component schemas: kubectl then computes strategic merge
// patches from its compiled-in types, which carry the same patch metadata
// (writing the full core/v1 schemas here would be a copy of Kubernetes' API).
// `/openapi/v2` is not served (404); kubectl only falls back to it when v3
// has no answer, and treats its absence as "no OpenAPI v2".

import { createHash } from 'node:crypto';
import type { ResourceRegistry } from './resources.js';
import type { ResourceType } from './types.js';

type Doc = Record<string, unknown>;

function gvPath(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`;
}

function reverseDomain(group: string): string {
  return group.split('.').reverse().join('.');
}

function schemaName(t: ResourceType, version: string, kind: string): string {
  if (t.custom) return `${reverseDomain(t.group)}.${version}.${kind}`;
  const pkg = t.group === '' ? 'core' : t.group.replace(/\.k8s\.io$/, '');
  return `io.k8s.api.${pkg}.${version}.${kind}`;
}

const queryParam = (name: string, description: string, type = 'string'): Doc => ({
  name,
  in: 'query',
  description,
  schema: { type, uniqueItems: true },
});

const WRITE_PARAMS = [
  queryParam('dryRun', 'When present, indicates that modifications should not be persisted.'),
  queryParam(
    'fieldManager',
    'fieldManager is a name associated with the actor or entity that is making these changes.',
  ),
  queryParam(
    'fieldValidation',
    'fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: Ignore, Warn, Strict.',
  ),
];

const LIST_PARAMS = [
  queryParam('allowWatchBookmarks', 'allowWatchBookmarks requests watch events with type "BOOKMARK".', 'boolean'),
  queryParam('continue', 'The continue option should be set when retrieving more results from the server.'),
  queryParam('fieldSelector', 'A selector to restrict the list of returned objects by their fields.'),
  queryParam('labelSelector', 'A selector to restrict the list of returned objects by their labels.'),
  queryParam('limit', 'limit is a maximum number of responses to return for a list call.', 'integer'),
  queryParam(
    'resourceVersion',
    'resourceVersion sets a constraint on what resource versions a request may be served from.',
  ),
  queryParam('timeoutSeconds', 'Timeout for the list/watch call.', 'integer'),
  queryParam('watch', 'Watch for changes to the described resources.', 'boolean'),
];

function response(ref: string): Doc {
  return {
    '200': { description: 'OK', content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } } },
  };
}

function operation(t: ResourceType, version: string, action: string, ref: string, extra: Doc = {}): Doc {
  return {
    description: `${action} ${t.kind}`,
    operationId: `${action}${t.kind}`,
    responses: response(ref),
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': { group: t.group, version, kind: t.kind },
    ...extra,
  };
}

function patchBody(t: ResourceType): Doc {
  const types = ['application/apply-patch+yaml', 'application/json-patch+json', 'application/merge-patch+json'];
  if (!t.custom) types.push('application/strategic-merge-patch+json');
  const content: Doc = {};
  for (const ct of types)
    content[ct] = { schema: { $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch' } };
  return { content, required: true };
}

function resourcePaths(t: ResourceType, version: string, paths: Doc): void {
  const prefix = `/${gvPath(t.group, version)}`;
  const collection = t.namespaced ? `${prefix}/namespaces/{namespace}/${t.plural}` : `${prefix}/${t.plural}`;
  const kindRef = schemaName(t, version, t.kind);
  const listRef = schemaName(t, version, t.listKind);
  const body = {
    content: { 'application/json': { schema: { $ref: `#/components/schemas/${kindRef}` } } },
    required: true,
  };
  const nameParam = { name: 'name', in: 'path', required: true, schema: { type: 'string', uniqueItems: true } };
  const nsParam = { name: 'namespace', in: 'path', required: true, schema: { type: 'string', uniqueItems: true } };
  const scopeParams = t.namespaced ? [nsParam] : [];

  paths[collection] = {
    get: operation(t, version, 'list', listRef, { parameters: LIST_PARAMS }),
    post: operation(t, version, 'post', kindRef, { parameters: WRITE_PARAMS, requestBody: body }),
    parameters: scopeParams,
  };
  paths[`${collection}/{name}`] = {
    get: operation(t, version, 'get', kindRef),
    put: operation(t, version, 'put', kindRef, { parameters: WRITE_PARAMS, requestBody: body }),
    patch: operation(t, version, 'patch', kindRef, {
      parameters: [...WRITE_PARAMS, queryParam('force', 'Force is going to "force" Apply requests.', 'boolean')],
      requestBody: patchBody(t),
    }),
    delete: operation(t, version, 'delete', 'io.k8s.apimachinery.pkg.apis.meta.v1.Status', {
      parameters: [queryParam('dryRun', 'When present, indicates that modifications should not be persisted.')],
    }),
    parameters: [nameParam, ...scopeParams],
  };
  if (t.namespaced) {
    paths[`${prefix}/${t.plural}`] = { get: operation(t, version, 'list', listRef, { parameters: LIST_PARAMS }) };
  }
}

const OBJECT_META_REF = { $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' };

function customSchemas(t: ResourceType, version: string, schemas: Doc): void {
  const crdSchema = structuredClone(t.schemas[version] ?? {}) as Doc;
  const properties = { ...((crdSchema.properties as Doc | undefined) ?? {}) };
  schemas[schemaName(t, version, t.kind)] = {
    ...crdSchema,
    type: 'object',
    properties: {
      apiVersion: {
        type: 'string',
        description: 'APIVersion defines the versioned schema of this representation of an object.',
      },
      kind: {
        type: 'string',
        description: 'Kind is a string value representing the REST resource this object represents.',
      },
      metadata: { allOf: [OBJECT_META_REF], description: "Standard object's metadata." },
      ...properties,
    },
    'x-kubernetes-group-version-kind': [{ group: t.group, version, kind: t.kind }],
  };
  schemas[schemaName(t, version, t.listKind)] = {
    type: 'object',
    required: ['items'],
    properties: {
      apiVersion: { type: 'string' },
      items: { type: 'array', items: { $ref: `#/components/schemas/${schemaName(t, version, t.kind)}` } },
      kind: { type: 'string' },
      metadata: { $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta' },
    },
    'x-kubernetes-group-version-kind': [{ group: t.group, version, kind: t.listKind }],
  };
}

const META_SCHEMAS: Doc = {
  'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta': {
    type: 'object',
    description: 'ObjectMeta is metadata that all persisted resources must have.',
    properties: {
      annotations: { type: 'object', additionalProperties: { type: 'string', default: '' } },
      creationTimestamp: { type: 'string', format: 'date-time' },
      finalizers: {
        type: 'array',
        items: { type: 'string', default: '' },
        'x-kubernetes-list-type': 'set',
        'x-kubernetes-patch-strategy': 'merge',
      },
      generateName: { type: 'string' },
      generation: { type: 'integer', format: 'int64' },
      labels: { type: 'object', additionalProperties: { type: 'string', default: '' } },
      name: { type: 'string' },
      namespace: { type: 'string' },
      resourceVersion: { type: 'string' },
      uid: { type: 'string' },
    },
  },
  'io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta': {
    type: 'object',
    properties: {
      continue: { type: 'string' },
      remainingItemCount: { type: 'integer', format: 'int64' },
      resourceVersion: { type: 'string' },
    },
  },
  'io.k8s.apimachinery.pkg.apis.meta.v1.Patch': {
    type: 'object',
    description: 'Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.',
  },
  'io.k8s.apimachinery.pkg.apis.meta.v1.Status': {
    type: 'object',
    properties: {
      apiVersion: { type: 'string' },
      code: { type: 'integer', format: 'int32' },
      kind: { type: 'string' },
      message: { type: 'string' },
      reason: { type: 'string' },
      status: { type: 'string' },
    },
    'x-kubernetes-group-version-kind': [{ group: '', version: 'v1', kind: 'Status' }],
  },
};

/** The OpenAPI v3 document of one group-version, or undefined if it is not served. */
export function groupVersionDocument(registry: ResourceRegistry, group: string, version: string): Doc | undefined {
  const types = registry.inGroupVersion(group, version);
  if (types.length === 0) return undefined;
  const paths: Doc = {};
  const schemas: Doc = structuredClone(META_SCHEMAS);
  for (const t of types) {
    resourcePaths(t, version, paths);
    if (t.custom) customSchemas(t, version, schemas);
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.32.0' },
    paths,
    components: { schemas },
  };
}

function hashOf(doc: Doc): string {
  return createHash('sha512').update(JSON.stringify(doc)).digest('hex').slice(0, 128).toUpperCase();
}

/** The `/openapi/v3` discovery document: one entry per served group-version. */
export function openApiRoot(registry: ResourceRegistry): Doc {
  const paths: Doc = {};
  const gvs: [string, string][] = [['', 'v1']];
  for (const g of registry.groups()) for (const v of registry.groupVersions(g)) gvs.push([g, v]);
  for (const [g, v] of gvs) {
    const doc = groupVersionDocument(registry, g, v);
    if (!doc) continue;
    const path = gvPath(g, v);
    paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${hashOf(doc)}` };
  }
  return { paths };
}

/** Parses `/openapi/v3/api/v1` or `/openapi/v3/apis/<group>/<version>` into a group-version. */
export function parseOpenApiPath(pathname: string): { group: string; version: string } | undefined {
  const m = /^\/openapi\/v3\/(?:api\/([^/]+)|apis\/([^/]+)\/([^/]+))$/.exec(pathname);
  if (!m) return undefined;
  if (m[1]) return { group: '', version: m[1] };
  return { group: m[2] ?? '', version: m[3] ?? '' };
}

// Request routing and the REST verbs (create, get, list, watch, update,
// patch, delete) over the generic store, in kube-apiserver's order:
// decode → field pruning → mutating admission → defaulting (uid, name,
// generation, ...) → validating admission → storage.

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { runMutatingWebhooks, runValidatingWebhooks } from './admission.js';
import type { AdmissionAttributes, AdmissionDeps, Operation } from './admission.js';
import { defaultWebhook } from './admission.js';
import {
  AGGREGATED_DISCOVERY_V2,
  aggregatedDiscovery,
  apiGroup,
  apiVersions,
  groupList,
  resourceList,
  versionInfo,
  wantsAggregatedDiscovery,
} from './discovery.js';
import type { FaultRules } from './faults.js';
import { groupVersionDocument, openApiRoot, parseOpenApiPath } from './openapi.js';
import {
  APPLY_PATCH,
  JSON_PATCH,
  MERGE_PATCH,
  STRATEGIC_MERGE_PATCH,
  jsonPatch,
  mergePatch,
  strategicMerge,
} from './patch.js';
import { PROTOBUF, decodeProtobufObject } from './protobuf.js';
import { pruneCustomResource, strictDecodingMessage } from './prune.js';
import { apiVersionOf } from './resources.js';
import type { ResourceRegistry } from './resources.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import {
  ApiError,
  STALE_OBJECT,
  alreadyExists,
  badRequest,
  conflict,
  failure,
  invalid,
  notFound,
  reasonForCode,
  successStatus,
  unauthorized,
  unsupportedMediaType,
} from './status.js';
import { atVersion } from './store.js';
import type { ObjectStore } from './store.js';
import { toTable } from './table.js';
import type { Json, KubeObject, ResourceType, UserInfo } from './types.js';
import { WarningRecorder } from './warnings.js';
import { serveWatch } from './watch.js';
import type { WatchOptions, WatchRegistry } from './watch.js';

export interface ServerContext {
  registry: ResourceRegistry;
  store: ObjectStore;
  faults: FaultRules;
  watches: WatchRegistry;
  watchOptions: WatchOptions;
  token: string;
  user: UserInfo;
  serverAddress(): string;
  admission: Omit<AdmissionDeps, 'configurations' | 'namespaceLabels' | 'equivalentVersions'>;
  log(line: string): void;
  /** Called once per request when its response finishes (or the connection closes). */
  record(entry: { method: string; path: string; status: number; accept?: string }): void;
}

interface ResourceRequest {
  type: ResourceType;
  version: string;
  namespace?: string;
  name?: string;
  subresource: string;
  legacyWatch: boolean;
}

const NOT_FOUND_PATH = (): ApiError => failure(404, 'NotFound', 'the server could not find the requested resource', {});

function send(
  res: ServerResponse,
  code: number,
  body: unknown,
  warnings?: WarningRecorder,
  contentType = 'application/json',
): void {
  const headers: Record<string, string | string[]> = {
    'Content-Type': contentType,
    'Cache-Control': 'no-cache, private',
  };
  const warningHeaders = warnings?.headers() ?? [];
  if (warningHeaders.length > 0) headers.Warning = warningHeaders;
  res.writeHead(code, headers);
  res.end(JSON.stringify(body));
}

function sendError(res: ServerResponse, err: unknown, warnings?: WarningRecorder, log?: (line: string) => void): void {
  if (err instanceof ApiError) {
    send(res, err.code, err.status, warnings);
    return;
  }
  log?.(`internal error: ${(err as Error)?.stack ?? String(err)}`);
  const message = err instanceof Error ? err.message : String(err);
  send(
    res,
    500,
    failure(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] }).status,
    warnings,
  );
}

/** Waits `ms`, or less if the client goes away first (so no timer outlives its request). */
function hangUntil(ms: number, res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    res.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? 'application/json').split(';')[0]?.trim().toLowerCase() ?? '';
}

function decodeBody(body: Buffer, contentType: string): unknown {
  if (contentType === PROTOBUF && body.length > 0) return decodeProtobufObject(body);
  const text = body.toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    if (contentType === 'application/yaml' || contentType === APPLY_PATCH) return parseYaml(text);
    return JSON.parse(text);
  } catch (err) {
    throw badRequest(`error decoding request body: ${(err as Error).message}`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function wantsTable(req: IncomingMessage): boolean {
  return /as=Table/.test(req.headers.accept ?? '');
}

/** Parses `/api/v1/...` and `/apis/<group>/<version>/...` resource paths. */
function parseResourcePath(registry: ResourceRegistry, pathname: string): ResourceRequest | undefined {
  const parts = pathname
    .split('/')
    .filter((p) => p !== '')
    .map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) {
    group = '';
    version = parts[1] ?? '';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1] ?? '';
    version = parts[2] ?? '';
    rest = parts.slice(3);
  } else {
    return undefined;
  }
  let legacyWatch = false;
  if (rest[0] === 'watch') {
    legacyWatch = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3 && rest[2] !== 'status' && rest[2] !== 'finalize') {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural, name, subresource, ...extra] = rest;
  if (!plural || extra.length > 0) return undefined;
  const type = registry.find(group, version, plural);
  if (!type) return undefined;
  if (type.namespaced === false && namespace !== undefined) return undefined;
  if (type.namespaced && namespace === undefined && name !== undefined) return undefined;
  if (subresource !== undefined && !(subresource === 'status' && type.statusSubresource)) return undefined;
  return {
    type,
    version,
    ...(namespace !== undefined ? { namespace } : {}),
    ...(name !== undefined ? { name } : {}),
    subresource: subresource ?? '',
    legacyWatch,
  };
}

type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

function fieldValidation(params: URLSearchParams): FieldValidation {
  const v = params.get('fieldValidation') ?? 'Warn';
  if (v !== 'Strict' && v !== 'Warn' && v !== 'Ignore') {
    throw badRequest(`fieldValidation parameter unsupported: ${v}. Valid values are: Ignore, Warn, Strict`);
  }
  return v;
}

function dryRun(params: URLSearchParams): boolean {
  const values = params.getAll('dryRun');
  for (const v of values)
    if (v !== 'All') throw badRequest(`dryRun parameter unsupported: ${v}; supported values are: All`);
  return values.length > 0;
}

function writeOptions(kind: 'CreateOptions' | 'UpdateOptions', params: URLSearchParams): Record<string, unknown> {
  const options: Record<string, unknown> = { kind, apiVersion: 'meta.k8s.io/v1' };
  const dry = params.getAll('dryRun');
  if (dry.length > 0) options.dryRun = dry;
  const manager = params.get('fieldManager');
  if (manager) options.fieldManager = manager;
  const validation = params.get('fieldValidation');
  if (validation) options.fieldValidation = validation;
  return options;
}

function specChanged(a: KubeObject, b: KubeObject): boolean {
  const strip = (o: KubeObject): string => {
    const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = o;
    return JSON.stringify(rest);
  };
  return strip(a) !== strip(b);
}

function sameStoredState(a: KubeObject, b: KubeObject): boolean {
  const norm = (o: KubeObject): string => {
    const copy = structuredClone(o);
    delete copy.metadata.resourceVersion;
    delete copy.apiVersion;
    delete copy.kind;
    return stableStringify(copy);
  };
  return norm(a) === norm(b);
}

function stableStringify(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  if (isObject(v))
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableStringify(v[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

const OBJECT_MEDIA_TYPES = ['application/json', 'application/yaml', PROTOBUF];

const NAME_CHARS = 'bcdfghjklmnpqrstvwxz2456789';

function generateName(prefix: string): string {
  let suffix = '';
  for (let i = 0; i < 5; i++) suffix += NAME_CHARS[Math.floor(Math.random() * NAME_CHARS.length)];
  return `${prefix}${suffix}`;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export class RequestHandler {
  constructor(private readonly ctx: ServerContext) {}

  private admissionDeps(): AdmissionDeps {
    const { registry, store } = this.ctx;
    return {
      ...this.ctx.admission,
      configurations: (kind) => {
        const t = registry.byGroupResource('admissionregistration.k8s.io', `${kind}webhookconfigurations`);
        return t ? store.list(t) : [];
      },
      namespaceLabels: (name) => {
        const t = registry.byGroupResource('', 'namespaces');
        const ns = t ? store.get(t, undefined, name) : undefined;
        return ns ? ((ns.metadata.labels ?? {}) as Record<string, string>) : undefined;
      },
      equivalentVersions: (t) => t.versions,
    };
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://localhost');
    const method = req.method ?? 'GET';
    const warnings = new WarningRecorder();
    res.once('close', () =>
      this.ctx.record({
        method,
        path: req.url ?? '/',
        status: res.statusCode,
        ...(req.headers.accept ? { accept: req.headers.accept } : {}),
      }),
    );
    try {
      const hang = this.ctx.faults.hangFor(method, req.url ?? '/');
      if (hang > 0) {
        await hangUntil(hang, res);
        // The client gave up while the request hung: serving it now would only
        // start work (a watch's timers) for nobody.
        if (res.destroyed || res.writableEnded) return;
      }
      const failCode = this.ctx.faults.takeFailure(method, req.url ?? '/');
      if (failCode !== undefined) {
        throw failure(failCode, reasonForCode(failCode), `injected failure for ${method} ${url.pathname}`);
      }
      if (!this.authenticated(req, url.pathname)) throw unauthorized();
      await this.route(req, res, url, method, warnings);
    } catch (err) {
      if (!res.headersSent) sendError(res, err, warnings, this.ctx.log);
      else res.destroy();
    }
  }

  private authenticated(req: IncomingMessage, pathname: string): boolean {
    // kube-apiserver lets anonymous clients read /version and the health endpoints.
    if (pathname === '/version' || pathname === '/healthz' || pathname === '/livez' || pathname === '/readyz')
      return true;
    return req.headers.authorization === `Bearer ${this.ctx.token}`;
  }

  private async route(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    method: string,
    warnings: WarningRecorder,
  ): Promise<void> {
    const { registry } = this.ctx;
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (method === 'GET') {
      if (path === '/version') return send(res, 200, versionInfo());
      if (path === '/healthz' || path === '/livez' || path === '/readyz') {
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('ok');
        return;
      }
      if (path === '/api' || path === '/apis') {
        const legacy = path === '/api';
        if (wantsAggregatedDiscovery(req.headers.accept))
          return send(res, 200, aggregatedDiscovery(registry, legacy), undefined, AGGREGATED_DISCOVERY_V2);
        return send(res, 200, legacy ? apiVersions(this.ctx.serverAddress()) : groupList(registry));
      }
      if (path === '/openapi/v3') return send(res, 200, openApiRoot(registry));
      if (path.startsWith('/openapi/v3/')) {
        const gv = parseOpenApiPath(path);
        const doc = gv ? groupVersionDocument(registry, gv.group, gv.version) : undefined;
        if (!doc) throw NOT_FOUND_PATH();
        return send(res, 200, doc);
      }
      const gvMatch = /^\/api\/([^/]+)$/.exec(path) ?? /^\/apis\/([^/]+)\/([^/]+)$/.exec(path);
      if (gvMatch) {
        const [group, version] = path.startsWith('/api/')
          ? ['', gvMatch[1] ?? '']
          : [gvMatch[1] ?? '', gvMatch[2] ?? ''];
        const list = resourceList(registry, group, version);
        if (!list) throw NOT_FOUND_PATH();
        return send(res, 200, list);
      }
      const groupMatch = /^\/apis\/([^/]+)$/.exec(path);
      if (groupMatch) {
        const group = apiGroup(registry, groupMatch[1] ?? '');
        if (!group) throw NOT_FOUND_PATH();
        return send(res, 200, group);
      }
    }
    const rr = parseResourcePath(registry, path);
    if (!rr) throw NOT_FOUND_PATH();
    await this.resourceVerb(req, res, url, method, rr, warnings);
  }

  private async resourceVerb(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    method: string,
    rr: ResourceRequest,
    warnings: WarningRecorder,
  ): Promise<void> {
    const params = url.searchParams;
    const isWatch = rr.legacyWatch || params.get('watch') === 'true' || params.get('watch') === '1';
    switch (method) {
      case 'GET':
        if (isWatch) return this.watch(res, rr, params);
        if (rr.name !== undefined) return this.get(req, res, rr, params);
        return this.list(req, res, rr, params);
      case 'POST':
        if (rr.name !== undefined)
          throw failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {});
        return this.create(req, res, rr, params, warnings);
      case 'PUT':
        if (rr.name === undefined)
          throw failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {});
        return this.update(req, res, rr, params, warnings);
      case 'PATCH':
        if (rr.name === undefined)
          throw failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {});
        return this.patch(req, res, rr, params, warnings);
      case 'DELETE':
        if (rr.name === undefined) return this.deleteCollection(req, res, rr, params, warnings);
        return this.delete(req, res, rr, params, warnings);
      default:
        throw failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {});
    }
  }

  // ---- reads ---------------------------------------------------------------

  private get(req: IncomingMessage, res: ServerResponse, rr: ResourceRequest, params: URLSearchParams): void {
    const obj = this.ctx.store.get(rr.type, rr.namespace, rr.name ?? '');
    if (!obj) throw notFound(rr.type.group, rr.type.plural, rr.name ?? '');
    const out = atVersion(rr.type, obj, rr.version);
    if (wantsTable(req) && rr.subresource === '') {
      send(
        res,
        200,
        toTable(rr.type.table, [out], { resourceVersion: out.metadata.resourceVersion }, params.get('includeObject')),
      );
      return;
    }
    send(res, 200, out);
  }

  private selection(rr: ResourceRequest, params: URLSearchParams): (obj: KubeObject) => boolean {
    const labels = parseLabelSelector(params.get('labelSelector'));
    const fields = parseFieldSelector(params.get('fieldSelector'), rr.type.plural);
    const name = rr.legacyWatch ? rr.name : undefined;
    return (obj) =>
      labels((obj.metadata.labels ?? {}) as Record<string, string>) &&
      fields(obj) &&
      (name === undefined || obj.metadata.name === name);
  }

  private list(req: IncomingMessage, res: ServerResponse, rr: ResourceRequest, params: URLSearchParams): void {
    const { store } = this.ctx;
    const matches = this.selection(rr, params);
    const all = store.list(rr.type, rr.namespace).filter(matches);
    if (wantsTable(req)) {
      const items = all.map((o) => atVersion(rr.type, o, rr.version));
      send(
        res,
        200,
        toTable(
          rr.type.table,
          items,
          { resourceVersion: String(store.currentRevision()) },
          params.get('includeObject'),
        ),
      );
      return;
    }
    const page = paginate(all, params, String(store.currentRevision()));
    const items = page.items.map((o) => atVersion(rr.type, o, rr.version));
    send(res, 200, {
      apiVersion: apiVersionOf(rr.type.group, rr.version),
      kind: rr.type.listKind,
      metadata: page.listMeta,
      items,
    });
  }

  private watch(res: ServerResponse, rr: ResourceRequest, params: URLSearchParams): void {
    const rv = params.get('resourceVersion');
    if (rv !== null && rv !== '' && !/^\d+$/.test(rv)) throw badRequest(`invalid resource version: ${rv}`);
    const timeout = params.get('timeoutSeconds');
    serveWatch(
      res,
      {
        resource: rr.type,
        version: rr.version,
        ...(rr.namespace !== undefined ? { namespace: rr.namespace } : {}),
        matches: this.selection(rr, params),
        resourceVersion: rv,
        ...(timeout !== null && /^\d+$/.test(timeout) ? { timeoutSeconds: Number(timeout) } : {}),
        bookmarks: params.get('allowWatchBookmarks') === 'true',
      },
      this.ctx.store,
      this.ctx.watches,
      this.ctx.watchOptions,
    );
  }

  // ---- writes --------------------------------------------------------------

  /** Decodes a full object body and checks it against the URL, like the create/update handlers. */
  private decodeObject(body: unknown, rr: ResourceRequest): KubeObject {
    if (!isObject(body)) throw badRequest("Object 'Kind' is missing in 'null'");
    const expected = apiVersionOf(rr.type.group, rr.version);
    const obj = body as unknown as KubeObject;
    if (obj.kind === undefined || obj.kind === '')
      throw badRequest(`Object 'Kind' is missing in '${JSON.stringify(body)}'`);
    if (obj.apiVersion !== undefined && obj.apiVersion !== expected) {
      throw badRequest(
        `the API version in the data (${obj.apiVersion}) does not match the expected API version (${expected})`,
      );
    }
    if (obj.kind !== rr.type.kind)
      throw badRequest(
        `${obj.kind} in version "${rr.version}" cannot be handled as a ${rr.type.kind}: no kind "${obj.kind}" is registered for version "${expected}"`,
      );
    obj.apiVersion = expected;
    if (!isObject(obj.metadata)) obj.metadata = {};
    return obj;
  }

  private checkNamespaceField(obj: KubeObject, rr: ResourceRequest): void {
    if (rr.type.namespaced) {
      if (
        obj.metadata.namespace !== undefined &&
        obj.metadata.namespace !== '' &&
        obj.metadata.namespace !== rr.namespace
      ) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      obj.metadata.namespace = rr.namespace ?? '';
    } else {
      delete obj.metadata.namespace;
    }
  }

  /**
   * Drops fields the CRD schema does not declare; `decodeError` words the
   * Strict failure like the create/update decoder (`<Kind> in version ... cannot be handled as ...`).
   */
  private prune(
    obj: KubeObject,
    rr: ResourceRequest,
    validation: FieldValidation,
    warnings: WarningRecorder,
    wrapForDecode: boolean,
  ): void {
    if (!rr.type.custom) return;
    const schema = rr.type.schemas[rr.version];
    if (!schema) return;
    const unknown = pruneCustomResource(obj, schema);
    if (unknown.length === 0) return;
    if (validation === 'Strict') {
      const message = strictDecodingMessage(unknown);
      throw badRequest(
        wrapForDecode
          ? `${rr.type.kind} in version "${rr.version}" cannot be handled as a ${rr.type.kind}: ${message}`
          : message,
      );
    }
    if (validation === 'Warn') for (const path of unknown) warnings.add(`unknown field "${path}"`);
  }

  private namespaceMustExist(rr: ResourceRequest): void {
    if (!rr.type.namespaced) return;
    const nsType = this.ctx.registry.byGroupResource('', 'namespaces');
    if (nsType && !this.ctx.store.get(nsType, undefined, rr.namespace ?? ''))
      throw notFound('', 'namespaces', rr.namespace ?? '');
  }

  private attributes(
    rr: ResourceRequest,
    operation: Operation,
    name: string,
    object: KubeObject | null,
    oldObject: KubeObject | null,
    isDryRun: boolean,
    options: Record<string, unknown>,
  ): AdmissionAttributes {
    const isNamespaceObject = rr.type.group === '' && rr.type.plural === 'namespaces';
    return {
      resource: rr.type,
      version: rr.version,
      subresource: rr.subresource,
      operation,
      name,
      namespace: isNamespaceObject ? name : (rr.namespace ?? ''),
      object,
      oldObject,
      dryRun: isDryRun,
      options,
      userInfo: this.ctx.user,
    };
  }

  private validateMeta(obj: KubeObject, rr: ResourceRequest): void {
    const name = obj.metadata.name ?? '';
    const pattern = rr.type.group === '' && rr.type.plural === 'namespaces' ? DNS_LABEL : DNS_SUBDOMAIN;
    if (!pattern.test(name) || name.length > 253) {
      const what = pattern === DNS_LABEL ? 'RFC 1123 label' : 'RFC 1123 subdomain';
      throw invalid(rr.type.group, rr.type.kind, name, [
        {
          type: 'FieldValueInvalid',
          field: 'metadata.name',
          message: `Invalid value: "${name}": a lowercase ${what} must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
        },
      ]);
    }
  }

  private defaultWebhookConfiguration(obj: KubeObject, rr: ResourceRequest): void {
    if (rr.type.group !== 'admissionregistration.k8s.io') return;
    const mutating = rr.type.plural === 'mutatingwebhookconfigurations';
    const hooks = obj.webhooks;
    if (!Array.isArray(hooks)) return;
    const causes = [];
    for (const [i, hook] of hooks.entries()) {
      if (!isObject(hook)) continue;
      defaultWebhook(hook, mutating);
      if (hook.sideEffects === undefined)
        causes.push({
          type: 'FieldValueRequired',
          field: `webhooks[${i}].sideEffects`,
          message: 'Required value: must specify one of None, NoneOnDryRun',
        });
      if (!Array.isArray(hook.admissionReviewVersions) || hook.admissionReviewVersions.length === 0) {
        causes.push({
          type: 'FieldValueRequired',
          field: `webhooks[${i}].admissionReviewVersions`,
          message: 'Required value: must specify one of v1, v1beta1',
        });
      }
    }
    if (causes.length > 0) throw invalid(rr.type.group, rr.type.kind, obj.metadata.name ?? '', causes);
  }

  private async create(
    req: IncomingMessage,
    res: ServerResponse,
    rr: ResourceRequest,
    params: URLSearchParams,
    warnings: WarningRecorder,
  ): Promise<void> {
    const { store } = this.ctx;
    const contentType = mediaType(req);
    if (!OBJECT_MEDIA_TYPES.includes(contentType)) throw unsupportedMediaType(OBJECT_MEDIA_TYPES);
    const isDryRun = dryRun(params);
    const validation = fieldValidation(params);
    let obj = this.decodeObject(decodeBody(await readBody(req), contentType), rr);
    this.prune(obj, rr, validation, warnings, true);
    this.checkNamespaceField(obj, rr);
    if (!obj.metadata.name && !obj.metadata.generateName) {
      throw invalid(rr.type.group, rr.type.kind, '', [
        {
          type: 'FieldValueRequired',
          field: 'metadata.name',
          message: 'Required value: name or generateName is required',
        },
      ]);
    }
    // NamespaceLifecycle admission runs before the webhooks.
    this.namespaceMustExist(rr);
    this.defaultWebhookConfiguration(obj, rr);
    const options = writeOptions('CreateOptions', params);
    const mutated = await runMutatingWebhooks(
      this.attributes(rr, 'CREATE', obj.metadata.name ?? '', obj, null, isDryRun, options),
      this.admissionDeps(),
      warnings,
    );
    obj = mutated ?? obj;
    if (rr.type.custom) pruneCustomResource(obj, rr.type.schemas[rr.version] ?? {});

    // BeforeCreate: what the registry strategy fills in.
    if (!obj.metadata.name && obj.metadata.generateName) obj.metadata.name = generateName(obj.metadata.generateName);
    this.validateMeta(obj, rr);
    delete obj.metadata.resourceVersion;
    obj.metadata.uid = randomUUID();
    obj.metadata.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    if (rr.type.tracksGeneration) obj.metadata.generation = 1;
    else delete obj.metadata.generation;
    if (rr.type.statusSubresource && rr.type.custom) delete obj.status;
    rr.type.prepareForCreate?.(obj);

    await runValidatingWebhooks(
      this.attributes(rr, 'CREATE', obj.metadata.name ?? '', obj, null, isDryRun, options),
      this.admissionDeps(),
      warnings,
    );
    if (store.get(rr.type, rr.namespace, obj.metadata.name ?? ''))
      throw alreadyExists(rr.type.group, rr.type.plural, obj.metadata.name ?? '');
    const stored = isDryRun ? obj : store.put(rr.type, atVersion(rr.type, obj, rr.type.versions[0] ?? rr.version));
    send(res, 201, atVersion(rr.type, stored, rr.version), warnings);
  }

  private async update(
    req: IncomingMessage,
    res: ServerResponse,
    rr: ResourceRequest,
    params: URLSearchParams,
    warnings: WarningRecorder,
  ): Promise<void> {
    const contentType = mediaType(req);
    if (!OBJECT_MEDIA_TYPES.includes(contentType)) throw unsupportedMediaType(OBJECT_MEDIA_TYPES);
    const validation = fieldValidation(params);
    const obj = this.decodeObject(decodeBody(await readBody(req), contentType), rr);
    if (obj.metadata.name !== undefined && obj.metadata.name !== rr.name) {
      throw badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${rr.name})`);
    }
    obj.metadata.name = rr.name;
    this.prune(obj, rr, validation, warnings, true);
    this.checkNamespaceField(obj, rr);
    await this.applyUpdate(res, rr, params, warnings, () => {
      // Custom resources do not allow unconditional updates; built-in kinds here do.
      if (rr.type.custom && !obj.metadata.resourceVersion) {
        throw invalid(rr.type.group, rr.type.kind, rr.name ?? '', [
          {
            type: 'FieldValueInvalid',
            field: 'metadata.resourceVersion',
            message: 'Invalid value: 0x0: must be specified for an update',
          },
        ]);
      }
      return obj;
    });
  }

  private async patch(
    req: IncomingMessage,
    res: ServerResponse,
    rr: ResourceRequest,
    params: URLSearchParams,
    warnings: WarningRecorder,
  ): Promise<void> {
    const contentType = mediaType(req);
    const accepted = rr.type.custom
      ? [JSON_PATCH, MERGE_PATCH, APPLY_PATCH]
      : [JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH];
    if (contentType === APPLY_PATCH) {
      throw failure(
        415,
        'UnsupportedMediaType',
        'server-side apply (application/apply-patch+yaml) is not implemented by the test API server; use client-side kubectl apply (the default)',
      );
    }
    if (!accepted.includes(contentType)) throw unsupportedMediaType(accepted);
    const validation = fieldValidation(params);
    const patchBody = decodeBody(await readBody(req), contentType) as Json;
    if (patchBody === undefined) throw badRequest('the body of the request was empty');
    await this.applyUpdate(res, rr, params, warnings, (existing) => {
      const current = atVersion(rr.type, existing, rr.version) as unknown as Json;
      let patched: Json;
      if (contentType === JSON_PATCH) patched = jsonPatch(current, patchBody);
      else if (contentType === MERGE_PATCH) patched = mergePatch(current, patchBody);
      else patched = strategicMerge(current, patchBody);
      if (!isObject(patched)) throw badRequest('the patch did not produce an object');
      const obj = patched as unknown as KubeObject;
      if (!isObject(obj.metadata)) obj.metadata = {};
      if (obj.metadata.name !== rr.name)
        throw badRequest(
          `the name of the object (${obj.metadata.name}) does not match the name on the URL (${rr.name})`,
        );
      // A patch that carries no resourceVersion is unconditional.
      if (!obj.metadata.resourceVersion) obj.metadata.resourceVersion = existing.metadata.resourceVersion;
      this.prune(obj, rr, validation, warnings, false);
      return obj;
    });
  }

  /** The shared tail of PUT and PATCH: admission, conflict check, strategy, storage. */
  private async applyUpdate(
    res: ServerResponse,
    rr: ResourceRequest,
    params: URLSearchParams,
    warnings: WarningRecorder,
    build: (existing: KubeObject) => KubeObject,
  ): Promise<void> {
    const { store } = this.ctx;
    const isDryRun = dryRun(params);
    const existing = store.get(rr.type, rr.namespace, rr.name ?? '');
    if (!existing) throw notFound(rr.type.group, rr.type.plural, rr.name ?? '');
    let obj = build(existing);
    const oldAtVersion = atVersion(rr.type, existing, rr.version);

    // Main-resource writes cannot change status and status writes change only status.
    if (rr.type.statusSubresource) {
      if (rr.subresource === 'status') {
        const status = obj.status;
        obj = { ...structuredClone(oldAtVersion), ...(status !== undefined ? { status } : {}) };
        if (status === undefined) delete obj.status;
      } else if (existing.status !== undefined) obj.status = structuredClone(existing.status);
      else delete obj.status;
    }
    // Defaults are applied when the request is decoded, before admission.
    this.defaultWebhookConfiguration(obj, rr);
    const options = writeOptions('UpdateOptions', params);
    const mutated = await runMutatingWebhooks(
      this.attributes(rr, 'UPDATE', rr.name ?? '', obj, oldAtVersion, isDryRun, options),
      this.admissionDeps(),
      warnings,
    );
    obj = mutated ?? obj;
    if (rr.type.custom) pruneCustomResource(obj, rr.type.schemas[rr.version] ?? {});

    if (obj.metadata.resourceVersion && obj.metadata.resourceVersion !== existing.metadata.resourceVersion) {
      throw conflict(rr.type.group, rr.type.plural, rr.name ?? '', STALE_OBJECT);
    }
    // BeforeUpdate: immutable metadata comes from the stored object.
    obj.metadata.uid = existing.metadata.uid;
    obj.metadata.creationTimestamp = existing.metadata.creationTimestamp;
    obj.metadata.resourceVersion = existing.metadata.resourceVersion;
    if (rr.type.tracksGeneration) {
      const generation = Number(existing.metadata.generation ?? 1);
      obj.metadata.generation = specChanged(obj, oldAtVersion) ? generation + 1 : generation;
    } else delete obj.metadata.generation;
    if (rr.type.group === '' && rr.type.plural === 'namespaces') {
      obj.metadata.labels = { ...(obj.metadata.labels ?? {}), 'kubernetes.io/metadata.name': rr.name ?? '' };
    }
    this.checkNamespaceField(obj, rr);

    await runValidatingWebhooks(
      this.attributes(rr, 'UPDATE', rr.name ?? '', obj, oldAtVersion, isDryRun, options),
      this.admissionDeps(),
      warnings,
    );
    let result: KubeObject;
    if (isDryRun || sameStoredState(obj, oldAtVersion)) result = isDryRun ? obj : oldAtVersion;
    else result = store.put(rr.type, atVersion(rr.type, obj, rr.type.versions[0] ?? rr.version));
    send(res, 200, atVersion(rr.type, result, rr.version), warnings);
  }

  private deleteOptions(body: unknown, params: URLSearchParams): Record<string, unknown> {
    const options: Record<string, unknown> = {
      ...(isObject(body) ? body : {}),
      kind: 'DeleteOptions',
      apiVersion: 'meta.k8s.io/v1',
    };
    const dry = params.getAll('dryRun');
    if (dry.length > 0) options.dryRun = dry;
    const propagation = params.get('propagationPolicy');
    if (propagation) options.propagationPolicy = propagation;
    const grace = params.get('gracePeriodSeconds');
    if (grace !== null) options.gracePeriodSeconds = Number(grace);
    return options;
  }

  private async removeOne(
    rr: ResourceRequest,
    name: string,
    options: Record<string, unknown>,
    isDryRun: boolean,
    warnings: WarningRecorder,
  ): Promise<KubeObject> {
    const { store, registry } = this.ctx;
    const existing = store.get(rr.type, rr.namespace, name);
    if (!existing) throw notFound(rr.type.group, rr.type.plural, name);
    const preconditions = isObject(options.preconditions) ? options.preconditions : {};
    if (
      typeof preconditions.resourceVersion === 'string' &&
      preconditions.resourceVersion !== existing.metadata.resourceVersion
    ) {
      throw conflict(
        rr.type.group,
        rr.type.plural,
        name,
        `Precondition failed: ResourceVersion in precondition: ${preconditions.resourceVersion}, ResourceVersion in object meta: ${existing.metadata.resourceVersion}`,
      );
    }
    if (typeof preconditions.uid === 'string' && preconditions.uid !== existing.metadata.uid) {
      throw conflict(
        rr.type.group,
        rr.type.plural,
        name,
        `Precondition failed: UID in precondition: ${preconditions.uid}, UID in object meta: ${existing.metadata.uid}`,
      );
    }
    const old = atVersion(rr.type, existing, rr.version);
    const attrs = this.attributes({ ...rr, name }, 'DELETE', name, null, old, isDryRun, options);
    await runMutatingWebhooks(attrs, this.admissionDeps(), warnings);
    await runValidatingWebhooks(attrs, this.admissionDeps(), warnings);
    if (isDryRun) return old;
    const removed = store.remove(rr.type, rr.namespace, name) ?? existing;
    if (rr.type.group === '' && rr.type.plural === 'namespaces') store.removeNamespaceContents(registry.types, name);
    return atVersion(rr.type, removed, rr.version);
  }

  private async delete(
    req: IncomingMessage,
    res: ServerResponse,
    rr: ResourceRequest,
    params: URLSearchParams,
    warnings: WarningRecorder,
  ): Promise<void> {
    const isDryRun = dryRun(params);
    const options = this.deleteOptions(decodeBody(await readBody(req), mediaType(req)), params);
    const removed = await this.removeOne(rr, rr.name ?? '', options, isDryRun, warnings);
    if (rr.type.deleteReturnsObject) return send(res, 200, removed, warnings);
    send(
      res,
      200,
      successStatus({
        name: rr.name ?? '',
        ...(rr.type.group ? { group: rr.type.group } : {}),
        kind: rr.type.plural,
        ...(removed.metadata.uid ? { uid: removed.metadata.uid } : {}),
      }),
      warnings,
    );
  }

  private async deleteCollection(
    req: IncomingMessage,
    res: ServerResponse,
    rr: ResourceRequest,
    params: URLSearchParams,
    warnings: WarningRecorder,
  ): Promise<void> {
    const isDryRun = dryRun(params);
    const options = this.deleteOptions(decodeBody(await readBody(req), mediaType(req)), params);
    const matches = this.selection(rr, params);
    const items: KubeObject[] = [];
    for (const obj of this.ctx.store.list(rr.type, rr.namespace).filter(matches)) {
      items.push(
        await this.removeOne(
          { ...rr, namespace: obj.metadata.namespace },
          obj.metadata.name ?? '',
          options,
          isDryRun,
          warnings,
        ),
      );
    }
    send(
      res,
      200,
      {
        apiVersion: apiVersionOf(rr.type.group, rr.version),
        kind: rr.type.listKind,
        metadata: { resourceVersion: String(this.ctx.store.currentRevision()) },
        items,
      },
      warnings,
    );
  }
}

/**
 * `limit` and `continue` as clients use them (client-go pages at 500). The
 * token carries the first page's resourceVersion and an offset; unlike etcd,
 * later pages are not a snapshot, which tests of paging do not need.
 */
function paginate<T>(
  all: T[],
  params: URLSearchParams,
  revision: string,
): { items: T[]; listMeta: Record<string, unknown> } {
  const limit = Number(params.get('limit') ?? '0');
  let offset = 0;
  let resourceVersion = revision;
  const token = params.get('continue');
  if (token) {
    let parsed: { rv?: unknown; offset?: unknown };
    try {
      parsed = JSON.parse(Buffer.from(token, 'base64url').toString()) as typeof parsed;
    } catch {
      throw badRequest('continue key is not valid: invalid continue token');
    }
    if (typeof parsed.rv !== 'string' || typeof parsed.offset !== 'number')
      throw badRequest('continue key is not valid: invalid continue token');
    resourceVersion = parsed.rv;
    offset = parsed.offset;
  }
  if (!Number.isInteger(limit) || limit <= 0) return { items: all.slice(offset), listMeta: { resourceVersion } };
  const items = all.slice(offset, offset + limit);
  const next = offset + limit;
  if (next >= all.length) return { items, listMeta: { resourceVersion } };
  const cont = Buffer.from(JSON.stringify({ rv: resourceVersion, offset: next })).toString('base64url');
  return { items, listMeta: { resourceVersion, continue: cont, remainingItemCount: all.length - next } };
}

// Admission webhooks, dispatched the way kube-apiserver 1.32 does: matching
// MUTATING webhooks in series (configurations by name, webhooks in order),
// each one's JSONPatch applied before the next sees the object; then every
// matching VALIDATING webhook in parallel, the first denial (in
// configuration order) failing the request.
//
// Not implemented (not needed by this project): matchConditions (CEL),
// reinvocationPolicy IfNeeded (mutating webhooks run once), audit
// annotations, ValidatingAdmissionPolicy.

import { randomUUID } from 'node:crypto';
import { atVersion } from './store.js';
import { labelSelectorMatcher, objectLabels } from './selectors.js';
import type { LabelSelectorObject } from './selectors.js';
import { ApiError, badRequest, internalError, notFound } from './status.js';
import type { StatusBody } from './status.js';
import { jsonPatch } from './patch.js';
import { postReview, resolveWebhook, WebhookCallError } from './webhook-client.js';
import type { ServiceResolver, WebhookClientConfig } from './webhook-client.js';
import type { WarningRecorder } from './warnings.js';
import type { Json, KubeObject, ResourceType, UserInfo } from './types.js';

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

export interface RuleWithOperations {
  operations?: string[];
  apiGroups?: string[];
  apiVersions?: string[];
  resources?: string[];
  scope?: 'Cluster' | 'Namespaced' | '*';
}

export interface WebhookSpec {
  name: string;
  clientConfig: WebhookClientConfig;
  rules?: RuleWithOperations[];
  failurePolicy?: 'Fail' | 'Ignore';
  matchPolicy?: 'Exact' | 'Equivalent';
  namespaceSelector?: LabelSelectorObject;
  objectSelector?: LabelSelectorObject;
  sideEffects?: 'None' | 'NoneOnDryRun' | 'Some' | 'Unknown';
  timeoutSeconds?: number;
  admissionReviewVersions?: string[];
  reinvocationPolicy?: 'Never' | 'IfNeeded';
}

/** What the request handler knows about one write, at the version the client used. */
export interface AdmissionAttributes {
  resource: ResourceType;
  version: string;
  subresource: string;
  operation: Operation;
  name: string;
  /** '' for cluster-scoped objects other than namespaces; a namespace's own name for namespaces. */
  namespace: string;
  object: KubeObject | null;
  oldObject: KubeObject | null;
  dryRun: boolean;
  options: Record<string, unknown>;
  userInfo: UserInfo;
}

export interface AdmissionDeps {
  configurations(kind: 'mutating' | 'validating'): KubeObject[];
  namespaceLabels(name: string): Record<string, string> | undefined;
  equivalentVersions(t: ResourceType): string[];
  serviceResolver: ServiceResolver;
  log(line: string): void;
}

/** The defaults kube-apiserver stores for admissionregistration.k8s.io/v1 webhooks. */
export function defaultWebhook(hook: Record<string, unknown>, mutating: boolean): void {
  hook.failurePolicy ??= 'Fail';
  hook.matchPolicy ??= 'Equivalent';
  hook.namespaceSelector ??= {};
  hook.objectSelector ??= {};
  hook.timeoutSeconds ??= 10;
  if (mutating) hook.reinvocationPolicy ??= 'Never';
  const config = hook.clientConfig as WebhookClientConfig | undefined;
  if (config?.service) config.service.port ??= 443;
  for (const rule of (hook.rules as RuleWithOperations[] | undefined) ?? []) rule.scope ??= '*';
}

const EXEMPT_RESOURCES = new Set([
  'validatingwebhookconfigurations',
  'mutatingwebhookconfigurations',
  'validatingadmissionpolicies',
  'validatingadmissionpolicybindings',
  'mutatingadmissionpolicies',
  'mutatingadmissionpolicybindings',
]);

function isExempt(t: ResourceType): boolean {
  return t.group === 'admissionregistration.k8s.io' && EXEMPT_RESOURCES.has(t.plural);
}

function listMatches(list: string[] | undefined, value: string): boolean {
  return (list ?? []).some((v) => v === '*' || v === value);
}

/** rules.Matcher: operation, group, version, resource[/subresource] and scope. */
export function ruleMatches(rule: RuleWithOperations, attrs: AdmissionAttributes, version: string): boolean {
  const t = attrs.resource;
  if (!listMatches(rule.operations, attrs.operation)) return false;
  if (!listMatches(rule.apiGroups, t.group)) return false;
  if (!listMatches(rule.apiVersions, version)) return false;
  const resourceOk = (rule.resources ?? []).some((entry) => {
    const slash = entry.indexOf('/');
    const res = slash < 0 ? entry : entry.slice(0, slash);
    const sub = slash < 0 ? '' : entry.slice(slash + 1);
    return (res === '*' || res === t.plural) && (sub === '*' || sub === attrs.subresource);
  });
  if (!resourceOk) return false;
  const isNamespaceObject = t.group === '' && t.plural === 'namespaces';
  switch (rule.scope ?? '*') {
    case 'Namespaced':
      return !isNamespaceObject && t.namespaced;
    case 'Cluster':
      return isNamespaceObject || !t.namespaced;
    default:
      return true;
  }
}

interface Invocation {
  hook: WebhookSpec;
  configurationName: string;
  /** The version the webhook's rule names (the request's, unless matched through matchPolicy Equivalent). */
  version: string;
}

function namespaceSelectorMatches(hook: WebhookSpec, attrs: AdmissionAttributes, deps: AdmissionDeps): boolean {
  const t = attrs.resource;
  const isNamespaceObject = t.group === '' && t.plural === 'namespaces';
  if (attrs.namespace === '' && !isNamespaceObject) return true;
  const selector = hook.namespaceSelector;
  if (
    !selector ||
    (Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0)
  )
    return true;
  let labels: Record<string, string> | undefined;
  if (isNamespaceObject && attrs.subresource === '' && (attrs.operation === 'CREATE' || attrs.operation === 'UPDATE')) {
    labels = objectLabels(attrs.object);
  } else {
    labels = deps.namespaceLabels(attrs.namespace);
    if (labels === undefined) throw notFound('', 'namespaces', attrs.namespace);
  }
  return labelSelectorMatcher(selector)(labels);
}

function objectSelectorMatches(hook: WebhookSpec, attrs: AdmissionAttributes): boolean {
  const selector = hook.objectSelector;
  if (
    !selector ||
    (Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0)
  )
    return true;
  const matches = labelSelectorMatcher(selector);
  return (
    (attrs.object !== null && matches(objectLabels(attrs.object))) ||
    (attrs.oldObject !== null && matches(objectLabels(attrs.oldObject)))
  );
}

/** generic.Webhook.ShouldCallHook: the version to call a webhook with, or undefined to skip it. */
export function shouldCall(hook: WebhookSpec, attrs: AdmissionAttributes, deps: AdmissionDeps): string | undefined {
  const rules = hook.rules ?? [];
  let version: string | undefined = rules.some((r) => ruleMatches(r, attrs, attrs.version)) ? attrs.version : undefined;
  if (version === undefined && (hook.matchPolicy ?? 'Equivalent') === 'Equivalent') {
    // Earlier rules win; within a rule, versions in the resource's preference order.
    outer: for (const rule of rules) {
      for (const v of deps.equivalentVersions(attrs.resource)) {
        if (v !== attrs.version && ruleMatches(rule, attrs, v)) {
          version = v;
          break outer;
        }
      }
    }
  }
  if (version === undefined) return undefined;
  if (!namespaceSelectorMatches(hook, attrs, deps)) return undefined;
  if (!objectSelectorMatches(hook, attrs)) return undefined;
  return version;
}

function collectInvocations(
  kind: 'mutating' | 'validating',
  attrs: AdmissionAttributes,
  deps: AdmissionDeps,
): Invocation[] {
  if (isExempt(attrs.resource)) return [];
  const configs = [...deps.configurations(kind)].sort((a, b) =>
    (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''),
  );
  const out: Invocation[] = [];
  for (const config of configs) {
    for (const raw of (config.webhooks as Record<string, unknown>[] | undefined) ?? []) {
      const hook = structuredClone(raw);
      defaultWebhook(hook, kind === 'mutating');
      const spec = hook as unknown as WebhookSpec;
      const version = shouldCall(spec, attrs, deps);
      if (version !== undefined) out.push({ hook: spec, configurationName: config.metadata.name ?? '', version });
    }
  }
  return out;
}

function gvk(t: ResourceType, version: string): { group: string; version: string; kind: string } {
  return { group: t.group, version, kind: t.kind };
}

function gvr(t: ResourceType, version: string): { group: string; version: string; resource: string } {
  return { group: t.group, version, resource: t.plural };
}

function reviewVersion(hook: WebhookSpec): 'v1' | 'v1beta1' | undefined {
  for (const v of hook.admissionReviewVersions ?? []) if (v === 'v1' || v === 'v1beta1') return v;
  return undefined;
}

/** The AdmissionReview kube-apiserver sends (JSON field names and omissions as Go's encoder produces them). */
export function buildReview(
  attrs: AdmissionAttributes,
  version: string,
  reviewApiVersion: string,
  uid: string,
): Record<string, unknown> {
  const t = attrs.resource;
  const request: Record<string, unknown> = {
    uid,
    kind: gvk(t, version),
    resource: gvr(t, version),
  };
  if (attrs.subresource) request.subResource = attrs.subresource;
  request.requestKind = gvk(t, attrs.version);
  request.requestResource = gvr(t, attrs.version);
  if (attrs.subresource) request.requestSubResource = attrs.subresource;
  if (attrs.name) request.name = attrs.name;
  if (attrs.namespace) request.namespace = attrs.namespace;
  request.operation = attrs.operation;
  request.userInfo = {
    username: attrs.userInfo.username,
    ...(attrs.userInfo.uid ? { uid: attrs.userInfo.uid } : {}),
    groups: attrs.userInfo.groups,
  };
  request.object = attrs.object ? atVersion(t, attrs.object, version) : null;
  request.oldObject = attrs.oldObject ? atVersion(t, attrs.oldObject, version) : null;
  request.dryRun = attrs.dryRun;
  request.options = attrs.options;
  return { kind: 'AdmissionReview', apiVersion: reviewApiVersion, request };
}

interface ReviewResult {
  allowed: boolean;
  status?: Partial<StatusBody>;
  patch?: string;
  patchType?: string;
  warnings?: string[];
}

/** webhookrequest.VerifyAdmissionResponse. Throws a WebhookCallError describing what is wrong. */
function verifyResponse(body: unknown, uid: string, reviewApiVersion: string, mutating: boolean): ReviewResult {
  const invalid = (why: string): WebhookCallError => new WebhookCallError(`received invalid webhook response: ${why}`);
  const review = (body ?? {}) as { apiVersion?: string; kind?: string; response?: Record<string, unknown> };
  const response = review.response;
  if (!response || typeof response !== 'object') throw invalid('webhook response was absent');
  if (reviewApiVersion === 'admission.k8s.io/v1') {
    if (response.uid !== uid) throw invalid(`expected response.uid="${uid}", got "${String(response.uid ?? '')}"`);
    if (review.apiVersion !== 'admission.k8s.io/v1' || review.kind !== 'AdmissionReview') {
      const [group, version] = (review.apiVersion ?? '').includes('/')
        ? (review.apiVersion ?? '').split('/')
        : ['', review.apiVersion ?? ''];
      throw invalid(
        `expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got ${group}/${version}, Kind=${review.kind ?? ''}`,
      );
    }
  }
  const patch = typeof response.patch === 'string' ? response.patch : undefined;
  const patchType = typeof response.patchType === 'string' ? response.patchType : undefined;
  if (!mutating && (patch || patchType))
    throw invalid('validating webhook may not return response.patch or response.patchType');
  if (patch && !patchType) throw invalid('webhook returned response.patch but not response.patchType');
  if (patchType && patchType !== 'JSONPatch')
    throw invalid(`webhook returned invalid response.patchType of "${patchType}"`);
  const warnings = Array.isArray(response.warnings) ? response.warnings.map(String) : undefined;
  return {
    allowed: response.allowed === true,
    ...(response.status && typeof response.status === 'object'
      ? { status: response.status as Partial<StatusBody> }
      : {}),
    ...(patch ? { patch } : {}),
    ...(patchType ? { patchType } : {}),
    ...(warnings ? { warnings } : {}),
  };
}

/** webhookerrors.ToStatusErr as of Kubernetes 1.32: the webhook's status, sanitized, with the message prefixed. */
export function denialStatus(webhookName: string, status: Partial<StatusBody> | undefined): ApiError {
  const result: Partial<StatusBody> = status ? structuredClone(status) : { status: 'Failure' };
  const deniedBy = `admission webhook "${webhookName}" denied the request`;
  if (result.code === undefined || result.code < 400) result.code = 400;
  if (!result.status || result.status === 'Success') result.status = 'Failure';
  if (result.message) result.message = `${deniedBy}: ${result.message}`;
  else if (result.reason) result.message = `${deniedBy}: ${result.reason}`;
  else result.message = `${deniedBy} without explanation`;
  const body: StatusBody = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: result.message,
    code: result.code,
  };
  if (result.reason) body.reason = result.reason;
  if (result.details) body.details = result.details;
  return new ApiError(body);
}

class HookOutcome {
  constructor(
    readonly error?: ApiError,
    readonly patchedObject?: KubeObject,
  ) {}
}

async function callHook(
  inv: Invocation,
  attrs: AdmissionAttributes,
  deps: AdmissionDeps,
  warnings: WarningRecorder,
  mutating: boolean,
): Promise<HookOutcome> {
  const { hook } = inv;
  const failOpen = hook.failurePolicy === 'Ignore';
  const callFailed = (why: string): HookOutcome => {
    const message = `failed calling webhook "${hook.name}": ${why}`;
    if (failOpen) {
      deps.log(`Failed calling webhook, failing open ${hook.name}: ${message}`);
      return new HookOutcome();
    }
    deps.log(`Failed calling webhook, failing closed ${hook.name}: ${message}`);
    return new HookOutcome(internalError(message));
  };

  if (attrs.dryRun) {
    if (hook.sideEffects === undefined) return callFailed('Webhook SideEffects is nil');
    if (hook.sideEffects !== 'None' && hook.sideEffects !== 'NoneOnDryRun') {
      return new HookOutcome(badRequest(`admission webhook "${hook.name}" does not support dry run`));
    }
  }
  const version = reviewVersion(hook);
  if (!version) return callFailed('webhook does not accept v1 or v1beta1 AdmissionReview');
  const reviewApiVersion = `admission.k8s.io/${version}`;
  const uid = randomUUID();
  const review = buildReview(attrs, inv.version, reviewApiVersion, uid);

  let result: ReviewResult;
  try {
    const timeoutSeconds = hook.timeoutSeconds ?? 10;
    const target = resolveWebhook(hook.clientConfig, timeoutSeconds, deps.serviceResolver);
    const body = await postReview(target, review, timeoutSeconds * 1000);
    result = verifyResponse(body, uid, reviewApiVersion, mutating);
  } catch (err) {
    if (err instanceof WebhookCallError) return callFailed(err.message);
    return callFailed(`failed to call webhook: ${(err as Error).message}`);
  }

  for (const w of result.warnings ?? []) warnings.add(w);
  if (!result.allowed) return new HookOutcome(denialStatus(hook.name, result.status));
  if (!mutating || !result.patch) return new HookOutcome();

  let operations: Json;
  try {
    operations = JSON.parse(Buffer.from(result.patch, 'base64').toString('utf8')) as Json;
  } catch (err) {
    return new HookOutcome(internalError((err as Error).message));
  }
  if (!Array.isArray(operations) || operations.length === 0) return new HookOutcome();
  if (!attrs.object) {
    return new HookOutcome(
      internalError(
        `admission webhook "${hook.name}" attempted to modify the object, which is not supported for this operation`,
      ),
    );
  }
  try {
    const inHookVersion = atVersion(attrs.resource, attrs.object, inv.version);
    const patched = jsonPatch(inHookVersion as unknown as Json, operations) as unknown as KubeObject;
    return new HookOutcome(undefined, atVersion(attrs.resource, patched, attrs.version));
  } catch (err) {
    const message = err instanceof ApiError ? (err.status.message ?? '') : (err as Error).message;
    return new HookOutcome(internalError(message));
  }
}

/**
 * Runs the matching mutating webhooks in order. Returns the object after all
 * patches (at the request's version), or throws the ApiError that ends the request.
 */
export async function runMutatingWebhooks(
  attrs: AdmissionAttributes,
  deps: AdmissionDeps,
  warnings: WarningRecorder,
): Promise<KubeObject | null> {
  let current = attrs;
  for (const inv of collectInvocations('mutating', attrs, deps)) {
    const outcome = await callHook(inv, current, deps, warnings, true);
    if (outcome.error) throw outcome.error;
    if (outcome.patchedObject) current = { ...current, object: outcome.patchedObject };
  }
  return current.object;
}

/** Runs the matching validating webhooks in parallel; throws the first failure in configuration order. */
export async function runValidatingWebhooks(
  attrs: AdmissionAttributes,
  deps: AdmissionDeps,
  warnings: WarningRecorder,
): Promise<void> {
  const invocations = collectInvocations('validating', attrs, deps);
  const outcomes = await Promise.all(invocations.map((inv) => callHook(inv, attrs, deps, warnings, false)));
  const firstError = outcomes.find((o) => o.error)?.error;
  if (firstError) throw firstError;
}

// metav1.Status errors with the same reasons, codes and message texts as
// kube-apiserver (k8s.io/apimachinery/pkg/api/errors), so that kubectl and
// client-node print and classify them exactly as they would against a real
// cluster.

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: { reason?: string; message?: string; field?: string }[];
  retryAfterSeconds?: number;
}

export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, unknown>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

/** An error that the request handlers turn into a Status response. */
export class ApiError extends Error {
  constructor(readonly status: StatusBody) {
    super(status.message ?? status.reason ?? `HTTP ${status.code}`);
  }
  get code(): number {
    return this.status.code;
  }
}

/** The `resource.group` form kube-apiserver uses in messages ("namespaces", "sidecars.networking.istio.io"). */
export function qualifiedResource(group: string, resource: string): string {
  return group === '' ? resource : `${resource}.${group}`;
}

export function failure(code: number, reason: string | undefined, message: string, details?: StatusDetails): ApiError {
  const status: StatusBody = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, code };
  if (reason) status.reason = reason;
  if (details) status.details = details;
  return new ApiError(status);
}

function resourceDetails(group: string, resource: string, name: string): StatusDetails {
  const details: StatusDetails = { name };
  if (group !== '') details.group = group;
  // apierrors puts the resource (not the Kind) in details.kind.
  details.kind = resource;
  return details;
}

export function notFound(group: string, resource: string, name: string): ApiError {
  return failure(
    404,
    'NotFound',
    `${qualifiedResource(group, resource)} "${name}" not found`,
    resourceDetails(group, resource, name),
  );
}

export function alreadyExists(group: string, resource: string, name: string): ApiError {
  return failure(
    409,
    'AlreadyExists',
    `${qualifiedResource(group, resource)} "${name}" already exists`,
    resourceDetails(group, resource, name),
  );
}

export function conflict(group: string, resource: string, name: string, why: string): ApiError {
  return failure(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedResource(group, resource)} "${name}": ${why}`,
    resourceDetails(group, resource, name),
  );
}

export const STALE_OBJECT =
  'the object has been modified; please apply your changes to the latest version and try again';

export function badRequest(message: string): ApiError {
  return failure(400, 'BadRequest', message);
}

export function unsupportedMediaType(accepted: string[]): ApiError {
  return failure(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
  );
}

export interface FieldCause {
  type: string; // FieldValueRequired, FieldValueInvalid, ...
  field: string;
  message: string; // "Required value", "Invalid value: ..."
}

/** 422 Invalid, worded like apierrors.NewInvalid: `Kind.group "name" is invalid: [field: msg, ...]`. */
export function invalid(group: string, kind: string, name: string, causes: FieldCause[]): ApiError {
  const qualifiedKind = group === '' ? kind : `${kind}.${group}`;
  const parts = causes.map((c) => `${c.field}: ${c.message}`);
  const summary = parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`;
  return failure(422, 'Invalid', `${qualifiedKind} "${name}" is invalid: ${summary}`, {
    name,
    ...(group ? { group } : {}),
    kind,
    causes: causes.map((c) => ({ reason: c.type, message: c.message, field: c.field })),
  });
}

export function internalError(message: string): ApiError {
  return failure(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] });
}

export function gone(message: string): ApiError {
  return failure(410, 'Expired', message);
}

export function unauthorized(): ApiError {
  return failure(401, 'Unauthorized', 'Unauthorized');
}

/** The reason kube-apiserver associates with a bare status code (used by fault injection). */
export function reasonForCode(code: number): string {
  const reasons: Record<number, string> = {
    400: 'BadRequest',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'NotFound',
    405: 'MethodNotAllowed',
    406: 'NotAcceptable',
    409: 'Conflict',
    410: 'Gone',
    415: 'UnsupportedMediaType',
    422: 'Invalid',
    429: 'TooManyRequests',
    500: 'InternalError',
    503: 'ServiceUnavailable',
    504: 'Timeout',
  };
  return reasons[code] ?? 'Unknown';
}

export function successStatus(details?: StatusDetails): StatusBody {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    code: 200,
    ...(details ? { details } : {}),
  };
}

// Turns an untrusted HTTP body into an AdmissionRequest, or says precisely
// why it is not one. Never throws: every input gets an answer.
import { isRecord } from '../util/json.js';
import { SUPPORTED_REVIEW_VERSIONS, type AdmissionRequest, type Operation } from './types.js';

export type Decoded = { ok: true; apiVersion: string; request: AdmissionRequest } | { ok: false; error: string };

const OPERATIONS: ReadonlySet<string> = new Set<Operation>(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']);

const fail = (error: string): Decoded => ({ ok: false, error });

/**
 * The longest request.uid answered. kube-apiserver sends a 36-character UUID, and the answer must echo the uid:
 * a MiB-long one would make the only part of an answer that is not capped, and an answer its caller does not
 * read holds the large-body budget of every other request until the connection times out.
 */
export const MAX_UID_CHARS = 256;

export function decodeReview(body: unknown): Decoded {
  // No body at all (a POST without one, and so without a content type, reaches the handler with none).
  if (body === undefined) return fail('empty body: expected an AdmissionReview JSON object');
  if (!isRecord(body)) return fail('body is not a JSON object');
  const { apiVersion, kind, request } = body;
  if (typeof apiVersion !== 'string' || !SUPPORTED_REVIEW_VERSIONS.includes(apiVersion)) {
    return fail(`apiVersion must be one of ${SUPPORTED_REVIEW_VERSIONS.join(', ')}, got ${describe(apiVersion)}`);
  }
  if (kind !== 'AdmissionReview') return fail(`kind must be AdmissionReview, got ${describe(kind)}`);
  if (!isRecord(request)) return fail('request is missing or not an object');
  const problem = requestProblem(request);
  if (problem) return fail(problem);
  return { ok: true, apiVersion, request: request as unknown as AdmissionRequest };
}

function requestProblem(r: Record<string, unknown>): string | undefined {
  if (typeof r.uid !== 'string' || r.uid === '') return 'request.uid is missing or not a non-empty string';
  if (r.uid.length > MAX_UID_CHARS)
    return `request.uid is ${r.uid.length} characters long; at most ${MAX_UID_CHARS} are answered (kube-apiserver sends a 36-character UUID)`;
  if (typeof r.operation !== 'string' || !OPERATIONS.has(r.operation)) {
    return `request.operation must be one of CREATE, UPDATE, DELETE, CONNECT, got ${describe(r.operation)}`;
  }
  if (!isGvk(r.kind)) return 'request.kind must be an object with string group, version and kind';
  if (r.resource !== undefined && !isGvr(r.resource)) {
    return 'request.resource must be an object with string group, version and resource';
  }
  for (const key of ['name', 'namespace', 'subResource'] as const) {
    if (r[key] !== undefined && r[key] !== null && typeof r[key] !== 'string') return `request.${key} must be a string`;
  }
  if (r.dryRun !== undefined && r.dryRun !== null && typeof r.dryRun !== 'boolean')
    return 'request.dryRun must be a boolean';
  return undefined;
}

const isGvk = (v: unknown): boolean =>
  isRecord(v) && typeof v.group === 'string' && typeof v.version === 'string' && typeof v.kind === 'string';

const isGvr = (v: unknown): boolean =>
  isRecord(v) && typeof v.group === 'string' && typeof v.version === 'string' && typeof v.resource === 'string';

/**
 * A short rendering of a wrong value for an error message. Containers are
 * named, not serialised: a body may nest 10,000 levels deep, and any
 * recursive rendering (JSON.stringify among them) overflows the stack long
 * before that; the length keeps a 5 MiB string out of the answer too.
 */
export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return `an array of ${v.length} item${v.length === 1 ? '' : 's'}`;
  if (typeof v === 'object' && v !== null) return 'an object';
  if (typeof v !== 'string') return String(v);
  const text = JSON.stringify(v.length > 60 ? v.slice(0, 60) : v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

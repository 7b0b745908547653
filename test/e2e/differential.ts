// The schema differential: the real kube-apiserver's verdict on a Sidecar
// (a server-side dry-run create with strict field validation, in kube-system,
// which no webhook configuration covers) beside checkSchema's, the schema
// layer of `check` (src/sidecar/schema). Both are reduced to a verdict and a
// list of "<field>: <message>" findings in Kubernetes' wording.
import { checkSchema } from '../../src/sidecar/schema/index.js';
import { SERVED_VERSIONS } from '../../src/sidecar/schema/index.js';
import type { AdminClient } from '../cluster/admin-client.js';

/** No webhook configuration covers it (the manifests' namespaceSelector skips it), so only the API server judges. */
export const DIFFERENTIAL_NAMESPACE = 'kube-system';

export interface Case {
  id: string;
  object: unknown;
}

export interface Verdict {
  allowed: boolean;
  /** "<field>: <message>", sorted. */
  findings: string[];
}

export interface ServerVerdict extends Verdict {
  status: number;
  /** Where the server stopped: created, decoding (400: strict field validation, bad apiVersion or kind...), validation (422). */
  stage: 'created' | 'decoding' | 'validation' | 'other';
  message: string;
}

/**
 * The object as it is sent: through JSON (what cannot be JSON does not
 * exist on the wire: undefined goes, NaN becomes null) and, when it has
 * metadata, in the namespace of the URL (the API server refuses any other
 * namespace before it validates anything).
 */
export function onTheWire(object: unknown): unknown {
  const text = JSON.stringify(object);
  if (text === undefined) return null;
  const wire = JSON.parse(text) as unknown;
  if (isRecord(wire) && isRecord(wire.metadata)) wire.metadata.namespace = DIFFERENTIAL_NAMESPACE;
  return wire;
}

/** The served version the object names, else v1 (the API server then refuses the apiVersion itself). */
function urlVersion(object: unknown): string {
  const apiVersion = isRecord(object) ? object.apiVersion : undefined;
  const version =
    typeof apiVersion === 'string' && apiVersion.startsWith('networking.istio.io/')
      ? apiVersion.slice('networking.istio.io/'.length)
      : 'v1';
  return SERVED_VERSIONS.includes(version) ? version : 'v1';
}

export async function serverVerdict(admin: AdminClient, wire: unknown): Promise<ServerVerdict> {
  const path = `/apis/networking.istio.io/${urlVersion(wire)}/namespaces/${DIFFERENTIAL_NAMESPACE}/sidecars?dryRun=All&fieldValidation=Strict`;
  const r = await admin.request<Status>(path, { method: 'POST', body: JSON.stringify(wire), timeoutMs: 60_000 });
  if (r.status === 200 || r.status === 201)
    return { allowed: true, findings: [], status: r.status, stage: 'created', message: '' };
  const status = (isRecord(r.body) ? r.body : {}) as Status;
  const message = typeof status.message === 'string' ? status.message : String(r.body);
  if (r.status === 422) {
    // A cause without a field (the note that CEL rules were skipped) is printed "<nil>: ..." by the API server.
    const findings = (status.details?.causes ?? []).map((c) =>
      c.field && c.field !== '<nil>' ? `${c.field}: ${c.message}` : String(c.message),
    );
    return { allowed: false, findings: findings.sort(), status: r.status, stage: 'validation', message };
  }
  if (r.status === 400)
    return { allowed: false, findings: decodingFindings(message), status: r.status, stage: 'decoding', message };
  return { allowed: false, findings: [message], status: r.status, stage: 'other', message };
}

/**
 * Strict field validation lists unknown fields in one message:
 * `strict decoding error: unknown field "a", unknown field "b"`, each path
 * between quotes as it is (unescaped), so the list is split on the separator.
 */
export const STRICT_DECODING = /strict decoding error: (.*)$/s;
const SEPARATOR = '", unknown field "';

function decodingFindings(message: string): string[] {
  const strict = STRICT_DECODING.exec(message);
  if (!strict || !strict[1]!.startsWith('unknown field "') || !strict[1]!.endsWith('"')) return [message];
  const inner = strict[1]!.slice('unknown field "'.length, -1);
  return inner
    .split(SEPARATOR)
    .map((path) => `unknown field "${path}"`)
    .sort();
}

/** checkSchema with strict field validation, as `check` runs it; unknownFields: just those messages. */
export function ourVerdict(wire: unknown): Verdict & { unknownFields: string[] } {
  const errors = checkSchema(wire, { rejectUnknownFields: true }).violations.filter((v) => v.severity === 'error');
  const findings = errors.map((v) => (v.path ? `${v.path}: ${v.message}` : v.message));
  const unknownFields = errors.filter((v) => v.rule === 'schema.unknown-field').map((v) => v.message);
  return { allowed: findings.length === 0, findings: findings.sort(), unknownFields: unknownFields.sort() };
}

/**
 * Where the two disagree: a different verdict, or different findings. The
 * API server stops at the first stage that fails; when that is decoding
 * (unknown fields under strict validation), it never validates, so only our
 * unknown-field findings are comparable then.
 */
export function disagreement(server: ServerVerdict, ours: Verdict & { unknownFields: string[] }): string | undefined {
  if (server.allowed !== ours.allowed)
    return `verdict: server ${server.allowed ? 'allowed' : 'refused'}, check ${ours.allowed ? 'allowed' : 'refused'}`;
  const comparable = server.stage === 'decoding' ? ours.unknownFields : ours.findings;
  if (JSON.stringify(server.findings) === JSON.stringify(comparable)) return undefined;
  const onlyServer = server.findings.filter((f) => !comparable.includes(f));
  const onlyOurs = comparable.filter((f) => !server.findings.includes(f));
  return `findings differ: server only ${JSON.stringify(onlyServer)}, check only ${JSON.stringify(onlyOurs)}`;
}

interface Status {
  message?: string;
  reason?: string;
  details?: { causes?: { field?: string; message?: string; reason?: string }[] };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

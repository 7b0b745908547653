// The offline `check`: the webhook's decision pipeline (judge), applied to
// manifests in the order kubectl apply would send them.
import type { ClusterStore } from '../cluster/store.js';
import { clusterObjects, isSidecarManifest, isSidecarNearMiss, storeOf } from '../manifests/state.js';
import { refOf, SIDECAR_KIND } from '../sidecar/object.js';
import type { OverlapMode } from '../sidecar/selectors.js';
import type { UnknownHosts } from '../sidecar/host-rules.js';
import { judge } from '../sidecar/review.js';
import { errorsOf, warningsOf, type Severity, type Violation } from '../sidecar/violation.js';
import type { Manifest, ManifestObject, ParseFailure } from '../manifests/documents.js';

export interface CheckOptions {
  /** Namespace of objects that do not say (kubectl's `default`, or --namespace). */
  namespace: string;
  /** Judge every document alone, without the cross-object rules. */
  isolated: boolean;
  overlap: OverlapMode;
  rootNamespace: string;
  unknownHosts?: UnknownHosts;
  clusterDomain?: string;
}

export interface Finding {
  rule: string;
  severity: Severity;
  path: string;
  message: string;
  hint?: string;
  /** On a summary ("… and N more like this"): how many findings of which rules it stands for. */
  omitted?: Readonly<Record<string, number>>;
  line: number;
  col: number;
}

export interface CheckResult {
  file: string;
  line: number;
  apiVersion: string | null;
  kind: string | null;
  namespace: string | null;
  name: string | null;
  allowed: boolean;
  errors: Finding[];
  warnings: Finding[];
}

export interface CheckSummary {
  files: number;
  /** Sidecar documents judged: allowed + rejected. */
  sidecars: number;
  allowed: number;
  rejected: number;
  /** Documents that could not be read as YAML or JSON (yaml.parse), counted apart: what they are is unknown. */
  unparsable: number;
  skipped: number;
}

export interface CheckReport {
  results: CheckResult[];
  summary: CheckSummary;
}

export function checkManifests(manifests: readonly Manifest[], files: number, options: CheckOptions): CheckReport {
  const store = options.isolated ? undefined : stateFrom(manifests, options.namespace);
  const accepted: Admitted = new Map();
  const results: CheckResult[] = [];
  let skipped = 0;
  for (const m of manifests) {
    if (!m.ok) {
      results.push(parseFailure(m));
      continue;
    }
    if (!isSidecarManifest(m.object) && !isSidecarNearMiss(m.object)) {
      skipped++;
      continue;
    }
    results.push(checkSidecar(m, store, accepted, options));
  }
  const judged = results.filter((r) => r.kind !== null);
  const allowed = judged.filter((r) => r.allowed).length;
  return {
    results,
    summary: {
      files,
      sidecars: judged.length,
      allowed,
      rejected: judged.length - allowed,
      unparsable: results.length - judged.length,
      skipped,
    },
  };
}

/**
 * Everything else among the manifests (Pods, Namespaces, workloads, Services,
 * ServiceEntries) is the cluster the Sidecars are judged against; the
 * Sidecars join in order.
 */
function stateFrom(manifests: readonly Manifest[], namespace: string): ClusterStore {
  const { sidecars: _judgedInOrder, ...rest } = clusterObjects(
    manifests.filter((m) => m.ok),
    namespace,
  );
  return storeOf(rest);
}

/**
 * The Sidecars admitted so far in the run, by ns/name: the last admitted
 * version (a later document of it is its UPDATE) and where it was read.
 */
type Admitted = Map<string, { object: Record<string, unknown>; at: string }>;

/**
 * One Sidecar document through the webhook's pipeline. A document whose
 * namespace and name were accepted before is an UPDATE of that version, as
 * kubectl apply would send it, so grandfathering applies as in the webhook.
 */
function checkSidecar(
  m: ManifestObject,
  store: ClusterStore | undefined,
  accepted: Admitted,
  options: CheckOptions,
): CheckResult {
  const obj = m.object as Record<string, unknown>;
  const ref = refOf(obj, options.namespace);
  const key = `${ref.namespace}/${ref.name}`;
  // A conflict's other Sidecar may be in another file of the run: say where, so it can be found.
  const where = (peer: Violation['peer']): string => {
    const at = peer && accepted.get(`${peer.namespace}/${peer.name}`)?.at;
    return at ? ` (${peer.namespace}/${peer.name} is at ${at})` : '';
  };
  const findings = judge({ object: obj, oldObject: accepted.get(key)?.object, ref }, store, {
    ...options,
    rejectUnknownFields: true,
  });
  const toFinding = ({ allowedBecause, peer, ...v }: Violation): Finding => ({
    ...v,
    message: `${v.message}${where(peer)}${allowedBecause ? ` (allowed: ${allowedBecause})` : ''}`,
    ...m.locate(v.path),
  });
  const errors = errorsOf(findings).map(toFinding);
  const warnings = warningsOf(findings).map(toFinding);
  const allowed = errors.length === 0;
  if (allowed && store) {
    accepted.set(key, { object: obj, at: `${m.file}:${m.position.line}` });
    store.upsertSidecar(obj, ref.namespace);
  }
  return {
    file: m.file,
    line: m.position.line,
    apiVersion: typeof obj.apiVersion === 'string' ? obj.apiVersion : null,
    // The document's own kind: a near miss (`Sidcar`) is reported as written.
    kind: typeof obj.kind === 'string' ? obj.kind : SIDECAR_KIND,
    namespace: ref.namespace,
    name: ref.name,
    allowed,
    errors,
    warnings,
  };
}

/**
 * A document that is not YAML: no kind (it is not counted as a Sidecar),
 * but its name where it could be read, so the finding says which object.
 */
function parseFailure(m: ParseFailure): CheckResult {
  const { line, col } = m.position;
  const named = m.name ? ` (${m.kind ?? 'document'} ${m.namespace ? `${m.namespace}/` : ''}${m.name})` : '';
  return {
    file: m.file,
    line,
    apiVersion: null,
    kind: null,
    namespace: m.namespace ?? null,
    name: m.name ?? null,
    allowed: false,
    errors: [{ rule: 'yaml.parse', severity: 'error', path: '', message: `${m.message}${named}`, line, col }],
    warnings: [],
  };
}

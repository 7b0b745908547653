// The offline `check`: the webhook's decision pipeline (judge), applied to
// manifests in the order kubectl apply would send them.
import type { ClusterStore } from '../cluster/store.js';
import { clusterObjects, isSidecarManifest, storeOf } from '../manifests/state.js';
import { refOf, SIDECAR_KIND } from '../sidecar/object.js';
import type { OverlapMode } from '../sidecar/selectors.js';
import type { UnknownHosts } from '../sidecar/host-rules.js';
import { judge } from '../sidecar/review.js';
import { errorsOf, warningsOf, type Severity, type Violation } from '../sidecar/violation.js';
import type { Manifest, ManifestObject } from '../manifests/documents.js';

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
  sidecars: number;
  allowed: number;
  rejected: number;
  skipped: number;
}

export interface CheckReport {
  results: CheckResult[];
  summary: CheckSummary;
}


export function checkManifests(manifests: readonly Manifest[], files: number, options: CheckOptions): CheckReport {
  const store = options.isolated ? undefined : stateFrom(manifests, options.namespace);
  const accepted = new Map<string, Record<string, unknown>>(); // ns/name → last admitted version, for UPDATE semantics
  const results: CheckResult[] = [];
  let skipped = 0;
  for (const m of manifests) {
    if (!m.ok) {
      results.push(parseFailure(m.file, m.position.line, m.position.col, m.message));
      continue;
    }
    if (!isSidecarManifest(m.object)) {
      skipped++;
      continue;
    }
    results.push(checkSidecar(m, store, accepted, options));
  }
  const sidecars = results.filter((r) => r.kind !== null).length;
  const allowed = results.filter((r) => r.allowed).length;
  return { results, summary: { files, sidecars, allowed, rejected: results.length - allowed, skipped } };
}

/**
 * Everything else among the manifests (Pods, Namespaces, workloads, Services,
 * ServiceEntries) is the cluster the Sidecars are judged against; the
 * Sidecars join in order.
 */
function stateFrom(manifests: readonly Manifest[], namespace: string): ClusterStore {
  const { sidecars: _judgedInOrder, ...rest } = clusterObjects(manifests.filter((m) => m.ok), namespace);
  return storeOf(rest);
}

/**
 * One Sidecar document through the webhook's pipeline. A document whose
 * namespace and name were accepted before is an UPDATE of that version, as
 * kubectl apply would send it, so grandfathering applies as in the webhook.
 */
function checkSidecar(m: ManifestObject, store: ClusterStore | undefined, accepted: Map<string, Record<string, unknown>>, options: CheckOptions): CheckResult {
  const obj = m.object as Record<string, unknown>;
  const ref = refOf(obj, options.namespace);
  const key = `${ref.namespace}/${ref.name}`;
  const findings = judge({ object: obj, oldObject: accepted.get(key), ref }, store, { ...options, rejectUnknownFields: true });
  const toFinding = ({ allowedBecause, ...v }: Violation): Finding => ({
    ...v,
    ...(allowedBecause ? { message: `${v.message} (allowed: ${allowedBecause})` } : {}),
    ...m.locate(v.path),
  });
  const errors = errorsOf(findings).map(toFinding);
  const warnings = warningsOf(findings).map(toFinding);
  const allowed = errors.length === 0;
  if (allowed && store) {
    accepted.set(key, obj);
    store.upsertSidecar(obj, ref.namespace);
  }
  return {
    file: m.file,
    line: m.position.line,
    apiVersion: typeof obj.apiVersion === 'string' ? obj.apiVersion : null,
    kind: SIDECAR_KIND,
    namespace: ref.namespace,
    name: ref.name,
    allowed,
    errors,
    warnings,
  };
}

function parseFailure(file: string, line: number, col: number, message: string): CheckResult {
  return {
    file,
    line,
    apiVersion: null,
    kind: null,
    namespace: null,
    name: null,
    allowed: false,
    errors: [{ rule: 'yaml.parse', severity: 'error', path: '', message, line, col }],
    warnings: [],
  };
}

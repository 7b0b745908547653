// What admission cannot prevent (objects created before the webhook, races
// across replicas), reported the way `istioctl analyze` does: every member of
// each conflict gets a finding with Istio's code and message template.
import type { ClusterStore } from '../cluster/store.js';
import { storeOf, type ClusterObjects } from '../manifests/state.js';
import type { PodInfo, SidecarInfo, WorkloadInfo } from '../sidecar/view.js';
import { append } from '../util/arrays.js';
import { bucket } from '../util/maps.js';
import { isRecord } from '../util/json.js';
import { isAmbientNamespace } from '../sidecar/ambient.js';
import { revisionIn, sameIstiod } from '../sidecar/revisions.js';
import { describeWorkload, isSelective } from '../sidecar/cross-rules.js';
import type { UnknownHosts } from '../sidecar/host-rules.js';
import {
  type Labels,
  matches,
  selectorString,
  sharedLabels,
  type OverlapMode,
  type PairedSelector,
} from '../sidecar/selectors.js';
import { FINDING_LIMITS, findingCount, formatCount, type Severity } from '../sidecar/violation.js';
import { advisories } from './advisories.js';
import type { AuditFinding } from './finding.js';

export type AuditInput = ClusterObjects;

export interface AuditOptions {
  overlap: OverlapMode;
  rootNamespace: string;
  /**
   * Whether the input's pods are the real set (a live cluster, or manifests
   * that include Pods). Without them "matches no pod" (IST0101) means nothing.
   * Default: true when any pod is given.
   */
  podsKnown?: boolean;
  unknownHosts?: UnknownHosts;
  clusterDomain?: string;
}

export type { AuditFinding };

export interface AuditReport {
  findings: AuditFinding[];
  summary: {
    sidecars: number;
    pods: number;
    workloads: number;
    namespaces: number;
    findings: number;
    errors: number;
    warnings: number;
  };
}

/**
 * Namespaces Istio's analyzers leave out (Istio's inject.IgnoredNamespaces:
 * istioctl analyze reads nothing from them in files, and no pod or Namespace
 * from them in a cluster). Istio never injects a sidecar there either.
 */
export const IGNORED_NAMESPACES: ReadonlySet<string> = new Set([
  'kube-system',
  'kube-public',
  'kube-node-lease',
  'local-path-storage',
]);

function analyzed(input: AuditInput): AuditInput {
  const keep = (o: unknown) => !IGNORED_NAMESPACES.has(keyOfRaw(o).split('/')[0]!);
  const keepNamespace = (o: unknown) =>
    !(isRecord(o) && isRecord(o.metadata) && IGNORED_NAMESPACES.has(String(o.metadata.name)));
  return {
    sidecars: input.sidecars.filter(keep),
    pods: input.pods.filter(keep),
    namespaces: input.namespaces.filter(keepNamespace),
    workloads: (input.workloads ?? []).filter(keep),
  };
}

/**
 * What the registry and scope findings read: the analysed Sidecars, and every
 * Namespace, Service and ServiceEntry (an egress host may well name
 * kube-system/kube-dns.kube-system.svc.cluster.local).
 */
function registryOf(all: AuditInput, analysedSidecars: readonly unknown[]) {
  return storeOf({
    sidecars: [...analysedSidecars],
    pods: [],
    namespaces: all.namespaces,
    services: all.services ?? [],
    serviceEntries: all.serviceEntries ?? [],
  });
}

export function audit(all: AuditInput, options: AuditOptions): AuditReport {
  const input = analyzed(all);
  const store = storeOf(input);
  const findings: AuditFinding[] = [];
  const podsKnown = options.podsKnown ?? input.pods.length > 0;
  const known = { pods: podsKnown, workloads: podsKnown || (input.workloads ?? []).length > 0 };
  for (const namespace of store.namespaceNames()) {
    const sidecars = store.sidecars(namespace);
    if (sidecars.length === 0) continue;
    append(findings, namespaceWide(store, namespace, sidecars));
    append(findings, selectorFindings(store, namespace, sidecars, options, known));
  }
  for (const obj of input.sidecars) append(findings, deprecations(obj));
  append(findings, advisories(input.sidecars, registryOf(all, input.sidecars), store, options));
  findings.sort(
    (a, b) =>
      a.namespace.localeCompare(b.namespace) ||
      a.name.localeCompare(b.name) ||
      (a.code ?? '').localeCompare(b.code ?? ''),
  );
  // A finding that stands for others counts as all of them.
  const total = findingCount(findings);
  const errors = findingCount(findings.filter((f) => f.severity === 'error'));
  const counts = store.counts();
  return {
    findings,
    summary: {
      sidecars: counts.sidecars,
      pods: counts.pods,
      workloads: counts.workloads,
      namespaces: store.namespaceNames().length,
      findings: total,
      errors,
      warnings: total - errors,
    },
  };
}

const key = (s: { namespace: string; name: string }): string => `${s.namespace}/${s.name}`;
const keyOfRaw = (o: unknown): string => {
  const m = (isRecord(o) && isRecord(o.metadata) ? o.metadata : {}) as { namespace?: string; name?: string };
  return `${m.namespace ?? 'default'}/${m.name ?? ''}`;
};
const names = (ss: readonly { name: string }[]): string => nameList(sortedNames(ss), ss.length);

/**
 * Names an IST0110 or IST0111 message lists before it counts the rest. Istio's
 * analyzer lists every Sidecar of the group; thousands of them made each
 * message tens of kilobytes (2,000 revisions beside 2,000 unlabelled Sidecars:
 * 640 MB of messages).
 */
export const NAMED_IN_MESSAGE = 100;

const sortedNames = (ss: readonly { name: string }[]): string[] => ss.map((s) => s.name).sort();

/** `[a b c]` as Istio's analyzer prints a group, its first NAMED_IN_MESSAGE sorted names and then a count. */
function nameList(sorted: readonly string[], total: number): string {
  const shown = sorted.length > NAMED_IN_MESSAGE ? sorted.slice(0, NAMED_IN_MESSAGE) : sorted;
  const rest = total - shown.length;
  return `[${shown.join(' ')}${rest > 0 ? ` … and ${formatCount(rest)} more` : ''}]`;
}

/** The first NAMED_IN_MESSAGE names of two groups together, in sort order, without sorting the larger again. */
function mergedNames(sorted: readonly string[], others: readonly { name: string }[]): string {
  const theirs = sortedNames(others);
  const first: string[] = [];
  let i = 0;
  let j = 0;
  while (first.length < NAMED_IN_MESSAGE && (i < sorted.length || j < theirs.length)) {
    // The same order as Array.prototype.sort's: UTF-16 code units.
    if (j >= theirs.length || (i < sorted.length && sorted[i]! < theirs[j]!)) first.push(sorted[i++]!);
    else first.push(theirs[j++]!);
  }
  return nameList(first, sorted.length + theirs.length);
}

function finding(s: SidecarInfo, code: string | null, rule: string, severity: Severity, message: string): AuditFinding {
  return { code, rule, severity, kind: 'Sidecar', namespace: s.namespace, name: s.name, message };
}

/** IST0111, or IST0167 in an ambient namespace where Sidecars do nothing. */
function namespaceWide(store: ClusterStore, namespace: string, sidecars: readonly SidecarInfo[]): AuditFinding[] {
  const wide = sidecars.filter((s) => s.selector === null);
  if (isAmbientNamespace(store.namespace(namespace)?.labels)) {
    return wide.map((s) =>
      finding(
        s,
        'IST0167',
        'ambient.ineffective',
        'warning',
        'The policy has no impact: namespace is in ambient mode, the policy has no impact.',
      ),
    );
  }
  if (wide.length < 2) return [];
  const out: AuditFinding[] = [];
  forEachReadTogether(wide, (members, groupNames) => {
    const message = `The Sidecars ${groupNames()} in namespace "${namespace}" have no workload selector, which can lead to undefined behavior.`;
    for (const s of members) out.push(finding(s, 'IST0111', 'conflict.default', 'error', message));
  });
  return out;
}

/**
 * Splits Sidecars that would conflict by the istiod that reads them
 * (istio.io/rev): `visit` gets the members of one revision label (the
 * unlabelled ones, read by every istiod, are one such set) and the group
 * that istiod reads with them (unlabelled plus that revision; for the
 * unlabelled, all), once per label. A group of fewer than two is no
 * conflict. Without revision labels that is one visit with every Sidecar.
 */
function forEachReadTogether<T extends SidecarInfo>(
  sidecars: readonly T[],
  visit: (members: readonly T[], groupNames: () => string) => void,
): void {
  const byRevision = new Map<string | undefined, T[]>();
  for (const s of sidecars) bucket(byRevision, revisionIn(s.labels), (): T[] => []).push(s);
  const unlabelled = byRevision.get(undefined) ?? [];
  // Each revision's group is the unlabelled Sidecars and its own: neither copied nor sorted per revision
  // (2,000 revisions beside 2,000 unlabelled Sidecars, for each of 100 pods, copied 400 million entries).
  let unlabelledSorted: string[] | undefined;
  for (const [rev, members] of byRevision) {
    const everyone = rev === undefined || byRevision.size === 1;
    if ((everyone ? sidecars.length : unlabelled.length + members.length) < 2) continue;
    visit(members, () => {
      if (everyone) return names(sidecars);
      unlabelledSorted ??= sortedNames(unlabelled);
      return mergedNames(unlabelledSorted, members);
    });
  }
}

function selectorFindings(
  store: ClusterStore,
  namespace: string,
  sidecars: readonly SidecarInfo[],
  options: AuditOptions,
  known: { pods: boolean; workloads: boolean },
): AuditFinding[] {
  const selective = sidecars.filter(isSelective);
  const out: AuditFinding[] = [];
  const pods = store.pods(namespace);
  // Istio's analyzer reads pods only; the other modes count pod templates too (istio/istio#51273).
  const withTemplates = options.overlap !== 'pods';
  const workloads = withTemplates ? store.workloads(namespace) : [];
  for (const s of selective) {
    if (namespace === options.rootNamespace) {
      out.push(
        finding(
          s,
          'KIA1006',
          'root.selector',
          'warning',
          `Sidecar ${key(s)} is in the root namespace but has a workloadSelector: it applies only to pods in ${namespace}, not mesh-wide.`,
        ),
      );
    }
    const noPod = !pods.some((p) => matches(s.selector, p.labels));
    if (!withTemplates && known.pods && noPod) {
      out.push(
        finding(
          s,
          'IST0101',
          'selector.no-match',
          'warning',
          `Referenced selector not found: "${selectorString(s.selector)}"`,
        ),
      );
    } else if (withTemplates && known.workloads && noPod && !workloads.some((w) => matches(s.selector, w.labels))) {
      out.push(
        finding(
          s,
          'IST0101',
          'selector.no-match',
          'warning',
          `Referenced selector not found: "${selectorString(s.selector)}" (no pod and no workload template matches)`,
        ),
      );
    }
  }
  // Ambient pods: every selector Sidecar that picks one is ineffective (once per Sidecar).
  const ineffective = new Set<string>();
  for (const p of pods) {
    if (!p.ambient) continue;
    for (const s of selective) if (matches(s.selector, p.labels)) ineffective.add(s.name);
  }
  for (const s of selective) {
    if (ineffective.has(s.name))
      out.push(
        finding(
          s,
          'IST0167',
          'ambient.ineffective',
          'warning',
          'The policy has no impact: selected workload is in ambient mode, the policy has no impact.',
        ),
      );
  }
  const sidecarPods = pods.filter((p) => !p.ambient);
  const overlaps = new OverlapFindings();
  if (options.overlap === 'pods') podOverlaps(namespace, selective, sidecarPods, overlaps);
  else selectorOverlaps(namespace, selective, sidecarPods, workloads, options.overlap, known.workloads, overlaps);
  overlaps.addTo(out);
  return out;
}

/** Istio's IST0110: per pod, every selector Sidecar that picks it, when there are two or more. */
function podOverlaps(
  namespace: string,
  selective: readonly (SidecarInfo & PairedSelector)[],
  pods: readonly PodInfo[],
  out: OverlapFindings,
): void {
  for (const p of pods) {
    const matching = selective.filter((s) => matches(s.selector, p.labels));
    if (matching.length < 2) continue;
    forEachReadTogether(matching, (members, groupNames) =>
      out.conflict(
        members,
        () =>
          `The Sidecars ${groupNames()} in namespace "${namespace}" select the same workload pod "${p.name}", which can lead to undefined behavior.`,
      ),
    );
  }
}

/**
 * IST0110 findings, made one by one for each Sidecar's first
 * FINDING_LIMITS.perRule (all the report prints of one rule) and counted
 * beyond: n Sidecars that all overlap are n(n-1) findings, 16 million for
 * 4,000 in one namespace, which ran audit out of memory. A message is built
 * only for a finding that is kept.
 */
class OverlapFindings {
  private readonly kept: AuditFinding[] = [];
  private readonly shown = new Map<SidecarInfo, number>();
  private readonly more = new Map<SidecarInfo, number>();

  /** These Sidecars conflict; `message` is asked for only when one of them still shows findings. */
  conflict(members: readonly SidecarInfo[], message: () => string): void {
    let text: string | undefined;
    for (const s of members) {
      const shown = this.shown.get(s) ?? 0;
      if (shown < FINDING_LIMITS.perRule) {
        text ??= message();
        this.kept.push(finding(s, 'IST0110', 'conflict.overlap', 'error', text));
        this.shown.set(s, shown + 1);
      } else this.more.set(s, (this.more.get(s) ?? 0) + 1);
    }
  }

  /** Whether every one of these Sidecars has shown all it can (a further conflict is only counted). */
  full(members: readonly SidecarInfo[]): boolean {
    return members.every((s) => (this.shown.get(s) ?? 0) >= FINDING_LIMITS.perRule);
  }

  addTo(out: AuditFinding[]): void {
    append(out, this.kept);
    for (const [s, n] of this.more) {
      out.push({
        ...finding(s, 'IST0110', 'conflict.overlap', 'error', `… and ${n} more like this`),
        omitted: { 'conflict.overlap': n },
      });
    }
  }
}

/**
 * workloads/labels/identical modes: each member of each overlapping pair,
 * naming its peer and what both select. In `workloads` mode a pair counts
 * when identical or when a pod or pod template carries both label sets.
 */
function selectorOverlaps(
  namespace: string,
  selective: readonly (SidecarInfo & PairedSelector)[],
  pods: readonly PodInfo[],
  workloads: readonly WorkloadInfo[],
  mode: OverlapMode,
  /** Pods or workloads are known, so "none has these labels" is a fact. */
  known: boolean,
  out: OverlapFindings,
): void {
  for (let i = 0; i < selective.length; i++) {
    for (let j = i + 1; j < selective.length; j++) {
      const a = selective[i]!;
      const b = selective[j]!;
      if (!sameIstiod(revisionIn(a.labels), revisionIn(b.labels))) continue;
      const shared = sharedLabels(a, b, mode);
      if (!shared) continue;
      const pair = [a, b];
      // Three examples name the overlap. Once neither Sidecar shows more findings the pair is only counted:
      // outside workloads mode, or identical, it counts without looking; else one example decides.
      const full = out.full(pair);
      if (full && (mode !== 'workloads' || sharedLabels(a, b, 'identical'))) {
        out.conflict(pair, () => '');
        continue;
      }
      const examples = firstMatching(pods, shared, full ? 1 : 3).map((p) => p.name);
      const templates = firstMatching(workloads, shared, full ? 1 : 3).map(describeWorkload);
      if (mode === 'workloads' && examples.length === 0 && templates.length === 0 && !sharedLabels(a, b, 'identical'))
        continue;
      out.conflict(pair, () => {
        const where =
          templates.length > 0
            ? `${templates.join(', ')}${examples.length > 0 ? ` (pods ${examples.map((n) => `"${n}"`).join(', ')})` : ''}`
            : examples.length > 0
              ? `pods ${examples.map((n) => `"${n}"`).join(', ')}`
              : mode === 'labels' && known
                ? `pods labelled ${selectorString(shared)} (no pod or workload has these labels: only --overlap=labels reports this)`
                : `pods labelled ${selectorString(shared)} (none exists yet)`;
        return `The Sidecars ${names(pair)} in namespace "${namespace}" select the same workload ${where}, which can lead to undefined behavior.`;
      });
    }
  }
}

/** The first `n` of `items` whose labels the selector accepts, without scanning past them. */
function firstMatching<T extends { labels: Labels }>(items: readonly T[], selector: Labels, n: number): T[] {
  const found: T[] = [];
  for (const item of items) {
    if (!matches(selector, item.labels)) continue;
    found.push(item);
    if (found.length === n) break;
  }
  return found;
}

/** IST0002 as Istio's analyzer reports it ("ignored"; istiod in fact still routes ALLOW_ANY's unknown traffic to it). */
function deprecations(obj: unknown): AuditFinding[] {
  const spec = isRecord(obj) && isRecord(obj.spec) ? obj.spec : {};
  const otp = isRecord(spec.outboundTrafficPolicy) ? spec.outboundTrafficPolicy : {};
  if (otp.egressProxy === undefined || otp.egressProxy === null) return [];
  const [namespace, name] = keyOfRaw(obj).split('/') as [string, string];
  return [
    {
      code: 'IST0002',
      rule: 'deprecated.egress-proxy',
      severity: 'warning',
      kind: 'Sidecar',
      namespace,
      name,
      message: 'Deprecated: OutboundTrafficPolicy.EgressProxy ignored',
    },
  ];
}

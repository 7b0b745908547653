// Warnings about what istiod will actually give a Sidecar's pods, where that
// differs from what the Sidecar seems to say: a selector Sidecar without
// egress (istio/istio#59376), `workloadSelector: {}` (istio/istio#46921) and
// an outboundTrafficPolicy without a mode (Kiali's KIA1007).
import { isRecord } from '../util/json.js';
import { describeRef, type ObjectRef } from './object.js';
import { hasEgress, workloadSelectorPresent } from './records.js';
import { selectorOf } from './selectors.js';
import type { ClusterView, SidecarInfo } from './view.js';
import type { Violation } from './violation.js';

export interface ScopeInput {
  object: unknown;
  ref: ObjectRef;
}

export interface ScopeOptions {
  rootNamespace: string;
}

export function scopeRules(input: ScopeInput, view: ClusterView, options: ScopeOptions): Violation[] {
  const findings: Violation[] = [];
  addScopeFindings(findings, input, view, options);
  return findings;
}

/** scopeRules' findings, pushed onto `out` (the cross-object rules collect every finding in one array). */
export function addScopeFindings(out: Violation[], input: ScopeInput, view: ClusterView, options: ScopeOptions): void {
  emptySelector(out, input, view, options);
  egressBypass(out, input, view, options);
  addOutboundModeEmpty(out, input);
}

/**
 * The Sidecar the pods of a namespace get when no selector Sidecar picks
 * them, as istiod chooses it: the oldest one of the namespace without a
 * workloadSelector field, else the oldest such one in the root namespace.
 */
export function defaultFor(
  namespace: string,
  view: ClusterView,
  rootNamespace: string,
  except?: string,
): SidecarInfo | undefined {
  const candidates = (ns: string) =>
    view.namespaceWide(ns).filter((s) => !s.selectorPresent && !(ns === namespace && s.name === except));
  return oldest(candidates(namespace)) ?? (namespace === rootNamespace ? undefined : oldest(candidates(rootNamespace)));
}

/** istiod's order: creationTimestamp, then name (a missing timestamp sorts first, as in manifests none has one). */
function oldest(sidecars: readonly SidecarInfo[]): SidecarInfo | undefined {
  let best: SidecarInfo | undefined;
  for (const s of sidecars) {
    const [a, b] = [s.creationTimestamp ?? '', best?.creationTimestamp ?? ''];
    if (!best || a < b || (a === b && s.name < best.name)) best = s;
  }
  return best;
}

/** Egress hosts restrict what the pods see unless they import every host (`*` in every namespace, nothing excluded). */
export function restrictsEgress(hosts: readonly string[] | null | undefined): hosts is readonly string[] {
  return !!hosts && !(hosts.includes('*/*') && !hosts.some((h) => h.startsWith('~')));
}

/**
 * egress.bypass (istio/istio#59376): a Sidecar with a workloadSelector and
 * no egress listener gives its pods every host, while the namespace default
 * (or the root default) that they would otherwise get restricts egress.
 * Nothing is inherited from the default.
 */
function egressBypass(
  out: Violation[],
  { object, ref }: ScopeInput,
  view: ClusterView,
  { rootNamespace }: ScopeOptions,
): void {
  if (!workloadSelectorPresent(object) || hasEgress(object)) return;
  const fallback = defaultFor(ref.namespace, view, rootNamespace, ref.name);
  if (!fallback || !restrictsEgress(fallback.egressHosts)) return;
  const which = fallback.namespace === ref.namespace ? 'the namespace default' : 'the mesh-wide default';
  out.push({
    rule: 'egress.bypass',
    severity: 'warning',
    path: 'spec.egress',
    message: `${describeRef(ref)}: with a workloadSelector and no egress listener, the pods it selects see every host (*/*) instead of the egress of ${which} ${describeRef(fallback)} (${shortList(fallback.egressHosts)}) (istio/istio#59376)`,
    hint: `add an egress listener with the hosts these pods need (those of ${fallback.namespace}/${fallback.name} to keep its restriction): a Sidecar inherits nothing from the default`,
  });
}

function shortList(hosts: readonly string[]): string {
  return hosts.length <= 4 ? hosts.join(', ') : `${hosts.slice(0, 4).join(', ')}, ... ${hosts.length - 4} more`;
}

/**
 * selector.empty: `workloadSelector: {}` (or `{labels: {}}`). Istio's
 * analyzer, and conflict.default here, count it as namespace-wide; istiod
 * sorts it with the selector Sidecars, where it matches every pod of the
 * namespace ahead of the real namespace default, and never makes it the
 * mesh-wide default.
 */
function emptySelector(
  out: Violation[],
  { object, ref }: ScopeInput,
  view: ClusterView,
  { rootNamespace }: ScopeOptions,
): void {
  if (!workloadSelectorPresent(object) || selectorOf(object) !== null) return;
  const fallback = defaultFor(ref.namespace, view, rootNamespace, ref.name);
  const over = fallback && fallback.namespace === ref.namespace ? ` (${describeRef(fallback)})` : '';
  const root = ref.namespace === rootNamespace ? '; in the root namespace it never becomes the mesh-wide default' : '';
  out.push({
    rule: 'selector.empty',
    severity: 'warning',
    path: 'spec.workloadSelector',
    message: `${describeRef(ref)}: a workloadSelector without labels is counted as namespace-wide by Istio's analyzer, but istiod applies it as a selector matching every pod in ${ref.namespace}, ahead of the namespace's Sidecar without workloadSelector${over}${root}`,
    hint: 'remove spec.workloadSelector to make it the namespace default, or give it labels',
  });
}

/**
 * outbound.mode-empty (Kiali's KIA1007, kiali/kiali#5882): an
 * outboundTrafficPolicy without a mode is REGISTRY_ONLY (the enum's zero
 * value) whatever the mesh's own setting, which readers rarely expect.
 * (Kiali, reading the decoded enum, also flags an explicit REGISTRY_ONLY;
 * the JSON here tells the two apart.)
 */
export function addOutboundModeEmpty(out: Violation[], { object, ref }: ScopeInput): void {
  const spec = isRecord(object) ? object.spec : undefined;
  const otp = isRecord(spec) ? spec.outboundTrafficPolicy : undefined;
  if (!isRecord(otp) || (otp.mode !== undefined && otp.mode !== null && otp.mode !== '')) return;
  out.push({
    rule: 'outbound.mode-empty',
    severity: 'warning',
    path: 'spec.outboundTrafficPolicy',
    message: `${describeRef(ref)}: outboundTrafficPolicy has no mode, which istiod reads as REGISTRY_ONLY whatever the mesh's outboundTrafficPolicy says (KIA1007)`,
    hint: 'set outboundTrafficPolicy.mode to REGISTRY_ONLY or ALLOW_ANY explicitly, or remove outboundTrafficPolicy to use the mesh setting',
  });
}

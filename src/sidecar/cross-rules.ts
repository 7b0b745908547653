// Rules that judge a Sidecar against the others in its namespace. Istio only
// reports these conflicts after the fact (istioctl analyze IST0110/IST0111)
// and resolves them by age; here they are refused at admission.
// Error texts follow the denial header that already names the object;
// warnings stand alone in kubectl's output, so they name it themselves.
import type { ClusterView, PodInfo, SidecarInfo } from './view.js';
import { isManaged } from './managed.js';
import { describeRef, type ObjectRef } from './object.js';
import { selectorOf, selectorPairs, selectorString, sharedLabels, type Labels, type OverlapMode, type PairedSelector } from './selectors.js';
import type { Violation } from './violation.js';

export interface CrossOptions {
  overlap: OverlapMode;
  rootNamespace: string;
  /** How namespaces opt in to generated defaults, for the way-out hint when one is in the way. */
  defaultsOptIn?: string;
}

export interface CrossInput {
  object: unknown;
  /** The stored object on UPDATE: conflicts it already had are grandfathered. */
  oldObject?: unknown;
  ref: ObjectRef;
}

const POD_EXAMPLES = 3;

export function crossObjectRules(input: CrossInput, view: ClusterView, options: CrossOptions): Violation[] {
  const selector = selectorOf(input.object);
  const oldSelector = input.oldObject === undefined ? undefined : selectorOf(input.oldObject);
  const findings: Violation[] = [];
  if (selector === null) {
    findings.push(...duplicateDefault(input.ref, view, oldSelector === null, options));
  } else {
    findings.push(...overlaps(input.ref, selector, oldSelector, view, options.overlap));
    findings.push(...rootSelector(input.ref, options.rootNamespace));
    findings.push(...noMatchingPod(input.ref, selector, view));
  }
  return findings;
}

/** conflict.default (IST0111): one namespace-wide Sidecar per namespace. */
function duplicateDefault(ref: ObjectRef, view: ClusterView, wasNamespaceWide: boolean, options: CrossOptions): Violation[] {
  return view.namespaceWide(ref.namespace).filter((s) => s.name !== ref.name).map((existing) => {
    const grandfathered = wasNamespaceWide;
    return {
      rule: 'conflict.default',
      severity: grandfathered ? 'warning' : 'error',
      path: 'spec.workloadSelector',
      message: grandfathered
        ? `${describeRef(ref)} and ${describeRef(existing)} are both namespace-wide (no workloadSelector); Istio picks the older one (IST0111)`
        : `no workloadSelector, but namespace "${ref.namespace}" already has a namespace-wide Sidecar: ${existing.name}${managedNote(existing)}; with two of them Istio's choice is undefined (IST0111)`,
      hint: isManaged(existing)
        ? `add spec.workloadSelector.labels to ${ref.name}, or change the generated default through sidecar-guard's template, or opt the namespace out of generated defaults (${options.defaultsOptIn ?? 'remove its sidecar-guard.io/default-sidecar label'}) and then delete ${existing.namespace}/${existing.name}`
        : `edit the existing Sidecar ${existing.namespace}/${existing.name} instead, or add spec.workloadSelector.labels to ${ref.name} so it applies to specific workloads`,
    };
  });
}

/** conflict.overlap (IST0110): no two selector Sidecars may pick the same pod. */
function overlaps(
  ref: ObjectRef,
  selector: Labels,
  oldSelector: Labels | null | undefined,
  view: ClusterView,
  mode: OverlapMode,
): Violation[] {
  const findings: Violation[] = [];
  const candidate: PairedSelector = { selector, selectorPairs: selectorPairs(selector) };
  const previous: PairedSelector | null = oldSelector ? { selector: oldSelector, selectorPairs: selectorPairs(oldSelector) } : null;
  for (const other of view.sidecars(ref.namespace)) {
    if (!isSelective(other) || other.name === ref.name) continue;
    const shared = overlapOf(candidate, other, ref.namespace, view, mode);
    if (!shared) continue;
    const grandfathered = previous !== null && overlapOf(previous, other, ref.namespace, view, mode) !== null;
    const pods = view.podsMatching(ref.namespace, shared, POD_EXAMPLES);
    findings.push({
      rule: 'conflict.overlap',
      severity: grandfathered ? 'warning' : 'error',
      path: 'spec.workloadSelector.labels',
      message: grandfathered
        ? `${describeRef(ref)} and ${describeRef(other)} select the same pods (${selectorString(shared)}); Istio uses the older one for them (IST0110)`
        : `selects the same workloads as ${describeRef(other)}: both apply to pods labelled ${selectorString(shared)}${podList(pods)}; Istio would use only one of them, which is undefined behaviour (IST0110)`,
      hint: `make the selectors disjoint (give ${ref.name} a label value that ${other.name} does not accept), or merge the two Sidecars into one`,
    });
  }
  return findings;
}

/**
 * The labels a pod needs to be selected by both, or null if no pod can be
 * (per mode). The pairs test rejects almost every candidate without
 * allocating; only overlapping selectors get merged.
 */
function overlapOf(candidate: PairedSelector, other: PairedSelector, namespace: string, view: ClusterView, mode: OverlapMode): Labels | null {
  const shared = sharedLabels(candidate, other, mode);
  if (shared === null || (mode === 'pods' && view.podsMatching(namespace, shared, 1).length === 0)) return null;
  return shared;
}

function podList(pods: readonly PodInfo[]): string {
  if (pods.length === 0) return ' (no such pod exists yet)';
  return ` (existing pods: ${pods.map((p) => p.name).join(', ')}${pods.length === POD_EXAMPLES ? ', ...' : ''})`;
}

/** root.selector: the mesh-wide default in the root namespace should not select workloads. */
function rootSelector(ref: ObjectRef, rootNamespace: string): Violation[] {
  if (ref.namespace !== rootNamespace) return [];
  return [
    {
      rule: 'root.selector',
      severity: 'warning',
      path: 'spec.workloadSelector',
      message: `${describeRef(ref)} is in the root namespace but has a workloadSelector: it applies only to pods in ${rootNamespace}, not mesh-wide`,
      hint: 'remove the workloadSelector to make it the mesh-wide default, or move it to the namespace of the workloads it targets',
    },
  ];
}

/** selector.no-match (IST0101): a warning only, pods often come after their Sidecar. */
function noMatchingPod(ref: ObjectRef, selector: Labels, view: ClusterView): Violation[] {
  if (!view.knowsPods() || view.podsMatching(ref.namespace, selector, 1).length > 0) return [];
  return [
    {
      rule: 'selector.no-match',
      severity: 'warning',
      path: 'spec.workloadSelector.labels',
      message: `${describeRef(ref)}: no pod in ${ref.namespace} matches ${selectorString(selector)} yet (IST0101)`,
      hint: 'check the workloadSelector labels against the pod template labels',
    },
  ];
}

/** A Sidecar with a workload selector (not namespace-wide). */
export const isSelective = (s: SidecarInfo): s is SidecarInfo & PairedSelector => s.selector !== null && s.selectorPairs !== null;

function managedNote(s: SidecarInfo): string {
  return isManaged(s) ? ' (generated by sidecar-guard as the namespace default)' : '';
}

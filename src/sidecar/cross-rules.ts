// Rules that judge a Sidecar against the others in its namespace and against
// the pods, workloads and registry around it. Istio only reports some of
// these after the fact (istioctl analyze IST0110/IST0111/IST0101/IST0167,
// Kiali's KIA codes) and resolves conflicts by age; here they are refused or
// warned about at admission.
// Error texts follow the denial header that already names the object;
// warnings stand alone in kubectl's output, so they name it themselves.
import {
  type ClusterView,
  MESH_WORKLOAD_KINDS,
  type PodFilter,
  type PodInfo,
  type SidecarInfo,
  type WorkloadInfo,
} from './view.js';
import { bucket } from '../util/maps.js';
import { isAmbientNamespace } from './ambient.js';
import { isGatewayByLabels } from './gateways.js';
import { addHostFindings, addListenerPortFindings, type UnknownHosts } from './host-rules.js';
import { isManaged } from './managed.js';
import { INJECT_LABEL, isOptedOut, OPTED_OUT, workloadSelectorPresent } from './records.js';
import { REVISION_LABEL, revisionIn, revisionOf, sameIstiod, sharedRevisionNote } from './revisions.js';
import { describeRef, type ObjectRef } from './object.js';
import { addExcludedHosts, addOutboundModeEmpty, addScopeFindings } from './scope-rules.js';
import {
  selectorOf,
  selectorPairs,
  selectorString,
  sharedLabels,
  type Labels,
  type OverlapMode,
  type PairedSelector,
} from './selectors.js';
import { FINDING_LIMITS, ruleSummary, type Severity, type Violation } from './violation.js';

export interface CrossOptions {
  overlap: OverlapMode;
  rootNamespace: string;
  /** How namespaces opt in to generated defaults, for the way-out hint when one is in the way. */
  defaultsOptIn?: string;
  /** host.unknown: a warning (default), an error, or not checked. */
  unknownHosts?: UnknownHosts;
  /** The cluster's DNS domain: a Service is name.namespace.svc.<domain> (default cluster.local). */
  clusterDomain?: string;
}

export interface CrossInput {
  object: unknown;
  /** The stored object on UPDATE: conflicts it already had are grandfathered. */
  oldObject?: unknown;
  ref: ObjectRef;
}

const EXAMPLES = 3;

/**
 * Every rule of this module, findings in rule order. The rules push into one
 * array rather than each returning its own: a valid Sidecar, the common case,
 * has no findings and needs no empty lists built and concatenated.
 */
export function crossObjectRules(input: CrossInput, view: ClusterView, options: CrossOptions): Violation[] {
  const selector = selectorOf(input.object);
  const oldSelector = input.oldObject === undefined ? undefined : selectorOf(input.oldObject);
  const findings: Violation[] = [];
  const revisions: Revisions = {
    now: revisionOf(input.object),
    before: input.oldObject === undefined ? undefined : revisionOf(input.oldObject),
  };
  if (selector === null) {
    const emptySelector = workloadSelectorPresent(input.object);
    duplicateDefault(findings, input.ref, revisions, view, oldSelector === null, emptySelector, options);
    ambientNamespace(findings, input.ref, view);
  } else {
    overlaps(findings, input.ref, revisions, selector, oldSelector, view, options.overlap);
    rootSelector(findings, input.ref, options.rootNamespace);
    noMatchingPod(findings, input.ref, selector, view, options.overlap);
    ambientPods(findings, input.ref, selector, view);
    noProxy(findings, input.ref, selector, view);
  }
  revisionFindings(findings, input.ref, revisions.now, input.object, view, options.rootNamespace);
  addScopeFindings(findings, input, view, options);
  addHostFindings(findings, input, view, options);
  addListenerPortFindings(findings, input, view, options);
  return findings;
}

/**
 * The rules of this module that need no other object (root.selector,
 * outbound.mode-empty, host.excluded): what `check --isolated` still reports.
 */
export function objectOnlyRules(input: CrossInput, options: CrossOptions): Violation[] {
  const findings: Violation[] = [];
  if (selectorOf(input.object) !== null) rootSelector(findings, input.ref, options.rootNamespace);
  addOutboundModeEmpty(findings, input);
  addExcludedHosts(findings, input, options.rootNamespace);
  return findings;
}

/**
 * The candidate's istio.io/rev label, and on an UPDATE the stored version's:
 * a conflict is grandfathered only with a peer the same istiod read beside
 * the stored version too (relabelling a Sidecar into a peer's revision is a
 * new conflict).
 */
interface Revisions {
  now: string | undefined;
  before: string | undefined;
}

/** conflict.default (IST0111): one namespace-wide Sidecar per namespace. */
function duplicateDefault(
  out: Violation[],
  ref: ObjectRef,
  revisions: Revisions,
  view: ClusterView,
  wasNamespaceWide: boolean,
  emptySelector: boolean,
  options: CrossOptions,
): void {
  const wide = view.namespaceWide(ref.namespace);
  // `workloadSelector: {}` has a selector field; Istio's analyzer counts it as namespace-wide all the same.
  const form = emptySelector
    ? 'a workloadSelector without labels, which counts as namespace-wide,'
    : 'no workloadSelector,';
  // A name once: the view may hold a stored Sidecar and admitted versions of it not stored yet (several replicas
  // creating the same default each admit it; all but one then fail with AlreadyExists).
  let named: Set<string> | undefined;
  for (let i = 0; i < wide.length; i++) {
    const existing = wide[i]!;
    if (existing.name === ref.name) continue;
    const existingRevision = revisionIn(existing.labels);
    if (!sameIstiod(revisions.now, existingRevision)) continue;
    if (wide.length > 1) {
      named ??= new Set();
      if (named.has(existing.name)) continue;
      named.add(existing.name);
    }
    const grandfathered = wasNamespaceWide && sameIstiod(revisions.before, existingRevision);
    const pair: DefaultPair = {
      ref,
      revision: revisions.now,
      emptySelector,
      existing,
      rootNamespace: options.rootNamespace,
    };
    out.push({
      rule: 'conflict.default',
      severity: grandfathered ? 'warning' : 'error',
      path: 'spec.workloadSelector',
      peer: { namespace: existing.namespace, name: existing.name },
      message: grandfathered
        ? `${describeRef(ref)} and ${describeRef(existing)} are both namespace-wide for Istio's analyzer; ${whichIstiodPicks(pair)} (IST0111)`
        : `${form} but namespace "${ref.namespace}" already has a namespace-wide Sidecar: ${existing.name}${managedNote(existing)}${sharedRevisionNote(revisions.now, existingRevision)}; ${whatTwoDefaultsDo(pair)} (IST0111)`,
      hint: existing.deleting
        ? `wait until ${existing.namespace}/${existing.name} is gone (its metadata.finalizers say what holds it), or add spec.workloadSelector.labels to ${ref.name} so it applies to specific workloads`
        : isManaged(existing)
          ? `add spec.workloadSelector.labels to ${ref.name}, or change the generated default through sidecar-guard's template, or opt the namespace out of generated defaults (${options.defaultsOptIn ?? 'remove its sidecar-guard.io/default-sidecar label'}) and then delete ${existing.namespace}/${existing.name}`
          : `edit the existing Sidecar ${existing.namespace}/${existing.name} instead, or add spec.workloadSelector.labels to ${ref.name} so it applies to specific workloads`,
    });
  }
}

/**
 * What a second namespace-wide Sidecar would do, for the error that refuses
 * it: two of one form (both without a selector, or both `{}`) are what Istio
 * calls undefined; a `{}` beside one without a selector is no tie, istiod
 * takes the `{}` for the namespace's pods (whichIstiodPicks), and Istio's
 * analyzer still reports both. In the root namespace the one without a
 * selector stays the mesh-wide default of every other namespace: only a root
 * Sidecar without a selector field becomes that, a `{}` never does.
 */
function whatTwoDefaultsDo(pair: DefaultPair): string {
  const { ref, emptySelector, existing, rootNamespace } = pair;
  if (emptySelector === existing.selectorPresent) return "with two of them Istio's choice is undefined";
  const withoutSelector = emptySelector ? existing.name : ref.name;
  const effect =
    ref.namespace === rootNamespace
      ? `so ${withoutSelector} does not apply to them, though it stays the mesh-wide default of the other namespaces`
      : `so ${withoutSelector} has no effect on them`;
  return `${whichIstiodPicks(pair)}, ${effect}`;
}

/** Two namespace-wide Sidecars of one namespace: the candidate (its revision, whether it is a `{}`) and one in the view. */
interface DefaultPair {
  ref: ObjectRef;
  revision: string | undefined;
  emptySelector: boolean;
  existing: SidecarInfo;
  rootNamespace: string;
}

/**
 * Which of two namespace-wide Sidecars istiod gives the namespace's pods: the
 * older, unless exactly one is a `workloadSelector: {}`, which istiod sorts
 * with the selector Sidecars and takes ahead of a real default whatever their
 * ages (selector.empty; the SidecarScope differential found the older one
 * named here). A `{}` selects the pods of its own namespace only, the root
 * namespace's too.
 */
function whichIstiodPicks({ ref, revision, emptySelector, existing }: DefaultPair): string {
  if (emptySelector === existing.selectorPresent) return 'Istio picks the older one';
  const [empty, other] = emptySelector ? [ref.name, existing.name] : [existing.name, ref.name];
  // A labelled `{}` beside an unlabelled default: only its revision's istiod reads it, for the pods it serves.
  const emptyRevision = emptySelector ? revision : revisionIn(existing.labels);
  const otherRevision = emptySelector ? revisionIn(existing.labels) : revision;
  const reader =
    emptyRevision === undefined || otherRevision !== undefined
      ? undefined
      : emptyRevision === ''
        ? 'an istiod without a revision (the only kind that reads istio.io/rev: "")'
        : `the istiod of revision "${emptyRevision}"`;
  const who = reader
    ? `${reader} applies ${empty}, whose workloadSelector is {}, to the pods of ${ref.namespace} it serves`
    : `istiod applies ${empty}, whose workloadSelector is {}, to every pod of ${ref.namespace}`;
  return `${who} ahead of ${other}, whatever their ages`;
}

/** What makes two selectors overlap: the labels a pod needs for both, and the pods and workloads that have them. */
interface Overlap {
  shared: Labels;
  pods: readonly PodInfo[];
  workloads: readonly WorkloadInfo[];
}

/**
 * conflict.overlap (IST0110): no two selector Sidecars may pick the same pod.
 * The candidate's pairs are built once; the view visits the Sidecars whose
 * selectors can be compatible with them (an index by label key and value in
 * the store) and each is compared pair by pair, keys by identity first (both
 * sides' keys come from parsed JSON, whose keys V8 interns). Where every
 * selector of the namespace names one of the candidate's keys (the usual
 * `app: <name>`), a namespace without overlap costs a lookup, not a visit of
 * every Sidecar.
 */
function overlaps(
  out: Violation[],
  ref: ObjectRef,
  revisions: Revisions,
  selector: Labels,
  oldSelector: Labels | null | undefined,
  view: ClusterView,
  mode: OverlapMode,
): void {
  const candidate: PairedSelector = { selector, selectorPairs: selectorPairs(selector) };
  const previous: PairedSelector | null = oldSelector
    ? { selector: oldSelector, selectorPairs: selectorPairs(oldSelector) }
    : null;
  // Each other Sidecar once by name, as for conflict.default: a stored Sidecar and admitted versions of it not
  // stored yet are one peer. A version that makes an error is still reported after one that made a warning.
  let reported: Map<string, Severity> | undefined;
  // Past FINDING_LIMITS.perRule of a severity a peer is counted, not described: `check` of 4,000 Sidecars of
  // distinct revisions sharing a selector with 4,000 unlabelled ones built every pair's message for the cap to
  // drop (28 s).
  // Plain counters, not objects: this runs for every selector Sidecar admitted, nearly always with no peer.
  let errorsDescribed = 0;
  let warningsDescribed = 0;
  let errorsCounted = 0;
  let warningsCounted = 0;
  view.forEachSidecarCompatibleWith(ref.namespace, candidate.selectorPairs, (other) => {
    if (!isSelective(other) || other.name === ref.name) return;
    const otherRevision = revisionIn(other.labels);
    if (!sameIstiod(revisions.now, otherRevision)) return;
    const before = reported?.get(other.name);
    if (before === 'error') return;
    const overlap = overlapOf(candidate, other, ref.namespace, view, mode);
    if (!overlap) return;
    const kept =
      sameIstiod(revisions.before, otherRevision) &&
      grandfatheredOverlap(overlap, previous, other, ref.namespace, view, mode);
    const severity: Severity = kept ? 'warning' : 'error';
    if (before === severity) return;
    reported ??= new Map();
    reported.set(other.name, severity);
    if ((severity === 'error' ? errorsDescribed : warningsDescribed) === FINDING_LIMITS.perRule) {
      if (severity === 'error') errorsCounted++;
      else warningsCounted++;
      return;
    }
    if (severity === 'error') errorsDescribed++;
    else warningsDescribed++;
    const { shared } = overlap;
    out.push({
      rule: 'conflict.overlap',
      severity,
      path: OVERLAP_PATH,
      peer: { namespace: other.namespace, name: other.name },
      message:
        severity === 'warning'
          ? `${describeRef(ref)} and ${describeRef(other)} select the same pods (${selectorString(shared)}); Istio uses the older one for them (IST0110)`
          : `selects the same workloads as ${describeRef(other)}${deletingNote(other)}${sharedRevisionNote(revisions.now, otherRevision)}: both apply to pods labelled ${selectorString(shared)}${witnesses(overlap, view, mode)}; Istio would use only one of them, which is undefined behaviour (IST0110)`,
      hint: `make the selectors disjoint (give ${ref.name} a label value that ${other.name} does not accept), or merge the two Sidecars into one`,
    });
  });
  if (errorsCounted > 0) out.push(ruleSummary('conflict.overlap', 'error', OVERLAP_PATH, errorsCounted));
  if (warningsCounted > 0) out.push(ruleSummary('conflict.overlap', 'warning', OVERLAP_PATH, warningsCounted));
}

const OVERLAP_PATH = 'spec.workloadSelector.labels';

/**
 * An UPDATE keeps an overlap the stored version already had with the same
 * peer, and only within it: the pods the new selector contests with the peer
 * (those carrying `shared`) must all have been contested before, which holds
 * when `shared` demands every label the old overlap demanded. Without that, an
 * UPDATE could move an old overlap onto workloads no one contested (a probe,
 * 2026-12-02: a selector swapped from app=web to track=canary took over a
 * canary Deployment with only a warning, where a CREATE was refused).
 */
function grandfatheredOverlap(
  overlap: Overlap,
  previous: PairedSelector | null,
  other: PairedSelector,
  namespace: string,
  view: ClusterView,
  mode: OverlapMode,
): boolean {
  if (previous === null) return false;
  const before = overlapOf(previous, other, namespace, view, mode);
  if (before === null) return false;
  for (const key of Object.keys(before.shared)) if (overlap.shared[key] !== before.shared[key]) return false;
  return true;
}

/** Ambient pods have no sidecar: Istio's analyzer leaves them out of IST0110, and so do `pods` and `workloads`. */
const CONFLICT_PODS: PodFilter = 'sidecar';

/**
 * The overlap of two selectors per mode, or null: `identical` and `labels`
 * compare the selectors alone; `pods` also needs an existing pod that both
 * select; `workloads` needs such a pod or pod template, unless the selectors
 * are identical. The pairs test rejects almost every candidate without
 * allocating; only overlapping selectors get merged.
 */
function overlapOf(
  candidate: PairedSelector,
  other: PairedSelector,
  namespace: string,
  view: ClusterView,
  mode: OverlapMode,
): Overlap | null {
  const shared = sharedLabels(candidate, other, mode);
  if (shared === null) return null;
  // One more than is shown, so that ", ..." says there are more rather than that the list is full.
  const pods = view.podsMatching(namespace, shared, EXAMPLES + 1, CONFLICT_PODS);
  const workloads = mode === 'pods' ? [] : view.workloadsMatching(namespace, shared, EXAMPLES + 1);
  if (mode === 'pods' && pods.length === 0) return null;
  if (
    mode === 'workloads' &&
    pods.length === 0 &&
    workloads.length === 0 &&
    sharedLabels(candidate, other, 'identical') === null
  )
    return null;
  return { shared, pods, workloads };
}

/** The pods and workloads behind an overlap, or why there are none. */
function witnesses({ pods, workloads }: Overlap, view: ClusterView, mode: OverlapMode): string {
  const parts: string[] = [];
  if (workloads.length > 0)
    parts.push(`${workloads.slice(0, EXAMPLES).map(describeWorkload).join(', ')}${more(workloads)}`);
  if (pods.length > 0)
    parts.push(
      `existing pods: ${pods
        .slice(0, EXAMPLES)
        .map((p) => p.name)
        .join(', ')}${more(pods)}`,
    );
  if (parts.length > 0) return ` (${parts.join('; ')})`;
  if (mode === 'labels' && (view.knowsPods() || view.knowsWorkloads())) {
    return ' (no pod or workload carries these labels: --overlap=labels refuses overlaps that might only come later; --overlap=workloads, the default, would allow this)';
  }
  return ' (no such pod exists yet)';
}

/** ", ..." after EXAMPLES examples when a list holds more (it is asked for one more than it shows). */
const more = (list: readonly unknown[]): string => (list.length > EXAMPLES ? ', ...' : '');

/** `Deployment shop/reviews-v2 (0 replicas)`, `CronJob shop/report`. */
export function describeWorkload(w: WorkloadInfo): string {
  const replicas = w.replicas === undefined ? '' : ` (${w.replicas} replica${w.replicas === 1 ? '' : 's'})`;
  return `${w.kind} ${w.namespace}/${w.name}${replicas}`;
}

/** root.selector (Kiali's KIA1006): the mesh-wide default in the root namespace should not select workloads. */
function rootSelector(out: Violation[], ref: ObjectRef, rootNamespace: string): void {
  if (ref.namespace !== rootNamespace) return;
  out.push({
    rule: 'root.selector',
    severity: 'warning',
    path: 'spec.workloadSelector',
    message: `${describeRef(ref)} is in the root namespace but has a workloadSelector: it applies only to pods in ${rootNamespace}, not mesh-wide (KIA1006)`,
    hint: 'remove the workloadSelector to make it the mesh-wide default, or move it to the namespace of the workloads it targets',
  });
}

/**
 * selector.no-match (IST0101): a warning only, pods often come after their
 * Sidecar. In `pods` mode, as Istio's analyzer: no pod matches (ambient ones
 * count; they get IST0167 instead). Otherwise a pod template counts too, so
 * Jobs, CronJobs and Deployments scaled to zero are no false alarm
 * (istio/istio#51273).
 */
function noMatchingPod(out: Violation[], ref: ObjectRef, selector: Labels, view: ClusterView, mode: OverlapMode): void {
  const podsOnly = mode === 'pods';
  if (!(view.knowsPods() || (!podsOnly && view.knowsWorkloads()))) return;
  if (view.hasPodMatching(ref.namespace, selector)) return;
  if (!podsOnly && view.hasWorkloadMatching(ref.namespace, selector)) return;
  const what = podsOnly ? 'no pod' : 'no pod and no workload template';
  out.push({
    rule: 'selector.no-match',
    severity: 'warning',
    path: 'spec.workloadSelector.labels',
    message: `${describeRef(ref)}: ${what} in ${ref.namespace} matches ${selectorString(selector)} yet (IST0101)`,
    hint: 'check the workloadSelector labels against the pod template labels',
  });
}

const AMBIENT_HINT = 'a Sidecar configures sidecar proxies only; remove it, or take the workloads out of ambient mode';

/** ambient.ineffective (IST0167): a namespace-wide Sidecar in an ambient namespace does nothing. */
function ambientNamespace(out: Violation[], ref: ObjectRef, view: ClusterView): void {
  if (!isAmbientNamespace(view.namespace(ref.namespace)?.labels)) return;
  out.push({
    rule: 'ambient.ineffective',
    severity: 'warning',
    path: 'metadata.namespace',
    message: `${describeRef(ref)}: namespace ${ref.namespace} is in ambient mode, so this Sidecar has no effect (IST0167)`,
    hint: AMBIENT_HINT,
  });
}

/** ambient.ineffective (IST0167): the selected pods run in ambient mode, without a sidecar. */
function ambientPods(out: Violation[], ref: ObjectRef, selector: Labels, view: ClusterView): void {
  if (!view.hasPodMatching(ref.namespace, selector, 'ambient')) return;
  const ambient = view.podsMatching(ref.namespace, selector, EXAMPLES, 'ambient');
  out.push({
    rule: 'ambient.ineffective',
    severity: 'warning',
    path: 'spec.workloadSelector.labels',
    message: `${describeRef(ref)}: pods it selects are in ambient mode (${ambient.map((p) => p.name).join(', ')}), so it has no effect on them (IST0167)`,
    hint: AMBIENT_HINT,
  });
}

/** Beyond this many selected pods or templates, selector.no-proxy does not judge: all of them would have to be read. */
const NO_PROXY_LIMIT = 32;

/** selector.no-proxy alone, for `audit` (admission runs it among the others in crossObjectRules). */
export function noProxyRule(input: { object: unknown; ref: ObjectRef }, view: ClusterView): Violation[] {
  const findings: Violation[] = [];
  const selector = selectorOf(input.object);
  if (selector !== null) noProxy(findings, input.ref, selector, view);
  return findings;
}

/** istiod's pod template label (Istio's istiod chart), beside istio.io/rev naming its revision. */
const ISTIOD: Labels = Object.freeze({ app: 'istiod' });
/** istiod workloads and pods read per namespace, for revision.no-istiod: a cluster runs a few revisions of a few replicas; past this many nothing is said. */
const ISTIOD_LIMIT = 256;

/** revision.no-istiod and revision.pod-mismatch alone, for `audit` (admission runs them among the others in crossObjectRules). */
export function revisionRules(
  input: { object: unknown; ref: ObjectRef },
  view: ClusterView,
  rootNamespace: string,
  seen?: IstiodsSeen,
): Violation[] {
  const findings: Violation[] = [];
  revisionFindings(findings, input.ref, revisionOf(input.object), input.object, view, rootNamespace, seen);
  return findings;
}

/**
 * revision.no-istiod, else revision.pod-mismatch: a Sidecar no istiod reads
 * has no effect on any pod, which the first says; the second would add that
 * "only the istiod of revision X reads it", of an istiod that does not run.
 */
function revisionFindings(
  out: Violation[],
  ref: ObjectRef,
  revision: string | undefined,
  object: unknown,
  view: ClusterView,
  rootNamespace: string,
  seen?: IstiodsSeen,
): void {
  // Unlabelled Sidecars, nearly all of them, cost nothing here.
  if (revision === undefined) return;
  const labelled: Labelled = { ref, revision, object, view, rootNamespace, seen };
  const before = out.length;
  noIstiodOfRevision(out, labelled);
  if (out.length === before) podsOfOtherRevisions(out, labelled);
}

/** A Sidecar labelled istio.io/rev, and what the two revision rules read about it. */
interface Labelled {
  ref: ObjectRef;
  revision: string;
  object: unknown;
  view: ClusterView;
  rootNamespace: string;
  seen: IstiodsSeen | undefined;
}

/**
 * What revision.no-istiod and revision.pod-mismatch read of a view that does
 * not change (an `audit` run): each namespace's istiods and the namespace
 * names, read once for every
 * Sidecar judged (4,000 Sidecars of an unrun revision in 4,000 namespaces
 * read them all per Sidecar: 4.5 s). Admission reads a live view and keeps none.
 */
export interface IstiodsSeen {
  names?: readonly string[];
  byNamespace: Map<string, ReadonlySet<string> | typeof UNKNOWN>;
}

/**
 * revision.no-istiod: the Sidecar is labelled istio.io/rev with a revision
 * no istiod runs, so no istiod reads it and no proxy gets it. istiod's config
 * client keeps only objects without the label or labelled with its own
 * revision (LabelsInRevision, crdclient's inRevision); it never consults
 * revision tags, so a tag's name is read by none. Judged only when istiods
 * are seen in the root namespace (where Istio's chart installs them) and
 * every istiod seen says its revision; before warning, every namespace is
 * searched (a second control plane, a canary installed in a namespace of its
 * own). An istiod outside the cluster is not seen: with none in the root
 * namespace nothing is said. Unlabelled Sidecars, nearly all of them, cost
 * nothing here; a labelled one whose revision runs in the root namespace,
 * two lookups.
 */
function noIstiodOfRevision(out: Violation[], { ref, revision, view, rootNamespace, seen }: Labelled): void {
  const revisionsOf = (namespace: string) => istiodRevisionsSeen(view, namespace, seen);
  const root = revisionsOf(rootNamespace);
  if (root === UNKNOWN || root.size === 0 || root.has(revision)) return;
  const running = new Map<string, string[]>([[rootNamespace, [...root].sort()]]);
  const names = seen?.names ?? view.namespaceNames();
  if (seen) seen.names = names;
  for (const namespace of names) {
    if (namespace === rootNamespace) continue;
    const there = revisionsOf(namespace);
    if (there === UNKNOWN || there.has(revision)) return;
    if (there.size > 0) running.set(namespace, [...there].sort());
  }
  const where = [...running].map(([ns, revs]) => `${revs.map((r) => `"${r}"`).join(', ')} in ${ns}`);
  const every = [...new Set([...running.values()].flat())].sort();
  out.push({
    rule: 'revision.no-istiod',
    severity: 'warning',
    path: `metadata.labels[${REVISION_LABEL}]`,
    message: `${describeRef(ref)}: it is labelled ${REVISION_LABEL}="${revision}", a revision no istiod runs (istiods: ${where.join('; ')}), so no istiod reads it and this Sidecar has no effect`,
    hint: `label it with the revision whose istiod should read it (${every.length === 1 ? '' : 'one of '}${every.join(', ')}), or remove ${REVISION_LABEL} so every istiod reads it; istiod reads no config labelled with a revision tag's name`,
  });
}

/** istiodRevisions, from the run's cache when there is one. */
function istiodRevisionsSeen(
  view: ClusterView,
  namespace: string,
  seen: IstiodsSeen | undefined,
): ReadonlySet<string> | typeof UNKNOWN {
  return seen
    ? bucket(seen.byNamespace, namespace, () => istiodRevisions(view, namespace))
    : istiodRevisions(view, namespace);
}

/** Pods read for revision.pod-mismatch: past this many nothing is said (each would have to be read). */
const POD_REVISION_LIMIT = 64;

/**
 * revision.pod-mismatch: the Sidecar is labelled istio.io/rev=X, so only the
 * istiod of revision X reads it (LabelsInRevision), but every injected pod it
 * would apply to has a proxy of another revision (the injector's istio.io/rev
 * annotation), whose istiod serves that proxy and does not read the Sidecar:
 * it has no effect on them. Typical in a canary upgrade, with the Sidecar
 * relabelled before the pods are restarted, or after a rollback. Said only
 * when each of those revisions' istiods is seen in the root namespace
 * labelled with it (Istio's chart sets its REVISION to the same, so it reads
 * only unlabelled config and its own); an istiod without a revision reads
 * everything. Pods without the annotation (not injected) and gateways are
 * left to selector.no-proxy; a namespace-wide Sidecar is judged against the
 * namespace's pods, but not in the root namespace, where it is the mesh-wide
 * default.
 */
function podsOfOtherRevisions(out: Violation[], { ref, revision, object, view, rootNamespace, seen }: Labelled): void {
  if (!view.knowsPods()) return;
  const selector = selectorOf(object);
  // The mesh-wide default serves every namespace's pods; a `{}` in the root namespace only that namespace's.
  if (selector === null && ref.namespace === rootNamespace && !workloadSelectorPresent(object)) return;
  const pods = view.podsMatching(ref.namespace, selector ?? NO_LABELS, POD_REVISION_LIMIT + 1, 'sidecar');
  if (pods.length > POD_REVISION_LIMIT) return;
  const injected = pods.filter((p) => p.revision !== undefined && !p.gateway && !isGatewayByLabels(p.labels));
  if (injected.length === 0 || injected.some((p) => p.revision === revision)) return;
  const root = istiodRevisionsSeen(view, rootNamespace, seen);
  if (root === UNKNOWN || injected.some((p) => !root.has(p.revision!))) return;
  const theirs = [...new Set(injected.map((p) => p.revision!))].sort();
  const quoted = theirs.map((r) => `"${r}"`).join(', ');
  const names = injected.map((p) => p.name).sort();
  const shown = `${names.slice(0, EXAMPLES).join(', ')}${names.length > EXAMPLES ? `, and ${names.length - EXAMPLES} more` : ''}`;
  const whose = selector === null ? `the pods of namespace ${ref.namespace}` : 'the pods it selects';
  out.push({
    rule: 'revision.pod-mismatch',
    severity: 'warning',
    path: `metadata.labels[${REVISION_LABEL}]`,
    message: `${describeRef(ref)}: it is labelled ${REVISION_LABEL}="${revision}", so only the istiod of revision "${revision}" reads it, but ${whose} (${shown}) run proxies of revision ${quoted} (their ${REVISION_LABEL} annotation), whose istiod does not read it: this Sidecar has no effect on them`,
    hint: `remove ${REVISION_LABEL} so every istiod reads it, label it ${theirs.length === 1 ? `"${theirs[0]}"` : `with the pods' revision (${quoted})`}, or restart the pods so that revision "${revision}" injects them`,
  });
}

const NO_LABELS: Labels = Object.freeze({});

/** An istiod seen that does not say its revision, or too many to read: whether one reads a label cannot be told. */
const UNKNOWN = Symbol('unknown');

/**
 * The revisions of the istiods of a namespace (the workloads and pods
 * labelled app: istiod; empty when there are none), or UNKNOWN.
 */
function istiodRevisions(view: ClusterView, namespace: string): ReadonlySet<string> | typeof UNKNOWN {
  const workloads = view.knowsWorkloads() ? view.workloadsMatching(namespace, ISTIOD, ISTIOD_LIMIT + 1) : [];
  const pods = view.knowsPods() ? view.podsMatching(namespace, ISTIOD, ISTIOD_LIMIT + 1) : [];
  // Past the limit an unread istiod could name the revision: say nothing rather than guess.
  if (workloads.length > ISTIOD_LIMIT || pods.length > ISTIOD_LIMIT) return UNKNOWN;
  const revisions = new Set<string>();
  for (const { labels } of [...workloads, ...pods]) {
    const rev = revisionIn(labels);
    if (rev === undefined) return UNKNOWN;
    revisions.add(rev);
  }
  return revisions;
}

/** What to do about a gateway a Sidecar selects. */
const GATEWAY_WAY_OUT =
  "istiod applies no Sidecar to a gateway; to trim what one receives, use exportTo on the Services and routes (or istiod's experimental, istiod-wide PILOT_FILTER_GATEWAY_CLUSTER_CONFIG, which sends a gateway only the clusters its routes reference)";

/**
 * selector.no-proxy (istio/istio#12193, "Sidecars silently ignored"): every
 * pod and pod template the selector picks runs without a sidecar proxy, so
 * the Sidecar configures nothing. A template or pod labelled
 * sidecar.istio.io/inject=false is never injected; in an ambient namespace
 * one is not unless it asks with sidecar.istio.io/inject=true; a gateway runs
 * a proxy to which istiod applies no Sidecar (gateways.ts). Pods the CNI
 * already marked ambient are ambient.ineffective's (IST0167). A namespace
 * without an opted-out template or pod, and without an injected gateway the
 * selector picks, costs two lookups and a look at its gateways; only then
 * are the selected ones read, at most NO_PROXY_LIMIT of each.
 */
function noProxy(out: Violation[], ref: ObjectRef, selector: Labels, view: ClusterView): void {
  // Nearly every namespace: no gateway, nothing opted out, not ambient. The checks below would say the same.
  if (!view.mayRunWithoutProxy(ref.namespace)) return;
  const asked = selector[INJECT_LABEL];
  const injectedGateway = view.hasGatewayMatching(ref.namespace, selector);
  if (asked !== undefined && asked !== 'false' && !injectedGateway) return;
  const ambient = asked === undefined && isAmbientNamespace(view.namespace(ref.namespace)?.labels);
  // A constant selector: the common decision (no opted-out template or pod in the namespace) allocates nothing here.
  if (
    !ambient &&
    !injectedGateway &&
    !view.hasWorkloadMatching(ref.namespace, OPTED_OUT) &&
    !view.hasPodMatching(ref.namespace, OPTED_OUT)
  )
    return;
  const workloads = view.workloadsMatching(ref.namespace, selector, NO_PROXY_LIMIT + 1);
  const pods = view.podsMatching(ref.namespace, selector, NO_PROXY_LIMIT + 1);
  if (workloads.length > NO_PROXY_LIMIT || pods.length > NO_PROXY_LIMIT) return;
  const why = { optedOut: 0, gateway: 0, ambient: 0 };
  for (const item of [...workloads, ...pods]) {
    // A VM's proxy is its own (istio-agent on the machine): injection and ambient labels mean nothing there.
    if ('kind' in item && MESH_WORKLOAD_KINDS.has(item.kind) && !isGatewayByLabels(item.labels)) return;
    const optedOut = isOptedOut(item.labels);
    // Gateways istiod or istioctl deploy are labelled inject=false too; one the injector skips is no gateway.
    if (isGatewayByLabels(item.labels) || (item.gateway && !optedOut)) why.gateway++;
    else if (optedOut) why.optedOut++;
    else if (ambient && item.labels[INJECT_LABEL] !== 'true') why.ambient++;
    else return;
  }
  if (pods.some((p) => p.ambient)) return;
  const items = workloads.length + pods.length;
  if (items === 0) return;
  const names = [...workloads.map(describeWorkload), ...pods.map((p) => `pod ${p.name}`)];
  const shown = `${names.slice(0, EXAMPLES).join(', ')}${names.length > EXAMPLES ? `, and ${names.length - EXAMPLES} more` : ''}`;
  const reasons = [
    ...(why.optedOut > 0 ? [`labelled ${INJECT_LABEL}=false`] : []),
    ...(why.ambient > 0 ? [`in ambient namespace ${ref.namespace}, without ${INJECT_LABEL}=true`] : []),
    ...(why.gateway > 0 ? ['a gateway, to which istiod applies no Sidecar'] : []),
  ];
  const injectable = `give these pods a sidecar (label the pod template ${INJECT_LABEL}: "true"), or correct the selector`;
  out.push({
    rule: 'selector.no-proxy',
    severity: 'warning',
    path: 'spec.workloadSelector.labels',
    message: `${describeRef(ref)}: everything it selects runs without a sidecar proxy (${shown}: ${reasons.join(' or ')}), so this Sidecar has no effect`,
    hint:
      why.gateway === items
        ? `remove the Sidecar: ${GATEWAY_WAY_OUT}`
        : why.gateway > 0
          ? `remove the Sidecar, or ${injectable}; ${GATEWAY_WAY_OUT}`
          : `remove the Sidecar, or ${injectable}`,
  });
}

/** A Sidecar with a workload selector (not namespace-wide). */
export const isSelective = (s: SidecarInfo): s is SidecarInfo & PairedSelector =>
  s.selector !== null && s.selectorPairs !== null;

function managedNote(s: SidecarInfo): string {
  return `${isManaged(s) ? ' (generated by sidecar-guard as the namespace default)' : ''}${deletingNote(s)}`;
}

/** A Sidecar held in deletion by finalizers still counts (istiod uses it): say so, and that waiting is the way. */
function deletingNote(s: SidecarInfo): string {
  return s.deleting ? ' (being deleted, held by its finalizers: it counts until they let it go)' : '';
}

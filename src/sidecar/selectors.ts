// Workload selectors as Istio's analyzer reads them, and the four ways two
// of them can be said to pick the same pods.
import { isRecord } from '../util/json.js';

export type Labels = Readonly<Record<string, string>>;
/**
 * When two selectors conflict: `workloads` when identical or when an existing
 * pod or pod template (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job,
 * CronJob) matches both; `labels` when some pod could carry both label sets;
 * `pods` when an existing pod matches both (Istio's analyzer); `identical`
 * only when they are equal.
 */
export type OverlapMode = 'workloads' | 'labels' | 'pods' | 'identical';
export const OVERLAP_MODES: readonly OverlapMode[] = ['workloads', 'labels', 'pods', 'identical'];
/**
 * --overlap's default. `workloads` refuses every overlap that existing pods
 * and workloads (scaled to zero included) exhibit and nothing hypothetical;
 * the numbers behind the choice are in the README (Rules, "Which overlap mode").
 */
export const DEFAULT_OVERLAP: OverlapMode = 'workloads';

/**
 * The selector's labels, or null for a namespace-wide Sidecar: workloadSelector
 * absent, null, `{}` or with no labels, as Istio's analyzer counts it (IST0111).
 * Labels whose values are all strings (what the API server stores) are
 * returned as they are: this runs several times per decision, and a copy
 * cost a few hundred bytes each time. Anything else is copied without the
 * non-string values, into an object without prototype.
 */
export function selectorOf(sidecar: unknown): Labels | null {
  const spec = isRecord(sidecar) ? sidecar.spec : undefined;
  const ws = isRecord(spec) ? spec.workloadSelector : undefined;
  const labels = isRecord(ws) ? ws.labels : undefined;
  if (!isRecord(labels)) return null;
  const usable = usableAsIs(labels);
  if (usable !== undefined) return usable ? (labels as Labels) : null;
  const out: Record<string, string> = Object.create(null);
  let count = 0;
  for (const [k, v] of Object.entries(labels)) {
    if (typeof v === 'string') {
      out[k] = v;
      count++;
    }
  }
  return count > 0 ? out : null;
}

/**
 * Whether a JSON object can serve as a selector as it is: true when it has
 * labels and every value is a string, false when it has none, undefined when
 * it must be copied (a value that is not a string, or a prototype other than
 * a plain object's, whose enumerable properties a `for...in` would see).
 */
function usableAsIs(labels: Record<string, unknown>): boolean | undefined {
  const proto = Object.getPrototypeOf(labels);
  if (proto !== Object.prototype && proto !== null) return undefined;
  let count = 0;
  for (const k in labels) {
    if (typeof labels[k] !== 'string') return undefined;
    count++;
  }
  return count > 0;
}

/**
 * A selector as a flat, key-sorted [k1, v1, k2, v2, ...] array: comparing two
 * of them is a merge walk with no allocation, which matters when a CREATE is
 * compared with every Sidecar of a crowded namespace.
 */
export type SelectorPairs = readonly string[];

export function selectorPairs(labels: Labels): SelectorPairs {
  const keys = Object.keys(labels);
  if (keys.length > 1) keys.sort();
  const pairs: string[] = new Array(keys.length * 2);
  for (let i = 0; i < keys.length; i++) {
    pairs[2 * i] = keys[i]!;
    pairs[2 * i + 1] = labels[keys[i]!]!;
  }
  return pairs;
}

/** No key on which the two selectors require different values: some pod can carry both label sets. */
export function pairsCompatible(a: SelectorPairs, b: SelectorPairs): boolean {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ka = a[i]!;
    const kb = b[j]!;
    if (ka === kb) {
      if (a[i + 1] !== b[j + 1]) return false;
      i += 2;
      j += 2;
    } else if (ka < kb) i += 2;
    else j += 2;
  }
  return true;
}

export function pairsEqual(a: SelectorPairs, b: SelectorPairs): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function matches(selector: Labels, labels: Labels): boolean {
  for (const k in selector) if (labels[k] !== selector[k]) return false;
  return true;
}

/** The label set both selectors require, or null when some key needs two different values. */
export function mergeSelectors(a: Labels, b: Labels): Labels | null {
  const merged: Record<string, string> = Object.create(null);
  for (const k in a) merged[k] = a[k]!;
  for (const k in b) {
    const existing = merged[k];
    if (existing !== undefined && existing !== b[k]) return null;
    merged[k] = b[k]!;
  }
  return merged;
}

export function sameSelector(a: Labels, b: Labels): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => a[k] === b[k]);
}

/** `app=reviews,version=v2` with sorted keys, like Istio's analyzer prints selectors. */
export function selectorString(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

/** A selector with its key-sorted pairs, as the cluster view keeps it. */
export interface PairedSelector {
  readonly selector: Labels;
  readonly selectorPairs: SelectorPairs;
}

/**
 * The label set a pod needs to be picked by both selectors, or null when no
 * pod can be: in `identical` mode only equal selectors, otherwise any two
 * without a key on which they need different values. (`pods` and `workloads`
 * then also ask whether such a pod or template exists; that needs the
 * cluster, so callers do it.)
 */
export function sharedLabels(a: PairedSelector, b: PairedSelector, mode: OverlapMode): Labels | null {
  if (mode === 'identical') return pairsEqual(a.selectorPairs, b.selectorPairs) ? a.selector : null;
  return pairsCompatible(a.selectorPairs, b.selectorPairs) ? mergeSelectors(a.selector, b.selector) : null;
}

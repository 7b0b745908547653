// Istio revisions (canary upgrades run two istiods side by side, each with its
// own revision). An istiod reads an Istio config object only when the object
// has no istio.io/rev label or the label names its own revision (istiod's
// config client filters with pkg/config/model.go, LabelsInRevision). Two
// Sidecars labelled with different revisions are therefore never read by the
// same istiod, and cannot conflict: teams that keep one namespace default per
// revision during an upgrade do exactly that.
import { isRecord } from '../util/json.js';
import { metadataOf } from './object.js';
import type { Labels } from './selectors.js';

export const REVISION_LABEL = 'istio.io/rev';

/** The istio.io/rev label of an object's metadata, or undefined (read by every istiod). */
export function revisionOf(object: unknown): string | undefined {
  const labels = metadataOf(object).labels;
  const rev = isRecord(labels) ? labels[REVISION_LABEL] : undefined;
  return typeof rev === 'string' ? rev : undefined;
}

/** The istio.io/rev label of kept labels, or undefined. */
export const revisionIn = (labels: Labels): string | undefined => labels[REVISION_LABEL];

/** Whether some istiod reads both objects: one is unlabelled, or both name the same revision. */
export function sameIstiod(a: string | undefined, b: string | undefined): boolean {
  return a === undefined || b === undefined || a === b;
}

/** Whether the istiod of `istiod` (undefined: a revision no label names) reads an object labelled `label`. */
export function readsIt(istiod: string | undefined, label: string | undefined): boolean {
  return label === undefined || label === istiod;
}

/** The revision that reads both, for a message; '' when neither is labelled (every istiod reads both). */
export function sharedRevisionNote(a: string | undefined, b: string | undefined): string {
  const rev = a ?? b;
  if (rev === undefined) return '';
  // An empty label names no revision Helm installs: only an istiod run without one reads it (and everything).
  return rev === ''
    ? ' (both are read by an istiod without a revision: istio.io/rev is empty)'
    : ` (both are read by the istiod of revision "${rev}")`;
}

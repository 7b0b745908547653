// The label sidecar-guard stamps on the Sidecars it generates. The generator
// and the controller write it; the cross-object rules read it to phrase the
// way out when a generated default is in the way.
import type { SidecarInfo } from './view.js';

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'sidecar-guard';

export const isManaged = (s: Pick<SidecarInfo, 'labels'>): boolean => s.labels[MANAGED_BY_LABEL] === MANAGED_BY_VALUE;

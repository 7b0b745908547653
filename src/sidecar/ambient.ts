// Ambient mode as Istio's analyzers decide it (pkg/config/analysis/analyzers/
// util/in_mesh.go, PodInAmbientMode and NamespaceInAmbientMode): there is no
// sidecar proxy, so a Sidecar resource has no effect (IST0167).
import { REVISION_LABEL } from './revisions.js';
import type { Labels } from './selectors.js';

/** Set on a pod by Istio's CNI once its traffic is redirected to ztunnel. */
export const AMBIENT_REDIRECTION_ANNOTATION = 'ambient.istio.io/redirection';

/** A pod is ambient only with the CNI's redirection annotation (manifests rarely carry it). */
export function isAmbientPod(annotations: Labels | undefined): boolean {
  return annotations?.[AMBIENT_REDIRECTION_ANNOTATION] === 'enabled';
}

/**
 * A namespace labelled istio.io/dataplane-mode=ambient that is not also
 * opted into sidecar injection (istio-injection=enabled or a non-empty
 * istio.io/rev, which Istio takes to mean the namespace still runs sidecars).
 */
export function isAmbientNamespace(labels: Labels | undefined): boolean {
  if (labels?.['istio.io/dataplane-mode'] !== 'ambient') return false;
  return labels['istio-injection'] !== 'enabled' && !labels[REVISION_LABEL];
}

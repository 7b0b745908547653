// Gateway proxies injected into pods (Istio's gateway Helm chart, or any pod
// annotated inject.istio.io/templates: gateway) run `pilot-agent proxy
// router`: istiod gives a router the default scope of its namespace and never
// a selector Sidecar (pilot/pkg/model/push_context.go, doGetSidecarScope), so
// a Sidecar that selects only gateway pods configures nothing. Gateways that
// istiod deploys itself (Gateway API, waypoints) are labelled
// sidecar.istio.io/inject=false and need no annotation to be told apart.
import type { Labels } from './selectors.js';

/** The injector's template list: comma-separated names (pkg/kube/inject, selectTemplates). */
export const INJECT_TEMPLATES_ANNOTATION = 'inject.istio.io/templates';

/** Annotations (of a pod or a pod template) asking the injector for the gateway template. */
export function isGatewayInjected(annotations: Labels | undefined): boolean {
  const templates = annotations?.[INJECT_TEMPLATES_ANNOTATION];
  if (templates === undefined) return false;
  return templates.split(',').some((t) => t.trim() === 'gateway');
}

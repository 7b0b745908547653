// Gateways and waypoints run `pilot-agent proxy router` (or `waypoint`), and
// istiod applies no Sidecar to them, namespace-wide ones included: it gives
// them the scope of every Service and route exported to their namespace
// (pilot/pkg/model/push_context.go, doGetSidecarScope and
// DefaultSidecarScopeForGateway). A Sidecar that selects only gateways
// configures nothing. A pod or pod template is known as one when:
// - the injector is asked for the gateway template (Istio's gateway Helm
//   chart: inject.istio.io/templates: gateway, with sidecar.istio.io/inject
//   "true"); an annotation the store keeps as a flag;
// - istiod deployed it for a Gateway API Gateway or a waypoint (label
//   gateway.networking.k8s.io/gateway-name);
// - istioctl's (or the old gateways charts') ingress or egress gateway
//   (label operator.istio.io/component: IngressGateways / EgressGateways).
// The last two are labelled sidecar.istio.io/inject=false as well, which
// would otherwise read as a workload someone forgot to inject.
import type { Labels } from './selectors.js';

/** The injector's template list: comma-separated names, applied in order (pkg/kube/inject, selectTemplates). */
export const INJECT_TEMPLATES_ANNOTATION = 'inject.istio.io/templates';
const GATEWAY_NAME_LABEL = 'gateway.networking.k8s.io/gateway-name';
const OPERATOR_COMPONENT_LABEL = 'operator.istio.io/component';
const OPERATOR_GATEWAYS: ReadonlySet<string> = new Set(['IngressGateways', 'EgressGateways']);

/**
 * Annotations (of a pod or a pod template) asking the injector for the
 * gateway template as the last of the proxy templates: each template's
 * container arguments replace the previous one's, so `gateway,sidecar` runs
 * a sidecar.
 */
export function isGatewayInjected(annotations: Labels | undefined): boolean {
  const templates = annotations?.[INJECT_TEMPLATES_ANNOTATION];
  if (templates === undefined) return false;
  let last: string | undefined;
  for (const t of templates.split(',')) {
    const name = t.trim();
    if (name === 'gateway' || name === 'sidecar') last = name;
  }
  return last === 'gateway';
}

/** Labels that only gateways istiod or istioctl deploy carry. */
export function isGatewayByLabels(labels: Labels): boolean {
  if (labels[GATEWAY_NAME_LABEL] !== undefined) return true;
  const component = labels[OPERATOR_COMPONENT_LABEL];
  return component !== undefined && OPERATOR_GATEWAYS.has(component);
}

// Every rule id a finding can carry, in one list: Istio's rule table
// (rules/catalog.ts), the CRD schema and metadata rules kube-apiserver applies
// (schema/rules.ts), and the cross-object and scope rules. Each says what it
// checks, why (whose code the rule follows), and how to fix a finding. The
// `rules` and `explain` commands and the SARIF rule list are built from it.
import type { Severity } from './violation.js';
import { MORE_FINDINGS_RULE } from './violation.js';
import { SCHEMA_RULES, type SchemaRuleId } from './schema/rules.js';
import { RULES, type RuleId } from './rules/catalog.js';

export interface RuleEntry {
  readonly id: string;
  /** As reported by default; a grandfathered error is reported as a warning, --unknown-hosts sets host.unknown's. */
  readonly severity: Severity;
  /** What the rule checks, in one line. */
  readonly title: string;
  /** How to fix a finding, in one or two sentences. */
  readonly help: string;
  /** Whose rule this is: the Istio, Kubernetes or Kiali code it follows. */
  readonly source: string;
  /** Istio analyzer or Kiali code reported by `audit`, when there is one. */
  readonly code?: string;
  /** Rows Istio can never report (dead code, unreachable from JSON), or that only point at other rows. */
  readonly note?: string;
}

const ISTIO_WEBHOOK =
  "Istio's validating webhook (istiod): ValidateSidecar in pkg/config/validation/validation.go; the message is Istio's own.";
const ISTIO_DECODE =
  "Istio's webhook decodes the object (Go encoding/json into the Sidecar proto) before it validates; what it cannot decode it refuses.";

function istioSource(id: RuleId): string {
  if (id === 'J1') return ISTIO_DECODE;
  if (/^[TCD]\d*$/.test(id))
    return `${ISTIO_WEBHOOK} (${id.startsWith('T') ? 'validateTLSOptions / validateServerTLS' : 'ValidateConnectionPool and its duration checks'})`;
  return ISTIO_WEBHOOK;
}

function istioRules(): RuleEntry[] {
  return Object.values(RULES).map((r) => ({
    id: r.id,
    severity: r.severity,
    title: r.title,
    help: r.hint,
    source: istioSource(r.id as RuleId),
    ...(r.unreachable ? { note: `never reported: ${r.unreachable}` } : {}),
    ...(r.reportedAs
      ? { note: r.reportedAs.length > 0 ? `reported under ${r.reportedAs.join(', ')}` : 'never reported on its own' }
      : {}),
  }));
}

const SCHEMA_TITLES: Readonly<Record<SchemaRuleId, string>> = {
  'schema.type': 'a field of the wrong JSON type',
  'schema.required': 'a required field missing',
  'schema.enum': 'a value outside the allowed list',
  'schema.range': 'a number outside its allowed range',
  'schema.length': 'a string or list too long or too short',
  'schema.unknown-field': 'a field the Sidecar CRD does not declare',
  'schema.cel': "the CRD's CEL validation rules (x-kubernetes-validations)",
  'meta.name': 'an invalid object name',
  'meta.namespace': 'an invalid namespace name',
  'meta.labels': 'an invalid label key or value',
  'meta.annotations': 'an invalid annotation key, or annotations over 256 KiB',
  'object.kind': 'not a Sidecar of a served apiVersion',
  'object.size': 'an object larger than kube-apiserver stores',
  'schema.partial': 'a spec too large to list every schema error of',
};

function schemaSource(id: SchemaRuleId): string {
  if (id.startsWith('meta.'))
    return "kube-apiserver's ObjectMeta validation (k8s.io/apimachinery validation); the message is kube-apiserver's own.";
  if (id === 'object.size')
    return "kube-apiserver's and etcd's object size limits (about 1.5 MiB stored, 3 MiB per request).";
  if (id === 'schema.partial') return "sidecar-guard's bound on the work one object may cost (issue 14).";
  return "kube-apiserver's validation of the Sidecar CRD's OpenAPI v3 schema (the CRD Istio ships); the message is kube-apiserver's own.";
}

function schemaRules(): RuleEntry[] {
  return (Object.keys(SCHEMA_RULES) as SchemaRuleId[]).map((id) => ({
    id,
    severity: 'error' as const,
    title: SCHEMA_TITLES[id],
    help: SCHEMA_RULES[id].hint,
    source: schemaSource(id),
  }));
}

/** Rules over several objects, or about what a Sidecar does in its cluster. */
const CLUSTER_RULES: readonly RuleEntry[] = [
  {
    id: 'conflict.default',
    severity: 'error',
    title: 'a second namespace-wide Sidecar (no workloadSelector) in a namespace',
    help: 'Edit the existing namespace-wide Sidecar instead, or give this one spec.workloadSelector.labels.',
    source:
      "Istio's analyzer IST0111 (MultipleSidecarsWithoutSelectors, pkg/config/analysis/analyzers/sidecar/selector.go): istiod then uses one of them, which is undefined. Sidecars labelled with two different istio.io/rev revisions are read by different istiods and do not conflict.",
    code: 'IST0111',
  },
  {
    id: 'conflict.overlap',
    severity: 'error',
    title: 'two Sidecars whose workloadSelectors select the same pods',
    help: 'Make the selectors disjoint (a label value the other does not accept), or merge the two Sidecars into one.',
    source:
      "Istio's analyzer IST0110 (ConflictingSidecarWorkloadSelectors, pkg/config/analysis/analyzers/sidecar/selector.go); --overlap chooses how overlap is judged. Sidecars labelled with two different istio.io/rev revisions do not conflict.",
    code: 'IST0110',
  },
  {
    id: 'root.selector',
    severity: 'warning',
    title: 'a Sidecar with a workloadSelector in the root namespace',
    help: 'Remove the workloadSelector to make it the mesh-wide default, or move it to the namespace of the workloads it targets.',
    source:
      "Kiali's validation KIA1006 (a global default Sidecar should not have a workloadSelector); istiod applies it only to pods of the root namespace.",
    code: 'KIA1006',
  },
  {
    id: 'selector.no-match',
    severity: 'warning',
    title: 'a workloadSelector that matches no pod and no pod template',
    help: 'Check the workloadSelector labels against the labels of the pod templates they should select.',
    source:
      "Istio's analyzer IST0101 (ReferencedResourceNotFound for the selector, pkg/config/analysis/analyzers/sidecar/selector.go).",
    code: 'IST0101',
  },
  {
    id: 'selector.no-proxy',
    severity: 'warning',
    title:
      'a workloadSelector whose pods and pod templates all run without a sidecar proxy (sidecar.istio.io/inject=false, an ambient namespace, or gateways)',
    help: 'Remove the Sidecar, give these pods a sidecar (label the pod template sidecar.istio.io/inject: "true"), or correct the selector. istiod applies no Sidecar to a gateway: trim what one receives with exportTo on Services and routes.',
    source:
      'istio/istio#12193 ("Sidecars silently ignored"): a Sidecar configures sidecar proxies only; the injector skips pods labelled sidecar.istio.io/inject=false, an ambient namespace injects none unless a pod asks, and gateways and waypoints (the gateway injection template, Gateway API deployments, istioctl gateways) get the scope of everything exported to their namespace, never a Sidecar (push_context.go, doGetSidecarScope, DefaultSidecarScopeForGateway).',
  },
  {
    id: 'revision.no-istiod',
    severity: 'warning',
    title: 'an istio.io/rev label naming a revision no istiod runs',
    help: "Label the Sidecar with the revision whose istiod should read it, or remove istio.io/rev so every istiod reads it. istiod reads no config labelled with a revision tag's name.",
    source:
      "istiod's config client reads an object only when it has no istio.io/rev label or the label names istiod's own revision (pkg/config/model.go LabelsInRevision, called by crdclient's inRevision; tags are not consulted). Istio's istiod chart labels istiod's Deployment and pods app: istiod and istio.io/rev: <revision, default \"default\">, and sets its REVISION to the same.",
  },
  {
    id: 'revision.pod-mismatch',
    severity: 'warning',
    title: "an istio.io/rev label naming a revision none of the Sidecar's pods runs: their istiod does not read it",
    help: "Remove istio.io/rev so every istiod reads the Sidecar, label it with the pods' revision, or restart the pods so that the labelled revision injects them.",
    source:
      "istiod's config client reads an object only without an istio.io/rev label or with its own revision (pkg/config/model.go LabelsInRevision); a proxy gets its configuration from the istiod of the revision that injected it, which the injection template writes into the pod's istio.io/rev annotation (manifests/charts/istio-control/istio-discovery/files/injection-template.yaml).",
  },
  {
    id: 'ambient.ineffective',
    severity: 'warning',
    title: 'a Sidecar for pods in ambient mode, where it has no effect',
    help: 'Remove the Sidecar, or take the namespace or workload out of ambient mode (istio.io/dataplane-mode) if it needs sidecar proxies.',
    source:
      "Istio's analyzer IST0167 (IneffectivePolicy, pkg/config/analysis/analyzers/sidecar/selector.go and the ambient checks).",
    code: 'IST0167',
  },
  {
    id: 'host.unknown',
    severity: 'warning',
    title: 'an egress host with no Service, ServiceEntry or namespace behind it',
    help: 'Correct the host, or create the Service or ServiceEntry it names first (--unknown-hosts=off turns this check off, =deny refuses it).',
    source: "Kiali's validation KIA1004 (this host has no matching entry in the service registry).",
    code: 'KIA1004',
  },
  {
    id: 'host.port',
    severity: 'warning',
    title: 'an egress host on a listener whose port the Service it names does not have',
    help: 'Give the listener a port the Service has, or list the host in a listener without a port.',
    source:
      'pilot/pkg/model/sidecar.go (serviceMatchingListenerPort): through an egress listener with a port, istiod imports a Service only on a port of that number; without one the listener gives it no cluster, route or listener (istio/istio#16885).',
  },
  {
    id: 'egress.bypass',
    severity: 'warning',
    title:
      'a Sidecar without egress in place of a default that restricts egress (a selector Sidecar, or a namespace-wide one under the mesh-wide default)',
    help: 'Add an egress listener with the hosts these pods need: a Sidecar inherits nothing from the default.',
    source:
      'istio/istio#59376: istiod gives the pods of a Sidecar without egress every host, so they escape the default.',
  },
  {
    id: 'outbound.bypass',
    severity: 'warning',
    title:
      'a Sidecar without outboundTrafficPolicy in place of a REGISTRY_ONLY default (a selector Sidecar, or a namespace-wide one under the mesh-wide default)',
    help: 'Set outboundTrafficPolicy.mode: REGISTRY_ONLY on this Sidecar too: a Sidecar inherits nothing from the default.',
    source:
      "pilot/pkg/model/sidecar.go: a Sidecar without outboundTrafficPolicy gets the mesh's mode (MeshConfig, ALLOW_ANY by default), not its namespace default's.",
  },
  {
    id: 'host.excluded',
    severity: 'warning',
    title: 'an egress host that a ~ exclusion of the same listener removes whole (it imports nothing)',
    help: 'Remove the host, or narrow or remove the exclusion so that it no longer covers the host.',
    source:
      "pilot/pkg/model/sidecar.go (selectServices, hostClassification.Excluded): istiod tests a Service against the listener's exclusions before its imports.",
  },
  {
    id: 'selector.empty',
    severity: 'warning',
    title: 'workloadSelector: {} (no labels)',
    help: 'Remove spec.workloadSelector to make it the namespace default, or give it labels.',
    source:
      "Istio's analyzers count it as namespace-wide while istiod sorts it with the selector Sidecars (pkg/model/sidecar.go), where it matches every pod of the namespace.",
  },
  {
    id: 'selector.shadowed',
    severity: 'warning',
    title: 'a selector Sidecar beside an older workloadSelector: {}, which takes every pod of the namespace first',
    help: 'Give the other Sidecar workloadSelector labels, or remove its workloadSelector to make it the namespace default.',
    source:
      "istiod tries a namespace's Sidecars that have a workloadSelector field oldest first (pilot/pkg/model/push_context.go, doGetSidecarScope over sortConfigByCreationTime), and an empty selector matches every pod; Istio's analyzer counts {} as namespace-wide and reports no overlap. Found by the SidecarScope differential (docs/conformance.md, Scope claims).",
  },
  {
    id: 'outbound.mode-empty',
    severity: 'warning',
    title: 'outboundTrafficPolicy without a mode',
    help: 'Set outboundTrafficPolicy.mode to REGISTRY_ONLY or ALLOW_ANY, or remove outboundTrafficPolicy to use the mesh setting.',
    source: "Kiali's validation KIA1007; istiod reads a missing mode as REGISTRY_ONLY whatever MeshConfig says.",
    code: 'KIA1007',
  },
  {
    id: 'istio.unknown-field',
    severity: 'error',
    title: 'a top-level field a Sidecar does not have',
    help: 'Remove the field; a Sidecar has only apiVersion, kind, metadata, spec and status.',
    source: "Istio's webhook decodes the whole object strictly and refuses unknown top-level fields.",
  },
  {
    id: 'deprecated.egress-proxy',
    severity: 'warning',
    title: "outboundTrafficPolicy.egressProxy, which Istio's analyzer calls deprecated and ignored (audit only)",
    help: 'Route unknown traffic through an egress gateway (a ServiceEntry and VirtualService) rather than egressProxy, which the analyzer flags.',
    source:
      "Istio's analyzer IST0002 (Deprecated: OutboundTrafficPolicy.EgressProxy ignored), reproduced for parity. istiod itself (eed52eb, pilot/pkg/networking/core listener_builder.go and httproute.go) still sends ALLOW_ANY's unknown traffic to the egressProxy, so admission does not warn that it is ignored.",
    code: 'IST0002',
  },
  {
    id: 'yaml.parse',
    severity: 'error',
    title: 'a manifest document that is not valid YAML or JSON (check only)',
    help: 'Fix the YAML at the line reported; kubectl apply would refuse the file as well.',
    source: 'kubectl reads manifests with sigs.k8s.io/yaml (YAML 1.1); sidecar-guard reads them the same way.',
  },
  {
    id: MORE_FINDINGS_RULE,
    severity: 'error',
    title: 'a summary of findings left out ("… and N more")',
    help: 'Fix the findings listed first; the summary names the rules of the rest.',
    source: "sidecar-guard's bound on what one object may report (issue 14).",
  },
];

export const RULE_REGISTRY: readonly RuleEntry[] = Object.freeze([...istioRules(), ...schemaRules(), ...CLUSTER_RULES]);

const BY_ID = new Map(RULE_REGISTRY.map((r) => [r.id.toLowerCase(), r]));

/** A rule by its id (case-insensitive: h1 finds H1). */
export function ruleById(id: string): RuleEntry | undefined {
  return BY_ID.get(id.toLowerCase());
}

/** Each analyzer or Kiali code is one rule's (a unit test holds it), so `audit`'s `[IST0111]` leads to its rule. */
const BY_CODE = new Map(RULE_REGISTRY.flatMap((r) => (r.code ? [[r.code.toLowerCase(), r] as const] : [])));

/** A rule by its id, else by the Istio analyzer or Kiali code `audit` prints first (IST0111 finds conflict.default). */
export function ruleByIdOrCode(idOrCode: string): RuleEntry | undefined {
  return ruleById(idOrCode) ?? BY_CODE.get(idOrCode.toLowerCase());
}

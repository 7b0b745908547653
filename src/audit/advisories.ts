// audit's findings beyond Istio's analyzers, from the same rule functions
// admission runs: egress hosts that match nothing in the registry
// (host.unknown, Kiali's KIA1004), selector Sidecars that bypass a
// restricting default (egress.bypass, outbound.bypass), selector Sidecars
// whose pods run no sidecar proxy (selector.no-proxy), Sidecars labelled with
// a revision no istiod runs (revision.no-istiod) or none of their pods runs
// (revision.pod-mismatch), `workloadSelector: {}`
// (selector.empty) and an outboundTrafficPolicy without a mode
// (outbound.mode-empty, KIA1007). They carry Kiali's code where Kiali has
// one, never an Istio code, so a comparison with Istio's analyzers can leave
// them out by code.
import { type IstiodsSeen, noProxyRule, revisionRules } from '../sidecar/cross-rules.js';
import type { ClusterView } from '../sidecar/view.js';
import { hostRules, sharedSuggestions, type UnknownHosts } from '../sidecar/host-rules.js';
import { describeRef, refOf } from '../sidecar/object.js';
import { scopeRules } from '../sidecar/scope-rules.js';
import type { Violation } from '../sidecar/violation.js';
import type { AuditFinding } from './finding.js';

/** Kiali's validation codes for the rules that have one. */
export const KIALI_CODES: Readonly<Record<string, string>> = {
  'host.unknown': 'KIA1004',
  'root.selector': 'KIA1006',
  'outbound.mode-empty': 'KIA1007',
};

export interface AdvisoryOptions {
  rootNamespace: string;
  unknownHosts?: UnknownHosts;
  clusterDomain?: string;
}

/**
 * Admission's text as an audit line: the line shows the Sidecar and the code
 * already (admission's warnings name both because they stand alone), and
 * ends with a full stop like Istio's messages.
 */
function auditText(message: string, subject: string, code: string | null): string {
  let text = message.startsWith(`${subject}: `) ? message.slice(subject.length + 2) : message;
  if (code) text = text.replace(` (${code})`, '');
  text = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.?!]$/.test(text) ? text : `${text}.`;
}

/**
 * `registry` holds the Sidecars, Namespaces, Services and ServiceEntries of
 * every namespace (an egress host may name any), `workloads` the analysed
 * pods and pod templates (selector.no-proxy; istiod's own for revision.no-istiod).
 */
export function advisories(
  sidecars: readonly unknown[],
  registry: ClusterView,
  workloads: ClusterView,
  options: AdvisoryOptions,
): AuditFinding[] {
  const out: AuditFinding[] = [];
  const istiods: IstiodsSeen = { byNamespace: new Map() };
  // The registry does not change during a run: every Sidecar's host suggestions share one search of it.
  const hostOptions = { ...options, shared: sharedSuggestions() };
  for (const object of sidecars) {
    const ref = refOf(object, 'default');
    const findings: Violation[] = [
      ...noProxyRule({ object, ref }, workloads),
      ...revisionRules({ object, ref }, workloads, options.rootNamespace, istiods),
      ...scopeRules({ object, ref }, registry, options),
      ...hostRules({ object, ref }, registry, hostOptions),
    ];
    for (const v of findings) {
      const code = KIALI_CODES[v.rule] ?? null;
      out.push({
        code,
        rule: v.rule,
        severity: v.severity,
        kind: 'Sidecar',
        namespace: ref.namespace,
        name: ref.name,
        message: auditText(v.message, describeRef(ref), code),
      });
    }
  }
  return out;
}

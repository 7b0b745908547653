// O1–O5d: outboundTrafficPolicy and its egressProxy destination.
import { isDNS1123Label } from '../go/labels.js';
import type { EgressProxy, OutboundTrafficPolicy } from './decode.js';
import { OUTBOUND_MODE } from './decode.js';
import { fqdnError, wildcardDomainError } from './domain.js';
import type { Report } from './report.js';
import { portRangeError } from './shared.js';

const PATH = 'spec.outboundTrafficPolicy';
const PROXY_PATH = `${PATH}.egressProxy`;

export function checkOutboundTrafficPolicy(policy: OutboundTrafficPolicy | undefined, report: Report): void {
  if (!policy) return;
  if (policy.mode === OUTBOUND_MODE.ALLOW_ANY_DYNAMIC_DNS) {
    report.add(
      'O1',
      `${PATH}.mode`,
      'sidecar: ALLOW_ANY_DYNAMIC_DNS mode is only supported in MeshConfig, not in Sidecar resource',
    );
    return;
  }
  const proxy = policy.egressProxy;
  if (!proxy) return; // any other mode number is accepted without an egress proxy
  if (policy.mode !== OUTBOUND_MODE.ALLOW_ANY) {
    report.add('O2', PROXY_PATH, 'sidecar: egress_proxy must be set only with ALLOW_ANY outbound_traffic_policy mode');
    return;
  }
  const hostError = fqdnError(proxy.host);
  if (hostError !== undefined) report.add('O3', `${PROXY_PATH}.host`, hostError);
  if (!proxy.port) {
    report.add('O4', `${PROXY_PATH}.port`, 'sidecar: egress_proxy port must be non-nil');
    return;
  }
  checkDestination(proxy, proxy.port.number, report);
}

/** O5a–O5d: Istio's validateDestination, so host errors can repeat O3's with other wording. */
function checkDestination(proxy: EgressProxy, portNumber: number, report: Report): void {
  if (proxy.host === '*') {
    report.add('O5a', `${PROXY_PATH}.host`, `invalid destination host ${proxy.host}`);
  } else {
    const error = wildcardDomainError(proxy.host);
    if (error !== undefined) report.add('O5b', `${PROXY_PATH}.host`, error);
  }
  if (proxy.subset !== '' && !isDNS1123Label(proxy.subset)) {
    report.add('O5c', `${PROXY_PATH}.subset`, `subset name is invalid: ${proxy.subset}`);
  }
  const rangeError = portRangeError(portNumber);
  if (rangeError !== undefined) report.add('O5d', `${PROXY_PATH}.port.number`, rangeError);
}

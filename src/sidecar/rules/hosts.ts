// E15, H1–H6 and W1–W3: the hosts of one egress listener.
import { isDNS1123Label } from '../go/labels.js';
import { isIPAddress } from '../go/netip.js';
import { goQuote } from '../go/quote.js';
import { utf8Length } from '../go/strings.js';
import { wildcardDomainError } from './domain.js';
import type { Report } from './report.js';

/** `path` is the listener, e.g. "spec.egress[1]". */
export function checkEgressHosts(hosts: readonly string[], path: string, namespace: string, report: Report): void {
  if (hosts.length === 0) {
    report.add('E15', `${path}.hosts`, 'sidecar: egress listener must contain at least one host');
    return;
  }
  // Duplicate tracking is per listener: namespace -> dns names seen.
  const seen = new Map<string, Set<string>>();
  hosts.forEach((host, j) => {
    const hostPath = `${path}.hosts[${j}]`;
    trackDuplicate(host, hostPath, namespace, seen, report);
    checkHost(host, hostPath, report);
  });
  if (seen.get('*')?.has('*') && seen.size !== 1) {
    report.add('W3', `${path}.hosts`, '`*/*` host select all resources, no other hosts can be added');
  }
}

/** W1/W2. Exclusions ("~ns/...") are not tracked; "." means this object's namespace. */
function trackDuplicate(
  host: string,
  path: string,
  namespace: string,
  seen: Map<string, Set<string>>,
  report: Report,
): void {
  const slash = host.indexOf('/');
  if (slash < 0) return;
  const written = host.slice(0, slash);
  if (written.startsWith('~')) return;
  const dns = host.slice(slash + 1);
  const ns = written === '.' ? namespace : written;
  let names = seen.get(ns);
  if (!names) {
    names = new Set();
    seen.set(ns, names);
  }
  if (dns !== '*') {
    if (names.has(dns) || names.has('*')) report.add('W1', path, `duplicated egress host: ${host}`);
  } else if (names.size > 0) {
    report.add('W2', path, `duplicated egress host: ${host}`);
  }
  names.add(dns);
}

/** H1–H6: "namespace/dnsName" as Istio's ValidateNamespaceSlashWildcardHostname sees it. */
function checkHost(host: string, path: string, report: Report): void {
  const slash = host.indexOf('/');
  if (slash < 0) {
    report.add('H1', path, 'host must be of form namespace/dnsName');
    return;
  }
  const ns = host.slice(0, slash);
  const dns = host.slice(slash + 1);
  if (ns === '' || dns === '') {
    report.add('H2', path, 'config namespace and dnsName in host entry cannot be empty');
  }
  // One leading '~' marks an exclusion; what follows is checked like a namespace.
  const bare = ns.startsWith('~') ? ns.slice(1) : ns;
  if (bare !== '' && bare !== '*' && bare !== '.' && !isDNS1123Label(bare)) {
    report.add('H3', path, `invalid namespace value ${goQuote(ns)} in sidecar`);
  }
  if (dns !== '*' && !dns.includes('.')) report.add('H4', path, 'short names (non FQDN) are not allowed');
  const domainError = wildcardDomainError(dns);
  if (domainError !== undefined) {
    // Istio appends the error once unconditionally and once more unless the
    // name is an IP literal, so most domain errors appear twice.
    report.add('H5', path, domainError);
    if (!isIPAddress(dns)) report.add('H5', path, domainError);
  }
  if (dns.includes('*') && utf8Length(dns) !== 1 && !dns.startsWith('*.')) {
    report.add('H6', path, `partial wildcard ${goQuote(dns)} not allowed`);
  }
}

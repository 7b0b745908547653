// E15, H1–H6 and W1–W3: the hosts of one egress listener.
//
// Every host of every Sidecar passes here and nearly all are fine, so a host
// is checked where it stands: its parts are ranges around the first '/', not
// slices, and a finding's path and message are only built when it is
// reported.
import { isDNS1123LabelAt } from '../go/labels.js';
import { isIPAddress } from '../go/netip.js';
import { goQuote } from '../go/quote.js';
import type { RuleId } from './catalog.js';
import { wildcardDomainErrorFrom } from './domain.js';
import type { Report } from './report.js';
import { egressPath } from './shared.js';

const STAR = 0x2a;
const DOT = 0x2e;
const TILDE = 0x7e;

/**
 * A listener of up to 16 hosts of up to 4,096 characters in all (any real one)
 * finds its duplicates by comparing each host with the ones before it, with
 * no maps to allocate; other lists use maps, so 800,000 hosts, or 16 hosts
 * of 100 KB each, still cost linear time.
 */
const FEW_HOSTS = 16;
const FEW_HOSTS_CHARACTERS = 4096;

function isShortList(hosts: readonly string[]): boolean {
  if (hosts.length > FEW_HOSTS) return false;
  let characters = 0;
  for (const host of hosts) characters += host.length;
  return characters <= FEW_HOSTS_CHARACTERS;
}

const hostPath = (i: number, j: number): string => egressPath(i, `.hosts[${j}]`);

/** The hosts of listener `i`. */
export function checkEgressHosts(hosts: readonly string[], i: number, namespace: string, report: Report): void {
  if (hosts.length === 0) {
    report.add('E15', egressPath(i, '.hosts'), 'sidecar: egress listener must contain at least one host');
    return;
  }
  // Duplicate tracking is per listener: namespace -> dns names seen.
  const seen = isShortList(hosts) ? undefined : new Map<string, Set<string>>();
  for (let j = 0; j < hosts.length; j++) {
    const host = hosts[j]!;
    const duplicate = seen ? trackDuplicate(host, namespace, seen) : duplicateOfEarlier(hosts, j, namespace);
    if (duplicate) report.add(duplicate, hostPath(i, j), `duplicated egress host: ${host}`);
    checkHost(host, i, j, report);
  }
  const selectsAllAndMore = seen ? seen.get('*')?.has('*') && seen.size !== 1 : hasAllAndMore(hosts, namespace);
  if (selectsAllAndMore) {
    report.add('W3', egressPath(i, '.hosts'), '`*/*` host select all resources, no other hosts can be added');
  }
}

// ---- W1–W3 ---------------------------------------------------------------
// Exclusions ("~ns/...") and hosts without '/' are not tracked; "." means this
// object's namespace. A host repeats an earlier one of the same namespace
// (W1) when that one has the same name or is "ns/*"; "ns/*" itself repeats
// any earlier host of its namespace (W2). W3: "*/*" next to another namespace.

/** W1/W2 with maps: the namespaces and names seen so far. */
function trackDuplicate(host: string, namespace: string, seen: Map<string, Set<string>>): RuleId | undefined {
  const slash = host.indexOf('/');
  if (!isTracked(host, slash)) return undefined;
  const written = host.slice(0, slash);
  const dns = host.slice(slash + 1);
  const ns = written === '.' ? namespace : written;
  let names = seen.get(ns);
  if (!names) {
    names = new Set();
    seen.set(ns, names);
  }
  let duplicate: RuleId | undefined;
  if (dns !== '*') {
    if (names.has(dns) || names.has('*')) duplicate = 'W1';
  } else if (names.size > 0) {
    duplicate = 'W2';
  }
  names.add(dns);
  return duplicate;
}

/** W1/W2 by comparing hosts[j] with the hosts before it. */
function duplicateOfEarlier(hosts: readonly string[], j: number, namespace: string): RuleId | undefined {
  const host = hosts[j]!;
  const slash = host.indexOf('/');
  if (!isTracked(host, slash)) return undefined;
  for (let k = 0; k < j; k++) {
    const earlier = hosts[k]!;
    const earlierSlash = earlier.indexOf('/');
    if (!isTracked(earlier, earlierSlash) || !sameNamespace(host, slash, earlier, earlierSlash, namespace)) continue;
    if (isAllNames(host, slash)) return 'W2';
    if (isAllNames(earlier, earlierSlash) || sameName(host, slash, earlier, earlierSlash)) return 'W1';
  }
  return undefined;
}

/** W3 by looking at all hosts: a tracked "*\/*" and a tracked host of another namespace. */
function hasAllAndMore(hosts: readonly string[], namespace: string): boolean {
  let all = false;
  let other = false;
  for (const host of hosts) {
    const slash = host.indexOf('/');
    if (!isTracked(host, slash)) continue;
    const inAll = isAllNamespaces(host, slash, namespace);
    if (inAll && isAllNames(host, slash)) all = true;
    if (!inAll) other = true;
  }
  return all && other;
}

function isTracked(host: string, slash: number): boolean {
  return slash >= 0 && host.charCodeAt(0) !== TILDE;
}

/** The name part is "*". */
function isAllNames(host: string, slash: number): boolean {
  return host.length === slash + 2 && host.charCodeAt(slash + 1) === STAR;
}

/** The namespace part, "." read as `namespace`, is "*". */
function isAllNamespaces(host: string, slash: number, namespace: string): boolean {
  if (isThisNamespace(host, slash)) return namespace === '*';
  return slash === 1 && host.charCodeAt(0) === STAR;
}

function isThisNamespace(host: string, slash: number): boolean {
  return slash === 1 && host.charCodeAt(0) === DOT;
}

/** The namespace parts of two hosts are the same, "." read as `namespace`. */
function sameNamespace(a: string, aSlash: number, b: string, bSlash: number, namespace: string): boolean {
  const aThis = isThisNamespace(a, aSlash);
  const bThis = isThisNamespace(b, bSlash);
  if (aThis && bThis) return true;
  if (aThis) return sameText(namespace, 0, namespace.length, b, 0, bSlash);
  if (bThis) return sameText(a, 0, aSlash, namespace, 0, namespace.length);
  return sameText(a, 0, aSlash, b, 0, bSlash);
}

/** The name parts (after the first '/') of two hosts are the same. */
function sameName(a: string, aSlash: number, b: string, bSlash: number): boolean {
  return sameText(a, aSlash + 1, a.length, b, bSlash + 1, b.length);
}

/** a[aStart, aEnd) === b[bStart, bEnd), compared in place. */
function sameText(a: string, aStart: number, aEnd: number, b: string, bStart: number, bEnd: number): boolean {
  const length = aEnd - aStart;
  if (length !== bEnd - bStart) return false;
  for (let i = 0; i < length; i++) if (a.charCodeAt(aStart + i) !== b.charCodeAt(bStart + i)) return false;
  return true;
}

// ---- H1–H6 ---------------------------------------------------------------

/** H1–H6: "namespace/dnsName" as Istio's ValidateNamespaceSlashWildcardHostname sees it. */
function checkHost(host: string, i: number, j: number, report: Report): void {
  const slash = host.indexOf('/');
  if (slash < 0) {
    report.add('H1', hostPath(i, j), 'host must be of form namespace/dnsName');
    return;
  }
  const dns = slash + 1; // where the dnsName starts; it runs to the end
  if (slash === 0 || dns === host.length) {
    report.add('H2', hostPath(i, j), 'config namespace and dnsName in host entry cannot be empty');
  }
  if (!isNamespaceValue(host, slash)) {
    report.add('H3', hostPath(i, j), `invalid namespace value ${goQuote(host.slice(0, slash))} in sidecar`);
  }
  const allNames = isAllNames(host, slash);
  if (!allNames && host.indexOf('.', dns) < 0) {
    report.add('H4', hostPath(i, j), 'short names (non FQDN) are not allowed');
  }
  const domainError = wildcardDomainErrorFrom(host, dns);
  if (domainError !== undefined) {
    // Istio appends the error once unconditionally and once more unless the
    // name is an IP literal, so most domain errors appear twice.
    report.add('H5', hostPath(i, j), domainError);
    if (!isIPAddress(host.slice(dns))) report.add('H5', hostPath(i, j), domainError);
  }
  // Istio: a '*' in a name longer than one byte that does not start with "*.";
  // a name with a '*' in it is one byte long only when it is "*".
  if (host.indexOf('*', dns) >= 0 && !allNames && !host.startsWith('*.', dns)) {
    report.add('H6', hostPath(i, j), `partial wildcard ${goQuote(host.slice(dns))} not allowed`);
  }
}

/**
 * H3's namespace part before `slash`: "", "*", "." or a DNS label, after one
 * leading '~' (an exclusion) is set aside.
 */
function isNamespaceValue(host: string, slash: number): boolean {
  const start = host.charCodeAt(0) === TILDE ? 1 : 0;
  const length = slash - start;
  if (length === 0) return true;
  if (length === 1 && (host.charCodeAt(start) === STAR || host.charCodeAt(start) === DOT)) return true;
  return isDNS1123LabelAt(host, start, slash);
}

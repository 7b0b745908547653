// Istio's domain-name checks (ValidateWildcardDomain, ValidateFQDN and their
// helpers), returning Istio's message or undefined. Lengths are Go byte
// lengths; quoting is Go's %q.
//
// Every egress host goes through here, and nearly all of them are fine, so
// the checks walk the name where it stands (from an offset, label by label,
// without split or slices) and a message, with the pieces it quotes, is only
// built once something is wrong.
import { isDNS1123LabelAt, isWildcardDNS1123LabelAt } from '../go/labels.js';
import { goQuote } from '../go/quote.js';
import { isAtoiInteger } from '../go/strconv.js';
import { utf8LengthUpTo } from '../go/strings.js';

const MAX_DOMAIN_LENGTH = 255;

/** The length limits on name.slice(from). */
function lengthError(name: string, from: number): string | undefined {
  // A UTF-16 unit is 1 to 3 UTF-8 bytes, so a name of up to 85 units (nearly
  // all of them) is within the limit without counting.
  const units = name.length - from;
  if (units > 0 && units * 3 <= MAX_DOMAIN_LENGTH) return undefined;
  const length = utf8LengthUpTo(name, from, MAX_DOMAIN_LENGTH);
  if (length > MAX_DOMAIN_LENGTH) {
    return `domain name ${goQuote(name.slice(from))} too long (max ${MAX_DOMAIN_LENGTH})`;
  }
  if (length === 0) return 'empty domain name not allowed';
  return undefined;
}

/**
 * Each dot-separated label must be a DNS-1123 label, a trailing dot is fine,
 * and the last label must not parse as an integer (Go's strconv.Atoi, so
 * "+1" and "-1" count as numeric and an out-of-range number does not).
 */
export function dnsLabelsError(domain: string): string | undefined {
  return dnsLabelsErrorFrom(domain, 0);
}

/** dnsLabelsError(name.slice(from)). */
function dnsLabelsErrorFrom(name: string, from: number): string | undefined {
  const end = name.length;
  const topLevel = Math.max(name.lastIndexOf('.') + 1, from);
  if (isAtoiInteger(name, topLevel, end)) {
    return `domain name ${goQuote(name.slice(from))} invalid (top level domain ${goQuote(name.slice(topLevel))} cannot be all-numeric)`;
  }
  for (let start = from; ; ) {
    const dot = name.indexOf('.', start);
    const last = dot < 0;
    const stop = last ? end : dot;
    if (last && start === stop) return undefined; // an empty last label: the trailing dot of an FQDN
    if (!isDNS1123LabelAt(name, start, stop)) {
      return `domain name ${goQuote(name.slice(from))} invalid (label ${goQuote(name.slice(start, stop))} invalid)`;
    }
    if (last) return undefined;
    start = dot + 1;
  }
}

/** A domain whose first label may be a wildcard ("*", "*.foo.com"); the rest is checked on its own. */
export function wildcardDomainError(domain: string): string | undefined {
  return wildcardDomainErrorFrom(domain, 0);
}

/** wildcardDomainError(name.slice(from)): an egress host's name after its "namespace/". */
export function wildcardDomainErrorFrom(name: string, from: number): string | undefined {
  const tooLongOrEmpty = lengthError(name, from);
  if (tooLongOrEmpty !== undefined) return tooLongOrEmpty;
  const dot = name.indexOf('.', from);
  const firstEnd = dot < 0 ? name.length : dot;
  if (!isWildcardDNS1123LabelAt(name, from, firstEnd)) {
    return `domain name ${goQuote(name.slice(from))} invalid (label ${goQuote(name.slice(from, firstEnd))} invalid)`;
  }
  return dot < 0 ? undefined : dnsLabelsErrorFrom(name, dot + 1);
}

/** A plain DNS name without wildcards; single-label names are fine. */
export function fqdnError(name: string): string | undefined {
  return lengthError(name, 0) ?? dnsLabelsErrorFrom(name, 0);
}

// Istio's domain-name checks (ValidateWildcardDomain, ValidateFQDN and their
// helpers), returning Istio's message or undefined. Lengths are Go byte
// lengths; quoting is Go's %q.
import { isDNS1123Label, isWildcardDNS1123Label } from '../go/labels.js';
import { goQuote } from '../go/quote.js';
import { atoi } from '../go/strconv.js';
import { utf8Length } from '../go/strings.js';

const MAX_DOMAIN_LENGTH = 255;

function lengthError(name: string): string | undefined {
  const length = utf8Length(name);
  if (length > MAX_DOMAIN_LENGTH) return `domain name ${goQuote(name)} too long (max ${MAX_DOMAIN_LENGTH})`;
  if (length === 0) return 'empty domain name not allowed';
  return undefined;
}

/**
 * Each dot-separated label must be a DNS-1123 label, a trailing dot is fine,
 * and the last label must not parse as an integer (Go's strconv.Atoi, so
 * "+1" and "-1" count as numeric and an out-of-range number does not).
 */
export function dnsLabelsError(domain: string): string | undefined {
  const labels = domain.split('.');
  const topLevel = labels[labels.length - 1] ?? '';
  if (atoi(topLevel).ok) {
    return `domain name ${goQuote(domain)} invalid (top level domain ${goQuote(topLevel)} cannot be all-numeric)`;
  }
  for (const [i, label] of labels.entries()) {
    if (i === labels.length - 1 && label === '') return undefined;
    if (!isDNS1123Label(label)) return `domain name ${goQuote(domain)} invalid (label ${goQuote(label)} invalid)`;
  }
  return undefined;
}

/** A domain whose first label may be a wildcard ("*", "*.foo.com"); the rest is checked on its own. */
export function wildcardDomainError(domain: string): string | undefined {
  const tooLongOrEmpty = lengthError(domain);
  if (tooLongOrEmpty !== undefined) return tooLongOrEmpty;
  const dot = domain.indexOf('.');
  const first = dot < 0 ? domain : domain.slice(0, dot);
  if (!isWildcardDNS1123Label(first)) return `domain name ${goQuote(domain)} invalid (label ${goQuote(first)} invalid)`;
  return dot < 0 ? undefined : dnsLabelsError(domain.slice(dot + 1));
}

/** A plain DNS name without wildcards; single-label names are fine. */
export function fqdnError(name: string): string | undefined {
  return lengthError(name) ?? dnsLabelsError(name);
}

// Istio's DNS label checks (pkg/config/labels). Unlike Kubernetes' own
// DNS-1123 check, Istio's pattern allows uppercase letters.

const DNS1123_LABEL = /^[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?$/;
const WILDCARD_DNS1123_LABEL = /^(?:\*|(?:\*|\*-)?[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?)$/;
const MAX_LABEL_LENGTH = 63;

/** At most 63 characters of letters, digits and inner hyphens. */
export function isDNS1123Label(value: string): boolean {
  return value.length <= MAX_LABEL_LENGTH && DNS1123_LABEL.test(value);
}

/** A DNS-1123 label, optionally prefixed by `*` or `*-`, or `*` alone. */
export function isWildcardDNS1123Label(value: string): boolean {
  return value.length <= MAX_LABEL_LENGTH && WILDCARD_DNS1123_LABEL.test(value);
}

// Istio's DNS label checks (pkg/config/labels). Unlike Kubernetes' own
// DNS-1123 check, Istio's pattern allows uppercase letters:
//   label:          [a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?, at most 63 characters
//   wildcard label: * alone, or a label optionally prefixed by * or *-
// Written as character scans over a range of a string, so a host name's
// labels are checked where they stand, without cutting them out first.

const MAX_LABEL_LENGTH = 63;
const HYPHEN = 0x2d;
const STAR = 0x2a;

function isLetterOrDigit(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** At most 63 characters of letters, digits and inner hyphens. */
export function isDNS1123Label(value: string): boolean {
  return isDNS1123LabelAt(value, 0, value.length);
}

/** isDNS1123Label on value[start, end). */
export function isDNS1123LabelAt(value: string, start: number, end: number): boolean {
  const length = end - start;
  if (length < 1 || length > MAX_LABEL_LENGTH) return false;
  if (!isLetterOrDigit(value.charCodeAt(start)) || !isLetterOrDigit(value.charCodeAt(end - 1))) return false;
  for (let i = start + 1; i < end - 1; i++) {
    const c = value.charCodeAt(i);
    if (c !== HYPHEN && !isLetterOrDigit(c)) return false;
  }
  return true;
}

/** A DNS-1123 label, optionally prefixed by `*` or `*-`, or `*` alone. */
export function isWildcardDNS1123Label(value: string): boolean {
  return isWildcardDNS1123LabelAt(value, 0, value.length);
}

/** isWildcardDNS1123Label on value[start, end); the 63 characters include the prefix. */
export function isWildcardDNS1123LabelAt(value: string, start: number, end: number): boolean {
  const length = end - start;
  if (length < 1 || length > MAX_LABEL_LENGTH) return false;
  if (value.charCodeAt(start) !== STAR) return isDNS1123LabelAt(value, start, end);
  if (length === 1) return true;
  // A label never starts with '-', so "*-" is the prefix whenever it is there.
  const labelStart = value.charCodeAt(start + 1) === HYPHEN ? start + 2 : start + 1;
  return isDNS1123LabelAt(value, labelStart, end);
}

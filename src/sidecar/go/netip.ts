// Which strings Go's netip.ParseAddr accepts. Istio uses it for `bind`
// addresses and to let IP literals through the egress host check.
//
// Accepted: dotted-quad IPv4 without leading zeros; every IPv6 form (with
// "::", with an embedded IPv4 tail, with a non-empty "%zone"). Rejected:
// CIDR prefixes, brackets, ports, host names, "010.0.0.1", "".

/** True when netip.ParseAddr(s) succeeds. */
export function isIPAddress(s: string): boolean {
  // The first '.', ':' or '%' decides how Go parses the whole string.
  const at = s.search(/[.:%]/);
  if (at < 0) return false;
  if (s[at] === '.') return parseIPv4(s, 0, s.length);
  if (s[at] === ':') return parseIPv6(s);
  return false; // '%': a zone with no IPv6 address before it
}

/** Exactly four decimal fields, each 0..255, no leading zeros, nothing else. */
function parseIPv4(s: string, start: number, end: number): boolean {
  let fields = 0;
  let value = 0;
  let digits = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      if (digits === 1 && value === 0) return false; // leading zero
      value = value * 10 + (c - 0x30);
      digits++;
      if (value > 255) return false;
    } else if (c === 0x2e) {
      if (i === start || i === end - 1 || s.charCodeAt(i - 1) === 0x2e) return false;
      if (fields === 3) return false; // too long
      fields++;
      value = 0;
      digits = 0;
    } else {
      return false;
    }
  }
  return fields === 3;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

function parseIPv6(input: string): boolean {
  // The zone is everything after the first '%' and must not be empty.
  const percent = input.indexOf('%');
  const end = percent >= 0 ? percent : input.length;
  if (percent >= 0 && percent === input.length - 1) return false;

  let pos = 0;
  let bytes = 0; // how many of the 16 address bytes are filled
  let ellipsis = -1; // byte offset where "::" sits
  if (end >= 2 && input[0] === ':' && input[1] === ':') {
    ellipsis = 0;
    pos = 2;
    if (pos === end) return true; // "::" alone
  }

  while (bytes < 16) {
    let off = 0;
    let acc = 0;
    for (; pos + off < end; off++) {
      const h = hexValue(input.charCodeAt(pos + off));
      if (h < 0) break;
      acc = acc * 16 + h;
      if (off > 3) return false; // more than four hex digits
      if (acc > 0xffff) return false;
    }
    if (off === 0) return false; // empty field

    if (pos + off < end && input[pos + off] === '.') {
      // Embedded IPv4 starting at this field (the hex digits are re-read as decimal).
      if (ellipsis < 0 && bytes !== 12) return false;
      if (bytes + 4 > 16) return false;
      if (!parseIPv4(input, pos, end)) return false;
      pos = end;
      bytes += 4;
      break;
    }

    bytes += 2;
    pos += off;
    if (pos === end) break;
    if (input[pos] !== ':') return false;
    if (pos + 1 === end) return false; // trailing single colon
    pos++;
    if (input[pos] === ':') {
      if (ellipsis >= 0) return false; // a second "::"
      ellipsis = bytes;
      pos++;
      if (pos === end) break;
    }
  }

  if (pos !== end) return false; // trailing garbage
  if (bytes < 16) return ellipsis >= 0;
  return ellipsis < 0; // "::" must stand for at least one zero field
}

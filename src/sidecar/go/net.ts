// Go's net.SplitHostPort with its exact error texts. Istio reports the error
// itself, so both the acceptance and the wording matter.

export type SplitHostPortResult = { ok: true; host: string; port: string } | { ok: false; error: string };

const MISSING_PORT = 'missing port in address';
const TOO_MANY_COLONS = 'too many colons in address';

/**
 * Splits "host:port", "[host]:port" or "[host%zone]:port". The port is
 * everything after the last colon and is not checked here.
 */
export function splitHostPort(hostport: string): SplitHostPortResult {
  // net.AddrError prints "address <addr>: <why>" when the address is non-empty.
  const fail = (why: string): SplitHostPortResult => ({
    ok: false,
    error: hostport === '' ? why : `address ${hostport}: ${why}`,
  });

  const lastColon = hostport.lastIndexOf(':');
  if (lastColon < 0) return fail(MISSING_PORT);

  let host: string;
  let noOpenBracketFrom = 0;
  let noCloseBracketFrom = 0;
  if (hostport.startsWith('[')) {
    const end = hostport.indexOf(']');
    if (end < 0) return fail("missing ']' in address");
    if (end + 1 === hostport.length) return fail(MISSING_PORT);
    if (end + 1 !== lastColon) {
      // ']' is followed by something other than the last colon.
      return fail(hostport[end + 1] === ':' ? TOO_MANY_COLONS : MISSING_PORT);
    }
    host = hostport.slice(1, end);
    noOpenBracketFrom = 1;
    noCloseBracketFrom = end + 1;
  } else {
    host = hostport.slice(0, lastColon);
    if (host.includes(':')) return fail(TOO_MANY_COLONS);
  }
  if (hostport.indexOf('[', noOpenBracketFrom) >= 0) return fail("unexpected '[' in address");
  if (hostport.indexOf(']', noCloseBracketFrom) >= 0) return fail("unexpected ']' in address");
  return { ok: true, host, port: hostport.slice(lastColon + 1) };
}

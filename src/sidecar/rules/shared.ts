// Small checks Istio shares between several Sidecar rules, returning Istio's
// message (or undefined when the value passes).
import { goToLower } from '../go/strings.js';
import { isDNS1123Label } from '../go/labels.js';

export const UNIX_PREFIX = 'unix://';

/**
 * Paths of a listener's fields, made when a finding is reported: the checks
 * pass a listener's index around, as nearly every listener has nothing to report.
 */
export const egressPath = (i: number, field = ''): string => `spec.egress[${i}]${field}`;
export const ingressPath = (i: number, field = ''): string => `spec.ingress[${i}]${field}`;

/** ValidatePort: 1..65535. `port` may be a bigint when it came from strconv.Atoi. */
export function portRangeError(port: number | bigint): string | undefined {
  return port >= 1 && port <= 65535 ? undefined : `port number ${port} must be in the range 1..65535`;
}

/** ValidatePortName: only called for non-empty names. */
export function portNameError(name: string): string | undefined {
  return isDNS1123Label(name) ? undefined : `invalid port name: ${name}`;
}

/** ValidateUnixAddress on the part after "unix://". */
export function unixAddressError(address: string): string | undefined {
  if (address === '') return 'unix address must not be empty';
  if (address.startsWith('@')) return undefined; // abstract socket: no further check
  if (!address.startsWith('/') || address.endsWith('/')) return `${address} is not an absolute path to a file`;
  return undefined;
}

// Istio's protocol names, matched after Go's strings.ToLower.
const PROTOCOLS = new Set([
  'tcp',
  'udp',
  'grpc',
  'grpc-web',
  'http',
  'http_proxy',
  'http2',
  'https',
  'tls',
  'mongo',
  'redis',
  'mysql',
]);
const HTTP_FAMILY = new Set(['http', 'http2', 'http_proxy', 'grpc', 'grpc-web']);
const TLS_FAMILY = new Set(['https', 'tls']);

/** ValidateProtocol: an empty protocol means "sniff" and is allowed. */
export function protocolError(protocol: string): string | undefined {
  return protocol === '' || PROTOCOLS.has(goToLower(protocol)) ? undefined : `unsupported protocol: ${protocol}`;
}

export function isHttpProtocol(protocol: string): boolean {
  return HTTP_FAMILY.has(goToLower(protocol));
}

export function isTlsProtocol(protocol: string): boolean {
  return TLS_FAMILY.has(goToLower(protocol));
}

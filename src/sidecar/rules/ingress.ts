// I2–I23: each ingress listener in order, with its TLS (T*) and connection
// pool (C*) checks. I1 cannot happen: a null listener decodes as `{}` (I2).
import { goQuote } from '../go/quote.js';
import { isIPAddress } from '../go/netip.js';
import { splitHostPort } from '../go/net.js';
import { atoi } from '../go/strconv.js';
import type { IngressListener, Port, ServerTls } from './decode.js';
import { TLS_MODE } from './decode.js';
import { checkConnectionPool } from './pool.js';
import type { Report } from './report.js';
import {
  UNIX_PREFIX,
  ingressPath,
  isHttpProtocol,
  isTlsProtocol,
  portNameError,
  portRangeError,
  protocolError,
  unixAddressError,
} from './shared.js';
import { checkTlsOptions } from './tls.js';

// Compared as exact strings after SplitHostPort has removed any brackets.
const DEFAULT_ENDPOINT_HOSTS = new Set(['', '127.0.0.1', '0.0.0.0', '::1', '::']);
// The same hosts as written before ":<port>".
const DEFAULT_ENDPOINT_PREFIXES = ['127.0.0.1:', '0.0.0.0:', '[::1]:', '[::]:', ':'];
const MAX_PORT = 65535;

export function checkIngressListeners(listeners: readonly IngressListener[], report: Report): void {
  // Ports must be unique across ingress listeners whatever their bind. A lone
  // listener (the usual case) cannot repeat one: no set for it.
  const seenPorts = listeners.length > 1 ? new Set<number>() : undefined;
  for (let i = 0; i < listeners.length; i++) {
    const listener = listeners[i]!;
    const port = listener.port;
    if (!port) {
      // Istio skips every other check of this listener.
      report.add('I2', ingressPath(i, '.port'), 'sidecar: port is required for ingress listeners');
      continue;
    }
    checkPortAndBind(port, listener.bind, i, report);
    if (seenPorts?.has(port.number)) {
      report.add('I8', ingressPath(i, '.port.number'), 'sidecar: ports on IP bound listeners must be unique');
    }
    seenPorts?.add(port.number);
    if (listener.defaultEndpoint !== '') checkDefaultEndpoint(listener.defaultEndpoint, i, report);
    if (listener.tls) {
      checkSidecarTls(listener.tls, port, ingressPath(i), report);
      checkTlsOptions(listener.tls, ingressPath(i, '.tls'), report);
    }
    if (listener.connectionPool) {
      checkConnectionPool(listener.connectionPool, ingressPath(i, '.connectionPool'), report);
      if (listener.connectionPool.http && !isHttpProtocol(port.protocol)) {
        report.add(
          'I23',
          ingressPath(i, '.connectionPool.http'),
          `sidecar: HTTP connection pool settings are configured for port ${port.number} (${goQuote(port.name)}) ` +
            `but its protocol is not HTTP (${port.protocol}); only TCP settings will apply`,
        );
      }
    }
  }
}

/** I3–I7. */
function checkPortAndBind(port: Port, bind: string, i: number, report: Report): void {
  if (port.targetPort > 0) report.add('I3', ingressPath(i, '.port.targetPort'), 'targetPort has no impact on Sidecars');
  const nameError = port.name === '' ? undefined : portNameError(port.name);
  if (nameError !== undefined) report.add('I4', ingressPath(i, '.port.name'), nameError);
  const protoError = protocolError(port.protocol);
  if (protoError !== undefined) report.add('I5', ingressPath(i, '.port.protocol'), protoError);
  const rangeError = portRangeError(port.number);
  if (rangeError !== undefined) report.add('I6', ingressPath(i, '.port.number'), rangeError);
  if (bind !== '' && !isIPAddress(bind)) report.add('I7', ingressPath(i, '.bind'), `${bind} is not a valid IP`);
}

/** I9–I13: "unix://path", or host:port where host is a loopback/any address. */
function checkDefaultEndpoint(endpoint: string, i: number, report: Report): void {
  if (isLoopbackWithPort(endpoint)) return;
  const path = ingressPath(i, '.defaultEndpoint');
  if (endpoint.startsWith(UNIX_PREFIX)) {
    const error = unixAddressError(endpoint.slice(UNIX_PREFIX.length));
    if (error !== undefined) report.add('I9', path, error);
    return;
  }
  // On a failed split Go returns empty host and port, and Istio goes on
  // checking them, so I12 follows with an empty port.
  const split = splitHostPort(endpoint);
  if (!split.ok) report.add('I10', path, split.error);
  const host = split.ok ? split.host : '';
  const portText = split.ok ? split.port : '';
  if (!DEFAULT_ENDPOINT_HOSTS.has(host)) {
    report.add(
      'I11',
      path,
      'sidecar: defaultEndpoint must be of form 127.0.0.1:<port>,0.0.0.0:<port>,[::1]:port,[::]:port,unix://filepath or unset',
    );
  }
  const port = atoi(portText);
  if (!port.ok) {
    report.add('I12', path, `sidecar: defaultEndpoint port (${portText}) is not a number: ${port.error}`);
    return;
  }
  const rangeError = portRangeError(port.value);
  if (rangeError !== undefined) report.add('I13', path, rangeError);
}

/**
 * The shape nearly every defaultEndpoint has, "127.0.0.1:8080" or one of the
 * other allowed hosts then a port in range, recognised in place: nothing for
 * I10–I13 to report, so no split and no number are built. With only digits
 * after the prefix, its colon is the last one and no bracket follows it,
 * which is all SplitHostPort asks of these hosts.
 */
function isLoopbackWithPort(endpoint: string): boolean {
  for (const prefix of DEFAULT_ENDPOINT_PREFIXES) {
    if (endpoint.startsWith(prefix)) return isPortInRange(endpoint, prefix.length);
  }
  return false;
}

/** endpoint.slice(from) is ASCII digits (leading zeros allowed) with a value in 1..65535. */
function isPortInRange(endpoint: string, from: number): boolean {
  if (from === endpoint.length) return false;
  let value = 0;
  for (let i = from; i < endpoint.length; i++) {
    const digit = endpoint.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) return false;
    value = value * 10 + digit;
    if (value > MAX_PORT) return false;
  }
  return value >= 1;
}

/** I14–I20: TLS features a Sidecar ingress does not support. */
function checkSidecarTls(tls: ServerTls, port: Port, path: string, report: Report): void {
  const tlsPath = `${path}.tls`;
  if (tls.subjectAltNames.length > 0) {
    report.add('I14', `${tlsPath}.subjectAltNames`, 'sidecar: subjectAltNames is not supported in ingress tls');
  }
  if (tls.httpsRedirect) report.add('I15', `${tlsPath}.httpsRedirect`, 'sidecar: httpsRedirect is not supported');
  if (tls.credentialName !== '') {
    report.add('I16', `${tlsPath}.credentialName`, 'sidecar: credentialName is not currently supported');
  }
  if (tls.credentialNames.length > 0) {
    report.add('I17', `${tlsPath}.credentialNames`, 'sidecar: credentialNames is not currently supported');
  }
  if (tls.tlsCertificates.length > 0) {
    report.add('I18', `${tlsPath}.tlsCertificates`, 'sidecar: tls_certificates is not currently supported');
  }
  if (tls.mode === TLS_MODE.ISTIO_MUTUAL || tls.mode === TLS_MODE.AUTO_PASSTHROUGH) {
    const modeName = tls.mode === TLS_MODE.ISTIO_MUTUAL ? 'ISTIO_MUTUAL' : 'AUTO_PASSTHROUGH';
    report.add(
      'I19',
      `${tlsPath}.mode`,
      `configuration is invalid: cannot set mode to ${modeName} in sidecar ingress tls`,
    );
  }
  if (!isTlsProtocol(port.protocol)) {
    report.add('I20', `${path}.port.protocol`, 'server cannot have TLS settings for non HTTPS/TLS ports');
  }
}

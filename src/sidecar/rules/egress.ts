// E2–E15: each egress listener in order, then its hosts (hosts.ts).
// E1 cannot happen (a null listener decodes as `{}`), and E3 is dead code in
// Istio: a port-less listener only counts as the catch-all when it is the
// last one, so there is never a later listener to be "a second catch-all".
import { isIPAddress } from '../go/netip.js';
import type { EgressListener, Port } from './decode.js';
import { CAPTURE_MODE } from './decode.js';
import { checkEgressHosts } from './hosts.js';
import type { Report } from './report.js';
import { UNIX_PREFIX, egressPath, portNameError, portRangeError, protocolError, unixAddressError } from './shared.js';

export function checkEgressListeners(listeners: readonly EgressListener[], namespace: string, report: Report): void {
  // Separate from the ingress port set; Unix sockets are keyed by the raw bind
  // string. A lone listener (the usual case) cannot repeat one: no sets for it.
  const several = listeners.length > 1;
  const seenPorts = several ? new Set<number>() : undefined;
  const seenSockets = several ? new Set<string>() : undefined;
  const last = listeners.length - 1;
  for (let i = 0; i < listeners.length; i++) {
    const listener = listeners[i]!;
    const port = listener.port;
    if (!port) {
      if (i !== last) {
        report.add(
          'E2',
          egressPath(i, '.port'),
          'sidecar: the egress listener with empty port should be the last listener in the list',
        );
      }
    } else if (port.number === 0) {
      checkCommonPort(port, i, report);
      checkUnixSocketListener(listener, port, i, report);
      if (seenSockets?.has(listener.bind)) {
        report.add('E10', egressPath(i, '.bind'), 'sidecar: unix domain socket values for listeners must be unique');
      }
      seenSockets?.add(listener.bind);
    } else {
      checkCommonPort(port, i, report);
      checkIpListener(listener, port, i, report);
      if (seenPorts?.has(port.number)) {
        report.add('E14', egressPath(i, '.port.number'), 'sidecar: ports on IP bound listeners must be unique');
      }
      seenPorts?.add(port.number);
    }
    checkEgressHosts(listener.hosts, i, namespace, report);
  }
}

/** E4, E5: checks for any listener with a port. */
function checkCommonPort(port: Port, i: number, report: Report): void {
  if (port.targetPort > 0) report.add('E4', egressPath(i, '.port.targetPort'), 'targetPort has no impact on Sidecars');
  const nameError = port.name === '' ? undefined : portNameError(port.name);
  if (nameError !== undefined) report.add('E5', egressPath(i, '.port.name'), nameError);
}

/** E6–E9: port number 0 means a Unix domain socket listener. */
function checkUnixSocketListener(listener: EgressListener, port: Port, i: number, report: Report): void {
  const protoError = protocolError(port.protocol);
  if (protoError !== undefined) report.add('E6', egressPath(i, '.port.protocol'), protoError);
  if (!listener.bind.startsWith(UNIX_PREFIX)) {
    report.add('E7', egressPath(i, '.bind'), 'sidecar: ports with 0 value must have a unix domain socket bind address');
  } else {
    const error = unixAddressError(listener.bind.slice(UNIX_PREFIX.length));
    if (error !== undefined) report.add('E8', egressPath(i, '.bind'), error);
  }
  // Unknown names and numbers other than DEFAULT/NONE are rejected too.
  if (listener.captureMode !== CAPTURE_MODE.DEFAULT && listener.captureMode !== CAPTURE_MODE.NONE) {
    report.add(
      'E9',
      egressPath(i, '.captureMode'),
      'sidecar: captureMode must be DEFAULT/NONE for unix domain socket listeners',
    );
  }
}

/** E11–E13. */
function checkIpListener(listener: EgressListener, port: Port, i: number, report: Report): void {
  const protoError = protocolError(port.protocol);
  if (protoError !== undefined) report.add('E11', egressPath(i, '.port.protocol'), protoError);
  const rangeError = portRangeError(port.number);
  if (rangeError !== undefined) report.add('E12', egressPath(i, '.port.number'), rangeError);
  if (listener.bind !== '' && !isIPAddress(listener.bind)) {
    report.add('E13', egressPath(i, '.bind'), `${listener.bind} is not a valid IP`);
  }
}

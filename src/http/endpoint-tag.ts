// Which admission endpoint a connection is sending to, for the refusals Node
// makes on the socket itself (408, 431) and counts in http_errors_total: the
// routes tag a socket while one of its requests is admitted, app.ts's client
// error handler reads the tag. A property on the socket rather than a WeakMap
// keyed by it: set and cleared once per request, and a WeakMap write per
// request is an ephemeron-table write the scavenger must revisit (issue 20).
import type { Socket } from 'node:net';

const ENDPOINT = Symbol('sidecar-guard.endpoint');
type Tagged = Socket & { [ENDPOINT]?: string | undefined };

export function tagEndpoint(socket: Socket, endpoint: string | undefined): void {
  (socket as Tagged)[ENDPOINT] = endpoint;
}

/** The endpoint of the request admitted on this socket now; "unknown" between requests. */
export function endpointTag(socket: Socket): string {
  return (socket as Tagged)[ENDPOINT] ?? 'unknown';
}

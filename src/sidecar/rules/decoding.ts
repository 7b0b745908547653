// Rule J1: what Istio's webhook refuses before ValidateSidecar runs, because
// its protobuf JSON decoder (golang/protobuf jsonpb) fails on the spec. The
// CRD lets two such values through the API server: a duration Go's
// time.ParseDuration cannot read in tcp.idleTimeout (the one duration field
// without a CEL rule), and an int32 counter outside the int32 range (the API
// server does not enforce `format: int32`). Found by comparing with Istio's
// own code (docs/conformance.md).
//
// The decoder stops at the first failure, visiting fields in the order the
// protobuf messages declare them; so does this walk.
import { parseGoDuration } from '../go/duration.js';

type JsonObject = Record<string, unknown>;

export interface DecodeFailure {
  path: string;
  message: string;
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

const asObject = (v: unknown): JsonObject | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as JsonObject) : undefined;

const field = (o: JsonObject, key: string): unknown => (Object.hasOwn(o, key) ? o[key] : undefined);

function duration(o: JsonObject, key: string, path: string): DecodeFailure | undefined {
  const v = field(o, key);
  if (typeof v !== 'string') return undefined;
  const parsed = parseGoDuration(v);
  return parsed.ok ? undefined : { path: `${path}.${key}`, message: `error decoding configuration: bad Duration: ${parsed.error}` };
}

function int32(o: JsonObject, key: string, path: string): DecodeFailure | undefined {
  const v = field(o, key);
  if (typeof v !== 'number' || !Number.isInteger(v) || (v >= INT32_MIN && v <= INT32_MAX)) return undefined;
  // The API server re-encodes the number the way JavaScript prints it (1e+21 above 1e21).
  return { path: `${path}.${key}`, message: `error decoding configuration: json: cannot unmarshal number ${String(v)} into Go value of type int32` };
}

type Step = (o: JsonObject, path: string) => DecodeFailure | undefined;

/** The fields of a message in declaration order; nested messages recurse. */
function message(...steps: Step[]): Step {
  return (o, path) => {
    for (const step of steps) {
      const failure = step(o, path);
      if (failure) return failure;
    }
    return undefined;
  };
}

const nested = (key: string, inner: Step): Step => (o, path) => {
  const child = asObject(field(o, key));
  return child ? inner(child, `${path}.${key}`) : undefined;
};

const d = (key: string): Step => (o, path) => duration(o, key, path);
const i = (key: string): Step => (o, path) => int32(o, key, path);

// istio.networking.v1alpha3.ConnectionPoolSettings: tcp, then http.
const connectionPool = message(
  nested('tcp', message(i('maxConnections'), d('connectTimeout'), nested('tcpKeepalive', message(d('time'), d('interval'))), d('maxConnectionDuration'), d('idleTimeout'))),
  nested(
    'http',
    message(i('http1MaxPendingRequests'), i('http2MaxRequests'), i('maxRequestsPerConnection'), i('maxRetries'), d('idleTimeout'), i('maxConcurrentStreams'), nested('http2KeepAlive', message(d('interval'), d('timeout')))),
  ),
);

/** The first value Istio's decoder would refuse, in Sidecar's field order (ingress before inboundConnectionPool). */
export function undecodable(spec: unknown): DecodeFailure | undefined {
  const o = asObject(spec);
  if (!o) return undefined;
  const ingress = field(o, 'ingress');
  if (Array.isArray(ingress)) {
    for (let n = 0; n < ingress.length; n++) {
      const listener = asObject(ingress[n]);
      const failure = listener && nested('connectionPool', connectionPool)(listener, `spec.ingress[${n}]`);
      if (failure) return failure;
    }
  }
  return nested('inboundConnectionPool', connectionPool)(o, 'spec');
}

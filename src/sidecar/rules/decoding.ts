// Rule J1: what Istio's webhook refuses before ValidateSidecar runs, because
// its protobuf JSON decoder (golang/protobuf jsonpb) fails on the spec. The
// CRD lets two such values through the API server: a duration Go's
// time.ParseDuration cannot read in tcp.idleTimeout (the one duration field
// without a CEL rule), and an int32 counter outside the int32 range (the API
// server does not enforce `format: int32`). Found by comparing with Istio's
// own code (docs/conformance.md).
//
// The decoder stops at the first failure, visiting fields in the order the
// protobuf messages declare them; so does this walk. When the first failure
// is a value the CRD refuses anyway (a wrong JSON type, an unknown enum
// name, a uint32 out of range), the API server answers before Istio does:
// J1 then reports nothing and the schema's finding stands.
import { parseGoDuration } from '../go/duration.js';

type JsonObject = Record<string, unknown>;

export interface DecodeFailure {
  path: string;
  message: string;
}

/**
 * A failure Istio reports, or 'crd' for one the API server refuses first. A
 * failure's path is relative while it travels up: each level prefixes its own
 * part on the way out, so a valid spec builds no path strings at all.
 */
type Outcome = DecodeFailure | 'crd' | undefined;
type Check = (v: unknown) => Outcome;
type Step = (o: JsonObject) => Outcome;

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const UINT32_MAX = 2 ** 32 - 1;
const DECODE = 'error decoding configuration: ';

const asObject = (v: unknown): JsonObject | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as JsonObject) : undefined;

/** A field's own value; null counts as absent, as in the decoder. (Ownership is checked only for a value found.) */
function field(o: JsonObject, key: string): unknown {
  const v = o[key];
  return v !== undefined && v !== null && Object.hasOwn(o, key) ? v : undefined;
}

/** `outcome` seen from one level up: `segment` (".key" or "[n]") goes in front of a failure's path. */
const within = (segment: string, outcome: Outcome): Outcome =>
  typeof outcome === 'object' ? { path: `${segment}${outcome.path}`, message: outcome.message } : outcome;

/** A failure at the value being checked (its path is filled in on the way up). */
const failure = (message: string): DecodeFailure => ({ path: '', message });

/** A scalar field: `check` sees the value when present. */
const scalar = (key: string, check: Check): Step => {
  const segment = `.${key}`; // once, when the walk is defined
  return (o) => {
    const v = field(o, key);
    return v === undefined ? undefined : within(segment, check(v));
  };
};

const str = (key: string): Step => scalar(key, (v) => (typeof v === 'string' ? undefined : 'crd'));
const bool = (key: string): Step => scalar(key, (v) => (typeof v === 'boolean' ? undefined : 'crd'));
const enumeration = (key: string, names: readonly string[]): Step =>
  scalar(key, (v) => (typeof v === 'string' && names.includes(v) ? undefined : 'crd'));
const uint32 = (key: string): Step =>
  scalar(key, (v) => (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= UINT32_MAX ? undefined : 'crd'));

const int32 = (key: string): Step =>
  scalar(key, (v) => {
    if (typeof v !== 'number' || !Number.isInteger(v)) return 'crd';
    if (v >= INT32_MIN && v <= INT32_MAX) return undefined;
    // The API server re-encodes the number the way JavaScript prints it (1e+21 above 1e21).
    return failure(`${DECODE}json: cannot unmarshal number ${String(v)} into Go value of type int32`);
  });

const duration = (key: string): Step =>
  scalar(key, (v) => {
    if (typeof v !== 'string') return 'crd';
    const parsed = parseGoDuration(v);
    return parsed.ok ? undefined : failure(`${DECODE}bad Duration: ${parsed.error}`);
  });

/** The fields of a message in declaration order. */
function message(...steps: Step[]): Check {
  return (v) => {
    const o = asObject(v);
    if (!o) return 'crd';
    for (const step of steps) {
      const outcome = step(o);
      if (outcome) return outcome;
    }
    return undefined;
  };
}

const nested = (key: string, inner: Check): Step => scalar(key, inner);

const list = (key: string, item: Check): Step =>
  scalar(key, (v) => {
    if (!Array.isArray(v)) return 'crd';
    for (let n = 0; n < v.length; n++) {
      const outcome = v[n] === null ? undefined : item(v[n]);
      if (outcome) return within(`[${n}]`, outcome);
    }
    return undefined;
  });

const stringItem: Check = (v) => (typeof v === 'string' ? undefined : 'crd');

const CAPTURE_MODES = ['DEFAULT', 'IPTABLES', 'NONE'];
const TLS_MODES = ['PASSTHROUGH', 'SIMPLE', 'MUTUAL', 'AUTO_PASSTHROUGH', 'ISTIO_MUTUAL', 'OPTIONAL_MUTUAL'];
const TLS_VERSIONS = ['TLS_AUTO', 'TLSV1_0', 'TLSV1_1', 'TLSV1_2', 'TLSV1_3'];

// The messages of istio.networking.v1alpha3 a Sidecar holds, fields in declaration order.
const sidecarPort = message(uint32('number'), str('protocol'), str('name'), uint32('targetPort'));

const connectionPool = message(
  nested(
    'tcp',
    message(
      int32('maxConnections'),
      duration('connectTimeout'),
      nested('tcpKeepalive', message(uint32('probes'), duration('time'), duration('interval'))),
      duration('maxConnectionDuration'),
      duration('idleTimeout'),
    ),
  ),
  nested(
    'http',
    message(
      int32('http1MaxPendingRequests'),
      int32('http2MaxRequests'),
      int32('maxRequestsPerConnection'),
      int32('maxRetries'),
      duration('idleTimeout'),
      enumeration('h2UpgradePolicy', ['DEFAULT', 'DO_NOT_UPGRADE', 'UPGRADE']),
      bool('useClientProtocol'),
      int32('maxConcurrentStreams'),
      nested('http2KeepAlive', message(duration('interval'), duration('timeout'))),
    ),
  ),
);

const serverTls = message(
  bool('httpsRedirect'),
  enumeration('mode', TLS_MODES),
  str('serverCertificate'),
  str('privateKey'),
  str('caCertificates'),
  str('caCrl'),
  str('credentialName'),
  list('credentialNames', stringItem),
  str('caCertCredentialName'),
  list('tlsCertificates', message(str('serverCertificate'), str('privateKey'), str('caCertificates'))),
  list('subjectAltNames', stringItem),
  list('verifyCertificateSpki', stringItem),
  list('verifyCertificateHash', stringItem),
  enumeration('minProtocolVersion', TLS_VERSIONS),
  enumeration('maxProtocolVersion', TLS_VERSIONS),
  list('cipherSuites', stringItem),
  bool('insecureSkipVerify'),
);

const sidecar = message(
  nested('workloadSelector', message()),
  list(
    'ingress',
    message(
      nested('port', sidecarPort),
      str('bind'),
      enumeration('captureMode', CAPTURE_MODES),
      str('defaultEndpoint'),
      nested('tls', serverTls),
      nested('connectionPool', connectionPool),
    ),
  ),
  list(
    'egress',
    message(
      nested('port', sidecarPort),
      str('bind'),
      enumeration('captureMode', CAPTURE_MODES),
      list('hosts', stringItem),
    ),
  ),
  nested('inboundConnectionPool', connectionPool),
  nested(
    'outboundTrafficPolicy',
    message(
      enumeration('mode', ['REGISTRY_ONLY', 'ALLOW_ANY']),
      nested('egressProxy', message(str('host'), str('subset'), nested('port', message(uint32('number'))))),
    ),
  ),
);

/** The first value Istio's decoder would refuse, when the API server would not refuse the object first. */
export function undecodable(spec: unknown): DecodeFailure | undefined {
  if (spec === null || spec === undefined || !hasConnectionPool(spec)) return undefined;
  const outcome = within('spec', sidecar(spec));
  return outcome === 'crd' ? undefined : outcome;
}

/**
 * Only a connection pool holds int32 and duration fields, the only ones
 * whose failure Istio reports; without one the walk can only end in nothing
 * or 'crd', both silent. Most Sidecars have none, so they skip the walk.
 */
function hasConnectionPool(spec: unknown): boolean {
  const o = asObject(spec);
  if (!o) return false;
  if (field(o, 'inboundConnectionPool') !== undefined) return true;
  const ingress = field(o, 'ingress');
  if (!Array.isArray(ingress)) return false;
  for (const listener of ingress) {
    const l = asObject(listener);
    if (l && field(l, 'connectionPool') !== undefined) return true;
  }
  return false;
}

// One entry per row of Istio's Sidecar rule table (reference §3): the id used
// in findings, whether Istio rejects (error) or only warns, a one-line title
// and a hint saying how to fix it.
import type { Severity } from '../violation.js';

export interface RuleInfo {
  readonly id: string;
  readonly severity: Severity;
  readonly title: string;
  readonly hint: string;
  /** Why Istio can never report this rule, for rows that are dead code or unreachable from JSON. */
  readonly unreachable?: string;
  /** For rows that only point at other rows: the ids findings are reported under instead. */
  readonly reportedAs?: readonly string[];
}

const E: Severity = 'error';
const W: Severity = 'warning';

const TLS_ROWS = ['T1', 'T2', 'T3', 'T4', 'T5', 'T6', 'T8', 'T9', 'T10', 'T11', 'T12'] as const;
const POOL_ROWS = ['C1', 'C2', 'C3', 'C4', 'C5', 'C6', 'C7', 'C8', 'C9', 'C10', 'C11', 'C12', 'C13', 'C14'] as const;

const table = {
  // Istio's webhook decoding, before ValidateSidecar (found by the conformance oracle)
  J1: [
    E,
    'a value Istio cannot decode',
    'Write durations as Go does ("30s", "1.5s", "300ms") and keep pool counters within -2147483648..2147483647.',
  ],
  // Metadata wrapper
  M1: [
    E,
    'istio.io/dry-run annotation on a Sidecar',
    'Remove the istio.io/dry-run annotation; only AuthorizationPolicy supports dry-run.',
  ],
  M2: [
    E,
    'internal webhook-always-reject annotation present',
    'Remove the internal.istio.io/webhook-always-reject annotation.',
  ],
  M3: [
    E,
    'internal parent-namespace annotation set by a user',
    'Remove the internal.istio.io/parent-namespace annotation; Istio sets it itself.',
  ],
  M4: [
    E,
    'internal parents annotation set by a user',
    'Remove the internal.istio.io/parents annotation; Istio sets it itself.',
  ],
  // Workload selector and whole spec
  S1: [E, 'empty label key in workloadSelector', 'Give every workloadSelector label a non-empty key.'],
  S2: [
    E,
    'wildcard in a workloadSelector label',
    "Use exact label keys and values; '*' is not supported in selectors.",
  ],
  S3: [
    W,
    'workloadSelector without labels',
    'Add labels to workloadSelector, or remove it to make this the namespace-wide Sidecar.',
  ],
  G1: [
    E,
    'empty Sidecar configuration',
    'Set at least one of egress, ingress, outboundTrafficPolicy or inboundConnectionPool.',
  ],
  // Ingress listeners
  I1: [E, 'null ingress listener', 'Remove the null entry from ingress.'],
  I2: [E, 'ingress listener without port', 'Add a port (number, protocol, name) to the ingress listener.'],
  I3: [E, 'targetPort set on a Sidecar port', 'Remove targetPort; it has no effect on Sidecars.'],
  I4: [
    E,
    'invalid ingress port name',
    'Use a DNS-1123 label as port name: letters, digits and inner hyphens, at most 63 characters.',
  ],
  I5: [
    E,
    'unknown ingress port protocol',
    'Use one of HTTP, HTTPS, HTTP2, GRPC, GRPC-WEB, HTTP_PROXY, TCP, TLS, UDP, MONGO, REDIS, MYSQL, or leave it empty.',
  ],
  I6: [E, 'ingress port number out of range', 'Use a port number between 1 and 65535.'],
  I7: [E, 'ingress bind is not an IP address', 'Set bind to an IP address such as 0.0.0.0, or remove it.'],
  I8: [
    E,
    'duplicate ingress port number',
    'Give every ingress listener a different port number (bind does not make ports distinct).',
  ],
  I9: [E, 'invalid unix:// defaultEndpoint', 'Use unix:///absolute/path/to/socket or unix://@abstract-name.'],
  I10: [
    E,
    'defaultEndpoint is not host:port',
    'Write defaultEndpoint as 127.0.0.1:PORT, 0.0.0.0:PORT, [::1]:PORT, [::]:PORT or unix://PATH.',
  ],
  I11: [
    E,
    'defaultEndpoint host not allowed',
    'Use 127.0.0.1, 0.0.0.0, [::1] or [::] as defaultEndpoint host (or leave the host empty).',
  ],
  I12: [
    E,
    'defaultEndpoint port is not a number',
    'Put a decimal port number after the last colon of defaultEndpoint.',
  ],
  I13: [E, 'defaultEndpoint port out of range', 'Use a defaultEndpoint port between 1 and 65535.'],
  I14: [E, 'subjectAltNames in ingress TLS', 'Remove tls.subjectAltNames; it is not supported on Sidecar ingress.'],
  I15: [E, 'httpsRedirect in ingress TLS', 'Remove tls.httpsRedirect; it is not supported on Sidecar ingress.'],
  I16: [
    E,
    'credentialName in ingress TLS',
    'Remove tls.credentialName and mount certificates as files (serverCertificate/privateKey).',
  ],
  I17: [
    E,
    'credentialNames in ingress TLS',
    'Remove tls.credentialNames and mount certificates as files (serverCertificate/privateKey).',
  ],
  I18: [
    E,
    'tlsCertificates in ingress TLS',
    'Remove tls.tlsCertificates and use serverCertificate/privateKey instead.',
  ],
  I19: [
    E,
    'TLS mode not allowed on Sidecar ingress',
    'Use tls.mode SIMPLE, MUTUAL, OPTIONAL_MUTUAL or PASSTHROUGH; ISTIO_MUTUAL and AUTO_PASSTHROUGH are not allowed here.',
  ],
  I20: [E, 'TLS settings on a non-HTTPS/TLS port', 'Set port.protocol to HTTPS or TLS, or remove the tls block.'],
  I21: [E, 'ingress TLS options (see T1–T12)', 'See the TLS rule reported.'],
  I22: [E, 'ingress connection pool (see C1–C14)', 'See the connection pool rule reported.'],
  I23: [
    W,
    'HTTP pool settings on a non-HTTP port',
    'Set port.protocol to an HTTP protocol (HTTP, HTTP2, HTTP_PROXY, GRPC, GRPC-WEB) or drop connectionPool.http.',
  ],
  P1: [E, 'inboundConnectionPool (see C1–C14)', 'See the connection pool rule reported.'],
  // Egress listeners
  E1: [E, 'null egress listener', 'Remove the null entry from egress.'],
  E2: [
    E,
    'port-less egress listener not last',
    'Move the egress listener without port to the end of the list, or give it a port.',
  ],
  E3: [E, 'more than one port-less egress listener', 'Keep a single egress listener without port, at the end.'],
  E4: [E, 'targetPort set on a Sidecar port', 'Remove targetPort; it has no effect on Sidecars.'],
  E5: [
    E,
    'invalid egress port name',
    'Use a DNS-1123 label as port name: letters, digits and inner hyphens, at most 63 characters.',
  ],
  E6: [
    E,
    'unknown protocol on a Unix socket listener',
    'Use one of HTTP, HTTPS, HTTP2, GRPC, GRPC-WEB, HTTP_PROXY, TCP, TLS, UDP, MONGO, REDIS, MYSQL, or leave it empty.',
  ],
  E7: [
    E,
    'port 0 without a unix:// bind',
    'With port number 0 set bind to unix:///path (or unix://@name); otherwise use a real port number.',
  ],
  E8: [E, 'invalid unix:// bind', 'Use unix:///absolute/path/to/socket or unix://@abstract-name.'],
  E9: [
    E,
    'captureMode IPTABLES on a Unix socket listener',
    'Use captureMode DEFAULT or NONE for Unix domain socket listeners.',
  ],
  E10: [E, 'duplicate Unix socket bind', 'Give every Unix domain socket egress listener a different bind.'],
  E11: [
    E,
    'unknown egress port protocol',
    'Use one of HTTP, HTTPS, HTTP2, GRPC, GRPC-WEB, HTTP_PROXY, TCP, TLS, UDP, MONGO, REDIS, MYSQL, or leave it empty.',
  ],
  E12: [E, 'egress port number out of range', 'Use a port number between 1 and 65535.'],
  E13: [E, 'egress bind is not an IP address', 'Set bind to an IP address, or use port number 0 for a unix:// bind.'],
  E14: [
    E,
    'duplicate egress port number',
    'Give every egress listener a different port number (bind does not make ports distinct).',
  ],
  E15: [E, 'egress listener without hosts', 'List at least one host, e.g. "./*" or "istio-system/*".'],
  // Egress hosts
  H1: [
    E,
    'egress host without namespace',
    'Write the host as namespace/dnsName, e.g. "./foo.com", "*/foo.com" or "ns1/*".',
  ],
  H2: [E, 'empty namespace or dnsName in egress host', 'Fill in both parts of namespace/dnsName.'],
  H3: [E, 'invalid namespace in egress host', "Use '*', '.', a namespace name, or one of these prefixed with '~'."],
  H4: [E, 'short name in egress host', 'Use a fully qualified name with a dot (e.g. svc.ns.svc.cluster.local) or "*".'],
  H5: [
    E,
    'invalid DNS name in egress host',
    'Use a DNS name of labels (letters, digits, inner hyphens) with at most a leading "*." wildcard.',
  ],
  H6: [E, 'partial wildcard in egress host', 'Only "*" or a leading "*." wildcard is allowed, e.g. "*.example.com".'],
  W1: [W, 'duplicate egress host', 'Remove the duplicate host; it is already covered by the same or a wildcard entry.'],
  W2: [
    W,
    'wildcard egress host after hosts of the same namespace',
    'Keep only "ns/*" for that namespace, or drop the wildcard.',
  ],
  W3: [W, '*/* with other hosts', 'Keep "*/*" alone in the listener, or replace it with explicit namespaces.'],
  // Outbound traffic policy
  O1: [
    E,
    'ALLOW_ANY_DYNAMIC_DNS mode in a Sidecar',
    'Use REGISTRY_ONLY or ALLOW_ANY; ALLOW_ANY_DYNAMIC_DNS only works in MeshConfig.',
  ],
  O2: [E, 'egressProxy without ALLOW_ANY mode', 'Set outboundTrafficPolicy.mode to ALLOW_ANY or remove egressProxy.'],
  O3: [E, 'egressProxy host is not a valid name', 'Use a DNS name without wildcards for egressProxy.host.'],
  O4: [E, 'egressProxy without port', 'Set egressProxy.port.number.'],
  O5a: [E, 'egressProxy host is *', 'Name a concrete egress proxy host instead of "*".'],
  O5b: [
    E,
    'egressProxy host is not a valid domain',
    'Use a DNS name of labels (letters, digits, inner hyphens) for egressProxy.host.',
  ],
  O5c: [E, 'invalid egressProxy subset name', 'Use a DNS-1123 label as subset name, or remove subset.'],
  O5d: [E, 'egressProxy port number out of range', 'Use an egressProxy port number between 1 and 65535.'],
  // Server TLS options (ingress tls)
  T1: [
    W,
    'TLS below 1.2 without cipher suites',
    'Set cipherSuites compatible with TLS 1.0/1.1, or raise minProtocolVersion to TLSV1_2.',
  ],
  T2: [W, 'unknown cipher suites', 'Remove the unknown cipher suites; Envoy would ignore them.'],
  T3: [W, 'duplicate cipher suites', 'List each cipher suite once.'],
  T4: [
    E,
    'certificates with ISTIO_MUTUAL',
    'Remove certificates and credentials; ISTIO_MUTUAL uses Istio-issued certificates.',
  ],
  T5: [
    W,
    'certificates with a passthrough TLS mode',
    'Remove the certificate fields, or choose SIMPLE or MUTUAL to terminate TLS.',
  ],
  T6: [
    E,
    'more than one certificate source',
    'Use exactly one of credentialName, credentialNames, serverCertificate/privateKey or tlsCertificates.',
  ],
  T7: [
    E,
    'credential-based TLS skips file checks',
    'Nothing to fix: with credentialName(s) the certificate file checks are skipped.',
  ],
  T8: [E, 'MUTUAL TLS without client CA', 'Set tls.caCertificates to the client CA bundle path.'],
  T9: [
    W,
    'more than 2 server certificates',
    'Keep at most two entries in tlsCertificates (e.g. one RSA and one ECDSA).',
  ],
  T10: [E, 'TLS server certificate or key missing', 'Set both serverCertificate and privateKey for SIMPLE/MUTUAL TLS.'],
  T11: [
    E,
    'caCrl with credentialName',
    'Put the CRL into the credential referenced by credentialName and remove caCrl.',
  ],
  T12: [E, 'caCrl with SIMPLE TLS', 'Remove caCrl, or use MUTUAL TLS where client certificates are checked.'],
  // Connection pool (ingress connectionPool and inboundConnectionPool)
  C1: [E, 'empty connection pool', 'Set connectionPool.tcp or connectionPool.http, or remove connectionPool.'],
  C2: [E, 'negative http1MaxPendingRequests', 'Use 0 or a positive number.'],
  C3: [E, 'negative http2MaxRequests', 'Use 0 or a positive number.'],
  C4: [E, 'negative maxRequestsPerConnection', 'Use 0 or a positive number.'],
  C5: [E, 'negative maxRetries', 'Use 0 or a positive number.'],
  C6: [E, 'invalid http idleTimeout', 'Use a duration of at least 1ms in whole milliseconds, e.g. "30s" or "1500ms".'],
  C7: [
    E,
    'useClientProtocol with h2UpgradePolicy UPGRADE',
    'Set useClientProtocol to false or h2UpgradePolicy to DEFAULT/DO_NOT_UPGRADE.',
  ],
  C8: [E, 'negative maxConcurrentStreams', 'Use 0 or a positive number.'],
  C9: [
    E,
    'invalid http2KeepAlive',
    'Set both http2KeepAlive.interval and timeout to durations of at least 1ms in whole milliseconds.',
  ],
  C10: [E, 'negative maxConnections', 'Use 0 or a positive number.'],
  C11: [E, 'invalid tcp connectTimeout', 'Use a duration of at least 1ms in whole milliseconds, e.g. "10s".'],
  C12: [E, 'invalid tcp maxConnectionDuration', 'Use a duration of at least 1ms in whole milliseconds.'],
  C13: [E, 'invalid tcp idleTimeout', 'Use "0s" to disable, or a duration of at least 1ms in whole milliseconds.'],
  C14: [E, 'invalid tcpKeepalive time or interval', 'Use durations of at least 1ms in whole milliseconds.'],
  D: [E, 'duration check: at least 1ms, whole milliseconds', 'Use a duration of at least 1ms in whole milliseconds.'],
} as const satisfies Record<string, readonly [Severity, string, string]>;

export type RuleId = keyof typeof table;

const extras: Partial<Record<RuleId, Pick<RuleInfo, 'unreachable' | 'reportedAs'>>> = {
  I1: {
    unreachable: "Istio's JSON decoder turns a null list element into an empty listener, which is reported as I2.",
  },
  E1: {
    unreachable: "Istio's JSON decoder turns a null list element into an empty listener (no port, no hosts; E15).",
  },
  E3: {
    unreachable:
      'Dead code in Istio: the catch-all flag is only set on the last listener, so every earlier port-less listener gets E2 instead.',
  },
  I21: { reportedAs: TLS_ROWS },
  I22: { reportedAs: POOL_ROWS },
  P1: { reportedAs: POOL_ROWS },
  T7: { reportedAs: [] },
  D: { reportedAs: ['C6', 'C9', 'C11', 'C12', 'C13', 'C14'] },
};

function buildCatalog(): Readonly<Record<RuleId, RuleInfo>> {
  const out = {} as Record<RuleId, RuleInfo>;
  for (const id of Object.keys(table) as RuleId[]) {
    const [severity, title, hint] = table[id];
    out[id] = Object.freeze({ id, severity, title, hint, ...extras[id] });
  }
  return Object.freeze(out);
}

export const RULES: Readonly<Record<RuleId, RuleInfo>> = buildCatalog();

// The `spec` of a networking.istio.io Sidecar as it arrives in JSON, mirroring
// the CRD (sidecars.networking.istio.io, identical for v1, v1beta1 and
// v1alpha3). Everything is optional and may be null. Enum fields list their
// names but also allow any other string or a number, because that is what
// can reach a webhook (Istio's decoder accepts enum numbers).

/** Keeps editor completion for the known names while allowing any string. */
type OpenString = string & {};

export type CaptureMode = 'DEFAULT' | 'IPTABLES' | 'NONE' | OpenString | number;
export type ServerTLSMode =
  | 'PASSTHROUGH'
  | 'SIMPLE'
  | 'MUTUAL'
  | 'AUTO_PASSTHROUGH'
  | 'ISTIO_MUTUAL'
  | 'OPTIONAL_MUTUAL'
  | OpenString
  | number;
export type TLSProtocolVersion = 'TLS_AUTO' | 'TLSV1_0' | 'TLSV1_1' | 'TLSV1_2' | 'TLSV1_3' | OpenString | number;
export type H2UpgradePolicy = 'DEFAULT' | 'DO_NOT_UPGRADE' | 'UPGRADE' | OpenString | number;
export type OutboundTrafficPolicyMode = 'REGISTRY_ONLY' | 'ALLOW_ANY' | OpenString | number;

/** A protobuf Duration in JSON form, e.g. "1.5s", "300ms", "1h". */
export type DurationString = string;

export interface SidecarSpec {
  workloadSelector?: WorkloadSelector | null;
  ingress?: Array<IstioIngressListener | null> | null;
  egress?: Array<IstioEgressListener | null> | null;
  inboundConnectionPool?: ConnectionPoolSettings | null;
  outboundTrafficPolicy?: OutboundTrafficPolicy | null;
}

export interface WorkloadSelector {
  /** At most 256 entries; each value at most 63 characters. */
  labels?: Record<string, string | null> | null;
}

export interface SidecarPort {
  /** 0..4294967295 in the schema; Istio wants 1..65535 (0 selects a Unix socket on egress). */
  number?: number | null;
  protocol?: string | null;
  name?: string | null;
  /** Deprecated; any value above 0 is an error for Sidecars. */
  targetPort?: number | null;
}

export interface IstioIngressListener {
  /** Required by the CRD. */
  port?: SidecarPort | null;
  bind?: string | null;
  captureMode?: CaptureMode | null;
  defaultEndpoint?: string | null;
  tls?: ServerTLSSettings | null;
  connectionPool?: ConnectionPoolSettings | null;
}

export interface IstioEgressListener {
  port?: SidecarPort | null;
  bind?: string | null;
  captureMode?: CaptureMode | null;
  /** Required by the CRD; entries look like "namespace/dnsName". */
  hosts?: Array<string | null> | null;
}

export interface ServerTLSSettings {
  httpsRedirect?: boolean | null;
  mode?: ServerTLSMode | null;
  serverCertificate?: string | null;
  privateKey?: string | null;
  caCertificates?: string | null;
  caCrl?: string | null;
  credentialName?: string | null;
  /** 1..2 items in the schema. */
  credentialNames?: Array<string | null> | null;
  /** 1..2 items in the schema. */
  tlsCertificates?: Array<TLSCertificate | null> | null;
  subjectAltNames?: Array<string | null> | null;
  verifyCertificateSpki?: Array<string | null> | null;
  verifyCertificateHash?: Array<string | null> | null;
  minProtocolVersion?: TLSProtocolVersion | null;
  maxProtocolVersion?: TLSProtocolVersion | null;
  cipherSuites?: Array<string | null> | null;
  ecdhCurves?: Array<string | null> | null;
  caCertCredentialName?: string | null;
  insecureSkipVerify?: boolean | null;
}

export interface TLSCertificate {
  serverCertificate?: string | null;
  privateKey?: string | null;
  caCertificates?: string | null;
}

export interface ConnectionPoolSettings {
  tcp?: TCPSettings | null;
  http?: HTTPSettings | null;
}

export interface TCPSettings {
  /** int32 */
  maxConnections?: number | null;
  connectTimeout?: DurationString | null;
  tcpKeepalive?: TcpKeepalive | null;
  maxConnectionDuration?: DurationString | null;
  /** The only pool duration without a CEL rule, so "0s" can disable it. */
  idleTimeout?: DurationString | null;
}

export interface TcpKeepalive {
  /** uint32 */
  probes?: number | null;
  time?: DurationString | null;
  interval?: DurationString | null;
}

export interface HTTPSettings {
  /** int32 */
  http1MaxPendingRequests?: number | null;
  /** int32 */
  http2MaxRequests?: number | null;
  /** int32 */
  maxRequestsPerConnection?: number | null;
  /** int32 */
  maxRetries?: number | null;
  idleTimeout?: DurationString | null;
  h2UpgradePolicy?: H2UpgradePolicy | null;
  useClientProtocol?: boolean | null;
  /** int32 */
  maxConcurrentStreams?: number | null;
  http2KeepAlive?: Http2KeepAlive | null;
}

export interface Http2KeepAlive {
  interval?: DurationString | null;
  timeout?: DurationString | null;
}

export interface OutboundTrafficPolicy {
  mode?: OutboundTrafficPolicyMode | null;
  egressProxy?: Destination | null;
}

export interface Destination {
  /** Required by the CRD. */
  host?: string | null;
  subset?: string | null;
  port?: PortSelector | null;
}

export interface PortSelector {
  number?: number | null;
}

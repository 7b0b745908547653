// What Istio's validator actually sees after its JSON decoder (golang/protobuf
// jsonpb) has turned the raw spec into protobuf messages:
// - a null or missing message is absent; `{}` is present;
// - a null list element becomes an empty message (or "" in a string list);
// - scalars take their proto3 zero value when missing: 0, "", false, enum 0;
// - enums come as exact names or numbers.
// Values of the wrong JSON type are ignored (treated as missing) so the rules
// stay total on any input; the CRD schema reports them before we run.
import { parseGoDuration } from '../go/duration.js';
import { toWellFormed } from '../go/strings.js';
import { isRecord } from '../../util/json.js';

type JsonObject = Record<string, unknown>;

/** A decoded enum: its number, or null for a name the enum does not have. */
export type EnumValue = number | null;

export const CAPTURE_MODE = { DEFAULT: 0, IPTABLES: 1, NONE: 2 } as const;
export const TLS_MODE = {
  PASSTHROUGH: 0,
  SIMPLE: 1,
  MUTUAL: 2,
  AUTO_PASSTHROUGH: 3,
  ISTIO_MUTUAL: 4,
  OPTIONAL_MUTUAL: 5,
} as const;
export const TLS_VERSION = { TLS_AUTO: 0, TLSV1_0: 1, TLSV1_1: 2, TLSV1_2: 3, TLSV1_3: 4 } as const;
export const H2_UPGRADE_POLICY = { DEFAULT: 0, DO_NOT_UPGRADE: 1, UPGRADE: 2 } as const;
/**
 * The Sidecar enum only names 0 and 1. MeshConfig's ALLOW_ANY_DYNAMIC_DNS is
 * number 3; its name is accepted here so rule O1 can explain the mistake.
 */
export const OUTBOUND_MODE = { REGISTRY_ONLY: 0, ALLOW_ANY: 1, ALLOW_ANY_DYNAMIC_DNS: 3 } as const;

export interface Port {
  number: number;
  protocol: string;
  name: string;
  targetPort: number;
}

export interface IngressListener {
  port?: Port;
  bind: string;
  defaultEndpoint: string;
  tls?: ServerTls;
  connectionPool?: ConnectionPool;
}

export interface EgressListener {
  port?: Port;
  bind: string;
  captureMode: EnumValue;
  hosts: readonly string[];
}

export interface TlsCertificate {
  serverCertificate: string;
  privateKey: string;
}

export interface ServerTls {
  httpsRedirect: boolean;
  mode: EnumValue;
  serverCertificate: string;
  privateKey: string;
  caCertificates: string;
  caCrl: string;
  credentialName: string;
  credentialNames: readonly string[];
  tlsCertificates: readonly TlsCertificate[];
  subjectAltNames: readonly string[];
  minProtocolVersion: EnumValue;
  cipherSuites: readonly string[];
}

/** A Duration field: absent, or its value in nanoseconds. */
export type Duration = bigint | undefined;

export interface HttpPool {
  http1MaxPendingRequests: number;
  http2MaxRequests: number;
  maxRequestsPerConnection: number;
  maxRetries: number;
  idleTimeout: Duration;
  h2UpgradePolicy: EnumValue;
  useClientProtocol: boolean;
  maxConcurrentStreams: number;
  http2KeepAlive?: { interval: Duration; timeout: Duration };
}

export interface TcpPool {
  maxConnections: number;
  connectTimeout: Duration;
  maxConnectionDuration: Duration;
  idleTimeout: Duration;
  tcpKeepalive?: { time: Duration; interval: Duration };
}

export interface ConnectionPool {
  http?: HttpPool;
  tcp?: TcpPool;
}

export interface EgressProxy {
  host: string;
  subset: string;
  port?: { number: number };
}

export interface OutboundTrafficPolicy {
  mode: EnumValue;
  egressProxy?: EgressProxy;
}

export interface Sidecar {
  /** Labels in the order they appear (Istio visits them in random order). */
  workloadSelector?: { labels: ReadonlyArray<[key: string, value: string]> };
  ingress: readonly IngressListener[];
  egress: readonly EgressListener[];
  inboundConnectionPool?: ConnectionPool;
  outboundTrafficPolicy?: OutboundTrafficPolicy;
}

export function decodeSidecar(raw: unknown): Sidecar {
  const spec = asObject(raw) ?? {};
  const selector = message(spec, 'workloadSelector');
  return {
    workloadSelector: selector && { labels: stringMap(field(selector, 'labels')) },
    ingress: messageList(spec, 'ingress', decodeIngress),
    egress: messageList(spec, 'egress', decodeEgress),
    inboundConnectionPool: maybe(message(spec, 'inboundConnectionPool'), decodePool),
    outboundTrafficPolicy: maybe(message(spec, 'outboundTrafficPolicy'), decodeOutbound),
  };
}

function decodeIngress(o: JsonObject): IngressListener {
  return {
    port: maybe(message(o, 'port'), decodePort),
    bind: str(o, 'bind'),
    defaultEndpoint: str(o, 'defaultEndpoint'),
    tls: maybe(message(o, 'tls'), decodeTls),
    connectionPool: maybe(message(o, 'connectionPool'), decodePool),
  };
}

function decodeEgress(o: JsonObject): EgressListener {
  return {
    port: maybe(message(o, 'port'), decodePort),
    bind: str(o, 'bind'),
    captureMode: enumeration(o, 'captureMode', CAPTURE_MODE),
    hosts: stringList(o, 'hosts'),
  };
}

function decodePort(o: JsonObject): Port {
  return {
    number: uint32(o, 'number'),
    protocol: str(o, 'protocol'),
    name: str(o, 'name'),
    targetPort: uint32(o, 'targetPort'),
  };
}

function decodeTls(o: JsonObject): ServerTls {
  return {
    httpsRedirect: bool(o, 'httpsRedirect'),
    mode: enumeration(o, 'mode', TLS_MODE),
    serverCertificate: str(o, 'serverCertificate'),
    privateKey: str(o, 'privateKey'),
    caCertificates: str(o, 'caCertificates'),
    caCrl: str(o, 'caCrl'),
    credentialName: str(o, 'credentialName'),
    credentialNames: stringList(o, 'credentialNames'),
    tlsCertificates: messageList(o, 'tlsCertificates', decodeTlsCertificate),
    subjectAltNames: stringList(o, 'subjectAltNames'),
    minProtocolVersion: enumeration(o, 'minProtocolVersion', TLS_VERSION),
    cipherSuites: stringList(o, 'cipherSuites'),
  };
}

function decodeTlsCertificate(o: JsonObject): TlsCertificate {
  return { serverCertificate: str(o, 'serverCertificate'), privateKey: str(o, 'privateKey') };
}

function decodePool(o: JsonObject): ConnectionPool {
  return {
    http: maybe(message(o, 'http'), decodeHttpPool),
    tcp: maybe(message(o, 'tcp'), decodeTcpPool),
  };
}

function decodeHttpPool(o: JsonObject): HttpPool {
  return {
    http1MaxPendingRequests: int32(o, 'http1MaxPendingRequests'),
    http2MaxRequests: int32(o, 'http2MaxRequests'),
    maxRequestsPerConnection: int32(o, 'maxRequestsPerConnection'),
    maxRetries: int32(o, 'maxRetries'),
    idleTimeout: duration(o, 'idleTimeout'),
    h2UpgradePolicy: enumeration(o, 'h2UpgradePolicy', H2_UPGRADE_POLICY),
    useClientProtocol: bool(o, 'useClientProtocol'),
    maxConcurrentStreams: int32(o, 'maxConcurrentStreams'),
    http2KeepAlive: maybe(message(o, 'http2KeepAlive'), decodeHttp2KeepAlive),
  };
}

function decodeHttp2KeepAlive(o: JsonObject): HttpPool['http2KeepAlive'] {
  return { interval: duration(o, 'interval'), timeout: duration(o, 'timeout') };
}

function decodeTcpPool(o: JsonObject): TcpPool {
  return {
    maxConnections: int32(o, 'maxConnections'),
    connectTimeout: duration(o, 'connectTimeout'),
    maxConnectionDuration: duration(o, 'maxConnectionDuration'),
    idleTimeout: duration(o, 'idleTimeout'),
    tcpKeepalive: maybe(message(o, 'tcpKeepalive'), decodeTcpKeepalive),
  };
}

function decodeTcpKeepalive(o: JsonObject): TcpPool['tcpKeepalive'] {
  return { time: duration(o, 'time'), interval: duration(o, 'interval') };
}

function decodeOutbound(o: JsonObject): OutboundTrafficPolicy {
  return {
    mode: enumeration(o, 'mode', OUTBOUND_MODE),
    egressProxy: maybe(message(o, 'egressProxy'), decodeEgressProxy),
  };
}

function decodeEgressProxy(o: JsonObject): EgressProxy {
  return { host: str(o, 'host'), subset: str(o, 'subset'), port: maybe(message(o, 'port'), decodeProxyPort) };
}

function decodeProxyPort(o: JsonObject): EgressProxy['port'] {
  return { number: uint32(o, 'number') };
}

// ---- field readers -------------------------------------------------------
// They run on every admission request: named functions rather than inline
// arrows (a closure per call), one pass per list, and nothing new where the
// input already is what decoding makes of it.

/** What an absent or empty list decodes to; the rules only read lists. */
const NONE: readonly never[] = Object.freeze([]);

function asObject(v: unknown): JsonObject | undefined {
  return isRecord(v) ? v : undefined;
}

/**
 * Own properties only: a key like "constructor" must not find Object.prototype's.
 * (Most fields are absent, so the ownership check runs only for a value found.)
 */
function field(o: JsonObject, key: string): unknown {
  const v = o[key];
  return v !== undefined && Object.hasOwn(o, key) ? v : undefined;
}

/**
 * The decoded message, or undefined when absent. (Plain properties, not
 * object spreads: this runs on every admission request.)
 */
function maybe<T>(value: JsonObject | undefined, decode: (o: JsonObject) => T): T | undefined {
  return value === undefined ? undefined : decode(value);
}

function message(o: JsonObject, key: string): JsonObject | undefined {
  return asObject(field(o, key));
}

/** The list's items, each decoded as a message (a null or non-object item as `{}`). */
function messageList<T>(o: JsonObject, key: string, decode: (o: JsonObject) => T): readonly T[] {
  const v = field(o, key);
  if (!Array.isArray(v) || v.length === 0) return NONE;
  const out: T[] = new Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = decode(asObject(v[i]) ?? {});
  return out;
}

/**
 * The list's items as strings. A list that already is one (nearly every list
 * of hosts) is used as it is. Index loops, not every/map: those skip the holes
 * of a sparse array (no JSON text makes one, a caller's object can), and the
 * rules read every index; a hole is decoded like a null item, as "".
 */
function stringList(o: JsonObject, key: string): readonly string[] {
  const v = field(o, key);
  if (!Array.isArray(v) || v.length === 0) return NONE;
  for (let i = 0; i < v.length; i++) if (!isDecodedString(v[i])) return Array.from(v, asString);
  return v as string[];
}

function isDecodedString(v: unknown): boolean {
  return typeof v === 'string' && toWellFormed(v) === v;
}

function asString(v: unknown): string {
  return typeof v === 'string' ? toWellFormed(v) : '';
}

function str(o: JsonObject, key: string): string {
  return asString(field(o, key));
}

function bool(o: JsonObject, key: string): boolean {
  return field(o, key) === true;
}

function stringMap(v: unknown): ReadonlyArray<[string, string]> {
  const o = asObject(v);
  if (!o) return NONE;
  const keys = Object.keys(o);
  const pairs = new Array<[string, string]>(keys.length);
  for (let i = 0; i < keys.length; i++) pairs[i] = [toWellFormed(keys[i]!), asString(o[keys[i]!])];
  return pairs;
}

/** JSON numbers, or decimal strings as jsonpb also accepts ("80"). */
function integer(v: unknown, min: number, max: number): number {
  const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max ? n : 0;
}

function uint32(o: JsonObject, key: string): number {
  return integer(field(o, key), 0, 0xffff_ffff);
}

function int32(o: JsonObject, key: string): number {
  return integer(field(o, key), -0x8000_0000, 0x7fff_ffff);
}

function enumeration(o: JsonObject, key: string, names: Readonly<Record<string, number>>): EnumValue {
  const v = field(o, key);
  if (typeof v === 'string') return Object.hasOwn(names, v) ? (names[v] ?? null) : null;
  return integer(v, -0x8000_0000, 0x7fff_ffff);
}

function duration(o: JsonObject, key: string): Duration {
  const v = field(o, key);
  if (typeof v !== 'string') return undefined;
  const parsed = parseGoDuration(v);
  return parsed.ok ? parsed.nanos : undefined;
}

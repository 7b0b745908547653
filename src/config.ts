// Everything `serve` can be told: the flag table (the one place each default
// is written; cli.ts builds the parser and the help text from it) and the
// configuration cli.ts parses the flags into.
import { DEFAULT_CLAIM_TIMEOUT_MS, DEFAULT_RESERVATION_TTL_MS } from './cluster/admitter.js';
import { DEFAULT_NAMESPACE_LABEL, type DefaultsConfig } from './defaults/generate.js';
import { DEFAULT_ROOT_NAMESPACE } from './sidecar/object.js';
import { DEFAULT_OVERLAP, OVERLAP_MODES, type OverlapMode } from './sidecar/selectors.js';
import {
  DEFAULT_CLUSTER_DOMAIN,
  DEFAULT_UNKNOWN_HOSTS,
  UNKNOWN_HOSTS_MODES,
  type UnknownHosts,
} from './sidecar/host-rules.js';
import { DEFAULT_WEBHOOK_CONFIG } from './tls/cabundle.js';

export interface HostPort {
  host: string;
  port: number;
}

export interface ServeConfig {
  listen: HostPort;
  certDir: string;
  /** standalone: in-memory view from --state files; cluster: informers via kubeconfig or in-cluster config. */
  mode: 'standalone' | 'cluster';
  kubeconfig?: string;
  statePaths: string[];
  overlap: OverlapMode;
  rootNamespace: string;
  /** host.unknown's severity (default warn). */
  unknownHosts?: UnknownHosts;
  /** The cluster DNS domain (default cluster.local). */
  clusterDomain?: string;
  logLevel: string;
  /** json: one JSON object per line (default); text: one readable line per entry (pino-pretty). */
  logFormat?: LogFormat;
  /** Plain-HTTP Prometheus endpoint; null turns it off. */
  metricsListen: HostPort | null;
  /** Require client certificates signed by this CA (the API server's, via its admission config). */
  clientCaFile?: string;
  /** Self-managed TLS: CA and serving certificate kept in this Secret of selfNamespace (cluster mode). */
  tlsSecret?: string;
  /** The Service the API server calls; the serving certificate covers its DNS names. */
  tlsService: string;
  /** More DNS names or IP addresses for the self-managed serving certificate (a webhook called by url). */
  tlsExtraNames?: string[];
  /** Our Validating/MutatingWebhookConfiguration name, whose caBundle we keep current. */
  webhookConfig: string;
  /** Also every webhook configuration matching this label selector (needs RBAC list on them). */
  webhookSelector?: string;
  /** Once ready, set failurePolicy: Fail on our webhook configurations (the manifests start with Ignore). */
  failClosedWhenReady: boolean;
  /** How long after admission an unobserved Sidecar is presumed refused by the API server (it counts until the view is current past that). */
  reservationTtlMs: number;
  /** api: claims in the API server, consistent across replicas; local: this replica's memory only. */
  claims: ClaimsMode;
  /** Longest time a claim may take, retries included, before the review is answered with HTTP 500. */
  claimTimeoutMs: number;
  /** How long /readyz reports false before the listener closes on SIGTERM. */
  drainDelayMs: number;
  /** Longest time /readyz may stay true after the cluster view stopped hearing from the API server. */
  maxStalenessMs: number;
  /** The namespace sidecar-guard runs in (never given a generated default). */
  selfNamespace: string;
  /** Listener limits; anything missing takes DEFAULT_SERVE_LIMITS. */
  limits?: Partial<ServeLimits>;
  defaults: {
    /** off: no controller; label: namespaces labelled <namespaceLabel>=enabled; all: every namespace but the exclusions. */
    mode: 'off' | 'label' | 'all';
    namespaceLabel: string;
    exclude: string[];
    config: DefaultsConfig;
    /** --defaults-prometheus: add the hosts each namespace's workloads called (observed in Prometheus). */
    traffic?: { url: string; window: string; intervalMs: number; prune: boolean; collapseThreshold: number };
  };
}

/** Limits of the HTTPS listener and of shutdown (serve flags; the defaults suit production). */
export interface ServeLimits {
  /** Open connections of the HTTPS listener, idle ones included; beyond, closed at accept (--max-connections). */
  maxConnections: number;
  /** Admission requests in flight at once; beyond, 503 + Retry-After (--max-inflight). */
  maxInflight: number;
  /** Body bytes of the admission requests in flight (--max-body-bytes-in-flight). */
  maxBodyBytesInFlight: number;
  /** Whole request, body included (--request-timeout). */
  requestTimeoutMs: number;
  /** Request line and headers (--headers-timeout). */
  headersTimeoutMs: number;
  /** After the listener closed, how long in-flight requests may take before their connections are cut (--shutdown-timeout). */
  shutdownTimeoutMs: number;
}

export const DEFAULT_SERVE_LIMITS: Readonly<ServeLimits> = {
  // kube-apiserver calls webhooks over HTTP/1.1 only (k8s.io/apiserver
  // util/webhook/client.go sets NextProtos to http/1.1), one connection per call
  // in progress, and keeps at most 25 of them idle per webhook Service
  // (client-go's transport: MaxIdleConnsPerHost 25, no MaxConnsPerHost), which
  // kube-proxy spreads over the replicas. Five API servers' idle pools plus
  // --max-inflight calls in progress and the probes fit 4 times over. 512
  // connections opened at once and held idle added about 50 MB to peak RSS
  // (bench/attack.ts, connect), a tenth of the Deployment's limit.
  maxConnections: 512,
  maxInflight: 32,
  maxBodyBytesInFlight: 16 * 1024 * 1024,
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  // --drain-delay (5 s) + this stays under the Deployment's 30 s grace period.
  shutdownTimeoutMs: 20_000,
};

export type ClaimsMode = 'api' | 'local';
export const CLAIMS_MODES: readonly ClaimsMode[] = ['api', 'local'];

/** --drain-delay: none without a cluster; in one, long enough for endpoints to drop the pod. */
export const DEFAULT_DRAIN_DELAY_MS = { standalone: 0, cluster: 5_000 } as const;
/** --self-namespace when neither $POD_NAMESPACE nor the service account says. */
export const DEFAULT_SELF_NAMESPACE = 'sidecar-guard';
export const DEFAULT_LOG_LEVEL = 'info';
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogFormat = 'json' | 'text';
export const LOG_FORMATS: readonly LogFormat[] = ['json', 'text'];

/** One command-line flag: how it parses, its default, and its line in --help. */
export interface FlagSpec {
  name: string;
  type: 'string' | 'boolean';
  /** Placeholder for the value in --help (HOST:PORT, MS, FILE). */
  arg?: string;
  short?: string;
  multiple?: boolean;
  default?: string | number | boolean;
  /** Shown as the default when it is decided at run time (environment, mode). */
  defaultText?: string;
  /** What the flag does; a newline starts a continuation line. "(default ...)" is added at the end. */
  help: string;
  /** A heading printed before this flag in --help. */
  section?: string;
}

/** --overlap, --root-namespace, --unknown-hosts, --cluster-domain: what every command's cross-object rules assume. */
export const RULE_FLAGS: readonly FlagSpec[] = [
  {
    name: 'overlap',
    type: 'string',
    arg: 'MODE',
    default: DEFAULT_OVERLAP,
    help: `${OVERLAP_MODES.join(' | ')}: when two workload selectors conflict: identical, or an\nexisting pod or pod template has both | some pod could | an existing pod has both\n(Istio's analyzer) | only identical`,
  },
  {
    name: 'root-namespace',
    type: 'string',
    arg: 'NS',
    default: DEFAULT_ROOT_NAMESPACE,
    help: "Istio's root namespace",
  },
  {
    name: 'unknown-hosts',
    type: 'string',
    arg: 'MODE',
    default: DEFAULT_UNKNOWN_HOSTS,
    help: `${UNKNOWN_HOSTS_MODES.join(' | ')}: egress hosts with no Service, ServiceEntry or namespace\nbehind them (host.unknown, KIA1004)`,
  },
  {
    name: 'cluster-domain',
    type: 'string',
    arg: 'DOMAIN',
    default: DEFAULT_CLUSTER_DOMAIN,
    help: 'the cluster DNS domain: a Service is NAME.NAMESPACE.svc.DOMAIN',
  },
];

const [OVERLAP_FLAG, ROOT_NAMESPACE_FLAG, UNKNOWN_HOSTS_FLAG, CLUSTER_DOMAIN_FLAG] = RULE_FLAGS as [
  FlagSpec,
  FlagSpec,
  FlagSpec,
  FlagSpec,
];

export const SERVE_FLAGS: readonly FlagSpec[] = [
  {
    name: 'standalone',
    type: 'boolean',
    default: false,
    help: 'no cluster: judge against the in-memory view from --state files',
  },
  {
    name: 'kubeconfig',
    type: 'string',
    arg: 'FILE',
    defaultText: '$KUBECONFIG, else ~/.kube/config, else the in-cluster service account',
    help: 'cluster mode with this kubeconfig',
  },
  {
    name: 'max-staleness',
    type: 'string',
    arg: 'MS',
    default: 60_000,
    help: '/readyz turns false when the cluster view lost the API server this long',
  },
  { name: 'listen', type: 'string', arg: 'HOST:PORT', default: '0.0.0.0:8443', help: 'HTTPS address' },
  {
    name: 'cert-dir',
    type: 'string',
    arg: 'DIR',
    default: 'certs',
    help: 'tls.crt/tls.key (and ca.crt); standalone mode creates them when missing',
  },
  {
    name: 'state',
    type: 'string',
    arg: 'PATH',
    multiple: true,
    help: '(standalone) objects that already exist: Sidecars, Pods, Namespaces, workloads,\nServices, ServiceEntries; repeatable',
  },
  OVERLAP_FLAG,
  ROOT_NAMESPACE_FLAG,
  UNKNOWN_HOSTS_FLAG,
  CLUSTER_DOMAIN_FLAG,
  {
    name: 'log-level',
    type: 'string',
    arg: 'LEVEL',
    defaultText: `$LOG_LEVEL, else ${DEFAULT_LOG_LEVEL}`,
    help: LOG_LEVELS.join(' | '),
  },
  {
    name: 'log-format',
    type: 'string',
    arg: 'json|text',
    defaultText: 'text when stdout is a terminal, else json',
    help: 'json: one JSON object per line (for log collectors);\ntext: one readable line per entry',
  },
  {
    name: 'claims',
    type: 'string',
    arg: 'MODE',
    defaultText: 'api in cluster mode, local standalone',
    help: 'api: before admitting a Sidecar write that could conflict, record a claim in the API server\n(a ConfigMap per namespace in --self-namespace, written with resourceVersion preconditions) that\nevery replica consults: no conflicting pair is admitted across any number of replicas, for one\nextra round trip per such write; local: remember admissions in this replica only (one replica)',
  },
  {
    name: 'claim-timeout',
    type: 'string',
    arg: 'MS',
    default: DEFAULT_CLAIM_TIMEOUT_MS,
    help: "(claims api) a claim not written within this (or the API server's own deadline) is\nanswered with HTTP 500, so the webhook's failurePolicy decides",
  },
  {
    name: 'reservation-ttl',
    type: 'string',
    arg: 'MS',
    default: DEFAULT_RESERVATION_TTL_MS,
    help: 'an admitted Sidecar the view has not shown this long after admission is presumed refused by\nthe API server, once the view is known to be current past that time (until then it still counts)',
  },
  {
    name: 'drain-delay',
    type: 'string',
    arg: 'MS',
    defaultText: `${DEFAULT_DRAIN_DELAY_MS.standalone} standalone, ${DEFAULT_DRAIN_DELAY_MS.cluster} in cluster`,
    help: 'on SIGTERM, report unready this long before closing the listener',
  },
  {
    name: 'shutdown-timeout',
    type: 'string',
    arg: 'MS',
    default: DEFAULT_SERVE_LIMITS.shutdownTimeoutMs,
    help: 'after the listener closed, wait this long for in-flight requests, then cut them;\na second SIGTERM/SIGINT exits at once',
  },
  {
    name: 'max-connections',
    type: 'string',
    arg: 'N',
    default: DEFAULT_SERVE_LIMITS.maxConnections,
    help: 'open connections of the HTTPS listener, idle ones included; more are closed at once\n(counted in sidecar_guard_connections_dropped_total)',
  },
  {
    name: 'max-inflight',
    type: 'string',
    arg: 'N',
    default: DEFAULT_SERVE_LIMITS.maxInflight,
    help: 'admission requests received or decided at once; more get 503 + Retry-After',
  },
  {
    name: 'max-body-bytes-in-flight',
    type: 'string',
    arg: 'N',
    default: DEFAULT_SERVE_LIMITS.maxBodyBytesInFlight,
    help: 'body bytes those requests may hold at once (each reserves its Content-Length;\nat least 7340032); see docs/reliability.md',
  },
  {
    name: 'request-timeout',
    type: 'string',
    arg: 'MS',
    default: DEFAULT_SERVE_LIMITS.requestTimeoutMs,
    help: 'a request (head and body) must arrive within this',
  },
  {
    name: 'headers-timeout',
    type: 'string',
    arg: 'MS',
    default: DEFAULT_SERVE_LIMITS.headersTimeoutMs,
    help: 'a request head must arrive within this, at most --request-timeout',
  },
  {
    name: 'self-namespace',
    type: 'string',
    arg: 'NS',
    defaultText: `$POD_NAMESPACE, else the service account's, else ${DEFAULT_SELF_NAMESPACE}`,
    help: 'the namespace sidecar-guard runs in',
  },
  {
    name: 'metrics-listen',
    type: 'string',
    arg: 'HOST:PORT',
    default: '0.0.0.0:9090',
    help: 'plain-HTTP Prometheus /metrics ("off" to disable)',
  },
  {
    name: 'client-ca',
    type: 'string',
    arg: 'FILE',
    help: 'require client certificates signed by this CA (mutual TLS with the API server)',
  },
  {
    name: 'tls-secret',
    type: 'string',
    arg: 'NAME',
    help: '(cluster) keep the CA and serving certificate in this Secret, rotate them and\npatch caBundle into the webhook configurations; without it, --cert-dir files are served',
  },
  {
    name: 'tls-service',
    type: 'string',
    arg: 'NAME',
    default: 'sidecar-guard',
    help: 'the Service name the serving certificate covers',
  },
  {
    name: 'tls-san',
    type: 'string',
    arg: 'NAME|IP',
    multiple: true,
    help: '(with --tls-secret) also cover this DNS name or IP address, for a webhook\nconfiguration that calls a url instead of the Service; repeatable',
  },
  {
    name: 'webhook-config',
    type: 'string',
    arg: 'NAME',
    default: DEFAULT_WEBHOOK_CONFIG,
    help: 'our Validating/MutatingWebhookConfiguration name',
  },
  {
    name: 'webhook-selector',
    type: 'string',
    arg: 'SEL',
    help: 'also patch every webhook configuration matching this label selector\n(e.g. app.kubernetes.io/name=sidecar-guard; needs RBAC list on them)',
  },
  {
    name: 'fail-closed-when-ready',
    type: 'boolean',
    default: false,
    help: '(cluster) once ready, and once a dry-run create of an invalid Sidecar in --self-namespace\ncomes back denied by this webhook (the API server reaches it), set failurePolicy: Fail on\nthe validating configurations (the manifests install them with Ignore so an install never blocks writes)',
  },
  {
    name: 'generate-defaults',
    type: 'string',
    arg: 'MODE',
    default: 'off',
    section: 'Namespace defaults (cluster mode; /mutate is always served):',
    help: 'off | label | all: keep a managed "default" Sidecar in namespaces labelled\n<defaults-label>=enabled, or in all namespaces but the exclusions',
  },
  {
    name: 'defaults-label',
    type: 'string',
    arg: 'NAME',
    default: DEFAULT_NAMESPACE_LABEL,
    help: 'namespace label that opts in',
  },
  {
    name: 'defaults-exclude',
    type: 'string',
    arg: 'NS',
    multiple: true,
    help: 'extra namespaces for "all" (kube-system, kube-public, kube-node-lease, the root and own namespace always)',
  },
  {
    name: 'defaults-config',
    type: 'string',
    arg: 'FILE',
    help: 'generator template (see "sidecar-guard generate --help")',
  },
  { name: 'defaults-deps', type: 'string', arg: 'FILE', help: 'dependency map (see "sidecar-guard generate --help")' },
  {
    name: 'defaults-prometheus',
    type: 'string',
    arg: 'URL',
    help: "also allow what each namespace's workloads called (Istio's metrics in this Prometheus);\nhosts are only added; unused ones are reported (log, Event, metric), not removed",
  },
  {
    name: 'defaults-window',
    type: 'string',
    arg: 'DURATION',
    default: '7d',
    help: 'with --defaults-prometheus: how far back calls count',
  },
  {
    name: 'defaults-refresh',
    type: 'string',
    arg: 'MS',
    default: 600_000,
    help: 'with --defaults-prometheus: how often the traffic is read again',
  },
  {
    name: 'defaults-collapse-threshold',
    type: 'string',
    arg: 'N',
    default: 0,
    help: 'with --defaults-prometheus: more than N called hosts in a namespace become ns/* (0: never)',
  },
  {
    name: 'defaults-prune',
    type: 'boolean',
    default: false,
    help: 'with --defaults-prometheus: remove hosts of managed defaults that no call used in the window',
  },
];

export function parseHostPort(value: string, flag: string): HostPort {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m) throw new Error(`${flag} must be HOST:PORT (e.g. 127.0.0.1:8443), got "${value}"`);
  if (port > 65535) throw new Error(`${flag}: the port must be 0 to 65535, got "${value}"`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

export const formatHostPort = ({ host, port }: HostPort): string =>
  host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;

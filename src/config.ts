// Everything `serve` can be told, already parsed and checked by cli.ts.
import type { DefaultsConfig } from './defaults/generate.js';
import type { OverlapMode } from './sidecar/selectors.js';

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
  logLevel: string;
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
  reservationTtlMs: number;
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
  };
}

/** Limits of the HTTPS listener and of shutdown (serve flags; the defaults suit production). */
export interface ServeLimits {
  /** Admission requests in flight at once; beyond, 503 + Retry-After (--max-inflight). */
  maxInflight: number;
  /** Whole request, body included (--request-timeout). */
  requestTimeoutMs: number;
  /** Request line and headers (--headers-timeout). */
  headersTimeoutMs: number;
  /** After the listener closed, how long in-flight requests may take before their connections are cut (--shutdown-timeout). */
  shutdownTimeoutMs: number;
}

export const DEFAULT_SERVE_LIMITS: Readonly<ServeLimits> = {
  maxInflight: 32,
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  // --drain-delay (5 s) + this stays under the Deployment's 30 s grace period.
  shutdownTimeoutMs: 20_000,
};

export function parseHostPort(value: string, flag: string): HostPort {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`${flag} must be HOST:PORT (e.g. 127.0.0.1:8443), got "${value}"`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

export const formatHostPort = ({ host, port }: HostPort): string => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

// Composition root of `serve`: configuration → cluster view → certificates →
// HTTPS app → listen → background controllers → signals (in cli.ts). The
// only place with process-level I/O for the server.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import { parseSources } from './manifests/documents.js';
import { clusterObjects, storeOf } from './manifests/state.js';
import type { ClusterInformers } from './cluster/informer.js';
import type { KubeClient } from './cluster/kube.js';
import { Reservations, sidecarViewCurrentAsOf } from './cluster/reservations.js';
import { ClusterStore } from './cluster/store.js';
import { DEFAULT_SERVE_LIMITS, formatHostPort, type LogFormat, type ServeConfig, type ServeLimits } from './config.js';
import type { DefaultsController } from './defaults/controller.js';
import { mutate } from './defaults/mutate.js';
import { buildApp } from './http/app.js';
import type { Readiness } from './http/health.js';
import { startMetricsServer, type MetricsServer } from './http/metrics-server.js';
import { createMetrics, type Metrics } from './metrics.js';
import { Admitter } from './cluster/admitter.js';
import { loadKubeClient } from './kubeconfig.js';
import { readFlagFile, readFlagSources, UsageError } from './sources.js';
import { WebhookConfigPatcher, failClosedWhenReady, proveReachable, type WebhookConfigTarget } from './tls/cabundle.js';
import { FileCertificateSource } from './tls/file-source.js';
import { CertFileError, ensureStandaloneCerts } from './tls/files.js';
import { hasExpired } from './tls/expiry.js';
import type { TlsManager } from './tls/manager.js';
import { reloadOnChange, type CertificateSource, type SecureContextTarget } from './tls/reloader.js';
import { serverTlsOptions } from './tls/server-options.js';

export interface RunningServer {
  url: string;
  metricsUrl?: string;
  app: FastifyInstance;
  store: ClusterStore;
  /** Drain and stop; resolves when every in-flight request has been answered. */
  shutdown(reason: string): Promise<void>;
}

/**
 * JSON lines (what log collectors read), or with format text one readable
 * line per entry through pino-pretty, written synchronously on this thread
 * like the JSON (no worker thread to lose lines at exit).
 */
export function createLogger(level: string, format: LogFormat = 'json'): Logger {
  const options = { level, base: { app: 'sidecar-guard' }, timestamp: pino.stdTimeFunctions.isoTime };
  // pino's default stream writes on a later tick: a line logged just before a crash or a kill would be
  // lost, and memory would grow while stdout's reader lags.
  if (format === 'json') return pino(options, pino.destination({ dest: 1, sync: true }));
  return pino(
    options,
    pretty({
      sync: true,
      singleLine: true,
      colorize: process.stdout.isTTY === true,
      translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
      ignore: 'pid,hostname,app',
    }),
  );
}

export async function serve(
  config: ServeConfig,
  logger: Logger = createLogger(config.logLevel, config.logFormat),
): Promise<RunningServer> {
  const limits: ServeLimits = { ...DEFAULT_SERVE_LIMITS, ...config.limits };
  const metrics = createMetrics();
  // A listener that throws (a bug) is logged; the informer that applied the change keeps watching.
  const store = new ClusterStore({
    onListenerError: (err, kind, namespace, name) =>
      logger.error(
        { err: (err as Error)?.message ?? String(err), kind, namespace, name },
        'a cluster view listener failed on a change',
      ),
  });
  // What has been started, undone in reverse if a later step fails: a failed
  // start must exit, not linger with informers retrying in the background.
  const teardown: (() => unknown)[] = [];
  try {
    // Cluster-only modules load on demand: client-node alone costs standalone
    // mode (make run, check) most of a second of start-up and 80 MB.
    if (config.mode === 'cluster' && !config.tlsSecret) requireMountedCertificate(config.certDir);
    const clientCaPem =
      config.clientCaFile !== undefined ? readFlagFile(config.clientCaFile, '--client-ca') : undefined;
    const cluster = config.mode === 'cluster' ? await loadClusterModules() : undefined;
    const client = cluster
      ? loadKubeClient(cluster.KubeClient, config.kubeconfig, '--standalone to run without a cluster')
      : undefined;
    const informers = client
      ? new cluster!.ClusterInformers(client, store, logger.child({ component: 'informer' }))
      : undefined;
    if (informers) {
      informers.start();
      teardown.push(() => informers.stop());
      metrics.trackInformers(() => informers.status());
    } else {
      loadState(store, config.statePaths, logger);
    }
    const admitter = newAdmitter(
      config,
      store,
      informers,
      client && config.claims === 'api' ? cluster!.ApiClaims : undefined,
      client,
      metrics,
    );
    const mutateOptions = { config: config.defaults.config, namespaceLabel: config.defaults.namespaceLabel };

    const certificates = await certificateSource(config, client, cluster, logger);
    teardown.push(() => certificates.stop?.());
    const serving = certificates.current();
    metrics.setCertificateExpiry(serving.notAfter);

    let draining = false;
    const readiness = (): Readiness => {
      const view = informers?.readiness(config.maxStalenessMs) ?? { ready: true, reasons: [] };
      const reasons = [
        ...(draining ? ['shutting down'] : []),
        ...expiredCertificate(certificates.current().notAfter),
        ...view.reasons,
      ];
      return { ready: reasons.length === 0, reasons };
    };
    const app = buildApp({
      validate: (r, context) => admitter.validate(r, context),
      mutate: (r) => mutate(r, store, mutateOptions),
      readiness,
      logger,
      observer: metrics,
      https: serverTlsOptions({
        certPem: serving.certPem,
        keyPem: serving.keyPem,
        ...(clientCaPem !== undefined ? { clientCaPem } : {}),
      }),
      timeouts: { requestMs: limits.requestTimeoutMs, headersMs: limits.headersTimeoutMs },
      limits: {
        maxConnections: limits.maxConnections,
        maxInflight: limits.maxInflight,
        maxBodyBytesInFlight: limits.maxBodyBytesInFlight,
      },
      draining: () => draining,
    });
    const stopReloading = reloadOnChange(app.server as unknown as SecureContextTarget, certificates, {
      ...(clientCaPem !== undefined ? { clientCaPem } : {}),
      logger,
    });
    certificates.onChange((m) => metrics.setCertificateExpiry(m.notAfter));

    const mode = config.mode === 'standalone' ? `standalone, CA ${config.certDir}/ca.crt` : 'cluster mode';
    await app.listen({
      host: config.listen.host,
      port: config.listen.port,
      // Fastify asks once per address: on 0.0.0.0, each interface's, so each line names a different URL.
      listenTextResolver: (address) => `sidecar-guard listening on ${address} (${mode}; Node.js ${process.version})`,
    });
    teardown.push(() => app.close());
    const url = urlOf(app, config);
    const stopFailClosed =
      client && config.failClosedWhenReady
        ? startFailClosed(client, config, () => readiness().ready, metrics, logger)
        : undefined;
    teardown.push(() => stopFailClosed?.());
    let metricsServer: MetricsServer | undefined;
    if (config.metricsListen)
      metricsServer = await startMetricsServer({
        ...config.metricsListen,
        registry: metrics.registry,
        readiness,
        logger,
        // The admission listener's deadlines; its connection cap is fixed (METRICS_MAX_CONNECTIONS).
        timeouts: { requestMs: limits.requestTimeoutMs, headersMs: limits.headersTimeoutMs },
        onConnectionDropped: () => metrics.metricsConnectionDropped(),
        onClientError: (status) => metrics.httpError('metrics', status),
      });
    const controller =
      client && informers && config.defaults.mode !== 'off'
        ? startDefaultsController(
            newDefaultsController(cluster!, client, store, config, metrics, logger),
            informers,
            config,
            logger,
          )
        : undefined;

    let stopping: Promise<void> | undefined;
    const shutdown = (reason: string): Promise<void> =>
      (stopping ??= (async () => {
        draining = true;
        logger.info({ reason, drainDelayMs: config.drainDelayMs }, 'shutting down: readiness off, draining');
        // The endpoints controller and kube-proxy notice /readyz before the
        // listener goes away; meanwhile new connections are still served and
        // every response closes its connection (see buildApp).
        if (config.drainDelayMs > 0) await new Promise((r) => setTimeout(r, config.drainDelayMs));
        logger.info('closing the listener; waiting for in-flight requests');
        await closeWithin(app, limits.shutdownTimeoutMs, logger);
        stopReloading();
        stopFailClosed?.();
        certificates.stop?.();
        // Informers first: a controller still waiting for the first sync gives up once they stop.
        await informers?.stop();
        await (await controller)?.stop();
        await metricsServer?.close();
        logger.info('stopped');
      })());
    return { url, ...(metricsServer ? { metricsUrl: metricsServer.url } : {}), app, store, shutdown };
  } catch (err) {
    for (const undo of teardown.reverse()) {
      try {
        await undo();
      } catch {
        // already failing: the original error is the one to report
      }
    }
    throw err;
  }
}

/**
 * In a cluster without --tls-secret the serving certificate is mounted into
 * --cert-dir; without one there is nothing to serve, and the reason should
 * say the three ways out rather than which file open failed.
 */
function requireMountedCertificate(dir: string): void {
  const missing = ['tls.crt', 'tls.key'].filter((f) => !existsSync(join(dir, f)));
  if (missing.length === 0) return;
  throw new UsageError(
    `--cert-dir ${dir} has no certificate (no ${missing.join(' or ')}): use --tls-secret NAME to have sidecar-guard keep one in a Secret, ` +
      `mount one there (cert-manager, or "sidecar-guard certs --out ${dir}"), or --standalone to run without a cluster`,
  );
}

type ClusterModules = Awaited<ReturnType<typeof loadClusterModules>>;

/**
 * The Admitter and what it remembers: reservations settled against the
 * informers' view, and with --claims=api the claims in the API server (in
 * --self-namespace). Claims stay there --max-staleness past their expiry
 * (plus the clock skew allowed between replicas); a replica whose view is
 * older than --max-staleness does not claim.
 */
function newAdmitter(
  config: ServeConfig,
  store: ClusterStore,
  informers: ClusterInformers | undefined,
  Claims: ClusterModules['ApiClaims'] | undefined,
  client: KubeClient | undefined,
  metrics: Metrics,
): Admitter {
  const replica = `${hostname()}/${process.pid}`;
  const pruneAfterMs = config.maxStalenessMs + CLOCK_SKEW_MS;
  const reservations = new Reservations({
    view: store,
    ...(informers
      ? {
          viewCurrentAsOf: () =>
            sidecarViewCurrentAsOf(
              informers.status().find((s) => s.resource === 'sidecars'),
              Date.now(),
            ),
        }
      : {}),
    replica,
    onExpiredUnobserved: () => metrics.claimExpiredUnobserved(),
    forgetAfterMs: pruneAfterMs + CLOCK_SKEW_MS,
  });
  metrics.trackReservations(() => reservations.size());
  const claims = Claims && client ? new Claims({ client, namespace: config.selfNamespace, pruneAfterMs }) : undefined;
  return new Admitter(reservations, {
    review: {
      overlap: config.overlap,
      rootNamespace: config.rootNamespace,
      ...(config.unknownHosts ? { unknownHosts: config.unknownHosts } : {}),
      ...(config.clusterDomain ? { clusterDomain: config.clusterDomain } : {}),
      defaultsOptIn: optInHint(config),
    },
    replica,
    ttlMs: config.reservationTtlMs,
    ...(claims ? { claims, claimTimeoutMs: config.claimTimeoutMs, maxViewAgeMs: config.maxStalenessMs } : {}),
    observer: metrics,
  });
}

/** How far apart the replicas' clocks may be: claims carry wall-clock expiry times. */
const CLOCK_SKEW_MS = 5_000;

/**
 * Where the serving certificate comes from: the self-managed Secret
 * (--tls-secret, cluster mode), or files in --cert-dir (created in standalone
 * mode when missing; in a cluster, mounted and re-read so renewals by
 * cert-manager or `sidecar-guard certs` are picked up without a restart).
 */
async function certificateSource(
  config: ServeConfig,
  client: KubeClient | undefined,
  cluster: ClusterModules | undefined,
  logger: Logger,
): Promise<CertificateSource & { stop?(): void }> {
  if (client && cluster && config.tlsSecret) {
    const tls = newTlsManager(cluster.TlsManager, client, config, logger);
    await tls.start();
    return tls;
  }
  try {
    if (config.mode === 'standalone') {
      const certs = ensureStandaloneCerts(config.certDir);
      if (certs.created) logger.info({ certDir: config.certDir }, 'generated a self-signed CA and serving certificate');
      if (certs.renewed)
        logger.info(
          { certDir: config.certDir },
          'renewed the serving certificate from the CA already there (ca.crt kept)',
        );
    }
    return new FileCertificateSource(config.certDir, { logger, renewHint: renewHint(config) });
  } catch (err) {
    if (!(err instanceof CertFileError)) throw err;
    const remedy =
      config.mode === 'standalone'
        ? 'remove the files there to have new ones generated'
        : `mount a matching pair there (cert-manager, or "sidecar-guard certs --out ${config.certDir}")`;
    throw new UsageError(`--cert-dir ${config.certDir}: ${err.message}; ${remedy}`);
  }
}

/**
 * An expired serving certificate is served (with an error in the log, see
 * FileCertificateSource) rather than refused at start-up, and this replica
 * reports not ready meanwhile: every admission call fails TLS whichever way,
 * but a running process picks up the renewed files within a minute of the
 * kubelet updating the mount (a crash loop waits out its back-off, up to
 * 5 minutes, and exports no expiry metric meanwhile), and not ready takes it
 * out of the Service's endpoints so replicas whose mount is already renewed
 * get the calls, and keeps --fail-closed-when-ready from setting Fail.
 */
function expiredCertificate(notAfter: Date, now = new Date()): string[] {
  return hasExpired(notAfter, now) ? [`serving certificate expired at ${notAfter.toISOString()}`] : [];
}

/** What an expiring --cert-dir certificate's log line says to do. */
function renewHint(config: ServeConfig): string {
  return config.mode === 'standalone'
    ? `remove the files in ${config.certDir} and restart to have a new pair generated`
    : 'renew it where it comes from (cert-manager: see the Certificate\'s status; by hand: "sidecar-guard certs" into the mounted Secret); it is re-read every minute, no restart needed';
}

/**
 * Stops accepting connections and waits for the requests in flight; past the
 * timeout (a client still trickling a body) their connections are cut so the
 * process can exit before the kubelet's SIGKILL.
 */
async function closeWithin(app: FastifyInstance, timeoutMs: number, logger: Logger): Promise<void> {
  const force = setTimeout(() => {
    logger.warn({ timeoutMs }, 'in-flight requests still open after the shutdown timeout: closing their connections');
    app.server.closeAllConnections();
  }, timeoutMs);
  try {
    await app.close();
  } finally {
    clearTimeout(force);
  }
}

/**
 * failurePolicy: Fail once ready and once a dry-run create of an invalid
 * Sidecar in our own namespace comes back denied by this webhook (the API
 * server reaches it); each proof is a metric, each failed one a log line.
 */
function startFailClosed(
  client: KubeClient,
  config: ServeConfig,
  ready: () => boolean,
  metrics: Metrics,
  logger: Logger,
): () => void {
  const patcher = new WebhookConfigPatcher(client, webhookTarget(config));
  return failClosedWhenReady(patcher, {
    ready,
    prove: () => proveReachable(client, patcher, config.selfNamespace),
    onProof: (proof) => metrics.webhookReachability(proof),
    logger,
  });
}

/** Our webhook configurations: by name, and by label when --webhook-selector is given. */
function webhookTarget(config: ServeConfig): WebhookConfigTarget {
  return {
    names: [config.webhookConfig],
    ...(config.webhookSelector ? { labelSelector: config.webhookSelector } : {}),
  };
}

async function loadClusterModules() {
  const [kube, informer, defaults, tls, claims, prometheus] = await Promise.all([
    import('./cluster/kube.js'),
    import('./cluster/informer.js'),
    import('./defaults/controller.js'),
    import('./tls/manager.js'),
    import('./cluster/claims.js'),
    import('./traffic/prometheus.js'),
  ]);
  return {
    KubeClient: kube.KubeClient,
    ClusterInformers: informer.ClusterInformers,
    DefaultsController: defaults.DefaultsController,
    TlsManager: tls.TlsManager,
    ApiClaims: claims.ApiClaims,
    PrometheusClient: prometheus.PrometheusClient,
  };
}

function newTlsManager(
  Manager: typeof TlsManager,
  client: KubeClient,
  config: ServeConfig,
  logger: Logger,
): TlsManager {
  return new Manager({
    client,
    namespace: config.selfNamespace,
    secretName: config.tlsSecret!,
    service: config.tlsService,
    extraDnsNames: (config.tlsExtraNames ?? []).filter((n) => isIP(n) === 0),
    ipAddresses: (config.tlsExtraNames ?? []).filter((n) => isIP(n) !== 0),
    webhooks: webhookTarget(config),
    logger,
  });
}

/** How a namespace leaves generated defaults, as the denial of a duplicate should say it. */
function optInHint(config: ServeConfig): string {
  return config.defaults.mode === 'all'
    ? 'restart sidecar-guard with --defaults-exclude for it'
    : `remove its ${config.defaults.namespaceLabel} label`;
}

function controllerOptions(config: ServeConfig, cluster: ClusterModules) {
  const traffic = config.defaults.traffic;
  return {
    config: config.defaults.config,
    mode: config.defaults.mode === 'all' ? ('all' as const) : ('label' as const),
    namespaceLabel: config.defaults.namespaceLabel,
    exclude: [config.selfNamespace, ...config.defaults.exclude],
    overlap: config.overlap,
    ...(traffic
      ? {
          traffic: {
            source: new cluster.PrometheusClient(traffic.url),
            window: traffic.window,
            intervalMs: traffic.intervalMs,
            prune: traffic.prune,
            collapseThreshold: traffic.collapseThreshold,
          },
        }
      : {}),
  };
}

/** The namespace-default controller; with --defaults-prometheus, its unused-host reports feed a metric. */
function newDefaultsController(
  cluster: ClusterModules,
  client: KubeClient,
  store: ClusterStore,
  config: ServeConfig,
  metrics: Metrics,
  logger: Logger,
): DefaultsController {
  const controller = new cluster.DefaultsController(
    client,
    store,
    logger.child({ component: 'defaults' }),
    controllerOptions(config, cluster),
  );
  controller.onUnusedHosts((namespace, hosts, pruned) =>
    metrics.defaultsUnusedHosts(namespace, pruned ? 0 : hosts.length, pruned ? hosts.length : 0),
  );
  return controller;
}

/** The controller starts once the view has synced, so start-up covers every existing namespace. */
async function startDefaultsController(
  controller: DefaultsController,
  informers: ClusterInformers,
  config: ServeConfig,
  logger: Logger,
): Promise<DefaultsController | undefined> {
  if (!(await informers.whenSynced())) return undefined;
  controller.start();
  logger.info({ mode: config.defaults.mode }, 'namespace-default controller started');
  return controller;
}

/** The URL actually bound (port 0 picks a free port). */
function urlOf(app: FastifyInstance, config: ServeConfig): string {
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.listen.port;
  return `https://${formatHostPort({ host: config.listen.host, port })}`;
}

function loadState(store: ClusterStore, paths: readonly string[], logger: Logger): void {
  if (paths.length === 0) return;
  storeOf(clusterObjects(parseSources(readFlagSources(paths, '--state')), 'default'), store);
  logger.info({ ...store.counts() }, 'loaded cluster state from --state files');
}

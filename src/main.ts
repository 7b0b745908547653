// Composition root of `serve`: configuration → certificates → cluster view →
// HTTPS app → listen → signals. The only place with process-level I/O for
// the server.
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { parseSources } from './check/documents.js';
import { ClusterStore } from './cluster/store.js';
import { Reservations } from './cluster/reservations.js';
import { formatHostPort, type ServeConfig } from './config.js';
import { buildApp } from './http/app.js';
import type { Readiness } from './http/health.js';
import { Admitter } from './sidecar/admitter.js';
import { readSources } from './sources.js';
import { ensureStandaloneCerts, readCertFiles } from './tls/files.js';
import { ClusterInformers } from './cluster/informer.js';
import { KubeClient } from './cluster/kube.js';
import { DefaultsController } from './defaults/controller.js';
import { mutate } from './defaults/mutate.js';

export interface RunningServer {
  url: string;
  app: FastifyInstance;
  store: ClusterStore;
  /** Drain and stop; resolves when every in-flight request has been answered. */
  shutdown(reason: string): Promise<void>;
}

export function createLogger(level: string): Logger {
  return pino({ level, base: { app: 'sidecar-guard' }, timestamp: pino.stdTimeFunctions.isoTime });
}

export async function serve(config: ServeConfig, logger: Logger = createLogger(config.logLevel)): Promise<RunningServer> {
  const store = new ClusterStore();
  let informers: ClusterInformers | undefined;
  let client: KubeClient | undefined;
  if (config.mode === 'standalone') {
    loadState(store, config.statePaths, logger);
  } else {
    client = KubeClient.load(config.kubeconfig);
    informers = new ClusterInformers(client, store, logger);
    informers.start();
  }
  const reservations = new Reservations(config.reservationTtlMs);
  store.onChange((kind, namespace, name) => kind === 'Sidecar' && reservations.observed(namespace, name));
  const admitter = new Admitter(store, reservations, { overlap: config.overlap, rootNamespace: config.rootNamespace });
  const mutateOptions = { config: config.defaults.config, namespaceLabel: config.defaults.namespaceLabel };

  const serving = servingCertificate(config, logger);

  let draining = false;
  const readiness = (): Readiness => {
    const view = informers?.readiness(config.maxStalenessMs) ?? { ready: true, reasons: [] };
    const reasons = draining ? ['shutting down', ...view.reasons] : view.reasons;
    return { ready: reasons.length === 0, reasons };
  };
  const app = buildApp({
    validate: (r) => admitter.validate(r),
    mutate: (r) => mutate(r, store, mutateOptions),
    readiness,
    logger,
    https: { key: serving.keyPem, cert: serving.certPem },
  });
  const mode = config.mode === 'standalone' ? `standalone, CA ${config.certDir}/ca.crt` : 'cluster mode';
  await app.listen({
    host: config.listen.host,
    port: config.listen.port,
    listenTextResolver: () => `sidecar-guard listening on ${urlOf(app, config)} (${mode})`,
  });
  const url = urlOf(app, config);

  const controller = client && config.defaults.mode !== 'off' ? startDefaultsController(client, store, informers!, config, logger) : undefined;

  let stopping: Promise<void> | undefined;
  const shutdown = (reason: string): Promise<void> =>
    (stopping ??= (async () => {
      draining = true;
      logger.info({ reason, drainDelayMs: config.drainDelayMs }, 'shutting down: readiness off, draining');
      if (config.drainDelayMs > 0) await new Promise((r) => setTimeout(r, config.drainDelayMs));
      await app.close();
      await (await controller)?.stop();
      await informers?.stop();
      logger.info('stopped');
    })());
  return { url, app, store, shutdown };
}

/** The controller starts once the view has synced, so start-up covers every existing namespace. */
async function startDefaultsController(client: KubeClient, store: ClusterStore, informers: ClusterInformers, config: ServeConfig, logger: Logger): Promise<DefaultsController> {
  const controller = new DefaultsController(client, store, logger.child({ component: 'defaults' }), {
    config: config.defaults.config,
    mode: config.defaults.mode === 'all' ? 'all' : 'label',
    namespaceLabel: config.defaults.namespaceLabel,
    exclude: [config.selfNamespace, ...config.defaults.exclude],
  });
  while (!informers.synced() && !informers.isStopped()) await new Promise((r) => setTimeout(r, 200).unref());
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

function servingCertificate(config: ServeConfig, logger: Logger): { certPem: string; keyPem: string } {
  if (config.mode === 'standalone') {
    const certs = ensureStandaloneCerts(config.certDir);
    if (certs.created) logger.info({ certDir: config.certDir }, 'generated a self-signed CA and serving certificate');
    return certs.serving;
  }
  return readCertFiles(config.certDir).serving;
}

function loadState(store: ClusterStore, paths: readonly string[], logger: Logger): void {
  if (paths.length === 0) return;
  for (const m of parseSources(readSources(paths))) {
    if (!m.ok) throw new Error(`--state ${m.file}:${m.position.line}: ${m.message}`);
    const obj = m.object as { kind?: unknown };
    if (obj.kind === 'Sidecar') store.upsertSidecar(obj);
    else if (obj.kind === 'Pod') store.upsertPod(obj);
    else if (obj.kind === 'Namespace') store.upsertNamespace(obj);
  }
  logger.info({ ...store.counts() }, 'loaded cluster state from --state files');
}

// Keeps a managed namespace-default Sidecar in every namespace that asks for
// one (label, or --generate-defaults=all minus exclusions) and has no
// namespace-wide Sidecar of its own. Like Kyverno's generate rules: covers
// existing namespaces at start-up, recreates on delete, updates when the
// template changes, never touches objects it did not create, and is safe
// with several replicas without leader election (create-if-absent,
// AlreadyExists/Conflict mean "someone else did it": re-read and move on).
import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import type { KubeClient } from '../cluster/kube.js';
import { isStatus } from '../cluster/kube-errors.js';
import type { ClusterStore } from '../cluster/store.js';
import { isManaged, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../sidecar/managed.js';
import { judge } from '../sidecar/review.js';
import { DEFAULT_OVERLAP, type OverlapMode } from '../sidecar/selectors.js';
import { errorsOf } from '../sidecar/violation.js';
import { WorkQueue } from '../util/work-queue.js';
import { generateDefault, TEMPLATE_HASH_ANNOTATION, type DefaultsConfig, type GeneratedSidecar } from './generate.js';

export const ALWAYS_EXCLUDED = ['kube-system', 'kube-public', 'kube-node-lease'];

export interface ControllerOptions {
  config: DefaultsConfig;
  /** label: only namespaces labelled `<namespaceLabel>=enabled`; all: every namespace except the exclusions. */
  mode: 'label' | 'all';
  namespaceLabel: string;
  /** Our own namespace and any extra ones; kube-system, kube-public, kube-node-lease and the root namespace are always added. */
  exclude: string[];
  /** How the webhook judges selector conflicts (--overlap), so the controller never writes what it would deny. */
  overlap?: OverlapMode;
  /** How often every namespace is looked at again, whatever changed (default 5 min). */
  resyncMs?: number;
  /** First retry of a namespace whose reconcile failed; each further failure doubles it (default 1 s). */
  retryMs?: number;
  /** The longest a failing namespace waits for its next try (default 5 min). */
  maxRetryMs?: number;
}

/** refused: the webhook's pipeline would deny the generated object (a template Istio refuses): nothing is written. */
export type Action = 'created' | 'updated' | 'unchanged' | 'skipped' | 'refused';

const sidecarsPath = (ns: string) => `/apis/networking.istio.io/v1/namespaces/${encodeURIComponent(ns)}/sidecars`;

export const DEFAULT_RESYNC_MS = 5 * 60_000;
export const DEFAULT_RETRY_MS = 1_000;
export const DEFAULT_MAX_RETRY_MS = 5 * 60_000;

export class DefaultsController {
  /** Namespaces to reconcile: de-duplicated, one at a time, failures retried with per-namespace backoff. */
  private readonly queue: WorkQueue<string>;
  private stopped = false;
  private resync: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly excluded: Set<string>;
  private worker: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<(namespace: string, action: Action) => void>();
  /** Aborts the API calls in flight on stop(), so shutdown never waits for a hung API server. */
  private readonly halt = new AbortController();

  constructor(
    private readonly client: KubeClient,
    private readonly store: ClusterStore,
    private readonly logger: Logger,
    private readonly options: ControllerOptions,
  ) {
    this.excluded = new Set([...ALWAYS_EXCLUDED, options.config.rootNamespace, ...options.exclude]);
    this.queue = new WorkQueue({ baseDelayMs: options.retryMs ?? DEFAULT_RETRY_MS, maxDelayMs: options.maxRetryMs ?? DEFAULT_MAX_RETRY_MS });
    // Every call in flight (Event POSTs are not awaited) listens on it: more than 10 is no leak.
    setMaxListeners(0, this.halt.signal);
  }

  /** Call once the informers have synced, so start-up covers every existing namespace. */
  start(): void {
    this.unsubscribe = this.store.onChange((kind, namespace, name) => {
      if (kind === 'Namespace') this.enqueue(name);
      else if (kind === 'Sidecar') this.enqueue(namespace);
    });
    for (const ns of this.store.namespaceNames()) this.enqueue(ns);
    this.resync = setInterval(() => this.store.namespaceNames().forEach((ns) => this.enqueue(ns)), this.options.resyncMs ?? DEFAULT_RESYNC_MS);
    this.resync.unref();
    this.worker = this.work();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    clearInterval(this.resync);
    this.queue.shutDown();
    this.halt.abort();
    await this.worker;
  }

  /** Resolves when no namespace is queued or being reconciled (retries waiting for their backoff do not count). */
  settled(): Promise<void> {
    return this.queue.whenIdle();
  }

  /** Calls the listener after each reconcile that finished (not after one that failed); returns the unsubscribe. */
  onReconciled(listener: (namespace: string, action: Action) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  wants(namespace: string): boolean {
    const ns = this.store.namespace(namespace);
    if (!ns) return false;
    if (this.options.mode === 'all') return !this.excluded.has(namespace);
    return ns.labels[this.options.namespaceLabel] === 'enabled';
  }

  private enqueue(namespace: string): void {
    if (this.stopped || namespace === '') return;
    this.queue.add(namespace);
  }

  /** The one worker: namespaces are reconciled one at a time, in the order they were queued. */
  private async work(): Promise<void> {
    for (let namespace = await this.queue.get(); namespace !== undefined; namespace = await this.queue.get()) {
      try {
        const action = await this.reconcile(namespace);
        this.queue.forget(namespace);
        for (const listener of this.listeners) listener(namespace, action);
      } catch (err) {
        if (!this.stopped) {
          // aborted by stop(): nothing to retry
          const retryInMs = this.queue.addRateLimited(namespace);
          this.logger.warn({ namespace, err: (err as Error).message, failures: this.queue.failuresOf(namespace), retryInMs }, 'namespace default: reconcile failed, retrying');
        }
      } finally {
        this.queue.done(namespace);
      }
    }
  }

  async reconcile(namespace: string): Promise<Action> {
    if (!this.wants(namespace)) return 'skipped';
    const wanted = generateDefault(namespace, this.options.config);
    const namespaceWide = this.store.namespaceWide(namespace);
    const ours = namespaceWide.find((s) => s.name === wanted.metadata.name && isManaged(s));
    if (namespaceWide.length === 0) return this.create(wanted);
    if (!ours || namespaceWide.length > 1) return 'unchanged'; // the namespace has its own default: hands off
    if (ours.annotations[TEMPLATE_HASH_ANNOTATION] === wanted.metadata.annotations[TEMPLATE_HASH_ANNOTATION]) return 'unchanged';
    return this.update(wanted);
  }

  private async create(wanted: GeneratedSidecar): Promise<Action> {
    const { namespace, name } = wanted.metadata;
    if (this.refuses(wanted, undefined, wanted.metadata)) return 'refused';
    try {
      await this.client.request('POST', sidecarsPath(namespace), { body: wanted, signal: this.halt.signal });
    } catch (err) {
      if (isStatus(err, 'AlreadyExists')) return 'unchanged'; // another replica (or the user) was first
      throw err;
    }
    this.record(namespace, name, 'Created', `created the namespace-default Sidecar ${namespace}/${name}`);
    return 'created';
  }

  private async update(wanted: GeneratedSidecar): Promise<Action> {
    const { namespace, name } = wanted.metadata;
    const path = `${sidecarsPath(namespace)}/${encodeURIComponent(name)}`;
    let current: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string>; resourceVersion?: string } } & Record<string, unknown>;
    try {
      current = (await this.client.request<typeof current>('GET', path, { signal: this.halt.signal })).body;
    } catch (err) {
      if (isStatus(err, 'NotFound')) return this.create(wanted);
      throw err;
    }
    if (current.metadata?.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY_VALUE) return 'unchanged'; // the user took the name over
    const next = {
      ...current,
      metadata: { ...current.metadata, annotations: { ...current.metadata?.annotations, ...wanted.metadata.annotations } },
      spec: wanted.spec,
    };
    if (this.refuses(next, current, wanted.metadata)) return 'refused';
    try {
      await this.client.request('PUT', path, { body: next, signal: this.halt.signal });
    } catch (err) {
      if (isStatus(err, 'Conflict')) {
        this.enqueue(namespace); // changed under us: decide again from a fresh read
        return 'unchanged';
      }
      throw err;
    }
    this.record(namespace, name, 'Updated', `updated the namespace-default Sidecar ${namespace}/${name} to the current template`);
    return 'updated';
  }

  /**
   * The webhook's own pipeline on what is about to be written: a template
   * with a host Istio refuses would otherwise be denied by the API server
   * and retried for ever. Logged, not retried (the template needs fixing).
   */
  private refuses(object: unknown, current: Record<string, unknown> | undefined, { namespace, name }: GeneratedSidecar['metadata']): boolean {
    const options = { overlap: this.options.overlap ?? DEFAULT_OVERLAP, rootNamespace: this.options.config.rootNamespace, rejectUnknownFields: false };
    const errors = errorsOf(judge({ object, oldObject: current, ref: { namespace, name } }, this.store, options));
    if (errors.length === 0) return false;
    this.logger.warn({ namespace, name, rules: errors.map((v) => v.rule), errors: errors.map((v) => `${v.path}: ${v.message}`) }, 'namespace default: the generated Sidecar would be denied; not writing it (fix the template)');
    return true;
  }

  /** One log line per action, and a Kubernetes Event on the Sidecar when RBAC allows. */
  private record(namespace: string, name: string, reason: string, message: string): void {
    this.logger.info({ namespace, name, reason }, message);
    const now = new Date().toISOString();
    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { generateName: `${name}.`, namespace },
      involvedObject: { apiVersion: 'networking.istio.io/v1', kind: 'Sidecar', namespace, name },
      reason,
      message,
      type: 'Normal',
      source: { component: 'sidecar-guard' },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    this.client.request('POST', `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`, { body: event, signal: this.halt.signal }).catch((err: Error) => {
      this.logger.debug({ err: err.message }, 'could not record an Event');
    });
  }
}

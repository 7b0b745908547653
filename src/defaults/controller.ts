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
  resyncMs?: number;
  retryMs?: number;
}

/** refused: the webhook's pipeline would deny the generated object (a template Istio refuses): nothing is written. */
export type Action = 'created' | 'updated' | 'unchanged' | 'skipped' | 'refused';

const sidecarsPath = (ns: string) => `/apis/networking.istio.io/v1/namespaces/${encodeURIComponent(ns)}/sidecars`;

export class DefaultsController {
  private readonly queue = new Set<string>();
  private running = false;
  private stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private unsubscribe: (() => void) | undefined;
  private readonly excluded: Set<string>;
  private idle: Promise<void> = Promise.resolve();
  /** Aborts the API calls in flight on stop(), so shutdown never waits for a hung API server. */
  private readonly halt = new AbortController();

  constructor(
    private readonly client: KubeClient,
    private readonly store: ClusterStore,
    private readonly logger: Logger,
    private readonly options: ControllerOptions,
  ) {
    this.excluded = new Set([...ALWAYS_EXCLUDED, options.config.rootNamespace, ...options.exclude]);
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
    const resync = setInterval(() => this.store.namespaceNames().forEach((ns) => this.enqueue(ns)), this.options.resyncMs ?? 5 * 60_000);
    resync.unref();
    this.timers.add(resync);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.halt.abort();
    await this.idle;
  }

  /** Resolves when the queue is empty (for tests and shutdown). */
  settled(): Promise<void> {
    return this.idle;
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
    if (this.running) return;
    // Start on a later turn of the event loop: a burst of notifications (a
    // re-list, a chunk of watch events) is then handled on the view as it is
    // after the whole burst, not on the first object of it.
    this.running = true;
    this.idle = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.drain());
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.size > 0 && !this.stopped) {
        const [namespace] = this.queue;
        this.queue.delete(namespace!);
        try {
          await this.reconcile(namespace!);
        } catch (err) {
          if (this.stopped) break; // aborted by stop(): nothing to retry
          this.logger.warn({ namespace, err: (err as Error).message }, 'namespace default: reconcile failed, retrying');
          const retry = setTimeout(() => {
            this.timers.delete(retry);
            this.enqueue(namespace!);
          }, this.options.retryMs ?? 5_000);
          retry.unref();
          this.timers.add(retry);
        }
      }
    } finally {
      this.running = false;
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

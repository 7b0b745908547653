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
import { egressHostsOf } from '../sidecar/records.js';
import { judge } from '../sidecar/review.js';
import { DEFAULT_OVERLAP, type OverlapMode } from '../sidecar/selectors.js';
import { errorsOf } from '../sidecar/violation.js';
import { WorkQueue } from '../util/work-queue.js';
import { hostsFor, edgesByNamespace, type ObservedTraffic } from '../traffic/edges.js';
import {
  generateDefault,
  normaliseHosts,
  TEMPLATE_HASH_ANNOTATION,
  templateHash,
  type DefaultsConfig,
  type GeneratedSidecar,
} from './generate.js';

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
  /** Observed traffic (--defaults-prometheus): hosts are added from it; see TrafficOptions. */
  traffic?: TrafficOptions;
}

/** Where the traffic comes from (the Prometheus client) and what the controller may do with it. */
export interface TrafficOptions {
  source: { url: string; traffic(query: { window: string }, signal?: AbortSignal): Promise<ObservedTraffic> };
  /** A Prometheus duration (7d). */
  window: string;
  /** How often the traffic is read again (default 10 min). */
  intervalMs?: number;
  /**
   * Without it, hosts are only ever added: a host of a managed default that
   * no call used in the window is reported (log, Event, listener) and kept.
   * With it, such hosts are removed.
   */
  prune: boolean;
  collapseThreshold?: number;
}

export const DEFAULT_TRAFFIC_INTERVAL_MS = 10 * 60_000;

/** refused: the webhook's pipeline would deny the generated object (a template Istio refuses): nothing is written. */
export type Action = 'created' | 'updated' | 'unchanged' | 'skipped' | 'refused';

const sidecarsPath = (ns: string) => `/apis/networking.istio.io/v1/namespaces/${encodeURIComponent(ns)}/sidecars`;

/** The template hash a generated Sidecar's metadata carries (generateDefault always sets it). */
const hashOf = (metadata: GeneratedSidecar['metadata']): string => metadata.annotations[TEMPLATE_HASH_ANNOTATION] ?? '';

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
  /** Hosts each namespace's workloads called in the window; undefined until Prometheus first answered. */
  private observed: Map<string, string[]> | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> = Promise.resolve();
  /** The unused hosts last reported per namespace, so a report is made when they change, not on every pass. */
  private readonly reported = new Map<string, string>();
  private readonly unusedListeners = new Set<(namespace: string, hosts: readonly string[], pruned: boolean) => void>();
  /** The template hash this replica last wrote per namespace: finding the default changed away from it means a contest. */
  private readonly written = new Map<string, string>();
  /** Namespaces whose default another writer changed back: how many rewrites in a row, and the hold before the next. */
  private readonly contested = new Map<string, { rewrites: number; hold?: NodeJS.Timeout }>();
  /** Namespaces where a Sidecar of the user's with a selector holds the default's name (warned once until that changes). */
  private readonly nameTaken = new Set<string>();
  /** The refused spec (template hash and why) last warned about per namespace: a bad template is told once, not on every reconcile. */
  private readonly refused = new Map<string, string>();

  constructor(
    private readonly client: KubeClient,
    private readonly store: ClusterStore,
    private readonly logger: Logger,
    private readonly options: ControllerOptions,
  ) {
    this.excluded = new Set([...ALWAYS_EXCLUDED, options.config.rootNamespace, ...options.exclude]);
    this.queue = new WorkQueue({
      baseDelayMs: options.retryMs ?? DEFAULT_RETRY_MS,
      maxDelayMs: options.maxRetryMs ?? DEFAULT_MAX_RETRY_MS,
    });
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
    this.resync = setInterval(() => {
      for (const ns of this.store.namespaceNames()) this.enqueue(ns);
    }, this.options.resyncMs ?? DEFAULT_RESYNC_MS);
    this.resync.unref();
    this.worker = this.work();
    const traffic = this.options.traffic;
    if (traffic) {
      this.refreshing = this.refresh();
      this.refreshTimer = setInterval(() => {
        this.refreshing = this.refreshing.then(() => this.refresh());
      }, traffic.intervalMs ?? DEFAULT_TRAFFIC_INTERVAL_MS);
      this.refreshTimer.unref();
    }
  }

  /**
   * Reads the traffic again and queues every namespace. A failure keeps what
   * was read before (hosts are never taken away because Prometheus is down);
   * until a first answer, managed defaults are neither created nor changed.
   */
  async refresh(): Promise<void> {
    const traffic = this.options.traffic;
    if (!traffic || this.stopped) return;
    try {
      const observed = await traffic.source.traffic({ window: traffic.window }, this.halt.signal);
      const next = new Map<string, string[]>();
      for (const [ns, edges] of edgesByNamespace(observed.edges))
        next.set(ns, hostsFor(edges, traffic.collapseThreshold ?? 0));
      this.observed = next;
      this.logger.info(
        { url: traffic.source.url, window: traffic.window, edges: observed.edges.length, namespaces: next.size },
        'namespace defaults: read the observed traffic',
      );
      for (const ns of this.store.namespaceNames()) this.enqueue(ns);
    } catch (err) {
      if (this.stopped) return;
      this.logger.warn(
        {
          url: traffic.source.url,
          err: (err as Error).message,
          keeping: this.observed ? 'the traffic read before' : 'nothing yet: no default is created or changed',
        },
        'namespace defaults: cannot read the observed traffic',
      );
    }
  }

  /** Calls the listener with the hosts of a managed default that no call used in the window (pruned: they were removed). */
  onUnusedHosts(listener: (namespace: string, hosts: readonly string[], pruned: boolean) => void): () => void {
    this.unusedListeners.add(listener);
    return () => this.unusedListeners.delete(listener);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    clearInterval(this.resync);
    clearInterval(this.refreshTimer);
    for (const { hold } of this.contested.values()) clearTimeout(hold);
    this.queue.shutDown();
    this.halt.abort();
    await this.worker;
    await this.refreshing;
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
    // A namespace being deleted: the API server refuses every create there (403), and its content goes anyway.
    if (!ns || ns.terminating) return false;
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
          this.logger.warn(
            { namespace, err: (err as Error).message, failures: this.queue.failuresOf(namespace), retryInMs },
            'namespace default: reconcile failed, retrying',
          );
        }
      } finally {
        this.queue.done(namespace);
      }
    }
  }

  async reconcile(namespace: string): Promise<Action> {
    if (!this.wants(namespace)) {
      this.forgetWrites(namespace);
      return 'skipped';
    }
    if (this.options.traffic && !this.observed) return 'skipped'; // no traffic read yet: a default now could cut calls off
    const generated = generateDefault(namespace, this.options.config, this.observed?.get(namespace) ?? []);
    const namespaceWide = this.store.namespaceWide(namespace);
    const ours = namespaceWide.find((s) => s.name === generated.metadata.name && isManaged(s));
    if (namespaceWide.length === 0) {
      const taken = this.store.sidecar(namespace, generated.metadata.name);
      if (taken && !isManaged(taken)) return this.warnNameTaken(namespace, taken.name);
      this.nameTaken.delete(namespace);
      return this.create(generated);
    }
    if (!ours || namespaceWide.length > 1) return 'unchanged'; // the namespace has its own default: hands off
    const current = ours.egressHosts ?? [];
    const wanted = this.keepingUnused(generated, current);
    if (ours.annotations[TEMPLATE_HASH_ANNOTATION] === wanted.metadata.annotations[TEMPLATE_HASH_ANNOTATION]) {
      if (this.options.traffic) this.reportUnused(namespace, ours.name, this.unusedHosts(generated, current), false);
      return 'unchanged';
    }
    return this.update(generated);
  }

  /**
   * With observed traffic and without --defaults-prune, what to write instead
   * of `generated`: it plus every host the managed default has now (hosts
   * are only ever added). Without traffic, `generated` itself (the template
   * decides alone, as before).
   */
  private keepingUnused(generated: GeneratedSidecar, current: readonly string[]): GeneratedSidecar {
    if (!this.options.traffic || this.options.traffic.prune) return generated;
    const hosts = normaliseHosts(generated.metadata.namespace, [...generated.spec.egress[0]!.hosts, ...current]);
    const spec = { ...generated.spec, egress: [{ hosts }] };
    return {
      ...generated,
      metadata: {
        ...generated.metadata,
        annotations: { ...generated.metadata.annotations, [TEMPLATE_HASH_ANNOTATION]: templateHash(spec) },
      },
      spec,
    };
  }

  /** Hosts of the current default that the generated one does not have or cover: no call used them in the window. */
  private unusedHosts(generated: GeneratedSidecar, current: readonly string[]): string[] {
    const namespace = generated.metadata.namespace;
    const hosts = generated.spec.egress[0]!.hosts;
    return current.filter((h) => !hosts.includes(h) && normaliseHosts(namespace, [...hosts, h]).length > hosts.length);
  }

  /** Log, Event and listeners for the unused hosts of a managed default, once per change. */
  private reportUnused(namespace: string, name: string, unused: readonly string[], pruned: boolean): void {
    const key = `${pruned}:${unused.join(',')}`;
    if ((this.reported.get(namespace) ?? 'false:') === key) return;
    this.reported.set(namespace, key);
    for (const listener of this.unusedListeners) listener(namespace, unused, pruned);
    if (unused.length === 0) return;
    const window = this.options.traffic!.window;
    if (pruned)
      this.record(
        namespace,
        name,
        'PrunedHosts',
        `removed ${unused.length} egress host(s) no call used in the last ${window} (--defaults-prune): ${unused.join(', ')}`,
      );
    else
      this.record(
        namespace,
        name,
        'UnusedHosts',
        `${unused.length} egress host(s) had no call in the last ${window}; kept (removing needs --defaults-prune): ${unused.join(', ')}`,
        'Warning',
      );
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
    this.written.set(namespace, hashOf(wanted.metadata));
    this.record(namespace, name, 'Created', `created the namespace-default Sidecar ${namespace}/${name}`);
    return 'created';
  }

  private async update(generated: GeneratedSidecar): Promise<Action> {
    const { namespace, name } = generated.metadata;
    const path = `${sidecarsPath(namespace)}/${encodeURIComponent(name)}`;
    let current: {
      metadata?: { labels?: Record<string, string>; annotations?: Record<string, string>; resourceVersion?: string };
    } & Record<string, unknown>;
    try {
      current = (await this.client.request<typeof current>('GET', path, { signal: this.halt.signal })).body;
    } catch (err) {
      if (isStatus(err, 'NotFound')) return this.create(generated);
      throw err;
    }
    if (current.metadata?.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY_VALUE) return 'unchanged'; // the user took the name over
    // Against the object as it is now, not the view's copy: hosts added since are kept too.
    const currentHosts = egressHostsOf(current) ?? [];
    const unused = this.options.traffic ? this.unusedHosts(generated, currentHosts) : [];
    const wanted = this.keepingUnused(generated, currentHosts);
    if (
      current.metadata?.annotations?.[TEMPLATE_HASH_ANNOTATION] ===
      wanted.metadata.annotations[TEMPLATE_HASH_ANNOTATION]
    ) {
      if (this.options.traffic) this.reportUnused(namespace, name, unused, false);
      return 'unchanged';
    }
    const next = {
      ...current,
      metadata: {
        ...current.metadata,
        annotations: { ...current.metadata?.annotations, ...wanted.metadata.annotations },
      },
      spec: wanted.spec,
    };
    if (this.refuses(next, current, wanted.metadata)) return 'refused';
    const hash = hashOf(wanted.metadata);
    if (this.written.get(namespace) === hash && !this.mayRewrite(namespace, name)) return 'unchanged';
    try {
      await this.client.request('PUT', path, { body: next, signal: this.halt.signal });
    } catch (err) {
      if (isStatus(err, 'Conflict')) {
        this.enqueue(namespace); // changed under us: decide again from a fresh read
        return 'unchanged';
      }
      throw err;
    }
    this.written.set(namespace, hash);
    this.record(
      namespace,
      name,
      'Updated',
      `updated the namespace-default Sidecar ${namespace}/${name} to the current template${this.options.traffic ? ' and observed traffic' : ''}`,
    );
    if (this.options.traffic) this.reportUnused(namespace, name, unused, this.options.traffic.prune);
    return 'updated';
  }

  /**
   * This replica wrote the wanted version before and someone changed it
   * back: another replica with another template (a rollout of a new
   * --defaults-config), each one's write being the other's watch event.
   * One rewrite now, then none until a hold (1 s, doubling, at most
   * 5 min, like a failed reconcile) has passed, so a contest costs a few
   * writes, not a loop at full API speed. False while on hold; the hold's
   * end queues the namespace again.
   */
  private mayRewrite(namespace: string, name: string): boolean {
    const contest = this.contested.get(namespace) ?? { rewrites: 0 };
    if (contest.hold) return false;
    const holdMs = Math.min(
      (this.options.retryMs ?? DEFAULT_RETRY_MS) * 2 ** contest.rewrites,
      this.options.maxRetryMs ?? DEFAULT_MAX_RETRY_MS,
    );
    contest.rewrites++;
    contest.hold = setTimeout(() => {
      contest.hold = undefined;
      this.enqueue(namespace);
    }, holdMs);
    contest.hold.unref();
    this.contested.set(namespace, contest);
    this.logger.warn(
      { namespace, name, rewrites: contest.rewrites, holdMs },
      'namespace default: changed to another version since this replica wrote it (another replica with a different template, as during a rollout?); rewriting it, and not again before the hold ends',
    );
    return true;
  }

  /**
   * The create could only fail with AlreadyExists, on every event and
   * resync: write nothing, and say once why the namespace has no default.
   */
  private warnNameTaken(namespace: string, name: string): Action {
    if (!this.nameTaken.has(namespace))
      this.logger.warn(
        { namespace, name },
        `namespace default: ${namespace}/${name} is not sidecar-guard's and has a workloadSelector: no namespace default is written (rename that Sidecar, or give the template another name)`,
      );
    this.nameTaken.add(namespace);
    return 'unchanged';
  }

  /** The namespace is no longer managed: its write history and any hold go. */
  private forgetWrites(namespace: string): void {
    this.written.delete(namespace);
    clearTimeout(this.contested.get(namespace)?.hold);
    this.contested.delete(namespace);
    this.nameTaken.delete(namespace);
    this.refused.delete(namespace);
  }

  /**
   * The webhook's own pipeline on what is about to be written: a template
   * with a host Istio refuses would otherwise be denied by the API server
   * and retried for ever. Not retried (the template needs fixing); logged
   * once per namespace and refused spec, as every resync and Sidecar event
   * reconciles again.
   */
  private refuses(
    object: unknown,
    current: Record<string, unknown> | undefined,
    metadata: GeneratedSidecar['metadata'],
  ): boolean {
    const options = {
      overlap: this.options.overlap ?? DEFAULT_OVERLAP,
      rootNamespace: this.options.config.rootNamespace,
      rejectUnknownFields: false,
    };
    const { namespace, name } = metadata;
    const errors = errorsOf(judge({ object, oldObject: current, ref: { namespace, name } }, this.store, options));
    if (errors.length === 0) {
      this.refused.delete(namespace);
      return false;
    }
    const hash = hashOf(metadata);
    const why = errors.map((v) => `${v.path}: ${v.message}`);
    const key = [hash, ...why].join('\n');
    if (this.refused.get(namespace) === key) return true;
    this.refused.set(namespace, key);
    this.logger.warn(
      { namespace, name, hash, rules: errors.map((v) => v.rule), errors: why },
      'namespace default: the generated Sidecar would be denied; not writing it (fix the template)',
    );
    return true;
  }

  /** One log line per action, and a Kubernetes Event on the Sidecar when RBAC allows. */
  private record(
    namespace: string,
    name: string,
    reason: string,
    message: string,
    type: 'Normal' | 'Warning' = 'Normal',
  ): void {
    this.logger[type === 'Normal' ? 'info' : 'warn']({ namespace, name, reason }, message);
    const now = new Date().toISOString();
    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { generateName: `${name}.`, namespace },
      involvedObject: { apiVersion: 'networking.istio.io/v1', kind: 'Sidecar', namespace, name },
      reason,
      message,
      type,
      source: { component: 'sidecar-guard' },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    this.client
      .request('POST', `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`, {
        body: event,
        signal: this.halt.signal,
      })
      .catch((err: Error) => {
        this.logger.debug({ err: err.message }, 'could not record an Event');
      });
  }
}

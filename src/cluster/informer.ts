// List+watch of Sidecars, Pods, Namespaces, workloads (Deployments,
// StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs), Services and
// ServiceEntries into the ClusterStore, like
// client-go's reflector: list, watch from the list's resourceVersion, re-watch
// when a stream ends or stays quiet too long (no re-list: nothing was missed),
// back off when streams end at once, re-list on 410 Gone or any error (with
// backoff), and keep serving the last good view meanwhile.
//
// client-node's ListWatch is not used because it caches whole objects; at
// 100,000 pods that is hundreds of MB. Here each event is reduced at once to
// the few fields the rules read (see src/sidecar/records.ts), and lists are
// metadata-only (pods) or reduced page by page (workloads, whose pod specs
// are kilobytes each; Services to their ports; ServiceEntries).
import type { Logger } from 'pino';
import { slimService, slimServiceEntry, slimWorkload } from '../sidecar/records.js';
import type { WorkloadKind } from '../sidecar/view.js';
import { isStatus } from './kube-errors.js';
import type { KubeClient, WatchEnd, WatchEvent } from './kube.js';
import type { ClusterStore } from './store.js';

/** Whether the view is fit to decide on, and if not, why (one short phrase each); /readyz reports it. */
export interface ViewReadiness {
  ready: boolean;
  reasons: string[];
}

type Kind = 'Sidecar' | 'Pod' | 'Namespace' | WorkloadKind | 'Service' | 'ServiceEntry';

export interface ResourceSpec {
  kind: Kind;
  /** Plural for messages and metrics. */
  name: string;
  path: string;
  /** Lists can ask for metadata only (a PartialObjectMetadataList). */
  listAccept?: string;
  /**
   * Watches too (each event's object a PartialObjectMetadata): a pod event
   * then carries about 1 KB of metadata instead of a whole Pod, parsed on
   * the thread that serves admissions.
   */
  watchAccept?: string;
  /** Keeps only what the store reads, page by page, so a re-list never holds every full object at once. */
  slim?: (obj: unknown) => unknown;
  /**
   * A CustomResourceDefinition that may not be installed (ServiceEntries
   * without Istio's CRDs): a 404 on list counts as an empty, synced list,
   * and the list is tried again after the longest backoff. So does a 403,
   * with a warning: a ClusterRole from before the kind was watched.
   */
  optional?: boolean;
  replace(store: ClusterStore, items: unknown[]): void;
  /** Instead of replace: applies the list page by page as it arrives (pods: see ClusterStore.relistPods). */
  relist?: (store: ClusterStore) => { add(items: readonly unknown[]): void; done(): void };
  upsert(store: ClusterStore, obj: unknown): void;
  remove(store: ClusterStore, namespace: string, name: string): void;
}

/** Asks for a PartialObjectMetadataList (falls back to full objects where the server cannot). */
const METADATA_ONLY = 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json';
/** The same for a watch, whose events carry one object each (client-go's metadata informer asks so). */
export const METADATA_ONLY_WATCH = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';

export const RESOURCES: readonly ResourceSpec[] = [
  {
    kind: 'Sidecar',
    name: 'sidecars',
    // One served version is enough: the API server stores all three as one object.
    path: '/apis/networking.istio.io/v1/sidecars',
    replace: (s, items) => s.replaceSidecars(items),
    upsert: (s, o) => void s.upsertSidecar(o),
    remove: (s, ns, n) => s.deleteSidecar(ns, n),
  },
  {
    kind: 'Pod',
    name: 'pods',
    path: '/api/v1/pods',
    listAccept: METADATA_ONLY,
    watchAccept: METADATA_ONLY_WATCH,
    slim: podMetadata,
    replace: (s, items) => s.replacePods(items),
    relist: (s) => s.relistPods(),
    upsert: (s, o) => s.upsertPod(o),
    remove: (s, ns, n) => s.deletePod(ns, n),
  },
  {
    kind: 'Namespace',
    name: 'namespaces',
    path: '/api/v1/namespaces',
    replace: (s, items) => s.replaceNamespaces(items),
    upsert: (s, o) => s.upsertNamespace(o),
    remove: (s, _ns, n) => s.deleteNamespace(n),
  },
  workload('Deployment', 'deployments', '/apis/apps/v1/deployments'),
  workload('StatefulSet', 'statefulsets', '/apis/apps/v1/statefulsets'),
  workload('DaemonSet', 'daemonsets', '/apis/apps/v1/daemonsets'),
  workload('ReplicaSet', 'replicasets', '/apis/apps/v1/replicasets'),
  workload('Job', 'jobs', '/apis/batch/v1/jobs'),
  workload('CronJob', 'cronjobs', '/apis/batch/v1/cronjobs'),
  // VMs and other workloads outside Kubernetes: their proxies take Sidecars by these labels. Istio's CRDs.
  { ...workload('WorkloadEntry', 'workloadentries', '/apis/networking.istio.io/v1/workloadentries'), optional: true },
  { ...workload('WorkloadGroup', 'workloadgroups', '/apis/networking.istio.io/v1/workloadgroups'), optional: true },
  {
    kind: 'Service',
    name: 'services',
    path: '/api/v1/services',
    // The rules need a Service's name, its exportTo annotation and its port numbers (host.port): full
    // objects, reduced page by page to those (a Service's spec is small; pods stay metadata-only).
    slim: slimService,
    replace: (s, items) => s.replaceServices(items),
    upsert: (s, o) => s.upsertService(o),
    remove: (s, ns, n) => s.deleteService(ns, n),
  },
  {
    kind: 'ServiceEntry',
    name: 'serviceentries',
    path: '/apis/networking.istio.io/v1/serviceentries',
    slim: slimServiceEntry,
    optional: true,
    replace: (s, items) => s.replaceServiceEntries(items),
    upsert: (s, o) => s.upsertServiceEntry(o),
    remove: (s, ns, n) => s.deleteServiceEntry(ns, n),
  },
];

/** A workload kind: full objects (the template's labels are in the spec), reduced page by page. */
function workload(kind: WorkloadKind, name: string, path: string): ResourceSpec {
  return {
    kind,
    name,
    path,
    slim: (o) => slimWorkload(o, kind),
    replace: (s, items) => s.replaceWorkloads(kind, items),
    upsert: (s, o) => s.upsertWorkload(o, kind),
    remove: (s, ns, n) => s.deleteWorkload(kind, ns, n),
  };
}

/** A pod as the rules see it: name, namespace, labels, annotations (for ambient mode and gateway injection). */
function podMetadata(obj: unknown): unknown {
  const m = ((obj as { metadata?: Record<string, unknown> } | undefined)?.metadata ?? {}) as Record<string, unknown>;
  return { metadata: { name: m.name, namespace: m.namespace, labels: m.labels, annotations: m.annotations } };
}

/**
 * Default for InformerOptions.watchInactivityTimeoutMs. kube-apiserver sends
 * a BOOKMARK to a quiet watch about once a minute, so 150 s lets one bookmark
 * be late or missing before a healthy watch is cut, while a connection that
 * died without a FIN or RST (a NAT or load balancer forgetting it) is noticed
 * within a few minutes instead of never. Cutting a watch is cheap either way:
 * it is re-opened from the last resourceVersion.
 */
export const DEFAULT_WATCH_INACTIVITY_MS = 150_000;

/** Page size of lists, as client-go's reflector uses. */
export const LIST_PAGE_SIZE = 500;

/**
 * Pages one list may take: a million objects, several times Kubernetes'
 * published limits (150,000 pods). An API server (or something posing as
 * one) that hands out continue tokens for ever would otherwise keep a list,
 * and `audit`, going without end.
 */
export const MAX_LIST_PAGES = 2_000;

/**
 * A paginated list (limit/continue), each page reduced before the next is
 * read; with `onPage`, each page is handed over instead of collected.
 */
export async function listAll(
  client: Pick<KubeClient, 'request'>,
  spec: ResourceSpec,
  signal?: AbortSignal,
  onPage?: (items: unknown[]) => void,
): Promise<{ items: unknown[]; resourceVersion: string | undefined }> {
  const items: unknown[] = [];
  let resourceVersion: string | undefined;
  let cont: string | undefined;
  let pages = 0;
  do {
    if (++pages > MAX_LIST_PAGES)
      throw new Error(`listing ${spec.path} did not end after ${MAX_LIST_PAGES} pages of ${LIST_PAGE_SIZE}`);
    const { body } = await client.request<{ items?: unknown[]; metadata?: Meta & { continue?: string } }>(
      'GET',
      spec.path,
      {
        accept: spec.listAccept,
        query: { limit: LIST_PAGE_SIZE, continue: cont },
        signal,
      },
    );
    const page = Array.isArray(body?.items) ? body.items : [];
    const reduced = spec.slim ? page.map(spec.slim) : page;
    if (onPage) onPage(reduced);
    else for (const item of reduced) items.push(item);
    // The first page's resourceVersion is the list's: watching from it misses nothing.
    resourceVersion ??= body?.metadata?.resourceVersion;
    const next = body?.metadata?.continue || undefined;
    // The same token again would ask for the same page again, for ever.
    if (next !== undefined && next === cont)
      throw new Error(`listing ${spec.path}: the API server returned the same continue token twice`);
    cont = next;
  } while (cont);
  return { items, resourceVersion };
}

/**
 * Lists a kind into the store: replaced at once, or page by page where the
 * kind says so (spec.relist). An error or abort mid-list leaves the pages
 * already applied, each object as new as the list; the caller lists again.
 */
export async function listInto(
  client: Pick<KubeClient, 'request'>,
  spec: ResourceSpec,
  store: ClusterStore,
  signal?: AbortSignal,
): Promise<{ items: number; resourceVersion: string | undefined }> {
  if (!spec.relist) {
    const { items, resourceVersion } = await listAll(client, spec, signal);
    if (signal?.aborted) return { items: items.length, resourceVersion };
    spec.replace(store, items);
    return { items: items.length, resourceVersion };
  }
  const relist = spec.relist(store);
  let count = 0;
  const { resourceVersion } = await listAll(client, spec, signal, (page) => {
    count += page.length;
    relist.add(page);
  });
  if (!signal?.aborted) relist.done();
  return { items: count, resourceVersion };
}

export interface InformerOptions {
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Server-side watch timeout; streams are re-opened from the last resourceVersion. */
  watchTimeoutSeconds?: number;
  /**
   * A watch that receives nothing (not even a bookmark) for this long is
   * closed and re-opened from the last resourceVersion, without a re-list:
   * it catches connections that died silently. Default
   * DEFAULT_WATCH_INACTIVITY_MS (150 s).
   */
  watchInactivityTimeoutMs?: number;
  now?: () => number;
}

export interface ReflectorStatus {
  resource: string;
  synced: boolean;
  connected: boolean;
  lastSyncAt?: number;
  /** Since when the watch has been down (undefined while connected). */
  disconnectedSince?: number;
  lastError?: string;
  lists: number;
}

interface Meta {
  namespace?: string;
  name?: string;
  resourceVersion?: string;
}

/**
 * client-go's rule: a watch that the server ended within a second without
 * delivering anything is a failure for backoff purposes, or a server that
 * closes every watch at once would be asked again in a tight loop.
 */
export const SHORT_WATCH_MS = 1_000;

/** What the loop does after a watch: re-list (410), retry after a backoff (short watch), or re-watch at once. */
type WatchOutcome = 'expired' | 'short' | 'ended';

class Reflector {
  private rv: string | undefined;
  private stopped = false;
  /** Aborts the list or watch in flight on stop(), so shutdown never waits for a hung API server. */
  private readonly halt = new AbortController();
  private wake: (() => void) | undefined;
  readonly status: ReflectorStatus;
  private readonly now: () => number;

  constructor(
    private readonly client: KubeClient,
    private readonly spec: ResourceSpec,
    private readonly store: ClusterStore,
    private readonly logger: Logger,
    private readonly opts: Required<InformerOptions>,
    /** Called after every completed list (the first one makes this resource synced). */
    private readonly onListed: () => void,
  ) {
    this.now = opts.now;
    this.status = { resource: spec.name, synced: false, connected: false, disconnectedSince: this.now(), lists: 0 };
  }

  async run(): Promise<void> {
    let backoff = this.opts.initialBackoffMs;
    while (!this.stopped) {
      try {
        if (this.rv === undefined && !(await this.list())) {
          await this.sleep(this.opts.maxBackoffMs);
          continue;
        }
        const outcome = await this.watchOnce();
        if (this.stopped) break;
        if (outcome === 'expired') {
          this.logger.info({ resource: this.spec.name }, 'watch expired (410 Gone): re-listing');
          this.rv = undefined;
        } else if (outcome === 'short') {
          // The view is still current up to this.rv: back off, then re-watch without a re-list.
          this.logger.warn(
            { resource: this.spec.name, backoffMs: backoff },
            'watch ended at once without events; re-watching after a backoff',
          );
          await this.sleep(backoff);
          backoff = Math.min(backoff * 2, this.opts.maxBackoffMs);
          continue;
        }
        backoff = this.opts.initialBackoffMs;
      } catch (err) {
        if (this.stopped) break;
        this.disconnected(err);
        this.rv = undefined; // the view may have missed events: list again once the server answers
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, this.opts.maxBackoffMs);
      }
    }
  }

  stop(): void {
    this.stopped = true;
    this.halt.abort();
    this.wake?.();
  }

  /** Lists and replaces the kind in the store; false when an optional resource is not served (nothing to watch). */
  private async list(): Promise<boolean> {
    let listed;
    try {
      listed = await listInto(this.client, this.spec, this.store, this.halt.signal);
    } catch (err) {
      const forbidden = isStatus(err, '403');
      if (!this.spec.optional || !(isStatus(err, '404') || forbidden)) throw err;
      if (!this.status.synced) {
        // Forbidden: RBAC from before the kind was added (an upgrade that kept its own ClusterRole). The
        // webhook still serves; the rules that read the kind see none until the grant exists.
        if (forbidden)
          this.logger.warn(
            { resource: this.spec.name },
            'list forbidden (the ClusterRole lacks list/watch on it): treated as empty, checked again later',
          );
        else
          this.logger.info(
            { resource: this.spec.name },
            'not served (CRD not installed): treated as empty, checked again later',
          );
      }
      this.spec.replace(this.store, []);
      this.markSynced();
      return false;
    }
    const { items, resourceVersion } = listed;
    if (this.stopped) return true;
    this.rv = resourceVersion ?? '';
    this.markSynced();
    this.logger.debug({ resource: this.spec.name, items, resourceVersion: this.rv }, 'listed');
    return true;
  }

  private markSynced(): void {
    this.status.synced = true;
    this.status.lastSyncAt = this.now();
    this.status.lists++;
    this.status.connected = true;
    this.status.disconnectedSince = undefined;
    this.status.lastError = undefined;
    this.onListed();
  }

  private async watchOnce(): Promise<WatchOutcome> {
    let expired = false;
    let events = 0;
    const started = performance.now(); // real elapsed time, whatever opts.now says
    const onEvent = (e: WatchEvent) => {
      if (e.type === 'ERROR') {
        expired ||= (e.object as { code?: number } | undefined)?.code === 410;
        return;
      }
      events++; // bookmarks count: they prove the stream works
      this.apply(e);
    };
    let end: WatchEnd;
    try {
      end = await this.client.watch(
        this.spec.path,
        {
          resourceVersion: this.rv || undefined,
          allowWatchBookmarks: true,
          timeoutSeconds: this.opts.watchTimeoutSeconds,
        },
        onEvent,
        {
          signal: this.halt.signal,
          inactivityTimeoutMs: this.opts.watchInactivityTimeoutMs,
          onOpen: () => this.connected(),
          ...(this.spec.watchAccept ? { accept: this.spec.watchAccept } : {}),
        },
      );
    } catch (err) {
      if (isStatus(err, '410')) return 'expired';
      throw err;
    } finally {
      this.status.connected = false;
      this.status.disconnectedSince ??= this.now();
    }
    if (expired) return 'expired';
    if (end === 'inactive') {
      // Nothing arrived, not even a bookmark: reconnect from this.rv, nothing was missed.
      this.logger.debug({ resource: this.spec.name, resourceVersion: this.rv }, 'quiet watch timed out: re-watching');
      return 'ended';
    }
    if (end === 'closed' && events === 0 && performance.now() - started < SHORT_WATCH_MS) return 'short';
    return 'ended';
  }

  private connected(): void {
    this.status.connected = true;
    this.status.disconnectedSince = undefined;
    this.status.lastError = undefined;
  }

  private apply(e: WatchEvent): void {
    const meta = ((e.object as { metadata?: Meta } | undefined)?.metadata ?? {}) as Meta;
    if (meta.resourceVersion) this.rv = meta.resourceVersion;
    if (e.type === 'ADDED' || e.type === 'MODIFIED') this.spec.upsert(this.store, e.object);
    else if (e.type === 'DELETED' && meta.name) this.spec.remove(this.store, meta.namespace ?? '', meta.name);
  }

  private disconnected(err: unknown): void {
    this.status.connected = false;
    this.status.disconnectedSince ??= this.now();
    this.status.lastError = (err as Error)?.message ?? String(err);
    this.logger.warn(
      { resource: this.spec.name, err: this.status.lastError },
      'list/watch failed; serving the last good view and retrying',
    );
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }
}

export class ClusterInformers {
  private readonly reflectors: Reflector[];
  private running: Promise<void>[] = [];
  private readonly now: () => number;
  private resolveSynced: (synced: boolean) => void = () => {};
  private readonly syncedSignal = new Promise<boolean>((resolve) => (this.resolveSynced = resolve));

  constructor(client: KubeClient, store: ClusterStore, logger: Logger, options: InformerOptions = {}) {
    const opts: Required<InformerOptions> = {
      initialBackoffMs: options.initialBackoffMs ?? 1_000,
      maxBackoffMs: options.maxBackoffMs ?? 30_000,
      watchTimeoutSeconds: options.watchTimeoutSeconds ?? 300,
      watchInactivityTimeoutMs: options.watchInactivityTimeoutMs ?? DEFAULT_WATCH_INACTIVITY_MS,
      now: options.now ?? Date.now,
    };
    this.now = opts.now;
    const listed = () => this.synced() && this.resolveSynced(true);
    this.reflectors = RESOURCES.map((spec) => new Reflector(client, spec, store, logger, opts, listed));
  }

  start(): void {
    this.running = this.reflectors.map((r) => r.run());
  }

  async stop(): Promise<void> {
    this.resolveSynced(false);
    for (const r of this.reflectors) r.stop();
    await Promise.allSettled(this.running);
  }

  status(): ReflectorStatus[] {
    return this.reflectors.map((r) => ({ ...r.status }));
  }

  synced(): boolean {
    return this.reflectors.every((r) => r.status.synced);
  }

  /** Resolves true once every resource has been listed, or false if stop() comes first. */
  whenSynced(): Promise<boolean> {
    return this.syncedSignal;
  }

  /** Ready once every resource has been listed, and while none has been cut off for longer than maxStalenessMs. */
  readiness(maxStalenessMs: number): ViewReadiness {
    const reasons: string[] = [];
    const now = this.now();
    for (const s of this.status()) {
      if (!s.synced) reasons.push(`${s.resource} not listed yet${s.lastError ? ` (${s.lastError})` : ''}`);
      else if (s.disconnectedSince !== undefined && now - s.disconnectedSince > maxStalenessMs) {
        reasons.push(
          `${s.resource} view stale for ${Math.round((now - s.disconnectedSince) / 1000)}s${s.lastError ? ` (${s.lastError})` : ''}`,
        );
      }
    }
    return { ready: reasons.length === 0, reasons };
  }
}

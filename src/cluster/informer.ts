// List+watch of Sidecars, Pods and Namespaces into the ClusterStore, like
// client-go's reflector: list, watch from the list's resourceVersion, re-watch
// when a stream ends, re-list on 410 Gone or any error (with backoff), and
// keep serving the last good view meanwhile.
//
// client-node's ListWatch is not used because it caches whole objects; at
// 100,000 pods that is hundreds of MB. Here each event is reduced at once to
// the few fields the rules read (see records.ts).
import type { Logger } from 'pino';
import type { Readiness } from '../http/health.js';
import type { KubeClient, WatchEvent } from './kube.js';
import type { ClusterStore } from './store.js';

type Kind = 'Sidecar' | 'Pod' | 'Namespace';

export interface ResourceSpec {
  kind: Kind;
  /** Plural for messages and metrics. */
  name: string;
  path: string;
  /** Lists can ask for metadata only; watch events are reduced on arrival anyway. */
  listAccept?: string;
  /** Keeps only what the store reads, page by page, so a re-list never holds every full object at once. */
  slim?: (obj: unknown) => unknown;
  replace(store: ClusterStore, items: unknown[]): void;
  upsert(store: ClusterStore, obj: unknown): void;
  remove(store: ClusterStore, namespace: string, name: string): void;
}

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
    listAccept: 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json',
    slim: podMetadata,
    replace: (s, items) => s.replacePods(items),
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
];

/** A pod as the rules see it: name, namespace, labels (annotations for ambient mode in audit). */
function podMetadata(obj: unknown): unknown {
  const m = ((obj as { metadata?: Record<string, unknown> } | undefined)?.metadata ?? {}) as Record<string, unknown>;
  return { metadata: { name: m.name, namespace: m.namespace, labels: m.labels, annotations: m.annotations } };
}

/** Page size of lists, as client-go's reflector uses. */
export const LIST_PAGE_SIZE = 500;

/** A paginated list (limit/continue), each page reduced before the next is read. */
export async function listAll(client: KubeClient, spec: ResourceSpec): Promise<{ items: unknown[]; resourceVersion: string | undefined }> {
  const items: unknown[] = [];
  let resourceVersion: string | undefined;
  let cont: string | undefined;
  do {
    const { body } = await client.request<{ items?: unknown[]; metadata?: Meta & { continue?: string } }>('GET', spec.path, {
      accept: spec.listAccept,
      query: { limit: LIST_PAGE_SIZE, continue: cont },
    });
    const page = Array.isArray(body?.items) ? body.items : [];
    for (const item of page) items.push(spec.slim ? spec.slim(item) : item);
    // The first page's resourceVersion is the list's: watching from it misses nothing.
    resourceVersion ??= body?.metadata?.resourceVersion;
    cont = body?.metadata?.continue || undefined;
  } while (cont);
  return { items, resourceVersion };
}

export interface InformerOptions {
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Server-side watch timeout; streams are re-opened from the last resourceVersion. */
  watchTimeoutSeconds?: number;
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

class Reflector {
  private rv: string | undefined;
  private stopped = false;
  private current: AbortController | undefined;
  private wake: (() => void) | undefined;
  readonly status: ReflectorStatus;
  private readonly now: () => number;

  constructor(
    private readonly client: KubeClient,
    private readonly spec: ResourceSpec,
    private readonly store: ClusterStore,
    private readonly logger: Logger,
    private readonly opts: Required<InformerOptions>,
  ) {
    this.now = opts.now;
    this.status = { resource: spec.name, synced: false, connected: false, disconnectedSince: this.now(), lists: 0 };
  }

  async run(): Promise<void> {
    let backoff = this.opts.initialBackoffMs;
    while (!this.stopped) {
      try {
        if (this.rv === undefined) await this.list();
        const ended = await this.watchOnce();
        if (ended.expired) {
          this.logger.info({ resource: this.spec.name }, 'watch expired (410 Gone): re-listing');
          this.rv = undefined;
        } else if (ended.error && !this.stopped) {
          throw ended.error;
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
    this.current?.abort();
    this.wake?.();
  }

  private async list(): Promise<void> {
    const { items, resourceVersion } = await listAll(this.client, this.spec);
    this.spec.replace(this.store, items);
    if (this.spec.kind === 'Pod') this.store.markPodsKnown();
    this.rv = resourceVersion ?? '';
    this.status.synced = true;
    this.status.lastSyncAt = this.now();
    this.status.lists++;
    this.logger.debug({ resource: this.spec.name, items: items.length, resourceVersion: this.rv }, 'listed');
  }

  private async watchOnce(): Promise<{ expired: boolean; error?: unknown }> {
    let expired = false;
    let ended = false;
    let resolveEnd!: (r: { expired: boolean; error?: unknown }) => void;
    const end = new Promise<{ expired: boolean; error?: unknown }>((r) => (resolveEnd = r));
    const onEvent = (e: WatchEvent) => {
      if (e.type === 'ERROR') {
        expired ||= (e.object as { code?: number } | undefined)?.code === 410;
        return;
      }
      this.apply(e);
    };
    const onDone = (err: unknown) => {
      ended = true;
      this.current = undefined;
      this.status.connected = false;
      this.status.disconnectedSince ??= this.now();
      const gone = (err as { statusCode?: number } | null)?.statusCode === 410;
      resolveEnd({ expired: expired || gone, error: expired || gone ? undefined : err ?? undefined });
    };
    const controller = await this.client.watch(
      this.spec.path,
      { resourceVersion: this.rv || undefined, allowWatchBookmarks: true, timeoutSeconds: this.opts.watchTimeoutSeconds },
      onEvent,
      onDone,
    );
    if (!ended) {
      this.current = controller;
      this.status.connected = true;
      this.status.disconnectedSince = undefined;
      this.status.lastError = undefined;
      if (this.stopped) controller.abort();
    }
    return end;
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
    this.logger.warn({ resource: this.spec.name, err: this.status.lastError }, 'list/watch failed; serving the last good view and retrying');
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

  constructor(client: KubeClient, store: ClusterStore, logger: Logger, options: InformerOptions = {}) {
    const opts: Required<InformerOptions> = {
      initialBackoffMs: options.initialBackoffMs ?? 1_000,
      maxBackoffMs: options.maxBackoffMs ?? 30_000,
      watchTimeoutSeconds: options.watchTimeoutSeconds ?? 300,
      now: options.now ?? Date.now,
    };
    this.now = opts.now;
    this.reflectors = RESOURCES.map((spec) => new Reflector(client, spec, store, logger, opts));
  }

  start(): void {
    this.running = this.reflectors.map((r) => r.run());
  }

  private stopped = false;

  isStopped(): boolean {
    return this.stopped;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const r of this.reflectors) r.stop();
    await Promise.allSettled(this.running);
  }

  status(): ReflectorStatus[] {
    return this.reflectors.map((r) => ({ ...r.status }));
  }

  synced(): boolean {
    return this.reflectors.every((r) => r.status.synced);
  }

  /** Ready once every resource has been listed, and while none has been cut off for longer than maxStalenessMs. */
  readiness(maxStalenessMs: number): Readiness {
    const reasons: string[] = [];
    const now = this.now();
    for (const s of this.status()) {
      if (!s.synced) reasons.push(`${s.resource} not listed yet${s.lastError ? ` (${s.lastError})` : ''}`);
      else if (s.disconnectedSince !== undefined && now - s.disconnectedSince > maxStalenessMs) {
        reasons.push(`${s.resource} view stale for ${Math.round((now - s.disconnectedSince) / 1000)}s${s.lastError ? ` (${s.lastError})` : ''}`);
      }
    }
    return { ready: reasons.length === 0, reasons };
  }
}

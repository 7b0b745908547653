// Watch streams: newline-delimited `{"type": ..., "object": ...}` JSON over a
// chunked 200 response, with kube-apiserver's resourceVersion semantics.
//
// - no resourceVersion, or "0": synthetic ADDED events for the current state, then changes;
// - resourceVersion N: the changes after N, replayed from the event history;
//   N older than the history: one ERROR event carrying a 410 Expired Status
//   (`too old resource version: N (M)`), then the stream ends;
// - label/field selectors: objects entering the selection arrive as ADDED,
//   objects leaving it as DELETED;
// - timeoutSeconds ends the stream cleanly; allowWatchBookmarks=true adds
//   periodic BOOKMARK events carrying only the current resourceVersion.

import type { ServerResponse } from 'node:http';
import { atVersion } from './store.js';
import type { EventType, ObjectStore, StoredEvent } from './store.js';
import { gone } from './status.js';
import { apiVersionOf } from './resources.js';
import type { ObjectMatcher } from './selectors.js';
import type { KubeObject, ResourceType } from './types.js';

export interface WatchRequest {
  resource: ResourceType;
  version: string;
  namespace?: string;
  matches: ObjectMatcher;
  resourceVersion: string | null;
  timeoutSeconds?: number;
  bookmarks: boolean;
}

export interface WatchOptions {
  /** Default stream lifetime when the client gives no timeoutSeconds (kube-apiserver: 30-60 min). */
  defaultTimeoutSeconds: number;
  bookmarkIntervalMs: number;
}

/** The set of open watch responses, for fault injection and leak checks. */
export class WatchRegistry {
  private readonly open = new Set<ServerResponse>();

  add(res: ServerResponse): void {
    this.open.add(res);
    res.on('close', () => this.open.delete(res));
  }

  count(): number {
    return this.open.size;
  }

  destroyAll(): void {
    for (const res of [...this.open]) res.socket?.destroy();
  }

  endAll(): void {
    for (const res of [...this.open]) res.end();
  }
}

function inScope(req: WatchRequest, obj: KubeObject | undefined): boolean {
  if (!obj) return false;
  if (req.resource.namespaced && req.namespace !== undefined && obj.metadata.namespace !== req.namespace) return false;
  return req.matches(obj);
}

/** What a watcher with selectors sees of a stored event (or nothing). */
function project(req: WatchRequest, event: StoredEvent): { type: EventType; object: KubeObject } | undefined {
  const now = event.type === 'DELETED' ? false : inScope(req, event.object);
  const before = inScope(req, event.previous);
  if (event.type === 'DELETED') return before ? { type: 'DELETED', object: event.object } : undefined;
  if (now && before) return { type: 'MODIFIED', object: event.object };
  if (now) return { type: 'ADDED', object: event.object };
  // Left the selection: the watcher must forget it.
  if (before) return { type: 'DELETED', object: event.object };
  return undefined;
}

export function serveWatch(
  res: ServerResponse,
  req: WatchRequest,
  store: ObjectStore,
  registry: WatchRegistry,
  options: WatchOptions,
): void {
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Transfer-Encoding': 'chunked',
    'Cache-Control': 'no-cache, private',
  });
  res.flushHeaders();
  registry.add(res);
  const write = (type: string, object: unknown): void => {
    if (!res.writableEnded && !res.destroyed) res.write(`${JSON.stringify({ type, object })}\n`);
  };
  const send = (type: EventType, obj: KubeObject): void => write(type, atVersion(req.resource, obj, req.version));

  const rv = req.resourceVersion;
  if (rv === null || rv === '' || rv === '0') {
    for (const obj of store.list(req.resource, req.namespace)) if (req.matches(obj)) send('ADDED', obj);
  } else {
    const events = store.eventsSince(req.resource, Number(rv));
    if (events === 'expired') {
      write('ERROR', gone(`too old resource version: ${rv} (${store.oldestWatchable()})`).status);
      res.end();
      return;
    }
    for (const e of events) {
      const seen = project(req, e);
      if (seen) send(seen.type, seen.object);
    }
  }

  const unsubscribe = store.subscribe({
    resource: req.resource,
    onEvent: (e) => {
      const seen = project(req, e);
      if (seen) send(seen.type, seen.object);
    },
  });
  const timeoutMs = (req.timeoutSeconds ?? options.defaultTimeoutSeconds) * 1000;
  const timer = setTimeout(() => res.end(), timeoutMs);
  const bookmark = (): void =>
    write('BOOKMARK', {
      kind: req.resource.kind,
      apiVersion: apiVersionOf(req.resource.group, req.version),
      metadata: { resourceVersion: String(store.currentRevision()) },
    });
  const bookmarkTimer = req.bookmarks ? setInterval(bookmark, options.bookmarkIntervalMs) : undefined;
  const cleanup = (): void => {
    unsubscribe();
    clearTimeout(timer);
    if (bookmarkTimer) clearInterval(bookmarkTimer);
  };
  // 'close' fires both when the stream ends and when the client goes away.
  res.on('close', cleanup);
}

// The object store: every object at its resource's storage version, one
// global resourceVersion counter (like etcd's revision), and a bounded event
// history that watches replay from.

import { randomUUID } from 'node:crypto';
import { apiVersionOf } from './resources.js';
import type { KubeObject, ResourceType } from './types.js';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoredEvent {
  rv: number;
  type: EventType;
  resource: ResourceType;
  object: KubeObject;
  /** The object before this event (MODIFIED and DELETED), for selector transitions. */
  previous?: KubeObject;
}

export interface StoreListener {
  resource: ResourceType;
  onEvent(event: StoredEvent): void;
}

function resourceKey(t: ResourceType): string {
  return `${t.group}/${t.plural}`;
}

function objectKey(t: ResourceType, namespace: string | undefined, name: string): string {
  return `${resourceKey(t)}/${t.namespaced ? (namespace ?? '') : ''}/${name}`;
}

/** The object as it reads at `version` (all served versions share one schema here, so only apiVersion changes). */
export function atVersion(t: ResourceType, obj: KubeObject, version: string): KubeObject {
  const copy = structuredClone(obj);
  const { apiVersion: _apiVersion, kind: _kind, ...rest } = copy;
  return { apiVersion: apiVersionOf(t.group, version), kind: t.kind, ...rest } as KubeObject;
}

export class ObjectStore {
  private revision = 1000;
  private readonly objects = new Map<string, KubeObject>();
  private history: StoredEvent[] = [];
  /** Watches from a resourceVersion below this get 410 Expired. */
  private horizon = 0;
  private readonly listeners = new Set<StoreListener>();

  constructor(private readonly maxHistory = 2000) {}

  currentRevision(): number {
    return this.revision;
  }

  /** The stored object (a copy), or undefined. */
  get(t: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const obj = this.objects.get(objectKey(t, namespace, name));
    return obj ? structuredClone(obj) : undefined;
  }

  /** Copies of the stored objects of one resource, in one namespace or all, ordered by namespace then name. */
  list(t: ResourceType, namespace?: string): KubeObject[] {
    const prefix = `${resourceKey(t)}/`;
    const out: KubeObject[] = [];
    for (const [key, obj] of this.objects) {
      if (!key.startsWith(prefix)) continue;
      if (t.namespaced && namespace !== undefined && obj.metadata.namespace !== namespace) continue;
      out.push(structuredClone(obj));
    }
    return out.sort(
      (a, b) =>
        (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') ||
        (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''),
    );
  }

  /**
   * Stores `obj` (already at the storage version) with the next resourceVersion,
   * filling uid/creationTimestamp when missing. Returns the stored copy.
   */
  put(t: ResourceType, obj: KubeObject): KubeObject {
    const key = objectKey(t, obj.metadata.namespace, obj.metadata.name ?? '');
    const previous = this.objects.get(key);
    const stored = structuredClone(obj);
    stored.metadata.uid ??= randomUUID();
    stored.metadata.creationTimestamp ??= new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    stored.metadata.resourceVersion = String(++this.revision);
    this.objects.set(key, stored);
    this.record({
      rv: this.revision,
      type: previous ? 'MODIFIED' : 'ADDED',
      resource: t,
      object: structuredClone(stored),
      ...(previous ? { previous: structuredClone(previous) } : {}),
    });
    return structuredClone(stored);
  }

  /** Removes an object; the DELETED event carries the deletion's resourceVersion. */
  remove(t: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const key = objectKey(t, namespace, name);
    const obj = this.objects.get(key);
    if (!obj) return undefined;
    this.objects.delete(key);
    const previous = structuredClone(obj);
    obj.metadata.resourceVersion = String(++this.revision);
    this.record({ rv: this.revision, type: 'DELETED', resource: t, object: structuredClone(obj), previous });
    return structuredClone(obj);
  }

  /** Removes every namespaced object in `namespace` (the namespace controller's job in a real cluster). */
  removeNamespaceContents(types: ResourceType[], namespace: string): void {
    for (const t of types) {
      if (!t.namespaced) continue;
      for (const obj of this.list(t, namespace)) this.remove(t, namespace, obj.metadata.name ?? '');
    }
  }

  /**
   * The events of `t` after `rv`, or 'expired' when the history no longer
   * reaches back that far (the watch cache's "too old resource version").
   */
  eventsSince(t: ResourceType, rv: number): StoredEvent[] | 'expired' {
    if (rv < this.horizon) return 'expired';
    return this.history
      .filter((e) => e.rv > rv && e.resource === t)
      .map((e) => ({
        ...e,
        object: structuredClone(e.object),
        ...(e.previous ? { previous: structuredClone(e.previous) } : {}),
      }));
  }

  /** The oldest resourceVersion a watch may still start from. */
  oldestWatchable(): number {
    return this.horizon;
  }

  /**
   * Forgets the event history: every resourceVersion handed out so far becomes
   * too old to watch from. The revision moves on by one (as if some other
   * write happened), so a fresh list returns a resourceVersion that is valid.
   */
  expireHistory(): void {
    this.revision++;
    this.horizon = this.revision;
    this.history = [];
  }

  subscribe(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private record(event: StoredEvent): void {
    this.history.push(event);
    if (this.history.length > this.maxHistory) {
      const dropped = this.history.splice(0, this.history.length - this.maxHistory);
      const last = dropped[dropped.length - 1];
      if (last) this.horizon = Math.max(this.horizon, last.rv);
    }
    for (const l of [...this.listeners]) if (l.resource === event.resource) l.onEvent(event);
  }
}

// Raw Kubernetes objects → the small records the view keeps. Only what the
// rules read is kept, so 100,000 pods stay cheap.
import { isRecord } from '../util/json.js';
import { metadataOf, stringMap } from './object.js';
import { selectorOf, selectorPairs } from './selectors.js';
import type { NamespaceInfo, PodInfo, SidecarInfo } from './view.js';

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export function sidecarInfoOf(obj: unknown, fallbackNamespace = 'default'): SidecarInfo | undefined {
  const meta = metadataOf(obj);
  const name = str(meta.name);
  if (!isRecord(obj) || !name) return undefined;
  const selector = selectorOf(obj);
  const info: { -readonly [K in keyof SidecarInfo]: SidecarInfo[K] } = {
    namespace: str(meta.namespace) ?? fallbackNamespace,
    name,
    selector,
    selectorPairs: selector ? selectorPairs(selector) : null,
    labels: stringMap(meta.labels),
    annotations: stringMap(meta.annotations),
  };
  const uid = str(meta.uid);
  if (uid) info.uid = uid;
  const created = str(meta.creationTimestamp);
  if (created) info.creationTimestamp = created;
  const version = str(meta.resourceVersion);
  if (version) info.resourceVersion = version;
  return info;
}

export function podInfoOf(obj: unknown, fallbackNamespace = 'default'): PodInfo | undefined {
  const meta = metadataOf(obj);
  const name = str(meta.name);
  if (!name) return undefined;
  return { namespace: str(meta.namespace) ?? fallbackNamespace, name, labels: stringMap(meta.labels) };
}

export function namespaceInfoOf(obj: unknown): NamespaceInfo | undefined {
  const meta = metadataOf(obj);
  const name = str(meta.name);
  return name ? { name, labels: stringMap(meta.labels) } : undefined;
}

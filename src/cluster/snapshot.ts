// A one-shot list of everything the cross-object rules read, for `audit`.
import type { KubeClient } from './kube.js';
import { listAll, RESOURCES } from './informer.js';

export interface Snapshot {
  sidecars: unknown[];
  pods: unknown[];
  namespaces: unknown[];
}

export async function listSnapshot(client: KubeClient): Promise<Snapshot> {
  const lists = await Promise.all(RESOURCES.map(async (r) => (await listAll(client, r)).items));
  const byKind = (kind: string) => lists[RESOURCES.findIndex((r) => r.kind === kind)] ?? [];
  return { sidecars: byKind('Sidecar'), pods: byKind('Pod'), namespaces: byKind('Namespace') };
}

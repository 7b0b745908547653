// A one-shot list of everything the cross-object rules read, for `audit`.
import type { KubeClient } from './kube.js';
import { isStatus } from './kube-errors.js';
import { listAll, RESOURCES, type ResourceSpec } from './informer.js';
import { WORKLOAD_KINDS, type WorkloadKind } from '../sidecar/view.js';

/** What a snapshot lists: each resource with its API group ('' for the core group), as RBAC names them. */
export function listedResources(): { group: string; resource: string }[] {
  return RESOURCES.map((spec) => {
    const parts = spec.path.split('/'); // ['', 'api', 'v1', 'pods'] or ['', 'apis', 'apps', 'v1', 'deployments']
    return { group: parts[1] === 'apis' ? parts[2]! : '', resource: parts.at(-1)! };
  });
}

/** The list permissions a snapshot needs, in words, for the answer to a 403. */
export function listPermissions(): string {
  const byGroup = new Map<string, string[]>();
  for (const { group, resource } of listedResources()) byGroup.set(group, [...(byGroup.get(group) ?? []), resource]);
  const groups = [...byGroup].map(([group, resources]) => `${resources.join(', ')}${group ? ` (${group})` : ''}`);
  return `list on ${groups.join('; ')} in every namespace`;
}

export interface Snapshot {
  sidecars: unknown[];
  pods: unknown[];
  namespaces: unknown[];
  /** Each with its `kind` (list items carry none). */
  workloads: unknown[];
  services: unknown[];
  serviceEntries: unknown[];
}

export async function listSnapshot(client: KubeClient): Promise<Snapshot> {
  // The first list that fails is the answer: the others are cancelled rather
  // than left to run into their own timeouts (minutes against a server that
  // accepts connections and never answers) while the process waits for them.
  const cancel = new AbortController();
  const lists = await Promise.all(
    RESOURCES.map((r) =>
      listOne(client, r, cancel.signal).catch((err: unknown) => {
        cancel.abort();
        throw err;
      }),
    ),
  );
  const byKind = (kind: string) => lists[RESOURCES.findIndex((r) => r.kind === kind)] ?? [];
  const isWorkload = (k: string): k is WorkloadKind => (WORKLOAD_KINDS as readonly string[]).includes(k);
  return {
    sidecars: byKind('Sidecar'),
    pods: byKind('Pod'),
    namespaces: byKind('Namespace'),
    workloads: RESOURCES.filter((r) => isWorkload(r.kind)).flatMap((r) =>
      byKind(r.kind).map((o) => ({ ...(o as object), kind: r.kind })),
    ),
    services: byKind('Service'),
    serviceEntries: byKind('ServiceEntry'),
  };
}

/** An optional resource that is not served (its CRD is not installed) lists as empty. */
async function listOne(client: KubeClient, spec: ResourceSpec, signal: AbortSignal): Promise<unknown[]> {
  try {
    return (await listAll(client, spec, signal)).items;
  } catch (err) {
    if (spec.optional && isStatus(err, '404')) return [];
    throw err;
  }
}

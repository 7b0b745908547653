// Server-side printing (meta.k8s.io/v1 Table), which `kubectl get` asks for
// with `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`.

import type { KubeObject, TableColumn } from './types.js';

/** apimachinery's duration.HumanDuration: the AGE column's text. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const days = Math.floor(hours / 24);
    const d = days % 365;
    return d === 0 ? `${Math.floor(days / 365)}y` : `${Math.floor(days / 365)}y${d}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

export function age(obj: KubeObject): string {
  const created = obj.metadata.creationTimestamp;
  if (!created) return '<unknown>';
  return humanDuration(Date.now() - Date.parse(created));
}

const NAME_DESCRIPTION =
  'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated.';
const AGE_DESCRIPTION =
  'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.';

export const nameColumn: TableColumn = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: NAME_DESCRIPTION,
  cell: (o) => o.metadata.name ?? '',
};

export const ageColumn: TableColumn = { name: 'Age', type: 'string', description: AGE_DESCRIPTION, cell: age };

/** What apiextensions-apiserver prints for a CRD without additionalPrinterColumns. */
export const customResourceColumns: TableColumn[] = [nameColumn, { ...ageColumn, type: 'date' }];

function field(obj: KubeObject, ...path: string[]): unknown {
  let cur: unknown = obj;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

function count(value: unknown): number {
  if (Array.isArray(value)) return value.length;
  if (value && typeof value === 'object') return Object.keys(value).length;
  return 0;
}

export const namespaceColumns: TableColumn[] = [
  nameColumn,
  {
    name: 'Status',
    type: 'string',
    description: 'The status of the namespace',
    cell: (o) => String(field(o, 'status', 'phase') ?? ''),
  },
  ageColumn,
];

function podReady(o: KubeObject): string {
  const containers = count(field(o, 'spec', 'containers'));
  const statuses = field(o, 'status', 'containerStatuses');
  const ready = Array.isArray(statuses) ? statuses.filter((s) => (s as { ready?: boolean }).ready).length : 0;
  return `${ready}/${containers}`;
}

function podRestarts(o: KubeObject): number {
  const statuses = field(o, 'status', 'containerStatuses');
  if (!Array.isArray(statuses)) return 0;
  return statuses.reduce((n: number, s) => n + Number((s as { restartCount?: number }).restartCount ?? 0), 0);
}

export const podColumns: TableColumn[] = [
  nameColumn,
  {
    name: 'Ready',
    type: 'string',
    description: 'The aggregate readiness state of this pod for accepting traffic.',
    cell: podReady,
  },
  {
    name: 'Status',
    type: 'string',
    description: 'The aggregate status of the containers in this pod.',
    cell: (o) => String(field(o, 'status', 'phase') ?? 'Pending'),
  },
  {
    name: 'Restarts',
    type: 'string',
    description: 'The number of times the containers in this pod have been restarted.',
    cell: (o) => String(podRestarts(o)),
  },
  ageColumn,
  {
    name: 'IP',
    type: 'string',
    priority: 1,
    description: 'IP address allocated to the pod.',
    cell: (o) => String(field(o, 'status', 'podIP') ?? '<none>'),
  },
  {
    name: 'Node',
    type: 'string',
    priority: 1,
    description: 'Name of the Node this pod is assigned to.',
    cell: (o) => String(field(o, 'spec', 'nodeName') ?? '<none>'),
  },
];

export const secretColumns: TableColumn[] = [
  nameColumn,
  {
    name: 'Type',
    type: 'string',
    description: 'The type of the secret',
    cell: (o) => String(field(o, 'type') ?? 'Opaque'),
  },
  {
    name: 'Data',
    type: 'string',
    description: 'The number of entries in the secret',
    cell: (o) => String(count(field(o, 'data'))),
  },
  ageColumn,
];

export const configMapColumns: TableColumn[] = [
  nameColumn,
  {
    name: 'Data',
    type: 'string',
    description: 'The number of entries in the configmap',
    cell: (o) => String(count(field(o, 'data')) + count(field(o, 'binaryData'))),
  },
  ageColumn,
];

export const webhookConfigurationColumns: TableColumn[] = [
  nameColumn,
  {
    name: 'Webhooks',
    type: 'integer',
    description: 'Webhooks indicates the number of webhooks registered in this configuration.',
    cell: (o) => count(field(o, 'webhooks')),
  },
  ageColumn,
];

export const leaseColumns: TableColumn[] = [
  nameColumn,
  {
    name: 'Holder',
    type: 'string',
    description: 'The holder of the lease.',
    cell: (o) => String(field(o, 'spec', 'holderIdentity') ?? ''),
  },
  ageColumn,
];

export const eventColumns: TableColumn[] = [
  {
    name: 'Last Seen',
    type: 'string',
    description: 'Time when this Event was last observed.',
    cell: (o) =>
      age({
        metadata: {
          creationTimestamp: String(
            field(o, 'lastTimestamp') ?? field(o, 'eventTime') ?? o.metadata.creationTimestamp ?? '',
          ),
        },
      }),
  },
  { name: 'Type', type: 'string', description: 'Type of this event.', cell: (o) => String(field(o, 'type') ?? '') },
  {
    name: 'Reason',
    type: 'string',
    description: 'Short, machine understandable string.',
    cell: (o) => String(field(o, 'reason') ?? ''),
  },
  {
    name: 'Object',
    type: 'string',
    description: 'The object this Event is about.',
    cell: (o) => {
      const ref = (field(o, 'involvedObject') ?? field(o, 'regarding') ?? {}) as { kind?: string; name?: string };
      return `${String(ref.kind ?? '').toLowerCase()}/${ref.name ?? ''}`;
    },
  },
  {
    name: 'Message',
    type: 'string',
    description: 'A description of the status of this operation.',
    cell: (o) => String(field(o, 'message') ?? field(o, 'note') ?? ''),
  },
];

function partialObjectMetadata(obj: KubeObject): KubeObject {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
}

/** A Table of `objects`; `includeObject` is the request's `includeObject` parameter (default Metadata). */
export function toTable(
  columns: TableColumn[],
  objects: KubeObject[],
  listMeta: Record<string, unknown>,
  includeObject: string | null,
): Record<string, unknown> {
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    columnDefinitions: columns.map((c) => ({
      name: c.name,
      type: c.type,
      format: c.format ?? '',
      description: c.description,
      priority: c.priority ?? 0,
    })),
    rows: objects.map((o) => {
      const row: Record<string, unknown> = { cells: columns.map((c) => c.cell(o)) };
      if (includeObject === 'Object') row.object = o;
      else if (includeObject !== 'None') row.object = partialObjectMetadata(o);
      return row;
    }),
  };
}

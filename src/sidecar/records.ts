// Raw Kubernetes objects → the small records the view keeps. Only what the
// rules read is kept, so 100,000 pods and 30,000 workloads stay cheap.
import { isRecord } from '../util/json.js';
import { isAmbientPod } from './ambient.js';
import { INJECT_TEMPLATES_ANNOTATION, isGatewayInjected } from './gateways.js';
import { metadataOf, stringMap } from './object.js';
import { REVISION_LABEL } from './revisions.js';
import { type Labels, selectorOf, selectorPairs } from './selectors.js';
import {
  MESH_WORKLOAD_KINDS,
  type NamespaceInfo,
  type PodInfo,
  type ServiceEntryInfo,
  type ServiceInfo,
  type SidecarInfo,
  type WorkloadInfo,
  type WorkloadKind,
} from './view.js';

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** The annotation by which a Service chooses the namespaces that see it (Istio's exportTo for Services). */
export const SERVICE_EXPORT_TO_ANNOTATION = 'networking.istio.io/exportTo';

/** The pod label that turns sidecar injection off ("false") or, in a namespace without injection, on ("true"). */
export const INJECT_LABEL = 'sidecar.istio.io/inject';
/** The selector of pods and templates opted out of injection. */
export const OPTED_OUT: Labels = Object.freeze({ [INJECT_LABEL]: 'false' });
/** A pod or template OPTED_OUT selects. */
export const isOptedOut = (labels: Labels): boolean => labels[INJECT_LABEL] === 'false';

export function sidecarInfoOf(obj: unknown, fallbackNamespace = 'default'): SidecarInfo | undefined {
  const meta = metadataOf(obj);
  const name = str(meta.name);
  if (!isRecord(obj) || !name) return undefined;
  const selector = selectorOf(obj);
  const selectorPresent = workloadSelectorPresent(obj);
  const info: { -readonly [K in keyof SidecarInfo]: SidecarInfo[K] } = {
    namespace: str(meta.namespace) ?? fallbackNamespace,
    name,
    selector,
    selectorPairs: selector ? selectorPairs(selector) : null,
    selectorPresent,
    labels: stringMap(meta.labels),
    annotations: stringMap(meta.annotations),
  };
  if (!selectorPresent) {
    info.egressHosts = egressHostsOf(obj);
    info.outboundMode = outboundModeOf(obj);
  }
  const uid = str(meta.uid);
  if (uid) info.uid = uid;
  const created = str(meta.creationTimestamp);
  if (created) info.creationTimestamp = created;
  const version = str(meta.resourceVersion);
  if (version) info.resourceVersion = version;
  if (str(meta.deletionTimestamp)) info.deleting = true;
  return info;
}

/** spec.workloadSelector is an object (`null` decodes as absent in Istio, as here). */
export function workloadSelectorPresent(sidecar: unknown): boolean {
  const spec = isRecord(sidecar) ? sidecar.spec : undefined;
  return isRecord(spec) && isRecord(spec.workloadSelector);
}

/**
 * The mesh-wide default: the root namespace's Sidecar without a
 * workloadSelector field. It serves every namespace, so its `.` means each
 * proxy's own namespace, not the root namespace.
 */
export function isMeshDefault(sidecar: unknown, namespace: string, rootNamespace: string): boolean {
  return namespace === rootNamespace && !workloadSelectorPresent(sidecar);
}

/** At least one egress listener (without one, istiod imports every host). */
export function hasEgress(sidecar: unknown): boolean {
  const spec = isRecord(sidecar) ? sidecar.spec : undefined;
  return isRecord(spec) && Array.isArray(spec.egress) && spec.egress.length > 0;
}

/** Every egress host of a Sidecar, listener after listener; null when it has no egress listener. */
export function egressHostsOf(sidecar: unknown): string[] | null {
  const spec = isRecord(sidecar) ? sidecar.spec : undefined;
  const egress = isRecord(spec) ? spec.egress : undefined;
  if (!Array.isArray(egress) || egress.length === 0) return null;
  return egress.flatMap((l) => (isRecord(l) ? strings(l.hosts) : []));
}

/**
 * The outbound mode a Sidecar sets: null without outboundTrafficPolicy (istiod
 * then uses the mesh's, pilot/pkg/model/sidecar.go), REGISTRY_ONLY for one
 * without a mode (the enum's zero value, KIA1007), the enum's name for a number.
 */
export function outboundModeOf(sidecar: unknown): string | null {
  const spec = isRecord(sidecar) ? sidecar.spec : undefined;
  const otp = isRecord(spec) ? spec.outboundTrafficPolicy : undefined;
  if (!isRecord(otp)) return null;
  const { mode } = otp;
  if (mode === undefined || mode === null || mode === '' || mode === 0) return 'REGISTRY_ONLY';
  return mode === 1 ? 'ALLOW_ANY' : String(mode);
}

export function podInfoOf(obj: unknown, fallbackNamespace = 'default'): PodInfo | undefined {
  const meta = metadataOf(obj);
  const name = str(meta.name);
  if (!name) return undefined;
  const annotations = stringMap(meta.annotations);
  const revision = annotations[REVISION_LABEL];
  const pod: PodInfo = {
    namespace: str(meta.namespace) ?? fallbackNamespace,
    name,
    labels: stringMap(meta.labels),
    ambient: isAmbientPod(annotations),
    ...(revision ? { revision } : {}),
  };
  return isGatewayInjected(annotations) ? { ...pod, gateway: true as const } : pod;
}

export function namespaceInfoOf(obj: unknown): NamespaceInfo | undefined {
  const meta = metadataOf(obj);
  const name = str(meta.name);
  if (!name) return undefined;
  const labels = stringMap(meta.labels);
  return meta.deletionTimestamp != null ? { name, labels, terminating: true } : { name, labels };
}

const field = (obj: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>((o, k) => (isRecord(o) ? o[k] : undefined), obj);

/** Where each kind keeps the metadata of what it makes (a WorkloadEntry is the workload itself: spec.labels). */
const TEMPLATE_PATH: Readonly<Record<WorkloadKind, readonly string[]>> = {
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
  WorkloadEntry: ['spec'],
  WorkloadGroup: ['spec'],
};

/** Kinds whose spec.replicas counts pods (the others run per node, to completion or on a schedule). */
const REPLICATED: ReadonlySet<WorkloadKind> = new Set(['Deployment', 'StatefulSet', 'ReplicaSet']);

/**
 * A workload's pod template, or undefined when it is not one the view keeps:
 * a ReplicaSet or Job with a controlling owner (a Deployment, a CronJob) is
 * covered by its owner's template. List items carry no kind, so the caller
 * says which kind it listed.
 */
export function workloadInfoOf(
  obj: unknown,
  kind: WorkloadKind,
  fallbackNamespace = 'default',
): WorkloadInfo | undefined {
  const meta = metadataOf(obj);
  const name = str(meta.name);
  // A WorkloadEntry a WorkloadGroup registered is a running VM, with the group's labels merged with its own
  // proxy's (autoregistration): kept, as a pod is. Other kinds a controller owns are left to their owner.
  if (!name || (kind !== 'WorkloadEntry' && isControlled(meta))) return undefined;
  const template = field(obj, ...TEMPLATE_PATH[kind]);
  const info: { -readonly [K in keyof WorkloadInfo]: WorkloadInfo[K] } = {
    kind,
    namespace: str(meta.namespace) ?? fallbackNamespace,
    name,
    labels: stringMap(kind === 'WorkloadEntry' ? field(obj, 'spec', 'labels') : field(template, 'metadata', 'labels')),
  };
  // Istio's own kinds are not injected: the annotation means nothing there.
  if (!MESH_WORKLOAD_KINDS.has(kind) && isGatewayInjected(stringMap(field(template, 'metadata', 'annotations'))))
    info.gateway = true;
  if (REPLICATED.has(kind)) {
    const replicas = field(obj, 'spec', 'replicas');
    info.replicas = typeof replicas === 'number' && Number.isInteger(replicas) && replicas >= 0 ? replicas : 1;
  }
  return info;
}

function isControlled(meta: Record<string, unknown>): boolean {
  return Array.isArray(meta.ownerReferences) && meta.ownerReferences.some((o) => isRecord(o) && o.controller === true);
}

/**
 * What the informer keeps of a listed or watched workload, page by page: the
 * name, namespace, whether a controller owns it, the replica count, the
 * template's labels and its gateway annotation (the pod spec, often
 * kilobytes, is dropped at once).
 */
export function slimWorkload(obj: unknown, kind: WorkloadKind): unknown {
  const meta = metadataOf(obj);
  const templatePath = TEMPLATE_PATH[kind];
  const templateMeta = {
    labels: field(obj, ...templatePath, 'metadata', 'labels'),
    ...gatewayAnnotationOf(field(obj, ...templatePath, 'metadata', 'annotations')),
  };
  const metadata = {
    name: meta.name,
    namespace: meta.namespace,
    ...(isControlled(meta) ? { ownerReferences: [{ controller: true }] } : {}),
  };
  if (kind === 'WorkloadEntry') return { metadata, spec: { labels: field(obj, 'spec', 'labels') } };
  if (kind === 'WorkloadGroup') return { metadata, spec: { metadata: { labels: templateMeta.labels } } };
  if (kind === 'CronJob') {
    return {
      metadata,
      spec: {
        jobTemplate: {
          spec: {
            template: { metadata: templateMeta },
          },
        },
      },
    };
  }
  return {
    metadata,
    spec: {
      replicas: field(obj, 'spec', 'replicas'),
      template: { metadata: templateMeta },
    },
  };
}

/** The one template annotation a slim workload keeps, when it is there. */
function gatewayAnnotationOf(annotations: unknown): { annotations?: Record<string, string> } {
  const templates = isRecord(annotations) ? annotations[INJECT_TEMPLATES_ANNOTATION] : undefined;
  return typeof templates === 'string' ? { annotations: { [INJECT_TEMPLATES_ANNOTATION]: templates } } : {};
}

export function serviceInfoOf(obj: unknown, fallbackNamespace = 'default'): ServiceInfo | undefined {
  const meta = metadataOf(obj);
  const name = str(meta.name);
  if (!name) return undefined;
  const exportTo = str(stringMap(meta.annotations)[SERVICE_EXPORT_TO_ANNOTATION]);
  const info: { -readonly [K in keyof ServiceInfo]: ServiceInfo[K] } = {
    namespace: str(meta.namespace) ?? fallbackNamespace,
    name,
  };
  if (exportTo)
    info.exportTo = exportTo
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const spec = field(obj, 'spec');
  // A spec without ports (headless) has none; no spec at all (a metadata-only read): not known. An
  // ExternalName Service's hostname is an alias istiod routes with its target's ports: its own say nothing.
  if (isRecord(spec) && spec.type !== 'ExternalName')
    info.ports = portNumbers(Array.isArray(spec.ports) ? spec.ports : []);
  return info;
}

/** The valid port numbers of a Service's spec.ports (`port`), or a ServiceEntry's (`number`). */
function portNumbers(ports: readonly unknown[], key: 'port' | 'number' = 'port'): number[] {
  const out: number[] = [];
  for (const p of ports) {
    const port = isRecord(p) ? p[key] : undefined;
    // TCP and UDP on one number (DNS) are one port to a listener.
    if (typeof port === 'number' && Number.isInteger(port) && port > 0 && port <= 65535 && !out.includes(port))
      out.push(port);
  }
  return out;
}

/**
 * What the informer keeps of a listed or watched Service: its name,
 * namespace, exportTo annotation, port numbers and whether it is an
 * ExternalName (the rest of the spec and every other annotation are dropped
 * at once).
 */
export function slimService(obj: unknown): unknown {
  const meta = metadataOf(obj);
  const exportTo = stringMap(meta.annotations)[SERVICE_EXPORT_TO_ANNOTATION];
  const ports = field(obj, 'spec', 'ports');
  return {
    metadata: {
      name: meta.name,
      namespace: meta.namespace,
      ...(exportTo !== undefined ? { annotations: { [SERVICE_EXPORT_TO_ANNOTATION]: exportTo } } : {}),
    },
    spec: {
      ...(field(obj, 'spec', 'type') === 'ExternalName' ? { type: 'ExternalName' } : {}),
      ports: Array.isArray(ports) ? portNumbers(ports).map((port) => ({ port })) : [],
    },
  };
}

export function serviceEntryInfoOf(obj: unknown, fallbackNamespace = 'default'): ServiceEntryInfo | undefined {
  const meta = metadataOf(obj);
  const name = str(meta.name);
  if (!name) return undefined;
  const spec = field(obj, 'spec');
  const info: { -readonly [K in keyof ServiceEntryInfo]: ServiceEntryInfo[K] } = {
    namespace: str(meta.namespace) ?? fallbackNamespace,
    name,
    hosts: isRecord(spec) ? strings(spec.hosts) : [],
  };
  if (isRecord(spec) && Array.isArray(spec.exportTo) && spec.exportTo.length > 0)
    info.exportTo = strings(spec.exportTo);
  // istiod makes the entry's service ports of spec.ports alone: without any, a port listener imports none of its hosts.
  if (isRecord(spec)) info.ports = portNumbers(Array.isArray(spec.ports) ? spec.ports : [], 'number');
  return info;
}

/** What the informer keeps of a ServiceEntry: name, namespace, hosts, exportTo and port numbers. */
export function slimServiceEntry(obj: unknown): unknown {
  const meta = metadataOf(obj);
  const spec = field(obj, 'spec');
  const ports = isRecord(spec) && Array.isArray(spec.ports) ? portNumbers(spec.ports, 'number') : [];
  return {
    metadata: { name: meta.name, namespace: meta.namespace },
    spec: isRecord(spec)
      ? { hosts: spec.hosts, exportTo: spec.exportTo, ports: ports.map((number) => ({ number })) }
      : {},
  };
}

/** Istio's visibility rule: exportTo `*` (or none) everywhere, `.` own namespace, `~` nowhere, else the listed namespaces. */
export function visibleTo(
  exportTo: readonly string[] | null | undefined,
  ownNamespace: string,
  namespace: string,
): boolean {
  if (!exportTo || exportTo.length === 0) return true;
  // A loop, not some() with a closure: this runs for every registry entry a decision looks at.
  for (let i = 0; i < exportTo.length; i++) {
    const e = exportTo[i];
    if (e === '*' || (e === '.' ? ownNamespace === namespace : e === namespace)) return true;
  }
  return false;
}

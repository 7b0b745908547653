// A Kubernetes API server for tests, good enough for the real kubectl (1.32)
// and @kubernetes/client-node informers, that calls admission webhooks the
// way kube-apiserver does. See README.md beside this file.

import { randomBytes } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { FaultRules } from './faults.js';
import type { Faults, FailRule, HangRule } from './faults.js';
import { RequestHandler } from './handler.js';
import { kubeconfigYaml, writeKubeconfigFile } from './kubeconfig.js';
import { ResourceRegistry, defaultResources } from './resources.js';
import { ObjectStore, atVersion } from './store.js';
import { createCertificateAuthority } from './tls.js';
import type { KubeObject, ResourceType, UserInfo } from './types.js';
import { WatchRegistry } from './watch.js';
import type { ServiceResolver } from './webhook-client.js';

export type { Faults, FailRule, HangRule } from './faults.js';
export type { KubeObject, ResourceType, UserInfo } from './types.js';
export type { ServiceResolver } from './webhook-client.js';
export { createCertificateAuthority } from './tls.js';
export type { CertificateAuthority, ServingCert } from './tls.js';

/** Where an object lives: `apiVersion` picks the resource (any served version), `resource` is its plural. */
export interface ObjectRef {
  apiVersion: string;
  resource: string;
  namespace?: string;
  name: string;
}

/**
 * Direct access to the store, bypassing HTTP and admission (for seeding and
 * asserting). Objects are read at the version named in `apiVersion`.
 */
export interface StoreAccess {
  /** The object, or undefined. */
  get(ref: ObjectRef): KubeObject | undefined;
  /** Objects of a resource, in one namespace or (namespace undefined) all. */
  list(ref: Omit<ObjectRef, 'name' | 'namespace'> & { namespace?: string }): KubeObject[];
  /**
   * Creates or replaces an object as-is (no admission, no pruning), filling
   * uid/creationTimestamp/generation when absent and setting a new
   * resourceVersion. Watches see ADDED or MODIFIED. Returns the stored object.
   */
  put(resource: string, obj: KubeObject): KubeObject;
  /** Removes an object (watches see DELETED); returns it, or undefined if absent. */
  remove(ref: ObjectRef): KubeObject | undefined;
  /** The current global resourceVersion. */
  resourceVersion(): string;
}

export interface TestApiServer {
  url: string;
  caPem: string;
  token: string;
  /** Writes a kubeconfig (current context's namespace: `opts.namespace`, default `default`). */
  writeKubeconfig(path: string, opts?: { namespace?: string }): void;
  faults: Faults;
  /** The number of watch connections currently open. */
  openWatches(): number;
  /** The most recent requests (up to 2000), oldest first, with the status they were answered with. */
  requests(): RequestRecord[];
  store: StoreAccess;
  /** Served resources (for tests that need their names or versions). */
  resources: readonly ResourceType[];
  /** Stops listening and ends every open connection, watches included. */
  close(): Promise<void>;
}

export interface RequestRecord {
  method: string;
  /** Path and query string, as sent. */
  path: string;
  status: number;
  /** The request's Accept header, if any. */
  accept?: string;
}

export interface TestApiServerOptions {
  /** Port to listen on (127.0.0.1); 0 or absent picks a free one. */
  port?: number;
  /** Maps webhook `clientConfig.service` references to a base URL such as `https://127.0.0.1:8443`. */
  serviceResolver?: ServiceResolver;
  /** The identity every authenticated request runs as (sent to webhooks as userInfo). */
  user?: UserInfo;
  /** Extra resources (e.g. from customResource(crdYaml)). */
  extraResources?: ResourceType[];
  /** Event history length kept for watches (default 2000). */
  historySize?: number;
  /** How often watches with allowWatchBookmarks=true get a BOOKMARK (default 60 s, like kube-apiserver's ~1 min). */
  bookmarkIntervalMs?: number;
  /** Where log lines go (default: nowhere). */
  log?: (line: string) => void;
}

const DEFAULT_USER: UserInfo = { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] };

function defaultResolver(namespace: string, name: string, port: number): string {
  throw new Error(`no address known for service ${namespace}/${name}:${port} (pass serviceResolver or --service)`);
}

function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

// Namespaces every cluster starts with (kubectl's default context namespace is `default`).
const SYSTEM_NAMESPACES = ['default', 'kube-node-lease', 'kube-public', 'kube-system'];

function seedSystemNamespaces(registry: ResourceRegistry, store: ObjectStore): void {
  const t = registry.byGroupResource('', 'namespaces');
  if (!t) return;
  for (const name of SYSTEM_NAMESPACES) {
    const ns: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
    t.prepareForCreate?.(ns);
    store.put(t, ns);
  }
}

export async function startTestApiServer(opts: TestApiServerOptions = {}): Promise<TestApiServer> {
  const ca = createCertificateAuthority('test-apiserver-ca');
  const serving = ca.issue(['localhost'], ['127.0.0.1']);
  const token = randomBytes(24).toString('hex');
  const registry = new ResourceRegistry([...defaultResources(), ...(opts.extraResources ?? [])]);
  const store = new ObjectStore(opts.historySize ?? 2000);
  const faultRules = new FaultRules();
  const watches = new WatchRegistry();
  const log = opts.log ?? (() => undefined);
  let url = '';
  const requestLog: RequestRecord[] = [];

  const handler = new RequestHandler({
    registry,
    store,
    faults: faultRules,
    watches,
    watchOptions: { defaultTimeoutSeconds: 1800, bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 60_000 },
    token,
    user: opts.user ?? DEFAULT_USER,
    serverAddress: () => new URL(url).host,
    admission: { serviceResolver: opts.serviceResolver ?? defaultResolver, log },
    log,
    record: (entry) => {
      requestLog.push(entry);
      if (requestLog.length > 2000) requestLog.splice(0, requestLog.length - 2000);
    },
  });

  const server = https.createServer({ key: serving.keyPem, cert: serving.certPem }, (req, res) => {
    void handler.handle(req, res);
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  url = `https://127.0.0.1:${port}`;

  seedSystemNamespaces(registry, store);

  const resolve = (apiVersion: string, resource: string): { type: ResourceType; version: string } => {
    const { group, version } = splitApiVersion(apiVersion);
    const type = registry.find(group, version, resource);
    if (!type) throw new Error(`no resource ${resource} in ${apiVersion}`);
    return { type, version };
  };

  const storeAccess: StoreAccess = {
    get(ref) {
      const { type, version } = resolve(ref.apiVersion, ref.resource);
      const obj = store.get(type, ref.namespace, ref.name);
      return obj ? atVersion(type, obj, version) : undefined;
    },
    list(ref) {
      const { type, version } = resolve(ref.apiVersion, ref.resource);
      return store.list(type, ref.namespace).map((o) => atVersion(type, o, version));
    },
    put(resource, obj) {
      const { type, version } = resolve(obj.apiVersion ?? '', resource);
      const copy = structuredClone(obj);
      if (type.tracksGeneration) copy.metadata.generation ??= 1;
      if (!type.namespaced) delete copy.metadata.namespace;
      const existing = store.get(type, copy.metadata.namespace, copy.metadata.name ?? '');
      if (existing && !copy.metadata.uid) copy.metadata.uid = existing.metadata.uid;
      if (existing && !copy.metadata.creationTimestamp)
        copy.metadata.creationTimestamp = existing.metadata.creationTimestamp;
      if (!existing) type.prepareForCreate?.(copy);
      return atVersion(type, store.put(type, atVersion(type, copy, type.versions[0] ?? version)), version);
    },
    remove(ref) {
      const { type, version } = resolve(ref.apiVersion, ref.resource);
      const removed = store.remove(type, ref.namespace, ref.name);
      return removed ? atVersion(type, removed, version) : undefined;
    },
    resourceVersion: () => String(store.currentRevision()),
  };

  return {
    url,
    caPem: ca.certPem,
    token,
    resources: registry.types,
    writeKubeconfig(path, kopts) {
      writeKubeconfigFile(path, kubeconfigYaml(url, ca.certPem, token, kopts?.namespace ?? 'default'));
    },
    faults: {
      expireHistory: () => store.expireHistory(),
      dropWatches: () => watches.destroyAll(),
      endWatches: () => watches.endAll(),
      failRequests: (rule: FailRule) => faultRules.addFail(rule),
      hangRequests: (rule: HangRule) => faultRules.addHang(rule),
      clear: () => faultRules.clear(),
    },
    openWatches: () => watches.count(),
    requests: () => [...requestLog],
    store: storeAccess,
    close: () =>
      new Promise<void>((resolveClose) => {
        watches.destroyAll();
        server.close(() => resolveClose());
        server.closeAllConnections();
      }),
  };
}

// An app wired like `serve --standalone`, without a socket, for inject() tests.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Reservations } from '../../src/cluster/reservations.js';
import { ClusterStore } from '../../src/cluster/store.js';
import { buildApp, type AppDeps } from '../../src/http/app.js';
import { localAdmitter } from '../../src/cluster/admitter.js';
import type { OverlapMode } from '../../src/sidecar/selectors.js';

export interface TestApp {
  app: FastifyInstance;
  store: ClusterStore;
  reservations: Reservations;
}

export function testApp(opts: { overlap?: OverlapMode; deps?: Partial<AppDeps>; ttlMs?: number } = {}): TestApp {
  const store = new ClusterStore();
  const { admitter, reservations } = localAdmitter(
    store,
    { overlap: opts.overlap ?? 'labels', rootNamespace: 'istio-system' },
    { ttlMs: opts.ttlMs ?? 10_000 },
  );
  const app = buildApp({
    validate: (r) => admitter.validate(r),
    readiness: () => ({ ready: true, reasons: [] }),
    ...opts.deps,
  });
  return { app, store, reservations };
}

/** An AdmissionReview the way kube-apiserver sends it for a Sidecar. */
export function sidecarReview(
  object: Record<string, unknown>,
  opts: { operation?: string; oldObject?: unknown; dryRun?: boolean; apiVersion?: string; uid?: string } = {},
) {
  const meta = (object.metadata ?? {}) as { name?: string; namespace?: string };
  const version = String(object.apiVersion ?? 'networking.istio.io/v1').split('/')[1] ?? 'v1';
  return {
    apiVersion: opts.apiVersion ?? 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: opts.uid ?? randomUUID(),
      kind: { group: 'networking.istio.io', version, kind: 'Sidecar' },
      resource: { group: 'networking.istio.io', version, resource: 'sidecars' },
      requestKind: { group: 'networking.istio.io', version, kind: 'Sidecar' },
      requestResource: { group: 'networking.istio.io', version, resource: 'sidecars' },
      name: meta.name,
      namespace: meta.namespace,
      operation: opts.operation ?? 'CREATE',
      userInfo: { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] },
      object,
      oldObject: opts.oldObject ?? null,
      dryRun: opts.dryRun ?? false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: opts.operation === 'UPDATE' ? 'UpdateOptions' : 'CreateOptions' },
    },
  };
}

// Liveness and readiness, in their own plugin so admission error handling
// and hooks never apply to the probes.
import type { FastifyPluginCallback } from 'fastify';

export interface Readiness {
  ready: boolean;
  /** Why not ready, one short phrase each (cache not synced, draining, ...). */
  reasons: string[];
}

export type ProbePath = '/healthz' | '/readyz';

/** A probe's status code and JSON body: the admission port and the metrics listener answer alike. */
export function probeAnswer(path: ProbePath, readiness: () => Readiness): { code: number; body: object } {
  if (path === '/healthz') return { code: 200, body: { status: 'ok' } };
  const r = readiness();
  return { code: r.ready ? 200 : 503, body: { status: r.ready ? 'ready' : 'not ready', reasons: r.reasons } };
}

export const healthRoutes: FastifyPluginCallback<{ readiness: () => Readiness }> = (app, opts, done) => {
  for (const path of ['/healthz', '/readyz'] as const) {
    app.get(path, async (_req, reply) => {
      const { code, body } = probeAnswer(path, opts.readiness);
      return reply.code(code).send(body);
    });
  }
  done();
};

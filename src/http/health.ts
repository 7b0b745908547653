// Liveness and readiness, in their own plugin so admission error handling
// and hooks never apply to the probes.
import type { FastifyPluginCallback } from 'fastify';

export interface Readiness {
  ready: boolean;
  /** Why not ready, one short phrase each (cache not synced, draining, ...). */
  reasons: string[];
}

export const healthRoutes: FastifyPluginCallback<{ readiness: () => Readiness }> = (app, opts, done) => {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const r = opts.readiness();
    return reply.code(r.ready ? 200 : 503).send({ status: r.ready ? 'ready' : 'not ready', reasons: r.reasons });
  });
  done();
};

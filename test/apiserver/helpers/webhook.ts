// A throwaway HTTPS admission webhook for tests: node https with a node-forge
// certificate, answering AdmissionReviews with whatever the test decides.

import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { createCertificateAuthority } from '../tls.js';

export interface ReceivedReview {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  review: { apiVersion: string; kind: string; request: Record<string, unknown> };
}

/** What the webhook answers: the `response` of the AdmissionReview (uid is filled in), or a raw HTTP reply. */
export type Decide = (
  review: ReceivedReview,
) => Record<string, unknown> | { rawStatus: number; rawBody: string } | Promise<Record<string, unknown>>;

export interface ThrowawayWebhook {
  port: number;
  /** `https://127.0.0.1:PORT` */
  base: string;
  /** base64 PEM of the CA that signed the serving certificate (for `caBundle`). */
  caBundle: string;
  received: ReceivedReview[];
  decide: Decide;
  close(): Promise<void>;
}

/**
 * Starts a webhook whose certificate is valid for `dnsNames` (e.g. the service
 * name `guard.system.svc`) and 127.0.0.1.
 */
export async function startThrowawayWebhook(
  dnsNames: string[],
  decide: Decide = () => ({ allowed: true }),
): Promise<ThrowawayWebhook> {
  const ca = createCertificateAuthority('throwaway-webhook-ca');
  const cert = ca.issue(dnsNames, ['127.0.0.1']);
  const hook: ThrowawayWebhook = {
    port: 0,
    base: '',
    caBundle: Buffer.from(ca.certPem).toString('base64'),
    received: [],
    decide,
    close: async () => undefined,
  };
  const server = https.createServer({ key: cert.keyPem, cert: cert.certPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ReceivedReview['review'];
        const received: ReceivedReview = { path: req.url ?? '', headers: req.headers, review };
        hook.received.push(received);
        const answer = await hook.decide(received);
        if ('rawStatus' in answer) {
          res.writeHead(answer.rawStatus as number, { 'Content-Type': 'application/json' });
          res.end(answer.rawBody);
          return;
        }
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(
          JSON.stringify({
            apiVersion: review.apiVersion,
            kind: 'AdmissionReview',
            response: { uid: review.request.uid, ...answer },
          }),
        );
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  hook.port = (server.address() as AddressInfo).port;
  hook.base = `https://127.0.0.1:${hook.port}`;
  hook.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return hook;
}

/** base64 of a JSONPatch, as a mutating webhook returns it. */
export function encodePatch(ops: unknown[]): string {
  return Buffer.from(JSON.stringify(ops)).toString('base64');
}

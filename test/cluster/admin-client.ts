// Direct HTTPS calls to the real kube-apiserver as the cluster admin (client
// certificate), for what kubectl would make slow: thousands of dry-run creates
// in the schema differential, readiness probes, raw list/watch checks.
import https from 'node:https';
import { readFileSync } from 'node:fs';
import type { ClusterPki } from './pki.js';

export interface ApiResponse<T = unknown> {
  status: number;
  body: T;
  headers: Record<string, string | string[] | undefined>;
}

export interface ApiRequest {
  method?: string;
  body?: unknown;
  /** Sent as is when a string (e.g. a JSON text with duplicate keys), else JSON.stringify'd. */
  contentType?: string;
  accept?: string;
  timeoutMs?: number;
}

export class AdminClient {
  private readonly agent: https.Agent;

  constructor(
    readonly url: string,
    pki: Pick<ClusterPki, 'caCert' | 'adminCert' | 'adminKey'>,
    maxSockets = 8,
  ) {
    this.agent = new https.Agent({
      keepAlive: true,
      maxSockets,
      ca: readFileSync(pki.caCert),
      cert: readFileSync(pki.adminCert),
      key: readFileSync(pki.adminKey),
    });
  }

  request<T = unknown>(path: string, req: ApiRequest = {}): Promise<ApiResponse<T>> {
    const payload =
      req.body === undefined ? undefined : typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
    return new Promise((resolve, reject) => {
      const r = https.request(
        `${this.url}${path}`,
        {
          method: req.method ?? 'GET',
          agent: this.agent,
          timeout: req.timeoutMs ?? 30_000,
          headers: {
            accept: req.accept ?? 'application/json',
            ...(payload === undefined
              ? {}
              : {
                  'content-type': req.contentType ?? 'application/json',
                  'content-length': Buffer.byteLength(payload),
                }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: unknown = text;
            try {
              body = text ? JSON.parse(text) : undefined;
            } catch {
              // not JSON (e.g. /readyz?verbose): keep the text
            }
            resolve({ status: res.statusCode ?? 0, body: body as T, headers: res.headers });
          });
          res.on('error', reject);
        },
      );
      r.on('timeout', () =>
        r.destroy(new Error(`${req.method ?? 'GET'} ${path}: no answer within ${req.timeoutMs ?? 30_000} ms`)),
      );
      r.on('error', reject);
      r.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

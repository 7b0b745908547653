// A minimal HTTPS client for protocol-level tests of the test API server.

import https from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import type { TestApiServer } from '../index.js';

export interface HttpResult {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: protocol tests read fields of the server's answers freely
  json: any;
}

export interface RequestOptions {
  body?: unknown;
  contentType?: string;
  headers?: Record<string, string>;
  /** Abort after this many ms (rejects with the abort error). */
  timeoutMs?: number;
  /** Send no Authorization header. */
  anonymous?: boolean;
}

export function request(
  server: TestApiServer,
  method: string,
  path: string,
  opts: RequestOptions = {},
): Promise<HttpResult> {
  const url = new URL(path, server.url);
  const payload =
    opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method,
        ca: server.caPem,
        agent: false,
        headers: {
          ...(opts.anonymous ? {} : { Authorization: `Bearer ${server.token}` }),
          Accept: 'application/json',
          ...(payload !== undefined ? { 'Content-Type': opts.contentType ?? 'application/json' } : {}),
          ...opts.headers,
        },
        ...(opts.timeoutMs ? { signal: AbortSignal.timeout(opts.timeoutMs) } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

export interface WatchEvent {
  type: string;
  // biome-ignore lint/suspicious/noExplicitAny: protocol tests read fields of the server's answers freely
  object: any;
}

export interface WatchStream {
  events: WatchEvent[];
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

/** Opens a watch and collects its newline-delimited events. */
export function openWatch(server: TestApiServer, path: string): Promise<WatchStream> {
  const url = new URL(path, server.url);
  return new Promise((resolve, reject) => {
    const events: WatchEvent[] = [];
    let endResolve: () => void = () => undefined;
    const ended = new Promise<void>((r) => (endResolve = r));
    const req = https.get(
      url,
      { ca: server.caPem, agent: false, headers: { Authorization: `Bearer ${server.token}` } },
      (res) => {
        let buffer = '';
        res.on('data', (c: Buffer) => {
          buffer += c.toString('utf8');
          for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
            const line = buffer.slice(0, nl);
            buffer = buffer.slice(nl + 1);
            if (line.trim() !== '') events.push(JSON.parse(line) as WatchEvent);
          }
        });
        res.on('end', endResolve);
        res.on('close', endResolve);
        res.on('error', endResolve);
        resolve({ events, ended, close: () => req.destroy() });
      },
    );
    req.on('error', reject);
  });
}

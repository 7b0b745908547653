// Shared by the TLS tests: the real app on a real TLS socket, and clients
// that report what they saw (peer certificate, error code) instead of throwing.
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/app.js';
import { serverTlsOptions, type ServingPem } from '../../src/tls/server-options.js';
export { waitFor } from '../helpers/wait.js';

export interface TlsTestServer {
  app: FastifyInstance;
  port: number;
  close(): Promise<void>;
}

/** buildApp() with serverTlsOptions(), listening on 127.0.0.1 (health routes only matter here). */
export async function startTlsServer(pem: ServingPem): Promise<TlsTestServer> {
  const app = buildApp({
    validate: () => ({ allowed: true, outcome: 'allowed', warnings: [], rules: [] }) as never,
    readiness: () => ({ ready: true, reasons: [] }),
    https: serverTlsOptions(pem),
    timeouts: { keepAliveMs: 60_000 },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  return { app, port, close: () => app.close() };
}

export interface ClientTls {
  ca?: string;
  servername?: string;
  cert?: string;
  key?: string;
  ciphers?: string;
  minVersion?: tls.SecureVersion;
  maxVersion?: tls.SecureVersion;
}

export interface ProbeResult {
  authorized?: boolean;
  fingerprint256?: string;
  protocol?: string | null;
  cipher?: string;
  /** The error code (or message) when the handshake failed. */
  error?: string;
}

/** One TLS handshake, then close. */
export function tlsProbe(port: number, opts: ClientTls): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ...opts });
    socket.once('secureConnect', () => {
      const result: ProbeResult = {
        authorized: socket.authorized,
        fingerprint256: socket.getPeerCertificate().fingerprint256,
        protocol: socket.getProtocol(),
        cipher: socket.getCipher().name,
      };
      socket.end();
      resolve(result);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      socket.destroy();
      resolve({ error: err.code ?? err.message });
    });
  });
}

export interface GetResult {
  status?: number;
  body?: string;
  fingerprint256?: string;
  /** The socket that carried the request (to tell reused keep-alive connections from new ones). */
  socket?: tls.TLSSocket;
  error?: string;
}

/** GET over HTTPS; never rejects. */
export function httpsGet(
  port: number,
  path: string,
  opts: ClientTls & { agent?: https.Agent | false },
): Promise<GetResult> {
  return new Promise((resolve) => {
    const { agent, ...tlsOpts } = opts;
    const req = https.request(
      { host: '127.0.0.1', port, path, method: 'GET', agent: agent ?? false, ...tlsOpts },
      (res) => {
        const socket = res.socket as tls.TLSSocket;
        const fingerprint256 = socket.getPeerCertificate().fingerprint256;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode, body, fingerprint256, socket }));
        res.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    req.end();
  });
}

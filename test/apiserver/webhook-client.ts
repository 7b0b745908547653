// The HTTPS client kube-apiserver uses for admission webhooks: POST of an
// AdmissionReview to `clientConfig.url`, or to
// `https://<name>.<namespace>.svc:<port><path>` for `clientConfig.service`,
// with `?timeout=<N>s`, the TLS peer verified against `caBundle` under the
// URL's host name (the service DNS name for service references). Failures are
// described in the words Go's net/http and crypto/tls would use, since they
// end up in `failed calling webhook "<name>": ...` messages users read.

import https from 'node:https';
import { isIP } from 'node:net';
import tls from 'node:tls';
import type { PeerCertificate } from 'node:tls';

export interface WebhookClientConfig {
  url?: string;
  service?: { namespace: string; name: string; port?: number; path?: string };
  caBundle?: string;
}

/** Maps a service reference to the address that actually serves it (tests run without cluster DNS). */
export type ServiceResolver = (namespace: string, name: string, port: number) => string;

export interface ResolvedWebhook {
  /** The URL kube-apiserver would post to (what error messages show; Go keeps an explicit :443). */
  url: string;
  /** Where to connect. */
  connect: URL;
  /** The name the serving certificate must be valid for. */
  serverName: string;
  caPem?: string;
}

export function resolveWebhook(
  config: WebhookClientConfig,
  timeoutSeconds: number,
  resolver: ServiceResolver,
): ResolvedWebhook {
  const caPem = config.caBundle ? Buffer.from(config.caBundle, 'base64').toString('utf8') : undefined;
  const timeout = `timeout=${timeoutSeconds}s`;
  if (config.service) {
    const { namespace, name } = config.service;
    const port = config.service.port ?? 443;
    const host = `${name}.${namespace}.svc`;
    const path = config.service.path ?? '/';
    const connect = new URL(path, resolver(namespace, name, port));
    connect.search = timeout;
    return { url: `https://${host}:${port}${path}?${timeout}`, connect, serverName: host, ...(caPem ? { caPem } : {}) };
  }
  if (config.url) {
    const connect = new URL(config.url);
    connect.search = timeout;
    return {
      url: `${config.url}?${timeout}`,
      connect,
      serverName: connect.hostname.replace(/^\[|\]$/g, ''),
      ...(caPem ? { caPem } : {}),
    };
  }
  throw new Error('webhook clientConfig has neither url nor service');
}

// Go lists the DNS names when checking a host name, the IP addresses when checking an IP.
function altNames(cert: PeerCertificate, host: string): string {
  const prefix = isIP(host) ? 'IP Address:' : 'DNS:';
  const names = (cert.subjectaltname ?? '').split(',').map((s) => s.trim());
  return names
    .filter((n) => n.startsWith(prefix))
    .map((n) => n.slice(prefix.length))
    .join(', ');
}

/** Go-flavoured text for a node connection/TLS error. */
export function describeNetworkError(
  err: NodeJS.ErrnoException & { cert?: PeerCertificate; host?: string },
  connect: URL,
): string {
  const tlsPrefix = 'tls: failed to verify certificate: x509: ';
  switch (err.code) {
    case 'ECONNREFUSED':
      return `dial tcp ${connect.hostname}:${connect.port || 443}: connect: connection refused`;
    case 'ECONNRESET':
      return 'read: connection reset by peer';
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'CERT_SIGNATURE_FAILURE': // an issuer with the right name but another key
      return `${tlsPrefix}certificate signed by unknown authority`;
    case 'CERT_HAS_EXPIRED':
      return `${tlsPrefix}certificate has expired or is not yet valid`;
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `${tlsPrefix}certificate is valid for ${err.cert ? altNames(err.cert, err.host ?? '') : '?'}, not ${err.host ?? '?'}`;
    default:
      return err.message;
  }
}

export class WebhookCallError extends Error {}

/**
 * Posts `review` and returns the parsed response body. Rejects with a
 * WebhookCallError whose message is what follows "failed calling webhook": `failed to call webhook: Post "<url>": <why>`.
 */
export function postReview(target: ResolvedWebhook, review: unknown, timeoutMs: number): Promise<unknown> {
  const post = `Post "${target.url}"`;
  const body = Buffer.from(JSON.stringify(review));
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      reject(new WebhookCallError(`failed to call webhook: ${post}: ${why}`));
    };
    const req = https.request(
      {
        protocol: 'https:',
        hostname: target.connect.hostname,
        port: target.connect.port || 443,
        path: `${target.connect.pathname}${target.connect.search}`,
        method: 'POST',
        agent: false,
        servername: isIP(target.serverName) ? undefined : target.serverName,
        ca: target.caPem,
        checkServerIdentity: (_host, cert) => tls.checkServerIdentity(target.serverName, cert),
        headers: {
          'Content-Type': 'application/json',
          Accept: 'application/json, */*',
          'Content-Length': body.length,
          'User-Agent': 'kube-apiserver-admission',
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => fail(describeNetworkError(err, target.connect)));
        res.on('end', () => {
          if (settled) return;
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status < 200 || status > 299) {
            settled = true;
            const detail =
              text.trim() === ''
                ? `the server responded with the status code ${status} but did not return more information`
                : `an error on the server (${JSON.stringify(text.trim().slice(0, 1024))}) has prevented the request from succeeding`;
            reject(new WebhookCallError(`failed to call webhook: ${detail}`));
            return;
          }
          try {
            settled = true;
            resolve(JSON.parse(text));
          } catch (err) {
            reject(
              new WebhookCallError(
                `failed to call webhook: couldn't get version/kind; json parse error: ${(err as Error).message}`,
              ),
            );
          }
        });
      },
    );
    const timer = setTimeout(() => {
      fail('context deadline exceeded');
      req.destroy();
    }, timeoutMs);
    req.on('error', (err) => fail(describeNetworkError(err as NodeJS.ErrnoException, target.connect)));
    req.on('close', () => clearTimeout(timer));
    req.end(body);
  });
}

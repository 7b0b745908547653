// The TLS options of the webhook listener in one place: TLS 1.2 minimum,
// AEAD-only cipher suites, optional client-certificate authentication
// (--client-ca), and objects that never print their private key.
import { X509Certificate } from 'node:crypto';
import { inspect } from 'node:util';
import type { SecureContextOptions } from 'node:tls';
import { splitPemBundle } from './certs.js';

/**
 * TLS 1.3 suites first (Node routes the TLS_* names to TLS 1.3), then the
 * ECDHE AEAD suites for TLS 1.2. No CBC, RC4, 3DES, static RSA or SHA-1 MAC:
 * the same set Kyverno serves and that Go's crypto/tls prefers, so every
 * supported kube-apiserver can connect.
 */
export const TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export const TLS_MIN_VERSION = 'TLSv1.2' as const;

export interface ServingPem {
  certPem: string;
  keyPem: string;
  /** PEM bundle of the CAs allowed to sign client certificates; turns on mutual TLS. */
  clientCaPem?: string;
}

/** What setSecureContext() accepts: everything that may change on a certificate swap. */
export type SecureOptions = SecureContextOptions & {
  minVersion: typeof TLS_MIN_VERSION;
  ciphers: string;
  honorCipherOrder: true;
};

/** What buildApp({ https }) accepts: the secure context plus the handshake policy. */
export type ServerTlsOptions = SecureOptions & { requestCert?: boolean; rejectUnauthorized?: boolean };

/**
 * The secure-context part: passed both to the server at start and to every
 * setSecureContext() call, so a hot reload keeps the client CA and the
 * cipher policy (setSecureContext replaces the whole context).
 */
export function secureContextOptions(pem: ServingPem): SecureOptions {
  const options: SecureOptions = {
    cert: pem.certPem,
    key: pem.keyPem,
    minVersion: TLS_MIN_VERSION,
    ciphers: TLS_CIPHERS,
    honorCipherOrder: true,
  };
  if (pem.clientCaPem !== undefined) options.ca = checkedClientCa(pem.clientCaPem);
  return redactKey(options);
}

/**
 * The https options for buildApp(). With a client CA the handshake asks for
 * a certificate signed by it (kube-apiserver sends one when its admission
 * control config names a client certificate for this webhook). The handshake
 * itself does not insist, because the kubelet's HTTPS probes carry no client
 * certificate; buildApp sees requestCert and refuses admission requests from
 * unauthenticated connections (403) while the probes keep working.
 */
export function serverTlsOptions(pem: ServingPem): ServerTlsOptions {
  const options: ServerTlsOptions = secureContextOptions(pem);
  if (pem.clientCaPem !== undefined) {
    options.requestCert = true;
    options.rejectUnauthorized = false;
  }
  return redactKey(options);
}

function checkedClientCa(pem: string): string {
  const certs = splitPemBundle(pem);
  if (certs.length === 0) throw new Error('--client-ca: no PEM certificate found in the file');
  for (const c of certs) {
    let x: X509Certificate;
    try {
      x = new X509Certificate(c);
    } catch (err) {
      throw new Error(`--client-ca: not a valid certificate: ${(err as Error).message}`);
    }
    if (!x.ca) throw new Error(`--client-ca: ${x.subject.replace(/\n/g, ', ')} is not a CA certificate`);
  }
  return certs.join('');
}

/**
 * Makes JSON.stringify (pino's serializer) and util.inspect show the key as
 * "[redacted]". The hooks are non-enumerable, so spreading the object (as
 * buildApp does) still copies the real key and nothing else.
 */
export function redactKey<T extends object>(options: T): T {
  const show = () => {
    const copy: Record<string, unknown> = { ...(options as Record<string, unknown>) };
    for (const k of ['key', 'keyPem', 'pfx', 'passphrase']) if (k in copy) copy[k] = '[redacted]';
    return copy;
  };
  Object.defineProperty(options, 'toJSON', { value: show, enumerable: false, configurable: true });
  Object.defineProperty(options, inspect.custom, { value: () => show(), enumerable: false, configurable: true });
  return options;
}

// Hot reload of the serving certificate. tls.Server#setSecureContext swaps
// the context used by the NEXT handshakes; connections already established
// keep theirs, so keep-alive clients are not dropped and no request fails.
import type { Logger } from 'pino';
import { secureContextOptions } from './server-options.js';
import { certInfo } from './certs.js';

/** What the server presents: the certificate and its key (never logged). */
export interface ServingMaterial {
  certPem: string;
  keyPem: string;
  caBundlePem: string;
  notAfter: Date;
}

export interface CertificateSource {
  current(): ServingMaterial;
  /** Returns a function that unsubscribes. */
  onChange(listener: (material: ServingMaterial) => void): () => void;
}

/** The part of tls.Server (and https.Server, Fastify's app.server under https) that is needed. */
export interface SecureContextTarget {
  setSecureContext(options: object): void;
}

/**
 * Serves `material` on every new handshake from now on. `clientCaPem` must
 * be passed again when mutual TLS is on: setSecureContext replaces the whole
 * context, client CA included.
 */
export function swapCertificate(
  server: SecureContextTarget,
  material: Pick<ServingMaterial, 'certPem' | 'keyPem'>,
  clientCaPem?: string,
): void {
  if (typeof server.setSecureContext !== 'function')
    throw new Error('hot reload needs a TLS server (buildApp with https options)');
  server.setSecureContext(
    secureContextOptions({
      certPem: material.certPem,
      keyPem: material.keyPem,
      ...(clientCaPem !== undefined ? { clientCaPem } : {}),
    }),
  );
}

/**
 * Applies every certificate change of `source` to `server`. A failed swap is
 * logged and the old certificate stays (still valid: rotation happens at 2/3
 * of its life). Returns the unsubscribe function.
 */
export function reloadOnChange(
  server: SecureContextTarget,
  source: CertificateSource,
  opts: { clientCaPem?: string; logger?: Logger } = {},
): () => void {
  return source.onChange((material) => {
    try {
      swapCertificate(server, material, opts.clientCaPem);
      const info = certInfo(material.certPem);
      opts.logger?.info(
        { fingerprint256: info.fingerprint256, notAfter: info.notAfter.toISOString() },
        'serving certificate reloaded',
      );
    } catch (err) {
      opts.logger?.error(
        { err: (err as Error).message },
        'serving certificate reload failed; keeping the previous one',
      );
    }
  });
}

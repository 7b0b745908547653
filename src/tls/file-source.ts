// Certificates mounted as files (cert-manager, or `sidecar-guard certs`) are
// renewed behind the process's back: re-read them periodically and hand the
// new pair to the reloader, so a renewal never needs a restart and an expired
// certificate is never served while a fresh one sits on disk.
//
// Nobody here renews them, so each read also says, once per certificate,
// when the one served is about to expire (warn) or has expired (error).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { describeTimeLeft, expiryState, type ExpiryState } from './expiry.js';
import { readServingPair } from './files.js';
import type { CertificateSource, ServingMaterial } from './reloader.js';

export interface FileCertificateSourceOptions {
  /** Period of the re-read. Default 60 s. */
  intervalMs?: number;
  logger?: Logger;
  clock?: () => Date;
  /** What the expiry lines tell the reader to do, e.g. how to mount a renewed pair. */
  renewHint?: string;
}

interface Served {
  material: ServingMaterial;
  notBefore: Date;
  fingerprint256: string;
}

export class FileCertificateSource implements CertificateSource {
  private served: Served;
  private readonly listeners = new Set<(m: ServingMaterial) => void>();
  private readonly timer: NodeJS.Timeout;
  private readonly clock: () => Date;
  /** The expiry state last logged, and for which certificate: each is said once. */
  private expiryLogged?: { fingerprint256: string; state: ExpiryState };

  constructor(
    private readonly dir: string,
    private readonly opts: FileCertificateSourceOptions = {},
  ) {
    this.clock = opts.clock ?? (() => new Date());
    this.served = this.read();
    this.noteExpiry();
    this.timer = setInterval(() => this.check(), opts.intervalMs ?? 60_000);
    this.timer.unref();
  }

  current(): ServingMaterial {
    return this.served.material;
  }

  onChange(listener: (m: ServingMaterial) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Re-reads the files; a half-written or unreadable pair, or a key that is not the certificate's yet, keeps the current one. */
  check(): void {
    try {
      this.reread();
    } finally {
      this.noteExpiry();
    }
  }

  private reread(): void {
    let next: Served;
    try {
      next = this.read();
    } catch (err) {
      this.opts.logger?.warn(
        { dir: this.dir, err: (err as Error).message },
        'could not re-read the serving certificate; keeping the current one',
      );
      return;
    }
    const now = this.served.material;
    if (next.material.certPem === now.certPem && next.material.keyPem === now.keyPem) return;
    this.served = next;
    for (const l of this.listeners) l(next.material);
  }

  /** A warning once the served certificate is close to its end, an error once it is past it; each once per certificate. */
  private noteExpiry(): void {
    const { material, notBefore, fingerprint256 } = this.served;
    const now = this.clock();
    const state = expiryState(notBefore, material.notAfter, now);
    const logged = this.expiryLogged?.fingerprint256 === fingerprint256 ? this.expiryLogged.state : 'valid';
    if (state === logged) return;
    this.expiryLogged = { fingerprint256, state };
    const fields = { file: join(this.dir, 'tls.crt'), notAfter: material.notAfter.toISOString(), fingerprint256 };
    const hint = this.opts.renewHint ?? 'mount a renewed pair there';
    if (state === 'expiring')
      this.opts.logger?.warn(
        fields,
        `the serving certificate ${fields.file} expires in ${describeTimeLeft(material.notAfter.getTime() - now.getTime())} (notAfter ${fields.notAfter}): ${hint}`,
      );
    else if (state === 'expired')
      this.opts.logger?.error(
        fields,
        `the serving certificate ${fields.file} expired at ${fields.notAfter}: the API server refuses every admission call and /readyz answers 503 until it is renewed; ${hint}`,
      );
  }

  private read(): Served {
    const { certPem, keyPem, notBefore, notAfter, fingerprint256 } = readServingPair(this.dir);
    let caBundlePem = '';
    try {
      caBundlePem = readFileSync(join(this.dir, 'ca.crt'), 'utf8');
    } catch {
      // ca.crt is optional when the certificates are mounted
    }
    return { material: { certPem, keyPem, caBundlePem, notAfter }, notBefore, fingerprint256 };
  }
}

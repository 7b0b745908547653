// Certificates mounted as files (cert-manager, or `sidecar-guard certs`) are
// renewed behind the process's back: re-read them periodically and hand the
// new pair to the reloader, so a renewal never needs a restart and an expired
// certificate is never served while a fresh one sits on disk.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { readServingPair } from './files.js';
import type { CertificateSource, ServingMaterial } from './reloader.js';

export class FileCertificateSource implements CertificateSource {
  private material: ServingMaterial;
  private readonly listeners = new Set<(m: ServingMaterial) => void>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly dir: string,
    intervalMs = 60_000,
    private readonly logger?: Logger,
  ) {
    this.material = this.read();
    this.timer = setInterval(() => this.check(), intervalMs);
    this.timer.unref();
  }

  current(): ServingMaterial {
    return this.material;
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
    let next: ServingMaterial;
    try {
      next = this.read();
    } catch (err) {
      this.logger?.warn(
        { dir: this.dir, err: (err as Error).message },
        'could not re-read the serving certificate; keeping the current one',
      );
      return;
    }
    if (next.certPem === this.material.certPem && next.keyPem === this.material.keyPem) return;
    this.material = next;
    for (const l of this.listeners) l(next);
  }

  private read(): ServingMaterial {
    const { certPem, keyPem, notAfter } = readServingPair(this.dir);
    let caBundlePem = '';
    try {
      caBundlePem = readFileSync(join(this.dir, 'ca.crt'), 'utf8');
    } catch {
      // ca.crt is optional when the certificates are mounted
    }
    return { certPem, keyPem, caBundlePem, notAfter };
  }
}

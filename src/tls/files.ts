// Standalone mode keeps its CA and serving certificate in a directory.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { certInfo, createCA, issueServingCert, type KeyPairPem } from './certs.js';

export interface CertFiles {
  ca: KeyPairPem;
  serving: KeyPairPem;
  /** true when this call created them. */
  created: boolean;
}

const names = (dir: string) => ({
  caCert: join(dir, 'ca.crt'),
  caKey: join(dir, 'ca.key'),
  cert: join(dir, 'tls.crt'),
  key: join(dir, 'tls.key'),
});

export function writeCertFiles(dir: string, ca: KeyPairPem, serving: KeyPairPem): void {
  const n = names(dir);
  mkdirSync(dir, { recursive: true });
  writeFileSync(n.caCert, ca.certPem);
  writeFileSync(n.caKey, ca.keyPem, { mode: 0o600 });
  writeFileSync(n.cert, serving.certPem);
  writeFileSync(n.key, serving.keyPem, { mode: 0o600 });
}

export function readCertFiles(dir: string): { ca?: KeyPairPem; serving: KeyPairPem } {
  const n = names(dir);
  const serving = { certPem: readFileSync(n.cert, 'utf8'), keyPem: readFileSync(n.key, 'utf8') };
  const ca = existsSync(n.caCert) ? { certPem: readFileSync(n.caCert, 'utf8'), keyPem: existsSync(n.caKey) ? readFileSync(n.caKey, 'utf8') : '' } : undefined;
  return ca ? { ca, serving } : { serving };
}

/**
 * The certificates for `make run`: reused while valid for at least another
 * day, otherwise a fresh self-signed CA and a serving certificate for
 * localhost, 127.0.0.1 and ::1.
 */
export function ensureStandaloneCerts(dir: string, now = new Date()): CertFiles {
  const n = names(dir);
  if ([n.caCert, n.caKey, n.cert, n.key].every(existsSync)) {
    const files = readCertFiles(dir);
    const notAfter = certInfo(files.serving.certPem).notAfter.getTime();
    if (files.ca && notAfter - now.getTime() > 24 * 3600 * 1000) return { ca: files.ca, serving: files.serving, created: false };
  }
  const ca = createCA({ now });
  const serving = issueServingCert(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'], now });
  writeCertFiles(dir, ca, serving);
  return { ca, serving, created: true };
}

// Standalone mode keeps its CA and serving certificate in a directory.
//
// Each file is written whole to a new temporary file in the same directory
// (keys created 0600 from the start) and renamed over the old one: an
// existing tls.key at 0644 is replaced, not rewritten in place keeping its
// mode, and nobody ever reads half a key. A target that is a symbolic link
// (or anything but a regular file) is refused: writing through it would put
// a private key wherever the link points.
import {
  closeSync,
  existsSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { createCA, issueServingCert, type KeyPairPem } from './certs.js';

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

/** A certificate file that cannot be written safely, or read back usefully (its message says which and why). */
export class CertFileError extends Error {}

export function writeCertFiles(dir: string, ca: KeyPairPem, serving: KeyPairPem): void {
  const n = names(dir);
  makeDirectory(dir);
  // Every target is checked before any is written: a refusal leaves the directory as it was.
  for (const path of [n.caCert, n.caKey, n.cert, n.key]) refuseUnsafeTarget(path);
  writeAtomically(n.caCert, ca.certPem, 0o644);
  writeAtomically(n.caKey, ca.keyPem, 0o600);
  writeAtomically(n.cert, serving.certPem, 0o644);
  writeAtomically(n.key, serving.keyPem, 0o600);
}

/**
 * Creates `dir` and its missing parents one level at a time. Not Node's
 * `mkdirSync(dir, { recursive: true })`: on a filesystem that answers ENOENT
 * to a mkdir under an existing folder (/proc) that call never returns
 * (Node 24.21), which would hang `serve --standalone --cert-dir /proc/x`;
 * one level at a time, the first refusal is an error naming the folder.
 */
export function makeDirectory(dir: string): void {
  const missing: string[] = [];
  for (let current = resolve(dir); !existsSync(current); current = dirname(current)) {
    missing.push(current);
    if (dirname(current) === current) break;
  }
  for (const folder of missing.reverse()) mkdirSync(folder);
  // A file there would otherwise fail later, as ENOTDIR about a temporary file inside it.
  if (!statSync(resolve(dir)).isDirectory()) throw new CertFileError(`cannot use ${dir}: not a directory`);
}

function refuseUnsafeTarget(path: string): void {
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    return; // absent: created
  }
  if (stat.isSymbolicLink())
    throw new CertFileError(
      `refusing to write ${path}: it is a symbolic link (remove it, or choose another directory)`,
    );
  if (!stat.isFile()) throw new CertFileError(`refusing to write ${path}: it is not a regular file`);
}

/** Writes a temporary file beside `path` with `mode` from its creation, then renames it over `path`. */
function writeAtomically(path: string, text: string, mode: number): void {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  // 'wx': a new file, never an existing one or the target of a planted link.
  const fd = openSync(temp, 'wx', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(temp, path);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
}

export function readCertFiles(dir: string): { ca?: KeyPairPem; serving: KeyPairPem } {
  const n = names(dir);
  const serving = { certPem: readFileSync(n.cert, 'utf8'), keyPem: readFileSync(n.key, 'utf8') };
  const ca = existsSync(n.caCert)
    ? { certPem: readFileSync(n.caCert, 'utf8'), keyPem: existsSync(n.caKey) ? readFileSync(n.caKey, 'utf8') : '' }
    : undefined;
  return ca ? { ca, serving } : { serving };
}

/**
 * tls.crt and tls.key of `dir`, checked the way the TLS server will use
 * them: a file that is not PEM (cut short by a crash, the wrong file
 * mounted) or a key that is not the certificate's is a CertFileError naming
 * the file, not OpenSSL's bare "bad end line" or "key values mismatch".
 */
export function readServingPair(dir: string): KeyPairPem & { notBefore: Date; notAfter: Date; fingerprint256: string } {
  const { certPem, keyPem, cert } = readPair(dir, 'tls.crt', 'tls.key');
  return {
    certPem,
    keyPem,
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    fingerprint256: cert.fingerprint256,
  };
}

/**
 * ca.crt and ca.key of `dir`, checked like the serving pair, and ca.crt a CA
 * that signed `leaf`: the start-up line tells clients to trust ca.crt.
 */
function readCaPair(dir: string, leaf: X509Certificate): KeyPairPem {
  const { certPem, keyPem, cert } = readPair(dir, 'ca.crt', 'ca.key');
  if (!cert.ca) throw new CertFileError('ca.crt is not a CA certificate');
  if (!leaf.checkIssued(cert) || !leaf.verify(cert.publicKey))
    throw new CertFileError('tls.crt is not signed by ca.crt');
  return { certPem, keyPem };
}

/** A certificate file and its key file in `dir`, parsed, and the key checked to be the certificate's. */
function readPair(dir: string, certFile: string, keyFile: string): KeyPairPem & { cert: X509Certificate } {
  const certPem = readFileSync(join(dir, certFile), 'utf8');
  const keyPem = readFileSync(join(dir, keyFile), 'utf8');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (err) {
    throw new CertFileError(`${certFile} is not a PEM certificate (${opensslReason(err)})`);
  }
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw new CertFileError(`${keyFile} is not a PEM private key (${opensslReason(err)})`);
  }
  if (!cert.checkPrivateKey(key)) throw new CertFileError(`${keyFile} is not the key of ${certFile}`);
  return { certPem, keyPem, cert };
}

/** "error:04800066:PEM routines::bad end line" → "bad end line". */
const opensslReason = (err: unknown): string => (err as Error).message.replace(/^error:[0-9A-F]+:[^:]*::?/, '');

/**
 * The certificates for `make run`: reused while valid for at least another
 * day, otherwise a fresh self-signed CA and a serving certificate for
 * localhost, 127.0.0.1 and ::1. A damaged pair that would be reused (either
 * of them: not PEM, a key that is not its certificate's, a CA that did not
 * sign tls.crt) is a CertFileError: the files are left for the user to
 * look at, not overwritten.
 */
export function ensureStandaloneCerts(dir: string, now = new Date()): CertFiles {
  const n = names(dir);
  if ([n.caCert, n.caKey, n.cert, n.key].every(existsSync)) {
    const { certPem, keyPem, cert } = readPair(dir, 'tls.crt', 'tls.key');
    if (Date.parse(cert.validTo) - now.getTime() > 24 * 3600 * 1000)
      return { ca: readCaPair(dir, cert), serving: { certPem, keyPem }, created: false };
  }
  const ca = createCA({ now });
  const serving = issueServingCert(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'], now });
  writeCertFiles(dir, ca, serving);
  return { ca, serving, created: true };
}

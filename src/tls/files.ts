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
import { createPrivateKey, type KeyObject, randomBytes, X509Certificate } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { createCA, issueServingCert, type KeyPairPem } from './certs.js';

export interface CertFiles {
  ca: KeyPairPem;
  serving: KeyPairPem;
  /** true when this call created them. */
  created: boolean;
  /** true when this call issued a new serving certificate from the CA already there. */
  renewed: boolean;
}

const names = (dir: string) => ({
  caCert: join(dir, 'ca.crt'),
  caKey: join(dir, 'ca.key'),
  cert: join(dir, 'tls.crt'),
  key: join(dir, 'tls.key'),
});

/** A certificate file that cannot be written safely, or read back usefully (its message says which and why). */
export class CertFileError extends Error {}

/** ca.crt, ca.key, tls.crt and tls.key; without `ca`, only tls.crt and tls.key (the CA there is kept). */
export function writeCertFiles(dir: string, ca: KeyPairPem | undefined, serving: KeyPairPem): void {
  const n = names(dir);
  const files: [path: string, text: string, mode: number][] = [
    [n.cert, serving.certPem, 0o644],
    [n.key, serving.keyPem, 0o600],
  ];
  if (ca) files.unshift([n.caCert, ca.certPem, 0o644], [n.caKey, ca.keyPem, 0o600]);
  makeDirectory(dir);
  // Every target is checked before any is written: a refusal leaves the directory as it was.
  for (const [path] of files) refuseUnsafeTarget(path);
  for (const [path, text, mode] of files) writeAtomically(path, text, mode);
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
    // existsSync follows links: a link in the path that leads nowhere would reach mkdir as EEXIST.
    if (isLink(current))
      throw new CertFileError(
        `cannot use ${dir}: ${current} is a symbolic link to nothing (a loop, or its target is gone)`,
      );
    missing.push(current);
    if (dirname(current) === current) break;
  }
  for (const folder of missing.reverse()) mkdirSync(folder);
  // A file there would otherwise fail later, as ENOTDIR about a temporary file inside it.
  if (!statSync(resolve(dir)).isDirectory()) throw new CertFileError(`cannot use ${dir}: not a directory`);
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
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
function readCaPair(dir: string, leaf: X509Certificate): KeyPairPem & { notAfter: Date } {
  const { certPem, keyPem, cert } = readPair(dir, 'ca.crt', 'ca.key');
  if (!cert.ca) throw new CertFileError('ca.crt is not a CA certificate');
  if (!leaf.checkIssued(cert) || !leaf.verify(cert.publicKey))
    throw new CertFileError('tls.crt is not signed by ca.crt');
  return { certPem, keyPem, notAfter: cert.validToDate };
}

/** A certificate file and its key file in `dir`, parsed, and the key checked to be the certificate's. */
function readPair(dir: string, certFile: string, keyFile: string): KeyPairPem & { cert: X509Certificate } {
  const certPem = readPemFile(join(dir, certFile), certFile);
  const keyPem = readPemFile(join(dir, keyFile), keyFile);
  return { certPem, keyPem, cert: checkPair(certPem, keyPem, certFile, keyFile).cert };
}

/** Which of ca.crt and ca.key `dir` holds (a symbolic link counts as there, even dangling). */
export function caFilesIn(dir: string): { cert: boolean; key: boolean } {
  const n = names(dir);
  return { cert: isThere(n.caCert), key: isThere(n.caKey) };
}

/**
 * Anything at `path`, a link to nothing included (someone put it there); a
 * path through a file is nothing (DIR is a file, ENOTDIR: writing says so).
 */
function isThere(path: string): boolean {
  try {
    return lstatSync(path, { throwIfNoEntry: false }) !== undefined;
  } catch {
    return false;
  }
}

/** Far more than a PEM certificate or RSA key takes; a bigger "ca.crt" is the wrong file. */
const MAX_PEM_BYTES = 1024 * 1024;

/**
 * ca.crt and ca.key of `dir`, checked before they sign anything: each a
 * regular file holding PEM, the key the certificate's, the certificate a
 * CA, the key RSA (node-forge signs with RSA only). Anything else is a
 * CertFileError naming the file.
 */
export function readCAPair(dir: string): KeyPairPem & { notAfter: Date } {
  const n = names(dir);
  const certPem = readPemFile(n.caCert, 'ca.crt');
  const keyPem = readPemFile(n.caKey, 'ca.key');
  const { cert, key } = checkPair(certPem, keyPem, 'ca.crt', 'ca.key');
  if (!cert.ca)
    throw new CertFileError('ca.crt is not a CA certificate (its basicConstraints say CA:FALSE or nothing)');
  if (key.asymmetricKeyType !== 'rsa')
    throw new CertFileError(`ca.key is not an RSA key (${key.asymmetricKeyType}): sidecar-guard signs with RSA only`);
  return { certPem, keyPem, notAfter: new Date(cert.validTo) };
}

/** A regular file of at most MAX_PEM_BYTES: a FIFO or device named ca.key must not hang or flood the read. */
function readPemFile(path: string, name: string): string {
  let stat;
  try {
    stat = statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CertFileError(`${name} cannot be read (${code === 'ENOENT' ? missing(path) : code})`);
  }
  if (!stat.isFile()) throw new CertFileError(`${name} is not a regular file`);
  if (stat.size > MAX_PEM_BYTES) throw new CertFileError(`${name} is larger than ${MAX_PEM_BYTES} bytes`);
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new CertFileError(`${name} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'failed'})`);
  }
}

/** Why a path that stat cannot find is missing: a link to nothing, or no file at all. */
const missing = (path: string): string =>
  lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink() ? 'a broken symbolic link' : 'no such file';

/** A certificate and its key parsed as the TLS server would, with errors naming the files. */
function checkPair(certPem: string, keyPem: string, certName: string, keyName: string) {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (err) {
    throw new CertFileError(`${certName} is not a PEM certificate (${opensslReason(err)})`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw new CertFileError(`${keyName} is not a PEM private key (${opensslReason(err)})`);
  }
  if (!cert.checkPrivateKey(key)) throw new CertFileError(`${keyName} is not the key of ${certName}`);
  return { cert, key };
}

/** "error:04800066:PEM routines::bad end line" → "bad end line". */
const opensslReason = (err: unknown): string => (err as Error).message.replace(/^error:[0-9A-F]+:[^:]*::?/, '');

const DAY_MS = 24 * 3600 * 1000;
/** A kept CA signs a new serving certificate only while it has this long left: the certificate gets at least that. */
const CA_REUSE_MS = 30 * DAY_MS;

/**
 * The certificates for `make run`: reused while the serving certificate is
 * valid for at least another day. After that a new serving certificate for
 * localhost, 127.0.0.1 and ::1 is issued from the CA there while that CA,
 * intact and the serving certificate's issuer, has a month left, so clients
 * that trust ca.crt (written by `make certs`, or copied into a caBundle) go
 * on trusting it; otherwise a fresh self-signed CA comes with it. A damaged
 * pair that would be reused (either of them: not PEM, a key that is not its
 * certificate's, a CA that did not sign tls.crt) is a CertFileError: the
 * files are left for the user to look at, not overwritten.
 */
export function ensureStandaloneCerts(dir: string, now = new Date()): CertFiles {
  const n = names(dir);
  const files = [n.caCert, n.caKey, n.cert, n.key];
  refuseIncompleteSet(files);
  if (files.every(existsSync)) {
    const { certPem, keyPem, cert } = readPair(dir, 'tls.crt', 'tls.key');
    if (Date.parse(cert.validTo) - now.getTime() > DAY_MS)
      return { ca: readCaPair(dir, cert), serving: { certPem, keyPem }, created: false, renewed: false };
    const ca = caToRenewWith(dir, cert, now);
    if (ca) {
      const serving = issueLocalServingCert(ca, now);
      writeCertFiles(dir, undefined, serving);
      return { ca, serving, created: false, renewed: true };
    }
  }
  const ca = createCA({ now });
  const serving = issueLocalServingCert(ca, now);
  writeCertFiles(dir, ca, serving);
  return { ca, serving, created: true, renewed: false };
}

/**
 * Some of the four files but not all: they are not a set this mode wrote (it
 * writes all four), so they may be someone's own certificate and key, and
 * generating a new set would write over them. Refused, nothing written.
 */
function refuseIncompleteSet(paths: readonly string[]): void {
  const present = paths.filter(isThere);
  if (present.length === 0 || present.length === paths.length) return;
  const absent = paths.filter((p) => !present.includes(p));
  throw new CertFileError(
    `holds ${fileList(present)} but not ${fileList(absent)} (standalone mode generates the four together and writes over none of them)`,
  );
}

const fileList = (paths: readonly string[]): string => paths.map((p) => basename(p)).join(', ');

const issueLocalServingCert = (ca: KeyPairPem, now: Date): KeyPairPem =>
  issueServingCert(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'], now });

/**
 * The CA of `dir` if it can sign the next serving certificate: intact, the
 * issuer of the one ending, and a month left. Otherwise none, and a new CA
 * replaces it, as before renewal from the kept CA existed.
 */
function caToRenewWith(dir: string, leaf: X509Certificate, now: Date): KeyPairPem | undefined {
  try {
    const ca = readCaPair(dir, leaf);
    return ca.notAfter.getTime() - now.getTime() > CA_REUSE_MS ? ca : undefined;
  } catch (err) {
    if (err instanceof CertFileError) return undefined;
    throw err;
  }
}

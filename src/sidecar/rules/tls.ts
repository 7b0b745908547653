// T1–T12: Istio's validateTLSOptions (server TLS), applied to ingress[].tls
// after the Sidecar-specific checks I14–I20.
import { compareGoStrings, firstUtf8Byte, formatStringSlice } from '../go/strings.js';
import type { ServerTls } from './decode.js';
import { TLS_MODE, TLS_VERSION } from './decode.js';
import type { Report } from './report.js';

const VALID_CIPHER_SUITES = new Set([
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'ECDHE-ECDSA-AES128-SHA',
  'ECDHE-RSA-AES128-SHA',
  'ECDHE-ECDSA-AES256-SHA',
  'ECDHE-RSA-AES256-SHA',
  'AES128-GCM-SHA256',
  'AES256-GCM-SHA384',
  'AES128-SHA',
  'AES256-SHA',
  'DES-CBC3-SHA',
]);

// Istio tests unicode.IsLetter/IsNumber on rune(cs[0]): the first *byte*
// read as a Latin-1 character. ASCII letters and digits count; every UTF-8
// lead byte (0xC2..0xF4) reads as a Latin-1 letter except 0xD7 ('×').
function firstByteIsLetterOrDigit(cs: string): boolean {
  const b = firstUtf8Byte(cs);
  if (b === undefined) return false;
  if (b < 0x80) return /[A-Za-z0-9]/.test(String.fromCharCode(b));
  return b !== 0xd7;
}

/**
 * Empty and "ALL" are valid; so is anything not starting with a letter or
 * digit (OpenSSL operators such as "-X", "+X", "!X"); otherwise the name must
 * be one Envoy knows.
 */
export function isValidCipherSuite(cs: string): boolean {
  if (cs === '' || cs === 'ALL') return true;
  if (!firstByteIsLetterOrDigit(cs)) return true;
  return VALID_CIPHER_SUITES.has(cs);
}

const sortedUnique = (items: Iterable<string>): string[] => [...new Set(items)].sort(compareGoStrings);

function checkCipherSuites(tls: ServerTls, path: string, report: Report): void {
  const invalid = new Set<string>();
  const seen = new Set<string>();
  const duplicate = new Set<string>();
  for (const cs of tls.cipherSuites) {
    if (!isValidCipherSuite(cs)) invalid.add(cs);
    else if (seen.has(cs)) duplicate.add(cs);
    else seen.add(cs);
  }
  if (invalid.size > 0) {
    report.add(
      'T2',
      `${path}.cipherSuites`,
      `ignoring invalid cipher suites: ${formatStringSlice(sortedUnique(invalid))}`,
    );
  }
  if (duplicate.size > 0) {
    report.add(
      'T3',
      `${path}.cipherSuites`,
      `ignoring duplicate cipher suites: ${formatStringSlice(sortedUnique(duplicate))}`,
    );
  }
}

/** T4: ISTIO_MUTUAL brings its own certificates; every configured source is an error. */
function checkIstioMutual(tls: ServerTls, path: string, report: Report): void {
  const fields: Array<[set: boolean, field: string, what: string]> = [
    [tls.serverCertificate !== '', 'serverCertificate', 'server certificate'],
    [tls.privateKey !== '', 'privateKey', 'private key'],
    [tls.caCertificates !== '', 'caCertificates', 'CA bundle'],
    [tls.tlsCertificates.length > 0, 'tlsCertificates', 'tlsCertificates'],
    [tls.credentialName !== '', 'credentialName', 'credentialName'],
    [tls.credentialNames.length > 0, 'credentialNames', 'credentialNames'],
  ];
  for (const [set, field, what] of fields) {
    if (set) report.add('T4', `${path}.${field}`, `ISTIO_MUTUAL TLS cannot have associated ${what}`);
  }
}

function hasAnyCertificate(tls: ServerTls): boolean {
  return (
    tls.caCrl !== '' ||
    tls.serverCertificate !== '' ||
    tls.privateKey !== '' ||
    tls.caCertificates !== '' ||
    tls.tlsCertificates.length > 0 ||
    tls.credentialName !== '' ||
    tls.credentialNames.length > 0
  );
}

function certificateSourceCount(tls: ServerTls): number {
  return [
    tls.serverCertificate !== '' && tls.privateKey !== '',
    tls.credentialName !== '',
    tls.credentialNames.length > 0,
    tls.tlsCertificates.length > 0,
  ].filter(Boolean).length;
}

/** Certificate checks for the modes that terminate TLS with files (T8–T10). */
function checkTerminatingMode(tls: ServerTls, path: string, report: Report): void {
  const mutual = tls.mode === TLS_MODE.MUTUAL || tls.mode === TLS_MODE.OPTIONAL_MUTUAL;
  const prefix = mutual ? 'MUTUAL TLS' : 'SIMPLE TLS';
  if (mutual && tls.caCertificates === '') {
    report.add('T8', `${path}.caCertificates`, `${prefix} requires a client CA bundle`);
  }
  if (tls.tlsCertificates.length > 2) {
    report.add('T9', `${path}.tlsCertificates`, `${prefix} can support up to 2 server certificates`);
  }
  const certificates =
    tls.tlsCertificates.length > 0
      ? tls.tlsCertificates.map((c, k) => ({ ...c, path: `${path}.tlsCertificates[${k}]` }))
      : [{ serverCertificate: tls.serverCertificate, privateKey: tls.privateKey, path }];
  for (const cert of certificates) {
    if (cert.serverCertificate === '') {
      report.add('T10', `${cert.path}.serverCertificate`, `${prefix} requires a server certificate`);
    }
    if (cert.privateKey === '') report.add('T10', `${cert.path}.privateKey`, `${prefix} requires a private key`);
  }
}

/** `path` is the tls block, e.g. "spec.ingress[0].tls". */
export function checkTlsOptions(tls: ServerTls, path: string, report: Report): void {
  const oldVersion = tls.minProtocolVersion === TLS_VERSION.TLSV1_0 || tls.minProtocolVersion === TLS_VERSION.TLSV1_1;
  if (oldVersion && tls.cipherSuites.length === 0) {
    report.add(
      'T1',
      `${path}.minProtocolVersion`,
      'TLS version below TLSV1_2 require setting compatible ciphers as by default they no longer include compatible ciphers.',
    );
  }
  checkCipherSuites(tls, path, report);

  if (tls.mode === TLS_MODE.ISTIO_MUTUAL) {
    checkIstioMutual(tls, path, report);
    return;
  }

  const passthrough = tls.mode === TLS_MODE.PASSTHROUGH || tls.mode === TLS_MODE.AUTO_PASSTHROUGH;
  if (passthrough && hasAnyCertificate(tls)) {
    const modeName = tls.mode === TLS_MODE.PASSTHROUGH ? 'PASSTHROUGH' : 'AUTO_PASSTHROUGH';
    report.add('T5', `${path}.mode`, `${modeName} mode does not use certificates, they will be ignored`);
  }

  if (certificateSourceCount(tls) > 1) {
    report.add(
      'T6',
      path,
      'only one of credential_name, credential_names, server_certificate/private_key, tls_certificates should be specified',
    );
  }

  const terminating =
    tls.mode === TLS_MODE.SIMPLE || tls.mode === TLS_MODE.MUTUAL || tls.mode === TLS_MODE.OPTIONAL_MUTUAL;
  // T7: certificates fetched through credentials are not checked further.
  if (terminating && (tls.credentialName !== '' || tls.credentialNames.length > 0)) return;
  if (terminating) checkTerminatingMode(tls, path, report);

  if (tls.caCrl !== '') {
    if (tls.credentialName !== '') {
      report.add(
        'T11',
        `${path}.caCrl`,
        'CRL is not supported with credentialName. CRL has to be specified in the credential',
      );
    }
    if (tls.mode === TLS_MODE.SIMPLE) report.add('T12', `${path}.caCrl`, 'CRL is not supported with SIMPLE TLS');
  }
}

// A throwaway certificate authority and serving certificates (node-forge),
// for the test API server itself and for test webhooks.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

export interface CertificateAuthority {
  certPem: string;
  keyPem: string;
  /** Issues a serving certificate for the given DNS names and IP addresses. */
  issue(dnsNames: string[], ips?: string[]): ServingCert;
}

export interface ServingCert {
  certPem: string;
  keyPem: string;
  caPem: string;
}

function rsaKeyPair(): { privateKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey } {
  // Node's native generator: forge's pure-JS one takes seconds per key.
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const forgeKey = forge.pki.privateKeyFromPem(pem) as forge.pki.rsa.PrivateKey;
  return { privateKey: forgeKey, publicKey: forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e) };
}

function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f; // positive
  return bytes.toString('hex');
}

function validity(cert: forge.pki.Certificate): void {
  cert.validity.notBefore = new Date(Date.now() - 60 * 60 * 1000);
  cert.validity.notAfter = new Date(Date.now() + 24 * 60 * 60 * 1000);
}

export function createCertificateAuthority(commonName = 'test-apiserver-ca'): CertificateAuthority {
  const keys = rsaKeyPair();
  const ca = forge.pki.createCertificate();
  ca.publicKey = keys.publicKey;
  ca.serialNumber = serial();
  validity(ca);
  const subject = [{ name: 'commonName', value: commonName }];
  ca.setSubject(subject);
  ca.setIssuer(subject);
  ca.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  ca.sign(keys.privateKey, forge.md.sha256.create());
  const certPem = forge.pki.certificateToPem(ca);

  return {
    certPem,
    keyPem: forge.pki.privateKeyToPem(keys.privateKey),
    issue(dnsNames: string[], ips: string[] = []): ServingCert {
      const leafKeys = rsaKeyPair();
      const leaf = forge.pki.createCertificate();
      leaf.publicKey = leafKeys.publicKey;
      leaf.serialNumber = serial();
      validity(leaf);
      leaf.setSubject([{ name: 'commonName', value: dnsNames[0] ?? ips[0] ?? 'localhost' }]);
      leaf.setIssuer(ca.subject.attributes);
      leaf.setExtensions([
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
        {
          name: 'subjectAltName',
          altNames: [...dnsNames.map((value) => ({ type: 2, value })), ...ips.map((ip) => ({ type: 7, ip }))],
        },
      ]);
      leaf.sign(keys.privateKey, forge.md.sha256.create());
      return {
        certPem: forge.pki.certificateToPem(leaf),
        keyPem: forge.pki.privateKeyToPem(leafKeys.privateKey),
        caPem: certPem,
      };
    },
  };
}

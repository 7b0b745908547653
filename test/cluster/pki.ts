// The key material a loopback control plane needs, as envtest makes it: one
// CA that signs the API server's serving certificate and the admin's client
// certificate (user e2e-admin in group system:masters), and an RSA key pair
// that signs and verifies service-account tokens.
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCA, issueClientCert, issueServingCert } from '../../src/tls/certs.js';

export interface ClusterPki {
  caCert: string;
  apiserverCert: string;
  apiserverKey: string;
  adminCert: string;
  adminKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
}

/** Paths of the PEM files under `dir`. */
export function pkiPaths(dir: string): ClusterPki {
  const at = (name: string) => join(dir, name);
  return {
    caCert: at('ca.crt'),
    apiserverCert: at('apiserver.crt'),
    apiserverKey: at('apiserver.key'),
    adminCert: at('admin.crt'),
    adminKey: at('admin.key'),
    serviceAccountKey: at('sa.key'),
    serviceAccountPub: at('sa.pub'),
  };
}

/** Writes a fresh PKI into `dir` (keys mode 0600) and returns the paths. */
export function writeClusterPki(dir: string): ClusterPki {
  mkdirSync(dir, { recursive: true });
  const paths = pkiPaths(dir);
  const ca = createCA({ commonName: 'sidecar-guard-e2e-cluster-ca', days: 30 });
  const serving = issueServingCert(ca, {
    // What a kube-apiserver certificate covers: loopback (where it listens) and the kubernetes Service.
    dnsNames: [
      'localhost',
      'kubernetes',
      'kubernetes.default',
      'kubernetes.default.svc',
      'kubernetes.default.svc.cluster.local',
    ],
    ipAddresses: ['127.0.0.1', '10.0.0.1'],
    days: 30,
  });
  const admin = issueClientCert(ca, { commonName: 'e2e-admin', organizations: ['system:masters'], days: 30 });
  const sa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const write = (path: string, pem: string, secret = false) =>
    writeFileSync(path, pem, { mode: secret ? 0o600 : 0o644 });
  write(paths.caCert, ca.certPem);
  write(paths.apiserverCert, serving.certPem);
  write(paths.apiserverKey, serving.keyPem, true);
  write(paths.adminCert, admin.certPem);
  write(paths.adminKey, admin.keyPem, true);
  write(paths.serviceAccountKey, sa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), true);
  write(paths.serviceAccountPub, sa.publicKey.export({ type: 'spki', format: 'pem' }).toString());
  return paths;
}

// The webhook's CA and serving certificate live in ONE Secret, shared by
// every replica, so they all serve the same certificate and agree on one CA.
//
// Layout: type kubernetes.io/tls (tls.crt, tls.key, which other tools
// understand) plus ca.crt (the CA bundle: one CA, two during a rotation) and
// ca.key (the current CA's key), the same extra keys cert-manager writes;
// during a CA rotation also ca-previous.key (see rotation.ts), removed after.
// A Secret created by hand as Opaque is read the same way and keeps its type
// (Secret types are immutable).
//
// Concurrency is left to the API server: create fails with AlreadyExists when
// another replica was first, update carries the resourceVersion that was read
// and fails with Conflict when someone wrote in between. Callers re-read and
// decide again. Nothing here logs: the values are key material.
import type { KubeClient } from '../cluster/kube.js';
import { isStatus } from '../cluster/kube-errors.js';
import type { TlsMaterial } from './rotation.js';

export const DEFAULT_TLS_SECRET = 'sidecar-guard-tls';
export const SECRET_TYPE = 'kubernetes.io/tls';

const KEYS = { caBundlePem: 'ca.crt', caKeyPem: 'ca.key', certPem: 'tls.crt', keyPem: 'tls.key' } as const;
/** Present only while a staged CA is not in use yet. */
const PREVIOUS_CA_KEY = 'ca-previous.key';

export interface StoredTls {
  material: TlsMaterial;
  resourceVersion: string;
}

interface SecretObject {
  apiVersion?: string;
  kind?: string;
  type?: string;
  metadata: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  data?: Record<string, string>;
}

export class SecretStore {
  constructor(
    private readonly client: KubeClient,
    readonly namespace: string,
    readonly name: string = DEFAULT_TLS_SECRET,
  ) {}

  get path(): string {
    return `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/secrets/${encodeURIComponent(this.name)}`;
  }

  /** The stored material, or undefined when the Secret does not exist. */
  async read(): Promise<StoredTls | undefined> {
    try {
      const { body } = await this.client.request<SecretObject>('GET', this.path);
      return toStored(body);
    } catch (err) {
      if (isStatus(err, 'NotFound')) return undefined;
      throw err;
    }
  }

  /** Creates the Secret; 'exists' when another writer created it first. */
  async create(material: TlsMaterial): Promise<StoredTls | 'exists'> {
    const secret: SecretObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: SECRET_TYPE,
      metadata: {
        name: this.name,
        namespace: this.namespace,
        labels: { 'app.kubernetes.io/name': 'sidecar-guard', 'app.kubernetes.io/component': 'webhook-tls' },
        annotations: {
          'sidecar-guard.io/managed':
            'CA and serving certificate, rotated by sidecar-guard; delete the Secret to start over with a new CA',
        },
      },
      data: encode(material),
    };
    try {
      const { body } = await this.client.request<SecretObject>(
        'POST',
        `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/secrets`,
        { body: secret },
      );
      return toStored(body);
    } catch (err) {
      if (isStatus(err, 'AlreadyExists')) return 'exists';
      throw err;
    }
  }

  /**
   * Replaces the four keys (and ca-previous.key, written or removed), only if the Secret is still at resourceVersion:
   * 'conflict' when someone else wrote first (or deleted it meanwhile).
   * Other keys, labels and annotations are kept.
   */
  async update(material: TlsMaterial, resourceVersion: string): Promise<StoredTls | 'conflict'> {
    let current: SecretObject;
    try {
      current = (await this.client.request<SecretObject>('GET', this.path)).body;
    } catch (err) {
      if (isStatus(err, 'NotFound')) return 'conflict';
      throw err;
    }
    if (current.metadata.resourceVersion !== resourceVersion) return 'conflict';
    const data: Record<string, string> = { ...(current.data ?? {}), ...encode(material) };
    if (!material.previousCaKeyPem) delete data[PREVIOUS_CA_KEY];
    const next: SecretObject = { ...current, data };
    try {
      const { body } = await this.client.request<SecretObject>('PUT', this.path, { body: next });
      return toStored(body);
    } catch (err) {
      if (isStatus(err, 'Conflict', 'NotFound')) return 'conflict';
      throw err;
    }
  }
}

function encode(material: TlsMaterial): Record<string, string> {
  const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
  const data: Record<string, string> = {};
  for (const [field, key] of Object.entries(KEYS)) data[key] = base64(material[field as keyof typeof KEYS]);
  if (material.previousCaKeyPem) data[PREVIOUS_CA_KEY] = base64(material.previousCaKeyPem);
  return data;
}

function toStored(secret: SecretObject): StoredTls {
  const data = secret.data ?? {};
  const decode = (key: string) => (data[key] ? Buffer.from(data[key], 'base64').toString('utf8') : '');
  return {
    material: {
      caBundlePem: decode(KEYS.caBundlePem),
      caKeyPem: decode(KEYS.caKeyPem),
      certPem: decode(KEYS.certPem),
      keyPem: decode(KEYS.keyPem),
      ...(data[PREVIOUS_CA_KEY] ? { previousCaKeyPem: decode(PREVIOUS_CA_KEY) } : {}),
    },
    resourceVersion: secret.metadata.resourceVersion ?? '',
  };
}

// Keeps clientConfig.caBundle of our own webhook configurations equal to the
// CA bundle in the Secret. Istio's validation controller does the same for
// istiod; here the configurations are found by name (RBAC can then be
// restricted with resourceNames) or, optionally, by label (needs `list`).
//
// Writes are GET + PUT with the resourceVersion that was read, so a
// concurrent edit (kubectl apply, another replica) makes the PUT fail with
// Conflict instead of being overwritten; we re-read and try again.
import type { KubeClient } from '../cluster/kube.js';
import { isStatus } from '../cluster/kube-errors.js';

export const DEFAULT_WEBHOOK_CONFIG = 'sidecar-guard';
export const WEBHOOK_LABEL_SELECTOR = 'app.kubernetes.io/name=sidecar-guard';

const BASE = '/apis/admissionregistration.k8s.io/v1';
const KINDS = [
  { kind: 'ValidatingWebhookConfiguration', plural: 'validatingwebhookconfigurations' },
  { kind: 'MutatingWebhookConfiguration', plural: 'mutatingwebhookconfigurations' },
] as const;
const CONFLICT_RETRIES = 5;

export interface CaBundleTarget {
  /** Configuration names looked up in both kinds (default [sidecar-guard]). */
  names?: string[];
  /** Also every configuration matching this label selector (needs list permission). */
  labelSelector?: string;
}

export interface PublishedConfiguration {
  kind: 'ValidatingWebhookConfiguration' | 'MutatingWebhookConfiguration';
  name: string;
  webhooks: number;
  /** true when this call wrote the bundle (it differed). */
  changed: boolean;
}

export interface PublishResult {
  /** Every configuration found; each carries the bundle when publish() returns (it throws otherwise). */
  configurations: PublishedConfiguration[];
  /** A ValidatingWebhookConfiguration was found: without one the webhook is not called at all. */
  validatingFound: boolean;
}

interface WebhookConfiguration {
  metadata: { name: string; resourceVersion?: string };
  webhooks?: { name?: string; clientConfig?: { caBundle?: string } }[];
}

export class CaBundlePublisher {
  private readonly names: string[];

  constructor(
    private readonly client: KubeClient,
    private readonly target: CaBundleTarget = {},
  ) {
    this.names = target.names ?? [DEFAULT_WEBHOOK_CONFIG];
  }

  /**
   * Writes base64(bundlePem) into every webhook of every configuration found
   * whose caBundle differs. A missing configuration is not an error: the
   * MutatingWebhookConfiguration is optional, and the Validating one may be
   * applied after the Deployment (the periodic re-check catches up).
   */
  async publish(bundlePem: string): Promise<PublishResult> {
    const caBundle = Buffer.from(bundlePem, 'utf8').toString('base64');
    const configurations: PublishedConfiguration[] = [];
    for (const { kind, plural } of KINDS) {
      for (const name of await this.findNames(plural)) {
        const done = await this.patchOne(kind, plural, name, caBundle);
        if (done) configurations.push(done);
      }
    }
    return {
      configurations,
      validatingFound: configurations.some((c) => c.kind === 'ValidatingWebhookConfiguration'),
    };
  }

  private async findNames(plural: string): Promise<string[]> {
    const names = new Set(this.names);
    if (this.target.labelSelector) {
      const { body } = await this.client.request<{ items?: WebhookConfiguration[] }>('GET', `${BASE}/${plural}`, { query: { labelSelector: this.target.labelSelector } });
      for (const item of body.items ?? []) names.add(item.metadata.name);
    }
    return [...names];
  }

  private async patchOne(kind: PublishedConfiguration['kind'], plural: string, name: string, caBundle: string): Promise<PublishedConfiguration | undefined> {
    const path = `${BASE}/${plural}/${encodeURIComponent(name)}`;
    for (let attempt = 0; ; attempt++) {
      let config: WebhookConfiguration;
      try {
        config = (await this.client.request<WebhookConfiguration>('GET', path)).body;
      } catch (err) {
        if (isStatus(err, 'NotFound')) return undefined;
        throw err;
      }
      const webhooks = config.webhooks ?? [];
      const stale = webhooks.filter((w) => w.clientConfig?.caBundle !== caBundle);
      if (stale.length === 0) return { kind, name, webhooks: webhooks.length, changed: false };
      for (const w of webhooks) w.clientConfig = { ...(w.clientConfig ?? {}), caBundle };
      try {
        await this.client.request('PUT', path, { body: config });
        return { kind, name, webhooks: webhooks.length, changed: true };
      } catch (err) {
        if (isStatus(err, 'NotFound')) return undefined;
        if (!isStatus(err, 'Conflict') || attempt >= CONFLICT_RETRIES) throw err;
      }
    }
  }
}

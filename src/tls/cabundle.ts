// Patches our own webhook configurations: keeps clientConfig.caBundle equal
// to the CA bundle in the Secret (publish) and, once ready, sets
// failurePolicy: Fail (failClosed). Istio's validation controller does the same for
// istiod; here the configurations are found by name (RBAC can then be
// restricted with resourceNames) or, optionally, by label (needs `list`).
//
// Writes are GET + PUT with the resourceVersion that was read, so a
// concurrent edit (kubectl apply, another replica) makes the PUT fail with
// Conflict instead of being overwritten; we re-read and try again.
import type { Logger } from 'pino';
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

export interface WebhookConfigTarget {
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

interface Webhook {
  name?: string;
  clientConfig?: { caBundle?: string };
  failurePolicy?: string;
}

interface WebhookConfiguration {
  metadata: { name: string; resourceVersion?: string };
  webhooks?: Webhook[];
}

export class WebhookConfigPatcher {
  private readonly names: string[];

  constructor(
    private readonly client: KubeClient,
    private readonly target: WebhookConfigTarget = {},
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
    return this.modify(kind, plural, name, (webhooks) => {
      if (webhooks.every((w) => w.clientConfig?.caBundle === caBundle)) return false;
      for (const w of webhooks) w.clientConfig = { ...(w.clientConfig ?? {}), caBundle };
      return true;
    });
  }

  /**
   * Sets failurePolicy: Fail on every webhook of our configurations, once the
   * webhook is ready to answer (Istio's validation controller does the same):
   * the manifests start with Ignore so that an install never blocks Sidecar
   * writes before the first replica can judge them.
   */
  async failClosed(): Promise<PublishedConfiguration[]> {
    const done: PublishedConfiguration[] = [];
    // Validating only: the mutating webhook (namespace defaults) stays Ignore, a convenience must not block writes.
    for (const { kind, plural } of KINDS.filter((k) => k.kind === 'ValidatingWebhookConfiguration')) {
      for (const name of await this.findNames(plural)) {
        const result = await this.modify(kind, plural, name, (webhooks) => {
          if (webhooks.every((w) => w.failurePolicy === 'Fail')) return false;
          for (const w of webhooks) w.failurePolicy = 'Fail';
          return true;
        });
        if (result) done.push(result);
      }
    }
    return done;
  }

  /** GET, change, PUT with the resourceVersion read; Conflict → read again. A missing configuration is skipped. */
  private async modify(
    kind: PublishedConfiguration['kind'],
    plural: string,
    name: string,
    change: (webhooks: Webhook[]) => boolean,
  ): Promise<PublishedConfiguration | undefined> {
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
      if (!change(webhooks)) return { kind, name, webhooks: webhooks.length, changed: false };
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

/**
 * Once `ready()` says the webhook can judge requests, sets failurePolicy: Fail
 * on our validating configuration, and checks again every `recheckMs` (a
 * re-apply of manifests that say Ignore would otherwise leave it fail-open),
 * retrying API errors with backoff. Returns a stop function. To run with
 * Ignore for good, do not pass --fail-closed-when-ready; in an emergency,
 * delete the configuration (documented in the manifests).
 */
export function failClosedWhenReady(publisher: WebhookConfigPatcher, ready: () => boolean, logger?: Logger, recheckMs = 60_000): () => void {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const attempt = async (retryMs: number): Promise<void> => {
    if (stopped) return;
    if (!ready()) return schedule(1_000, retryMs);
    try {
      const done = await publisher.failClosed();
      const changed = done.filter((c) => c.changed).map((c) => `${c.kind}/${c.name}`);
      if (changed.length > 0) logger?.info({ configurations: changed }, 'webhook ready: failurePolicy set to Fail');
      schedule(recheckMs, 1_000);
    } catch (err) {
      logger?.warn({ err: (err as Error).message, retryInMs: retryMs }, 'could not set failurePolicy: Fail; retrying');
      schedule(retryMs, Math.min(retryMs * 2, 60_000));
    }
  };
  const schedule = (inMs: number, nextRetryMs: number) => {
    if (stopped) return;
    timer = setTimeout(() => void attempt(nextRetryMs), inMs);
    timer.unref();
  };
  void attempt(1_000);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

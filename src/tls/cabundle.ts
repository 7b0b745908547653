// Patches our own webhook configurations: keeps clientConfig.caBundle equal
// to the CA bundle in the Secret (publish) and, once ready and proven
// reachable, sets failurePolicy: Fail (failClosed, failClosedWhenReady).
// Istio's validation controller does the same for istiod; here the
// configurations are found by name (RBAC can then be restricted with
// resourceNames) or, optionally, by label (needs `list`).
//
// failurePolicy: Fail is set only once a dry-run create through the API
// server proves that it reaches this webhook (proveReachable below).
//
// Writes are GET + PUT with the resourceVersion that was read, so a
// concurrent edit (kubectl apply, another replica) makes the PUT fail with
// Conflict instead of being overwritten; we re-read and try again.
import type { Logger } from 'pino';
import type { KubeClient } from '../cluster/kube.js';
import { isStatus, KubeApiError } from '../cluster/kube-errors.js';

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
      const { body } = await this.client.request<{ items?: WebhookConfiguration[] }>('GET', `${BASE}/${plural}`, {
        query: { labelSelector: this.target.labelSelector },
      });
      for (const item of body.items ?? []) names.add(item.metadata.name);
    }
    return [...names];
  }

  private async patchOne(
    kind: PublishedConfiguration['kind'],
    plural: string,
    name: string,
    caBundle: string,
  ): Promise<PublishedConfiguration | undefined> {
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

  /** The webhook names in our validating configurations (the names a denial of the reachability probe may carry). */
  async validatingWebhookNames(): Promise<string[]> {
    const names: string[] = [];
    for (const name of await this.findNames('validatingwebhookconfigurations')) {
      try {
        const { body } = await this.client.request<WebhookConfiguration>(
          'GET',
          `${BASE}/validatingwebhookconfigurations/${encodeURIComponent(name)}`,
        );
        for (const w of body.webhooks ?? []) if (w.name) names.push(w.name);
      } catch (err) {
        if (!isStatus(err, 'NotFound')) throw err;
      }
    }
    return names;
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
 * The reachability proof that comes before failurePolicy: Fail, as istiod
 * does it for its own webhook: a server-side dry-run create of a Sidecar that
 * the CRD schema accepts but this webhook refuses (a host without a namespace,
 * Istio's H1), in our own namespace. Only a denial by one of OUR validating
 * webhooks shows that the API server can reach us with the caBundle we
 * published; an admitted probe means it did not call us or ignored a failed
 * call (failurePolicy: Ignore hides the failure from the client). Dry run:
 * nothing is stored and no webhook with side effects is called.
 */
export const PROBE_SIDECAR_NAME = 'sidecar-guard-reachability-probe';

/** What the dry run showed; `result` is a metric label, `reason` a log line. */
export interface ReachabilityProof {
  reachable: boolean;
  result: 'denied' | 'admitted' | 'call-failed' | 'denied-by-other' | 'api-error';
  reason: string;
}

export function probeSidecar(namespace: string): Record<string, unknown> {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'Sidecar',
    metadata: { name: PROBE_SIDECAR_NAME, namespace, labels: { 'app.kubernetes.io/name': 'sidecar-guard' } },
    spec: { egress: [{ hosts: ['not-a-namespace-slash-host'] }] },
  };
}

const DENIED = /admission webhook "([^"]+)" denied the request: ([\s\S]*)$/;
const CALL_FAILED = /failed calling webhook "([^"]+)": ([\s\S]*)$/;

/**
 * Classifies the API server's answer to the probe. `answer` is the created
 * object's status (2xx) or the error's status and message; `ours` are the
 * webhook names in our validating configurations.
 */
export function judgeProbe(
  answer: { status: number; message?: string },
  ours: readonly string[],
  namespace: string,
): ReachabilityProof {
  if (answer.status < 300 && ours.length === 0)
    return {
      reachable: false,
      result: 'admitted',
      reason:
        'the API server admitted a known-invalid Sidecar (dry run): no validating webhook of ours is configured (its ValidatingWebhookConfiguration deleted, as the emergency path does, or not applied yet); re-apply the manifests to have Sidecars validated again',
    };
  if (answer.status < 300) {
    return {
      reachable: false,
      result: 'admitted',
      reason:
        'the API server admitted a known-invalid Sidecar (dry run): it did not call this webhook, or the call failed and failurePolicy Ignore let the write through; check the webhook configuration (clientConfig, caBundle, namespaceSelector) and the API server log',
    };
  }
  const message = answer.message ?? `HTTP ${answer.status}`;
  const denied = DENIED.exec(message);
  if (
    denied &&
    ours.includes(denied[1]!) &&
    denied[2]!.includes(`Sidecar ${namespace}/${PROBE_SIDECAR_NAME} is invalid`)
  ) {
    return {
      reachable: true,
      result: 'denied',
      reason: `the API server called webhook "${denied[1]}", which denied the probe`,
    };
  }
  if (denied)
    return {
      reachable: false,
      result: 'denied-by-other',
      reason: `the probe was denied by webhook "${denied[1]}", not by this one (${ours.join(', ') || 'no validating webhook of ours was found'}): ${denied[2]}`,
    };
  const failed = CALL_FAILED.exec(message);
  if (failed)
    return {
      reachable: false,
      result: 'call-failed',
      reason: `the API server could not call webhook "${failed[1]}": ${failed[2]}`,
    };
  return {
    reachable: false,
    result: 'api-error',
    reason: `the dry-run create failed before any webhook answered: ${message}`,
  };
}

/** Runs the probe through the API server (needs RBAC create on sidecars in `namespace`). */
export async function proveReachable(
  client: KubeClient,
  publisher: WebhookConfigPatcher,
  namespace: string,
): Promise<ReachabilityProof> {
  const ours = await publisher.validatingWebhookNames();
  try {
    const { status } = await client.request(
      'POST',
      `/apis/networking.istio.io/v1/namespaces/${encodeURIComponent(namespace)}/sidecars`,
      {
        query: { dryRun: 'All', fieldValidation: 'Strict' },
        body: probeSidecar(namespace),
      },
    );
    return judgeProbe({ status }, ours, namespace);
  } catch (err) {
    if (!(err instanceof KubeApiError)) throw err;
    return judgeProbe({ status: err.status, message: err.message }, ours, namespace);
  }
}

export interface FailClosedOptions {
  /** The replica can judge requests (its /readyz). */
  ready: () => boolean;
  /** The dry-run proof (proveReachable); injected for tests. */
  prove: () => Promise<ReachabilityProof>;
  /** Every proof's outcome (metrics). */
  onProof?: (proof: ReachabilityProof) => void;
  logger?: Logger;
  /** Re-check period once done, and the longest wait between failed attempts (default 60 s). */
  recheckMs?: number;
  /** Wait while not ready, and the first wait after a failed attempt (doubling up to recheckMs; default 1 s). */
  initialRetryMs?: number;
}

/**
 * Once the replica is ready AND the API server is proven to reach it (see
 * proveReachable), sets failurePolicy: Fail on our validating configuration,
 * then checks again every `recheckMs` (a re-apply of manifests that say Ignore
 * would otherwise leave it fail-open). While the proof fails, the policy is
 * left as it is (an install stays Ignore) and a warning says why, retried with
 * backoff; a policy already Fail is never turned back to Ignore (that is the
 * point of Fail). Without --fail-closed-when-ready none of this runs and the
 * policy is whatever the manifests say. Returns a stop function.
 */
export function failClosedWhenReady(publisher: WebhookConfigPatcher, opts: FailClosedOptions): () => void {
  const recheckMs = opts.recheckMs ?? 60_000;
  const initialRetryMs = opts.initialRetryMs ?? 1_000;
  const logger = opts.logger;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let lastProblem: string | undefined;
  const attempt = async (retryMs: number): Promise<void> => {
    if (stopped) return;
    if (!opts.ready()) return schedule(initialRetryMs, retryMs);
    try {
      const proof = await opts.prove();
      opts.onProof?.(proof);
      if (stopped) return;
      if (!proof.reachable) {
        logger?.warn(
          { result: proof.result, retryInMs: retryMs },
          `failurePolicy not changed: could not prove that the API server reaches this webhook: ${proof.reason}`,
        );
        lastProblem = proof.reason;
        return schedule(retryMs, Math.min(retryMs * 2, recheckMs));
      }
      if (lastProblem !== undefined)
        logger?.info({ result: proof.result }, `the API server reaches this webhook again: ${proof.reason}`);
      lastProblem = undefined;
      const done = await publisher.failClosed();
      const changed = done.filter((c) => c.changed).map((c) => `${c.kind}/${c.name}`);
      if (changed.length > 0)
        logger?.info(
          { configurations: changed },
          `webhook ready and reachable (${proof.reason}): failurePolicy set to Fail`,
        );
      schedule(recheckMs, initialRetryMs);
    } catch (err) {
      logger?.warn(
        { err: (err as Error).message, retryInMs: retryMs },
        'could not check or set failurePolicy: Fail; retrying',
      );
      schedule(retryMs, Math.min(retryMs * 2, recheckMs));
    }
  };
  const schedule = (inMs: number, nextRetryMs: number) => {
    if (stopped) return;
    timer = setTimeout(() => void attempt(nextRetryMs), inMs);
    timer.unref();
  };
  void attempt(initialRetryMs);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

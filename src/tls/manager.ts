// In-cluster certificate management: the Secret is the source of truth for
// every replica. One reconcile pass reads it (creating it when absent),
// publishes its CA bundle into the webhook configurations, asks
// decideRotation() what to do, writes the result with optimistic
// concurrency and repeats until the answer is "keep"; then it adopts the
// Secret's certificate and tells subscribers (the reloader, the expiry gauge).
//
// Passes run at start(), every resyncMs (60 s: also repairs caBundle drift
// and picks up a certificate another replica renewed) and at the instant
// the decision names as the next renewal.
import type { Logger } from 'pino';
import type { KubeClient } from '../cluster/kube.js';
import { WebhookConfigPatcher, type WebhookConfigTarget } from './cabundle.js';
import { certInfo, serviceDnsNames } from './certs.js';
import type { CertificateSource, ServingMaterial } from './reloader.js';
import {
  applyRotation,
  certNotAfter,
  decideRotation,
  keepServedIssuer,
  rotationPolicy,
  type RotationPolicy,
  type TlsMaterial,
} from './rotation.js';
import { DEFAULT_TLS_SECRET, SecretStore } from './secret-store.js';
import { redactKey } from './server-options.js';

export interface TlsManagerOptions {
  client: KubeClient;
  /** Namespace of the Secret and of the Service (the pod's namespace). */
  namespace: string;
  secretName?: string;
  /** The Service the API server calls; the certificate covers its four DNS names. */
  service?: string;
  extraDnsNames?: string[];
  ipAddresses?: string[];
  webhooks?: WebhookConfigTarget;
  policy?: Partial<Omit<RotationPolicy, 'dnsNames' | 'ipAddresses'>>;
  /** Period of the full re-check (Secret, rotation, caBundle). Default 60 s. */
  resyncMs?: number;
  /** start() gives up (throws) when no usable material could be obtained in this time. Default 60 s. */
  startTimeoutMs?: number;
  clock?: () => Date;
  logger?: Logger;
}

export interface ReconcileResult {
  /** The steps written to the Secret during this pass, e.g. ['create'] or ['stage-ca']. */
  actions: string[];
  published: boolean;
  nextCheckAt: Date;
  /** Set while a new CA waits for publication before it signs the serving certificate. */
  waiting?: string;
}

const MAX_STEPS = 10;
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export class TlsManager implements CertificateSource {
  private readonly store: SecretStore;
  private readonly publisher: WebhookConfigPatcher;
  private readonly policy: RotationPolicy;
  private readonly clock: () => Date;
  private readonly log?: Logger;
  private readonly resyncMs: number;
  private material?: TlsMaterial;
  private served?: ServingMaterial;
  private readonly listeners = new Set<(m: ServingMaterial) => void>();
  private running?: Promise<ReconcileResult>;
  private resyncTimer?: NodeJS.Timeout;
  private renewTimer?: NodeJS.Timeout;
  private stopped = false;
  private lastPublishProblem?: string;

  constructor(private readonly opts: TlsManagerOptions) {
    const service = opts.service ?? 'sidecar-guard';
    this.store = new SecretStore(opts.client, opts.namespace, opts.secretName ?? DEFAULT_TLS_SECRET);
    this.publisher = new WebhookConfigPatcher(opts.client, opts.webhooks);
    this.policy = rotationPolicy(
      {
        dnsNames: [...serviceDnsNames(service, opts.namespace), ...(opts.extraDnsNames ?? [])],
        ipAddresses: opts.ipAddresses ?? [],
      },
      opts.policy,
    );
    this.clock = opts.clock ?? (() => new Date());
    this.log = opts.logger?.child({ component: 'tls', secret: `${opts.namespace}/${this.store.name}` });
    this.resyncMs = opts.resyncMs ?? 60_000;
  }

  /**
   * Resolves once the Secret holds usable material, its CA bundle has been
   * offered to the webhook configurations and current() answers. Retries
   * API errors with back-off until startTimeoutMs.
   */
  async start(): Promise<ServingMaterial> {
    const deadline = Date.now() + (this.opts.startTimeoutMs ?? 60_000);
    let result: ReconcileResult;
    for (let delay = 250; ; delay = Math.min(delay * 2, 5_000)) {
      try {
        result = await this.reconcile();
        break;
      } catch (err) {
        if (this.stopped) throw new Error('TLS manager stopped during start');
        if (Date.now() + delay > deadline)
          throw new Error(
            `no usable TLS material in Secret ${this.opts.namespace}/${this.store.name}: ${(err as Error).message}`,
          );
        this.log?.warn({ err: (err as Error).message, retryInMs: delay }, 'TLS setup failed; retrying');
        await new Promise((r) => setTimeout(r, delay).unref());
      }
    }
    if (!this.stopped) {
      this.scheduleResync();
      this.scheduleRenewal(result.nextCheckAt);
    }
    return this.current();
  }

  /** One pass (serialised: a call while one runs joins it). Throws on API errors. */
  reconcile(): Promise<ReconcileResult> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  current(): ServingMaterial {
    if (!this.served) throw new Error('no serving certificate yet: call start() first');
    return this.served;
  }

  onChange(listener: (m: ServingMaterial) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Clears every timer; the Secret and the configurations stay as they are. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.resyncTimer);
    clearTimeout(this.renewTimer);
    this.resyncTimer = this.renewTimer = undefined;
  }

  private async pass(): Promise<ReconcileResult> {
    const actions: string[] = [];
    for (let step = 0; step < MAX_STEPS; step++) {
      const now = this.clock();
      let stored = await this.store.read();
      if (!stored) {
        const created = await this.store.create(
          keepServedIssuer(applyRotation(undefined, 'create', this.policy, now), this.material, now),
        );
        if (created === 'exists') {
          this.log?.info('another replica created the TLS Secret first; using theirs');
          continue;
        }
        actions.push('create');
        this.log?.info(describe(created.material), 'created the TLS Secret with a new CA and serving certificate');
        stored = created;
      }
      const published = await this.publish(stored.material.caBundlePem);
      const decision = decideRotation(stored.material, this.policy, { now, published });
      if (decision.action === 'keep') {
        this.adopt(stored.material);
        this.scheduleRenewal(decision.nextCheckAt);
        return {
          actions,
          published,
          nextCheckAt: decision.nextCheckAt,
          ...(decision.waiting ? { waiting: decision.waiting } : {}),
        };
      }
      let next = applyRotation(stored.material, decision.action, this.policy, now, decision.signer);
      if (decision.action === 'create') next = keepServedIssuer(next, this.material, now);
      const written = await this.store.update(next, stored.resourceVersion);
      if (written === 'conflict') {
        this.log?.info({ action: decision.action }, 'the TLS Secret changed meanwhile; re-reading');
        continue;
      }
      actions.push(decision.action);
      this.log?.info(
        { action: decision.action, reason: decision.reason, ...describe(written.material) },
        'rotated TLS material',
      );
    }
    throw new Error(`the TLS Secret did not settle after ${MAX_STEPS} steps`);
  }

  /** true when every configuration found now carries the bundle. */
  private async publish(bundlePem: string): Promise<boolean> {
    try {
      const result = await this.publisher.publish(bundlePem);
      for (const c of result.configurations.filter((c) => c.changed)) {
        this.log?.info({ kind: c.kind, name: c.name, webhooks: c.webhooks }, 'patched caBundle');
      }
      this.notePublishProblem(
        result.validatingFound
          ? undefined
          : 'no ValidatingWebhookConfiguration found: the API server does not call this webhook yet',
      );
      return true;
    } catch (err) {
      this.notePublishProblem(`cannot publish the caBundle: ${(err as Error).message}`);
      return false;
    }
  }

  /** Logs a publication problem when it appears, changes or goes away, not every minute. */
  private notePublishProblem(problem: string | undefined): void {
    if (problem === this.lastPublishProblem) return;
    if (problem) this.log?.warn(problem);
    else if (this.lastPublishProblem) this.log?.info('caBundle published');
    this.lastPublishProblem = problem;
  }

  private adopt(material: TlsMaterial): void {
    const prev = this.material;
    if (
      prev &&
      prev.certPem === material.certPem &&
      prev.keyPem === material.keyPem &&
      prev.caBundlePem === material.caBundlePem
    )
      return;
    this.material = material;
    this.served = redactKey({
      certPem: material.certPem,
      keyPem: material.keyPem,
      caBundlePem: material.caBundlePem,
      notAfter: certNotAfter(material.certPem) ?? new Date(0),
    });
    if (prev) this.log?.info(describe(material), 'serving certificate changed');
    for (const listener of this.listeners) {
      try {
        listener(this.served);
      } catch (err) {
        this.log?.error({ err: (err as Error).message }, 'a certificate change listener failed');
      }
    }
  }

  private scheduleResync(): void {
    clearTimeout(this.resyncTimer);
    this.resyncTimer = setTimeout(() => {
      void this.tick().finally(() => !this.stopped && this.scheduleResync());
    }, this.resyncMs).unref();
  }

  /** A timer at the computed renewal instant, when it comes before the next resync. */
  private scheduleRenewal(at: Date): void {
    if (this.stopped || !this.resyncTimer) return;
    clearTimeout(this.renewTimer);
    this.renewTimer = undefined;
    const delay = Math.max(0, at.getTime() - this.clock().getTime());
    if (delay >= this.resyncMs || delay > MAX_TIMEOUT_MS) return;
    this.renewTimer = setTimeout(() => void this.tick(), delay).unref();
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.reconcile();
    } catch (err) {
      // The served certificate stays valid for a third of its life: keep it and retry next time.
      this.log?.error({ err: (err as Error).message }, 'TLS re-check failed; keeping the current certificate');
    }
  }
}

/** Log fields that identify material without revealing it. */
function describe(material: TlsMaterial): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  try {
    const leaf = certInfo(material.certPem);
    fields.fingerprint256 = leaf.fingerprint256;
    fields.notAfter = leaf.notAfter.toISOString();
  } catch {
    fields.certificate = 'unparsable';
  }
  fields.caCount = (material.caBundlePem.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length;
  return fields;
}

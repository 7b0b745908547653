// review() plus what keeps decisions consistent between admitting a Sidecar
// and the view showing it: reservations (one replica, --claims=local) or
// claims in the API server (any number of replicas, --claims=api).
//
// Local: review() and reserve() run in one tick, so the event loop already
// serialises the decisions of one replica.
//
// API: a Sidecar write that passes the rules is admitted only once its claim
// is written (claims.ts). The write is asynchronous, so the decisions of one
// namespace go through a queue here: while one batch's claim is in flight,
// later requests of that namespace wait and are then judged together, in
// arrival order, each against the view, every claim known and the ones
// admitted before it in the batch; one write records the batch's claims. A
// 409 means another replica wrote first: re-read, judge the batch again,
// retry after a short random backoff. A claim not written in time, or an API
// error, answers the requests that needed it with Undecided (HTTP 500: the
// webhook's failurePolicy decides); nothing is admitted unclaimed. Denials,
// dry runs and writes that cannot create a conflict cost no round trip.
import { Undecided, type Decision } from '../admission/decision.js';
import type { AdmissionRequest } from '../admission/types.js';
import { clip, escapeControls } from '../sidecar/format.js';
import { describeRef } from '../sidecar/object.js';
import { isSidecarRequest, review, type ReviewContext, type ReviewOptions } from '../sidecar/review.js';
import { pairsEqual, selectorOf, selectorPairs } from '../sidecar/selectors.js';
import { isRecord } from '../util/json.js';
import type { ClaimStore } from './claims.js';
import { reservationOf, Reservations, type Reservation } from './reservations.js';
import type { ClusterStore } from './store.js';

/** What the caller knows about the request's deadline. */
export interface ValidateContext {
  /** Milliseconds left before the API server gives up on this call (its `?timeout=`). */
  budgetMs?: number;
  /** Bytes of the review's body, when it came over HTTP (review(): a short one skips the size walk). */
  bodyBytes?: number;
}

/** How claims are doing, for metrics. */
export interface ClaimObserver {
  /** A batch's claims were written, after `conflicts` 409s, `seconds` after its first attempt. */
  claimWritten(seconds: number, conflicts: number): void;
  claimConflict(): void;
  /** A request that needed a claim was answered with HTTP 500 instead (reason: timeout, api-error, stale-view, too-large, capacity). */
  claimFailed(reason: string): void;
}

export interface AdmitterOptions {
  review: ReviewOptions;
  /** Who admits: written into claims and reservations. */
  replica: string;
  /** --reservation-ttl: how long after admission an unobserved Sidecar is presumed refused by the API server. */
  ttlMs: number;
  /** Wall clock, milliseconds since the epoch. */
  now?: () => number;
  /** --claims=api; absent: local reservations only. */
  claims?: ClaimStore;
  /** Longest time for a claim, all retries included, when the request names no shorter deadline. */
  claimTimeoutMs?: number;
  /**
   * api: the view may be at most this old to claim. Claims leave the API
   * server this long after their expiry, so an older view could have missed a
   * Sidecar whose claim is gone.
   */
  maxViewAgeMs?: number;
  observer?: ClaimObserver;
  /** Backoff after a conflict (tests pass a fake). */
  sleep?: (ms: number) => Promise<void>;
}

export const DEFAULT_CLAIM_TIMEOUT_MS = 2_000;
/** Kept back from the API server's deadline for sending the answer. */
const ANSWER_MARGIN_MS = 250;
const MAX_BATCH = 256;
const BACKOFF_BASE_MS = 2;
const BACKOFF_CAP_MS = 50;

interface Job {
  request: AdmissionRequest;
  bodyBytes: number | undefined;
  deadline: number;
  resolve(d: Decision): void;
  reject(err: unknown): void;
}

export class Admitter {
  private readonly queues = new Map<string, Job[]>();
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** What decideLocally reviews against: the overlay reads the reservations as they are at each call, so one serves every decision. */
  private readonly local: ReviewContext;

  constructor(
    private readonly reservations: Reservations,
    private readonly options: AdmitterOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.local = { view: reservations.overlay(), options: options.review };
  }

  validate(request: AdmissionRequest, context: ValidateContext = {}): Decision | Promise<Decision> {
    if (!this.options.claims || !judgedWrite(request)) return this.decideLocally(request, context.bodyBytes);
    return this.decideInOrder(request, context);
  }

  /** One tick: review against the view and the reservations, reserve what was admitted (--claims=local). */
  decideLocally(request: AdmissionRequest, bodyBytes?: number): Decision {
    const decision = review(request, this.local, bodyBytes);
    if (decision.allowed && needsClaim(request)) {
      const r = reservationOf(request, this.at());
      if (r) this.reservations.add(r);
    }
    return this.explained(request, decision);
  }

  private decideInOrder(request: AdmissionRequest, context: ValidateContext): Promise<Decision> {
    const namespace = namespaceOf(request);
    const budget = Math.min(
      this.options.claimTimeoutMs ?? DEFAULT_CLAIM_TIMEOUT_MS,
      (context.budgetMs ?? Infinity) - ANSWER_MARGIN_MS,
    );
    return new Promise<Decision>((resolve, reject) => {
      const job: Job = { request, bodyBytes: context.bodyBytes, deadline: this.now() + budget, resolve, reject };
      const queue = this.queues.get(namespace);
      if (queue) return void queue.push(job);
      const fresh = [job];
      this.queues.set(namespace, fresh);
      void this.drain(namespace, fresh);
    });
  }

  private async drain(namespace: string, queue: Job[]): Promise<void> {
    try {
      while (queue.length > 0) {
        const batch = queue.splice(0, MAX_BATCH);
        try {
          await this.decideBatch(namespace, batch);
        } catch (err) {
          for (const job of batch) job.reject(err);
        }
      }
    } finally {
      this.queues.delete(namespace);
    }
  }

  private async decideBatch(namespace: string, jobs: Job[]): Promise<void> {
    const claims = this.options.claims!;
    const started = this.now();
    let conflicts = 0;
    for (;;) {
      const { decisions, claiming } = this.judge(jobs);
      if (claiming.size === 0) return this.answer(jobs, decisions, claiming);
      const deadline = Math.min(...[...claiming.keys()].map((i) => jobs[i]!.deadline));
      try {
        const stale = this.staleness();
        if (stale) throw new Undecided(stale, 'stale-view');
        const left = deadline - this.now();
        if (left <= 0) throw this.timedOut(namespace, started, conflicts);
        if (!claims.known(namespace)) {
          this.reservations.replaceNamespace(namespace, await claims.read(namespace, left));
          continue;
        }
        const written = await claims.write(namespace, [...claiming.values()], left);
        if (written) {
          this.reservations.replaceNamespace(namespace, claims.known(namespace) ?? []);
          this.options.observer?.claimWritten((this.now() - started) / 1000, conflicts);
          return this.answer(jobs, decisions, claiming);
        }
        conflicts++;
        this.options.observer?.claimConflict();
        this.reservations.replaceNamespace(namespace, await claims.read(namespace, Math.max(1, deadline - this.now())));
        await this.sleep(Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** conflicts));
      } catch (err) {
        return this.answer(jobs, decisions, claiming, this.undecided(err, namespace, started, conflicts));
      }
    }
  }

  /** The batch in arrival order, each against the view, the claims known and the batch's earlier admissions. */
  private judge(jobs: readonly Job[]): { decisions: Decision[]; claiming: Map<number, Reservation> } {
    const claiming = new Map<number, Reservation>();
    const admitted: Reservation[] = [];
    const view = this.reservations.overlay(() => admitted);
    const at = this.at();
    const decisions = jobs.map((job, i) => {
      const decision = review(job.request, { view, options: this.options.review }, job.bodyBytes);
      if (decision.allowed && needsClaim(job.request)) {
        const r = reservationOf(job.request, at);
        if (r) {
          admitted.push(r);
          claiming.set(i, r);
        }
      }
      return decision;
    });
    return { decisions, claiming };
  }

  private answer(
    jobs: readonly Job[],
    decisions: readonly Decision[],
    claiming: ReadonlyMap<number, Reservation>,
    failure?: Undecided,
  ): void {
    jobs.forEach((job, i) => {
      if (failure && claiming.has(i)) {
        this.options.observer?.claimFailed(failure.reason);
        job.reject(failure);
      } else {
        job.resolve(this.explained(job.request, decisions[i]!));
      }
    });
  }

  /** api: why this replica must not claim now, or undefined. */
  private staleness(): string | undefined {
    const max = this.options.maxViewAgeMs;
    if (max === undefined) return undefined;
    const age = this.reservations.viewAgeMs();
    if (age <= max) return undefined;
    return `the cluster view has not heard from the API server for ${Math.round(age / 1000)}s, longer than --max-staleness (${Math.round(max / 1000)}s): claims that old are no longer kept, so this replica cannot tell whether a conflicting Sidecar was stored meanwhile`;
  }

  private timedOut(namespace: string, started: number, conflicts: number): Undecided {
    return new Undecided(
      `the claim for namespace "${namespace}" was not written within ${Math.round(this.now() - started)}ms (${conflicts} conflicts with other replicas retried): the API server is slow or unreachable`,
      'timeout',
    );
  }

  private undecided(err: unknown, namespace: string, started: number, conflicts: number): Undecided {
    if (err instanceof Undecided) return err;
    if ((err as Error)?.name === 'TimeoutError' || /timed out/.test((err as Error)?.message ?? ''))
      return this.timedOut(namespace, started, conflicts);
    return new Undecided(
      `the claim for namespace "${namespace}" could not be written: ${(err as Error)?.message ?? String(err)}`,
      'api-error',
    );
  }

  /**
   * A conflict denial that names a Sidecar admitted but not stored yet (a
   * CREATE, or an UPDATE's new version): say so. It may never be stored (AlreadyExists when several replicas create
   * the same default, a later webhook, a timeout), and then it counts until
   * its expiry, or longer while the view is behind the API server.
   */
  private explained(request: AdmissionRequest, decision: Decision): Decision {
    if (decision.allowed || !decision.peers) return decision;
    const peers = new Set(decision.peers);
    // A pending Sidecar is one the view does not show yet (showing it settles it): those the denial names, less
    // the pending UPDATEs of a stored one (the stored version is there whatever becomes of the UPDATE).
    const namespace = namespaceOf(request);
    const view = this.reservations.view;
    const pending = this.reservations.pending(namespace).filter((r) => {
      if (!peers.has(r.info.name)) return false;
      const stored = view.sidecar(namespace, r.info.name);
      return stored === undefined || stored.uid !== r.uid;
    });
    if (pending.length === 0) return decision;
    const now = this.now();
    const overdue = pending.some((r) => r.expiresAt <= now);
    const byName = new Map<string, Reservation[]>();
    for (const r of pending) {
      const same = byName.get(r.info.name);
      if (same) same.push(r);
      else byName.set(r.info.name, [r]);
    }
    const named = [...byName.values()].slice(0, 3).map((same) => {
      const first = same.reduce((a, b) => (a.admittedAt <= b.admittedAt ? a : b));
      const times = same.length > 1 ? `, ${same.length} times` : '';
      return `${describeRef(first.info)} (admitted ${Math.round((now - first.admittedAt) / 1000)}s ago${times})`;
    });
    const more = byName.size > 3 ? ` and ${byName.size - 3} more` : '';
    const why = overdue
      ? `admitted but not in sidecar-guard's view, which has not heard from the API server for ${Math.round(this.reservations.viewAgeMs() / 1000)}s; counted as existing until the view shows it or shows it absent`
      : `admitted but not stored yet; counted as existing until the view shows it, or for up to ${Math.ceil(Math.max(...pending.map((r) => r.expiresAt - now)) / 1000)}s more if its write failed (AlreadyExists, a later webhook, a timeout)`;
    // Within kube-apiserver's length for one warning once warnings are many (format.ts), control characters escaped.
    const warning = clip(escapeControls(`${named.join(', ')}${more}: ${why}`), EXPLANATION_CHARS);
    return { ...decision, warnings: [...decision.warnings, warning] };
  }

  private at() {
    return { replica: this.options.replica, now: this.now(), ttlMs: this.options.ttlMs };
  }
}

/** The longest explanation of pending peers: kube-apiserver cuts each warning to 256 runes once they are many. */
const EXPLANATION_CHARS = 256;

/** A Sidecar CREATE or UPDATE: judged against the others of its namespace. */
function judgedWrite(request: AdmissionRequest): boolean {
  return isSidecarRequest(request) && (request.operation === 'CREATE' || request.operation === 'UPDATE');
}

/**
 * Admitting this write must be remembered until the view shows it: a CREATE,
 * or an UPDATE that changes whether or what the Sidecar selects (any other
 * UPDATE cannot make a new conflict). Never for a dry run: nothing is stored.
 */
export function needsClaim(request: AdmissionRequest): boolean {
  if (request.dryRun === true || !judgedWrite(request)) return false;
  if (request.operation === 'CREATE' || !isRecord(request.oldObject)) return true;
  const now = selectorOf(request.object);
  const before = selectorOf(request.oldObject);
  if (now === null || before === null) return now !== before;
  return !pairsEqual(selectorPairs(now), selectorPairs(before));
}

function namespaceOf(request: AdmissionRequest): string {
  const meta = isRecord(request.object) && isRecord(request.object.metadata) ? request.object.metadata : {};
  return (typeof meta.namespace === 'string' && meta.namespace) || request.namespace || 'default';
}

export interface LocalAdmitterOptions {
  ttlMs?: number;
  now?: () => number;
  viewCurrentAsOf?: () => number;
  replica?: string;
}

export const DEFAULT_RESERVATION_TTL_MS = 45_000;

/** An Admitter with local reservations over a store, wired as `serve --claims=local` wires them (standalone, tests, bench). */
export function localAdmitter(
  store: ClusterStore,
  review: ReviewOptions,
  options: LocalAdmitterOptions = {},
): { admitter: Admitter; reservations: Reservations } {
  const reservations = new Reservations({
    view: store,
    replica: options.replica ?? 'local',
    ...(options.now ? { now: options.now } : {}),
    ...(options.viewCurrentAsOf ? { viewCurrentAsOf: options.viewCurrentAsOf } : {}),
  });
  const admitter = new Admitter(reservations, {
    review,
    replica: options.replica ?? 'local',
    ttlMs: options.ttlMs ?? DEFAULT_RESERVATION_TTL_MS,
    ...(options.now ? { now: options.now } : {}),
  });
  return { admitter, reservations };
}

// A work queue of keys in the manner of client-go's workqueue, which Istio's
// controllers use too: a key added while it waits is queued once; a key added
// while it is being processed is processed again afterwards, never twice at
// once; a key whose processing failed comes back after a per-key exponential
// backoff with a cap, which forget() resets once it succeeds.
import { setImmediate as nextTurn } from 'node:timers/promises';

export interface WorkQueueOptions {
  /** Delay before the first retry of a key; each further failure doubles it. */
  baseDelayMs: number;
  /** The longest a failing key waits. */
  maxDelayMs: number;
}

export class WorkQueue<K extends string | number> {
  private readonly queue: K[] = [];
  /** Keys that need processing: waiting in `queue`, or added again while being processed. */
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly failures = new Map<K, number>();
  private readonly delayed = new Map<K, NodeJS.Timeout>();
  private readonly waiters: ((woken: boolean) => void)[] = [];
  private readonly idleWaiters: (() => void)[] = [];
  private shuttingDown = false;

  constructor(private readonly options: WorkQueueOptions) {}

  add(key: K): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return; // done() queues it again
    this.queue.push(key);
    this.handOut();
  }

  /** Adds the key again after its backoff (baseDelayMs × 2^failures, at most maxDelayMs); returns that delay. */
  addRateLimited(key: K): number {
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    const delay = Math.min(this.options.baseDelayMs * 2 ** failures, this.options.maxDelayMs);
    if (this.shuttingDown || this.delayed.has(key)) return delay;
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delay);
    timer.unref();
    this.delayed.set(key, timer);
    return delay;
  }

  /** The key succeeded: its next failure starts the backoff from the beginning. */
  forget(key: K): void {
    this.failures.delete(key);
  }

  /** How many times in a row the key has failed. */
  failuresOf(key: K): number {
    return this.failures.get(key) ?? 0;
  }

  /**
   * The next key to process, or undefined once shut down. A key that arrives
   * while the queue is empty is handed out on a later turn of the event loop,
   * so a burst of additions (a re-list, a chunk of watch events) is handled
   * on the state as it is after the whole burst.
   */
  async get(): Promise<K | undefined> {
    for (;;) {
      if (this.shuttingDown) return undefined;
      const key = this.queue.shift();
      if (key !== undefined) {
        this.dirty.delete(key);
        this.processing.add(key);
        return key;
      }
      if (!(await new Promise<boolean>((resolve) => this.waiters.push(resolve)))) return undefined;
      await nextTurn();
    }
  }

  /** Processing of the key finished (either way); a key added meanwhile is queued again. */
  done(key: K): void {
    this.processing.delete(key);
    if (this.dirty.has(key) && !this.shuttingDown) {
      this.queue.push(key);
      this.handOut();
    }
    this.notifyIdle();
  }

  /** Nothing queued and nothing being processed (backoffs still waiting do not count). */
  idle(): boolean {
    return this.queue.length === 0 && this.processing.size === 0;
  }

  /** Resolves once idle() holds. */
  whenIdle(): Promise<void> {
    if (this.idle() || this.shuttingDown) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Waiting get() calls return undefined, backoffs are cancelled, nothing is queued any more. */
  shutDown(): void {
    this.shuttingDown = true;
    for (const timer of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    this.queue.length = 0;
    for (const wake of this.waiters.splice(0)) wake(false);
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /** Wakes a waiting get(). */
  private handOut(): void {
    this.waiters.shift()?.(true);
  }

  private notifyIdle(): void {
    if (!this.idle()) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}

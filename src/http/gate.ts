// Admission to the admission routes: how many requests, and how many body
// bytes, may be in flight at once, and how slowly a body may arrive.
//
// A count alone does not bound memory (32 bodies of 7 MiB are 224 MiB of
// text before parsing), and it hands every slot to whoever holds them longest:
// 32 clients trickling one byte a second refused every honest review. So:
//  - every request reserves its declared Content-Length (7 MiB when it
//    declares none) against a byte budget, and large bodies against a smaller
//    one of their own: parsing a 7 MiB body holds the event loop for a few
//    hundred milliseconds, so one at a time is what keeps an ordinary review
//    (a few KB, always room for it) from waiting behind several;
//  - a body must arrive within its share of the caller's deadline
//    (`?timeout=`, else the request timeout); one that, at the rate it has
//    come so far, cannot is cut early with 408;
//  - when a new request finds no room, bodies still incomplete a short while
//    after their head make room for it, slowest first (408): kube-apiserver
//    writes a review whole, so a body still arriving then is not from it.
//    When none can be cut yet, the refusal says when cutting would make room
//    (`roomAt`): routes.ts lets the newcomer wait until then, within its
//    deadline, instead of refusing it (503 + Retry-After) while bodies it
//    could displace a few milliseconds later hold every slot.
// Pure bookkeeping with an injected clock; routes.ts wires it to requests.

export interface GateLimits {
  /** Admission requests being received or decided at once. */
  maxInflight: number;
  /** Body bytes (declared, or MAX_BODY_BYTES when undeclared) of the admission requests in flight. */
  maxBodyBytes: number;
  /** Of those, what bodies larger than smallBodyBytes may hold together. */
  maxLargeBodyBytes: number;
  smallBodyBytes: number;
  /** Share of the caller's deadline within which a body must have arrived. */
  bodyShare: number;
  /** A body is not judged too slow for its deadline before it has been arriving this long. */
  graceMs: number;
  /** A body still incomplete this long after its head gives its place to a newcomer that finds no room. */
  yieldAfterMs: number;
}

export type Refusal = {
  status: 503;
  message: string;
  /**
   * When the bodies now incomplete are old enough (yieldAfterMs) that cutting
   * them would make room for this request; absent when even cutting every one
   * would not (complete bodies being decided, or the large-body lane).
   */
  roomAt?: number;
};

/** One admission request from its head to its response; `holder` is what the caller keeps with it. */
export interface Ticket<H = unknown> {
  readonly arrivedAt: number;
  /** Bytes reserved: the declared Content-Length, or the body limit when undeclared. */
  readonly reserved: number;
  /** The declared Content-Length, if any. */
  readonly declared: number | undefined;
  /** The body must be complete by then (clock milliseconds). */
  readonly bodyDeadline: number;
  /** Body bytes so far and whether the body is whole: the body's reader keeps them (json.ts, BodyProgress). */
  received: number;
  complete: boolean;
  released: boolean;
  /** The caller's own state for this request (the routes: how to cut its body), reached from a Cut without a map. */
  readonly holder: H | undefined;
}

export interface Cut<H = unknown> {
  ticket: Ticket<H>;
  message: string;
}

export class AdmissionGate<H = unknown> {
  /**
   * In arrival order. An array, not a Set: once a mark-compact has moved a
   * Set's table to old space, V8 allocates every later table of that Set
   * (one per few dozen add/delete pairs) in old space too, and each
   * replaced table keeps the tickets it held until the next mark-compact;
   * a ticket must die with its request (issue 20, promoted_kb_per_scavenge).
   */
  private readonly tickets: Ticket<H>[] = [];
  private bytes = 0;
  private largeBytes = 0;

  constructor(
    readonly limits: Readonly<GateLimits>,
    private readonly now: () => number,
  ) {}

  get inflight(): number {
    return this.tickets.length;
  }

  get reservedBytes(): number {
    return this.bytes;
  }

  /**
   * A ticket for a request whose head just arrived, after cutting (the
   * returned `cuts`) as many bodies that are late as it takes to make room; or
   * the refusal when even that is not enough.
   */
  admit(request: {
    declared: number | undefined;
    undeclaredBytes: number;
    deadlineMs: number;
    /** When the request's head arrived, if before now (it waited for room): its body's deadline counts from then. */
    headAt?: number;
    holder?: H;
  }): { ticket: Ticket<H>; cuts: Cut<H>[] } | { refusal: Refusal; cuts: Cut<H>[] } {
    const now = this.now();
    const reserved = request.declared ?? request.undeclaredBytes;
    const cuts: Cut<H>[] = [];
    if (!this.fits(reserved)) {
      // Lowest rate first: they are the furthest from done.
      const candidates = this.tickets
        .filter((t) => !t.complete && now - t.arrivedAt >= this.limits.yieldAfterMs)
        .sort((a, b) => rate(a, now) - rate(b, now));
      for (const t of candidates) {
        if (this.fits(reserved)) break;
        this.release(t);
        cuts.push({
          ticket: t,
          message: `body incomplete after ${Math.round(now - t.arrivedAt)}ms (${t.received} of ${t.declared ?? 'undeclared'} bytes) while the server needed room: kube-apiserver sends a review whole`,
        });
      }
    }
    if (!this.fits(reserved)) {
      const what =
        this.tickets.length >= this.limits.maxInflight
          ? `${this.tickets.length} admission requests in flight (limit ${this.limits.maxInflight})`
          : this.bytes + reserved > this.limits.maxBodyBytes
            ? `${this.bytes + reserved} body bytes would be in flight (limit ${this.limits.maxBodyBytes})`
            : `${this.largeBytes + reserved} bytes of large bodies would be in flight (limit ${this.limits.maxLargeBodyBytes})`;
      const roomAt = this.roomAt(reserved);
      return {
        refusal: { status: 503, message: `overloaded: ${what}`, ...(roomAt !== undefined && { roomAt }) },
        cuts,
      };
    }
    const ticket: Ticket<H> = {
      arrivedAt: now,
      reserved,
      declared: request.declared,
      bodyDeadline: (request.headAt ?? now) + request.deadlineMs * this.limits.bodyShare,
      received: 0,
      complete: false,
      released: false,
      holder: request.holder,
    };
    this.tickets.push(ticket);
    this.bytes += reserved;
    if (this.isLarge(reserved)) this.largeBytes += reserved;
    return { ticket, cuts };
  }

  /** The request is answered or its connection is gone: its room is free. Idempotent. */
  release(ticket: Ticket<H>): void {
    if (ticket.released) return;
    ticket.released = true;
    const at = this.tickets.indexOf(ticket);
    if (at >= 0) this.tickets.splice(at, 1);
    this.bytes -= ticket.reserved;
    if (this.isLarge(ticket.reserved)) this.largeBytes -= ticket.reserved;
  }

  /**
   * The bodies that can no longer arrive within their share of the deadline,
   * released and returned for the caller to answer with 408. Called on a
   * timer; `judge` false skips the judging (the process itself was not
   * reading, so slowness measured over that time is its own).
   */
  sweep(judge = true): Cut<H>[] {
    if (!judge) return [];
    const now = this.now();
    const cuts: Cut<H>[] = [];
    // A copy: release() takes tickets out of the list being walked.
    for (const t of [...this.tickets]) {
      const why = this.hopeless(t, now);
      if (!why) continue;
      this.release(t);
      cuts.push({ ticket: t, message: why });
    }
    return cuts;
  }

  private isLarge(bytes: number): boolean {
    return bytes > this.limits.smallBodyBytes;
  }

  private fits(reserved: number): boolean {
    return this.fitsBeside(reserved, this.tickets.length, this.bytes, this.largeBytes);
  }

  private fitsBeside(reserved: number, count: number, bytes: number, largeBytes: number): boolean {
    if (count >= this.limits.maxInflight || bytes + reserved > this.limits.maxBodyBytes) return false;
    return !this.isLarge(reserved) || largeBytes + reserved <= this.limits.maxLargeBodyBytes;
  }

  /**
   * The earliest time at which cutting incomplete bodies would make room for
   * `reserved`: they become cuttable yieldAfterMs after their heads, oldest
   * first, so the answer is when the last of the oldest ones needed gets there.
   */
  private roomAt(reserved: number): number | undefined {
    const incomplete = this.tickets.filter((t) => !t.complete).sort((a, b) => a.arrivedAt - b.arrivedAt);
    let [count, bytes, largeBytes] = [this.tickets.length, this.bytes, this.largeBytes];
    for (const t of incomplete) {
      count--;
      bytes -= t.reserved;
      if (this.isLarge(t.reserved)) largeBytes -= t.reserved;
      if (this.fitsBeside(reserved, count, bytes, largeBytes)) return t.arrivedAt + this.limits.yieldAfterMs;
    }
    return undefined;
  }

  /** Why the body cannot arrive within its share of the deadline, judged at the rate it has arrived so far. */
  private hopeless(t: Ticket<H>, now: number): string | undefined {
    if (t.complete) return undefined;
    const share = Math.round(t.bodyDeadline - t.arrivedAt);
    if (now >= t.bodyDeadline)
      return `body incomplete after ${Math.round(now - t.arrivedAt)}ms, its share (${share}ms) of the caller's deadline (${t.received} of ${t.declared ?? 'undeclared'} bytes)`;
    if (now - t.arrivedAt < this.limits.graceMs || t.declared === undefined) return undefined;
    const perSecond = rate(t, now);
    const finish = perSecond > 0 ? t.arrivedAt + ((now - t.arrivedAt) * t.declared) / t.received : Infinity;
    if (finish <= t.bodyDeadline) return undefined;
    return `body arriving at ${Math.round(perSecond)} B/s (${t.received} of ${t.declared} bytes in ${Math.round(now - t.arrivedAt)}ms) cannot arrive within its share (${share}ms) of the caller's deadline`;
  }
}

/** Bytes per second so far. */
function rate(t: Ticket, now: number): number {
  const ms = now - t.arrivedAt;
  return ms > 0 ? (t.received * 1000) / ms : 0;
}

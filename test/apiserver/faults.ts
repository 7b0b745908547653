// Fault injection for tests: failing or hanging requests, and the watch
// faults (expired history, dropped connections) informers must survive.

export type RequestMatch = (method: string, path: string) => boolean;

export interface FailRule {
  match: RequestMatch;
  status: number;
  /** How many matching requests to fail; unlimited when absent. */
  times?: number;
}

export interface HangRule {
  match: RequestMatch;
  /** How long a matching request waits before it is handled. */
  ms: number;
}

export interface Faults {
  /** Makes every resourceVersion handed out so far too old: watches from them get a 410 Expired ERROR event. */
  expireHistory(): void;
  /** Destroys every open watch connection (as a crashed server or a reset load balancer would). */
  dropWatches(): void;
  /** Ends every open watch response cleanly (as kube-apiserver does when a watch times out). */
  endWatches(): void;
  /** Answers matching requests with a Status of that code. `path` is the request path with its query string. */
  failRequests(rule: FailRule): void;
  /** Delays matching requests. */
  hangRequests(rule: HangRule): void;
  /** Removes every fail and hang rule. */
  clear(): void;
}

export class FaultRules {
  private fails: { rule: FailRule; left: number }[] = [];
  private hangs: HangRule[] = [];

  addFail(rule: FailRule): void {
    this.fails.push({ rule, left: rule.times ?? Number.POSITIVE_INFINITY });
  }

  addHang(rule: HangRule): void {
    this.hangs.push(rule);
  }

  clear(): void {
    this.fails = [];
    this.hangs = [];
  }

  /** The status code to fail this request with, consuming one use of the rule. */
  takeFailure(method: string, path: string): number | undefined {
    for (const entry of this.fails) {
      if (entry.left > 0 && entry.rule.match(method, path)) {
        entry.left--;
        return entry.rule.status;
      }
    }
    return undefined;
  }

  hangFor(method: string, path: string): number {
    let ms = 0;
    for (const h of this.hangs) if (h.match(method, path)) ms = Math.max(ms, h.ms);
    return ms;
  }
}

// What a reviewer decided, independent of the wire format. The HTTP layer
// turns it into an AdmissionResponse; metrics and logs read outcome and rules.
import type { JsonPatchOperation } from './types.js';

export type Outcome = 'allowed' | 'warned' | 'denied' | 'skipped';

export interface Decision {
  allowed: boolean;
  outcome: Outcome;
  /** Denial text shown by kubectl after `denied the request: `. */
  message?: string;
  /** HTTP-like status for denials (403 Forbidden for policy denials). */
  code?: number;
  reason?: string;
  warnings: string[];
  patch?: JsonPatchOperation[];
  /** Ids of the rules behind the denial (errors) or the warnings. */
  rules: string[];
  /** The other Sidecars a denial's conflicts are with (`name` in the request's namespace), when there are any. */
  peers?: string[];
}

export const skipped = (): Decision => ({ allowed: true, outcome: 'skipped', warnings: [], rules: [] });

/**
 * Thrown when no decision can be given: a precondition of deciding failed
 * (the claim that must precede an admission could not be written in time,
 * say). The HTTP layer answers 500 so that the webhook's failurePolicy
 * decides, as for any fault of ours; `reason` is a short label for metrics.
 */
export class Undecided extends Error {
  constructor(
    message: string,
    readonly reason: string,
  ) {
    super(message);
    this.name = 'Undecided';
  }
}

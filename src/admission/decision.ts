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
}

export const skipped = (): Decision => ({ allowed: true, outcome: 'skipped', warnings: [], rules: [] });

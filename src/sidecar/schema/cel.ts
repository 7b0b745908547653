// The CRD's CEL rules (`x-kubernetes-validations`), each implemented by hand
// and looked up by its exact expression text. We do not interpret CEL: the
// generator refuses a CRD that contains an expression missing from this table,
// so a new rule upstream fails loudly instead of being skipped.
import { parseGoDuration } from '../go/duration.js';
import { isRecord } from '../../util/json.js';

/** What evaluating a rule gives, in the API server's terms. */
export type CelOutcome =
  | { readonly kind: 'pass' }
  | { readonly kind: 'fail' }
  /** The expression raised a runtime error (the API server reports it with the rule's message). */
  | { readonly kind: 'error'; readonly error: string };

export interface CelRule {
  /** A short name for the rule, for humans reading code and tests. */
  readonly name: string;
  /** The JSON type of `self` the expression is written for; other values are left to the type check. */
  readonly selfType: 'string' | 'object';
  readonly evaluate: (self: unknown) => CelOutcome;
}

const PASS: CelOutcome = { kind: 'pass' };
const FAIL: CelOutcome = { kind: 'fail' };
const ONE_MILLISECOND_NS = 1_000_000n;

// cel-go converts a string to a duration with Go's time.ParseDuration and
// reports a failed conversion with this text.
const DURATION_CONVERSION_ERROR: CelOutcome = {
  kind: 'error',
  error: "type conversion error from 'string' to 'google.protobuf.Duration'",
};

/** `duration(self) >= duration('1ms')` */
function durationAtLeastOneMillisecond(self: unknown): CelOutcome {
  if (typeof self !== 'string') return PASS;
  const parsed = parseGoDuration(self);
  if (!parsed.ok) return DURATION_CONVERSION_ERROR;
  return parsed.nanos >= ONE_MILLISECOND_NS ? PASS : FAIL;
}

/** `!self.contains("*")` */
function noWildcard(self: unknown): CelOutcome {
  if (typeof self !== 'string') return PASS;
  return self.includes('*') ? FAIL : PASS;
}

/**
 * `(has(self.a) ? 1 : 0) + (has(self.b) ? 1 : 0) <= 1`. A null field counts as
 * absent because the API server prunes nulls of non-nullable fields before
 * CEL runs.
 */
function atMostOneOf(first: string, second: string): (self: unknown) => CelOutcome {
  return function atMostOne(self: unknown): CelOutcome {
    if (!isRecord(self)) return PASS;
    const count = (hasField(self, first) ? 1 : 0) + (hasField(self, second) ? 1 : 0);
    return count <= 1 ? PASS : FAIL;
  };
}

function hasField(object: Record<string, unknown>, name: string): boolean {
  return Object.hasOwn(object, name) && object[name] !== null && object[name] !== undefined;
}

/** Keyed by the rule text exactly as it appears in the CRD. */
export const CEL_RULES: ReadonlyMap<string, CelRule> = new Map<string, CelRule>([
  [
    "duration(self) >= duration('1ms')",
    { name: 'duration-at-least-1ms', selfType: 'string', evaluate: durationAtLeastOneMillisecond },
  ],
  [
    '(has(self.tlsCertificates) ? 1 : 0) + (has(self.credentialNames) ? 1 : 0) <= 1',
    {
      name: 'tls-certificates-xor-credential-names',
      selfType: 'object',
      evaluate: atMostOneOf('tlsCertificates', 'credentialNames'),
    },
  ],
  [
    '(has(self.credentialName) ? 1 : 0) + (has(self.credentialNames) ? 1 : 0) <= 1',
    {
      name: 'credential-name-xor-credential-names',
      selfType: 'object',
      evaluate: atMostOneOf('credentialName', 'credentialNames'),
    },
  ],
  [
    // Upstream's message for this rule says "credentialName or tlsCertificates",
    // but the expression tests credentialNames; like the API server we evaluate
    // the expression and keep the message.
    '(has(self.credentialNames) ? 1 : 0) + (has(self.tlsCertificates) ? 1 : 0) <= 1',
    {
      name: 'credential-names-xor-tls-certificates',
      selfType: 'object',
      evaluate: atMostOneOf('credentialNames', 'tlsCertificates'),
    },
  ],
  ['!self.contains("*")', { name: 'no-wildcard', selfType: 'string', evaluate: noWildcard }],
]);

/** The implementation of `expression`; throws when there is none, so callers fail at build or load time. */
export function celRuleFor(expression: string): CelRule {
  const rule = CEL_RULES.get(expression);
  if (rule === undefined)
    throw new Error(`CEL rule not implemented: ${JSON.stringify(expression)} (add it to src/sidecar/schema/cel.ts)`);
  return rule;
}

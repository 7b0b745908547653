// Shared helpers for the per-rule tests of validateIstio.
import assert from 'node:assert/strict';
import { validateIstio, type ObjectMeta } from '../../../src/sidecar/rules/index.js';
import type { Violation } from '../../../src/sidecar/violation.js';

export const META: ObjectMeta = { namespace: 'bar', name: 'foo' };

/** [rule, path, message]: the parts of a finding each rule decides. */
export type Finding = [rule: string, path: string, message: string];

export function run(spec: unknown, meta: ObjectMeta = META): Violation[] {
  return validateIstio(spec, meta);
}

export function findings(spec: unknown, meta: ObjectMeta = META): Finding[] {
  return run(spec, meta).map((v) => [v.rule, v.path, v.message]);
}

/** Asserts the complete list of findings, in order. */
export function expectFindings(spec: unknown, expected: Finding[], meta: ObjectMeta = META): void {
  assert.deepEqual(findings(spec, meta), expected);
}

export function expectValid(spec: unknown, meta: ObjectMeta = META): void {
  assert.deepEqual(findings(spec, meta), []);
}

/** A spec with one ingress listener (no egress, so nothing else can fire). */
export const ingress = (listener: unknown): unknown => ({ ingress: [listener] });

/** A valid ingress port, to be overridden field by field. */
export const httpPort = { number: 8080, protocol: 'HTTP', name: 'http' };
export const httpsPort = { number: 8443, protocol: 'HTTPS', name: 'https' };

/** A spec with one egress listener having these hosts. */
export const egressHosts = (...hosts: unknown[]): unknown => ({ egress: [{ hosts }] });

/** A spec whose only content is an inbound connection pool. */
export const inboundPool = (pool: unknown): unknown => ({ inboundConnectionPool: pool });

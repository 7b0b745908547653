// Shared test helpers: a valid Sidecar to mutate, and short views of the result.
import { checkSchema, type SchemaOptions, type SchemaResult } from '../../../src/sidecar/schema/index.js';
import { CEL_RULES_SKIPPED } from '../../../src/sidecar/schema/k8s-errors.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** A Sidecar that passes every structural check; each call returns a fresh copy. */
export function validSidecar(): JsonObject {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'Sidecar',
    metadata: {
      name: 'default',
      namespace: 'prod-us1',
      labels: { app: 'ratings' },
      annotations: { 'example.com/owner': 'team-a' },
    },
    spec: {
      workloadSelector: { labels: { app: 'ratings', version: 'v1' } },
      ingress: [
        {
          port: { number: 9080, protocol: 'HTTP', name: 'http' },
          defaultEndpoint: '127.0.0.1:8080',
          captureMode: 'IPTABLES',
          connectionPool: {
            tcp: {
              connectTimeout: '1s',
              maxConnections: 100,
              tcpKeepalive: { time: '2h', interval: '75s', probes: 9 },
            },
            http: {
              idleTimeout: '30s',
              http2KeepAlive: { interval: '10s', timeout: '3s' },
              h2UpgradePolicy: 'UPGRADE',
            },
          },
          tls: { mode: 'SIMPLE', credentialName: 'ratings-cert', minProtocolVersion: 'TLSV1_2' },
        },
      ],
      egress: [
        { port: { number: 9080, protocol: 'HTTP', name: 'egress-http' }, hosts: ['prod-us1/*'] },
        { hosts: ['istio-system/*'] },
      ],
      inboundConnectionPool: { http: { http1MaxPendingRequests: 1024 } },
      outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' },
    },
  };
}

/** Sets `value` at a dotted path of plain keys and numeric indexes (test data only). */
export function withValue(object: JsonObject, path: string, value: Json | undefined): JsonObject {
  const steps = path.split('.');
  let node: Json = object;
  for (const step of steps.slice(0, -1)) node = (node as Record<string, Json>)[step] as Json;
  const last = steps[steps.length - 1]!;
  if (value === undefined) delete (node as Record<string, Json>)[last];
  else (node as Record<string, Json>)[last] = value;
  return object;
}

export const strict: SchemaOptions = { rejectUnknownFields: true };
export const lenient: SchemaOptions = { rejectUnknownFields: false };

/**
 * "rule path: message" lines, in order, without the API server's note that
 * CEL rules were skipped (its own tests in check-schema.test.ts look at it).
 */
export function lines(result: SchemaResult): string[] {
  return result.violations
    .filter((v) => v.message !== CEL_RULES_SKIPPED)
    .map((v) => `${v.rule} ${v.path}: ${v.message}`);
}

export function check(object: unknown, options: SchemaOptions = strict): SchemaResult {
  return checkSchema(object, options);
}

// fast-check generators for the fuzz tests: nasty values, mutations of valid
// Sidecars, whole AdmissionReviews, raw JSON texts with duplicate keys, and
// "irrelevant" additions that must never change a decision.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';

export interface Vector {
  id: string;
  name: string;
  namespace?: string;
  spec: Record<string, unknown>;
  valid: boolean;
}

/** The 62 Istio vectors (test/fixtures, copied from the shared reference) as a corpus of real specs. */
export const VECTORS: readonly Vector[] = JSON.parse(
  readFileSync(new URL('../fixtures/istio-sidecar-vectors.json', import.meta.url), 'utf8'),
);

/** A Sidecar object around a spec. */
export function sidecarObject(
  spec: unknown,
  namespace = 'bar',
  name = 'fuzz',
  apiVersion = 'networking.istio.io/v1',
): Record<string, unknown> {
  return { apiVersion, kind: 'Sidecar', metadata: { name, namespace }, spec };
}

/** Nested `depth` levels (alternating arrays and objects), built without recursion. */
export function nested(depth: number, leaf: unknown = 'leaf'): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = i % 2 === 0 ? [v] : { n: v };
  return v;
}

const hugeString = fc
  .tuple(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 3 }), fc.integer({ min: 10_000, max: 400_000 }))
  .map(([unit, n]) => unit.repeat(Math.ceil(n / unit.length)));

const weirdStrings = fc.constantFrom(
  '',
  ' ',
  '\u0000',
  '\ud800', // lone surrogate
  '\udfff\ud800',
  '\u202e/*', // right-to-left override
  'a\u200bb', // zero-width space
  '🐱/🐶.svc',
  'İstanbul/ΣΊΣΥΦΟΣ',
  '*/*\n*/*',
  '../../etc/passwd',
  '%00',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a Log4Shell probe, meant literally
  '${jndi:ldap://x}',
  '{{.}}',
  `default/${'a'.repeat(300)}`,
  `ns/${'*.'.repeat(200)}com`,
);

const outOfRange = fc.constantFrom(
  -1,
  0,
  -0,
  0.5,
  65535.5,
  65536,
  2 ** 31,
  2 ** 32,
  2 ** 53 + 2,
  -(2 ** 63),
  1e308,
  -1e308,
  Number.MIN_VALUE,
  Infinity,
  -Infinity,
  NaN,
);

const poisonObjects = fc
  .constantFrom(
    () => JSON.parse('{"__proto__":{"polluted":"yes"}}'),
    () => JSON.parse('{"constructor":{"prototype":{"polluted":"yes"}}}'),
    () => ({ constructor: 'x', toString: 1, valueOf: {}, hasOwnProperty: null }),
    () => JSON.parse('{"__proto__":null,"app":"x"}'),
    () => ({ prototype: { polluted: 'yes' } }),
  )
  .map((make) => make());

const listWithNulls = fc.array(fc.oneof(fc.constant(null), fc.constant('./*'), fc.constant(undefined), fc.integer()), {
  minLength: 1,
  maxLength: 6,
});

/** Values no Sidecar field expects. */
export const nastyValue: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.constant(null), weight: 3 },
  {
    arbitrary: fc.anything({ maxDepth: 3, withNullPrototype: true, withBoxedValues: true, withSparseArray: true }),
    weight: 4,
  },
  { arbitrary: outOfRange, weight: 3 },
  { arbitrary: weirdStrings, weight: 3 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 2 },
  { arbitrary: hugeString, weight: 1 },
  // Deeper nesting (to the 10,000-level HTTP limit) has its own explicit cases: fast-check's reporter recurses too.
  { arbitrary: fc.integer({ min: 1, max: 600 }).map((d) => nested(d)), weight: 1 },
  { arbitrary: poisonObjects, weight: 2 },
  { arbitrary: listWithNulls, weight: 2 },
  { arbitrary: fc.constantFrom(true, false, [], {}, [[]], [{}]), weight: 2 },
);

/** JSON-safe nasty values (what can arrive over HTTP). */
export const nastyJsonValue: fc.Arbitrary<unknown> = nastyValue.map((v) => {
  try {
    const text = JSON.stringify(v);
    return text === undefined ? null : JSON.parse(text);
  } catch {
    return null; // too deep for JSON.stringify: use null instead
  }
});

type Container = Record<string, unknown> | unknown[];

/** Every container in a value, with the keys it holds (iterative). */
function containers(root: unknown): Container[] {
  const out: Container[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== 'object' || v === null) continue;
    // Plain objects and arrays only: boxed strings and typed arrays have fixed entries.
    const proto = Object.getPrototypeOf(v);
    if (!Array.isArray(v) && proto !== Object.prototype && proto !== null) continue;
    out.push(v as Container);
    if (out.length > 200) break;
    for (const child of Object.values(v)) stack.push(child);
  }
  return out;
}

export interface Mutation {
  at: number;
  op: 'replace' | 'insert' | 'delete';
  key: string;
  value: unknown;
}

const mutationKeys = fc.oneof(
  fc.constantFrom(
    'hosts',
    'port',
    'number',
    'protocol',
    'name',
    'bind',
    'captureMode',
    'defaultEndpoint',
    'tls',
    'mode',
    'workloadSelector',
    'labels',
    'egress',
    'ingress',
    'outboundTrafficPolicy',
    'egressProxy',
    'connectionPool',
    'inboundConnectionPool',
    'metadata',
    'spec',
    'namespace',
    'annotations',
    '__proto__',
    'constructor',
    'prototype',
    'toString',
  ),
  fc.string({ maxLength: 12 }),
);

export const mutation = (values: fc.Arbitrary<unknown>): fc.Arbitrary<Mutation> =>
  fc.record({
    at: fc.nat(),
    op: fc.constantFrom('replace', 'replace', 'insert', 'delete'),
    key: mutationKeys,
    value: values,
  });

/** Applies mutations to a deep copy: each picks a container and replaces, inserts or deletes one entry. */
export function applyMutations(base: unknown, mutations: readonly Mutation[]): unknown {
  const root = { value: structuredClone(base) } as Record<string, unknown>;
  for (const m of mutations) {
    const all = containers(root);
    const target = all[m.at % all.length]!;
    if (Array.isArray(target)) {
      const i = target.length === 0 ? 0 : m.at % target.length;
      if (m.op === 'delete') target.splice(i, 1);
      else if (m.op === 'insert') target.splice(i, 0, m.value);
      else target[i] = m.value;
    } else {
      const keys = Object.keys(target);
      const key = m.op === 'insert' || keys.length === 0 ? m.key : keys[m.at % keys.length]!;
      if (m.op === 'delete') delete target[key];
      // defineProperty: a "__proto__" key becomes an own property, as JSON.parse makes it.
      else Object.defineProperty(target, key, { value: m.value, enumerable: true, writable: true, configurable: true });
    }
  }
  return root.value;
}

/** A real spec from the vectors, mutated 1 to 3 times. */
export const mutatedSpec = (values: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> =>
  fc
    .tuple(fc.constantFrom(...VECTORS), fc.array(mutation(values), { minLength: 1, maxLength: 3 }))
    .map(([v, ms]) => applyMutations(v.spec, ms));

/** A Sidecar object whose spec and/or metadata went wrong, or something else entirely. */
export const fuzzObject = (values: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> =>
  fc.oneof(
    { arbitrary: mutatedSpec(values).map((spec) => sidecarObject(spec)), weight: 6 },
    {
      arbitrary: fc
        .tuple(fc.constantFrom(...VECTORS), fc.array(mutation(values), { minLength: 1, maxLength: 3 }))
        .map(([v, ms]) => applyMutations(sidecarObject(v.spec), ms)),
      weight: 4,
    },
    { arbitrary: values, weight: 1 },
  );

const operations = fc.constantFrom('CREATE', 'CREATE', 'UPDATE', 'UPDATE', 'DELETE', 'CONNECT');
const sidecarKinds = fc
  .constantFrom('v1', 'v1beta1', 'v1alpha3')
  .map((version) => ({ group: 'networking.istio.io', version, kind: 'Sidecar' }));
const otherKinds = fc.constantFrom(
  { group: '', version: 'v1', kind: 'Pod' },
  { group: 'networking.istio.io', version: 'v1', kind: 'Gateway' },
);

/** A well-formed request envelope around fuzzed objects (what decodeReview lets through to review()). */
export const fuzzRequest = (values: fc.Arbitrary<unknown>) =>
  fc
    .record({
      operation: operations,
      kind: fc.oneof({ arbitrary: sidecarKinds, weight: 9 }, { arbitrary: otherKinds, weight: 1 }),
      namespace: fc.option(fc.oneof(fc.constantFrom('bar', 'shop', 'istio-system'), fc.string({ maxLength: 20 })), {
        nil: undefined,
      }),
      name: fc.option(fc.oneof(fc.constant('fuzz'), fc.string({ maxLength: 20 })), { nil: undefined }),
      object: fuzzObject(values),
      oldObject: fc.oneof(fc.constant(null), fuzzObject(values)),
      dryRun: fc.boolean(),
      subResource: fc.oneof(
        { arbitrary: fc.constant(undefined), weight: 9 },
        { arbitrary: fc.constant('status'), weight: 1 },
      ),
    })
    .map((r) => ({
      uid: randomUUID(),
      resource: { group: r.kind.group, version: r.kind.version, resource: `${r.kind.kind.toLowerCase()}s` },
      userInfo: { username: 'fuzzer' },
      ...r,
    }));

/** JSON text of an object in which some objects repeat a key with a different value first. */
export function withDuplicateKeys(value: unknown, pick: number, shadow: unknown): string {
  let seen = 0;
  const write = (v: unknown): string => {
    if (Array.isArray(v)) return `[${v.map(write).join(',')}]`;
    if (typeof v === 'object' && v !== null) {
      const entries = Object.entries(v).map(([k, child]) => {
        const own = `${JSON.stringify(k)}:${write(child)}`;
        // Every `pick`-th key is preceded by an earlier copy holding another value.
        return seen++ % pick === 0 ? `${JSON.stringify(k)}:${JSON.stringify(shadow) ?? 'null'},${own}` : own;
      });
      return `{${entries.join(',')}}`;
    }
    return JSON.stringify(v) ?? 'null';
  };
  return write(value);
}

/** Label keys and values that are valid Kubernetes metadata but mean nothing to any rule. */
const irrelevantKey = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?$/).map((k) => `fuzz.example.com/${k}`);
const irrelevantLabelValue = fc.stringMatching(/^([A-Za-z0-9]([A-Za-z0-9_.-]{0,30}[A-Za-z0-9])?)?$/);

export interface Irrelevant {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  status: unknown;
  managedFields: unknown[];
  resourceVersion: string;
  uid: string;
  generation: number;
  creationTimestamp: string;
  userInfo: unknown;
  options: unknown;
}

/** Free-form JSON for status and managedFields (`__proto__` and `constructor` keys are data like any other). */
const freeJson = fc.jsonValue({ maxDepth: 3 });

/** Additions that must never change a decision: bookkeeping metadata, status, caller identity. */
export const irrelevant: fc.Arbitrary<Irrelevant> = fc.record({
  labels: fc.dictionary(irrelevantKey, irrelevantLabelValue, { maxKeys: 4 }),
  annotations: fc.dictionary(irrelevantKey, fc.string({ unit: 'grapheme', maxLength: 200 }), { maxKeys: 4 }),
  status: freeJson,
  managedFields: fc.array(
    fc.record({
      manager: fc.constantFrom('kubectl-client-side-apply', 'argocd', 'helm'),
      operation: fc.constantFrom('Update', 'Apply'),
      apiVersion: fc.constant('networking.istio.io/v1'),
      fieldsType: fc.constant('FieldsV1'),
      fieldsV1: freeJson,
    }),
    { maxLength: 3 },
  ),
  resourceVersion: fc.integer({ min: 1, max: 1e9 }).map(String),
  uid: fc.uuid(),
  generation: fc.integer({ min: 1, max: 1e6 }),
  creationTimestamp: fc
    .date({ min: new Date('2020-01-01'), max: new Date('2030-01-01'), noInvalidDate: true })
    .map((d) => d.toISOString().replace(/\.\d{3}Z$/, 'Z')),
  userInfo: fc.record({
    username: fc.string({ maxLength: 20 }),
    groups: fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }),
  }),
  options: fc.constantFrom({ apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' }, { fieldManager: 'kubectl' }, null),
});

/** A copy of the object with the irrelevant metadata and status added. */
export function decorate(object: Record<string, unknown>, extra: Irrelevant): Record<string, unknown> {
  const meta = { ...(object.metadata as Record<string, unknown>) };
  meta.labels = { ...((meta.labels as Record<string, string>) ?? {}), ...extra.labels };
  meta.annotations = { ...((meta.annotations as Record<string, string>) ?? {}), ...extra.annotations };
  Object.assign(meta, {
    managedFields: extra.managedFields,
    resourceVersion: extra.resourceVersion,
    uid: extra.uid,
    generation: extra.generation,
    creationTimestamp: extra.creationTimestamp,
  });
  return { ...object, metadata: meta, status: extra.status };
}

/** Valid-looking specs built from the rule table's vocabulary (the vectors cover the edges). */
export const plausibleSpec: fc.Arbitrary<Record<string, unknown>> = fc
  .record({
    hosts: fc.array(
      fc.constantFrom(
        './*',
        '*/*',
        'istio-system/*',
        'bar/reviews.bar.svc.cluster.local',
        '~/*',
        './*.example.com',
        'foo/bar.com',
      ),
      { minLength: 1, maxLength: 3 },
    ),
    port: fc.option(
      fc.record({
        number: fc.integer({ min: 1, max: 65535 }),
        protocol: fc.constantFrom('HTTP', 'TCP', 'GRPC', 'HTTPS'),
        name: fc.constantFrom('http', 'tcp', 'grpc-x'),
      }),
      { nil: undefined },
    ),
    selector: fc.option(
      fc.dictionary(fc.constantFrom('app', 'version', 'tier'), fc.constantFrom('reviews', 'v1', 'web')),
      { nil: undefined },
    ),
    mode: fc.option(fc.constantFrom('REGISTRY_ONLY', 'ALLOW_ANY'), { nil: undefined }),
  })
  .map(({ hosts, port, selector, mode }) => {
    const spec: Record<string, unknown> = { egress: [port ? { port, hosts } : { hosts }] };
    if (selector) spec.workloadSelector = { labels: selector };
    if (mode) spec.outboundTrafficPolicy = { mode };
    return spec;
  });

/**
 * A review that holds every field the fuzz suite knows: the envelope, every
 * request field, every Sidecar spec field of the CRD (ingress with TLS and a
 * connection pool, egress, outbound traffic policy with an egress proxy, the
 * inbound pool), the bookkeeping metadata and status of `irrelevant`, and the
 * generate annotation that sends a CREATE through /mutate's completion.
 */
export function kitchenSinkReview(): Record<string, unknown> {
  const pool = {
    tcp: {
      maxConnections: 10,
      connectTimeout: '1s',
      tcpKeepalive: { probes: 3, time: '10s', interval: '5s' },
      maxConnectionDuration: '1h',
      idleTimeout: '1h',
    },
    http: {
      http1MaxPendingRequests: 1,
      http2MaxRequests: 1,
      maxRequestsPerConnection: 1,
      maxRetries: 1,
      idleTimeout: '1s',
      h2UpgradePolicy: 'DEFAULT',
      useClientProtocol: true,
      maxConcurrentStreams: 1,
    },
  };
  const object = {
    apiVersion: 'networking.istio.io/v1',
    kind: 'Sidecar',
    metadata: {
      name: 'sink',
      namespace: 'bar',
      labels: { app: 'sink' },
      annotations: { 'sidecar-guard.io/generate': 'true', note: 'x' },
      managedFields: [
        {
          manager: 'kubectl',
          operation: 'Apply',
          apiVersion: 'networking.istio.io/v1',
          fieldsType: 'FieldsV1',
          fieldsV1: { 'f:spec': {} },
        },
      ],
      resourceVersion: '1',
      uid: 'b6a0c9a2-0000-4000-8000-000000000001',
      generation: 1,
      creationTimestamp: '2026-01-01T00:00:00Z',
    },
    spec: {
      workloadSelector: { labels: { app: 'sink' } },
      ingress: [
        {
          port: { number: 9080, protocol: 'HTTPS', name: 'https', targetPort: 9080 },
          bind: '0.0.0.0',
          captureMode: 'DEFAULT',
          defaultEndpoint: '127.0.0.1:8080',
          tls: {
            mode: 'SIMPLE',
            serverCertificate: '/etc/cert.pem',
            privateKey: '/etc/key.pem',
            caCertificates: '/etc/ca.pem',
            subjectAltNames: ['a'],
            cipherSuites: ['ECDHE-RSA-AES128-GCM-SHA256'],
            minProtocolVersion: 'TLSV1_2',
            maxProtocolVersion: 'TLSV1_3',
          },
          connectionPool: pool,
        },
      ],
      egress: [
        {
          port: { number: 8080, protocol: 'HTTP', name: 'http' },
          bind: '127.0.0.1',
          captureMode: 'NONE',
          hosts: ['./*', 'istio-system/*'],
        },
        { hosts: ['*/*'] },
      ],
      outboundTrafficPolicy: {
        mode: 'REGISTRY_ONLY',
        egressProxy: { host: 'egress.example.com', subset: 'v1', port: { number: 443 } },
      },
      inboundConnectionPool: pool,
    },
    status: {
      observedGeneration: 1,
      conditions: [{ type: 'Reconciled', status: 'True', reason: 'ok', message: 'm' }],
      validationMessages: [{ level: 'ERROR', type: { code: 'IST0101' } }],
    },
  };
  const gvk = { group: 'networking.istio.io', version: 'v1', kind: 'Sidecar' };
  const gvr = { group: 'networking.istio.io', version: 'v1', resource: 'sidecars' };
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'kitchen-sink',
      kind: gvk,
      resource: gvr,
      subResource: '',
      requestKind: gvk,
      requestResource: gvr,
      requestSubResource: '',
      name: 'sink',
      namespace: 'bar',
      operation: 'CREATE',
      userInfo: { username: 'fuzzer', uid: 'u', groups: ['system:authenticated'], extra: { scopes: ['x'] } },
      object,
      oldObject: structuredClone(object),
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions', fieldManager: 'kubectl' },
    },
  };
}

export type FieldPath = readonly (string | number)[];

/** Every position in a value (containers and leaves, the root excepted), iteratively. */
export function fieldPaths(root: unknown): FieldPath[] {
  const out: FieldPath[] = [];
  const stack: [unknown, FieldPath][] = [[root, []]];
  while (stack.length > 0) {
    const [value, path] = stack.pop()!;
    if (path.length > 0) out.push(path);
    if (typeof value !== 'object' || value === null) continue;
    const entries: [string | number, unknown][] = Array.isArray(value)
      ? value.map((v, i) => [i, v])
      : Object.entries(value);
    for (const [key, child] of entries) stack.push([child, [...path, key]]);
  }
  return out;
}

/** A copy of `root` with `value` at `path`; only the containers along the path are copied. */
export function replaceAt(root: unknown, path: FieldPath, value: unknown): unknown {
  if (path.length === 0) return value;
  const [key, ...rest] = path;
  const copy = (Array.isArray(root) ? [...root] : { ...(root as Record<string, unknown>) }) as Record<
    string | number,
    unknown
  >;
  copy[key!] = replaceAt(copy[key!], rest, value);
  return copy;
}

const DEEP_MARK = '\u0000deep\u0000';

/** The JSON text of nested(depth), written without recursion (JSON.stringify overflows the stack on it). */
export function nestedJson(depth: number, leaf: unknown = 'leaf'): string {
  const open: string[] = [];
  for (let i = depth - 1; i >= 0; i--) open.push(i % 2 === 0 ? '[' : '{"n":');
  const close: string[] = [];
  for (let i = 0; i < depth; i++) close.push(i % 2 === 0 ? ']' : '}');
  return open.join('') + JSON.stringify(leaf) + close.join('');
}

/**
 * "Deep at every field": one JSON body per position of `base` (every
 * container and leaf) with the value there replaced by a value nested `depth`
 * levels (alternating arrays and objects). kube-apiserver's decoder accepts
 * up to 10,000 levels, so `depth` plus the field's own depth should stay under
 * that to reach the code behind the parser.
 */
export function* deepAtEveryField(base: unknown, depth: number): Generator<{ path: string; text: string }> {
  const deep = nestedJson(depth);
  for (const path of fieldPaths(base))
    yield {
      path: path.join('.'),
      text: JSON.stringify(replaceAt(base, path, DEEP_MARK)).replace(JSON.stringify(DEEP_MARK), deep),
    };
}

/** The same as an arbitrary: a JSON body with a deep value at a random position of `base`. */
export const deepAtSomeField = (base: unknown, depth: fc.Arbitrary<number>) => {
  const paths = fieldPaths(base);
  return fc.tuple(fc.nat({ max: paths.length - 1 }), depth).map(([i, d]) => ({
    path: paths[i]!.join('.'),
    text: JSON.stringify(replaceAt(base, paths[i]!, DEEP_MARK)).replace(JSON.stringify(DEEP_MARK), nestedJson(d)),
  }));
};

/** A list of `n` items made by `item(i)`. */
const listOf = <T>(n: number, item: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => item(i));
const mapOf = (n: number, value: (i: number) => string): Record<string, string> =>
  Object.fromEntries(listOf(n, (i) => [`k${i}.example.com/x`, value(i)]));

export interface HugeCase {
  /** Which list is huge, for the test's diagnostics. */
  name: string;
  /** How many items it holds. */
  items: number;
  review: Record<string, unknown>;
}

/** The parts of the huge Sidecar that hugeValidShaped's cases replace (they may also edit the review request). */
type HugeObject = { spec: Record<string, unknown>; metadata: Record<string, unknown>; status: unknown };
type Edit = (o: HugeObject, r: Record<string, unknown>) => void;

/**
 * "Huge but valid-shaped": reviews in which one list holds hundreds of
 * thousands of items, each item well-formed for its field, every kind of
 * list the fuzz suite knows (strings, objects, map entries, numbers): egress
 * hosts, egress and ingress listeners, selector labels, labels, annotations,
 * managedFields, status conditions, userInfo groups. `scale` 1 keeps each body
 * under the 7 MiB limit; the CRD sets no maxItems, so kube-apiserver forwards
 * such objects. Valid items (distinct ports, FQDN-free short hosts
 * written as valid namespace/host pairs) so the decision has little to say,
 * and the cost measured is that of reading them.
 */
export function hugeValidShaped(scale = 1): HugeCase[] {
  const n = (k: number) => Math.max(1, Math.round(k * scale));
  const withObject = (edit: Edit): Record<string, unknown> => {
    const object = { ...sidecarObject({ egress: [{ hosts: ['./*'] }] }, 'bar', 'huge'), status: {} } as HugeObject;
    const review = {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: { ...(kitchenSinkReview().request as Record<string, unknown>), name: 'huge', object, oldObject: null },
    };
    edit(object, review.request);
    return review;
  };
  const cases: [string, number, Edit][] = [
    [
      'egress hosts',
      n(400_000),
      (o, _r) => {
        o.spec.egress = [{ hosts: listOf(n(400_000), (i) => `ns${i}/*`) }];
      },
    ],
    [
      'egress listeners',
      n(60_000),
      (o) => {
        o.spec.egress = listOf(n(60_000), (i) => ({ port: { number: 1 + i, protocol: 'TCP' }, hosts: ['./*'] }));
      },
    ],
    [
      'ingress listeners',
      n(60_000),
      (o) => {
        o.spec.ingress = listOf(n(60_000), (i) => ({
          port: { number: 1 + i, protocol: 'TCP' },
          defaultEndpoint: '0.0.0.0:1',
        }));
      },
    ],
    [
      'selector labels',
      n(200_000),
      (o) => {
        o.spec.workloadSelector = { labels: mapOf(n(200_000), (i) => `v${i}`) };
      },
    ],
    [
      'labels',
      n(200_000),
      (o) => {
        o.metadata.labels = mapOf(n(200_000), (i) => `v${i}`);
      },
    ],
    [
      'annotations',
      n(200_000),
      (o) => {
        o.metadata.annotations = mapOf(n(200_000), (i) => `v${i}`);
      },
    ],
    [
      'managedFields',
      n(100_000),
      (o) => {
        o.metadata.managedFields = listOf(n(100_000), (i) => ({ manager: `m${i}`, operation: 'Update' }));
      },
    ],
    [
      'status conditions',
      n(200_000),
      (o) => {
        o.status = { conditions: listOf(n(200_000), (i) => ({ type: `t${i}`, status: 'True' })) };
      },
    ],
    [
      'status numbers',
      n(800_000),
      (o) => {
        o.status = { observed: listOf(n(800_000), (i) => i) };
      },
    ],
    [
      'userInfo groups',
      n(400_000),
      (_o, r) => {
        r.userInfo = { username: 'u', groups: listOf(n(400_000), (i) => `g${i}`) };
      },
    ],
  ];
  return cases.map(([name, items, edit]) => ({ name, items, review: withObject(edit) }));
}

// fast-check generators for the differential tests against Istio's own code
// (test/conformance/) and for the fuzz suite: Sidecars biased to the edges of
// every row of Istio's rule table, and namespaces of Sidecars, Pods and a
// Namespace biased to the edges of Istio's Sidecar analyzers.
import fc from 'fast-check';

/** A value of `arb`, or the field left out (fc.record's optional keys do that). */
const pick = <T>(...values: T[]): fc.Arbitrary<T> => fc.constantFrom(...values);

/**
 * A record whose keys are each present with probability `present` (not
 * fast-check's default of 5 in 6, which would set nearly every field of a
 * TLS block at once).
 */
function some<T extends Record<string, fc.Arbitrary<unknown>>>(
  model: T,
  present = 0.4,
): fc.Arbitrary<Record<string, unknown>> {
  const absent = Math.round((1 - present) * 10);
  const keys = Object.keys(model);
  return fc
    .tuple(
      ...keys.map((k) =>
        fc.oneof({ weight: absent, arbitrary: fc.constant(undefined) }, { weight: 10 - absent, arbitrary: model[k]! }),
      ),
    )
    .map((values) => {
      const out: Record<string, unknown> = {};
      values.forEach((v, i) => {
        if (v !== undefined) out[keys[i]!] = v;
      });
      return out;
    });
}

/** Mostly an ordinary value; one time in `1 + odds`, one at the edge of a rule. */
function edge<T>(ordinary: readonly T[], edges: readonly T[], odds = 4): fc.Arbitrary<T> {
  return fc.oneof(
    { weight: odds, arbitrary: fc.constantFrom(...ordinary) },
    { weight: 1, arbitrary: fc.constantFrom(...edges) },
  );
}

// ---- scalars at the edges of the rules -----------------------------------

/**
 * Text that Go's %q, strings.ToLower and its JSON decoder treat specially:
 * control and format characters, non-ASCII spaces, combining marks, astral
 * characters, a lone surrogate (Go's decoder makes it U+FFFD), quotes.
 */
const ODD_TEXT = [
  '\u0000',
  '\u007f',
  '\t',
  '\n',
  '"',
  '\\',
  '\u00ad',
  '\u200b',
  '\u2028',
  '\ufeff',
  '\u00a0',
  '\u0085',
  'é',
  'e\u0301',
  '日本',
  '😀',
  '\ud800',
  '\udfff\ud800',
  'İ',
  'ǅ',
  'Ⅻ',
  '\u{e0001}',
  '\ufffd',
  'ß',
  'K',
];
const oddWith = (prefix: string, suffix: string) => ODD_TEXT.map((t) => `${prefix}${t}${suffix}`);

// Values of the right JSON type (the CRD's), at the edges of Istio's rules.
// Values of the wrong type, nulls and unknown enum names come from `corrupt`
// below, on a few objects only: one of them anywhere makes Istio's decoder
// refuse the whole object, so they would otherwise hide the rules.

const portNumber = fc.oneof(
  { weight: 8, arbitrary: pick(80, 443, 8080, 9080, 15000, 3306) },
  { weight: 2, arbitrary: pick(0, 1, 65535, 65536, 4294967295) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 70000 }) },
);

const protocol = edge(
  ['', 'HTTP', 'http', 'HTTPS', 'TLS', 'TCP', 'GRPC', 'HTTP2'],
  [
    'https',
    'tls',
    'tcp',
    'UDP',
    'grpc',
    'GRPC-Web',
    'grpc-web',
    'http2',
    'HTTP_PROXY',
    'Mongo',
    'MONGO',
    'redis',
    'MySQL',
    'HBONE',
    'DoubleHBONE',
    'doublehbone',
    'foo',
    'HTTP/2',
    ' http',
    'HTTPſ',
    'tcK',
    'HTTPS\u0130',
    ...oddWith('http', ''),
  ],
);

const portName = edge(
  ['', 'http', 'http-web', 'tcp', 'grpc-api'],
  [
    'HTTP',
    'Web-1',
    '-bad',
    'bad-',
    'a_b',
    'a.b',
    'x',
    'a'.repeat(63),
    'a'.repeat(64),
    '1abc',
    'tcp-🐱',
    'a b',
    ...oddWith('http-', ''),
  ],
);

/** `arb` with probability `p`, else undefined (a key left out by `compact`). */
const maybe = <T>(arb: fc.Arbitrary<T>, p: number): fc.Arbitrary<T | undefined> =>
  fc.oneof(
    { weight: Math.round(p * 100), arbitrary: arb },
    { weight: 100 - Math.round(p * 100), arbitrary: fc.constant(undefined) },
  );

/** A record with the undefined keys left out. */
const compact = (o: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

const port = fc
  .record({
    number: maybe(portNumber, 0.95),
    protocol: maybe(protocol, 0.7),
    name: maybe(portName, 0.6),
    targetPort: maybe(edge([0], [1, 8080, 4294967295], 1), 0.1),
  })
  .map(compact);

const bind = edge(
  ['', '0.0.0.0', '127.0.0.1'],
  [
    'unix:///var/run/a.sock',
    '::',
    '[::]',
    '1.2.3.4',
    '010.0.0.1',
    '256.1.1.1',
    'fe80::1%eth0',
    '::ffff:1.2.3.4',
    '1.2.3.4/24',
    'localhost',
    ' 1.2.3.4',
    '::1',
    '1::2::3',
    'unix:///b.sock',
    'unix://@abstract',
    'unix://',
    'unix://rel/a.sock',
    'unix:///dir/',
    'UNIX:///x.sock',
    'unix:////a.sock',
  ],
);

const defaultEndpoint = edge(
  ['', '127.0.0.1:8080', '0.0.0.0:8080', 'unix:///var/run/app.sock'],
  [
    '[::1]:80',
    '[::]:80',
    ':8080',
    '[127.0.0.1]:8080',
    'localhost:80',
    '127.0.0.1',
    '::1:8080',
    '127.0.0.1:hi',
    '127.0.0.1:99999999999999999999',
    '127.0.0.1:+80',
    '127.0.0.1:0080',
    '127.0.0.1:0',
    '127.0.0.1:65536',
    '127.0.0.1:-1',
    '127.0.0.1:',
    'unix://',
    'unix://rel',
    'unix:///dir/',
    'unix://@abs',
    'UNIX:///x',
    '1.2.3.4:80',
    '[fe80::1%eth0]:80',
    '[::1]',
    '127.0.0.1:80:80',
    '[::1:80',
    '::1]:80',
    '127.0.0.1:٣',
  ],
);

const captureMode = pick('DEFAULT', 'IPTABLES', 'NONE');

const duration = fc.oneof(
  { weight: 60, arbitrary: pick('1s', '10s', '300ms', '1m', '1h') },
  {
    weight: 20,
    arbitrary: pick(
      '1ms',
      '0s',
      '0',
      '0.5ms',
      '1.5ms',
      '1m30s',
      '-1s',
      '100us',
      '999us',
      '1.0005s',
      '2.000000005s',
      '0.0005s',
      '9223372036854775807ns',
      '.5s',
      '1.s',
      '5µs',
      '5μs',
      '+3s',
      '3.14159s',
      '0.001s',
      '1h2m3.004s',
      '-0s',
      '1ms1ns',
    ),
  },
  // Go's time.ParseDuration refuses these: Istio's decoder fails on the whole object.
  { weight: 1, arbitrary: pick('abc', '', '1', '1e3s', '1000000h', '1 s', '1S') },
);

const int32 = edge([0, 1, 100, 1024], [-1, -2147483648, 2147483647], 8);

const httpPool = some(
  {
    http1MaxPendingRequests: int32,
    http2MaxRequests: int32,
    maxRequestsPerConnection: int32,
    maxRetries: int32,
    idleTimeout: duration,
    h2UpgradePolicy: pick('DEFAULT', 'DO_NOT_UPGRADE', 'UPGRADE'),
    useClientProtocol: pick(true, false),
    maxConcurrentStreams: int32,
    http2KeepAlive: some({ interval: duration, timeout: duration }, 0.7),
  },
  0.25,
);

const tcpPool = some(
  {
    maxConnections: int32,
    connectTimeout: duration,
    maxConnectionDuration: duration,
    idleTimeout: duration,
    tcpKeepalive: some({ time: duration, interval: duration, probes: pick(0, 3, 4294967295) }, 0.6),
  },
  0.3,
);

const connectionPool = fc.oneof(
  { weight: 1, arbitrary: fc.constant({}) },
  { weight: 8, arbitrary: some({ http: httpPool, tcp: tcpPool }, 0.6) },
);

const cipherSuite = edge(
  ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES256-GCM-SHA384', 'AES128-SHA'],
  [
    'DES-CBC3-SHA',
    'ALL',
    '',
    '-X',
    '+X',
    '!RC4',
    'bogus',
    'ecdhe-rsa-aes128-sha',
    'É-CIPHER',
    '[ECDHE-RSA-AES128-SHA|AES128-SHA]',
    '٣X',
  ],
  2,
);

const tlsMode = pick('PASSTHROUGH', 'SIMPLE', 'MUTUAL', 'AUTO_PASSTHROUGH', 'ISTIO_MUTUAL', 'OPTIONAL_MUTUAL');
const pem = edge(['/etc/certs/cert.pem', '/etc/certs/key.pem'], ['']);

const serverTls = some(
  {
    mode: tlsMode,
    httpsRedirect: edge([false], [true]),
    serverCertificate: pem,
    privateKey: pem,
    caCertificates: pem,
    caCrl: pem,
    credentialName: pick('', 'my-secret'),
    credentialNames: fc.array(pick('a', 'b', ''), { minLength: 0, maxLength: 3 }),
    tlsCertificates: fc.array(some({ serverCertificate: pem, privateKey: pem, caCertificates: pem }, 0.7), {
      maxLength: 3,
    }),
    subjectAltNames: fc.array(pick('spiffe://x', ''), { maxLength: 2 }),
    minProtocolVersion: pick('TLS_AUTO', 'TLSV1_0', 'TLSV1_1', 'TLSV1_2', 'TLSV1_3'),
    maxProtocolVersion: pick('TLS_AUTO', 'TLSV1_3'),
    cipherSuites: fc.array(cipherSuite, { maxLength: 4 }),
  },
  0.25,
);

// ---- hosts ----------------------------------------------------------------

const hostNamespace = edge(
  ['*', '.', 'bar', 'ns1', 'istio-system'],
  [
    '~',
    'ns2',
    'NS1',
    '~ns1',
    '~.',
    '~*',
    '~~ns',
    '',
    '-ns',
    'ns_1',
    'a'.repeat(64),
    'ns.1',
    '🐱',
    ...oddWith('ns', ''),
  ],
  12,
);
const hostDns = edge(
  ['*', 'a.com', 'b.com', '*.a.com', 'reviews.bar.svc.cluster.local'],
  [
    '*.com',
    'short',
    '*foo.com',
    '*-foo.com',
    'a.*.com',
    '**.com',
    '1.2.3.4',
    '::1',
    'fe80::1%eth0',
    'a.b.123',
    'a.123',
    '123',
    'a..com',
    'a.com.',
    '-a.com',
    'a-.com',
    'a/b.com',
    '',
    'A.COM',
    'a_b.com',
    `${'a'.repeat(64)}.com`,
    `${'a.'.repeat(128)}com`,
    'é.com',
    '*.',
    '.',
    'a.b.c.d.e.f',
    ...oddWith('a', '.com'),
    ...oddWith('a.', ''),
  ],
  12,
);

const host = fc.oneof(
  { weight: 40, arbitrary: fc.tuple(hostNamespace, hostDns).map(([ns, dns]) => `${ns}/${dns}`) },
  { weight: 1, arbitrary: pick('*/*', './*', '~/*', 'a.com', '*', '', '/', '//', 'ns1/a/b', '*/*/*') },
);

const hosts = fc.oneof(
  { weight: 1, arbitrary: fc.constant([]) },
  { weight: 30, arbitrary: fc.array(host, { minLength: 1, maxLength: 3 }) },
);

// ---- listeners and the rest of the spec ------------------------------------

const ingressListener = fc
  .record({
    port: fc.oneof({ weight: 12, arbitrary: port }, { weight: 1, arbitrary: fc.constant(undefined) }),
    rest: some({ bind, defaultEndpoint, captureMode, tls: serverTls, connectionPool }, 0.3),
  })
  .map(({ port: p, rest }) => (p === undefined ? rest : { port: p, ...rest }));

const egressListener = fc
  .record({
    hosts: fc.oneof({ weight: 20, arbitrary: hosts }, { weight: 1, arbitrary: fc.constant(undefined) }),
    rest: fc
      .record({
        port: fc.oneof({ weight: 4, arbitrary: port }, { weight: 1, arbitrary: fc.constant(undefined) }),
        more: some({ bind, captureMode }, 0.3),
      })
      .map(({ port: p, more }) => (p === undefined ? more : { port: p, ...more })),
  })
  .map(({ hosts: h, rest }) => (h === undefined ? rest : { ...rest, hosts: h }));

const labelKey = edge(
  ['app', 'version', 'app.kubernetes.io/name'],
  ['', '*', 'a*', 'example.com/x', 'UPPER', 'k'.repeat(64), 'a b', '🐱', ...oddWith('k', '')],
  6,
);
const labelValue = edge(
  ['reviews', 'v1', 'ratings'],
  ['', '*', 'x*', 'v'.repeat(63), 'v'.repeat(64), 'a b', 'Ω', ...oddWith('*', ''), ...oddWith('v', '')],
  6,
);

const workloadSelector = fc.oneof(
  { weight: 1, arbitrary: fc.constant({}) },
  { weight: 1, arbitrary: fc.constant({ labels: {} }) },
  { weight: 1, arbitrary: fc.constant({ labels: null }) },
  {
    weight: 12,
    arbitrary: fc.dictionary(labelKey, labelValue, { minKeys: 1, maxKeys: 3 }).map((labels) => ({ labels })),
  },
);

const outboundTrafficPolicy = some(
  {
    mode: pick('REGISTRY_ONLY', 'ALLOW_ANY', 'ALLOW_ANY'),
    egressProxy: some(
      {
        host: edge(
          ['proxy.example.com', 'egress.istio-system.svc.cluster.local'],
          ['', 'proxy', '*', '*.proxy.com', 'a..b', '1.2.3.4', 'a.123', 'p'.repeat(256), 'Proxy.COM'],
          2,
        ),
        subset: pick('', 'v1', 'V1', 'bad_subset', '-x'),
        port: some({ number: portNumber }, 0.8),
      },
      0.7,
    ),
  },
  0.5,
);

const annotations = fc.dictionary(
  pick(
    'istio.io/dry-run',
    'internal.istio.io/webhook-always-reject',
    'internal.istio.io/parent-namespace',
    'internal.istio.io/parents',
    'note',
  ),
  pick('true', '', 'x'),
  { maxKeys: 2 },
);

/** A Sidecar spec biased to the edges of Istio's rules, every value of the JSON type the CRD gives it. */
export const boundarySpec: fc.Arbitrary<Record<string, unknown>> = fc
  .record({
    egress: fc.array(egressListener, { maxLength: 3 }),
    emptyEgress: fc.boolean(),
    rest: some(
      {
        workloadSelector,
        ingress: fc.array(ingressListener, { maxLength: 3 }),
        outboundTrafficPolicy,
        inboundConnectionPool: connectionPool,
      },
      0.35,
    ),
  })
  .map(({ egress, emptyEgress, rest }) => ({ ...rest, ...(egress.length > 0 || emptyEgress ? { egress } : {}) }));

// ---- what the CRD's types do not allow ---------------------------------------

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** One change to a spec: a value replaced (at the `at`-th node, in document order) or an unknown key added. */
interface Corruption {
  at: number;
  action: 'replace' | 'unknown-key';
  value: Json;
}

const corruption: fc.Arbitrary<Corruption> = fc.record({
  at: fc.nat(),
  action: pick<'replace' | 'unknown-key'>('replace', 'replace', 'replace', 'unknown-key'),
  value: pick<Json>(
    null,
    null,
    '80',
    80,
    1.5,
    80.0,
    true,
    [],
    {},
    ['x'],
    [null],
    'FOO',
    'iptables',
    'allow_any',
    'ALLOW_ANY_DYNAMIC_DNS',
    -1,
    2,
    3,
    4294967296,
    2147483648,
    -2147483649,
    '0x50',
    1e21,
    '',
  ),
});

function nodes(root: Json): { parent: Json[] | { [k: string]: Json }; key: number | string }[] {
  const out: { parent: Json[] | { [k: string]: Json }; key: number | string }[] = [];
  const stack: Json[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (Array.isArray(node)) {
      node.forEach((v, i) => {
        out.push({ parent: node, key: i });
        stack.push(v);
      });
    } else if (node !== null && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        out.push({ parent: node, key: k });
        stack.push(v);
      }
    }
  }
  return out;
}

/** Applies the corruptions to a copy of `spec`. */
function corrupt(spec: Json, changes: readonly Corruption[]): Json {
  const copy = structuredClone(spec);
  for (const c of changes) {
    const all = nodes(copy);
    if (all.length === 0) continue;
    const { parent, key } = all[c.at % all.length]!;
    // A copy: the constants are shared by every generated object.
    const value = structuredClone(c.value);
    if (c.action === 'replace') (parent as Record<string | number, Json>)[key] = value;
    else {
      const target = (parent as Record<string | number, Json>)[key];
      const into = target !== null && typeof target === 'object' && !Array.isArray(target) ? target : parent;
      if (!Array.isArray(into)) into.unknownField = value;
    }
  }
  return copy;
}

const OBJECT_NAMESPACES = ['bar', 'bar', 'ns1', 'istio-system', 'default'];

/**
 * A whole Sidecar object around a boundary spec. About one object in six
 * also gets a null, a value of the wrong JSON type, an unknown enum name or
 * an unknown field somewhere in its spec.
 */
export const boundarySidecar: fc.Arbitrary<Record<string, unknown>> = fc
  .record({
    apiVersion: pick('networking.istio.io/v1', 'networking.istio.io/v1beta1', 'networking.istio.io/v1alpha3'),
    namespace: pick(...OBJECT_NAMESPACES),
    annotations: fc.oneof({ weight: 12, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: annotations }),
    spec: fc.oneof({ weight: 60, arbitrary: boundarySpec }, { weight: 1, arbitrary: pick<unknown>(null, {}, 'x', []) }),
    corruptions: fc.oneof(
      { weight: 10, arbitrary: fc.constant([]) },
      { weight: 2, arbitrary: fc.array(corruption, { minLength: 1, maxLength: 2 }) },
    ),
    topLevelExtra: fc.oneof(
      { weight: 100, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: pick('extra', 'Spec') },
    ),
  })
  .map(({ apiVersion, namespace, annotations: notes, spec, corruptions, topLevelExtra }) => {
    const metadata: Record<string, unknown> = { name: 'fuzz', namespace };
    if (notes) metadata.annotations = notes;
    const object: Record<string, unknown> = {
      apiVersion,
      kind: 'Sidecar',
      metadata,
      spec: corrupt(spec as Json, corruptions),
    };
    if (topLevelExtra) object[topLevelExtra] = 1;
    return object;
  });

// ---- namespaces for the analyzer differential -------------------------------

export interface NamespaceScenario {
  /** The objects, in the order they are given to both tools. */
  objects: Record<string, unknown>[];
}

const selectorLabels = fc.dictionary(pick('app', 'version', 'tier'), pick('a', 'b', 'v1', ''), { maxKeys: 2 });
const scenarioSelector = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.constant({}) },
  { weight: 1, arbitrary: fc.constant({ labels: {} }) },
  { weight: 8, arbitrary: selectorLabels.map((labels) => ({ labels })) },
);

const scenarioSidecar = fc.record({
  selector: scenarioSelector,
  egressProxy: fc.boolean(),
});

const scenarioPod = fc.record({
  labels: fc.dictionary(pick('app', 'version', 'tier', 'other'), pick('a', 'b', 'v1', ''), { maxKeys: 3 }),
  ambient: pick(undefined, undefined, undefined, 'enabled', 'disabled'),
});

const namespaceLabels = fc.record(
  {
    'istio.io/dataplane-mode': pick('ambient', 'none', 'Ambient'),
    'istio-injection': pick('enabled', 'disabled'),
    'istio.io/rev': pick('canary', ''),
  },
  { requiredKeys: [] },
);

/**
 * One namespace: 0–4 Sidecars (selectors absent, null, `{}`, empty labels or
 * labels), 0–5 Pods with overlapping labels and ambient annotations, and a
 * Namespace object with ambient/injection labels (or none). `name` makes
 * every namespace of a batch distinct.
 */
export function namespaceScenario(name: string): fc.Arbitrary<NamespaceScenario> {
  return fc
    .record({
      namespace: fc.option(namespaceLabels, { freq: 4, nil: undefined }),
      sidecars: fc.array(scenarioSidecar, { maxLength: 4 }),
      pods: fc.array(scenarioPod, { maxLength: 5 }),
    })
    .map(({ namespace, sidecars, pods }) => {
      const objects: Record<string, unknown>[] = [];
      if (namespace) objects.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: namespace } });
      sidecars.forEach((s, i) => {
        const spec: Record<string, unknown> = { egress: [{ hosts: ['./*'] }] };
        if (s.selector !== undefined) spec.workloadSelector = s.selector;
        if (s.egressProxy)
          spec.outboundTrafficPolicy = {
            mode: 'ALLOW_ANY',
            egressProxy: { host: 'proxy.example.com', port: { number: 3128 } },
          };
        objects.push({
          apiVersion: 'networking.istio.io/v1',
          kind: 'Sidecar',
          metadata: { name: `sidecar-${i}`, namespace: name },
          spec,
        });
      });
      pods.forEach((p, i) => {
        const metadata: Record<string, unknown> = { name: `pod-${i}`, namespace: name, labels: p.labels };
        if (p.ambient) metadata.annotations = { 'ambient.istio.io/redirection': p.ambient };
        objects.push({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata,
          spec: { containers: [{ name: 'app', image: 'app' }] },
        });
      });
      return { objects };
    });
}

// An invalid and a fixed manifest for each rule, printed by `sidecar-guard
// explain`. They are real: test/sidecar/rule-examples.test.ts runs every
// invalid one through `check`'s decision and asserts its rule fires, and
// every fixed one and asserts it does not. A rule without an example says
// why (it is never reported, or only for objects too large to print).

export interface RuleExample {
  /** Manifests as `check` reads them; other objects (Namespaces, Deployments, Services) come first. */
  invalid: string;
  fixed: string;
}

const HEAD = 'apiVersion: networking.istio.io/v1\nkind: Sidecar\n';

/** A Sidecar document: `spec` is its block-YAML body, indented two spaces. */
function sidecar(spec: string, opts: { name?: string; namespace?: string; metadata?: string } = {}): string {
  const meta = `metadata: {name: ${opts.name ?? 'example'}, namespace: ${opts.namespace ?? 'shop'}${opts.metadata ? `, ${opts.metadata}` : ''}}`;
  return `${HEAD}${meta}\nspec:\n${spec}`;
}

const EGRESS = '  egress:\n  - hosts: ["./*"]\n';
const pair = (invalid: string, fixed: string): RuleExample => ({ invalid, fixed });
/** Two Sidecars differing only in the spec body. */
const specs = (invalid: string, fixed: string, opts?: Parameters<typeof sidecar>[1]): RuleExample =>
  pair(sidecar(invalid, opts), sidecar(fixed, opts));
const metas = (invalid: string, fixed: string): RuleExample =>
  pair(sidecar(EGRESS, { metadata: invalid }), sidecar(EGRESS, fixed ? { metadata: fixed } : {}));
/** An ingress listener on an HTTPS port with the given TLS settings. */
const ingressTls = (tls: string, protocol = 'HTTPS') =>
  `  ingress:\n  - port: {number: 8443, protocol: ${protocol}, name: https}\n    defaultEndpoint: 127.0.0.1:8080\n    tls: {${tls}}\n`;
const SIMPLE_FILES = 'mode: SIMPLE, serverCertificate: /etc/certs/tls.crt, privateKey: /etc/certs/tls.key';
const egressPort = (port: string, more = '') => `  egress:\n  - port: {${port}}\n${more}    hosts: ["./*"]\n`;
const ingressPort = (port: string, endpoint = '127.0.0.1:8080') =>
  `  ingress:\n  - port: {${port}}\n    defaultEndpoint: ${endpoint}\n`;
const pool = (body: string) => `  inboundConnectionPool:\n${body}`;
const proxy = (egressProxy: string, mode = 'ALLOW_ANY') =>
  `  outboundTrafficPolicy:\n    mode: ${mode}\n    egressProxy: {${egressProxy}}\n`;
const hosts = (...h: string[]) => `  egress:\n  - hosts: [${h.map((x) => JSON.stringify(x)).join(', ')}]\n`;
const doc = (...parts: string[]) => parts.join('---\n');
const NAMESPACE_SHOP = 'apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n';
const SERVICE_REVIEWS =
  'apiVersion: v1\nkind: Service\nmetadata: {name: reviews, namespace: shop}\nspec:\n  ports: [{name: http, port: 9080}]\n';
const deployment = (labels: string) =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: reviews, namespace: shop}\nspec:\n  selector: {matchLabels: {${labels}}}\n  template:\n    metadata: {labels: {${labels}}}\n    spec: {containers: [{name: app, image: reviews:1}]}\n`;

/** istiod of revision 1-28 as Istio's chart installs it (the Deployment's pod template labels). */
const ISTIOD_1_28 =
  'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: istiod-1-28, namespace: istio-system}\nspec:\n  selector: {matchLabels: {app: istiod, istio.io/rev: 1-28}}\n  template:\n    metadata: {labels: {app: istiod, istio.io/rev: 1-28}}\n    spec: {containers: [{name: discovery, image: pilot:1.28}]}\n';

/** istiod of revision 1-27 beside 1-28, and a pod of app reviews that revision 1-27 injected (its istio.io/rev annotation). */
const ISTIOD_1_27 = ISTIOD_1_28.replaceAll('1-28', '1-27').replace('pilot:1.28', 'pilot:1.27');
const POD_OF_1_27 =
  'apiVersion: v1\nkind: Pod\nmetadata:\n  name: reviews-7d4b9\n  namespace: shop\n  labels: {app: reviews}\n  annotations: {istio.io/rev: 1-27}\nspec: {containers: [{name: app, image: reviews:1}, {name: istio-proxy, image: proxyv2:1.27}]}\n';

export const RULE_EXAMPLES: Readonly<Record<string, RuleExample>> = {
  J1: specs(pool('    tcp: {connectTimeout: ten seconds}\n'), pool('    tcp: {connectTimeout: 10s}\n')),
  M1: metas('annotations: {istio.io/dry-run: "true"}', ''),
  M2: metas('annotations: {internal.istio.io/webhook-always-reject: "true"}', ''),
  M3: metas('annotations: {internal.istio.io/parent-namespace: other}', ''),
  M4: metas('annotations: {internal.istio.io/parents: other}', ''),
  S1: specs(
    `  workloadSelector:\n    labels: {"": reviews}\n${EGRESS}`,
    `  workloadSelector:\n    labels: {app: reviews}\n${EGRESS}`,
  ),
  S2: specs(
    `  workloadSelector:\n    labels: {app: "*"}\n${EGRESS}`,
    `  workloadSelector:\n    labels: {app: reviews}\n${EGRESS}`,
  ),
  S3: specs(
    `  workloadSelector:\n    labels: {}\n${EGRESS}`,
    `  workloadSelector:\n    labels: {app: reviews}\n${EGRESS}`,
  ),
  G1: specs('  {}\n', EGRESS),
  I2: specs(
    '  ingress:\n  - defaultEndpoint: 127.0.0.1:8080\n',
    ingressPort('number: 9080, protocol: HTTP, name: http'),
  ),
  I3: specs(
    ingressPort('number: 9080, protocol: HTTP, name: http, targetPort: 8080'),
    ingressPort('number: 9080, protocol: HTTP, name: http'),
  ),
  I4: specs(
    ingressPort('number: 9080, protocol: HTTP, name: Http_Port'),
    ingressPort('number: 9080, protocol: HTTP, name: http-port'),
  ),
  I5: specs(
    ingressPort('number: 9080, protocol: HTTP3, name: http'),
    ingressPort('number: 9080, protocol: HTTP, name: http'),
  ),
  I6: specs(
    ingressPort('number: 70000, protocol: HTTP, name: http'),
    ingressPort('number: 9080, protocol: HTTP, name: http'),
  ),
  I7: specs(
    `${ingressPort('number: 9080, protocol: HTTP, name: http')}    bind: unix:///var/run/app.sock\n`,
    `${ingressPort('number: 9080, protocol: HTTP, name: http')}    bind: 0.0.0.0\n`,
  ),
  I8: specs(
    `${ingressPort('number: 9080, protocol: HTTP, name: http')}  - port: {number: 9080, protocol: HTTP, name: http-2}\n    defaultEndpoint: 127.0.0.1:8081\n`,
    `${ingressPort('number: 9080, protocol: HTTP, name: http')}  - port: {number: 9081, protocol: HTTP, name: http-2}\n    defaultEndpoint: 127.0.0.1:8081\n`,
  ),
  I9: specs(
    ingressPort('number: 9080, protocol: HTTP, name: http', 'unix://var/run/app.sock'),
    ingressPort('number: 9080, protocol: HTTP, name: http', 'unix:///var/run/app.sock'),
  ),
  I10: specs(
    ingressPort('number: 9080, protocol: HTTP, name: http', 'localhost'),
    ingressPort('number: 9080, protocol: HTTP, name: http', '127.0.0.1:8080'),
  ),
  I11: specs(
    ingressPort('number: 9080, protocol: HTTP, name: http', '10.0.0.1:8080'),
    ingressPort('number: 9080, protocol: HTTP, name: http', '127.0.0.1:8080'),
  ),
  I12: specs(
    ingressPort('number: 9080, protocol: HTTP, name: http', '127.0.0.1:http'),
    ingressPort('number: 9080, protocol: HTTP, name: http', '127.0.0.1:8080'),
  ),
  I13: specs(
    ingressPort('number: 9080, protocol: HTTP, name: http', '127.0.0.1:70000'),
    ingressPort('number: 9080, protocol: HTTP, name: http', '127.0.0.1:8080'),
  ),
  I14: specs(ingressTls(`${SIMPLE_FILES}, subjectAltNames: [app.example.com]`), ingressTls(SIMPLE_FILES)),
  I15: specs(ingressTls(`${SIMPLE_FILES}, httpsRedirect: true`), ingressTls(SIMPLE_FILES)),
  I16: specs(ingressTls('mode: SIMPLE, credentialName: app-cert'), ingressTls(SIMPLE_FILES)),
  I17: specs(ingressTls('mode: SIMPLE, credentialNames: [app-cert]'), ingressTls(SIMPLE_FILES)),
  I18: specs(
    ingressTls(
      'mode: SIMPLE, tlsCertificates: [{serverCertificate: /etc/certs/tls.crt, privateKey: /etc/certs/tls.key}]',
    ),
    ingressTls(SIMPLE_FILES),
  ),
  I19: specs(ingressTls('mode: ISTIO_MUTUAL'), ingressTls(SIMPLE_FILES)),
  I20: specs(ingressTls(SIMPLE_FILES, 'HTTP'), ingressTls(SIMPLE_FILES)),
  I23: specs(
    `${ingressPort('number: 9080, protocol: TCP, name: tcp')}    connectionPool: {http: {http2MaxRequests: 100}}\n`,
    `${ingressPort('number: 9080, protocol: HTTP, name: http')}    connectionPool: {http: {http2MaxRequests: 100}}\n`,
  ),
  E2: specs(
    '  egress:\n  - hosts: ["./*"]\n  - port: {number: 9080, protocol: HTTP, name: http}\n    hosts: ["./*"]\n',
    '  egress:\n  - port: {number: 9080, protocol: HTTP, name: http}\n    hosts: ["./*"]\n  - hosts: ["./*"]\n',
  ),
  E4: specs(
    egressPort('number: 9080, protocol: HTTP, name: http, targetPort: 8080'),
    egressPort('number: 9080, protocol: HTTP, name: http'),
  ),
  E5: specs(
    egressPort('number: 9080, protocol: HTTP, name: Http_Port'),
    egressPort('number: 9080, protocol: HTTP, name: http-port'),
  ),
  E6: specs(
    egressPort('number: 0, protocol: HTTP3, name: sock', '    bind: unix:///var/run/app.sock\n'),
    egressPort('number: 0, protocol: HTTP, name: sock', '    bind: unix:///var/run/app.sock\n'),
  ),
  E7: specs(
    egressPort('number: 0, protocol: HTTP, name: http'),
    egressPort('number: 0, protocol: HTTP, name: http', '    bind: unix:///var/run/app.sock\n'),
  ),
  E8: specs(
    egressPort('number: 0, protocol: HTTP, name: sock', '    bind: unix://var/run/app.sock\n'),
    egressPort('number: 0, protocol: HTTP, name: sock', '    bind: unix:///var/run/app.sock\n'),
  ),
  E9: specs(
    egressPort(
      'number: 0, protocol: HTTP, name: sock',
      '    bind: unix:///var/run/app.sock\n    captureMode: IPTABLES\n',
    ),
    egressPort('number: 0, protocol: HTTP, name: sock', '    bind: unix:///var/run/app.sock\n    captureMode: NONE\n'),
  ),
  E10: specs(
    `${egressPort('number: 0, protocol: HTTP, name: a', '    bind: unix:///var/run/app.sock\n')}  - port: {number: 0, protocol: HTTP, name: b}\n    bind: unix:///var/run/app.sock\n    hosts: ["./*"]\n`,
    `${egressPort('number: 0, protocol: HTTP, name: a', '    bind: unix:///var/run/app.sock\n')}  - port: {number: 0, protocol: HTTP, name: b}\n    bind: unix:///var/run/other.sock\n    hosts: ["./*"]\n`,
  ),
  E11: specs(
    egressPort('number: 9080, protocol: HTTP3, name: http'),
    egressPort('number: 9080, protocol: HTTP, name: http'),
  ),
  E12: specs(
    egressPort('number: 70000, protocol: HTTP, name: http'),
    egressPort('number: 9080, protocol: HTTP, name: http'),
  ),
  E13: specs(
    egressPort('number: 9080, protocol: HTTP, name: http', '    bind: localhost\n'),
    egressPort('number: 9080, protocol: HTTP, name: http', '    bind: 127.0.0.1\n'),
  ),
  E14: specs(
    `${egressPort('number: 9080, protocol: HTTP, name: a')}  - port: {number: 9080, protocol: HTTP, name: b}\n    hosts: ["istio-system/*"]\n`,
    `${egressPort('number: 9080, protocol: HTTP, name: a')}  - port: {number: 9081, protocol: HTTP, name: b}\n    hosts: ["istio-system/*"]\n`,
  ),
  E15: specs(
    '  egress:\n  - port: {number: 9080, protocol: HTTP, name: http}\n    hosts: []\n',
    egressPort('number: 9080, protocol: HTTP, name: http'),
  ),
  H1: specs(hosts('reviews.shop.svc.cluster.local'), hosts('./reviews.shop.svc.cluster.local')),
  H2: specs(hosts('/reviews.shop.svc.cluster.local'), hosts('./reviews.shop.svc.cluster.local')),
  H3: specs(hosts('Shop_NS/*'), hosts('shop/*')),
  H4: specs(hosts('./reviews'), hosts('./reviews.shop.svc.cluster.local')),
  H5: specs(hosts('./reviews..svc.cluster.local'), hosts('./reviews.shop.svc.cluster.local')),
  H6: specs(hosts('./rev*.shop.svc.cluster.local'), hosts('./*.shop.svc.cluster.local')),
  W1: specs(
    hosts('./reviews.shop.svc.cluster.local', './reviews.shop.svc.cluster.local'),
    hosts('./reviews.shop.svc.cluster.local'),
  ),
  W2: specs(hosts('shop/reviews.shop.svc.cluster.local', 'shop/*'), hosts('shop/*')),
  W3: specs(hosts('*/*', 'istio-system/*'), hosts('*/*')),
  O1: specs('  outboundTrafficPolicy: {mode: ALLOW_ANY_DYNAMIC_DNS}\n', '  outboundTrafficPolicy: {mode: ALLOW_ANY}\n'),
  O2: specs(
    proxy('host: proxy.example.com, port: {number: 3128}', 'REGISTRY_ONLY'),
    proxy('host: proxy.example.com, port: {number: 3128}'),
  ),
  O3: specs(
    proxy('host: "*.example.com", port: {number: 3128}'),
    proxy('host: proxy.example.com, port: {number: 3128}'),
  ),
  O4: specs(proxy('host: proxy.example.com'), proxy('host: proxy.example.com, port: {number: 3128}')),
  O5a: specs(proxy('host: "*", port: {number: 3128}'), proxy('host: proxy.example.com, port: {number: 3128}')),
  O5b: specs(
    proxy('host: "proxy..example.com", port: {number: 3128}'),
    proxy('host: proxy.example.com, port: {number: 3128}'),
  ),
  O5c: specs(
    proxy('host: proxy.example.com, subset: Bad_Subset, port: {number: 3128}'),
    proxy('host: proxy.example.com, subset: v1, port: {number: 3128}'),
  ),
  O5d: specs(
    proxy('host: proxy.example.com, port: {number: 70000}'),
    proxy('host: proxy.example.com, port: {number: 3128}'),
  ),
  T1: specs(
    ingressTls(`${SIMPLE_FILES}, minProtocolVersion: TLSV1_0`),
    ingressTls(`${SIMPLE_FILES}, minProtocolVersion: TLSV1_2`),
  ),
  T2: specs(
    ingressTls(`${SIMPLE_FILES}, cipherSuites: [ECDHE-RSA-AES128-GCM-SHA256, NO-SUCH-CIPHER]`),
    ingressTls(`${SIMPLE_FILES}, cipherSuites: [ECDHE-RSA-AES128-GCM-SHA256]`),
  ),
  T3: specs(
    ingressTls(`${SIMPLE_FILES}, cipherSuites: [ECDHE-RSA-AES128-GCM-SHA256, ECDHE-RSA-AES128-GCM-SHA256]`),
    ingressTls(`${SIMPLE_FILES}, cipherSuites: [ECDHE-RSA-AES128-GCM-SHA256]`),
  ),
  T4: specs(ingressTls('mode: ISTIO_MUTUAL, serverCertificate: /etc/certs/tls.crt'), ingressTls(SIMPLE_FILES)),
  T5: specs(
    ingressTls('mode: PASSTHROUGH, serverCertificate: /etc/certs/tls.crt, privateKey: /etc/certs/tls.key'),
    ingressTls('mode: PASSTHROUGH'),
  ),
  T6: specs(ingressTls(`${SIMPLE_FILES}, credentialName: app-cert`), ingressTls(SIMPLE_FILES)),
  T8: specs(
    ingressTls('mode: MUTUAL, serverCertificate: /etc/certs/tls.crt, privateKey: /etc/certs/tls.key'),
    ingressTls(
      'mode: MUTUAL, serverCertificate: /etc/certs/tls.crt, privateKey: /etc/certs/tls.key, caCertificates: /etc/certs/ca.crt',
    ),
  ),
  T9: specs(
    ingressTls(
      'mode: SIMPLE, tlsCertificates: [{serverCertificate: /a.crt, privateKey: /a.key}, {serverCertificate: /b.crt, privateKey: /b.key}, {serverCertificate: /c.crt, privateKey: /c.key}]',
    ),
    ingressTls(SIMPLE_FILES),
  ),
  T10: specs(ingressTls('mode: SIMPLE, serverCertificate: /etc/certs/tls.crt'), ingressTls(SIMPLE_FILES)),
  // With SIMPLE or MUTUAL a credentialName ends the TLS checks (T7); a passthrough mode reaches T11.
  T11: specs(
    ingressTls('mode: PASSTHROUGH, credentialName: app-cert, caCrl: /etc/certs/crl.pem'),
    ingressTls('mode: PASSTHROUGH'),
  ),
  T12: specs(ingressTls(`${SIMPLE_FILES}, caCrl: /etc/certs/crl.pem`), ingressTls(SIMPLE_FILES)),
  C1: specs(
    `${ingressPort('number: 9080, protocol: HTTP, name: http')}    connectionPool: {}\n`,
    `${ingressPort('number: 9080, protocol: HTTP, name: http')}    connectionPool: {tcp: {maxConnections: 100}}\n`,
  ),
  C2: specs(pool('    http: {http1MaxPendingRequests: -1}\n'), pool('    http: {http1MaxPendingRequests: 1024}\n')),
  C3: specs(pool('    http: {http2MaxRequests: -1}\n'), pool('    http: {http2MaxRequests: 1024}\n')),
  C4: specs(pool('    http: {maxRequestsPerConnection: -1}\n'), pool('    http: {maxRequestsPerConnection: 100}\n')),
  C5: specs(pool('    http: {maxRetries: -1}\n'), pool('    http: {maxRetries: 3}\n')),
  C6: specs(pool('    http: {idleTimeout: 500us}\n'), pool('    http: {idleTimeout: 30s}\n')),
  C7: specs(
    pool('    http: {useClientProtocol: true, h2UpgradePolicy: UPGRADE}\n'),
    pool('    http: {useClientProtocol: true, h2UpgradePolicy: DEFAULT}\n'),
  ),
  C8: specs(pool('    http: {maxConcurrentStreams: -1}\n'), pool('    http: {maxConcurrentStreams: 100}\n')),
  C9: specs(
    pool('    tcp: {maxConnections: 10}\n    http: {http2KeepAlive: {interval: 500us, timeout: 10s}}\n'),
    pool('    tcp: {maxConnections: 10}\n    http: {http2KeepAlive: {interval: 30s, timeout: 10s}}\n'),
  ),
  C10: specs(pool('    tcp: {maxConnections: -1}\n'), pool('    tcp: {maxConnections: 100}\n')),
  C11: specs(pool('    tcp: {connectTimeout: 500us}\n'), pool('    tcp: {connectTimeout: 10s}\n')),
  C12: specs(pool('    tcp: {maxConnectionDuration: 500us}\n'), pool('    tcp: {maxConnectionDuration: 1h}\n')),
  // Under 1ms counts as 0 (disabled) and passes; 1.5ms is not whole milliseconds.
  C13: specs(pool('    tcp: {idleTimeout: 1500us}\n'), pool('    tcp: {idleTimeout: 1h}\n')),
  C14: specs(pool('    tcp: {tcpKeepalive: {time: 500us}}\n'), pool('    tcp: {tcpKeepalive: {time: 2h}}\n')),
  'schema.type': specs('  egress:\n    hosts: ["./*"]\n', EGRESS),
  // The CRD's CEL rules (durations of at least 1ms) are all checked by Istio too, whose message a field keeps;
  // what shows schema.cel is its other finding: the rules could not run on an object of the wrong shape.
  'schema.cel': specs('  egress:\n    hosts: ["./*"]\n', EGRESS),
  'schema.enum': specs(
    '  egress:\n  - hosts: ["./*"]\n    captureMode: IPTABLE\n',
    '  egress:\n  - hosts: ["./*"]\n    captureMode: IPTABLES\n',
  ),
  'schema.range': specs(
    egressPort('number: -1, protocol: HTTP, name: http'),
    egressPort('number: 9080, protocol: HTTP, name: http'),
  ),
  'schema.unknown-field': specs('  egres:\n  - hosts: ["./*"]\n', EGRESS),
  'meta.name': pair(sidecar(EGRESS, { name: 'Reviews_Sidecar' }), sidecar(EGRESS, { name: 'reviews-sidecar' })),
  'meta.namespace': pair(sidecar(EGRESS, { namespace: 'Shop_NS' }), sidecar(EGRESS, { namespace: 'shop' })),
  'meta.labels': metas('labels: {"team name": payments}', 'labels: {team: payments}'),
  'meta.annotations': metas(
    'annotations: {"example.com/not a key": "x"}',
    'annotations: {example.com/owner: payments}',
  ),
  'object.kind': pair(
    `apiVersion: networking.istio.io/v1alpha2\nkind: Sidecar\nmetadata: {name: example, namespace: shop}\nspec:\n${EGRESS}`,
    sidecar(EGRESS),
  ),
  'conflict.default': pair(
    doc(sidecar(EGRESS, { name: 'default' }), sidecar(hosts('*/*'), { name: 'legacy' })),
    doc(
      sidecar(EGRESS, { name: 'default' }),
      sidecar(`  workloadSelector:\n    labels: {app: legacy}\n${hosts('*/*')}`, { name: 'legacy' }),
    ),
  ),
  'conflict.overlap': pair(
    doc(
      sidecar(`  workloadSelector:\n    labels: {app: reviews}\n${EGRESS}`, { name: 'reviews' }),
      sidecar(`  workloadSelector:\n    labels: {app: reviews}\n${hosts('*/*')}`, { name: 'reviews-wide' }),
    ),
    doc(
      sidecar(`  workloadSelector:\n    labels: {app: reviews}\n${EGRESS}`, { name: 'reviews' }),
      sidecar(`  workloadSelector:\n    labels: {app: ratings}\n${hosts('*/*')}`, { name: 'ratings' }),
    ),
  ),
  'root.selector': specs(`  workloadSelector:\n    labels: {app: gateway}\n${EGRESS}`, EGRESS, {
    namespace: 'istio-system',
  }),
  'selector.no-match': pair(
    doc(deployment('app: reviews'), sidecar(`  workloadSelector:\n    labels: {app: review}\n${EGRESS}`)),
    doc(deployment('app: reviews'), sidecar(`  workloadSelector:\n    labels: {app: reviews}\n${EGRESS}`)),
  ),
  'selector.no-proxy': pair(
    doc(
      deployment('app: reviews, sidecar.istio.io/inject: "false"'),
      sidecar(`  workloadSelector:\n    labels: {app: reviews}\n${EGRESS}`),
    ),
    doc(deployment('app: reviews'), sidecar(`  workloadSelector:\n    labels: {app: reviews}\n${EGRESS}`)),
  ),
  'revision.no-istiod': pair(
    doc(ISTIOD_1_28, sidecar(EGRESS, { metadata: 'labels: {istio.io/rev: prod-stable}' })),
    doc(ISTIOD_1_28, sidecar(EGRESS, { metadata: 'labels: {istio.io/rev: 1-28}' })),
  ),
  'revision.pod-mismatch': pair(
    doc(
      ISTIOD_1_27,
      ISTIOD_1_28,
      POD_OF_1_27,
      sidecar(`  workloadSelector:\n    labels: {app: reviews}\n${EGRESS}`, {
        metadata: 'labels: {istio.io/rev: 1-28}',
      }),
    ),
    doc(
      ISTIOD_1_27,
      ISTIOD_1_28,
      POD_OF_1_27,
      sidecar(`  workloadSelector:\n    labels: {app: reviews}\n${EGRESS}`, {
        metadata: 'labels: {istio.io/rev: 1-27}',
      }),
    ),
  ),
  'ambient.ineffective': pair(
    doc(
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {istio.io/dataplane-mode: ambient}}\n',
      sidecar(EGRESS),
    ),
    doc(
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {istio-injection: enabled}}\n',
      sidecar(EGRESS),
    ),
  ),
  'host.unknown': pair(
    doc(NAMESPACE_SHOP, sidecar(hosts('./*', 'istio-system/*'))),
    doc(
      NAMESPACE_SHOP,
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: istio-system}\n',
      sidecar(hosts('./*', 'istio-system/*')),
    ),
  ),
  'host.port': pair(
    doc(
      SERVICE_REVIEWS,
      sidecar(
        `  egress:\n  - port: {number: 8080, protocol: HTTP, name: http}\n    hosts: ["shop/reviews.shop.svc.cluster.local"]\n`,
      ),
    ),
    doc(
      SERVICE_REVIEWS,
      sidecar(
        `  egress:\n  - port: {number: 9080, protocol: HTTP, name: http}\n    hosts: ["shop/reviews.shop.svc.cluster.local"]\n`,
      ),
    ),
  ),
  'egress.bypass': pair(
    doc(
      sidecar(EGRESS, { name: 'default' }),
      sidecar(
        `  workloadSelector:\n    labels: {app: reviews}\n${ingressPort('number: 9080, protocol: HTTP, name: http')}`,
        { name: 'reviews' },
      ),
    ),
    doc(
      sidecar(EGRESS, { name: 'default' }),
      sidecar(
        `  workloadSelector:\n    labels: {app: reviews}\n${ingressPort('number: 9080, protocol: HTTP, name: http')}${EGRESS}`,
        { name: 'reviews' },
      ),
    ),
  ),
  'outbound.bypass': pair(
    doc(
      sidecar(`${EGRESS}  outboundTrafficPolicy: {mode: REGISTRY_ONLY}\n`, { name: 'default' }),
      sidecar(`  workloadSelector:\n    labels: {app: reviews}\n${EGRESS}`, { name: 'reviews' }),
    ),
    doc(
      sidecar(`${EGRESS}  outboundTrafficPolicy: {mode: REGISTRY_ONLY}\n`, { name: 'default' }),
      sidecar(
        `  workloadSelector:\n    labels: {app: reviews}\n${EGRESS}  outboundTrafficPolicy: {mode: REGISTRY_ONLY}\n`,
        {
          name: 'reviews',
        },
      ),
    ),
  ),
  'host.excluded': specs(
    hosts('shop/reviews.shop.svc.cluster.local', 'istio-system/*', '~./*'),
    hosts('shop/reviews.shop.svc.cluster.local', 'istio-system/*', '~./ratings.shop.svc.cluster.local'),
  ),
  'selector.empty': specs(
    `  workloadSelector: {}\n${EGRESS}`,
    `  workloadSelector:\n    labels: {app: reviews}\n${EGRESS}`,
  ),
  'selector.shadowed': pair(
    doc(
      sidecar(`  workloadSelector: {}\n${EGRESS}`, { name: 'catch-all' }),
      sidecar(`  workloadSelector:\n    labels: {app: reviews}\n${EGRESS}`, { name: 'reviews' }),
    ),
    doc(
      sidecar(EGRESS, { name: 'default' }),
      sidecar(`  workloadSelector:\n    labels: {app: reviews}\n${EGRESS}`, { name: 'reviews' }),
    ),
  ),
  'outbound.mode-empty': specs(
    `${EGRESS}  outboundTrafficPolicy: {}\n`,
    `${EGRESS}  outboundTrafficPolicy: {mode: REGISTRY_ONLY}\n`,
  ),
  'istio.unknown-field': pair(`${sidecar(EGRESS)}spc:\n  egress: []\n`, sidecar(EGRESS)),
  'yaml.parse': pair(
    `${HEAD}metadata: {name: example, namespace: shop}\nspec:\n  egress:\n  - hosts: ["./*"\n`,
    sidecar(EGRESS),
  ),
};

/** Why a rule has no example: it is never reported, or only for what cannot be shown on a screen. */
export function noExampleReason(id: string, note: string | undefined): string | undefined {
  if (RULE_EXAMPLES[id]) return undefined;
  if (note) return 'none (see the note above)';
  switch (id) {
    case 'object.size':
      return 'none printed: it takes an object of more than 1.5 MiB or 50,000 values';
    case 'schema.partial':
      return 'none printed: it takes a spec of more than 20,000 values';
    case 'findings.more':
      return 'none printed: it takes more than 100 findings of one severity on one object';
    case 'schema.required':
      return "none: every field the Sidecar CRD requires (egress hosts, ingress port, egressProxy host) is checked by Istio too (E15, I2, O3), and a field keeps one explanation: Istio's";
    case 'schema.length':
      return "none: the Sidecar CRD sets no length limit that Istio's rules would not report first";
    case 'deprecated.egress-proxy':
      return 'none: reported by `audit` only (IST0002); see O2–O5d for what admission checks on egressProxy';
    default:
      return undefined;
  }
}

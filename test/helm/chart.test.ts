// charts/sidecar-guard rendered and linted by the real helm (test/helm/helm.ts):
// the default render holds the objects of `kubectl kustomize manifests`
// (so everything test/manifests/ proves of those holds for the chart too), each
// value changes what it should and nothing else, the flags it renders are the
// ones `sidecar-guard serve` accepts, and bad values fail with a message that
// names them. test/e2e/70-helm.test.ts applies the renders to kube-apiserver.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { serveConfigOf } from '../../src/cli.js';
import { LOG_LEVELS } from '../../src/config.js';
import { renderBase, renderWithComponents, renderWithNamespaceDefaults, type K8sObject } from '../manifests/render.js';
import { byKey, CHART, EVERYTHING, HELM_LABELS, helm, lint, render, template, withoutHelmLabels } from './helm.js';

// biome-ignore lint/suspicious/noExplicitAny: the tests walk rendered manifests field by field; each value is asserted where it is read
type Rec = Record<string, any>;
const find = (objects: K8sObject[], kind: string, name = 'sidecar-guard'): Rec => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `${kind} ${name} in the render (${objects.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')})`);
  return o as Rec;
};
const container = (objects: K8sObject[], name = 'sidecar-guard') =>
  find(objects, 'Deployment', name).spec.template.spec.containers[0];
const args = (objects: K8sObject[], name = 'sidecar-guard'): string[] => container(objects, name).args;
const kinds = (objects: K8sObject[]) => objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();

/**
 * The NetworkPolicy selects exactly the Deployment's pods, lets anyone reach the admission port (the API server's
 * address cannot be named) and the metrics port only from `metricsFrom` (no rule for it when empty), each by a
 * port name the container has.
 */
function assertNetworkPolicy(objects: K8sObject[], metricsFrom: unknown[]): void {
  const policy = find(objects, 'NetworkPolicy').spec;
  assert.deepEqual(policy.podSelector.matchLabels, find(objects, 'Deployment').spec.selector.matchLabels);
  assert.deepEqual(policy.policyTypes, ['Ingress']);
  const rules = [{ ports: [{ port: 'https', protocol: 'TCP' }] }];
  if (metricsFrom.length > 0) rules.push({ ports: [{ port: 'metrics', protocol: 'TCP' }], from: metricsFrom } as never);
  assert.deepEqual(policy.ingress, rules);
  const named = container(objects).ports.map((p: Rec) => p.name);
  for (const rule of policy.ingress)
    assert.ok(named.includes(rule.ports[0].port), `${rule.ports[0].port} is a container port`);
}

/** The same objects, field for field, after the one documented normalisation (Helm's standard labels). */
function assertSameObjects(helmObjects: K8sObject[], kustomizeObjects: K8sObject[]): void {
  const fromHelm = byKey(withoutHelmLabels(helmObjects));
  const fromKustomize = byKey(kustomizeObjects);
  assert.deepEqual([...fromHelm.keys()].sort(), [...fromKustomize.keys()].sort());
  for (const [key, object] of fromKustomize) assert.deepEqual(fromHelm.get(key), object, key);
}

describe('the chart', () => {
  test('is helm v3.22.0, built from the pinned module', () => {
    assert.match(helm(['version', '--short']).stdout, /^v3\.22\.0/);
  });

  test("values.schema.json's logLevel takes exactly the levels serve --log-level takes", () => {
    const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as Rec;
    assert.deepEqual(schema.properties.logLevel.enum, [...LOG_LEVELS]);
  });

  test("Chart.yaml's appVersion is package.json's version, and the default image tag", () => {
    const chart = parse(readFileSync(join(CHART, 'Chart.yaml'), 'utf8'));
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    assert.equal(chart.appVersion, pkg.version);
    assert.equal(container(render()).image, `sidecar-guard:${pkg.version}`);
  });

  test('helm package packs everything the templates need: the packaged chart renders the same', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sidecar-guard-package-'));
    try {
      const packed = helm(['package', CHART, '--destination', dir]);
      assert.equal(packed.code, 0, packed.stderr);
      const archive = join(dir, 'sidecar-guard-0.1.0.tgz');
      const fromArchive = helm([
        'template',
        'sidecar-guard',
        archive,
        '--namespace',
        'sidecar-guard',
        '--set',
        'namespaceDefaults.enabled=true',
      ]);
      assert.equal(fromArchive.code, 0, fromArchive.stderr);
      assert.equal(fromArchive.stdout, template({ namespaceDefaults: { enabled: true } }).stdout);
      assert.match(
        helm(['template', 'x', archive, '--set', 'claims=etcd']).stderr,
        /at '\/claims'/,
        'the schema is packed',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('helm lint --strict passes with the defaults and with every feature switched on', () => {
    for (const values of [undefined, EVERYTHING]) {
      const r = lint(values);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
      // Only the icon recommendation, an [INFO], is left: no chart icon is published.
      assert.deepEqual(
        r.stdout.split('\n').filter((l) => /^\[(INFO|WARNING|ERROR)\]/.test(l)),
        ['[INFO] Chart.yaml: icon is recommended'],
      );
    }
  });
});

describe('the default render and kubectl kustomize manifests', () => {
  test('hold the same objects, but the Namespace (helm install --create-namespace makes it)', () => {
    const kustomize = renderBase();
    const helmObjects = render();
    assert.deepEqual(kinds(helmObjects), kinds(kustomize.filter((o) => o.kind !== 'Namespace')));
    assertSameObjects(
      helmObjects,
      kustomize.filter((o) => o.kind !== 'Namespace'),
    );
  });

  test('namespace.create renders the Namespace of manifests/ (Pod Security labels included)', () => {
    assertSameObjects(render({ namespace: { create: true } }), renderBase());
  });

  test('namespaceDefaults.enabled is the namespace-defaults component', () => {
    assertSameObjects(
      render({ namespace: { create: true }, namespaceDefaults: { enabled: true } }),
      renderWithNamespaceDefaults(),
    );
  });

  test('networkPolicy with the monitoring namespace as metricsFrom is the network-policy component', () => {
    const monitoring = [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }];
    const objects = render({ namespace: { create: true }, networkPolicy: { enabled: true, metricsFrom: monitoring } });
    assertSameObjects(objects, renderWithComponents('network-policy'));
    assertSameObjects(
      render({
        namespace: { create: true },
        namespaceDefaults: { enabled: true },
        networkPolicy: { enabled: true, metricsFrom: monitoring },
      }),
      renderWithComponents('namespace-defaults', 'network-policy'),
    );
    assertNetworkPolicy(objects, monitoring);
  });

  test("Helm's labels are on every object, and only in its own metadata", () => {
    for (const o of render({ namespace: { create: true }, namespaceDefaults: { enabled: true } })) {
      for (const label of HELM_LABELS)
        assert.ok(o.metadata.labels?.[label], `${o.kind}/${o.metadata.name} has ${label}`);
      assert.equal(o.metadata.labels!['app.kubernetes.io/instance'], 'sidecar-guard');
      assert.equal(o.metadata.labels!['app.kubernetes.io/managed-by'], 'Helm');
    }
    const deployment = find(render(), 'Deployment');
    for (const labels of [deployment.spec.selector.matchLabels, deployment.spec.template.metadata.labels])
      for (const label of HELM_LABELS) assert.ok(!(label in labels), label);
  });
});

/**
 * The Deployment's args as `sidecar-guard serve` would get them in the pod:
 * parsed by the CLI's own flag parser, with the ConfigMap's files where the
 * volume mounts them (a temporary directory here).
 */
function serveConfigOfPod(objects: K8sObject[], name = 'sidecar-guard') {
  const dir = mkdtempSync(join(tmpdir(), 'sidecar-guard-chart-'));
  try {
    const configMap = objects.find((o) => o.kind === 'ConfigMap') as Rec | undefined;
    for (const [file, text] of Object.entries<string>(configMap?.data ?? {})) writeFileSync(join(dir, file), text);
    const podArgs = args(objects, name).map((a) => a.replace('/etc/sidecar-guard/defaults/', `${dir}/`));
    assert.equal(podArgs[0], 'serve');
    return serveConfigOf(podArgs.slice(1));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('values', () => {
  test('the default flags are accepted by sidecar-guard serve', () => {
    const config = serveConfigOfPod(render());
    assert.equal(config.claims, 'api');
    assert.equal(config.failClosedWhenReady, true);
    assert.equal(config.tlsSecret, 'sidecar-guard-tls');
  });

  test('everything switched on: each value lands where it should, and serve accepts the flags and files', () => {
    const objects = render(EVERYTHING);
    // The objects of manifests/ with the namespace-defaults component, plus the chart's own three.
    assert.deepEqual(
      kinds(objects),
      [
        ...kinds(renderWithNamespaceDefaults()),
        'ConfigMap/sidecar-guard-defaults',
        'NetworkPolicy/sidecar-guard',
        'ServiceMonitor/sidecar-guard',
      ].sort(),
    );
    const deployment = find(objects, 'Deployment');
    const pod = deployment.spec.template.spec;
    const c = pod.containers[0];
    assert.equal(deployment.spec.replicas, 3);
    assert.equal(c.image, 'registry.example.com/platform/sidecar-guard:0.1.0-rc1');
    assert.equal(c.imagePullPolicy, 'Always');
    assert.deepEqual(pod.imagePullSecrets, [{ name: 'registry-pull' }]);
    assert.deepEqual(c.resources, EVERYTHING.resources);
    assert.deepEqual(pod.nodeSelector, EVERYTHING.nodeSelector);
    assert.deepEqual(pod.tolerations, EVERYTHING.tolerations);
    assert.deepEqual(pod.affinity, EVERYTHING.affinity);
    assert.equal(pod.priorityClassName, 'system-cluster-critical');
    assert.equal(deployment.spec.template.metadata.annotations['example.com/team'], 'platform');
    assert.equal(deployment.spec.template.metadata.labels['example.com/cost-center'], 'mesh');
    assert.equal(c.env.find((e: Rec) => e.name === 'LOG_LEVEL').value, 'debug');
    assert.deepEqual(c.args.slice(-2), EVERYTHING.extraArgs);

    const config = serveConfigOfPod(objects);
    assert.equal(config.failClosedWhenReady, false);
    assert.equal(config.overlap, 'pods');
    assert.equal(config.unknownHosts, 'deny');
    assert.equal(config.rootNamespace, 'mesh-root');
    assert.deepEqual(config.metricsListen, { host: '0.0.0.0', port: 9102 });
    assert.equal(config.limits?.maxInflight, 64);
    assert.equal(config.reservationTtlMs, 60000);
    assert.equal(config.defaults.mode, 'all');
    assert.equal(config.defaults.namespaceLabel, 'example.com/default-sidecar');
    assert.deepEqual(config.defaults.exclude, ['batch-jobs']);
    assert.equal(config.defaults.config.template.name, 'mesh-default');
    assert.deepEqual(config.defaults.config.template.egressHosts, ['./*', '{root}/*', 'shared/*']);
    assert.equal(config.defaults.config.template.clusterDomain, 'corp.local');
    assert.deepEqual(config.defaults.config.dependencies, {
      services: { 'shop/cart': { calls: ['shop/payments', 'billing/*'], external: ['api.stripe.com'] } },
    });

    // The mounted ConfigMap, and a checksum so a template change rolls the pods.
    assert.deepEqual(pod.volumes.at(-1), { name: 'defaults', configMap: { name: 'sidecar-guard-defaults' } });
    assert.match(deployment.spec.template.metadata.annotations['checksum/defaults'], /^[0-9a-f]{64}$/);
    const changed = render({
      ...EVERYTHING,
      namespaceDefaults: { ...EVERYTHING.namespaceDefaults, template: { egressHosts: ['./*'] } },
    });
    assert.notEqual(
      find(changed, 'Deployment').spec.template.metadata.annotations['checksum/defaults'],
      deployment.spec.template.metadata.annotations['checksum/defaults'],
    );

    // The webhook: installed Fail and left alone (no probe grant), its exclusions; /mutate also skips its own namespace.
    const validating = find(objects, 'ValidatingWebhookConfiguration').webhooks[0];
    assert.equal(validating.failurePolicy, 'Fail');
    assert.equal(validating.timeoutSeconds, 10);
    assert.deepEqual(validating.namespaceSelector.matchExpressions[0].values, ['kube-system', 'legacy']);
    assert.deepEqual(
      find(objects, 'MutatingWebhookConfiguration').webhooks[0].namespaceSelector.matchExpressions[0].values,
      ['kube-system', 'legacy', 'sidecar-guard'],
    );
    assert.ok(
      !find(objects, 'Role').rules.some((r: Rec) => r.resources.includes('sidecars')),
      'no dry-run probe grant without FailWhenReady',
    );

    // Metrics on another port, scraped through the Service by the ServiceMonitor.
    const service = find(objects, 'Service');
    assert.deepEqual(service.spec.ports[1], { name: 'metrics', port: 9102, targetPort: 'metrics', protocol: 'TCP' });
    assert.deepEqual(c.ports[1], { name: 'metrics', containerPort: 9102, protocol: 'TCP' });
    // Liveness on the metrics listener, which --max-connections does not cap; readiness on the admission port.
    assert.deepEqual(c.livenessProbe.httpGet, { path: '/healthz', port: 'metrics', scheme: 'HTTP' });
    assert.deepEqual(c.readinessProbe.httpGet, { path: '/readyz', port: 'https', scheme: 'HTTPS' });
    assert.equal(deployment.spec.template.metadata.annotations['prometheus.io/port'], '9102');
    const monitor = find(objects, 'ServiceMonitor');
    assert.equal(monitor.apiVersion, 'monitoring.coreos.com/v1');
    assert.equal(monitor.metadata.labels.release, 'kube-prometheus');
    assert.deepEqual(monitor.spec.namespaceSelector, { matchNames: ['sidecar-guard'] });
    for (const [k, v] of Object.entries(monitor.spec.selector.matchLabels))
      assert.equal(service.metadata.labels[k], v, `the Service has ${k}=${v}`);
    assert.deepEqual(monitor.spec.endpoints, [
      { port: 'metrics', path: '/metrics', scheme: 'http', interval: '15s', scrapeTimeout: '5s' },
    ]);
    assert.equal(find(objects, 'PodDisruptionBudget').spec.minAvailable, 2);
    assertNetworkPolicy(objects, EVERYTHING.networkPolicy.metricsFrom);
  });

  test('networkPolicy: without metricsFrom, or without metrics, only the admission port is open', () => {
    assert.ok(!render().some((o) => o.kind === 'NetworkPolicy'), 'off by default');
    assertNetworkPolicy(render({ networkPolicy: { enabled: true } }), []);
    const from = [{ ipBlock: { cidr: '10.8.0.0/16' } }];
    assertNetworkPolicy(render({ networkPolicy: { enabled: true, metricsFrom: from } }), from);
    assertNetworkPolicy(
      render({ metrics: { enabled: false }, networkPolicy: { enabled: true, metricsFrom: from } }),
      [],
    );
  });

  test('failurePolicy Ignore: installed Ignore, no --fail-closed-when-ready, no probe grant', () => {
    const objects = render({ webhook: { failurePolicy: 'Ignore' } });
    assert.equal(find(objects, 'ValidatingWebhookConfiguration').webhooks[0].failurePolicy, 'Ignore');
    assert.ok(!args(objects).includes('--fail-closed-when-ready'));
    assert.ok(!find(objects, 'Role').rules.some((r: Rec) => r.resources.includes('sidecars')));
    assert.equal(serveConfigOfPod(objects).failClosedWhenReady, false);
  });

  test('claims local with one replica: no claims ConfigMap grant', () => {
    const objects = render({ claims: 'local', replicas: 1 });
    assert.equal(serveConfigOfPod(objects).claims, 'local');
    assert.ok(!find(objects, 'Role').rules.some((r: Rec) => r.resources.includes('configmaps')));
    assert.equal(find(objects, 'Deployment').spec.replicas, 1);
  });

  test('metrics off: no port, no scrape annotations, --metrics-listen=off, liveness on the admission port', () => {
    const objects = render({ metrics: { enabled: false } });
    assert.deepEqual(
      find(objects, 'Service').spec.ports.map((p: Rec) => p.name),
      ['https'],
    );
    assert.deepEqual(
      container(objects).ports.map((p: Rec) => p.name),
      ['https'],
    );
    assert.ok(!('prometheus.io/scrape' in find(objects, 'Deployment').spec.template.metadata.annotations));
    assert.equal(serveConfigOfPod(objects).metricsListen, null);
    assert.deepEqual(container(objects).livenessProbe.httpGet, { path: '/healthz', port: 'https', scheme: 'HTTPS' });
  });

  test("podLabels never change the selector labels; podAnnotations override the chart's (no duplicate keys either way)", () => {
    const template = find(
      render({
        podLabels: { 'app.kubernetes.io/component': 'other', team: 'mesh' },
        podAnnotations: { 'prometheus.io/scrape': 'false' },
      }),
      'Deployment',
    ).spec.template.metadata;
    assert.deepEqual(template.labels, {
      'app.kubernetes.io/name': 'sidecar-guard',
      'app.kubernetes.io/component': 'webhook',
      'app.kubernetes.io/part-of': 'sidecar-guard',
      team: 'mesh',
    });
    assert.equal(template.annotations['prometheus.io/scrape'], 'false');
    assert.equal(template.annotations['sidecar.istio.io/inject'], 'false');
  });

  test('no exclusions: the validating webhook has no namespaceSelector', () => {
    const hook = find(render({ webhook: { excludeNamespaces: [] } }), 'ValidatingWebhookConfiguration').webhooks[0];
    assert.ok(!('namespaceSelector' in hook));
  });

  test('another release name and namespace: every name and reference follows', () => {
    const objects = render(
      { namespaceDefaults: { enabled: true }, metrics: { serviceMonitor: { enabled: true } } },
      { release: 'guard', namespace: 'platform' },
    );
    const full = 'guard-sidecar-guard';
    for (const o of objects) {
      assert.ok(o.metadata.name.startsWith(full), `${o.kind} ${o.metadata.name}`);
      if (
        ![
          'ClusterRole',
          'ClusterRoleBinding',
          'ValidatingWebhookConfiguration',
          'MutatingWebhookConfiguration',
        ].includes(o.kind)
      )
        assert.equal(o.metadata.namespace, 'platform', `${o.kind} ${o.metadata.name}`);
    }
    const config = serveConfigOfPod(objects, full);
    assert.equal(config.tlsSecret, `${full}-tls`);
    assert.equal(config.tlsService, full);
    assert.equal(config.webhookConfig, full);
    const role = find(objects, 'Role', full);
    assert.deepEqual(role.rules[0].resourceNames, [`${full}-tls`]);
    assert.deepEqual(find(objects, 'ClusterRole', full).rules.at(-1).resourceNames, [full]);
    for (const kind of ['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration'])
      assert.deepEqual(find(objects, kind, full).webhooks[0].clientConfig.service, {
        name: full,
        namespace: 'platform',
        path: kind.startsWith('V') ? '/validate' : '/mutate',
        port: 443,
      });
    for (const binding of ['ClusterRoleBinding', 'RoleBinding'])
      assert.deepEqual(find(objects, binding, full).subjects, [
        { kind: 'ServiceAccount', name: full, namespace: 'platform' },
      ]);
    assert.equal(find(objects, 'Deployment', full).spec.template.spec.serviceAccountName, full);
  });
});

describe('bad values fail helm template and helm lint, naming the value', () => {
  const cases: [string, object, RegExp][] = [
    ['an unknown value', { replica: 3 }, /additional properties 'replica' not allowed/],
    ['claims', { claims: 'etcd' }, /at '\/claims': value must be one of 'api', 'local'/],
    [
      'failurePolicy',
      { webhook: { failurePolicy: 'fail' } },
      /at '\/webhook\/failurePolicy': value must be one of 'FailWhenReady', 'Fail', 'Ignore'/,
    ],
    ['overlap', { overlap: 'everything' }, /at '\/overlap'/],
    ['replicas', { replicas: 0 }, /at '\/replicas': minimum: got 0, want 1/],
    ['a quantity', { resources: { limits: { memory: 'lots' } } }, /at '\/resources\/limits\/memory'/],
    [
      'an excluded namespace',
      { webhook: { excludeNamespaces: ['Kube_System'] } },
      /at '\/webhook\/excludeNamespaces\/0'/,
    ],
    [
      'a template key',
      { namespaceDefaults: { template: { egressHost: ['./*'] } } },
      /at '\/namespaceDefaults\/template': additional properties 'egressHost' not allowed/,
    ],
    [
      'a scrape interval',
      { metrics: { serviceMonitor: { interval: '30 seconds' } } },
      /at '\/metrics\/serviceMonitor\/interval'/,
    ],
    ['an extra arg', { extraArgs: ['max-inflight=64'] }, /at '\/extraArgs\/0'/],
    ['claims local with 2 replicas', { claims: 'local' }, /'allOf' failed\n\s+- at '\/replicas': value must be 1/],
    [
      'a NetworkPolicy peer',
      { networkPolicy: { enabled: true, metricsFrom: [{ namespaceSelecter: {} }] } },
      /at '\/networkPolicy\/metricsFrom\/0': additional properties 'namespaceSelecter' not allowed/,
    ],
    [
      'a ServiceMonitor without metrics',
      { metrics: { enabled: false, serviceMonitor: { enabled: true } } },
      /at '\/metrics\/enabled': value must be true/,
    ],
  ];
  for (const [what, values, message] of cases) {
    test(what, () => {
      const rendered = template(values);
      assert.notEqual(rendered.code, 0, `helm template accepted ${JSON.stringify(values)}`);
      assert.match(rendered.stderr, message);
      assert.equal(rendered.stdout, '');
      const linted = lint(values);
      assert.notEqual(linted.code, 0, `helm lint accepted ${JSON.stringify(values)}`);
      assert.match(linted.stdout + linted.stderr, message);
    });
  }

  test('excluding its own namespace with FailWhenReady (the templates check it: the schema does not know the namespace)', () => {
    const values = { webhook: { excludeNamespaces: ['sidecar-guard'] } };
    const message =
      /webhook.excludeNamespaces must not list the release namespace "sidecar-guard" with webhook.failurePolicy FailWhenReady: the reachability probe is judged there/;
    const rendered = template(values);
    assert.notEqual(rendered.code, 0);
    assert.match(rendered.stderr, message);
    // helm lint runs templates in lint mode, where `fail` is reported as [INFO] and not counted.
    assert.match(lint(values).stderr, message);
    assert.equal(template(values, { namespace: 'platform' }).code, 0, 'another namespace may exclude sidecar-guard');
    assert.equal(
      template({ webhook: { excludeNamespaces: ['sidecar-guard'], failurePolicy: 'Fail' } }).code,
      0,
      'without the probe it may exclude itself',
    );
  });
});

// manifests/ as kubectl would apply them: everything renders and parses,
// every object is well-formed for its kind and consistent with the others,
// the webhook rules select exactly Sidecar CREATE/UPDATE, RBAC has no
// wildcards (rbac.test.ts derives the grants from the code's requests), and
// the pod is locked down.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { find, MANIFESTS, renderBase, renderWithNamespaceDefaults, type K8sObject } from './render.js';

const NS = 'sidecar-guard';

// ---- small readers over untyped YAML
type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Rec) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const at = (v: unknown, ...path: (string | number)[]): unknown =>
  path.reduce<unknown>((o, k) => (Array.isArray(o) ? o[k as number] : rec(o)[k as string]), v);
const strs = (v: unknown): string[] => arr(v).map(String);

const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
]);
const API_VERSIONS: Record<string, string> = {
  Namespace: 'v1',
  ServiceAccount: 'v1',
  Service: 'v1',
  Deployment: 'apps/v1',
  PodDisruptionBudget: 'policy/v1',
  ClusterRole: 'rbac.authorization.k8s.io/v1',
  ClusterRoleBinding: 'rbac.authorization.k8s.io/v1',
  Role: 'rbac.authorization.k8s.io/v1',
  RoleBinding: 'rbac.authorization.k8s.io/v1',
  ValidatingWebhookConfiguration: 'admissionregistration.k8s.io/v1',
  MutatingWebhookConfiguration: 'admissionregistration.k8s.io/v1',
};
const DNS1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

// ---- kube-apiserver's webhook matching, from the admissionregistration/v1 API docs
interface Attributes {
  operation: string;
  group: string;
  version: string;
  resource: string;
  subresource: string;
  namespaced: boolean;
}

function ruleMatches(rule: unknown, a: Attributes): boolean {
  const has = (list: string[], v: string) => list.includes('*') || list.includes(v);
  if (!has(strs(at(rule, 'operations')), a.operation)) return false;
  if (!has(strs(at(rule, 'apiGroups')), a.group)) return false;
  if (!has(strs(at(rule, 'apiVersions')), a.version)) return false;
  const resourceOk = strs(at(rule, 'resources')).some((r) => {
    const [res, sub] = r.split('/');
    if (res !== '*' && res !== a.resource) return false;
    return sub === undefined ? a.subresource === '' : sub === '*' || sub === a.subresource;
  });
  if (!resourceOk) return false;
  const scope = String(at(rule, 'scope') ?? '*');
  return scope === '*' || (scope === 'Namespaced') === a.namespaced;
}

const webhookMatches = (hook: unknown, a: Attributes) => arr(at(hook, 'rules')).some((r) => ruleMatches(r, a));

function namespaceSelected(hook: unknown, namespace: string): boolean {
  const labels: Record<string, string> = { 'kubernetes.io/metadata.name': namespace };
  const selector = rec(at(hook, 'namespaceSelector'));
  for (const [k, v] of Object.entries(rec(selector.matchLabels))) if (labels[k] !== v) return false;
  return arr(selector.matchExpressions).every((e) => {
    const key = String(at(e, 'key'));
    const values = strs(at(e, 'values'));
    switch (at(e, 'operator')) {
      case 'In':
        return key in labels && values.includes(labels[key]!);
      case 'NotIn':
        return !(key in labels) || !values.includes(labels[key]!);
      case 'Exists':
        return key in labels;
      case 'DoesNotExist':
        return !(key in labels);
      default:
        throw new Error(`unknown operator ${String(at(e, 'operator'))}`);
    }
  });
}

const sidecarAttrs = (operation: string, version: string, extra: Partial<Attributes> = {}): Attributes => ({
  operation,
  group: 'networking.istio.io',
  version,
  resource: 'sidecars',
  subresource: '',
  namespaced: true,
  ...extra,
});
const VERSIONS = ['v1', 'v1beta1', 'v1alpha3'];

/** RBAC rules as "group/resource:verb@name" ("@*" without resourceNames). */
function grants(role: K8sObject): string[] {
  const out: string[] = [];
  for (const rule of arr(role.rules)) {
    const names = strs(at(rule, 'resourceNames'));
    for (const g of strs(at(rule, 'apiGroups')))
      for (const r of strs(at(rule, 'resources')))
        for (const v of strs(at(rule, 'verbs')))
          for (const n of names.length > 0 ? names : ['*']) out.push(`${g || 'core'}/${r}:${v}@${n}`);
  }
  return out.sort();
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(name) ? [path] : [];
  });
}

describe('manifests/', () => {
  let base: K8sObject[];
  let withDefaults: K8sObject[];
  before(() => {
    base = renderBase();
    withDefaults = renderWithNamespaceDefaults();
  });

  test('every YAML file parses', () => {
    const files = yamlFiles(MANIFESTS);
    assert.ok(files.length >= 10, `found ${files.length} files`);
    for (const file of files) {
      for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) assert.deepEqual(doc.errors, [], file);
    }
  });

  test('kubectl kustomize renders the base with exactly the expected objects', () => {
    const kinds = base.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    assert.deepEqual(kinds, [
      'ClusterRole/sidecar-guard',
      'ClusterRoleBinding/sidecar-guard',
      'Deployment/sidecar-guard',
      'Namespace/sidecar-guard',
      'PodDisruptionBudget/sidecar-guard',
      'Role/sidecar-guard',
      'RoleBinding/sidecar-guard',
      'Service/sidecar-guard',
      'ServiceAccount/sidecar-guard',
      'ValidatingWebhookConfiguration/sidecar-guard',
    ]);
  });

  test('the namespace-defaults component adds the MutatingWebhookConfiguration, its RBAC and the controller flag, and the base has none of them', () => {
    const added = withDefaults
      .filter((o) => !base.some((b) => b.kind === o.kind && b.metadata.name === o.metadata.name))
      .map((o) => `${o.kind}/${o.metadata.name}`);
    assert.deepEqual(added.sort(), [
      'ClusterRole/sidecar-guard-namespace-defaults',
      'ClusterRoleBinding/sidecar-guard-namespace-defaults',
      'MutatingWebhookConfiguration/sidecar-guard',
    ]);
    const args = (objs: K8sObject[]) =>
      strs(at(find(objs, 'Deployment', 'sidecar-guard'), 'spec', 'template', 'spec', 'containers', 0, 'args'));
    assert.ok(args(withDefaults).includes('--generate-defaults=label'));
    assert.ok(!args(base).some((a) => a.startsWith('--generate-defaults')));
  });

  test('every object is well-formed for its kind: apiVersion, name, namespace, labels', () => {
    for (const o of withDefaults) {
      const what = `${o.kind}/${o.metadata?.name}`;
      assert.equal(o.apiVersion, API_VERSIONS[o.kind], `${what}: apiVersion`);
      assert.match(o.metadata.name, DNS1123, `${what}: name`);
      if (CLUSTER_SCOPED.has(o.kind)) assert.equal(o.metadata.namespace, undefined, `${what} is cluster-scoped`);
      else assert.equal(o.metadata.namespace, NS, `${what}: namespace`);
      assert.equal(
        o.metadata.labels?.['app.kubernetes.io/name'],
        'sidecar-guard',
        `${what}: the label the caBundle publisher can select by`,
      );
    }
  });

  test('Deployment: 2 replicas, selector matches the template, readiness over HTTPS, liveness on the uncapped metrics port, resources, anti-affinity, grace period > drain delay', () => {
    const d = find(base, 'Deployment', 'sidecar-guard');
    const spec = rec(d.spec);
    const pod = rec(at(spec, 'template', 'spec'));
    const c = rec(at(pod, 'containers', 0));
    assert.equal(spec.replicas, 2);
    const selector = rec(at(spec, 'selector', 'matchLabels'));
    const templateLabels = rec(at(spec, 'template', 'metadata', 'labels'));
    assert.ok(Object.keys(selector).length > 0);
    for (const [k, v] of Object.entries(selector)) assert.equal(templateLabels[k], v, `selector ${k}`);
    assert.equal(at(spec, 'strategy', 'rollingUpdate', 'maxUnavailable'), 0);

    assert.equal(pod.serviceAccountName, find(base, 'ServiceAccount', 'sidecar-guard').metadata.name);
    assert.ok(typeof c.image === 'string' && c.image.length > 0);
    const ports = Object.fromEntries(arr(c.ports).map((p) => [String(at(p, 'name')), at(p, 'containerPort')]));
    assert.deepEqual(ports, { https: 8443, metrics: 9090 });
    // Liveness on the metrics listener, which --max-connections does not cap (a flood must not restart the pod).
    for (const [probe, path, port, scheme] of [
      ['readinessProbe', '/readyz', 'https', 'HTTPS'],
      ['livenessProbe', '/healthz', 'metrics', 'HTTP'],
      ['startupProbe', '/healthz', 'https', 'HTTPS'],
    ] as const) {
      assert.equal(at(c, probe, 'httpGet', 'path'), path, probe);
      assert.equal(at(c, probe, 'httpGet', 'scheme'), scheme, probe);
      assert.equal(at(c, probe, 'httpGet', 'port'), port, probe);
    }
    for (const kind of ['requests', 'limits'])
      for (const r of ['cpu', 'memory']) assert.ok(at(c, 'resources', kind, r), `resources.${kind}.${r}`);

    const anti = arr(at(pod, 'affinity', 'podAntiAffinity', 'preferredDuringSchedulingIgnoredDuringExecution'));
    assert.ok(anti.length > 0, 'pod anti-affinity');
    assert.equal(at(anti[0], 'podAffinityTerm', 'topologyKey'), 'kubernetes.io/hostname');
    for (const [k, v] of Object.entries(rec(at(anti[0], 'podAffinityTerm', 'labelSelector', 'matchLabels'))))
      assert.equal(templateLabels[k], v);

    const args = strs(c.args);
    assert.equal(args[0], 'serve');
    const drain = Number(args.find((a) => a.startsWith('--drain-delay='))?.split('=')[1]);
    assert.ok(drain > 0, '--drain-delay is set');
    const timeoutSeconds = Number(
      at(find(base, 'ValidatingWebhookConfiguration', 'sidecar-guard'), 'webhooks', 0, 'timeoutSeconds'),
    );
    assert.ok(
      Number(pod.terminationGracePeriodSeconds) > drain / 1000 + timeoutSeconds,
      'grace period covers the drain delay plus one webhook timeout',
    );
  });

  test('Deployment: the in-cluster TLS flags name the Secret of the Role, the configuration and the Service that exist', () => {
    const c = at(find(base, 'Deployment', 'sidecar-guard'), 'spec', 'template', 'spec', 'containers', 0);
    const flags = Object.fromEntries(
      strs(at(c, 'args'))
        .filter((a) => a.includes('='))
        .map((a) => a.split('=') as [string, string]),
    );
    assert.equal(flags['--tls-secret'], 'sidecar-guard-tls');
    const role = find(base, 'Role', 'sidecar-guard');
    assert.ok(grants(role).includes(`core/secrets:update@${flags['--tls-secret']}`));
    find(base, 'ValidatingWebhookConfiguration', flags['--webhook-config']!);
    find(base, 'Service', flags['--tls-service']!);
    assert.equal(flags['--listen'], '0.0.0.0:8443');
    assert.equal(flags['--metrics-listen'], '0.0.0.0:9090');
    const env = arr(at(c, 'env'));
    assert.ok(
      env.some(
        (e) =>
          at(e, 'name') === 'POD_NAMESPACE' && at(e, 'valueFrom', 'fieldRef', 'fieldPath') === 'metadata.namespace',
      ),
    );
  });

  test('the pod is locked down: non-root, read-only root, no privilege escalation, no capabilities, seccomp RuntimeDefault', () => {
    const pod = rec(at(find(base, 'Deployment', 'sidecar-guard'), 'spec', 'template', 'spec'));
    const podSc = rec(pod.securityContext);
    assert.equal(podSc.runAsNonRoot, true);
    assert.ok(Number(podSc.runAsUser) > 0);
    assert.equal(at(podSc, 'seccompProfile', 'type'), 'RuntimeDefault');
    for (const c of arr(pod.containers)) {
      const sc = rec(at(c, 'securityContext'));
      assert.equal(sc.runAsNonRoot, true);
      assert.equal(sc.readOnlyRootFilesystem, true);
      assert.equal(sc.allowPrivilegeEscalation, false);
      assert.notEqual(sc.privileged, true);
      assert.deepEqual(strs(at(sc, 'capabilities', 'drop')), ['ALL']);
      assert.equal(at(sc, 'capabilities', 'add'), undefined);
      assert.equal(at(sc, 'seccompProfile', 'type'), 'RuntimeDefault');
      // The only writable mount is /tmp.
      assert.deepEqual(
        arr(at(c, 'volumeMounts')).map((m) => at(m, 'mountPath')),
        ['/tmp'],
      );
    }
    assert.ok(!pod.hostNetwork && !pod.hostPID && !pod.hostIPC);
  });

  test('Service: 443 → the https container port, metrics 9090 separately; it selects the Deployment pods', () => {
    const svc = find(base, 'Service', 'sidecar-guard');
    const ports = arr(at(svc, 'spec', 'ports')).map((p) => ({
      name: at(p, 'name'),
      port: at(p, 'port'),
      targetPort: at(p, 'targetPort'),
    }));
    assert.deepEqual(ports, [
      { name: 'https', port: 443, targetPort: 'https' },
      { name: 'metrics', port: 9090, targetPort: 'metrics' },
    ]);
    const podLabels = rec(at(find(base, 'Deployment', 'sidecar-guard'), 'spec', 'template', 'metadata', 'labels'));
    for (const [k, v] of Object.entries(rec(at(svc, 'spec', 'selector')))) assert.equal(podLabels[k], v);
  });

  test('PodDisruptionBudget: minAvailable 1 over the Deployment pods', () => {
    const pdb = find(base, 'PodDisruptionBudget', 'sidecar-guard');
    assert.equal(at(pdb, 'spec', 'minAvailable'), 1);
    const podLabels = rec(at(find(base, 'Deployment', 'sidecar-guard'), 'spec', 'template', 'metadata', 'labels'));
    for (const [k, v] of Object.entries(rec(at(pdb, 'spec', 'selector', 'matchLabels')))) assert.equal(podLabels[k], v);
  });

  // Which grants are needed is derived from the requests the code makes: rbac.test.ts.
  test('RBAC: no wildcards, secrets and configmaps only in our namespace', () => {
    for (const role of withDefaults.filter((o) => o.kind === 'ClusterRole')) {
      assert.ok(
        !grants(role).some((g) => g.startsWith('core/secrets:') || g.startsWith('core/configmaps:')),
        `${role.metadata.name}: Secrets and ConfigMaps only through the namespaced Role`,
      );
    }
    assert.equal(find(base, 'Role', 'sidecar-guard').metadata.namespace, NS);
    // Secrets, the claims ConfigMaps (get/create/update, nothing else), and create on Sidecars for the
    // dry-run reachability probe (in our namespace only)
    const namespaced = grants(find(base, 'Role', 'sidecar-guard'));
    assert.ok(
      namespaced.every(
        (g) =>
          g.startsWith('core/secrets:') ||
          g.startsWith('core/configmaps:') ||
          g === 'networking.istio.io/sidecars:create@*',
      ),
    );
    assert.deepEqual(namespaced.filter((g) => g.startsWith('core/configmaps:')).sort(), [
      'core/configmaps:create@*',
      'core/configmaps:get@*',
      'core/configmaps:update@*',
    ]);
    for (const role of withDefaults.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role')) {
      assert.ok(!grants(role).some((g) => /(^|\/)\*|:\*/.test(g.split('@')[0]!)), `${role.metadata.name}: no wildcard`);
    }
  });

  test('RBAC: every binding binds our ServiceAccount to a role that exists', () => {
    for (const b of withDefaults.filter((o) => o.kind.endsWith('Binding'))) {
      const ref = rec(b.roleRef);
      find(withDefaults, String(ref.kind), String(ref.name));
      assert.deepEqual(
        arr(b.subjects),
        [{ kind: 'ServiceAccount', name: 'sidecar-guard', namespace: NS }],
        b.metadata.name,
      );
    }
  });

  describe('ValidatingWebhookConfiguration', () => {
    let hook: unknown;
    let vwc: K8sObject;
    before(() => {
      vwc = find(base, 'ValidatingWebhookConfiguration', 'sidecar-guard');
      assert.equal(arr(vwc.webhooks).length, 1);
      hook = arr(vwc.webhooks)[0];
    });

    test('the settings a fail-closed webhook needs (installed Ignore, turned Fail by the ready replicas)', () => {
      assert.equal(at(hook, 'name'), 'validate.sidecar-guard.io');
      assert.deepEqual(at(hook, 'admissionReviewVersions'), ['v1']);
      assert.equal(at(hook, 'sideEffects'), 'None');
      assert.equal(at(hook, 'failurePolicy'), 'Ignore');
      const deployment = find(base, 'Deployment', 'sidecar-guard');
      const containerArgs = (deployment.spec as { template: { spec: { containers: { args: string[] }[] } } }).template
        .spec.containers[0]!.args;
      assert.ok(containerArgs.includes('--fail-closed-when-ready'), 'the replicas set failurePolicy: Fail once ready');
      assert.ok(containerArgs.includes('--claims=api'), 'several replicas: claims in the API server');
      assert.equal(at(hook, 'matchPolicy'), 'Equivalent');
      assert.equal(at(hook, 'timeoutSeconds'), 5);
      assert.equal(at(hook, 'clientConfig', 'caBundle'), undefined, 'caBundle is written at runtime, never shipped');
    });

    test('it calls the Service on /validate through a port the Service exposes', () => {
      const ref = rec(at(hook, 'clientConfig', 'service'));
      assert.deepEqual(ref, { name: 'sidecar-guard', namespace: NS, path: '/validate', port: 443 });
      const svc = find(base, 'Service', String(ref.name));
      assert.ok(arr(at(svc, 'spec', 'ports')).some((p) => at(p, 'port') === ref.port));
    });

    test('the rules match Sidecar CREATE and UPDATE in v1, v1beta1 and v1alpha3', () => {
      for (const version of VERSIONS)
        for (const op of ['CREATE', 'UPDATE'])
          assert.ok(webhookMatches(hook, sidecarAttrs(op, version)), `${op} ${version}`);
    });

    test('the rules do not match DELETE or CONNECT, the status subresource, other Istio kinds or other groups', () => {
      for (const version of VERSIONS) {
        for (const op of ['DELETE', 'CONNECT'])
          assert.ok(!webhookMatches(hook, sidecarAttrs(op, version)), `${op} ${version}`);
        assert.ok(!webhookMatches(hook, sidecarAttrs('UPDATE', version, { subresource: 'status' })), 'sidecars/status');
        assert.ok(
          !webhookMatches(hook, sidecarAttrs('CREATE', version, { resource: 'virtualservices' })),
          'virtualservices',
        );
      }
      assert.ok(!webhookMatches(hook, sidecarAttrs('CREATE', 'v1', { group: 'networking.k8s.io' })));
      assert.ok(
        !webhookMatches(hook, {
          operation: 'CREATE',
          group: '',
          version: 'v1',
          resource: 'pods',
          subresource: '',
          namespaced: true,
        }),
      );
    });

    test('the namespaceSelector skips kube-system, and nothing else (our own namespace holds the reachability probe)', () => {
      assert.ok(!namespaceSelected(hook, 'kube-system'));
      for (const ns of ['default', 'istio-system', 'shop', 'kube-public', NS])
        assert.ok(namespaceSelected(hook, ns), ns);
      assert.deepEqual(at(hook, 'namespaceSelector', 'matchExpressions'), [
        { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system'] },
      ]);
    });

    test('the emergency path and Ignore vs Fail are documented next to the configuration', () => {
      const text = readFileSync(join(MANIFESTS, 'validatingwebhookconfiguration.yaml'), 'utf8');
      assert.match(text, /kubectl delete validatingwebhookconfiguration sidecar-guard/);
      assert.match(text, /Ignore instead would ADMIT/);
    });
  });

  describe('MutatingWebhookConfiguration (namespace-defaults component)', () => {
    test('/mutate for Sidecar CREATE only, failing open, same exclusions', () => {
      const mwc = find(withDefaults, 'MutatingWebhookConfiguration', 'sidecar-guard');
      const hook = arr(mwc.webhooks)[0];
      assert.equal(at(hook, 'clientConfig', 'service', 'path'), '/mutate');
      assert.equal(at(hook, 'failurePolicy'), 'Ignore');
      assert.equal(at(hook, 'sideEffects'), 'None');
      assert.deepEqual(at(hook, 'admissionReviewVersions'), ['v1']);
      for (const version of VERSIONS) {
        assert.ok(webhookMatches(hook, sidecarAttrs('CREATE', version)));
        assert.ok(!webhookMatches(hook, sidecarAttrs('UPDATE', version)));
        assert.ok(!webhookMatches(hook, sidecarAttrs('DELETE', version)));
      }
      assert.ok(
        !namespaceSelected(hook, 'kube-system') && !namespaceSelected(hook, NS) && namespaceSelected(hook, 'shop'),
      );
    });
  });
});

describe('Dockerfile', () => {
  const text = readFileSync(fileURLToPath(new URL('../../Dockerfile', import.meta.url)), 'utf8');
  const stages = text.split('\n').filter((l) => /^FROM /.test(l));

  test('multi-stage: builds with npm ci + npm run build, runs on distroless or slim Node 24', () => {
    assert.ok(stages.length >= 2);
    assert.match(text, /npm ci/);
    assert.match(text, /npm run build/);
    assert.match(stages.at(-1)!, /nodejs24|node:24.*slim/);
    assert.match(text, /--omit=dev/, 'production dependencies only');
    assert.match(text, /COPY --from=build \S+\/dist/);
  });

  test('runs as the numeric non-root user the Deployment declares', () => {
    const user = /^USER (\d+)(?::(\d+))?$/m.exec(text);
    assert.ok(user, 'a numeric USER');
    assert.notEqual(user[1], '0');
    const pod = renderBase().find((o) => o.kind === 'Deployment')!;
    assert.equal(String(at(pod, 'spec', 'template', 'spec', 'securityContext', 'runAsUser')), user[1]);
  });
});

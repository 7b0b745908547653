// The chart's renders (test/helm/helm.ts: the real helm) and `kubectl kustomize
// manifests`, applied to the real kube-apiserver as server-side dry runs with
// strict field validation: every object passes kube-apiserver's own
// validation and admission, nothing is stored. In the namespace of the
// "everything" render, Pod Security also judges the Deployment's pod template
// (it warns about a workload's template at the namespace's `warn` level; the
// chart's Namespace sets `enforce`, which applies to pods, and there are no
// pods here: no scheduler or controller manager runs). The
// ServiceMonitor needs its CRD: the one controller-gen generated from
// prometheus-operator's API types (scripts/build-helm.sh), installed here.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { renderBase, renderWithComponents, renderWithNamespaceDefaults, type K8sObject } from '../manifests/render.js';
import { CHART, EVERYTHING, helm, render, SERVICEMONITOR_CRD } from '../helm/helm.js';
import { waitFor } from '../helpers/wait.js';
import {
  KUBECONFIG,
  kubectl,
  mustKubectl,
  needsRealApiServer,
  readState,
  WEBHOOK_NAMESPACE,
  type KubectlResult,
} from './env.js';

const toYaml = (objects: K8sObject[]) => objects.map((o) => stringify(o)).join('---\n');
const dryRun = (objects: K8sObject[]): Promise<KubectlResult> =>
  kubectl(['apply', '--dry-run=server', '--validate=strict', '-f', '-'], { stdin: toYaml(objects) });

/** Accepted, every object reported as a server dry run, and no warning (Pod Security, deprecated fields, unknown fields). */
async function assertAccepted(objects: K8sObject[]): Promise<void> {
  const r = await dryRun(objects);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '', 'no warnings');
  const reported = r.stdout.trim().split('\n');
  assert.equal(reported.length, objects.length, r.stdout);
  for (const line of reported) assert.match(line, / \(server dry run\)$/);
}

const EVERYTHING_NS = 'helm-everything';

describe('the chart against kube-apiserver (server-side dry run)', { skip: needsRealApiServer() }, () => {
  let everything: K8sObject[];
  before(async () => {
    readState();
    everything = render(EVERYTHING, { release: 'guard', namespace: EVERYTHING_NS });
    // Its Namespace for real (a dry run stores nothing, and the other objects need it), with Pod
    // Security's warn level at the enforce level so that workload templates are judged too.
    await mustKubectl(['apply', '-f', '-'], { stdin: toYaml(everything.filter((o) => o.kind === 'Namespace')) });
    await mustKubectl([
      'label',
      'namespace',
      EVERYTHING_NS,
      '--overwrite',
      'pod-security.kubernetes.io/warn=restricted',
    ]);
    await mustKubectl(['apply', '--server-side', '-f', SERVICEMONITOR_CRD]);
    await waitFor(
      'the ServiceMonitor CRD to be Established',
      async () => {
        const r = await kubectl([
          'get',
          'customresourcedefinition',
          'servicemonitors.monitoring.coreos.com',
          '-o',
          'jsonpath={.status.conditions[?(@.type=="Established")].status}',
        ]);
        return r.code === 0 && r.stdout === 'True';
      },
      60_000,
      100,
    );
  });

  test('the default render and kubectl kustomize manifests are both accepted', async () => {
    await assertAccepted(render());
    await assertAccepted(renderBase());
  });

  test('the namespace-defaults render and the overlay with the component are both accepted', async () => {
    await assertAccepted(render({ namespace: { create: true }, namespaceDefaults: { enabled: true } }));
    await assertAccepted(renderWithNamespaceDefaults());
  });

  test('the overlay with both components (namespace defaults, network policy) is accepted', async () => {
    await assertAccepted(renderWithComponents('namespace-defaults', 'network-policy'));
  });

  test('every value switched on, in a namespace of its own at the restricted level, ServiceMonitor included', async () => {
    assert.ok(everything.some((o) => o.kind === 'ServiceMonitor'));
    assert.equal(
      (
        await mustKubectl([
          'get',
          'namespace',
          EVERYTHING_NS,
          '-o',
          'jsonpath={.metadata.labels.pod-security\\.kubernetes\\.io/enforce}',
        ])
      ).stdout,
      'restricted',
    );
    await assertAccepted(everything.filter((o) => o.kind !== 'Namespace'));
  });

  test('the dry run does judge: a pod template below the restricted level draws a Pod Security warning', async () => {
    const deployment = structuredClone(everything.find((o) => o.kind === 'Deployment')!) as K8sObject & {
      spec: { template: { spec: { containers: { securityContext: { capabilities: unknown } }[] } } };
    };
    deployment.spec.template.spec.containers[0]!.securityContext.capabilities = { drop: ['NET_RAW'] };
    const r = await dryRun([deployment]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Warning: would violate PodSecurity "restricted:latest": unrestricted capabilities/);
  });

  test('the dry run does judge: a ServiceMonitor with a bad interval and a Deployment with an unknown field are refused', async () => {
    const objects = render({ metrics: { serviceMonitor: { enabled: true } } });
    const monitor = structuredClone(objects.find((o) => o.kind === 'ServiceMonitor')!) as K8sObject & {
      spec: { endpoints: { interval: string }[] };
    };
    monitor.spec.endpoints[0]!.interval = '30 seconds';
    const bad = await dryRun([monitor]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /spec\.endpoints\[0\]\.interval: Invalid value: "30 seconds"/);

    const deployment = structuredClone(objects.find((o) => o.kind === 'Deployment')!) as K8sObject & {
      spec: Record<string, unknown>;
    };
    deployment.spec.replica = 2;
    const unknown = await dryRun([deployment]);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /unknown field "spec\.replica"/);
  });
});

describe('helm install, upgrade and uninstall against kube-apiserver', { skip: needsRealApiServer() }, () => {
  // Release "guard" in its own namespace: its cluster-scoped objects (guard-sidecar-guard) do not meet
  // the e2e's own (sidecar-guard). Its webhook skips the e2e webhook's namespace, where the running
  // replicas send their reachability probe; nothing else writes Sidecars while this runs. No pod
  // starts (no scheduler here), so nothing answers for this release: its webhook stays Ignore.
  const NS = 'helm-release';
  const NAME = 'guard-sidecar-guard';
  const chartArgs = [
    '--namespace',
    NS,
    '--set-json',
    `webhook.excludeNamespaces=["kube-system","${WEBHOOK_NAMESPACE}"]`,
  ];
  const installed = (what: string, args: string[]) => {
    const r = helm(args, { kubeconfig: KUBECONFIG });
    assert.equal(r.code, 0, `${what}: ${r.stderr}`);
    return r.stdout;
  };

  test('install creates the objects, upgrade keeps the caBundle the replicas wrote, resets failurePolicy and restores a deleted webhook, uninstall removes them', async () => {
    const notes = installed('helm install', ['install', 'guard', CHART, '--create-namespace', ...chartArgs]);
    assert.match(notes, /STATUS: deployed/);
    assert.match(notes, new RegExp(`kubectl -n ${NS} rollout status deployment/${NAME}`), 'NOTES.txt');
    const hook = async () =>
      JSON.parse((await mustKubectl(['get', 'validatingwebhookconfiguration', NAME, '-o', 'json'])).stdout).webhooks[0];
    assert.equal((await hook()).failurePolicy, 'Ignore');
    assert.equal(
      (await mustKubectl(['-n', NS, 'get', 'deployment', NAME, '-o', 'jsonpath={.spec.replicas}'])).stdout,
      '2',
    );

    // What a ready replica does: the caBundle, then failurePolicy Fail.
    const caBundle = Buffer.from(readState().caPem).toString('base64');
    await mustKubectl([
      'patch',
      'validatingwebhookconfiguration',
      NAME,
      '--type=json',
      '-p',
      JSON.stringify([
        { op: 'add', path: '/webhooks/0/clientConfig/caBundle', value: caBundle },
        { op: 'replace', path: '/webhooks/0/failurePolicy', value: 'Fail' },
      ]),
    ]);
    installed('helm upgrade', ['upgrade', 'guard', CHART, '--reuse-values', '--set', 'replicas=3', ...chartArgs]);
    const after = await hook();
    assert.equal(after.clientConfig.caBundle, caBundle, 'the caBundle survives an upgrade');
    assert.equal(
      after.failurePolicy,
      'Ignore',
      'an upgrade re-applies the rendered Ignore (the replicas set Fail again)',
    );
    assert.equal(
      (await mustKubectl(['-n', NS, 'get', 'deployment', NAME, '-o', 'jsonpath={.spec.replicas}'])).stdout,
      '3',
    );

    // The emergency path NOTES.txt prints, and its way back: helm upgrade recreates what is missing.
    await mustKubectl(['delete', 'validatingwebhookconfiguration', NAME]);
    installed('helm upgrade after the emergency delete', ['upgrade', 'guard', CHART, '--reuse-values', ...chartArgs]);
    assert.equal((await hook()).failurePolicy, 'Ignore');

    installed('helm uninstall', ['uninstall', 'guard', '--namespace', NS]);
    assert.match((await kubectl(['get', 'validatingwebhookconfiguration', NAME])).stderr, /NotFound/);
    assert.match((await kubectl(['-n', NS, 'get', 'deployment', NAME])).stderr, /NotFound/);
  });

  test('namespace.create with --create-namespace fails, as the values say', () => {
    // A namespace per run: the failed release's uninstall deletes it, and with no controller manager it stays Terminating.
    const ns = `helm-ns-${process.pid}`;
    const r = helm(
      [
        'install',
        'guard-ns',
        CHART,
        '--namespace',
        ns,
        '--create-namespace',
        '--set',
        'namespace.create=true',
        '--set',
        'fullnameOverride=guard-ns',
      ],
      { kubeconfig: KUBECONFIG },
    );
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`namespaces "${ns}" already exists`));
    assert.equal(helm(['uninstall', 'guard-ns', '--namespace', ns], { kubeconfig: KUBECONFIG }).code, 0);
  });
});

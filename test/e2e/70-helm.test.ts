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
import { renderBase, renderWithNamespaceDefaults, type K8sObject } from '../manifests/render.js';
import { EVERYTHING, render, SERVICEMONITOR_CRD } from '../helm/helm.js';
import { waitFor } from '../helpers/wait.js';
import { kubectl, mustKubectl, needsRealApiServer, readState, type KubectlResult } from './env.js';

const toYaml = (objects: K8sObject[]) => objects.map((o) => stringify(o)).join('---\n');
const dryRun = (objects: K8sObject[]): Promise<KubectlResult> => kubectl(['apply', '--dry-run=server', '--validate=strict', '-f', '-'], { stdin: toYaml(objects) });

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
    await mustKubectl(['label', 'namespace', EVERYTHING_NS, '--overwrite', 'pod-security.kubernetes.io/warn=restricted']);
    await mustKubectl(['apply', '--server-side', '-f', SERVICEMONITOR_CRD]);
    await waitFor('the ServiceMonitor CRD to be Established', async () => {
      const r = await kubectl(['get', 'customresourcedefinition', 'servicemonitors.monitoring.coreos.com', '-o', 'jsonpath={.status.conditions[?(@.type=="Established")].status}']);
      return r.code === 0 && r.stdout === 'True';
    }, 60_000, 100);
  });

  test('the default render and kubectl kustomize manifests are both accepted', async () => {
    await assertAccepted(render());
    await assertAccepted(renderBase());
  });

  test('the namespace-defaults render and the overlay with the component are both accepted', async () => {
    await assertAccepted(render({ namespace: { create: true }, namespaceDefaults: { enabled: true } }));
    await assertAccepted(renderWithNamespaceDefaults());
  });

  test('every value switched on, in a namespace of its own at the restricted level, ServiceMonitor included', async () => {
    assert.ok(everything.some((o) => o.kind === 'ServiceMonitor'));
    assert.equal((await mustKubectl(['get', 'namespace', EVERYTHING_NS, '-o', 'jsonpath={.metadata.labels.pod-security\\.kubernetes\\.io/enforce}'])).stdout, 'restricted');
    await assertAccepted(everything.filter((o) => o.kind !== 'Namespace'));
  });

  test('the dry run does judge: a pod template below the restricted level draws a Pod Security warning', async () => {
    const deployment = structuredClone(everything.find((o) => o.kind === 'Deployment')!) as K8sObject & { spec: { template: { spec: { containers: { securityContext: { capabilities: unknown } }[] } } } };
    deployment.spec.template.spec.containers[0]!.securityContext.capabilities = { drop: ['NET_RAW'] };
    const r = await dryRun([deployment]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Warning: would violate PodSecurity "restricted:latest": unrestricted capabilities/);
  });

  test('the dry run does judge: a ServiceMonitor with a bad interval and a Deployment with an unknown field are refused', async () => {
    const objects = render({ metrics: { serviceMonitor: { enabled: true } } });
    const monitor = structuredClone(objects.find((o) => o.kind === 'ServiceMonitor')!) as K8sObject & { spec: { endpoints: { interval: string }[] } };
    monitor.spec.endpoints[0]!.interval = '30 seconds';
    const bad = await dryRun([monitor]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /spec\.endpoints\[0\]\.interval: Invalid value: "30 seconds"/);

    const deployment = structuredClone(objects.find((o) => o.kind === 'Deployment')!) as K8sObject & { spec: Record<string, unknown> };
    deployment.spec.replica = 2;
    const unknown = await dryRun([deployment]);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /unknown field "spec\.replica"/);
  });
});

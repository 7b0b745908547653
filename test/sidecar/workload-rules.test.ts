// The cross-object rules with workloads in the view: overlap modes, IST0101
// against pods and pod templates, ambient mode (IST0167), selector.no-proxy, KIA1006.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { storeOf, workloadKindOf } from '../../src/manifests/state.js';
import { crossObjectRules, type CrossOptions } from '../../src/sidecar/cross-rules.js';
import { ruleById } from '../../src/sidecar/rule-registry.js';
import { DEFAULT_OVERLAP, type OverlapMode } from '../../src/sidecar/selectors.js';
import type { Violation } from '../../src/sidecar/violation.js';
import { deployment, namespace, pod, sidecar, workload } from '../helpers/objects.js';

const opts = (overlap: OverlapMode = DEFAULT_OVERLAP): CrossOptions => ({ overlap, rootNamespace: 'istio-system' });

function viewOf(...objs: Record<string, unknown>[]) {
  const by = (k: string) => objs.filter((o) => o.kind === k);
  return storeOf({
    sidecars: by('Sidecar'),
    pods: by('Pod'),
    namespaces: by('Namespace'),
    workloads: objs.filter((o) => workloadKindOf(o) !== undefined),
  });
}

function judge(objs: Record<string, unknown>[], candidate: Record<string, unknown>, options = opts()): Violation[] {
  const meta = candidate.metadata as { namespace: string; name: string };
  return crossObjectRules(
    { object: candidate, ref: { namespace: meta.namespace, name: meta.name } },
    viewOf(...objs),
    options,
  );
}

const only = (vs: Violation[], rule: string) => vs.filter((v) => v.rule === rule);
const reviews = sidecar('shop', 'reviews', { selector: { app: 'reviews' } });
const reviewsV2 = sidecar('shop', 'reviews-v2', { selector: { app: 'reviews', version: 'v2' } });

describe('overlap mode workloads (the default)', () => {
  test('is the default', () => {
    assert.equal(DEFAULT_OVERLAP, 'workloads');
  });

  test('identical selectors conflict even with no pod and no workload', () => {
    const [v] = only(judge([reviews], sidecar('shop', 'same', { selector: { app: 'reviews' } })), 'conflict.overlap');
    assert.equal(v!.severity, 'error');
    assert.match(v!.message, /both apply to pods labelled app=reviews \(no such pod exists yet\)/);
  });

  test('overlapping but different selectors pass while no pod or workload carries both label sets', () => {
    assert.deepEqual(
      only(
        judge([reviews, deployment('shop', 'reviews-v1', { app: 'reviews', version: 'v1' })], reviewsV2),
        'conflict.overlap',
      ),
      [],
    );
  });

  test('a Deployment scaled to zero is enough: the message names it with its replica count', () => {
    const [v] = only(
      judge([reviews, deployment('shop', 'reviews-v2', { app: 'reviews', version: 'v2' }, 0)], reviewsV2),
      'conflict.overlap',
    );
    assert.equal(v!.severity, 'error');
    assert.match(
      v!.message,
      /^selects the same workloads as Sidecar shop\/reviews: both apply to pods labelled app=reviews,version=v2 \(Deployment shop\/reviews-v2 \(0 replicas\)\); Istio would use only one of them/,
    );
  });

  test('a CronJob template counts, and so do StatefulSets, DaemonSets, owner-less ReplicaSets and Jobs', () => {
    const labels = { app: 'reviews', version: 'v2' };
    const [cron] = only(judge([reviews, workload('CronJob', 'shop', 'report', labels)], reviewsV2), 'conflict.overlap');
    assert.match(cron!.message, /\(CronJob shop\/report\)/);
    for (const [kind, shown] of [
      ['StatefulSet', 'StatefulSet shop/w (1 replica)'],
      ['DaemonSet', 'DaemonSet shop/w'],
      ['ReplicaSet', 'ReplicaSet shop/w (1 replica)'],
      ['Job', 'Job shop/w'],
    ] as const) {
      const [v] = only(judge([reviews, workload(kind, 'shop', 'w', labels)], reviewsV2), 'conflict.overlap');
      assert.ok(v!.message.includes(`(${shown})`), `${kind}: ${v!.message}`);
    }
  });

  test('the message names at most 3 workloads and 3 pods, each list ending in ", ..." only when more carry the labels', () => {
    const labels = { app: 'reviews', version: 'v2' };
    const many = [0, 1, 2, 3].flatMap((i) => [deployment('shop', `w-${i}`, labels), pod('shop', `p-${i}`, labels)]);
    const [v] = only(judge([reviews, ...many], reviewsV2), 'conflict.overlap');
    assert.match(
      v!.message,
      /\((Deployment shop\/w-\d \(1 replica\), ){3}\.\.\.; existing pods: (p-\d, ){3}\.\.\.\); Istio would use only one/,
    );
    const three = [0, 1, 2].flatMap((i) => [deployment('shop', `w-${i}`, labels), pod('shop', `p-${i}`, labels)]);
    const [exactly] = only(judge([reviews, ...three], reviewsV2), 'conflict.overlap');
    assert.match(
      exactly!.message,
      /\((Deployment shop\/w-\d \(1 replica\), ){2}Deployment shop\/w-\d \(1 replica\); existing pods: p-\d, p-\d, p-\d\); Istio would use only one/,
    );
    const few = [0, 1].flatMap((i) => [deployment('shop', `w-${i}`, labels), pod('shop', `p-${i}`, labels)]);
    const [w] = only(judge([reviews, ...few], reviewsV2), 'conflict.overlap');
    assert.match(
      w!.message,
      /\(Deployment shop\/w-\d \(1 replica\), Deployment shop\/w-\d \(1 replica\); existing pods: p-\d, p-\d\); Istio would use only one/,
    );
  });

  test("a ReplicaSet or Job that a controller owns is left to its owner's template", () => {
    const labels = { app: 'reviews', version: 'v2' };
    assert.deepEqual(
      only(
        judge([reviews, workload('ReplicaSet', 'shop', 'rs', labels, { ownedBy: 'Deployment' })], reviewsV2),
        'conflict.overlap',
      ),
      [],
    );
    assert.deepEqual(
      only(
        judge([reviews, workload('Job', 'shop', 'job', labels, { ownedBy: 'CronJob' })], reviewsV2),
        'conflict.overlap',
      ),
      [],
    );
  });

  test('selectors on different keys conflict only when a pod or template carries both', () => {
    const a = sidecar('shop', 'ratings-app', { selector: { app: 'ratings' } });
    const b = sidecar('shop', 'ratings-myapp', { selector: { myapp: 'ratings-myapp' } });
    assert.deepEqual(only(judge([a, pod('shop', 'ratings-1', { app: 'ratings' })], b), 'conflict.overlap'), []);
    const [v] = only(
      judge([a, pod('shop', 'ratings-2', { app: 'ratings', myapp: 'ratings-myapp' })], b),
      'conflict.overlap',
    );
    assert.match(v!.message, /\(existing pods: ratings-2\)/);
  });

  test('workloads and pods of another namespace do not count', () => {
    assert.deepEqual(
      only(
        judge([reviews, deployment('other', 'reviews-v2', { app: 'reviews', version: 'v2' })], reviewsV2),
        'conflict.overlap',
      ),
      [],
    );
  });

  test('ambient pods do not make a conflict (no sidecar), in workloads and in pods mode', () => {
    const ambient = pod(
      'shop',
      'r-1',
      { app: 'reviews', version: 'v2' },
      { 'ambient.istio.io/redirection': 'enabled' },
    );
    assert.deepEqual(only(judge([reviews, ambient], reviewsV2), 'conflict.overlap'), []);
    assert.deepEqual(only(judge([reviews, ambient], reviewsV2, opts('pods')), 'conflict.overlap'), []);
    assert.equal(
      only(judge([reviews, ambient], reviewsV2, opts('labels')), 'conflict.overlap').length,
      1,
      'labels mode compares the selectors alone',
    );
  });
});

describe('overlap mode labels (the strict opt-in)', () => {
  test('says so when no pod or workload exhibits the overlap, and names the flag', () => {
    const [v] = only(
      judge([reviews, deployment('shop', 'reviews-v1', { app: 'reviews', version: 'v1' })], reviewsV2, opts('labels')),
      'conflict.overlap',
    );
    assert.equal(v!.severity, 'error');
    assert.match(
      v!.message,
      /\(no pod or workload carries these labels: --overlap=labels refuses overlaps that might only come later; --overlap=workloads, the default, would allow this\)/,
    );
  });

  test('without pods or workloads in the view it cannot say, and does not', () => {
    const [v] = only(judge([reviews], reviewsV2, opts('labels')), 'conflict.overlap');
    assert.match(v!.message, /\(no such pod exists yet\)/);
  });

  test('names the workload when one exhibits it', () => {
    const [v] = only(
      judge(
        [reviews, deployment('shop', 'reviews-v2', { app: 'reviews', version: 'v2' }, 3)],
        reviewsV2,
        opts('labels'),
      ),
      'conflict.overlap',
    );
    assert.match(v!.message, /\(Deployment shop\/reviews-v2 \(3 replicas\)\)/);
  });
});

describe('selector.no-match (IST0101): no pod and no workload template matches', () => {
  const report = sidecar('shop', 'report', { selector: { app: 'report' } });

  test('a CronJob or a Deployment scaled to zero is no false alarm (istio/istio#51273)', () => {
    const others = [pod('shop', 'unrelated', { app: 'x' })];
    assert.deepEqual(
      only(judge([...others, workload('CronJob', 'shop', 'report', { app: 'report' })], report), 'selector.no-match'),
      [],
    );
    assert.deepEqual(
      only(judge([...others, deployment('shop', 'report', { app: 'report' }, 0)], report), 'selector.no-match'),
      [],
    );
  });

  test('pods mode stays with Istio: pods only', () => {
    const [v] = only(
      judge(
        [pod('shop', 'unrelated', { app: 'x' }), workload('CronJob', 'shop', 'report', { app: 'report' })],
        report,
        opts('pods'),
      ),
      'selector.no-match',
    );
    assert.match(v!.message, /no pod in shop matches app=report yet \(IST0101\)/);
  });

  test('workloads alone (manifests without pods) are enough to judge', () => {
    const [v] = only(judge([deployment('shop', 'web', { app: 'web' })], report), 'selector.no-match');
    assert.equal(v!.severity, 'warning');
    assert.match(
      v!.message,
      /^Sidecar shop\/report: no pod and no workload template in shop matches app=report yet \(IST0101\)$/,
    );
  });

  test('nothing known, nothing said', () => {
    assert.deepEqual(only(judge([], report), 'selector.no-match'), []);
  });

  test('an ambient pod counts as a match, as in Istio (it gets IST0167 instead)', () => {
    const vs = judge(
      [pod('shop', 'report-1', { app: 'report' }, { 'ambient.istio.io/redirection': 'enabled' })],
      report,
    );
    assert.deepEqual(only(vs, 'selector.no-match'), []);
    assert.equal(only(vs, 'ambient.ineffective').length, 1);
  });
});

describe('ambient.ineffective (IST0167) at admission', () => {
  test('a namespace-wide Sidecar in an ambient namespace', () => {
    const [v] = only(
      judge([namespace('mesh', { 'istio.io/dataplane-mode': 'ambient' })], sidecar('mesh', 'default')),
      'ambient.ineffective',
    );
    assert.equal(v!.severity, 'warning');
    assert.equal(
      v!.message,
      'Sidecar mesh/default: namespace mesh is in ambient mode, so this Sidecar has no effect (IST0167)',
    );
  });

  test('not when the namespace also asks for sidecar injection or a revision, as Istio decides', () => {
    for (const labels of [{ 'istio-injection': 'enabled' }, { 'istio.io/rev': 'canary' }] as Record<string, string>[]) {
      const ns = namespace('mesh', { 'istio.io/dataplane-mode': 'ambient', ...labels });
      assert.deepEqual(only(judge([ns], sidecar('mesh', 'default')), 'ambient.ineffective'), []);
    }
  });

  test('a selector Sidecar whose pods are ambient', () => {
    const ambient = pod('shop', 'r-1', { app: 'reviews' }, { 'ambient.istio.io/redirection': 'enabled' });
    const [v] = only(judge([ambient, pod('shop', 'r-2', { app: 'reviews' })], reviews), 'ambient.ineffective');
    assert.equal(v!.severity, 'warning');
    assert.equal(v!.path, 'spec.workloadSelector.labels');
    assert.equal(
      v!.message,
      'Sidecar shop/reviews: pods it selects are in ambient mode (r-1), so it has no effect on them (IST0167)',
    );
  });

  test('the rule list (`rules`, `explain`, SARIF) gives it the severity it is reported with: a warning', () => {
    assert.equal(ruleById('ambient.ineffective')?.severity, 'warning');
  });

  test('a selector Sidecar in an ambient namespace is judged by its pods, as Istio does', () => {
    const ns = namespace('shop', { 'istio.io/dataplane-mode': 'ambient' });
    assert.deepEqual(only(judge([ns, pod('shop', 'r-2', { app: 'reviews' })], reviews), 'ambient.ineffective'), []);
  });

  test('a second namespace-wide Sidecar is still refused there (the namespace may leave ambient mode)', () => {
    const vs = judge(
      [namespace('mesh', { 'istio.io/dataplane-mode': 'ambient' }), sidecar('mesh', 'default')],
      sidecar('mesh', 'second'),
    );
    assert.equal(only(vs, 'conflict.default')[0]?.severity, 'error');
    assert.equal(only(vs, 'ambient.ineffective').length, 1);
  });
});

describe('VMs: WorkloadEntry and WorkloadGroup carry the labels of workloads outside Kubernetes', () => {
  const vm = (name: string, labels: Record<string, string>, ownedByGroup?: string) => ({
    apiVersion: 'networking.istio.io/v1',
    kind: 'WorkloadEntry',
    metadata: {
      name,
      namespace: 'shop',
      ...(ownedByGroup
        ? {
            ownerReferences: [
              {
                apiVersion: 'networking.istio.io/v1',
                kind: 'WorkloadGroup',
                name: ownedByGroup,
                uid: 'u',
                controller: true,
              },
            ],
          }
        : {}),
    },
    spec: { address: '10.0.0.7', labels },
  });
  const group = (name: string, labels: Record<string, string>) => ({
    apiVersion: 'networking.istio.io/v1',
    kind: 'WorkloadGroup',
    metadata: { name, namespace: 'shop' },
    spec: { metadata: { labels }, template: { serviceAccount: 'reviews' } },
  });

  test('a selector that only a WorkloadEntry matches is no selector.no-match (in --overlap pods, as Istio, it still is)', () => {
    const entry = vm('reviews-vm', { app: 'reviews' });
    assert.deepEqual(only(judge([entry], reviews), 'selector.no-match'), []);
    const unrelated = pod('shop', 'unrelated-1', { app: 'other' });
    assert.equal(only(judge([entry, unrelated], reviews, opts('pods')), 'selector.no-match').length, 1);
    assert.equal(only(judge([vm('other', { app: 'ratings' })], reviews), 'selector.no-match').length, 1);
  });

  test("an entry a WorkloadGroup registered is a running VM (the group's labels merged with its proxy's); the group counts too", () => {
    const registered = vm('reviews-vm-1', { app: 'reviews', extra: 'x' }, 'reviews');
    assert.deepEqual(only(judge([registered], reviews), 'selector.no-match'), []);
    assert.deepEqual(only(judge([group('reviews', { app: 'reviews' })], reviews), 'selector.no-match'), []);
  });

  test('selector.no-proxy: a VM runs its own proxy, whatever injection or ambient labels say', () => {
    const ambientNs = namespace('shop', { 'istio.io/dataplane-mode': 'ambient' });
    assert.deepEqual(only(judge([ambientNs, vm('reviews-vm', { app: 'reviews' })], reviews), 'selector.no-proxy'), []);
    const optedOut = vm('reviews-vm', { app: 'reviews', 'sidecar.istio.io/inject': 'false' });
    assert.deepEqual(only(judge([optedOut], reviews), 'selector.no-proxy'), []);
  });

  test('conflict.overlap names the WorkloadEntry both Sidecars select', () => {
    const [v] = only(
      judge([reviews, vm('reviews-v2-vm', { app: 'reviews', version: 'v2' })], reviewsV2),
      'conflict.overlap',
    );
    assert.equal(v!.severity, 'error');
    assert.match(
      v!.message,
      /both apply to pods labelled app=reviews,version=v2 \(WorkloadEntry shop\/reviews-v2-vm\)/,
    );
  });

  test("the kinds are Istio's: the same kind in another API group is not read", () => {
    assert.equal(workloadKindOf(vm('a', { app: 'reviews' })), 'WorkloadEntry');
    assert.equal(workloadKindOf({ ...vm('a', { app: 'reviews' }), apiVersion: 'example.com/v1' }), undefined);
    assert.equal(workloadKindOf(group('g', { app: 'reviews' })), 'WorkloadGroup');
  });
});

describe('selector.no-proxy (istio/istio#12193)', () => {
  const off = { app: 'reviews', 'sidecar.istio.io/inject': 'false' };
  const ambientNs = namespace('shop', { 'istio.io/dataplane-mode': 'ambient' });

  test('every selected template and pod is labelled sidecar.istio.io/inject=false', () => {
    const [v] = only(
      judge([workload('Deployment', 'shop', 'reviews', off), pod('shop', 'reviews-1', off)], reviews),
      'selector.no-proxy',
    );
    assert.equal(v!.severity, 'warning');
    assert.equal(v!.path, 'spec.workloadSelector.labels');
    assert.equal(
      v!.message,
      'Sidecar shop/reviews: everything it selects runs without a sidecar proxy (Deployment shop/reviews (1 replica), pod reviews-1: labelled sidecar.istio.io/inject=false), so this Sidecar has no effect',
    );
  });

  test('in an ambient namespace, unless the template asks for a sidecar', () => {
    const [v] = only(
      judge([ambientNs, workload('Deployment', 'shop', 'reviews', { app: 'reviews' })], reviews),
      'selector.no-proxy',
    );
    assert.match(
      v!.message,
      /\(Deployment shop\/reviews \(1 replica\): in ambient namespace shop, without sidecar\.istio\.io\/inject=true\)/,
    );
    const asks = workload('Deployment', 'shop', 'reviews', { app: 'reviews', 'sidecar.istio.io/inject': 'true' });
    assert.deepEqual(only(judge([ambientNs, asks], reviews), 'selector.no-proxy'), []);
  });

  test('not when one selected template or pod gets a sidecar, when nothing is selected, or when pods are already ambient.ineffective', () => {
    const injected = workload('Deployment', 'shop', 'reviews-b', { app: 'reviews' });
    assert.deepEqual(
      only(judge([workload('Deployment', 'shop', 'reviews', off), injected], reviews), 'selector.no-proxy'),
      [],
    );
    assert.deepEqual(
      only(
        judge([pod('shop', 'reviews-1', off), pod('shop', 'reviews-2', { app: 'reviews' })], reviews),
        'selector.no-proxy',
      ),
      [],
    );
    assert.deepEqual(only(judge([ambientNs], reviews), 'selector.no-proxy'), []);
    const marked = pod('shop', 'r-1', { app: 'reviews' }, { 'ambient.istio.io/redirection': 'enabled' });
    const vs = judge([ambientNs, marked], reviews);
    assert.deepEqual(only(vs, 'selector.no-proxy'), []);
    assert.equal(only(vs, 'ambient.ineffective').length, 1);
  });

  test('a selector that itself asks for inject=true is never warned; one that asks for false is', () => {
    const asks = sidecar('shop', 'x', { selector: { app: 'reviews', 'sidecar.istio.io/inject': 'true' } });
    const on = { app: 'reviews', 'sidecar.istio.io/inject': 'true' };
    assert.deepEqual(
      only(judge([ambientNs, workload('Deployment', 'shop', 'reviews', on)], asks), 'selector.no-proxy'),
      [],
    );
    const refuses = sidecar('shop', 'x', { selector: off });
    assert.equal(only(judge([workload('Deployment', 'shop', 'reviews', off)], refuses), 'selector.no-proxy').length, 1);
  });

  test('gateways injected with the gateway template (the gateway Helm chart) take no Sidecar', () => {
    const labels = { app: 'istio-ingressgateway', istio: 'ingressgateway', 'sidecar.istio.io/inject': 'true' };
    const gateway = workload('Deployment', 'shop', 'istio-ingressgateway', labels);
    const template = (gateway.spec as { template: { metadata: Record<string, unknown> } }).template;
    template.metadata.annotations = { 'inject.istio.io/templates': 'gateway' };
    const gatewayPod = pod('shop', 'istio-ingressgateway-abc', labels, {
      'inject.istio.io/templates': 'spire, gateway',
    });
    const forGateway = sidecar('shop', 'gw', { selector: { istio: 'ingressgateway' } });
    const [v] = only(judge([gateway, gatewayPod], forGateway), 'selector.no-proxy');
    assert.equal(v!.severity, 'warning');
    assert.equal(
      v!.message,
      'Sidecar shop/gw: everything it selects runs without a sidecar proxy (Deployment shop/istio-ingressgateway (1 replica), pod istio-ingressgateway-abc: a gateway, to which istiod applies no Sidecar), so this Sidecar has no effect',
    );
    assert.match(
      v!.hint!,
      /^remove the Sidecar: istiod applies no Sidecar to a gateway; to trim what one receives, use exportTo/,
    );
    assert.match(
      v!.hint!,
      /PILOT_FILTER_GATEWAY_CLUSTER_CONFIG, which sends a gateway only the clusters its routes reference\)$/,
    );
    // A selector that names the inject label the gateway carries is judged the same.
    const naming = sidecar('shop', 'gw', { selector: { istio: 'ingressgateway', 'sidecar.istio.io/inject': 'true' } });
    assert.equal(only(judge([gateway, gatewayPod], naming), 'selector.no-proxy').length, 1);
    // An ordinary injected pod among the selected: the Sidecar applies to it.
    const app = pod('shop', 'app-1', { istio: 'ingressgateway' });
    assert.deepEqual(only(judge([gateway, gatewayPod, app], forGateway), 'selector.no-proxy'), []);
  });

  test('which template lists make a gateway: gateway after any sidecar template, and no look-alike names', () => {
    const forGateway = sidecar('shop', 'gw', { selector: { istio: 'ingressgateway' } });
    const judged = (templates: string) =>
      only(
        judge(
          [pod('shop', 'p-1', { istio: 'ingressgateway' }, { 'inject.istio.io/templates': templates })],
          forGateway,
        ),
        'selector.no-proxy',
      ).length;
    assert.equal(judged('gateway'), 1);
    assert.equal(judged('sidecar,gateway'), 1);
    assert.equal(judged('gateway,sidecar'), 0, 'the later template sets the proxy arguments: a sidecar');
    assert.equal(judged('my-gateway'), 0);
    assert.equal(judged('sidecar,spire'), 0);
  });

  test('gateways that istiod (Gateway API, waypoints) or istioctl deploy are gateways, not pods someone forgot to inject', () => {
    const gatewayApi = pod('shop', 'web-gw-1', {
      'gateway.networking.k8s.io/gateway-name': 'web',
      'sidecar.istio.io/inject': 'false',
    });
    const [v] = only(
      judge([gatewayApi], sidecar('shop', 'gw', { selector: { 'gateway.networking.k8s.io/gateway-name': 'web' } })),
      'selector.no-proxy',
    );
    assert.match(v!.message, /\(pod web-gw-1: a gateway, to which istiod applies no Sidecar\)/);
    assert.match(v!.hint!, /^remove the Sidecar: istiod applies no Sidecar to a gateway/);
    const istioctl = workload('Deployment', 'istio-system', 'istio-ingressgateway', {
      istio: 'ingressgateway',
      'operator.istio.io/component': 'IngressGateways',
      'sidecar.istio.io/inject': 'false',
    });
    const selecting = sidecar('istio-system', 'gw', { selector: { istio: 'ingressgateway' } });
    const [w] = only(judge([istioctl], selecting), 'selector.no-proxy');
    assert.match(
      w!.message,
      /\(Deployment istio-system\/istio-ingressgateway \(1 replica\): a gateway, to which istiod applies no Sidecar\)/,
    );
  });

  test('a pod labelled inject=false is never injected, whatever template it names: no gateway, the ordinary way out', () => {
    const skipped = pod(
      'shop',
      'r-1',
      { app: 'reviews', 'sidecar.istio.io/inject': 'false' },
      { 'inject.istio.io/templates': 'gateway' },
    );
    const [v] = only(judge([skipped], reviews), 'selector.no-proxy');
    assert.match(v!.message, /\(pod r-1: labelled sidecar\.istio\.io\/inject=false\)/);
    assert.equal(
      v!.hint,
      'remove the Sidecar, or give these pods a sidecar (label the pod template sidecar.istio.io/inject: "true"), or correct the selector',
    );
  });

  test('gateways beside templates labelled inject=false: both reasons, and both ways out', () => {
    const gatewayPod = pod('shop', 'gw-1', { app: 'reviews' }, { 'inject.istio.io/templates': 'gateway' });
    const [v] = only(judge([workload('Deployment', 'shop', 'reviews', off), gatewayPod], reviews), 'selector.no-proxy');
    assert.match(
      v!.message,
      /: labelled sidecar\.istio\.io\/inject=false or a gateway, to which istiod applies no Sidecar\)/,
    );
    assert.match(
      v!.hint!,
      /^remove the Sidecar, or give these pods a sidecar .*; istiod applies no Sidecar to a gateway/,
    );
  });

  test('more than 32 selected pods are not read to judge', () => {
    const pods = Array.from({ length: 33 }, (_, i) => pod('shop', `reviews-${i}`, off));
    assert.deepEqual(only(judge(pods, reviews), 'selector.no-proxy'), []);
    assert.equal(only(judge(pods.slice(0, 32), reviews), 'selector.no-proxy').length, 1);
  });
});

test("root.selector carries Kiali's KIA1006", () => {
  const [v] = only(judge([], sidecar('istio-system', 'gw', { selector: { app: 'x' } })), 'root.selector');
  assert.match(v!.message, /not mesh-wide \(KIA1006\)$/);
});

/** An istiod Deployment as Istio's chart labels it: app: istiod, and istio.io/rev naming its revision. */
const istiod = (rev?: string, name = `istiod-${rev ?? 'x'}`, ns = 'istio-system') =>
  deployment(ns, name, { app: 'istiod', ...(rev === undefined ? {} : { 'istio.io/rev': rev }) });

describe('revision.no-istiod: an istio.io/rev label no istiod reads', () => {
  const labelled = (rev: string, selector?: Record<string, string>) =>
    sidecar('shop', 'reviews', { labels: { 'istio.io/rev': rev }, ...(selector ? { selector } : {}) });
  const fired = (objs: Record<string, unknown>[], candidate: Record<string, unknown>) =>
    only(judge(objs, candidate), 'revision.no-istiod');

  test('a revision no istiod runs (a tag, a typo) is a warning naming the ones that run and where', () => {
    const [v, ...rest] = fired([istiod('1-28'), istiod('default', 'istiod')], labelled('prod-stable'));
    assert.equal(rest.length, 0);
    assert.equal(v!.severity, 'warning');
    assert.equal(v!.path, 'metadata.labels[istio.io/rev]');
    assert.equal(
      v!.message,
      'Sidecar shop/reviews: it is labelled istio.io/rev="prod-stable", a revision no istiod runs (istiods: "1-28", "default" in istio-system), so no istiod reads it and this Sidecar has no effect',
    );
    assert.equal(
      v!.hint,
      "label it with the revision whose istiod should read it (one of 1-28, default), or remove istio.io/rev so every istiod reads it; istiod reads no config labelled with a revision tag's name",
    );
    const [one] = fired([istiod('1-28')], labelled('1-27'));
    assert.match(one!.hint!, /^label it with the revision whose istiod should read it \(1-28\), or remove/);
  });

  test('selector and namespace-wide Sidecars alike; the root namespace option decides where istiods must be seen', () => {
    assert.equal(fired([istiod('1-28')], labelled('canary', { app: 'reviews' })).length, 1);
    assert.equal(fired([istiod('1-28')], labelled('canary')).length, 1);
    const elsewhere = judge([istiod('1-28')], labelled('canary'), { ...opts(), rootNamespace: 'mesh-root' });
    assert.deepEqual(only(elsewhere, 'revision.no-istiod'), [], 'no istiod seen in mesh-root: nothing is said');
  });

  test('an istiod of the revision in another namespace (a second control plane, a canary of its own) reads it', () => {
    const canary = istiod('canary', 'istiod-canary', 'istio-canary');
    assert.deepEqual(fired([istiod('1-28'), canary], labelled('canary')), []);
    const [v] = fired([istiod('1-28'), canary], labelled('typo'));
    assert.match(v!.message, /\(istiods: "1-28" in istio-system; "canary" in istio-canary\)/);
    assert.match(v!.hint!, /\(one of 1-28, canary\)/);
    const unlabelled = istiod(undefined, 'istiod', 'other-plane');
    assert.deepEqual(
      fired([istiod('1-28'), unlabelled], labelled('typo')),
      [],
      'an istiod elsewhere without its revision',
    );
  });

  test('the revision an istiod runs, or no label at all, is read: nothing', () => {
    assert.deepEqual(fired([istiod('1-28'), istiod('default', 'istiod')], labelled('default')), []);
    assert.deepEqual(fired([istiod('1-28')], labelled('1-28')), []);
    assert.deepEqual(fired([istiod('1-28')], sidecar('shop', 'reviews')), []);
  });

  test('nothing is said without an istiod in view, or when one does not name its revision', () => {
    assert.deepEqual(fired([], labelled('canary')), []);
    assert.deepEqual(
      fired([deployment('istio-system', 'other', { app: 'prometheus', 'istio.io/rev': 'x' })], labelled('canary')),
      [],
    );
    assert.deepEqual(fired([istiod('1-28'), istiod(undefined, 'istiod-old')], labelled('canary')), []);
  });

  test('past 256 istiod pods or workloads in a namespace nothing is said: one not read could run the revision', () => {
    const pods = Array.from({ length: 257 }, (_, i) =>
      pod('istio-system', `istiod-${i}`, { app: 'istiod', 'istio.io/rev': '1-28' }),
    );
    assert.deepEqual(fired(pods, labelled('canary')), []);
    assert.equal(fired(pods.slice(0, 256), labelled('canary')).length, 1);
    const deployments = Array.from({ length: 257 }, (_, i) => istiod('1-28', `istiod-${i}`));
    assert.deepEqual(fired(deployments, labelled('canary')), []);
    assert.equal(fired(deployments.slice(0, 256), labelled('canary')).length, 1);
  });

  test('istiod pods count as well as its Deployment (a view of pods only)', () => {
    const p = pod('istio-system', 'istiod-1-28-abc', { app: 'istiod', 'istio.io/rev': '1-28' });
    assert.equal(fired([p], labelled('canary')).length, 1);
    assert.deepEqual(fired([p], labelled('1-28')), []);
  });

  test('an empty label names no revision an istiod of the chart runs', () => {
    const [v] = fired([istiod('default', 'istiod')], labelled(''));
    assert.match(v!.message, /istio\.io\/rev="", a revision no istiod runs/);
  });
});

describe("revision.pod-mismatch: an istio.io/rev label none of the Sidecar's pods runs", () => {
  const both = [istiod('1-27'), istiod('1-28')];
  /** A pod of app reviews that revision `rev` injected (the injector's annotation). */
  const injected = (name: string, rev: string, labels: Record<string, string> = { app: 'reviews' }) =>
    pod('shop', name, labels, { 'istio.io/rev': rev });
  const labelled = (rev: string, selector: Record<string, string> | null = { app: 'reviews' }, ns = 'shop') =>
    sidecar(ns, 'reviews', { labels: { 'istio.io/rev': rev }, ...(selector ? { selector } : {}) });
  const fired = (objs: Record<string, unknown>[], candidate: Record<string, unknown>) =>
    only(judge(objs, candidate), 'revision.pod-mismatch');

  test("a Sidecar of 1-28 whose pods run 1-27's proxies is a warning naming the pods and their revision", () => {
    const [v, ...rest] = fired(
      [...both, injected('reviews-a', '1-27'), injected('reviews-b', '1-27')],
      labelled('1-28'),
    );
    assert.equal(rest.length, 0);
    assert.equal(v!.severity, 'warning');
    assert.equal(v!.path, 'metadata.labels[istio.io/rev]');
    assert.equal(
      v!.message,
      'Sidecar shop/reviews: it is labelled istio.io/rev="1-28", so only the istiod of revision "1-28" reads it, but the pods it selects (reviews-a, reviews-b) run proxies of revision "1-27" (their istio.io/rev annotation), whose istiod does not read it: this Sidecar has no effect on them',
    );
    assert.equal(
      v!.hint,
      'remove istio.io/rev so every istiod reads it, label it "1-27", or restart the pods so that revision "1-28" injects them',
    );
    const pods = ['a', 'b', 'c', 'd'].map((x, i) => injected(`reviews-${x}`, i % 2 ? '1-27' : 'default'));
    const [many] = fired([...both, istiod('default'), ...pods], labelled('1-28'));
    assert.match(
      many!.message,
      /\(reviews-a, reviews-b, reviews-c, and 1 more\) run proxies of revision "1-27", "default"/,
    );
    assert.match(many!.hint!, /label it with the pods' revision \("1-27", "default"\)/);
  });

  test('a namespace-wide Sidecar is judged against the pods of its namespace, but not in the root namespace', () => {
    const [v] = fired([...both, injected('ratings-a', '1-27', { app: 'ratings' })], labelled('1-28', null));
    assert.match(v!.message, /but the pods of namespace shop \(ratings-a\) run proxies of revision "1-27"/);
    const rootPod = pod('istio-system', 'x', {}, { 'istio.io/rev': '1-27' });
    assert.deepEqual(fired([...both, rootPod], labelled('1-28', null, 'istio-system')), []);
    // A `{}` there is no mesh-wide default: it applies to the root namespace's own pods, and is judged so.
    const rootAll = sidecar('istio-system', 'all', {
      labels: { 'istio.io/rev': '1-28' },
      spec: { workloadSelector: {} },
    });
    assert.equal(fired([...both, rootPod], rootAll).length, 1);
  });

  test('a revision no istiod runs is revision.no-istiod alone: no "only the istiod of revision X reads it" beside it', () => {
    const all = judge([...both, injected('reviews-a', '1-27')], labelled('canary'));
    assert.deepEqual(
      all.filter((v) => v.rule.startsWith('revision.')).map((v) => v.rule),
      ['revision.no-istiod'],
    );
  });

  test('one selected pod of its own revision, or an unlabelled Sidecar (every istiod reads it): nothing', () => {
    assert.deepEqual(fired([...both, injected('a', '1-27'), injected('b', '1-28')], labelled('1-28')), []);
    assert.deepEqual(
      fired([...both, injected('a', '1-27')], sidecar('shop', 'reviews', { selector: { app: 'reviews' } })),
      [],
    );
  });

  test("nothing is said when the pods' istiod is not seen labelled with their revision (it might read everything)", () => {
    assert.deepEqual(fired([istiod('1-28'), injected('a', '1-27')], labelled('1-28')), []);
    assert.deepEqual(fired([...both, istiod(undefined), injected('a', '1-27')], labelled('1-28')), []);
    assert.deepEqual(fired([injected('a', '1-27')], labelled('1-28')), []);
  });

  test('pods not injected, gateways and ambient pods are left to the other rules', () => {
    assert.deepEqual(fired([...both, pod('shop', 'a', { app: 'reviews' })], labelled('1-28')), []);
    const gateway = pod(
      'shop',
      'gw',
      { app: 'reviews' },
      {
        'istio.io/rev': '1-27',
        'inject.istio.io/templates': 'gateway',
      },
    );
    assert.deepEqual(fired([...both, gateway], labelled('1-28')), []);
    const ambient = pod(
      'shop',
      'amb',
      { app: 'reviews' },
      {
        'istio.io/rev': '1-27',
        'ambient.istio.io/redirection': 'enabled',
      },
    );
    assert.deepEqual(fired([...both, ambient], labelled('1-28')), []);
  });

  test('past 64 selected pods nothing is said: each would have to be read', () => {
    const pods = (n: number) =>
      Array.from({ length: n }, (_, i) => injected(`reviews-${i}`, '1-27', { app: 'reviews', i: `${i}` }));
    assert.equal(fired([...both, ...pods(64)], labelled('1-28')).length, 1);
    assert.deepEqual(fired([...both, ...pods(65)], labelled('1-28')), []);
  });

  test("the store keeps each pod group's revision: same labels, another revision, another group; a re-injection is seen", () => {
    const view = viewOf(injected('a', '1-27'), injected('b', '1-28'));
    assert.deepEqual(
      view
        .podsMatching('shop', { app: 'reviews' }, 10)
        .map((p) => [p.name, p.revision])
        .sort(),
      [
        ['a', '1-27'],
        ['b', '1-28'],
      ],
    );
    view.upsertPod(injected('a', '1-28'));
    assert.deepEqual(
      view.podsMatching('shop', { app: 'reviews' }, 10).map((p) => p.revision),
      ['1-28', '1-28'],
    );
  });
});

// The view's workloads, Services, ServiceEntries and ambient pods, and the
// reductions the informers apply before anything is stored.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ClusterStore } from '../../src/cluster/store.js';
import { Reservations } from '../../src/cluster/reservations.js';
import {
  serviceEntryInfoOf,
  sidecarInfoOf,
  slimServiceEntry,
  slimService,
  slimWorkload,
  visibleTo,
  workloadInfoOf,
} from '../../src/sidecar/records.js';
import { deployment, pod, service, serviceEntry, sidecar, workload } from '../helpers/objects.js';

/** Records keep label maps without a prototype; compare their JSON. */
const plain = (x: unknown): unknown => JSON.parse(JSON.stringify(x));

describe('workloads in the view', () => {
  test('indexed by template label, per namespace, with kind and replicas', () => {
    const s = new ClusterStore();
    assert.equal(s.knowsWorkloads(), false);
    s.upsertWorkload(deployment('shop', 'reviews-v2', { app: 'reviews', version: 'v2' }, 0), 'Deployment');
    s.upsertWorkload(workload('CronJob', 'shop', 'report', { app: 'report' }), 'CronJob');
    s.upsertWorkload(workload('StatefulSet', 'shop', 'db', { app: 'db' }), 'StatefulSet');
    assert.equal(s.knowsWorkloads(), true);
    assert.deepEqual(plain(s.workloadsMatching('shop', { app: 'reviews' }, 5)), [
      {
        kind: 'Deployment',
        namespace: 'shop',
        name: 'reviews-v2',
        labels: { app: 'reviews', version: 'v2' },
        replicas: 0,
      },
    ]);
    assert.deepEqual(
      s.workloadsMatching('shop', { app: 'report' }, 5).map((w) => [w.kind, w.replicas]),
      [['CronJob', undefined]],
    );
    assert.deepEqual(
      s.workloadsMatching('shop', { app: 'db' }, 5).map((w) => w.replicas),
      [1],
      'replicas unset means 1',
    );
    assert.deepEqual(s.workloadsMatching('shop', { app: 'reviews', version: 'v1' }, 5), []);
    assert.deepEqual(s.workloadsMatching('other', { app: 'reviews' }, 5), []);
    assert.equal(s.counts().workloads, 3);
  });

  test('the same name in two kinds is two workloads; an update replaces the labels', () => {
    const s = new ClusterStore();
    s.upsertWorkload(deployment('shop', 'web', { app: 'web' }), 'Deployment');
    s.upsertWorkload(workload('StatefulSet', 'shop', 'web', { app: 'web' }), 'StatefulSet');
    assert.equal(s.workloadsMatching('shop', { app: 'web' }, 5).length, 2);
    s.upsertWorkload(deployment('shop', 'web', { app: 'web2' }), 'Deployment');
    assert.deepEqual(
      s.workloadsMatching('shop', { app: 'web' }, 5).map((w) => w.kind),
      ['StatefulSet'],
    );
    s.deleteWorkload('StatefulSet', 'shop', 'web');
    assert.deepEqual(s.workloadsMatching('shop', { app: 'web' }, 5), []);
  });

  test('a label shared by several workloads, then by one, then by none, keeps matching right', () => {
    const s = new ClusterStore();
    for (const n of ['a', 'b', 'c']) s.upsertWorkload(deployment('shop', n, { team: 't', app: n }), 'Deployment');
    assert.equal(s.workloadsMatching('shop', { team: 't' }, 10).length, 3);
    s.deleteWorkload('Deployment', 'shop', 'a');
    s.deleteWorkload('Deployment', 'shop', 'b');
    assert.deepEqual(
      s.workloadsMatching('shop', { team: 't' }, 10).map((w) => w.name),
      ['c'],
    );
    assert.deepEqual(
      s.workloadsMatching('shop', { team: 't', app: 'c' }, 10).map((w) => w.name),
      ['c'],
    );
    s.deleteWorkload('Deployment', 'shop', 'c');
    assert.deepEqual(s.workloadsMatching('shop', { team: 't' }, 10), []);
    s.upsertWorkload(deployment('shop', 'd', { team: 't' }), 'Deployment');
    s.upsertWorkload(deployment('shop', 'd', { team: 't' }), 'Deployment');
    assert.deepEqual(
      s.workloadsMatching('shop', { team: 't' }, 10).map((w) => w.name),
      ['d'],
      're-adding the same one does not double it',
    );
  });

  test('a ReplicaSet adopted by a Deployment leaves the view (its owner has the template)', () => {
    const s = new ClusterStore();
    s.upsertWorkload(workload('ReplicaSet', 'shop', 'rs', { app: 'x' }), 'ReplicaSet');
    assert.equal(s.workloadsMatching('shop', { app: 'x' }, 5).length, 1);
    s.upsertWorkload(workload('ReplicaSet', 'shop', 'rs', { app: 'x' }, { ownedBy: 'Deployment' }), 'ReplicaSet');
    assert.deepEqual(s.workloadsMatching('shop', { app: 'x' }, 5), []);
  });

  test('replaceWorkloads replaces one kind and leaves the others', () => {
    const s = new ClusterStore();
    s.upsertWorkload(deployment('shop', 'a', { app: 'a' }), 'Deployment');
    s.upsertWorkload(workload('Job', 'shop', 'j', { app: 'j' }), 'Job');
    const seen: string[] = [];
    s.onChange((kind, ns, name) => seen.push(`${kind} ${ns}/${name}`));
    s.replaceWorkloads('Deployment', [
      slimWorkload(deployment('shop', 'b', { app: 'b' }), 'Deployment'),
      slimWorkload(deployment('shop', 'c', { app: 'c' }), 'Deployment'),
    ]);
    assert.deepEqual(
      s
        .workloads('shop')
        .map((w) => `${w.kind}/${w.name}`)
        .sort(),
      ['Deployment/b', 'Deployment/c', 'Job/j'],
    );
    assert.deepEqual(seen.sort(), ['Workload shop/a', 'Workload shop/b', 'Workload shop/c']);
    seen.length = 0;
    s.replaceWorkloads('Deployment', [
      slimWorkload(deployment('shop', 'b', { app: 'b' }), 'Deployment'),
      slimWorkload(deployment('shop', 'c', { app: 'c' }), 'Deployment'),
    ]);
    assert.deepEqual(seen, [], 'an unchanged re-list notifies nobody');
  });

  test('slimWorkload keeps what the view reads and drops the pod spec', () => {
    const big = deployment('shop', 'web', { app: 'web' }, 2);
    (big.spec as { template: { spec: unknown } }).template.spec = {
      containers: Array.from({ length: 50 }, (_, i) => ({ name: `c${i}`, image: 'x'.repeat(100) })),
    };
    const slim = slimWorkload(big, 'Deployment');
    assert.ok(JSON.stringify(slim).length < 200, JSON.stringify(slim));
    assert.deepEqual(workloadInfoOf(slim, 'Deployment'), workloadInfoOf(big, 'Deployment'));
    const cron = workload('CronJob', 'shop', 'c', { app: 'c' });
    assert.deepEqual(plain(workloadInfoOf(slimWorkload(cron, 'CronJob'), 'CronJob')), {
      kind: 'CronJob',
      namespace: 'shop',
      name: 'c',
      labels: { app: 'c' },
    });
    const owned = workload('Job', 'shop', 'j', { app: 'j' }, { ownedBy: 'CronJob' });
    assert.equal(workloadInfoOf(slimWorkload(owned, 'Job'), 'Job'), undefined);
  });

  test('a gateway template keeps its flag through slimWorkload and a re-list that adds it is a change; other annotations go', () => {
    const gateway = (annotations?: Record<string, string>) => {
      const d = deployment('shop', 'gw', { istio: 'ingressgateway' });
      if (annotations)
        (d.spec as { template: { metadata: Record<string, unknown> } }).template.metadata.annotations = annotations;
      return d;
    };
    const annotated = gateway({ 'inject.istio.io/templates': 'gateway', 'prometheus.io/port': '15020' });
    const slim = slimWorkload(annotated, 'Deployment') as { spec: { template: { metadata: unknown } } };
    assert.deepEqual(slim.spec.template.metadata, {
      labels: { istio: 'ingressgateway' },
      annotations: { 'inject.istio.io/templates': 'gateway' },
    });
    assert.equal(workloadInfoOf(slim, 'Deployment')!.gateway, true);
    assert.equal(workloadInfoOf(slimWorkload(gateway(), 'Deployment'), 'Deployment')!.gateway, undefined);
    const s = new ClusterStore();
    s.replaceWorkloads('Deployment', [slimWorkload(gateway(), 'Deployment')]);
    assert.equal(s.hasGatewayMatching('shop', { istio: 'ingressgateway' }), false);
    const seen: string[] = [];
    s.onChange((kind, ns, name) => seen.push(`${kind} ${ns}/${name}`));
    s.replaceWorkloads('Deployment', [slim]);
    assert.deepEqual(seen, ['Workload shop/gw']);
    assert.equal(s.hasGatewayMatching('shop', { istio: 'ingressgateway' }), true);
    assert.equal(s.hasGatewayMatching('shop', { istio: 'egressgateway' }), false);
    s.deleteWorkload('Deployment', 'shop', 'gw');
    assert.equal(s.hasGatewayMatching('shop', { istio: 'ingressgateway' }), false);
  });

  test('slimWorkload keeps the labels of a WorkloadEntry (spec.labels) and a WorkloadGroup (spec.metadata.labels)', () => {
    const entry = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'WorkloadEntry',
      metadata: { name: 'vm-1', namespace: 'shop' },
      spec: { address: '10.0.0.7', ports: { http: 8080 }, labels: { app: 'reviews' }, serviceAccount: 'reviews' },
    };
    const group = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'WorkloadGroup',
      metadata: { name: 'vms', namespace: 'shop' },
      spec: { metadata: { labels: { app: 'ratings' } }, template: { serviceAccount: 'ratings' }, probe: {} },
    };
    assert.deepEqual(slimWorkload(entry, 'WorkloadEntry'), {
      metadata: { name: 'vm-1', namespace: 'shop' },
      spec: { labels: { app: 'reviews' } },
    });
    assert.deepEqual(plain(workloadInfoOf(slimWorkload(entry, 'WorkloadEntry'), 'WorkloadEntry')), {
      kind: 'WorkloadEntry',
      namespace: 'shop',
      name: 'vm-1',
      labels: { app: 'reviews' },
    });
    assert.deepEqual(plain(workloadInfoOf(slimWorkload(group, 'WorkloadGroup'), 'WorkloadGroup')), {
      kind: 'WorkloadGroup',
      namespace: 'shop',
      name: 'vms',
      labels: { app: 'ratings' },
    });
  });

  test('slimService keeps name, namespace, the exportTo annotation and port numbers; the view answers servicePorts', () => {
    const full = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'reviews',
        namespace: 'shop',
        annotations: {
          'networking.istio.io/exportTo': '.',
          'kubectl.kubernetes.io/last-applied-configuration': 'x'.repeat(500),
        },
      },
      spec: {
        selector: { app: 'reviews' },
        clusterIP: '10.0.0.1',
        ports: [{ name: 'http', port: 9080, targetPort: 8080 }, { name: 'grpc', port: 9090 }, { port: 'bad' }],
      },
    };
    assert.deepEqual(slimService(full), {
      metadata: { name: 'reviews', namespace: 'shop', annotations: { 'networking.istio.io/exportTo': '.' } },
      spec: { ports: [{ port: 9080 }, { port: 9090 }] },
    });
    const s = new ClusterStore();
    s.replaceServices([slimService(full)]);
    assert.deepEqual(s.servicePorts('shop', 'reviews'), [9080, 9090]);
    assert.deepEqual(s.service('shop', 'reviews'), {
      namespace: 'shop',
      name: 'reviews',
      exportTo: ['.'],
      ports: [9080, 9090],
    });
    s.upsertService({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'reviews', namespace: 'shop' } });
    assert.equal(s.servicePorts('shop', 'reviews'), undefined, 'a metadata-only read: ports not known');
    s.deleteService('shop', 'reviews');
    assert.equal(s.servicePorts('shop', 'reviews'), undefined);
    // An ExternalName Service is an alias routed with its target's ports: its own are not known.
    const external = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'ext', namespace: 'shop' },
      spec: { type: 'ExternalName', externalName: 'reviews.shop.svc.cluster.local', ports: [{ port: 80 }] },
    };
    assert.deepEqual(slimService(external), {
      metadata: { name: 'ext', namespace: 'shop' },
      spec: { type: 'ExternalName', ports: [{ port: 80 }] },
    });
    s.upsertService(slimService(external));
    assert.equal(s.hasService('shop', 'ext'), true);
    assert.equal(s.servicePorts('shop', 'ext'), undefined);
  });

  test('odd replica counts read as 1, and a non-controller owner does not hide a workload', () => {
    const odd = deployment('shop', 'x', { app: 'x' });
    (odd.spec as Record<string, unknown>).replicas = 'three';
    assert.equal(workloadInfoOf(odd, 'Deployment')!.replicas, 1);
    const gc = workload('ReplicaSet', 'shop', 'rs', { app: 'x' });
    (gc.metadata as Record<string, unknown>).ownerReferences = [{ kind: 'Something', name: 'o', controller: false }];
    assert.ok(workloadInfoOf(gc, 'ReplicaSet'));
  });
});

describe('Services and ServiceEntries in the view', () => {
  test('Services by name per namespace, with the exportTo annotation', () => {
    const s = new ClusterStore();
    assert.equal(s.knowsRegistry(), false);
    s.upsertService(service('shop', 'ratings'));
    s.upsertService(service('shop', 'hidden', { 'networking.istio.io/exportTo': '., istio-system' }));
    assert.equal(s.knowsRegistry(), true);
    assert.deepEqual(s.service('shop', 'ratings'), { namespace: 'shop', name: 'ratings', ports: [80] });
    assert.deepEqual(s.service('shop', 'hidden'), {
      namespace: 'shop',
      name: 'hidden',
      exportTo: ['.', 'istio-system'],
      ports: [80],
    });
    assert.equal(s.service('other', 'ratings'), undefined);
    // One lookup for both questions: null is a Service without exportTo, undefined no Service at all.
    assert.equal(s.serviceExportTo('shop', 'ratings'), null);
    assert.deepEqual(s.serviceExportTo('shop', 'hidden'), ['.', 'istio-system']);
    assert.equal(s.serviceExportTo('shop', 'nope'), undefined);
    assert.equal(s.serviceExportTo('other', 'ratings'), undefined);
    assert.deepEqual(
      [s.hasService('shop', 'ratings'), s.hasService('shop', 'hidden'), s.hasService('shop', 'nope')],
      [true, true, false],
    );
    s.deleteService('shop', 'ratings');
    assert.equal(s.serviceExportTo('shop', 'ratings'), undefined);
    assert.deepEqual(
      s.services('shop').map((x) => x.name),
      ['hidden'],
    );
    s.replaceServices([{ metadata: { name: 'a', namespace: 'b' } }]);
    assert.deepEqual(s.counts().services, 1);
  });

  test('ServiceEntries by host and by namespace; updates and deletes keep the host index right', () => {
    const s = new ClusterStore();
    s.upsertServiceEntry(serviceEntry('egress', 'stripe', ['api.stripe.com', 'api.stripe.com'], ['shop']));
    s.upsertServiceEntry(serviceEntry('other', 'stripe2', ['api.stripe.com']));
    assert.deepEqual(
      s.serviceEntriesWithHost('api.stripe.com').map((e) => `${e.namespace}/${e.name}`),
      ['egress/stripe', 'other/stripe2'],
    );
    s.upsertServiceEntry(serviceEntry('egress', 'stripe', ['files.stripe.com']));
    assert.deepEqual(
      s.serviceEntriesWithHost('api.stripe.com').map((e) => e.name),
      ['stripe2'],
    );
    assert.deepEqual(
      s.serviceEntriesWithHost('files.stripe.com').map((e) => e.exportTo),
      [undefined],
    );
    s.deleteServiceEntry('other', 'stripe2');
    assert.deepEqual(s.serviceEntriesWithHost('api.stripe.com'), []);
    assert.deepEqual(
      s.serviceEntries('egress').map((e) => e.name),
      ['stripe'],
    );
    s.replaceServiceEntries([slimServiceEntry(serviceEntry('x', 'y', ['h.example.com']))]);
    assert.deepEqual(s.serviceEntries('egress'), []);
    assert.equal(s.serviceEntriesWithHost('h.example.com').length, 1);
  });

  test('slimServiceEntry keeps hosts, exportTo and port numbers only', () => {
    const se = serviceEntry('egress', 'stripe', ['api.stripe.com'], ['shop']);
    assert.deepEqual(slimServiceEntry(se), {
      metadata: { name: 'stripe', namespace: 'egress' },
      spec: { hosts: ['api.stripe.com'], exportTo: ['shop'], ports: [{ number: 443 }] },
    });
    assert.deepEqual(serviceEntryInfoOf(slimServiceEntry(se)), serviceEntryInfoOf(se));
    assert.deepEqual(serviceEntryInfoOf(se)?.ports, [443]);
    // No ports: none (istiod imports such an entry on no port listener); a port number that is no port is dropped.
    const bare = {
      ...se,
      spec: { hosts: ['api.stripe.com'], ports: [{ number: 0 }, { number: '80' }, { number: 8443 }] },
    };
    assert.deepEqual(serviceEntryInfoOf(slimServiceEntry(bare))?.ports, [8443]);
    assert.deepEqual(serviceEntryInfoOf({ ...se, spec: { hosts: ['api.stripe.com'] } })?.ports, []);
  });

  test("Istio's exportTo visibility", () => {
    assert.equal(visibleTo(undefined, 'a', 'b'), true);
    assert.equal(visibleTo(['*'], 'a', 'b'), true);
    assert.equal(visibleTo(['.'], 'a', 'a'), true);
    assert.equal(visibleTo(['.'], 'a', 'b'), false);
    assert.equal(visibleTo(['~'], 'a', 'a'), false);
    assert.equal(visibleTo(['b', 'c'], 'a', 'c'), true);
    assert.equal(visibleTo(['b'], 'a', 'a'), false);
  });

  test('namespaces exist through Namespace objects or, in manifests, through what lives in them', () => {
    const s = new ClusterStore();
    assert.equal(s.knowsNamespaces(), false);
    s.upsertNamespace({ metadata: { name: 'shop' } });
    s.upsertService(service('backend', 'payment'));
    assert.equal(s.knowsNamespaces(), true);
    assert.equal(s.hasNamespace('shop'), true);
    assert.equal(s.hasNamespace('backend'), true);
    assert.equal(s.hasNamespace('nowhere'), false);
    s.deleteService('backend', 'payment');
    assert.equal(s.hasNamespace('backend'), false, 'an emptied namespace is not kept alive by its bucket');
  });
});

describe('ambient pods and the Sidecar records the new rules read', () => {
  test('pods keep their ambient mode; lookups can ask for either kind', () => {
    const s = new ClusterStore();
    s.upsertPod(pod('shop', 'a', { app: 'r' }, { 'ambient.istio.io/redirection': 'enabled' }));
    s.upsertPod(pod('shop', 'b', { app: 'r' }));
    assert.deepEqual(
      s
        .podsMatching('shop', { app: 'r' }, 5)
        .map((p) => [p.name, p.ambient])
        .sort(),
      [
        ['a', true],
        ['b', false],
      ],
    );
    assert.deepEqual(
      s.podsMatching('shop', { app: 'r' }, 5, 'sidecar').map((p) => p.name),
      ['b'],
    );
    assert.deepEqual(
      s.podsMatching('shop', { app: 'r' }, 5, 'ambient').map((p) => p.name),
      ['a'],
    );
    s.upsertPod(pod('shop', 'a', { app: 'r' }));
    assert.deepEqual(
      s.podsMatching('shop', { app: 'r' }, 5, 'ambient'),
      [],
      'the annotation removed: no longer ambient',
    );
    for (const name of ['a', 'b'])
      s.upsertPod(pod('shop', name, { app: 'r' }, { 'ambient.istio.io/redirection': 'enabled' }));
    assert.deepEqual(s.podsMatching('shop', { app: 'r' }, 5, 'sidecar'), [], 'every pod ambient: none with a sidecar');
    assert.deepEqual(
      s
        .podsMatching('shop', { app: 'r' }, 5, 'ambient')
        .map((p) => p.name)
        .sort(),
      ['a', 'b'],
    );
  });

  test('a re-list notices a pod that only changed its ambient mode', () => {
    const s = new ClusterStore();
    s.replacePods([pod('shop', 'a', { app: 'r' })]);
    const seen: string[] = [];
    s.onChange((kind, _ns, name) => seen.push(`${kind} ${name}`));
    s.replacePods([pod('shop', 'a', { app: 'r' }, { 'ambient.istio.io/redirection': 'enabled' })]);
    assert.deepEqual(seen, ['Pod a']);
  });

  test("Sidecar records say whether the selector field is there and keep a default's egress hosts", () => {
    assert.deepEqual(
      [sidecarInfoOf(sidecar('a', 'd'))!.selectorPresent, sidecarInfoOf(sidecar('a', 'd'))!.egressHosts],
      [false, ['./*', 'istio-system/*']],
    );
    const empty = sidecarInfoOf(sidecar('a', 'e', { spec: { workloadSelector: {} } }))!;
    assert.deepEqual([empty.selector, empty.selectorPresent, empty.egressHosts], [null, true, undefined]);
    const noEgress = sidecar('a', 'n');
    delete (noEgress.spec as Record<string, unknown>).egress;
    assert.equal(sidecarInfoOf(noEgress)!.egressHosts, null);
  });

  test('the reservation overlay passes the new reads through to the base view', () => {
    const s = new ClusterStore();
    s.upsertWorkload(deployment('shop', 'w', { app: 'w' }), 'Deployment');
    s.upsertService(service('shop', 'svc'));
    s.upsertServiceEntry(serviceEntry('shop', 'se', ['x.example.com']));
    s.upsertNamespace({ metadata: { name: 'shop' } });
    const view = new Reservations({ view: s }).overlay();
    assert.equal(view.workloadsMatching('shop', { app: 'w' }, 1).length, 1);
    assert.equal(view.knowsWorkloads(), true);
    assert.deepEqual(view.service('shop', 'svc'), { namespace: 'shop', name: 'svc', ports: [80] });
    assert.deepEqual(view.servicePorts('shop', 'svc'), [80]);
    assert.equal(view.services('shop').length, 1);
    assert.equal(view.serviceEntriesWithHost('x.example.com').length, 1);
    assert.equal(view.serviceEntries('shop').length, 1);
    assert.equal(view.knowsRegistry(), true);
    assert.equal(view.knowsNamespaces(), true);
    assert.equal(view.hasNamespace('shop'), true);
    assert.equal(view.podsMatching('shop', { app: 'w' }, 1, 'sidecar').length, 0);
  });
});

// The pure half of traffic-derived defaults: Prometheus series → edges
// (each counted once across reporters) → egress hosts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  edgesOf,
  egressHostOf,
  hostsFor,
  REQUESTS_METRIC,
  TCP_METRIC,
  type TrafficSample,
} from '../../src/traffic/edges.js';
import { trafficQuery } from '../../src/traffic/prometheus.js';

const FQDN = 'reviews.shop.svc.cluster.local';
const series = (
  reporter: string,
  value: number,
  extra: Record<string, string> = {},
  metric: TrafficSample['metric'] = REQUESTS_METRIC,
): TrafficSample => ({
  metric,
  value,
  labels: {
    reporter,
    source_workload_namespace: 'web',
    source_workload: 'frontend',
    destination_service: FQDN,
    destination_service_namespace: 'shop',
    destination_service_name: 'reviews',
    ...extra,
  },
});

describe('edgesOf', () => {
  test('both reporters record the same call: counted once, from the source reporter', () => {
    const { edges } = edgesOf([series('source', 100), series('destination', 98)]);
    assert.deepEqual(edges, [
      {
        source: { namespace: 'web', workload: 'frontend' },
        destinationNamespace: 'shop',
        destination: FQDN,
        requests: 100,
        connections: 0,
        reporters: { http: 'source' },
      },
    ]);
  });

  test('the destination reporter alone names the service when the client reported the passthrough cluster', () => {
    const t = edgesOf([
      series('source', 40, {
        destination_service: 'unknown',
        destination_service_name: 'PassthroughCluster',
        destination_service_namespace: 'unknown',
      }),
      series('destination', 40),
    ]);
    assert.deepEqual(
      t.edges.map((e) => [egressHostOf(e), e.requests, e.reporters.http]),
      [[`shop/${FQDN}`, 40, 'destination']],
    );
    assert.deepEqual(t.unresolved, [
      { source: { namespace: 'web', workload: 'frontend' }, via: 'PassthroughCluster', protocol: 'http', count: 40 },
    ]);
  });

  test('HTTP and TCP to one destination make one edge with both counts', () => {
    const { edges } = edgesOf([
      series('source', 10),
      series('source', 3.4, {}, TCP_METRIC),
      series('destination', 3, {}, TCP_METRIC),
    ]);
    assert.equal(edges.length, 1);
    assert.deepEqual(
      [edges[0]!.requests, edges[0]!.connections, edges[0]!.reporters],
      [10, 3, { http: 'source', tcp: 'source' }],
    );
  });

  test('callers outside the mesh, waypoint reports, zero increases and unusable names add no edge', () => {
    const t = edgesOf([
      series('destination', 7, { source_workload: 'unknown', source_workload_namespace: 'unknown' }),
      series('waypoint', 5),
      series('source', 0),
      series('source', 2, { destination_service: '10.0.0.1:8080' }),
      series('source', 1, { destination_service_name: 'BlackHoleCluster', destination_service: 'unknown' }),
    ]);
    assert.deepEqual(t.edges, []);
    assert.equal(t.fromOutside, 7);
    assert.deepEqual(
      t.unresolved.map((u) => [u.via, u.count]),
      [
        ['BlackHoleCluster', 1],
        ['unknown', 2],
      ],
    );
  });

  test('a ServiceEntry host keeps its namespace; an unknown namespace becomes *', () => {
    const { edges } = edgesOf([
      series(
        'source',
        1,
        {
          destination_service: 'api.stripe.com',
          destination_service_name: 'api.stripe.com',
          destination_service_namespace: 'payments',
        },
        TCP_METRIC,
      ),
      series(
        'source',
        1,
        {
          destination_service: 'api.example.com',
          destination_service_name: 'api.example.com',
          destination_service_namespace: 'unknown',
        },
        TCP_METRIC,
      ),
    ]);
    assert.deepEqual(edges.map(egressHostOf), ['*/api.example.com', 'payments/api.stripe.com']);
  });
});

describe('hostsFor', () => {
  const edge = (ns: string, name: string) =>
    edgesOf([
      series('source', 1, {
        destination_service: `${name}.${ns}.svc.cluster.local`,
        destination_service_namespace: ns,
      }),
    ]).edges[0]!;
  const edges = [edge('shop', 'reviews'), edge('shop', 'ratings'), edge('shop', 'ratings'), edge('auth', 'login')];

  test('sorted and de-duplicated', () => {
    assert.deepEqual(hostsFor(edges), [
      'auth/login.auth.svc.cluster.local',
      'shop/ratings.shop.svc.cluster.local',
      'shop/reviews.shop.svc.cluster.local',
    ]);
  });

  test('a namespace with more hosts than the threshold becomes ns/*', () => {
    assert.deepEqual(hostsFor(edges, 1), ['auth/login.auth.svc.cluster.local', 'shop/*']);
    assert.deepEqual(hostsFor(edges, 2), hostsFor(edges));
  });
});

test('the query: reporter-aware, grouped by the edge labels, one namespace when asked', () => {
  assert.equal(
    trafficQuery(REQUESTS_METRIC, '7d', 'shop'),
    'sum by (reporter, source_workload_namespace, source_workload, destination_service, destination_service_namespace, destination_service_name) (increase(istio_requests_total{reporter=~"source|destination", source_workload_namespace="shop"}[7d])) > 0',
  );
});

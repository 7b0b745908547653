// The fixture mesh's calls (test/fixtures/traffic/traffic.yaml) as Istio's
// standard metrics in OpenMetrics text, ready for `promtool tsdb
// create-blocks-from openmetrics`: one counter series per call, reporter and
// response code, a sample every 30 minutes over the last 10 days (times
// relative to `now`), with the labels Istio's proxies set.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { fixture } from '../helpers/cli.js';

export interface Call {
  from: string;
  to: string;
  protocol: 'http' | 'tcp';
  perHour: number;
  reporters?: ('source' | 'destination')[];
  via?: 'PassthroughCluster';
  days?: [number, number];
  blocked?: boolean;
}

export const DOMAIN = 'cluster.local';
const STEP_SECONDS = 30 * 60;
const HISTORY_DAYS = 10;

export function loadCalls(file = fixture('traffic/traffic.yaml')): Call[] {
  return (parse(readFileSync(file, 'utf8')) as { calls: Call[] }).calls;
}

/** namespace and destination_service of a call's `to` (a ServiceEntry host has a dot; a Service gets its FQDN). */
export function destinationOf(call: Call): { namespace: string; service: string; name: string } | undefined {
  const [namespace, target] = call.to.split('/') as [string, string | undefined];
  if (target === undefined) return undefined; // PassthroughCluster, BlackHoleCluster
  return target.includes('.')
    ? { namespace, service: target, name: target }
    : { namespace, service: `${target}.${namespace}.svc.${DOMAIN}`, name: target };
}

type Labels = Record<string, string>;

/** The label sets Istio's proxies report for one call (one per reporter and response code). */
function seriesOf(call: Call): { labels: Labels; share: number }[] {
  const [srcNs, srcWl] = call.from === 'unknown' ? ['unknown', 'unknown'] : (call.from.split('/') as [string, string]);
  const dest = destinationOf(call);
  const source: Labels = {
    source_workload: srcWl,
    source_workload_namespace: srcNs,
    source_app: srcWl,
    source_version: srcWl === 'unknown' ? 'unknown' : 'v1',
    source_principal: srcWl === 'unknown' ? 'unknown' : `spiffe://${DOMAIN}/ns/${srcNs}/sa/${srcWl}`,
    source_cluster: 'Kubernetes',
  };
  const destination: Labels = dest
    ? {
        destination_service: dest.service,
        destination_service_name: dest.name,
        destination_service_namespace: dest.namespace,
        destination_workload: dest.service.endsWith(DOMAIN) ? dest.name : 'unknown',
        destination_workload_namespace: dest.service.endsWith(DOMAIN) ? dest.namespace : 'unknown',
        destination_app: dest.service.endsWith(DOMAIN) ? dest.name : 'unknown',
        destination_cluster: 'Kubernetes',
      }
    : {
        destination_service: 'unknown',
        destination_service_name: call.to,
        destination_service_namespace: 'unknown',
        destination_workload: 'unknown',
        destination_workload_namespace: 'unknown',
        destination_app: 'unknown',
        destination_cluster: 'unknown',
      };
  const out: { labels: Labels; share: number }[] = [];
  for (const reporter of call.reporters ?? ['source', 'destination']) {
    let labels: Labels = {
      reporter,
      ...source,
      ...destination,
      request_protocol: call.protocol,
      connection_security_policy: reporter === 'destination' ? 'mutual_tls' : 'unknown',
    };
    if (reporter === 'source' && call.via) {
      labels = {
        ...labels,
        destination_service: 'unknown',
        destination_service_name: call.via,
        destination_service_namespace: 'unknown',
        destination_workload: 'unknown',
        destination_workload_namespace: 'unknown',
        destination_app: 'unknown',
      };
    }
    if (call.protocol === 'http') {
      const ok = call.to === 'BlackHoleCluster' ? '502' : '200';
      // Some calls also fail now and then: Istio keeps one series per response code.
      if (call.perHour >= 100)
        out.push(
          { labels: { ...labels, response_code: ok }, share: 0.98 },
          { labels: { ...labels, response_code: '503' }, share: 0.02 },
        );
      else out.push({ labels: { ...labels, response_code: ok }, share: 1 });
    } else out.push({ labels, share: 1 });
  }
  return out;
}

const labelText = (labels: Labels): string =>
  Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');

/** OpenMetrics text of every call, samples up to `nowSeconds` minus 5 minutes. */
export function openMetrics(calls: readonly Call[], nowSeconds: number): string {
  const families: Record<'http' | 'tcp', string[]> = { http: [], tcp: [] };
  const end = nowSeconds - 300;
  const start = end - HISTORY_DAYS * 86_400;
  for (const call of calls) {
    const [firstDay, lastDay] = call.days ?? [HISTORY_DAYS, 0];
    const activeFrom = end - firstDay * 86_400;
    const activeTo = end - lastDay * 86_400;
    const metric = call.protocol === 'http' ? 'istio_requests_total' : 'istio_tcp_connections_opened_total';
    for (const { labels, share } of seriesOf(call)) {
      const text = labelText(labels);
      for (let t = Math.max(start, activeFrom); t <= activeTo; t += STEP_SECONDS) {
        const value = Math.floor(((t - activeFrom) / 3600) * call.perHour * share);
        families[call.protocol].push(`${metric}${'{'}${text}${'}'} ${value} ${t}`);
      }
    }
  }
  return [
    '# HELP istio_requests Requests handled by an Istio proxy.',
    '# TYPE istio_requests counter',
    ...families.http,
    '# HELP istio_tcp_connections_opened Connections opened through an Istio proxy.',
    '# TYPE istio_tcp_connections_opened counter',
    ...families.tcp,
    '# EOF',
    '',
  ].join('\n');
}

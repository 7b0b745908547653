// The result keys, their targets from issues 8 and 14, and the printed table.
import { manifestMemoryLimitMb } from './manifest.js';

export type Results = Record<string, number | null>;

interface Row {
  key: string;
  label: string;
  unit: string;
  target?: { op: '<=' | '>='; value: number };
  digits?: number;
}

/** In print order. Keys with a target are the issue's acceptance numbers. */
export const ROWS: readonly Row[] = [
  { key: 'decision_p50_us', label: 'decision p50, 10k Sidecars / 100k pods (+ workloads, registry)', unit: 'µs' },
  {
    key: 'decision_p99_us',
    label: 'decision p99, 10k Sidecars / 100k pods (+ workloads, registry)',
    unit: 'µs',
    target: { op: '<=', value: 100 },
  },
  { key: 'decision_cpu_us', label: 'decision mean CPU time, 10k (insensitive to preemption)', unit: 'µs' },
  { key: 'decision_p99_us_1k', label: 'decision p99, 1k Sidecars / 10k pods', unit: 'µs' },
  { key: 'decision_p99_us_small', label: 'decision p99, 100 Sidecars / 1k pods', unit: 'µs' },
  {
    key: 'decision_growth',
    label: 'decision growth (p99 10k ÷ p99 100)',
    unit: '×',
    target: { op: '<=', value: 2 },
    digits: 2,
  },
  {
    key: 'decision_p99_us_crowded',
    label: 'decision p99, namespace with 1,000 Sidecars',
    unit: 'µs',
    target: { op: '<=', value: 100 },
  },
  { key: 'decision_p99_us_admitter', label: 'Admitter.validate p99 (reservation overlay), 10k', unit: 'µs' },
  {
    key: 'decision_p99_us_burst',
    label: 'decision p99, namespace with 1,000 Sidecars admitted, not shown yet',
    unit: 'µs',
    target: { op: '<=', value: 500 },
  },
  // Issue 20: the decision as serve runs it (reserving Admitter, a freshly parsed body each time).
  {
    key: 'decision_cpu_us_server',
    label: 'CPU of one reserving decision on a freshly parsed body, 10k',
    unit: 'µs',
    target: { op: '<=', value: 10 },
  },
  { key: 'decision_alloc_kb', label: 'heap allocated by that decision', unit: 'KB', target: { op: '<=', value: 4 } },
  // Where that decision's cost goes: each layer alone (bench/layers.ts), informative.
  ...(
    [
      ['size', 'size limits (size.ts)'],
      ['schema', 'CRD schema and metadata (schema/)'],
      ['istio', "Istio's per-object rules (rules/)"],
      ['cross', 'cross-object rules against the view'],
      ['review', 'review(): all of the above, findings to a Decision'],
      ['admitter', 'Admitter.validate: review with reservations, as serve runs it'],
    ] as const
  ).flatMap(([id, what]) => [
    { key: `layer_cpu_us_${id}`, label: `layer CPU: ${what}`, unit: 'µs' },
    { key: `layer_alloc_kb_${id}`, label: `layer heap: ${what}`, unit: 'KB', digits: 2 },
  ]),
  // Issue 15: a decision including its claim in the API server (--claims=api), local kube-apiserver.
  { key: 'claim_p50_ms', label: 'decision with its claim p50, local kube-apiserver', unit: 'ms', digits: 2 },
  {
    key: 'claim_p99_ms',
    label: 'decision with its claim p99, local kube-apiserver',
    unit: 'ms',
    target: { op: '<=', value: 10 },
    digits: 2,
  },
  {
    key: 'claim_bare_put_p50_ms',
    label: 'for scale: a bare ConfigMap PUT to the same API server, p50',
    unit: 'ms',
    digits: 2,
  },
  { key: 'claim_bare_put_p99_ms', label: 'for scale: the same, p99', unit: 'ms', digits: 2 },
  {
    key: 'claim_p99_ms_contended',
    label: 'the same p99, three replicas claiming in one namespace at once',
    unit: 'ms',
    digits: 2,
  },
  { key: 'decision_mean_us_in_server', label: 'decision mean inside the HTTPS server (its histogram)', unit: 'µs' },
  {
    key: 'https_rps_noop_app',
    label: 'HTTPS req/s, no-op route inside buildApp, same store and parser (fair ceiling)',
    unit: 'req/s',
    digits: 0,
  },
  {
    key: 'https_rps_noop',
    label: 'HTTPS req/s, bare Fastify no-op JSON route (old ceiling)',
    unit: 'req/s',
    digits: 0,
  },
  { key: 'https_rps_validate', label: 'HTTPS req/s, /validate', unit: 'req/s', digits: 0 },
  // Issue 20: the ceiling is the same server (buildApp, store in heap, our parser); median of paired rounds.
  {
    key: 'https_ratio',
    label: 'HTTPS ratio, validate ÷ fair ceiling (median of paired rounds)',
    unit: '',
    target: { op: '>=', value: 0.8 },
    digits: 2,
  },
  { key: 'https_ratio_noop', label: 'HTTPS ratio, validate ÷ bare no-op (informative)', unit: '', digits: 2 },
  {
    key: 'https_ratio_stub',
    label: 'HTTPS ratio, stub decision (allows without looking) ÷ fair ceiling (informative)',
    unit: '',
    digits: 2,
  },
  {
    key: 'https_ratio_stub_10us',
    label: 'HTTPS ratio, stub decision spinning 10 µs ÷ fair ceiling (informative)',
    unit: '',
    digits: 2,
  },
  {
    key: 'promoted_kb_per_scavenge',
    label: 'KB promoted per scavenge under load, /validate (--trace-gc-nvp)',
    unit: 'KB',
    target: { op: '<=', value: 50 },
  },
  { key: 'promoted_kb_per_scavenge_noop_app', label: 'the same, fair ceiling', unit: 'KB' },
  { key: 'scavenge_pause_ms', label: 'mean scavenge pause under load, /validate', unit: 'ms', digits: 2 },
  { key: 'https_cpu_us_noop', label: 'server CPU per request, bare no-op route', unit: 'µs', digits: 0 },
  { key: 'https_cpu_us_noop_app', label: 'server CPU per request, fair ceiling', unit: 'µs', digits: 0 },
  { key: 'https_cpu_us_stub', label: 'server CPU per request, buildApp with a stub decision', unit: 'µs', digits: 0 },
  {
    key: 'https_cpu_us_stub_10us',
    label: 'server CPU per request, the stub decision spinning 10 µs',
    unit: 'µs',
    digits: 0,
  },
  { key: 'https_cpu_us_validate', label: 'server CPU per request, /validate', unit: 'µs', digits: 0 },
  {
    key: 'https_cpu_us_beyond_decision',
    label: 'server CPU per request beyond the stub and the decision itself, /validate',
    unit: 'µs',
    digits: 1,
  },
  {
    key: 'https_cpu_us_beyond_spin',
    label: 'the same for the stub spinning 10 µs (a decision that reads no memory)',
    unit: 'µs',
    digits: 1,
  },
  {
    key: 'https_sys_us_noop_app',
    label: 'of the server CPU per request, kernel (system) time: fair ceiling',
    unit: 'µs',
    digits: 1,
  },
  { key: 'https_sys_us_stub', label: 'kernel time per request: the stub decision', unit: 'µs', digits: 1 },
  { key: 'https_sys_us_stub_10us', label: 'kernel time per request: the stub spinning 10 µs', unit: 'µs', digits: 1 },
  { key: 'https_sys_us_validate', label: 'kernel time per request: /validate', unit: 'µs', digits: 1 },
  {
    key: 'https_sys_us_beyond_decision',
    label: 'kernel part of the CPU beyond the stub and the decision, /validate (a decision makes no system calls)',
    unit: 'µs',
    digits: 1,
  },
  {
    key: 'https_user_us_beyond_decision',
    label: 'user part of the CPU beyond the stub and the decision, /validate',
    unit: 'µs',
    digits: 1,
  },
  {
    key: 'https_sys_us_beyond_spin',
    label: 'the same for the stub spinning 10 µs',
    unit: 'µs',
    digits: 1,
  },
  { key: 'https_cpu_ratio', label: 'CPU ratio (fair ceiling ÷ validate CPU per request)', unit: '', digits: 2 },
  { key: 'https_p99_ms', label: 'HTTPS p99 at saturation, /validate', unit: 'ms', digits: 2 },
  {
    key: 'fixed_rate_p99_ms',
    label: 'p99 at 1,000 req/s, /validate',
    unit: 'ms',
    target: { op: '<=', value: 5 },
    digits: 2,
  },
  {
    key: 'fixed_rate_p99_ms_from_schedule',
    label: 'p99 at 1,000 req/s from scheduled send time',
    unit: 'ms',
    digits: 2,
  },
  {
    key: 'fixed_rate_p99_ms_in_server',
    label: 'p99 at 1,000 req/s inside the server (request → response)',
    unit: 'ms',
    digits: 2,
  },
  {
    key: 'rss_mb',
    label: 'RSS with 10k Sidecars, 100k pods, 30k workloads, 20k Services, 5k ServiceEntries',
    unit: 'MB',
    target: { op: '<=', value: 250 },
  },
  { key: 'rss_baseline_mb', label: 'RSS of the same process before loading', unit: 'MB' },
  // Issue 20: Kubernetes' published limits, 150,000 pods in 10,000 namespaces (with 10,000 Sidecars).
  {
    key: 'rss_mb_150k',
    label: 'RSS, 10k Sidecars, 150k pods, 10k namespaces, pods sharing label sets',
    unit: 'MB',
    target: { op: '<=', value: 220 },
  },
  {
    key: 'rss_mb_150k_unique',
    label: 'the same, every pod with a label set of its own',
    unit: 'MB',
    target: { op: '<=', value: 250 },
  },
  {
    key: 'relist_peak_mb',
    label: 'peak RSS of a 150k pod re-list above steady state (unique labels)',
    unit: 'MB',
    target: { op: '<=', value: 20 },
  },
  {
    key: 'bytes_per_pod_150k',
    label: 'heap per pod at 150k, shared label sets (Sidecars, namespaces included)',
    unit: 'B',
    digits: 0,
  },
  { key: 'bytes_per_pod_150k_unique', label: 'the same, a label set per pod', unit: 'B', digits: 0 },
  {
    key: 'bytes_per_sidecar_or_pod',
    label: 'heap per object: Sidecars, pods and namespaces (one group)',
    unit: 'B',
    digits: 0,
  },
  { key: 'bytes_per_workload', label: 'heap per object: workloads', unit: 'B', digits: 0 },
  { key: 'bytes_per_service', label: 'heap per object: Services', unit: 'B', digits: 0 },
  { key: 'bytes_per_service_entry', label: 'heap per object: ServiceEntries', unit: 'B', digits: 0 },
  {
    key: 'startup_ms',
    label: 'cold start to /readyz 200 (median)',
    unit: 'ms',
    target: { op: '<=', value: 1000 },
    digits: 0,
  },
  // audit --scope over a whole cluster: one Sidecar per namespace at Kubernetes' 10,000-namespace limit.
  {
    key: 'scope_audit_cpu_ms',
    label: 'audit --scope CPU, 10k namespaces / Sidecars, 20k Services, 10k ServiceEntries',
    unit: 'ms',
    target: { op: '<=', value: 3000 },
    digits: 0,
  },
  { key: 'scope_audit_ms', label: 'the same, wall time', unit: 'ms', digits: 0 },
  { key: 'scope_audit_cpu_ms_1k', label: 'audit --scope CPU, 1k namespaces / Sidecars', unit: 'ms', digits: 0 },
  {
    key: 'scope_audit_growth',
    label: 'audit --scope growth (CPU 10k ÷ 1k; linear is 10)',
    unit: '×',
    target: { op: '<=', value: 15 },
  },
  // No issue set a target: how much one file as large as --max-file-size lets in costs `check` (80,000 Sidecars).
  { key: 'check_file_rss_mb', label: 'check on a 16 MiB manifest file: peak RSS', unit: 'MB', digits: 0 },
  { key: 'check_file_ms', label: 'the same, wall time', unit: 'ms', digits: 0 },
  // The same 16 MiB as one `kind: List` as kubectl get -o json / -o yaml prints a cluster's Sidecars (read item by item).
  { key: 'check_list_json_rss_mb', label: 'check on a 16 MiB JSON List: peak RSS', unit: 'MB', digits: 0 },
  { key: 'check_list_json_ms', label: 'the same, wall time', unit: 'ms', digits: 0 },
  { key: 'check_list_yaml_rss_mb', label: 'check on a 16 MiB YAML List: peak RSS', unit: 'MB', digits: 0 },
  { key: 'check_list_yaml_ms', label: 'the same, wall time', unit: 'ms', digits: 0 },
  // One mapping of 100,000 keys (1 MB): finding repeated keys was quadratic in the yaml library (about 2 minutes).
  { key: 'check_wide_mapping_ms', label: 'check on one mapping of 100,000 keys: wall time', unit: 'ms', digits: 0 },
  // Issue 14: under attack, RSS stays under the Deployment's memory limit and an honest review is answered within 1 s.
  {
    key: 'attack_flood_rss_mb',
    label: 'peak RSS, 32 clients flooding 6.9 MiB reviews',
    unit: 'MB',
    target: { op: '<=', value: manifestMemoryLimitMb() },
  },
  {
    key: 'attack_flood_honest_max_ms',
    label: 'slowest honest review then (kept-alive connection)',
    unit: 'ms',
    target: { op: '<=', value: 1000 },
    digits: 0,
  },
  {
    key: 'attack_flood_honest_fresh_max_ms',
    label: 'slowest honest review then (new connection each)',
    unit: 'ms',
    target: { op: '<=', value: 1000 },
    digits: 0,
  },
  {
    key: 'attack_flood_worst_rss_mb',
    label: 'peak RSS, the same with 7 MiB of {} (costliest JSON)',
    unit: 'MB',
    target: { op: '<=', value: manifestMemoryLimitMb() },
  },
  {
    key: 'attack_flood_worst_honest_max_ms',
    label: 'slowest honest review then (kept-alive connection)',
    unit: 'ms',
    target: { op: '<=', value: 1000 },
    digits: 0,
  },
  {
    key: 'attack_flood_worst_honest_fresh_max_ms',
    label: 'slowest honest review then (new connection each)',
    unit: 'ms',
    target: { op: '<=', value: 1000 },
    digits: 0,
  },
  {
    key: 'attack_trickle_rss_mb',
    label: 'peak RSS, 32 clients trickling 1 byte/s',
    unit: 'MB',
    target: { op: '<=', value: manifestMemoryLimitMb() },
  },
  {
    key: 'attack_trickle_honest_max_ms',
    label: 'slowest honest review then (kept-alive connection)',
    unit: 'ms',
    target: { op: '<=', value: 1000 },
    digits: 0,
  },
  {
    key: 'attack_trickle_honest_fresh_max_ms',
    label: 'slowest honest review then (new connection each)',
    unit: 'ms',
    target: { op: '<=', value: 1000 },
    digits: 0,
  },
  // Issue 14, bounded output: one large Sidecar gets a short answer, without holding up the probes or taking the memory.
  {
    key: 'bounded_response_bytes_max',
    label: 'largest answer to a 3 or 6.9 MiB review or the costliest judged object',
    unit: 'B',
    target: { op: '<=', value: 4096 },
    digits: 0,
  },
  { key: 'bounded_decision_max_ms', label: 'slowest decision among them (server histogram)', unit: 'ms', digits: 0 },
  {
    key: 'bounded_healthz_max_ms',
    label: 'slowest /healthz while one was in flight',
    unit: 'ms',
    target: { op: '<=', value: 1000 },
    digits: 0,
  },
  {
    key: 'bounded_rss_peak_mb',
    label: 'peak RSS of a server answering them',
    unit: 'MB',
    target: { op: '<=', value: manifestMemoryLimitMb() },
    digits: 0,
  },
  { key: 'bounded_failed', label: 'of them not answered 200', unit: '', target: { op: '<=', value: 0 }, digits: 0 },
  // A connection flood: 2,048 idle connections held against --max-connections 512.
  {
    key: 'attack_connect_rss_mb',
    label: 'peak RSS, 32 clients holding 64 idle connections each',
    unit: 'MB',
    target: { op: '<=', value: manifestMemoryLimitMb() },
  },
  {
    key: 'attack_connect_honest_max_ms',
    label: 'slowest honest review then (connection opened before the flood)',
    unit: 'ms',
    target: { op: '<=', value: 1000 },
    digits: 0,
  },
  {
    key: 'attack_connect_probe_max_ms',
    label: 'slowest /healthz on the metrics port then',
    unit: 'ms',
    target: { op: '<=', value: 1000 },
    digits: 0,
  },
  {
    key: 'attack_connect_fresh_answered_pct',
    label: 'honest reviews on new connections answered then (the rest dropped at accept)',
    unit: '%',
    digits: 0,
  },
  { key: 'attack_connect_dropped', label: 'connections dropped at accept then', unit: '', digits: 0 },
  {
    key: 'attack_server_crashes',
    label: 'server processes that died during the attacks',
    unit: '',
    target: { op: '<=', value: 0 },
    digits: 0,
  },
  {
    key: 'attack_honest_failed',
    label:
      'honest reviews and metrics-port probes not answered 200, all four attacks (new connections in the flood aside)',
    unit: '',
    target: { op: '<=', value: 0 },
    digits: 0,
  },
];

export function verdict(row: Row, value: number | null | undefined): 'ok' | 'MISSED' | 'n/a' | '' {
  if (!row.target) return '';
  if (value === null || value === undefined || !Number.isFinite(value)) return 'n/a';
  return (row.target.op === '<=' ? value <= row.target.value : value >= row.target.value) ? 'ok' : 'MISSED';
}

function formatValue(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function table(results: Results): string {
  const lines = ROWS.map((row) => {
    const target = row.target ? `${row.target.op === '<=' ? '≤' : '≥'} ${row.target.value}` : '';
    return [
      row.label,
      `${formatValue(results[row.key], row.digits)} ${row.unit}`.trim(),
      target,
      verdict(row, results[row.key]),
      row.key,
    ];
  });
  const header = ['measurement', 'measured', 'target', 'status', 'key'];
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 1 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  return [
    fmt(header),
    `|${widths.map((w, i) => (i === 1 ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`,
    ...lines.map(fmt),
  ].join('\n');
}

export function missed(results: Results): string[] {
  return ROWS.filter((r) => verdict(r, results[r.key]) === 'MISSED').map((r) => r.key);
}

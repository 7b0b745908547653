// audit --scope's output: a text table, or one JSON object.
import type { HostCounts, ScopeReport, ScopeRow } from './scope.js';

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function sidecarCell(r: ScopeRow & { hasSelectorSidecars: boolean }): string {
  const s = r.sidecar;
  if (s.kind === 'none') return r.hasSelectorSidecars ? '(none but selectors)' : '(none)';
  return `${s.namespace}/${s.name}${s.kind === 'mesh' ? ' (mesh default)' : ''}`;
}

const share = (part: HostCounts, whole: HostCounts): string =>
  whole.total === 0 ? '-' : `${Math.round((100 * part.total) / whole.total)}%`;
const ratio = (a: number, b: number): string => `${a}/${b}`;

function table(header: string[], rows: string[][]): string[] {
  // A loop, not Math.max(...rows): a spread of every row's width overflows the stack at a few hundred thousand rows.
  const widths = header.map((h, i) => rows.reduce((w, r) => Math.max(w, r[i]!.length), h.length));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)];
}

const counted = (r: ScopeRow): string[] => [
  ratio(r.imported.services, r.withoutSidecar.services),
  ratio(r.imported.serviceEntryHosts, r.withoutSidecar.serviceEntryHosts),
  ratio(r.imported.total, r.withoutSidecar.total),
  share(r.imported, r.withoutSidecar),
];

export function formatScopeText(report: ScopeReport): string {
  const withSelectors = new Set(report.selectorSidecars.map((x) => x.namespace));
  const lines = table(
    ['NAMESPACE', 'SIDECAR IN FORCE', 'SERVICES', 'SE HOSTS', 'IMPORTED/WITHOUT', 'SHARE'],
    report.namespaces.map((r) => [
      r.namespace,
      sidecarCell({ ...r, hasSelectorSidecars: withSelectors.has(r.namespace) }),
      ...counted(r),
    ]),
  );
  if (report.selectorSidecars.length > 0) {
    lines.push(
      '',
      ...table(
        ['NAMESPACE', 'SELECTOR SIDECAR', 'SELECTOR', 'WORKLOADS', 'SERVICES', 'SE HOSTS', 'IMPORTED/WITHOUT', 'SHARE'],
        report.selectorSidecars.map((r) => [
          r.namespace,
          r.sidecar.name!,
          r.selector!,
          r.workloads!.join(',') || '(none)',
          ...counted(r),
        ]),
      ),
    );
  }
  const s = report.summary;
  lines.push('');
  if (report.unscoped.length > 0)
    lines.push(
      `No Sidecar at all (every proxy imports everything exported to its namespace): ${report.unscoped.join(', ')}`,
    );
  lines.push(
    `${plural(s.namespaces, 'namespace')}: ${s.namespaceDefaults} with their own default, ${s.meshDefault} under the mesh default, ${s.withoutDefault} without a default (${s.unscoped} with no Sidecar at all); ${plural(s.selectorSidecars, 'selector Sidecar')}. ` +
      `The mesh has ${plural(s.mesh.services, 'Service')} and ${plural(s.mesh.serviceEntryHosts, 'ServiceEntry host')}.`,
  );
  lines.push(
    'SERVICES and SE HOSTS: imported under the Sidecar in force / imported with no Sidecar (what is exported to the namespace).',
  );
  return `${lines.join('\n')}\n`;
}

export function formatScopeJson(report: ScopeReport): string {
  return `${JSON.stringify(report)}\n`;
}

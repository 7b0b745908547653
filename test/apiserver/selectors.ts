// Label and field selectors: the `labelSelector`/`fieldSelector` query
// parameters (string syntax) and metav1.LabelSelector objects (webhook
// namespaceSelector/objectSelector).

import { badRequest } from './status.js';
import type { KubeObject } from './types.js';

type Labels = Record<string, string>;

export type Requirement =
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | '!' }
  | { key: string; op: 'gt' | 'lt'; value: number };

export type LabelMatcher = (labels: Labels) => boolean;

function matchesRequirement(r: Requirement, labels: Labels): boolean {
  const has = Object.hasOwn(labels, r.key);
  const value = labels[r.key];
  switch (r.op) {
    case 'in':
      return has && r.values.includes(value ?? '');
    case 'notin':
      return !has || !r.values.includes(value ?? '');
    case 'exists':
      return has;
    case '!':
      return !has;
    case 'gt':
    case 'lt': {
      if (!has) return false;
      const n = Number(value);
      if (!Number.isInteger(n)) return false;
      return r.op === 'gt' ? n > r.value : n < r.value;
    }
  }
}

/** Splits on commas that are not inside a `( ... )` value set. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

const KEY = String.raw`(?:[A-Za-z0-9][-A-Za-z0-9_.]*\/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?`;
const VALUE = '(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?';

function parseRequirement(text: string): Requirement {
  let m = new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\(([^)]*)\\)$`).exec(text);
  if (m) {
    const values = (m[3] ?? '').split(',').map((v) => v.trim());
    return { key: m[1]!, op: m[2] as 'in' | 'notin', values };
  }
  m = new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*(${VALUE})$`).exec(text);
  if (m) return { key: m[1]!, op: m[2] === '!=' ? 'notin' : 'in', values: [m[3] ?? ''] };
  m = new RegExp(`^(${KEY})\\s*(>|<)\\s*(-?\\d+)$`).exec(text);
  if (m) return { key: m[1]!, op: m[2] === '>' ? 'gt' : 'lt', value: Number(m[3]) };
  m = new RegExp(`^!\\s*(${KEY})$`).exec(text);
  if (m) return { key: m[1]!, op: '!' };
  m = new RegExp(`^(${KEY})$`).exec(text);
  if (m) return { key: m[1]!, op: 'exists' };
  throw badRequest(`unable to parse requirement: found '${text}', expected: label selector requirement`);
}

/** Parses the `labelSelector` query syntax (`a=b,c!=d,e in (f,g),h notin (i),j,!k`). */
export function parseLabelSelector(text: string | null): LabelMatcher {
  if (!text || text.trim() === '') return () => true;
  const requirements = splitTopLevel(text).map(parseRequirement);
  return (labels) => requirements.every((r) => matchesRequirement(r, labels));
}

export interface LabelSelectorObject {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** metav1.LabelSelector semantics: null or empty selects everything. */
export function labelSelectorMatcher(selector: LabelSelectorObject | null | undefined): LabelMatcher {
  if (!selector) return () => true;
  const requirements: Requirement[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {}))
    requirements.push({ key, op: 'in', values: [value] });
  for (const e of selector.matchExpressions ?? []) {
    switch (e.operator) {
      case 'In':
        requirements.push({ key: e.key, op: 'in', values: e.values ?? [] });
        break;
      case 'NotIn':
        requirements.push({ key: e.key, op: 'notin', values: e.values ?? [] });
        break;
      case 'Exists':
        requirements.push({ key: e.key, op: 'exists' });
        break;
      case 'DoesNotExist':
        requirements.push({ key: e.key, op: '!' });
        break;
      default:
        throw new Error(`"${e.operator}" is not a valid label selector operator`);
    }
  }
  return (labels) => requirements.every((r) => matchesRequirement(r, labels));
}

// Field labels each resource supports besides metadata.name/metadata.namespace
// (what the real registries' GetAttrs/field label conversions accept).
const EXTRA_FIELD_LABELS: Record<string, string[]> = {
  pods: [
    'spec.nodeName',
    'spec.restartPolicy',
    'spec.schedulerName',
    'spec.serviceAccountName',
    'spec.hostNetwork',
    'status.phase',
    'status.podIP',
    'status.nominatedNodeName',
  ],
  secrets: ['type'],
  namespaces: ['status.phase'],
  events: [
    'involvedObject.kind',
    'involvedObject.namespace',
    'involvedObject.name',
    'involvedObject.uid',
    'involvedObject.apiVersion',
    'involvedObject.resourceVersion',
    'involvedObject.fieldPath',
    'reason',
    'reportingComponent',
    'source',
    'type',
    'regarding.kind',
    'regarding.name',
    'regarding.namespace',
    'regarding.uid',
  ],
};

function fieldValue(obj: KubeObject, path: string): string {
  let cur: unknown = obj;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return '';
    cur = (cur as Record<string, unknown>)[key];
  }
  if (cur === undefined || cur === null) return '';
  return String(cur);
}

export type ObjectMatcher = (obj: KubeObject) => boolean;

/** Parses the `fieldSelector` query syntax (`metadata.name=x,status.phase!=Running`) for one resource. */
export function parseFieldSelector(text: string | null, plural: string): ObjectMatcher {
  if (!text || text.trim() === '') return () => true;
  const allowed = new Set(['metadata.name', 'metadata.namespace', ...(EXTRA_FIELD_LABELS[plural] ?? [])]);
  const terms = text
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '')
    .map((term) => {
      const m = /^([^!=]+?)\s*(==|=|!=)\s*(.*)$/.exec(term);
      if (!m) throw badRequest(`invalid selector: '${text}'; can't understand '${term}'`);
      const [, key, op, value] = m as unknown as [string, string, string, string];
      if (!allowed.has(key)) throw badRequest(`field label not supported: ${key}`);
      return { key, negate: op === '!=', value };
    });
  return (obj) => terms.every((t) => (fieldValue(obj, t.key) === t.value) !== t.negate);
}

/** An object's labels, or none for a missing object (DELETE has no new object, CREATE no old one). */
export function objectLabels(obj: KubeObject | null | undefined): Labels {
  return (obj?.metadata?.labels ?? {}) as Labels;
}

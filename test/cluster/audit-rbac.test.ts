// examples/audit-rbac.yaml is the ClusterRole the answer to a forbidden list
// names: it must allow exactly what audit lists, and nothing more.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { listedResources, listPermissions } from '../../src/cluster/snapshot.js';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

const role = parse(readFileSync(new URL('../../examples/audit-rbac.yaml', import.meta.url), 'utf8')) as {
  kind: string;
  rules: Rule[];
};

test('examples/audit-rbac.yaml grants list, and only list, on exactly the resources audit lists', () => {
  assert.equal(role.kind, 'ClusterRole');
  for (const rule of role.rules) assert.deepEqual(rule.verbs, ['list']);
  const granted = role.rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.map((res) => `${g}/${res}`)));
  const listed = listedResources().map((r) => `${r.group}/${r.resource}`);
  assert.deepEqual([...granted].sort(), [...listed].sort());
  assert.equal(new Set(granted).size, granted.length, 'each resource once');
});

test('the words for a forbidden list name every resource with its group', () => {
  const words = listPermissions();
  for (const { resource } of listedResources()) assert.ok(words.includes(resource), resource);
  assert.match(words, /^list on .*deployments, statefulsets, daemonsets, replicasets \(apps\).* in every namespace$/);
});

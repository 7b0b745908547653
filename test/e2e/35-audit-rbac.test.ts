// `audit --kubeconfig` as someone who may only do what examples/audit-rbac.yaml
// allows, against the real API server's RBAC: it lists the cluster. Someone
// who may not list pods is told what to grant, in one line, exit 2.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { tokenKubeconfig } from '../cluster/control-plane.js';
import { runProcess } from '../helpers/process.js';
import { kubectl, mustKubectl, needsRealApiServer, readState, ROOT } from './env.js';

const NS = 'e2e-audit-rbac';
let dir: string;

/** `kubectl create ...`, which may have run before against the same API server (a suite run again by hand). */
async function created(args: string[]): Promise<void> {
  const r = await kubectl(['create', ...args]);
  if (r.code !== 0) assert.match(r.stderr, /AlreadyExists|already exists/, r.stderr);
}

/** A kubeconfig for a new ServiceAccount bound to `clusterRole`. */
async function accountBoundTo(name: string, clusterRole: string): Promise<string> {
  const { control, apiserver } = readState();
  if (!control) throw new Error('needs the real kube-apiserver');
  await created(['serviceaccount', name, '-n', NS]);
  await created([
    'clusterrolebinding',
    `${NS}-${name}`,
    `--clusterrole=${clusterRole}`,
    `--serviceaccount=${NS}:${name}`,
  ]);
  const token = (await mustKubectl(['create', 'token', name, '-n', NS, '--duration=1h'])).stdout.trim();
  const file = join(dir, `${name}.kubeconfig`);
  writeFileSync(file, tokenKubeconfig(apiserver.url, control.pki, `system:serviceaccount:${NS}:${name}`, token), {
    mode: 0o600,
  });
  return file;
}

const audit = (kubeconfig: string) =>
  runProcess(process.execPath, ['bin/sidecar-guard.js', 'audit', '--kubeconfig', kubeconfig], {
    cwd: ROOT,
    timeout: 60_000,
  });

before(async () => {
  if (needsRealApiServer()) return;
  dir = mkdtempSync(join(tmpdir(), 'sidecar-guard-audit-rbac-'));
  // Left in place when the suite ends, as every suite leaves its namespaces (nothing here finalizes a deleted one).
  await created(['namespace', NS]);
  await mustKubectl(['apply', '-f', join(ROOT, 'examples/audit-rbac.yaml')]);
  const sidecar = {
    apiVersion: 'networking.istio.io/v1',
    kind: 'Sidecar',
    metadata: { name: 'default', namespace: NS },
  };
  await mustKubectl(['apply', '-f', '-'], { stdin: stringify({ ...sidecar, spec: { egress: [{ hosts: ['./*'] }] } }) });
  // The same ClusterRole less pods (applied, not `kubectl create clusterrole`, which wants every resource served).
  const role = parse(readFileSync(join(ROOT, 'examples/audit-rbac.yaml'), 'utf8')) as {
    metadata: { name: string };
    rules: { resources: string[] }[];
  };
  role.metadata.name = `${NS}-no-pods`;
  for (const rule of role.rules) rule.resources = rule.resources.filter((r) => r !== 'pods');
  await mustKubectl(['apply', '-f', '-'], { stdin: stringify(role) });
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('bound to examples/audit-rbac.yaml, audit lists the whole cluster', { skip: needsRealApiServer() }, async () => {
  const r = await audit(await accountBoundTo('auditor', 'sidecar-guard-audit'));
  assert.ok(r.code === 0 || r.code === 1, `exit ${r.code}: ${r.stderr}`);
  assert.equal(r.stderr, '');
  // At least the Sidecar made in before(): what was listed is counted.
  assert.match(r.stdout, /among [1-9]\d* Sidecars? in [1-9]\d* namespaces? \(\d+ pods?[^)]*\)\.\n$/);
});

test('without list on pods: one line naming the refusal and what to grant, exit 2', {
  skip: needsRealApiServer(),
}, async () => {
  const r = await audit(await accountBoundTo('no-pods', `${NS}-no-pods`));
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /cannot list resource "pods" in API group "" at the cluster scope/);
  assert.match(
    lines[0]!,
    /this needs list on .*pods.* in every namespace \(examples\/audit-rbac\.yaml is a ClusterRole with exactly that\)$/,
  );
});

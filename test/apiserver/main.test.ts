// The standalone process (test/apiserver/main.ts) as the e2e scripts run it.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { type ProcessResult, runProcess } from '../helpers/process.js';
import { KUBECTL } from './helpers/kubectl.js';
import { startThrowawayWebhook } from './helpers/webhook.js';
import type { ThrowawayWebhook } from './helpers/webhook.js';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

function kubectl(dir: string, args: string[], stdin = ''): Promise<ProcessResult> {
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    KUBECONFIG: join(dir, 'kubeconfig'),
    KUBECACHEDIR: join(dir, 'cache'),
  };
  return runProcess(KUBECTL, args, { env, timeout: 30_000 }, stdin);
}

async function waitForFile(path: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!existsSync(path)) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error(`no ${path}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('main.ts standalone server', () => {
  let dir: string;
  let child: ChildProcess;
  let hook: ThrowawayWebhook;
  let stderr = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'apiserver-main-'));
    hook = await startThrowawayWebhook(['guard.system.svc'], () => ({
      allowed: false,
      status: { code: 403, message: 'standalone says no' },
    }));
    child = spawn(
      process.execPath,
      ['--import', 'tsx', MAIN, '--dir', dir, '--port', '0', '--service', `system/guard:443=${hook.base}`],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    await waitForFile(join(dir, 'ready'), child);
  });

  after(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await hook.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes kubeconfig, ca.crt, pid and ready, and serves kubectl', async () => {
    const url = readFileSync(join(dir, 'ready'), 'utf8').trim();
    assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(readFileSync(join(dir, 'pid'), 'utf8').trim(), String(child.pid));
    assert.match(readFileSync(join(dir, 'ca.crt'), 'utf8'), /^-----BEGIN CERTIFICATE-----/);
    const r = await kubectl(dir, ['get', 'namespace', 'default', '-o', 'name']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'namespace/default');
  });

  it('resolves webhook services through --service mappings', async () => {
    const config = stringify({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: 'standalone' },
      webhooks: [
        {
          name: 'standalone.guard.test',
          clientConfig: { service: { namespace: 'system', name: 'guard', path: '/validate' }, caBundle: hook.caBundle },
          rules: [{ apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'], operations: ['CREATE'] }],
          sideEffects: 'None',
          admissionReviewVersions: ['v1'],
        },
      ],
    });
    assert.equal((await kubectl(dir, ['apply', '-f', '-'], config)).code, 0);
    const r = await kubectl(dir, ['create', 'configmap', 'c', '--from-literal=a=b']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /admission webhook "standalone\.guard\.test" denied the request: standalone says no/);
    assert.equal(hook.received.length, 1);
  });

  it('stops on SIGTERM and removes ready and pid', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
    assert.equal(existsSync(join(dir, 'ready')), false);
    assert.equal(existsSync(join(dir, 'pid')), false);
  });
});

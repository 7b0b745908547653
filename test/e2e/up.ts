// npm run e2e:up — starts the test API server and sidecar-guard in cluster
// mode against it, registers the webhook with the configurations rendered
// from manifests/ (the caBundle is written by sidecar-guard itself, as in a
// real cluster), waits until both are ready, and exits leaving them running.
// npm run e2e:down stops them.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { renderWithNamespaceDefaults } from '../manifests/render.js';
import { E2E_DIR, isAlive, KUBECONFIG, kubectl, ROOT, STATE_FILE, type E2eState } from './env.js';

const WEBHOOK_NAMESPACE = 'sidecar-guard';

async function main(): Promise<void> {
  if (existsSync(STATE_FILE)) {
    const state = JSON.parse(readFileSync(STATE_FILE, 'utf8')) as E2eState;
    if (isAlive(state.apiserver.pid) && isAlive(state.webhook.pid)) {
      console.log(`e2e environment already up (API server ${state.apiserver.url}, webhook ${state.webhook.url})`);
      return;
    }
    throw new Error(`stale ${STATE_FILE}: run "npm run e2e:down" first`);
  }
  rmSync(E2E_DIR, { recursive: true, force: true });
  mkdirSync(E2E_DIR, { recursive: true });
  console.log('building dist/ ...');
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });

  const [webhookPort, metricsPort] = [await freePort(), await freePort()];
  const apiserverLog = join(E2E_DIR, 'apiserver.log');
  const apiserver = spawnDetached(
    [
      '--import', 'tsx', 'test/apiserver/main.ts', '--dir', E2E_DIR,
      '--service', `${WEBHOOK_NAMESPACE}/sidecar-guard:443=https://127.0.0.1:${webhookPort}`,
    ],
    apiserverLog,
  );
  const apiserverUrl = (await waitFor(() => readIfExists(join(E2E_DIR, 'ready')), 30_000, `the test API server (see ${apiserverLog})`)).trim();
  console.log(`test API server: ${apiserverUrl} (kubeconfig ${KUBECONFIG})`);

  await must(kubectl(['create', 'namespace', WEBHOOK_NAMESPACE]));
  const webhooks = renderWithNamespaceDefaults().filter((o) => o.kind.endsWith('WebhookConfiguration'));
  const webhooksFile = join(E2E_DIR, 'webhook-configurations.yaml');
  writeFileSync(webhooksFile, webhooks.map((o) => stringify(o)).join('---\n'));
  await must(kubectl(['apply', '-f', webhooksFile]));
  console.log(`registered ${webhooks.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')} from manifests/`);

  const webhookLog = join(E2E_DIR, 'webhook.log');
  const webhook = spawnDetached(
    [
      'bin/sidecar-guard.js', 'serve',
      '--kubeconfig', KUBECONFIG,
      '--listen', `127.0.0.1:${webhookPort}`,
      '--metrics-listen', `127.0.0.1:${metricsPort}`,
      '--self-namespace', WEBHOOK_NAMESPACE,
      '--tls-secret', 'sidecar-guard-tls',
      '--webhook-config', 'sidecar-guard',
      '--generate-defaults', 'label',
      '--fail-closed-when-ready',
      '--drain-delay', '0',
    ],
    webhookLog,
  );
  const webhookUrl = `https://127.0.0.1:${webhookPort}`;
  // Ready means: sidecar-guard published its CA into the configuration, and
  // answers /readyz over TLS with a certificate that CA vouches for.
  const caPem = await waitFor(async () => {
    const got = await kubectl(['get', 'validatingwebhookconfiguration', 'sidecar-guard', '-o', 'jsonpath={.webhooks[0].clientConfig.caBundle}']);
    return got.code === 0 && got.stdout ? Buffer.from(got.stdout, 'base64').toString() : undefined;
  }, 60_000, `the caBundle patch (see ${webhookLog})`);
  await waitFor(() => readyz(webhookUrl, caPem), 60_000, `sidecar-guard /readyz (see ${webhookLog})`);

  const state: E2eState = {
    apiserver: { pid: apiserver, url: apiserverUrl, log: apiserverLog },
    webhook: { pid: webhook, url: webhookUrl, metricsUrl: `http://127.0.0.1:${metricsPort}`, log: webhookLog },
    caPem,
  };
  writeFileSync(STATE_FILE, `${JSON.stringify(state, null, 2)}\n`);
  console.log(`sidecar-guard: ${webhookUrl} (ready; metrics http://127.0.0.1:${metricsPort}/metrics)`);
  console.log(`try: KUBECONFIG=${KUBECONFIG} kubectl get validatingwebhookconfigurations`);
}

function spawnDetached(args: string[], logFile: string): number {
  const out = openSync(logFile, 'a');
  const child = spawn(process.execPath, args, { cwd: ROOT, detached: true, stdio: ['ignore', out, out] });
  child.unref();
  if (!child.pid) throw new Error(`could not start ${args.join(' ')}`);
  return child.pid;
}

function readIfExists(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8') || undefined : undefined;
}

async function waitFor<T>(probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function readyz(url: string, ca: string): Promise<true | undefined> {
  return new Promise((resolve) => {
    const req = https.get(`${url}/readyz`, { ca, servername: 'sidecar-guard.sidecar-guard.svc', timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200 ? true : undefined);
    });
    req.on('error', () => resolve(undefined));
    req.on('timeout', () => req.destroy());
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

async function must(result: Promise<{ code: number; stdout: string; stderr: string }>): Promise<void> {
  const r = await result;
  if (r.code !== 0) throw new Error(`kubectl failed (${r.code}): ${r.stderr || r.stdout}`);
}

main().catch((err: Error) => {
  console.error(`e2e:up failed: ${err.message}`);
  process.exitCode = 1;
});

// npm run e2e:up [-- --apiserver=real|test] [--replicas N]
//
// real (default): builds kube-apiserver, etcd and kubectl from the pinned Go
// modules when needed (scripts/build-cluster.sh), starts etcd and
// kube-apiserver on loopback like envtest, installs Istio's Sidecar CRD,
// applies manifests/ (with the namespace-defaults component) and runs
// sidecar-guard out of cluster as the manifests' ServiceAccount, with a token
// from the TokenRequest API, so every request it makes is authorised by the
// manifests' own RBAC. The webhook configurations are the manifests' with the
// Service reference rewritten to a loopback url (as envtest does); their
// caBundle and failurePolicy are written by sidecar-guard itself.
//
// test: the simulator in test/apiserver/ instead (no RBAC: it runs as admin).
//
// --replicas N (default 1) runs N sidecar-guard processes, as a Deployment
// with N replicas would: the same flags, one TLS Secret, claims in the API
// server. The webhook configurations call the first one; tests that want the
// API server to spread its calls put a round-robin proxy in front of them
// (test/e2e/round-robin.ts). Every replica is in .e2e/replicas.json,
// [{"url","caFile"}], for tests that post AdmissionReviews to each directly.
//
// Either way it writes .e2e/kubeconfig (cluster-admin, for kubectl), waits
// until the webhooks are ready and exits leaving everything running;
// npm run e2e:down stops it.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
// env first: it points $KUBECTL at the built kubectl before render.ts reads it.
import {
  E2E_DIR,
  KUBECONFIG,
  KUBECTL,
  kubectl,
  mustKubectl,
  readState,
  REPLICAS_FILE,
  ROOT,
  serveOnLoopback,
  STATE_FILE,
  WEBHOOK_NAMESPACE,
  writeState,
  type ApiServerKind,
  type E2eState,
} from './env.js';
import { renderWithNamespaceDefaults, type K8sObject } from '../manifests/render.js';
import {
  BUILD_SCRIPT,
  freePort,
  isAlive,
  spawnDetached,
  startControlPlane,
  tokenKubeconfig,
} from '../cluster/control-plane.js';
import { waitFor } from '../helpers/wait.js';

const CRD = join(ROOT, 'src/sidecar/schema/sidecar-crd.yaml');
/** Istio's WorkloadEntry CRD (a fixture copied from Istio's module): VMs are part of the view. */
const WORKLOAD_ENTRY_CRD = join(ROOT, 'test/fixtures/istio-crds/workloadentries.yaml');
/** Istio's ServiceEntry CRD (the same module): ServiceEntries, their hosts and ports, are part of the view. */
const SERVICE_ENTRY_CRD = join(ROOT, 'test/fixtures/istio-crds/serviceentries.yaml');
const WEBHOOK_START_ATTEMPTS = 3;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { apiserver: { type: 'string', default: 'real' }, replicas: { type: 'string', default: '1' } },
  });
  const kind = values.apiserver as ApiServerKind;
  if (kind !== 'real' && kind !== 'test')
    throw new Error(`--apiserver must be real or test, got "${values.apiserver}"`);
  const replicas = Number(values.replicas);
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 9)
    throw new Error(`--replicas must be an integer from 1 to 9, got "${values.replicas}"`);
  if (existsSync(STATE_FILE)) {
    const state = readState();
    if (isAlive(state.apiserver.pid) && isAlive(state.webhook.pid)) {
      console.log(
        `e2e environment already up (${state.kind} API server ${state.apiserver.url}, webhook ${state.webhook.url})`,
      );
      return;
    }
    throw new Error(`stale ${STATE_FILE}: run "npm run e2e:down" first`);
  }
  rmSync(E2E_DIR, { recursive: true, force: true });
  mkdirSync(E2E_DIR, { recursive: true });
  if (kind === 'real') {
    // A no-op once built; the first build compiles for several minutes.
    execFileSync('bash', [BUILD_SCRIPT], { cwd: ROOT, stdio: 'inherit' });
  }
  console.log('building dist/ ...');
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  const first = kind === 'real' ? await upReal() : await upSimulated();
  writeState({ ...first, replicas: [first.webhook] });
  const more: E2eState['webhook'][] = [];
  for (let i = 1; i < replicas; i++) {
    // Written after each start so that e2e:down stops what was started, whatever fails later.
    more.push(await startReplica(first.kind === 'real' ? join(E2E_DIR, 'webhook.kubeconfig') : KUBECONFIG, i));
    writeState({ ...first, replicas: [first.webhook, ...more] });
  }
  const state = readState();
  writeReplicas(state);
  for (const [i, r] of (state.replicas ?? [state.webhook]).entries())
    console.log(`sidecar-guard replica ${i}: ${r.url} (ready; metrics ${r.metricsUrl}/metrics)`);
  // The kubectl of the API server's release (a machine's own may be several minor versions away).
  console.log(
    `try: KUBECONFIG=${KUBECONFIG} ${relative(process.cwd(), KUBECTL) || KUBECTL} get validatingwebhookconfigurations`,
  );
}

/** Applies a CRD and waits until it is Established. */
async function installCrd(file: string, name: string): Promise<void> {
  await mustKubectl(['apply', '-f', file]);
  // Not `kubectl wait`: right after the create it fails on the missing status.conditions instead of waiting.
  await waitFor(
    `the CRD ${name} to be Established`,
    async () => {
      const r = await kubectl([
        'get',
        'customresourcedefinition',
        name,
        '-o',
        'jsonpath={.status.conditions[?(@.type=="Established")].status}',
      ]);
      return r.code === 0 && r.stdout === 'True';
    },
    60_000,
    100,
  );
}

async function upReal(): Promise<E2eState> {
  const control = await startControlPlane(join(E2E_DIR, 'cluster'), (line) => console.log(line));
  copyFileSync(control.kubeconfig, KUBECONFIG);
  const partial = {
    kind: 'real' as const,
    apiserver: { pid: control.apiserver.pid, url: control.apiserver.url, log: control.apiserver.log },
    control: { etcd: control.etcd, apiserver: control.apiserver, pki: control.pki },
  };
  // Written now so that e2e:down can stop the control plane even if a later step fails.
  writeState({ ...partial, webhook: { pid: 0, url: '', metricsUrl: '', log: '' }, caPem: '' });

  await installCrd(CRD, 'sidecars.networking.istio.io');
  console.log('installed the Sidecar CRD from src/sidecar/schema/sidecar-crd.yaml');
  await installCrd(WORKLOAD_ENTRY_CRD, 'workloadentries.networking.istio.io');
  await installCrd(SERVICE_ENTRY_CRD, 'serviceentries.networking.istio.io');
  console.log("installed Istio's WorkloadEntry and ServiceEntry CRDs from test/fixtures/istio-crds/");

  const manifests = renderWithNamespaceDefaults();
  const { webhooks, others } = partition(manifests);
  await applyObjects(others, 'manifests.yaml');
  console.log(`applied ${others.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')} from manifests/`);

  // The TokenRequest API: a bound token for the manifests' ServiceAccount.
  const token = (
    await mustKubectl(['create', 'token', 'sidecar-guard', '-n', WEBHOOK_NAMESPACE, '--duration=24h'])
  ).stdout.trim();
  const webhookKubeconfig = join(E2E_DIR, 'webhook.kubeconfig');
  writeFileSync(
    webhookKubeconfig,
    tokenKubeconfig(
      control.apiserver.url,
      control.pki,
      `system:serviceaccount:${WEBHOOK_NAMESPACE}:sidecar-guard`,
      token,
    ),
    { mode: 0o600 },
  );

  const webhook = await startWebhook(webhookKubeconfig, async (port) => {
    await applyObjects(
      webhooks.map((w) => withLoopbackUrl(w, port)),
      'webhook-configurations.yaml',
    );
    console.log(
      `registered ${webhooks.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')} from manifests/, calling https://127.0.0.1:${port}`,
    );
  });
  return { ...partial, ...webhook };
}

async function upSimulated(): Promise<E2eState> {
  const webhookPort = await freePort();
  const apiserverLog = join(E2E_DIR, 'apiserver.log');
  const apiserver = spawnDetached(
    process.execPath,
    [
      '--import',
      'tsx',
      'test/apiserver/main.ts',
      '--dir',
      E2E_DIR,
      '--service',
      `${WEBHOOK_NAMESPACE}/sidecar-guard:443=https://127.0.0.1:${webhookPort}`,
    ],
    apiserverLog,
    ROOT,
  );
  await waitFor(`the test API server (see ${apiserverLog})`, () => existsSync(join(E2E_DIR, 'ready')), 30_000, 100);
  const apiserverUrl = readFileSync(join(E2E_DIR, 'ready'), 'utf8').trim();
  apiserver.unref();
  console.log(`test API server: ${apiserverUrl} (kubeconfig ${KUBECONFIG})`);
  const partial = { kind: 'test' as const, apiserver: { pid: apiserver.pid, url: apiserverUrl, log: apiserverLog } };
  writeState({ ...partial, webhook: { pid: 0, url: '', metricsUrl: '', log: '' }, caPem: '' });

  await mustKubectl(['create', 'namespace', WEBHOOK_NAMESPACE]);
  const { webhooks } = partition(renderWithNamespaceDefaults());
  const webhook = await startWebhook(
    KUBECONFIG,
    async () => {
      await applyObjects(webhooks, 'webhook-configurations.yaml');
      console.log(
        `registered ${webhooks.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')} from manifests/ (the simulator maps the Service to 127.0.0.1:${webhookPort})`,
      );
    },
    webhookPort,
  );
  return { ...partial, ...webhook };
}

/**
 * Starts sidecar-guard as the Deployment would (self-managed TLS in the
 * Secret, caBundle and failurePolicy upkeep, namespace defaults), on loopback.
 * `register(port)` applies the webhook configurations that call it. A port
 * taken between choosing and binding it is retried with another.
 */
async function startWebhook(
  kubeconfig: string,
  register: (port: number) => Promise<void>,
  fixedPort?: number,
  logName = 'webhook.log',
): Promise<Pick<E2eState, 'webhook' | 'caPem'>> {
  const log = join(E2E_DIR, logName);
  for (let attempt = 1; ; attempt++) {
    const [port, metricsPort] = [fixedPort ?? (await freePort()), await freePort()];
    await register(port);
    const args = serveOnLoopback({
      kubeconfig,
      port,
      metricsPort,
      namespace: WEBHOOK_NAMESPACE,
      tlsSecret: 'sidecar-guard-tls',
      webhookConfig: 'sidecar-guard',
      // As the manifests with the namespace-defaults component run it; a short --max-staleness
      // so that the API server restart test sees /readyz turn false within seconds; room for the
      // 200 reviews the replica race test (60-replicas) sends at once, so none is refused with 503.
      extra: [
        '--tls-service',
        'sidecar-guard',
        '--generate-defaults',
        'label',
        '--max-staleness',
        '5000',
        '--max-inflight',
        '256',
        '--claims',
        'api',
      ],
    });
    const child = spawnDetached(process.execPath, args, log, ROOT);
    let exited = false;
    child.once('exit', () => (exited = true));
    const url = `https://127.0.0.1:${port}`;
    try {
      // Ready means: sidecar-guard published its CA into the configuration, and
      // answers /readyz over TLS with a certificate that CA vouches for.
      let caPem = '';
      await waitFor(
        `the caBundle patch (see ${log})`,
        async () => {
          if (exited) throw new Error(`sidecar-guard exited (see ${log})`);
          const got = await kubectl([
            'get',
            'validatingwebhookconfiguration',
            'sidecar-guard',
            '-o',
            'jsonpath={.webhooks[0].clientConfig.caBundle}',
          ]);
          caPem = got.code === 0 && got.stdout ? Buffer.from(got.stdout, 'base64').toString() : '';
          return caPem !== '';
        },
        60_000,
        250,
      );
      await waitFor(
        `sidecar-guard /readyz (see ${log})`,
        async () => {
          if (exited) throw new Error(`sidecar-guard exited (see ${log})`);
          return readyz(url, caPem);
        },
        60_000,
        250,
      );
      child.unref();
      return { webhook: { pid: child.pid, url, metricsUrl: `http://127.0.0.1:${metricsPort}`, log }, caPem };
    } catch (err) {
      const addressInUse = /EADDRINUSE|address already in use/.test(readFileSync(log, 'utf8'));
      if (!exited) child.kill('SIGKILL');
      if (!addressInUse || fixedPort !== undefined || attempt >= WEBHOOK_START_ATTEMPTS) throw err;
    }
  }
}

/** One more replica, as the Deployment runs it: the Secret, caBundle and webhook configurations are the first one's. */
async function startReplica(kubeconfig: string, index: number): Promise<E2eState['webhook']> {
  return (await startWebhook(kubeconfig, async () => {}, undefined, `webhook-${index}.log`)).webhook;
}

/** .e2e/replicas.json: [{url, caFile}] for every replica, the CA each serves under written beside it. */
function writeReplicas(state: E2eState): void {
  const caFile = join(E2E_DIR, 'ca.crt');
  writeFileSync(caFile, state.caPem);
  writeFileSync(
    REPLICAS_FILE,
    `${JSON.stringify(
      (state.replicas ?? [state.webhook]).map((r) => ({ url: r.url, caFile })),
      null,
      2,
    )}\n`,
  );
}

function partition(objects: K8sObject[]): { webhooks: K8sObject[]; others: K8sObject[] } {
  const isWebhook = (o: K8sObject) => o.kind.endsWith('WebhookConfiguration');
  return { webhooks: objects.filter(isWebhook), others: objects.filter((o) => !isWebhook(o)) };
}

/** What envtest does with a webhook configuration: the Service reference becomes a url on loopback. */
function withLoopbackUrl(config: K8sObject, port: number): K8sObject {
  const webhooks = (config.webhooks as { clientConfig: { service?: { path?: string } } }[]).map((w) => {
    const { service, ...rest } = w.clientConfig;
    return { ...w, clientConfig: { ...rest, url: `https://127.0.0.1:${port}${service?.path ?? '/'}` } };
  });
  return { ...config, webhooks };
}

async function applyObjects(objects: K8sObject[], fileName: string): Promise<void> {
  const file = join(E2E_DIR, fileName);
  writeFileSync(file, objects.map((o) => stringify(o)).join('---\n'));
  await mustKubectl(['apply', '-f', file]);
}

function readyz(url: string, ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = https.get(
      `${url}/readyz`,
      { ca, servername: 'sidecar-guard.sidecar-guard.svc', timeout: 2_000 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

main().catch((err: Error) => {
  console.error(`e2e:up failed: ${err.message}`);
  process.exitCode = 1;
});

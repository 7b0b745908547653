// TlsManager against the test API server: two replicas converge on one CA,
// the caBundle lands in the manifests' own webhook configurations (and is
// repaired when it drifts), CA rotation keeps both CAs published while the
// leaf moves, conflicts and API errors are retried, nothing secret is logged,
// and the API server really calls the webhook with the published bundle.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { pino, type Logger } from 'pino';
import { KubeApiError, KubeClient } from '../../src/cluster/kube.js';
import { splitPemBundle } from '../../src/tls/certs.js';
import { TlsManager, type TlsManagerOptions } from '../../src/tls/manager.js';
import { reloadOnChange } from '../../src/tls/reloader.js';
import { serverTlsOptions } from '../../src/tls/server-options.js';
import { startTestApiServer, type KubeObject, type TestApiServer } from '../apiserver/index.js';
import { testApp } from '../helpers/app.js';
import { sidecar } from '../helpers/objects.js';
import { renderWithNamespaceDefaults, renderBase, type K8sObject } from '../manifests/render.js';
import { httpsGet, waitFor } from './helpers.js';

const NS = 'sidecar-guard';
const DAY = 24 * 3600 * 1000;
const MIN = 60 * 1000;
const ADMISSION = 'admissionregistration.k8s.io/v1';
const SECRET_PATH = `/api/v1/namespaces/${NS}/secrets/sidecar-guard-tls`;

const rendered = { base: renderBase(), withDefaults: renderWithNamespaceDefaults() };
const webhookConfigs = (objects: K8sObject[]) => objects.filter((o) => o.kind.endsWith('WebhookConfiguration'));
const pluralOf = (kind: string) => `${kind.toLowerCase()}s`;

/** Every log line of every manager in this file, checked for key material at the end. */
let logText = '';
const logger: Logger = pino(
  { level: 'debug' },
  new Writable({
    write: (chunk, _e, done) => {
      logText += chunk;
      done();
    },
  }),
);

interface Cluster {
  server: TestApiServer;
  kubeconfig: string;
  managers: TlsManager[];
  manager(opts?: Partial<TlsManagerOptions>): TlsManager;
  webhookConfig(kind: 'ValidatingWebhookConfiguration' | 'MutatingWebhookConfiguration'): KubeObject | undefined;
  secret(): KubeObject | undefined;
  close(): Promise<void>;
}

async function cluster(opts: { objects?: K8sObject[]; serviceBase?: () => string } = {}): Promise<Cluster> {
  const server = await startTestApiServer({
    serviceResolver: (namespace, name, port) => {
      if (namespace === NS && name === 'sidecar-guard' && port === 443 && opts.serviceBase) return opts.serviceBase();
      throw new Error(`no service ${namespace}/${name}:${port}`);
    },
  });
  for (const name of [NS, 'shop'])
    server.store.put('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  for (const o of webhookConfigs(opts.objects ?? rendered.base))
    server.store.put(pluralOf(o.kind), structuredClone(o) as KubeObject);
  const dir = mkdtempSync(join(tmpdir(), 'tls-manager-test-'));
  const kubeconfig = join(dir, 'kubeconfig');
  server.writeKubeconfig(kubeconfig);
  const managers: TlsManager[] = [];
  return {
    server,
    kubeconfig,
    managers,
    manager: (o = {}) => {
      const m = new TlsManager({ client: KubeClient.load(kubeconfig), namespace: NS, logger, ...o });
      managers.push(m);
      return m;
    },
    webhookConfig: (kind) =>
      server.store.get({ apiVersion: ADMISSION, resource: pluralOf(kind), name: 'sidecar-guard' }),
    secret: () => server.store.get({ apiVersion: 'v1', resource: 'secrets', namespace: NS, name: 'sidecar-guard-tls' }),
    close: async () => {
      for (const m of managers) m.stop();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const caBundles = (config: KubeObject | undefined) =>
  ((config?.webhooks as { clientConfig?: { caBundle?: string } }[] | undefined) ?? []).map(
    (w) => w.clientConfig?.caBundle,
  );
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const fingerprints = (bundle: string) => splitPemBundle(bundle).map((p) => new X509Certificate(p).fingerprint256);
const issuerFingerprint = (leafPem: string, bundle: string) =>
  splitPemBundle(bundle)
    .map((p) => new X509Certificate(p))
    .find((ca) => new X509Certificate(leafPem).verify(ca.publicKey))?.fingerprint256;

describe('two replicas starting together', () => {
  let c: Cluster;
  before(async () => {
    c = await cluster({ objects: rendered.withDefaults });
  });
  after(() => c.close());

  test('converge on ONE CA and one serving certificate through a single Secret', async () => {
    const [a, b] = [c.manager(), c.manager()];
    const [ma, mb] = await Promise.all([a.start(), b.start()]);
    assert.equal(ma.caBundlePem, mb.caBundlePem);
    assert.equal(ma.certPem, mb.certPem);
    assert.equal(fingerprints(ma.caBundlePem).length, 1);

    const creates = c.server
      .requests()
      .filter((r) => r.method === 'POST' && r.path.startsWith(`/api/v1/namespaces/${NS}/secrets`));
    assert.deepEqual(
      creates.map((r) => r.status).sort(),
      [201, 409],
      'both tried to create; the second got AlreadyExists',
    );

    const secret = c.secret()!;
    assert.equal(secret.type, 'kubernetes.io/tls');
    const data = secret.data as Record<string, string>;
    assert.deepEqual(Object.keys(data).sort(), ['ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
    assert.equal(Buffer.from(data['ca.crt']!, 'base64').toString(), ma.caBundlePem);
    assert.equal(Buffer.from(data['tls.crt']!, 'base64').toString(), ma.certPem);
    assert.ok(ma.notAfter.getTime() > Date.now() + 80 * DAY);
  });

  test('the serving certificate covers the Service names and chains to the CA', () => {
    const m = c.managers[0]!.current();
    const leaf = new X509Certificate(m.certPem);
    for (const name of [
      'sidecar-guard',
      'sidecar-guard.sidecar-guard',
      'sidecar-guard.sidecar-guard.svc',
      'sidecar-guard.sidecar-guard.svc.cluster.local',
    ]) {
      assert.equal(leaf.checkHost(name), name);
    }
    assert.equal(issuerFingerprint(m.certPem, m.caBundlePem), fingerprints(m.caBundlePem)[0]);
  });

  test('the manifests’ Validating and Mutating configurations carry the bundle in every webhook, nothing else changed', () => {
    const bundle = b64(c.managers[0]!.current().caBundlePem);
    for (const kind of ['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration'] as const) {
      const stored = c.webhookConfig(kind)!;
      assert.deepEqual(caBundles(stored), [bundle], kind);
      const original = rendered.withDefaults.find((o) => o.kind === kind)!;
      const hooks = (o: unknown) => (o as { webhooks: Record<string, unknown>[] }).webhooks;
      assert.equal(hooks(stored).length, hooks(original).length);
      hooks(original).forEach((want, i) => {
        const got = hooks(stored)[i]!;
        for (const [field, value] of Object.entries(want)) {
          const gotValue =
            field === 'clientConfig' ? { ...(got.clientConfig as object), caBundle: undefined } : got[field];
          const wantValue = field === 'clientConfig' ? { ...(value as object), caBundle: undefined } : value;
          assert.deepEqual(gotValue, wantValue, `${kind} webhooks[${i}].${field}: only caBundle may change`);
        }
      });
    }
  });

  test('a third replica starting later adopts the existing Secret without writing', async () => {
    const before = c.server.requests().length;
    const m = await c.manager().start();
    assert.equal(m.certPem, c.managers[0]!.current().certPem);
    const writes = c.server
      .requests()
      .slice(before)
      .filter((r) => r.method !== 'GET');
    assert.deepEqual(writes, []);
  });
});

describe('caBundle drift', () => {
  let c: Cluster;
  before(async () => {
    c = await cluster();
  });
  after(() => c.close());

  test('a missing MutatingWebhookConfiguration is fine; a changed caBundle is put back by reconcile()', async () => {
    const m = c.manager();
    const material = await m.start();
    assert.equal(c.webhookConfig('MutatingWebhookConfiguration'), undefined);
    const vwc = c.webhookConfig('ValidatingWebhookConfiguration')!;
    (vwc.webhooks as { clientConfig: { caBundle?: string } }[])[0]!.clientConfig.caBundle = b64('not our CA');
    c.server.store.put('validatingwebhookconfigurations', vwc);
    await m.reconcile();
    assert.deepEqual(caBundles(c.webhookConfig('ValidatingWebhookConfiguration')), [b64(material.caBundlePem)]);
  });

  test('the periodic re-check repairs drift on its own, and a configuration created later gets the bundle', async () => {
    const m = c.manager({ resyncMs: 20 });
    const material = await m.start();
    const vwc = c.webhookConfig('ValidatingWebhookConfiguration')!;
    delete (vwc.webhooks as { clientConfig: { caBundle?: string } }[])[0]!.clientConfig.caBundle;
    c.server.store.put('validatingwebhookconfigurations', vwc);
    const mwc = rendered.withDefaults.find((o) => o.kind === 'MutatingWebhookConfiguration')!;
    c.server.store.put('mutatingwebhookconfigurations', structuredClone(mwc) as KubeObject);
    await waitFor(
      'the timer to repair both configurations',
      () =>
        caBundles(c.webhookConfig('ValidatingWebhookConfiguration'))[0] === b64(material.caBundlePem) &&
        caBundles(c.webhookConfig('MutatingWebhookConfiguration'))[0] === b64(material.caBundlePem),
    );
    m.stop();
  });

  test('after stop() no timer talks to the API server any more', async () => {
    const m = c.manager({ resyncMs: 5 });
    await m.start();
    await waitFor('a periodic pass', () =>
      c.server
        .requests()
        .slice(-3)
        .some((r) => r.path.startsWith(SECRET_PATH)),
    );
    m.stop();
    await m.reconcile(); // joins a pass already in flight (or makes one last pass by hand)
    const secretCalls = () => c.server.requests().filter((r) => r.path.startsWith(SECRET_PATH)).length;
    const count = secretCalls();
    // A witness with the same 5 ms period and its own Secret: once it has made three periodic
    // passes, a timer the stopped manager still held would have fired too.
    const witness = c.manager({ resyncMs: 5, secretName: 'witness-tls' });
    await witness.start();
    const witnessPath = `/api/v1/namespaces/${NS}/secrets/witness-tls`;
    const witnessCalls = () => c.server.requests().filter((r) => r.path.startsWith(witnessPath)).length;
    const afterStart = witnessCalls();
    await waitFor('three periodic passes of the witness', () => witnessCalls() >= afterStart + 3);
    witness.stop();
    assert.equal(secretCalls(), count);
  });
});

describe('CA rotation through the manager, with an injected clock', () => {
  let c: Cluster;
  let now = Date.now();
  const clock = () => new Date(now);
  before(async () => {
    c = await cluster();
  });
  after(() => c.close());

  test('stage the new CA and publish both; re-sign the leaf only after propagation; the second replica follows', async () => {
    const a = c.manager({ clock });
    const b = c.manager({ clock });
    const initial = await a.start();
    await b.start();
    const changes: string[] = [];
    a.onChange((m) => changes.push(m.certPem));

    now += 200 * DAY; // the leaf is long due: renewed, still by the only CA
    assert.deepEqual((await a.reconcile()).actions, ['issue-leaf']);
    now += 44 * DAY; // past 2/3 of the CA's 365 days, the leaf 44 days old
    const staged = await a.reconcile();
    assert.deepEqual(staged.actions, ['stage-ca']);
    assert.match(staged.waiting ?? '', /API servers/);
    const bundle = a.current().caBundlePem;
    const [oldCa, newCa] = fingerprints(bundle);
    assert.equal(fingerprints(bundle).length, 2);
    assert.equal(oldCa, fingerprints(initial.caBundlePem)[0]);
    assert.deepEqual(caBundles(c.webhookConfig('ValidatingWebhookConfiguration')), [b64(bundle)], 'both CAs published');
    assert.equal(issuerFingerprint(a.current().certPem, bundle), oldCa, 'still serving the leaf of the old CA');
    const secretKeys = () => Object.keys((c.secret()?.data ?? {}) as Record<string, string>).sort();
    assert.deepEqual(
      secretKeys(),
      ['ca-previous.key', 'ca.crt', 'ca.key', 'tls.crt', 'tls.key'],
      'the old CA key kept',
    );

    now += 11 * MIN;
    const switched = await a.reconcile();
    assert.deepEqual(switched.actions, ['issue-leaf']);
    const leaf = a.current().certPem;
    assert.equal(issuerFingerprint(leaf, a.current().caBundlePem), newCa);
    assert.deepEqual(fingerprints(a.current().caBundlePem), [oldCa, newCa], 'the old CA stays until it expires');
    assert.equal(changes.at(-1), leaf, 'onChange announced the new leaf');
    assert.deepEqual(secretKeys(), ['ca.crt', 'ca.key', 'tls.crt', 'tls.key'], 'the old CA key dropped once unused');

    await b.reconcile();
    assert.equal(b.current().certPem, leaf, 'the other replica adopts the renewed certificate');
    assert.deepEqual(caBundles(c.webhookConfig('ValidatingWebhookConfiguration')), [b64(a.current().caBundlePem)]);

    now += 130 * DAY; // the old CA has expired
    const pruned = await b.reconcile();
    assert.ok(pruned.actions.includes('prune-bundle'));
    assert.deepEqual(fingerprints(b.current().caBundlePem), [newCa]);
  });
});

describe('the caBundle patch fails for good after a new CA was staged (RBAC removed)', () => {
  let c: Cluster;
  let now = Date.now();
  const clock = () => new Date(now);
  before(async () => {
    c = await cluster();
  });
  after(() => c.close());

  test('the leaf is still renewed at 2/3 of its life, by the CA the API server trusts, until the old CA ends', async () => {
    const m = c.manager({ clock });
    await m.start();
    const publishedBundle = () =>
      Buffer.from(caBundles(c.webhookConfig('ValidatingWebhookConfiguration'))[0] ?? '', 'base64').toString('utf8');
    for (let day = 1; day <= 243; day++) {
      now += DAY;
      await m.reconcile();
    }
    // The CA is at 2/3 of its year tomorrow: from now on every caBundle write is forbidden.
    c.server.faults.failRequests({
      match: (method, path) => method === 'PUT' && path.includes('webhookconfigurations'),
      status: 403,
    });
    const trustedBefore = publishedBundle();
    const actions: string[] = [];
    for (let day = 244; day <= 364; day++) {
      now += DAY;
      const r = await m.reconcile();
      actions.push(...r.actions.map((a) => `${day}:${a}`));
      const leaf = new X509Certificate(m.current().certPem);
      assert.ok(now < Date.parse(leaf.validTo), `day ${day}: the served leaf has expired (${actions})`);
      assert.ok(
        issuerFingerprint(m.current().certPem, publishedBundle()),
        `day ${day}: the served leaf is not signed by a CA in the published caBundle (${actions})`,
      );
    }
    assert.equal(publishedBundle(), trustedBefore, 'nothing was published meanwhile');
    assert.ok(actions.includes('244:stage-ca'), String(actions));
    assert.ok(actions.includes('300:issue-leaf'), `renewed at 2/3 of its life: ${actions}`);
    assert.ok(((c.secret()?.data ?? {}) as Record<string, string>)['ca-previous.key'], 'the old CA key is still kept');
    assert.match(logText, /cannot publish the caBundle/);
    c.server.faults.clear();
  });
});

describe('the Secret deleted (or emptied) by hand', () => {
  let c: Cluster;
  before(async () => {
    c = await cluster();
  });
  after(() => c.close());

  test('a replica starts over with a new CA but keeps the CA of the leaf still being served in the bundle', async () => {
    const [a, b] = [c.manager(), c.manager()];
    const initial = await a.start();
    await b.start();
    const [oldCa] = fingerprints(initial.caBundlePem);
    c.server.store.remove({ apiVersion: 'v1', resource: 'secrets', namespace: NS, name: 'sidecar-guard-tls' });

    assert.deepEqual((await a.reconcile()).actions, ['create']);
    const bundle = a.current().caBundlePem;
    const [kept, newCa] = fingerprints(bundle);
    assert.equal(kept, oldCa);
    assert.notEqual(newCa, oldCa);
    assert.equal(issuerFingerprint(a.current().certPem, bundle), newCa);
    // b has not re-read yet: the leaf it serves still chains to the published bundle.
    assert.deepEqual(caBundles(c.webhookConfig('ValidatingWebhookConfiguration')), [b64(bundle)]);
    assert.equal(b.current().certPem, initial.certPem);
    assert.equal(issuerFingerprint(b.current().certPem, bundle), oldCa);
    await b.reconcile();
    assert.equal(b.current().certPem, a.current().certPem);

    // Emptied instead of deleted: same outcome through an update.
    const secret = c.secret()!;
    c.server.store.put('secrets', { ...secret, data: { 'ca.crt': '', 'ca.key': '', 'tls.crt': '', 'tls.key': '' } });
    assert.deepEqual((await a.reconcile()).actions, ['create']);
    assert.equal(fingerprints(a.current().caBundlePem)[0], newCa, 'the CA of the leaf served until now is kept');
  });
});

describe('API errors and write conflicts', () => {
  let c: Cluster;
  before(async () => {
    c = await cluster();
  });
  after(() => c.close());

  test('start() retries while the API server fails, then succeeds', async () => {
    c.server.faults.failRequests({
      match: (method, path) => method === 'GET' && path.startsWith(SECRET_PATH),
      status: 503,
      times: 2,
    });
    const m = await c.manager({ startTimeoutMs: 30_000 }).start();
    assert.ok(m.certPem.includes('BEGIN CERTIFICATE'));
    c.server.faults.clear();
  });

  test('a Conflict on the Secret update is re-read and re-decided', async () => {
    let now = Date.now();
    const m = c.manager({ clock: () => new Date(now) });
    const before = (await m.start()).certPem;
    c.server.faults.failRequests({
      match: (method, path) => method === 'PUT' && path.startsWith(SECRET_PATH),
      status: 409,
      times: 1,
    });
    now += 61 * DAY;
    const r = await m.reconcile();
    assert.deepEqual(r.actions, ['issue-leaf']);
    assert.notEqual(m.current().certPem, before);
    const puts = c.server.requests().filter((x) => x.method === 'PUT' && x.path.startsWith(SECRET_PATH));
    assert.deepEqual(
      puts.map((x) => x.status),
      [409, 200],
    );
    c.server.faults.clear();
  });

  test('start() gives up with a clear error when the Secret cannot be read', async () => {
    c.server.faults.failRequests({
      match: (method, path) => method === 'GET' && path.startsWith(SECRET_PATH),
      status: 403,
    });
    await assert.rejects(
      c.manager({ startTimeoutMs: 300 }).start(),
      /no usable TLS material in Secret sidecar-guard\/sidecar-guard-tls/,
    );
    c.server.faults.clear();
  });
});

describe('the API server calls the webhook with the published caBundle', () => {
  let c: Cluster;
  let base = '';
  let closeApp: () => Promise<void> = async () => undefined;
  before(async () => {
    c = await cluster({ serviceBase: () => base });
  });
  after(async () => {
    await closeApp();
    await c.close();
  });

  test('a bad Sidecar is denied in all three versions, a good one admitted, kube-system skipped; the reloaded leaf keeps working', async () => {
    // Certificates are checked against the real clock by the TLS clients, so
    // this manager starts 61 days in the past and renews at the real now.
    let now = Date.now() - 61 * DAY;
    const manager = c.manager({ clock: () => new Date(now) });
    const material = await manager.start();
    const { app } = testApp({ deps: { https: serverTlsOptions(material) } });
    await app.listen({ host: '127.0.0.1', port: 0 });
    closeApp = () => app.close();
    base = `https://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    reloadOnChange(app.server as unknown as { setSecureContext(o: object): void }, manager);

    const client = KubeClient.load(c.kubeconfig);
    const create = (ns: string, obj: Record<string, unknown>, version = 'v1') =>
      client.request('POST', `/apis/networking.istio.io/${version}/namespaces/${ns}/sidecars`, {
        body: { ...obj, apiVersion: `networking.istio.io/${version}` },
      });
    const bad = (name: string) => sidecar('shop', name, { spec: { egress: [{ hosts: ['bad-host'] }] } });

    for (const version of ['v1', 'v1beta1', 'v1alpha3']) {
      const err = await create('shop', bad(`bad-${version}`), version).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof KubeApiError, `${version}: the bad Sidecar must be rejected`);
      assert.match(err.message, /admission webhook "validate\.sidecar-guard\.io" denied the request/);
      assert.match(err.message, /host must be of form namespace\/dnsName/);
    }
    assert.equal((await create('shop', sidecar('shop', 'good'))).status, 201);
    assert.equal(
      (await create('kube-system', { ...bad('ignored'), metadata: { name: 'ignored', namespace: 'kube-system' } }))
        .status,
      201,
      'kube-system is excluded',
    );

    // Rotate the leaf: the API server keeps trusting it through the published bundle.
    const before = manager.current().certPem;
    now = Date.now();
    assert.deepEqual((await manager.reconcile()).actions, ['issue-leaf']);
    assert.notEqual(manager.current().certPem, before);
    const served = await httpsGet(Number(new URL(base).port), '/healthz', {
      ca: manager.current().caBundlePem,
      servername: 'sidecar-guard.sidecar-guard.svc',
    });
    assert.equal(served.error, undefined);
    assert.equal(served.fingerprint256, new X509Certificate(manager.current().certPem).fingerprint256);
    const again = await create('shop', bad('bad-after-rotation')).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.match(String((again as Error)?.message), /denied the request/);
  });
});

describe('logging', () => {
  test('no private key material reached the log', () => {
    assert.ok(logText.length > 0, 'the managers logged something');
    assert.doesNotMatch(logText, /PRIVATE KEY/);
    assert.doesNotMatch(logText, /MII[A-Za-z0-9+/]{20}/, 'no base64 DER either');
  });
});

// What a person sees: kubectl with default flags against the API server
// (the real kube-apiserver v1.35, or with e2e:up --apiserver=test the
// simulator), which calls sidecar-guard through the webhook configurations
// from manifests/. Needs `npm run e2e:up` first (make e2e does up, this, down).
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runProcess } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';
import {
  DENIED,
  KUBECONFIG,
  kubectl,
  namespaces,
  needsRealApiServer,
  readState,
  ROOT,
  type KubectlResult,
} from './env.js';

const SEEDS = fileURLToPath(new URL('../fixtures/seeds/', import.meta.url));

const sidecar = (ns: string, name: string, body: string, apiVersion = 'networking.istio.io/v1') =>
  `apiVersion: ${apiVersion}\nkind: Sidecar\nmetadata:\n  name: ${name}\n  namespace: ${ns}\n${body}`;
const EGRESS = 'spec:\n  egress:\n  - hosts: ["./*", "istio-system/*"]\n';

async function ok(args: string[], stdin?: string): Promise<KubectlResult> {
  const r = await kubectl(args, stdin === undefined ? {} : { stdin });
  assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
  return r;
}

/** Polls until probe() gives a value (the webhook's view and controller catch up asynchronously). */
async function eventually<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  let value: T | undefined;
  await waitFor(
    what,
    async () => {
      value = await probe();
      return value !== undefined;
    },
    20_000,
    100,
  );
  return value!;
}

before(() => {
  readState(); // fails with "run npm run e2e:up first" when the environment is missing
});

describe('the API server', { skip: needsRealApiServer() }, () => {
  test('kubectl and the server are the Kubernetes release built from test/cluster/kube', async () => {
    const version = JSON.parse((await ok(['version', '-o', 'json'])).stdout);
    assert.equal(version.serverVersion.gitVersion, 'v1.35.4');
    assert.equal(version.clientVersion.gitVersion, 'v1.35.4');
  });

  test('/readyz?verbose lists the etcd checks', async () => {
    const r = await ok(['get', '--raw', '/readyz?verbose']);
    assert.match(r.stdout, /^\[\+\]etcd ok$/m);
    assert.match(r.stdout, /^\[\+\]etcd-readiness ok$/m);
    assert.match(r.stdout, /readyz check passed/);
  });
});

describe('kubectl apply of the seed examples, in document order', () => {
  // file → what kubectl must say. "ok": every document created or configured.
  const expected: Record<string, 'ok' | RegExp> = {
    '000-00.yaml': 'ok',
    '000-01.yaml': 'ok',
    '000-02.yaml': new RegExp(
      `${DENIED}Sidecar frontend/checkout-service-sidecar is invalid \\(3 errors\\):\\n- spec\\.egress\\[0\\]\\.hosts\\[0\\]: short names \\(non FQDN\\) are not allowed \\[H4\\]`,
    ),
    '000-03.yaml': new RegExp(
      `${DENIED}Sidecar backend/multi-port-sidecar is invalid: spec\\.egress\\[1\\]\\.hosts\\[0\\]: short names \\(non FQDN\\) are not allowed \\[H4\\]`,
    ),
    '000-04.yaml': 'ok',
    '000-05.yaml': 'ok',
    '000-06.yaml': 'ok',
    '000-07.yaml': new RegExp(
      `${DENIED}Sidecar backend/external-api-client-sidecar is invalid: spec\\.egress\\[0\\]\\.port: sidecar: the egress listener with empty port should be the last listener in the list \\[E2\\]`,
    ),
    '000-08.yaml': 'ok',
    '000-09.yaml': 'ok',
    '000-10.yaml': new RegExp(`${DENIED}Sidecar backend/default is invalid \\(2 errors\\)`),
    '000-12.yaml': new RegExp(
      `${DENIED}Sidecar shipping/default is invalid: spec\\.egress\\[0\\]\\.hosts\\[1\\]: short names`,
    ),
    '000-13.yaml': new RegExp(
      `${DENIED}Sidecar orders/payment-service-sidecar is invalid: spec\\.egress\\[0\\]\\.port: sidecar: the egress listener with empty port should be the last`,
    ),
    '000-15.yaml': 'ok',
    '001-00.yaml': 'ok',
    '001-02.yaml': 'ok',
    '002-00.yaml': 'ok',
    '002-01.yaml': 'ok',
    // kubectl's strict field validation: the API server refuses the unknown field before any webhook.
    '002-02.yaml': /strict decoding error: unknown field "spec\.ingress\[1\]\.inboundTls"/,
    '002-03.yaml': 'ok',
    '002-04.yaml': new RegExp(
      `${DENIED}Sidecar prod-us1/partial-ip-tables is invalid: spec\\.workloadSelector\\.labels: selects the same workloads as Sidecar prod-us1/no-ip-tables: both apply to pods labelled app=productpage`,
    ),
  };

  test('every seed file has an expectation', () => {
    assert.deepEqual(
      readdirSync(SEEDS)
        .filter((f) => f.endsWith('.yaml'))
        .sort(),
      Object.keys(expected).sort(),
    );
  });

  test('invalid ones are refused with the webhook message; the rest are created', async () => {
    await namespaces(
      'frontend',
      'backend',
      'team-a',
      'team-b',
      'database',
      'catalog',
      'orders',
      'shipping',
      'shared',
      'my-namespace',
      'istio-config',
      'prod-us1',
    );
    for (const [file, want] of Object.entries(expected)) {
      const r = await kubectl(['apply', '-f', `${SEEDS}${file}`]);
      if (want === 'ok') {
        assert.equal(r.code, 0, `${file}: ${r.stderr}`);
        assert.match(r.stdout, /sidecar\.networking\.istio\.io\/\S+ (created|configured|unchanged)/);
      } else {
        assert.equal(r.code, 1, `${file} should be refused: ${r.stdout}`);
        assert.match(r.stderr, want, file);
      }
    }
    // 000-12 is partly valid: its other four documents went in.
    await ok(['get', 'sidecar', '-n', 'catalog', 'default']);
    const shipping = await kubectl(['get', 'sidecar', '-n', 'shipping', 'default']);
    assert.equal(shipping.code, 1);
    assert.match(shipping.stderr, /NotFound|not found/);
  });
});

describe('cross-object rules through kubectl', () => {
  test('a second namespace-wide Sidecar is refused, naming the existing one and the fix', async () => {
    await namespaces('e2e-dup');
    await ok(['apply', '-f', '-'], sidecar('e2e-dup', 'first', EGRESS));
    const r = await kubectl(['apply', '-f', '-'], { stdin: sidecar('e2e-dup', 'second', EGRESS) });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /Error from server \(Forbidden\): error when creating "STDIN": admission webhook "validate\.sidecar-guard\.io" denied the request: Sidecar e2e-dup\/second is invalid: spec\.workloadSelector: no workloadSelector, but namespace "e2e-dup" already has a namespace-wide Sidecar: first/,
    );
    assert.match(
      r.stderr,
      /Fix: edit the existing Sidecar e2e-dup\/first instead, or add spec\.workloadSelector\.labels to second/,
    );
  });

  test('namespace defaults of two Istio revisions (istio.io/rev) are both created; an unlabelled third is refused', async () => {
    await namespaces('e2e-revisions');
    const labelled = (rev: string) =>
      sidecar('e2e-revisions', `default-${rev}`, `  labels:\n    istio.io/rev: "${rev}"\n${EGRESS}`);
    await ok(['apply', '-f', '-'], labelled('1-27'));
    // Refused once (2026-12-03, make test) as if default-1-27 were unlabelled; not seen in 8 runs since. Should it
    // happen again, the message shows what the API server holds (the replicas' logs are kept in .e2e-failed/).
    const second = await kubectl(['apply', '-f', '-'], { stdin: labelled('1-28') });
    if (second.code !== 0) {
      const stored = await kubectl(['get', 'sidecars', '-n', 'e2e-revisions', '-o', 'yaml']);
      assert.fail(`kubectl apply of default-1-28 failed: ${second.stderr}\nstored:\n${stored.stdout}`);
    }
    const r = await kubectl(['apply', '-f', '-'], { stdin: sidecar('e2e-revisions', 'plain', EGRESS) });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /Sidecar e2e-revisions\/plain is invalid \(2 errors\):[\s\S]*already has a namespace-wide Sidecar: default-(1-2[78]) \(both are read by the istiod of revision "\1"\)/,
    );
  });

  test('a Sidecar labelled with a revision no istiod runs (a revision tag) is allowed with a warning naming the revisions that run', async () => {
    await namespaces('istio-system', 'e2e-rev-tag');
    const istiod =
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: istiod-1-28-e2e\n  namespace: istio-system\n  labels: {app: istiod, istio.io/rev: "1-28"}\nspec:\n  containers:\n  - name: discovery\n    image: pilot:1.28\n';
    await ok(['apply', '-f', '-'], istiod);
    try {
      const labelled = (rev: string) =>
        sidecar('e2e-rev-tag', 'default', `  labels:\n    istio.io/rev: "${rev}"\n${EGRESS}`);
      // The istiod pod reaches the webhook's view through its watch: ask (dry run) until the warning names it.
      const warned = await eventually(async () => {
        const r = await kubectl(['apply', '--dry-run=server', '-f', '-'], { stdin: labelled('prod-stable') });
        return r.code === 0 && /a revision no istiod runs/.test(r.stderr) ? r : undefined;
      }, 'the istiod pod to reach the view');
      assert.match(
        warned.stderr,
        /Warning: Sidecar e2e-rev-tag\/default: it is labelled istio\.io\/rev="prod-stable", a revision no istiod runs \(istiods: "1-28" in istio-system\), so no istiod reads it and this Sidecar has no effect/,
      );
      const read = await ok(['apply', '-f', '-'], labelled('1-28'));
      assert.doesNotMatch(read.stderr, /no istiod runs/);
    } finally {
      await ok(['delete', 'pod', '-n', 'istio-system', 'istiod-1-28-e2e', '--wait=false']);
    }
  });

  test("a Sidecar labelled with a revision none of its pods runs is allowed with a warning naming the pods' revision", async () => {
    await namespaces('istio-system', 'e2e-rev-pods');
    const pod = (ns: string, name: string, labels: string, annotations = '') =>
      `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n  namespace: ${ns}\n  labels: {${labels}}\n${annotations}spec:\n  containers:\n  - name: app\n    image: app:1\n`;
    const istiods = ['1-27', '1-28'].map((rev) =>
      pod('istio-system', `istiod-${rev}-pods-e2e`, `app: istiod, istio.io/rev: "${rev}"`),
    );
    // What the injection template of revision 1-27 writes on the pods it injects.
    const injected = pod('e2e-rev-pods', 'reviews-7d4b9', 'app: reviews', '  annotations: {istio.io/rev: "1-27"}\n');
    await ok(['apply', '-f', '-'], [...istiods, injected].join('---\n'));
    try {
      const labelled = (rev: string) =>
        sidecar(
          'e2e-rev-pods',
          'reviews',
          `  labels:\n    istio.io/rev: "${rev}"\nspec:\n  workloadSelector:\n    labels: {app: reviews}\n  egress:\n  - hosts: ["./*"]\n`,
        );
      // The pods reach the webhook's view through its metadata-only watch, annotations included.
      const warned = await eventually(async () => {
        const r = await kubectl(['apply', '--dry-run=server', '-f', '-'], { stdin: labelled('1-28') });
        return r.code === 0 && /revision\.pod-mismatch|run proxies of revision/.test(r.stderr) ? r : undefined;
      }, 'the pods to reach the view');
      assert.match(
        warned.stderr,
        /Warning: Sidecar e2e-rev-pods\/reviews: it is labelled istio\.io\/rev="1-28", so only the istiod of revision "1-28" reads it, but the pods it selects \(reviews-7d4b9\) run proxies of revision "1-27" \(their istio\.io\/rev annotation\), whose istiod does not read it: this Sidecar has no effect on them/,
      );
      const read = await ok(['apply', '-f', '-'], labelled('1-27'));
      assert.doesNotMatch(read.stderr, /run proxies of revision/);
    } finally {
      await ok(['delete', 'pod', '-n', 'istio-system', 'istiod-1-27-pods-e2e', 'istiod-1-28-pods-e2e', '--wait=false']);
    }
  });

  test('a selector Sidecar beside an older workloadSelector: {} is allowed with a warning: the {} takes its pods', async () => {
    await namespaces('e2e-shadowed');
    const catchAll = sidecar(
      'e2e-shadowed',
      'catch-all',
      'spec:\n  workloadSelector: {}\n  egress:\n  - hosts: ["./*"]\n',
    );
    const created = await ok(['apply', '-f', '-'], catchAll);
    assert.match(created.stderr, /\[selector\.empty\]|workloadSelector without labels/);
    // kube-apiserver sets the creationTimestamp of a CREATE before it asks the webhook.
    const reviews = await ok(
      ['apply', '-f', '-'],
      sidecar(
        'e2e-shadowed',
        'reviews',
        'spec:\n  workloadSelector:\n    labels: {app: reviews}\n  egress:\n  - hosts: ["./*"]\n',
      ),
    );
    assert.match(
      reviews.stderr,
      /Warning: Sidecar e2e-shadowed\/reviews: Sidecar e2e-shadowed\/catch-all has workloadSelector: \{\}, which istiod applies to every pod of e2e-shadowed, and it is older: istiod gives it every pod this Sidecar selects, so this Sidecar has no effect/,
    );
  });

  test('an overlapping selector is refused, naming the other Sidecar and the pods both would select', async () => {
    await namespaces('e2e-overlap');
    await ok(
      ['apply', '-f', '-'],
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: reviews-v2-abc\n  namespace: e2e-overlap\n  labels: {app: reviews, version: v2}\nspec:\n  containers:\n  - name: app\n    image: reviews:v2\n',
    );
    await ok(
      ['apply', '-f', '-'],
      sidecar(
        'e2e-overlap',
        'reviews',
        `spec:\n  workloadSelector:\n    labels: {app: reviews}\n  egress:\n  - hosts: ["./*"]\n`,
      ),
    );
    const r = await kubectl(['apply', '-f', '-'], {
      stdin: sidecar(
        'e2e-overlap',
        'reviews-v2',
        `spec:\n  workloadSelector:\n    labels: {app: reviews, version: v2}\n  egress:\n  - hosts: ["./*"]\n`,
      ),
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /selects the same workloads as Sidecar e2e-overlap\/reviews: both apply to pods labelled app=reviews,version=v2 \(existing pods: reviews-v2-abc\)/,
    );
  });

  test('editing and deleting still work; a re-apply of the same object never conflicts with itself', async () => {
    await namespaces('e2e-edit');
    await ok(['apply', '-f', '-'], sidecar('e2e-edit', 'default', EGRESS));
    const edited = await ok(
      ['apply', '-f', '-'],
      sidecar('e2e-edit', 'default', 'spec:\n  egress:\n  - hosts: ["./*", "istio-system/*", "shared/*"]\n'),
    );
    assert.match(edited.stdout, /sidecar\.networking\.istio\.io\/default configured/);
    const got = await ok(['get', 'sidecar', '-n', 'e2e-edit', 'default', '-o', 'jsonpath={.spec.egress[0].hosts}']);
    assert.match(got.stdout, /shared\/\*/);
    await ok(['delete', 'sidecar', '-n', 'e2e-edit', 'default']);
    const gone = await kubectl(['get', 'sidecar', '-n', 'e2e-edit', 'default']);
    assert.equal(gone.code, 1);
    // after the delete a new namespace-wide Sidecar is welcome
    await eventually(
      async () =>
        (await kubectl(['apply', '-f', '-'], { stdin: sidecar('e2e-edit', 'replacement', EGRESS) })).code === 0
          ? true
          : undefined,
      'the delete to reach the view',
    );
  });

  test('a Sidecar that selects only a gateway pod (inject.istio.io/templates: gateway) is allowed with a warning saying it does nothing', async () => {
    await namespaces('e2e-gateway');
    await ok(
      ['apply', '-f', '-'],
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: ingress-abc\n  namespace: e2e-gateway\n  labels: {istio: ingressgateway, sidecar.istio.io/inject: "true"}\n  annotations: {inject.istio.io/templates: gateway}\nspec:\n  containers:\n  - name: istio-proxy\n    image: proxyv2:1\n',
    );
    const forGateway = sidecar(
      'e2e-gateway',
      'ingress',
      'spec:\n  workloadSelector:\n    labels: {istio: ingressgateway}\n  egress:\n  - hosts: ["./*"]\n',
    );
    // The pod reaches the webhook's view through its watch: ask (dry run) until the warning names it.
    const warned = await eventually(async () => {
      const r = await kubectl(['apply', '--dry-run=server', '-f', '-'], { stdin: forGateway });
      return r.code === 0 && /runs without a sidecar proxy/.test(r.stderr) ? r : undefined;
    }, 'the gateway pod to reach the view');
    assert.match(
      warned.stderr,
      /Warning: .*pod ingress-abc: a gateway, to which istiod applies no Sidecar\), so this Sidecar has no effect/,
    );
  });

  test('a Sidecar for a VM: selector.no-match until a WorkloadEntry carries the labels, then none', {
    skip: needsRealApiServer(),
  }, async () => {
    await namespaces('e2e-vm');
    const forVm = sidecar(
      'e2e-vm',
      'reviews-vm',
      'spec:\n  workloadSelector:\n    labels: {app: reviews-vm}\n  egress:\n  - hosts: ["./*"]\n',
    );
    const before = await ok(['apply', '--dry-run=server', '-f', '-'], forVm);
    assert.match(before.stderr, /no pod and no workload template in e2e-vm matches app=reviews-vm yet \(IST0101\)/);
    await ok(
      ['apply', '-f', '-'],
      'apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata:\n  name: reviews-vm-1\n  namespace: e2e-vm\nspec:\n  address: 10.0.0.7\n  labels: {app: reviews-vm}\n',
    );
    // The WorkloadEntry reaches the webhook's view through its watch: ask (dry run) until the warning is gone.
    await eventually(async () => {
      const r = await kubectl(['apply', '--dry-run=server', '-f', '-'], { stdin: forVm });
      return r.code === 0 && !/IST0101/.test(r.stderr) ? r : undefined;
    }, 'the WorkloadEntry to reach the view');
  });

  /**
   * Applies `target` in namespace `ns`, then a Sidecar with one listener on `wrong` (asked by dry run until
   * its host.port warning appears: the target reaches the webhook's view through its watch) and on `right`.
   */
  async function portListener(
    ns: string,
    target: string,
    host: string,
    protocol: string,
    wrong: number,
    right: number,
  ) {
    await namespaces(ns);
    await ok(['apply', '-f', '-'], target);
    const onPort = (port: number) =>
      sidecar(
        ns,
        'client',
        `spec:\n  workloadSelector:\n    labels: {app: client}\n  egress:\n  - port: {number: ${port}, protocol: ${protocol}, name: p}\n    hosts: ["${host}"]\n  - hosts: ["istio-system/*"]\n`,
      );
    const warned = await eventually(
      async () => {
        const r = await kubectl(['apply', '--dry-run=server', '-f', '-'], { stdin: onPort(wrong) });
        return r.code === 0 && new RegExp(`has no port ${wrong}`).test(r.stderr) ? r : undefined;
      },
      `${target.match(/kind: (\w+)/)?.[1]} ${ns} to reach the view`,
    );
    return { warned, right: await ok(['apply', '--dry-run=server', '-f', '-'], onPort(right)) };
  }

  test("an egress listener whose port the named Service lacks: allowed with a warning naming the Service's ports", async () => {
    const { warned, right } = await portListener(
      'e2e-port',
      'apiVersion: v1\nkind: Service\nmetadata:\n  name: reviews\n  namespace: e2e-port\nspec:\n  selector: {app: reviews}\n  ports:\n  - {name: http, port: 9080}\n',
      './reviews.e2e-port.svc.cluster.local',
      'HTTP',
      8080,
      9080,
    );
    assert.match(
      warned.stderr,
      /Warning: Sidecar e2e-port\/client: egress host "\.\/reviews\.e2e-port\.svc\.cluster\.local" is the Service e2e-port\/reviews, which has no port 8080 \(it has 9080\)/,
    );
    assert.doesNotMatch(right.stderr, /has no port/);
  });

  test("a ServiceEntry's ports count for host.port: an exact host on a listener port the entry lacks is a warning naming the entry", {
    skip: needsRealApiServer(),
  }, async () => {
    const { warned, right } = await portListener(
      'e2e-port-se',
      'apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata:\n  name: payments\n  namespace: e2e-port-se\nspec:\n  hosts: [api.payments.example.com]\n  location: MESH_EXTERNAL\n  resolution: DNS\n  ports:\n  - {number: 443, name: tls, protocol: TLS}\n',
      './api.payments.example.com',
      'TLS',
      8443,
      443,
    );
    assert.match(
      warned.stderr,
      /Warning: Sidecar e2e-port-se\/client: egress host "\.\/api\.payments\.example\.com" is declared by ServiceEntry e2e-port-se\/payments, which has no port 8443 \(it has 443\)/,
    );
    assert.doesNotMatch(right.stderr, /has no port|KIA1004/);
  });

  test('warnings are printed and the object is created', async () => {
    await namespaces('e2e-warn');
    const r = await ok(
      ['apply', '-f', '-'],
      sidecar(
        'e2e-warn',
        'default',
        'spec:\n  egress:\n  - hosts: ["./a.example.com", "e2e-warn/a.example.com", "istio-system/*"]\n',
      ),
    );
    assert.match(r.stderr, /^Warning: duplicated egress host: e2e-warn\/a\.example\.com$/m);
    assert.match(r.stdout, /created/);
  });

  test('--dry-run=server gives the same verdict and stores nothing', async () => {
    await namespaces('e2e-dry');
    const bad = sidecar(
      'e2e-dry',
      'bad',
      'spec:\n  egress:\n  - hosts: ["./*"]\n  - port: {number: 80, protocol: HTTP, name: http}\n    hosts: ["./*"]\n',
    );
    const real = await kubectl(['apply', '-f', '-'], { stdin: bad });
    const dry = await kubectl(['apply', '--dry-run=server', '-f', '-'], { stdin: bad });
    assert.equal(dry.code, 1);
    assert.equal(dry.stderr, real.stderr);
    const good = await ok(['apply', '--dry-run=server', '-f', '-'], sidecar('e2e-dry', 'good', EGRESS));
    assert.match(good.stdout, /created \(server dry run\)/);
    assert.equal((await kubectl(['get', 'sidecar', '-n', 'e2e-dry', 'good'])).code, 1);
    // and it reserved nothing: a real create of a namespace-wide Sidecar still goes through
    await ok(['apply', '-f', '-'], sidecar('e2e-dry', 'other', EGRESS));
  });

  test('all three served versions get the same verdict', async () => {
    await namespaces('e2e-versions');
    for (const version of ['v1', 'v1beta1', 'v1alpha3']) {
      const r = await kubectl(['apply', '-f', '-'], {
        stdin: sidecar(
          'e2e-versions',
          `bad-${version}`,
          'spec:\n  egress:\n  - hosts: ["noslash"]\n',
          `networking.istio.io/${version}`,
        ),
      });
      assert.equal(r.code, 1, version);
      assert.match(
        r.stderr,
        new RegExp(
          `Sidecar e2e-versions/bad-${version} is invalid: spec\\.egress\\[0\\]\\.hosts\\[0\\]: host must be of form namespace/dnsName \\[H1\\]`,
        ),
      );
    }
  });
});

describe('Sidecars stored before the webhook covered them', () => {
  // Such objects exist in every cluster that installs a webhook late. Here the
  // validating configuration skips e2e-legacy for a moment (as if it did not
  // exist yet), the objects go in, and the configuration is put back.
  const NS = 'e2e-legacy';
  // A port-less egress listener that is not last (E2), held by a finalizer.
  const invalid = withFinalizer(
    sidecar(
      NS,
      'legacy-order',
      'spec:\n  workloadSelector:\n    labels: {app: legacy}\n  egress:\n  - hosts: ["./*"]\n  - port: {number: 80, protocol: HTTP, name: http}\n    hosts: ["./*"]\n',
    ),
  );
  const setExcluded = (values: string[]) =>
    ok([
      'patch',
      'validatingwebhookconfiguration',
      'sidecar-guard',
      '--type=json',
      '-p',
      JSON.stringify([
        { op: 'replace', path: '/webhooks/0/namespaceSelector/matchExpressions/0/values', value: values },
      ]),
    ]);
  /** The API server applies configuration changes asynchronously: wait until a dry run shows the new coverage. */
  const covered = async () =>
    (
      await kubectl(['apply', '--dry-run=server', '-f', '-'], {
        stdin: sidecar(NS, 'probe', 'spec:\n  egress:\n  - hosts: ["noslash"]\n'),
      })
    ).code !== 0;

  before(async () => {
    // istio-system exists in every Istio mesh; without it `istio-system/*` would get a KIA1004 warning.
    await namespaces(NS, 'istio-system');
    await setExcluded(['kube-system', NS]);
    try {
      await waitFor(
        'the API server to stop calling the webhook for e2e-legacy',
        async () => !(await covered()),
        20_000,
        100,
      );
      await ok(['apply', '-f', '-'], sidecar(NS, 'first-default', EGRESS));
      await ok(['apply', '-f', '-'], sidecar(NS, 'second-default', EGRESS));
      await ok(['apply', '-f', '-'], invalid);
    } finally {
      await setExcluded(['kube-system']);
    }
    await waitFor('the API server to call the webhook for e2e-legacy again', covered, 20_000, 100);
  });

  test('audit --kubeconfig reports the conflict that admission would have refused, both members, as the cluster admin', async () => {
    const r = await sidecarGuard(['audit', '--kubeconfig', KUBECONFIG, '--output', 'json']);
    assert.equal(r.code, 1, r.stderr);
    const findings = (
      JSON.parse(r.stdout) as { findings: { code: string; namespace: string; name: string }[] }
    ).findings.filter((f) => f.namespace === NS);
    // and the selector of legacy-order that matches no pod (IST0101, a warning)
    assert.deepEqual(
      findings.map((f) => `${f.code} ${f.name}`),
      ['IST0111 first-default', 'IST0101 legacy-order', 'IST0111 second-default'],
    );
  });

  test('their metadata can still be edited (warnings say why); a spec edit that keeps them invalid is refused', async () => {
    const labelled = await ok(['label', 'sidecar', '-n', NS, 'legacy-order', 'team=payments']);
    assert.match(
      labelled.stderr,
      /^Warning: .*spec\.egress\[0\]\.port: sidecar: the egress listener with empty port should be the last listener in the list \[E2\] \(allowed: the stored Sidecar already had this and the update leaves its spec unchanged\)/m,
    );
    const edited = await kubectl([
      'patch',
      'sidecar',
      '-n',
      NS,
      'legacy-order',
      '--type=merge',
      '-p',
      '{"spec":{"outboundTrafficPolicy":{"mode":"REGISTRY_ONLY"}}}',
    ]);
    assert.equal(edited.code, 1);
    assert.match(
      edited.stderr,
      new RegExp(`${DENIED}Sidecar ${NS}/legacy-order is invalid: spec\\.egress\\[0\\]\\.port: .*\\[E2\\]`),
    );
  });

  test('a Sidecar being deleted is never held up: its finalizer can be removed although its spec is invalid', {
    skip: needsRealApiServer(),
  }, async () => {
    const deleting = await ok(['delete', 'sidecar', '-n', NS, 'legacy-order', '--wait=false']);
    assert.match(deleting.stdout, /deleted/);
    const held = JSON.parse((await ok(['get', 'sidecar', '-n', NS, 'legacy-order', '-o', 'json'])).stdout);
    assert.ok(held.metadata.deletionTimestamp, 'the finalizer keeps it, marked for deletion');
    // The UPDATE that removes the finalizer reaches the webhook with metadata.deletionTimestamp set.
    const released = await ok([
      'patch',
      'sidecar',
      '-n',
      NS,
      'legacy-order',
      '--type=json',
      '-p',
      '[{"op":"remove","path":"/metadata/finalizers"}]',
    ]);
    assert.match(released.stderr, /\(allowed: the Sidecar is being deleted\)/);
    const gone = await kubectl(['get', 'sidecar', '-n', NS, 'legacy-order']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /NotFound|not found/);
  });
});

describe('namespace defaults through kubectl', () => {
  const managed = async (ns: string) => {
    const r = await kubectl(['get', 'sidecar', '-n', ns, 'default', '-o', 'json']);
    if (r.code !== 0) return undefined;
    const obj = JSON.parse(r.stdout);
    return obj.metadata?.labels?.['app.kubernetes.io/managed-by'] === 'sidecar-guard' ? obj : undefined;
  };

  test('labelling a namespace gives it a managed default Sidecar; deleting it brings it back', async () => {
    await ok(['create', 'namespace', 'e2e-shop']);
    await ok(['label', 'namespace', 'e2e-shop', 'sidecar-guard.io/default-sidecar=enabled']);
    const first = await eventually(() => managed('e2e-shop'), 'the generated default');
    assert.deepEqual(first.spec, { egress: [{ hosts: ['./*', 'istio-system/*'] }] });
    await ok(['delete', 'sidecar', '-n', 'e2e-shop', 'default']);
    const again = await eventually(async () => {
      const s = await managed('e2e-shop');
      return s && s.metadata.uid !== first.metadata.uid ? s : undefined;
    }, 'the default to come back');
    assert.equal(again.metadata.name, 'default');
  });

  test('a user namespace-wide Sidecar beside the generated one is refused with a way out', async () => {
    await eventually(() => managed('e2e-shop'), 'the generated default');
    const r = await kubectl(['apply', '-f', '-'], { stdin: sidecar('e2e-shop', 'mine', EGRESS) });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /already has a namespace-wide Sidecar: default \(generated by sidecar-guard as the namespace default\)/,
    );
    assert.match(r.stderr, /opt the namespace out of generated defaults/);
  });

  test('a Sidecar created with the generate annotation comes back with the generated spec; dry-run creates nothing', async () => {
    await namespaces('e2e-annotated');
    const asking =
      'apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata:\n  name: scoped\n  namespace: e2e-annotated\n  annotations:\n    sidecar-guard.io/generate: "true"\n';
    const dry = await ok(['apply', '--dry-run=server', '-f', '-'], asking);
    assert.match(dry.stdout, /created \(server dry run\)/);
    assert.equal((await kubectl(['get', 'sidecar', '-n', 'e2e-annotated', 'scoped'])).code, 1);
    await ok(['apply', '-f', '-'], asking);
    const got = await ok(['get', 'sidecar', '-n', 'e2e-annotated', 'scoped', '-o', 'yaml']);
    assert.match(got.stdout, /spec:\n {2}egress:\n {2}- hosts:\n {4}- \.\/\*\n {4}- istio-system\/\*/);
    assert.match(got.stdout, /sidecar-guard\.io\/template-hash:/);
  });
});

describe('webhook configuration upkeep', () => {
  test('installed with failurePolicy Ignore from manifests/, set to Fail once the webhook proved reachable, with its caBundle', async () => {
    const policy = await eventually(async () => {
      const r = await kubectl([
        'get',
        'validatingwebhookconfiguration',
        'sidecar-guard',
        '-o',
        'jsonpath={.webhooks[0].failurePolicy}',
      ]);
      return r.stdout === 'Fail' ? r.stdout : undefined;
    }, 'failurePolicy Fail');
    assert.equal(policy, 'Fail');
    const mutating = await ok([
      'get',
      'mutatingwebhookconfiguration',
      'sidecar-guard',
      '-o',
      'jsonpath={.webhooks[0].failurePolicy}',
    ]);
    assert.equal(mutating.stdout, 'Ignore', 'defaulting stays a convenience');
    const bundle = await ok([
      'get',
      'validatingwebhookconfiguration',
      'sidecar-guard',
      '-o',
      'jsonpath={.webhooks[0].clientConfig.caBundle}',
    ]);
    assert.equal(Buffer.from(bundle.stdout, 'base64').toString(), readState().caPem);
    // The proof: the API server called us with the dry-run probe and we denied it.
    const text = await (await fetch(`${readState().webhook.metricsUrl}/metrics`)).text();
    assert.match(text, /^sidecar_guard_webhook_reachable 1$/m);
    assert.match(text, /^sidecar_guard_webhook_reachability_checks_total\{result="denied"\} [1-9]/m);
  });
});

describe('observability of the running webhook', () => {
  test('/metrics counts the decisions made above, by rule', async () => {
    const { webhook } = readState();
    const text = await (await fetch(`${webhook.metricsUrl}/metrics`)).text();
    assert.match(text, /sidecar_guard_admission_requests_total\{[^}]*decision="denied"[^}]*\} [1-9]/);
    assert.match(text, /rule="E2"/);
  });
});

/** The sidecar-guard CLI (compiled by e2e:up), as a user runs it. */
function sidecarGuard(args: string[]): Promise<KubectlResult> {
  return runProcess(process.execPath, ['bin/sidecar-guard.js', ...args], { cwd: ROOT, timeout: 60_000 });
}

function withFinalizer(yaml: string): string {
  return yaml.replace(/( {2}namespace: .*\n)/, '$1  finalizers: ["example.com/hold"]\n');
}

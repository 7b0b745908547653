// audit, generate, certs and the serve flags, through the CLI's main().
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { certInfo } from '../../src/tls/certs.js';
import { startTestApiServer, type TestApiServer } from '../apiserver/index.js';
import { renderBase } from '../manifests/render.js';
import { ROOT, runCli, spawnCli } from '../helpers/cli.js';

const example = (name: string) => join(ROOT, 'examples', name);

describe('sidecar-guard audit', () => {
  test('manifests: every member of each conflict, with Istio codes; exit 1 on errors', async () => {
    const res = await runCli(['audit', '--overlap', 'pods', example('cluster.yaml')]);
    assert.equal(res.code, 1);
    const lines = res.stdout.trim().split('\n');
    assert.deepEqual(
      lines.slice(0, -1).map((l) => l.replace(/\) .*\[/, ') [')),
      [
        'Error [IST0111] (Sidecar shop/default) [conflict.default]',
        'Error [IST0111] (Sidecar shop/legacy-default) [conflict.default]',
        'Warning [IST0101] (Sidecar shop/ratings) [selector.no-match]',
        'Error [IST0110] (Sidecar shop/reviews) [conflict.overlap]',
        'Error [IST0110] (Sidecar shop/reviews-v1) [conflict.overlap]',
      ],
    );
    assert.equal(lines.at(-1), '5 findings (4 errors, 1 warning) among 5 Sidecars in 1 namespace (1 pod).');
  });

  test('--output json has the documented shape', async () => {
    const res = await runCli(['audit', '-o', 'json', example('cluster.yaml')]);
    const out = JSON.parse(res.stdout);
    assert.deepEqual(Object.keys(out), ['findings', 'summary']);
    assert.deepEqual(Object.keys(out.findings[0]), [
      'code',
      'rule',
      'severity',
      'kind',
      'namespace',
      'name',
      'message',
    ]);
  });

  test('a clean set of manifests exits 0', async () => {
    const res = await runCli(['audit', example('sidecars.yaml')]);
    assert.equal(res.code, 0, res.stdout);
    assert.match(res.stdout, /No conflicts found among 2 Sidecars/);
  });

  describe('against a live cluster (--kubeconfig)', () => {
    let server: TestApiServer;
    let kubeconfig: string;
    before(async () => {
      server = await startTestApiServer();
      kubeconfig = join(mkdtempSync(join(tmpdir(), 'sg-audit-')), 'kubeconfig');
      server.writeKubeconfig(kubeconfig);
      server.store.put('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns2' } });
      for (const name of ['has-conflict-1', 'has-conflict-2']) {
        server.store.put('sidecars', {
          apiVersion: 'networking.istio.io/v1',
          kind: 'Sidecar',
          metadata: { name, namespace: 'ns2' },
          spec: { egress: [{ hosts: ['./*'] }] },
        });
      }
    });
    after(() => server.close());

    test('lists Sidecars, Pods and Namespaces and reports IST0111 on both', async () => {
      const res = await runCli(['audit', '--kubeconfig', kubeconfig, '-o', 'json']);
      assert.equal(res.code, 1, res.stderr);
      const findings = JSON.parse(res.stdout).findings.map(
        (f: { code: string; name: string }) => `${f.code} ${f.name}`,
      );
      assert.deepEqual(findings, ['IST0111 has-conflict-1', 'IST0111 has-conflict-2']);
    });

    test('a kubeconfig naming its CA by a relative file path works; one naming a device or FIFO is refused at once', async () => {
      // kubectl's form: certificate-authority relative to the kubeconfig's directory. The file is read once
      // and bounded (client-node read it whole at every request: /dev/zero grew to 16 GB, a FIFO hung).
      const dir = mkdtempSync(join(tmpdir(), 'sg-kc-files-'));
      writeFileSync(join(dir, 'ca.crt'), server.caPem);
      const config = parse(readFileSync(kubeconfig, 'utf8'));
      const withCa = (ca: string) => {
        config.clusters[0].cluster = { server: config.clusters[0].cluster.server, 'certificate-authority': ca };
        writeFileSync(join(dir, 'kubeconfig'), stringify(config));
        return join(dir, 'kubeconfig');
      };
      // A stale entry outside the current context (a deleted cluster's CA) is never read, as with kubectl.
      config.clusters.push({
        name: 'stale',
        cluster: { server: 'https://127.0.0.1:1', 'certificate-authority': 'gone.crt' },
      });
      const ok = await runCli(['audit', '--kubeconfig', withCa('ca.crt'), '-o', 'json']);
      assert.equal(ok.code, 1, ok.stderr);
      assert.equal(JSON.parse(ok.stdout).summary.findings, 2);
      const zero = await runCli(['audit', '--kubeconfig', withCa('/dev/zero')]);
      assert.equal(zero.code, 2);
      assert.match(
        zero.stderr,
        /^sidecar-guard: cannot load --kubeconfig .*: certificate-authority \/dev\/zero: not a regular file \(a character device\); /,
      );
      // client-node reads every user's token-file as it loads the file: a device there is refused first.
      config.users[0].user = { 'token-file': '/dev/zero' };
      const token = await runCli(['audit', '--kubeconfig', withCa('ca.crt')]);
      assert.equal(token.code, 2);
      assert.match(token.stderr, /: token-file \/dev\/zero: not a regular file \(a character device\); /);
    });

    test("a context without a user still uses its cluster's CA: the server's 401 comes back, not a certificate error", async () => {
      // kubectl accepts a context with no user (client-node applied none of the cluster's TLS settings then).
      const config = parse(readFileSync(kubeconfig, 'utf8'));
      delete config.contexts[0].context.user;
      config.users = [];
      const file = join(mkdtempSync(join(tmpdir(), 'sg-kc-nouser-')), 'kubeconfig');
      writeFileSync(file, stringify(config));
      const res = await runCli(['audit', '--kubeconfig', file]);
      assert.equal(res.code, 2);
      assert.doesNotMatch(res.stderr, /certificate|self.signed/i);
      assert.match(res.stderr, /401|Unauthorized/);
    });

    test('an unreachable cluster is a usage error (exit 2) with the reason', async () => {
      server.faults.failRequests({ match: () => true, status: 500, times: 10 });
      const res = await runCli(['audit', '--kubeconfig', kubeconfig]);
      server.faults.clear();
      assert.equal(res.code, 2);
      assert.match(res.stderr, /cannot list the cluster/);
    });
  });
});

describe('sidecar-guard generate', () => {
  test('prints YAML ready for kubectl apply, from a template and a dependency map', async () => {
    const res = await runCli([
      'generate',
      '-n',
      'frontend',
      '--deps',
      example('dependencies.yaml'),
      '--config',
      example('defaults-config.yaml'),
    ]);
    assert.equal(res.code, 0, res.stderr);
    const obj = parse(res.stdout);
    assert.equal(obj.kind, 'Sidecar');
    assert.equal(obj.metadata.namespace, 'frontend');
    assert.deepEqual(obj.spec.outboundTrafficPolicy, { mode: 'REGISTRY_ONLY' });
    assert.ok(obj.spec.egress[0].hosts.includes('backend/api-service.backend.svc.cluster.local'));
    const json = await runCli(['generate', '-n', 'frontend', '-o', 'json', '--root-namespace', 'mesh']);
    assert.deepEqual(JSON.parse(json.stdout).spec.egress[0].hosts, ['./*', 'mesh/*']);
    // and what it prints passes check
    const checked = await runCli(['check', '-'], { stdin: res.stdout });
    assert.equal(checked.code, 0, checked.stdout);
  });

  test('usage errors exit 2 and say what to fix', async () => {
    const cases: [string[], RegExp][] = [
      [['generate'], /generate needs --namespace/],
      [['generate', '-n', 'x', '--deps', '/no/such.yaml'], /cannot read --deps \/no\/such\.yaml/],
      [['generate', '-n', 'x', '-o', 'xml'], /--output must be yaml or json/],
    ];
    for (const [args, message] of cases) {
      const res = await runCli(args);
      assert.equal(res.code, 2, args.join(' '));
      assert.match(res.stderr, message);
    }
    const dir = mkdtempSync(join(tmpdir(), 'sg-gen-'));
    const bad = join(dir, 'deps.yaml');
    (await import('node:fs')).writeFileSync(bad, 'services:\n  nosl: {}\n');
    const res = await runCli(['generate', '-n', 'x', '--deps', bad]);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /"nosl" must be namespace\/service/);
  });
});

describe('sidecar-guard certs', () => {
  test('writes a CA and a serving certificate for the Service names and prints the caBundle', async () => {
    const out = mkdtempSync(join(tmpdir(), 'sg-certs-'));
    const res = await runCli(['certs', '--service', 'guard', '--namespace', 'ops', '--out', out]);
    assert.equal(res.code, 0);
    const ca = readFileSync(join(out, 'ca.crt'), 'utf8');
    assert.equal(Buffer.from(res.stdout.trim(), 'base64').toString(), ca);
    const leaf = certInfo(readFileSync(join(out, 'tls.crt'), 'utf8'));
    assert.deepEqual(leaf.dnsNames, [
      'guard',
      'guard.ops',
      'guard.ops.svc',
      'guard.ops.svc.cluster.local',
      'localhost',
    ]);
  });
});

describe('short flags', () => {
  test("--help names a flag's short form, and the short form works", async () => {
    for (const command of ['check', 'audit']) {
      const help = (await runCli([command, '--help'])).stdout;
      assert.match(help, /^ {2}-o, --output /m, `${command} --help`);
    }
    const short = await runCli(['check', '-o', 'json', 'examples/sidecars.yaml']);
    const long = await runCli(['check', '--output', 'json', 'examples/sidecars.yaml']);
    assert.equal(short.stdout, long.stdout);
  });
});

describe('serve flags', () => {
  test('every flag the Deployment passes is a serve flag', async () => {
    const help = (await runCli(['serve', '--help'])).stdout;
    const deployment = renderBase().find((o) => o.kind === 'Deployment')!;
    const args = (deployment.spec as { template: { spec: { containers: { args: string[] }[] } } }).template.spec
      .containers[0]!.args;
    for (const arg of args.filter((a) => a.startsWith('--'))) {
      const flag = arg.split('=')[0]!;
      assert.ok(help.includes(`${flag} `), `serve --help does not list ${flag}`);
    }
  });

  test('--tls-san takes DNS names in any case, wildcards and IP addresses', async () => {
    const { serveConfigOf } = await import('../../src/cli.js');
    const names = ['Webhook.Example.COM', '*.svc.cluster.local', '10.0.0.1', 'fd00::1'];
    const config = serveConfigOf(['--tls-secret', 'certs', ...names.flatMap((n) => ['--tls-san', n])]);
    assert.deepEqual(config.tlsExtraNames, names);
  });

  test('bad serve flags are usage errors', async () => {
    for (const [args, message] of [
      [['serve', '--listen', 'nope'], /--listen must be HOST:PORT/],
      [['serve', '--overlap', 'fuzzy'], /--overlap must be one of workloads, labels, pods, identical/],
      [['serve', '--standalone', '--generate-defaults', 'all'], /--generate-defaults needs a cluster/],
      [['serve', '--generate-defaults', 'some'], /--generate-defaults must be off, label or all/],
      [['serve', '--reservation-ttl=-1'], /--reservation-ttl must be a non-negative integer/],
    ] as [string[], RegExp][]) {
      const res = await runCli(args);
      assert.equal(res.code, 2, args.join(' '));
      assert.match(res.stderr, message);
    }
  });
});

describe('the installed binary', () => {
  test('npx --no-install sidecar-guard works from the repository root', async () => {
    const res = await spawnCli(['--help']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /Usage: sidecar-guard <command>/);
  });
});

describe('sidecar-guard --version', () => {
  test('prints the package version and the Node.js that runs it', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const res = await runCli(['--version']);
    assert.equal(res.code, 0);
    assert.equal(res.stdout, `sidecar-guard ${pkg.version} (Node.js ${process.version})\n`);
  });

  test('make runs on the Node.js major the project targets (24), whatever the machine has', () => {
    // scripts/node-runtime.sh puts Node 24 first on the Makefile's PATH when the machine's is older.
    assert.ok(Number(process.versions.node.split('.')[0]) >= 24, `running on Node.js ${process.version}`);
  });
});

// Every way to call the CLI wrongly, through the installed binary as a person
// would: one line on stderr that names the problem and what to do, exit code
// 2, and never a stack trace (those only with --log-level debug).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createCA, issueServingCert } from '../../src/tls/certs.js';
import { writeCertFiles } from '../../src/tls/files.js';
import { ROOT, spawnCli } from '../helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'sg-usage-'));
const emptyDir = join(tmp, 'empty');
mkdirSync(emptyDir);
const emptyFile = join(tmp, 'empty.pem');
/** A kubeconfig whose server refuses connections (a port that was free a moment ago; written in before()). */
const closedKubeconfig = join(tmp, 'closed-kubeconfig');
writeFileSync(emptyFile, '');
const repeatedKeyState = join(tmp, 'repeated-key.yaml');
writeFileSync(repeatedKeyState, 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  name: b\n');
/** A user whose exec credential plugin fails and prints nothing (client-node's error then has no message). */
const silentExecKubeconfig = join(tmp, 'silent-exec-kubeconfig');
writeFileSync(
  silentExecKubeconfig,
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1' } }],
    users: [
      {
        name: 'u',
        user: {
          exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: 'false', interactiveMode: 'Never' },
        },
      },
    ],
    contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
    'current-context': 'c',
  }),
);
const badYaml = join(tmp, 'bad-config.yaml');
writeFileSync(badYaml, 'egressHosts: [unclosed\n');
/** Two YAML documents where one is expected (the yaml library's answer named its own API). */
const twoDocs = join(tmp, 'two-docs.yaml');
writeFileSync(twoDocs, 'name: a\n---\nname: b\n');
/** Nested one level deeper than kubectl reads, on its third line. */
const deepYaml = join(tmp, 'deep.yaml');
writeFileSync(deepYaml, `name: a\n\negressHosts: ${'['.repeat(10_001)}${']'.repeat(10_001)}\n`);
const sidecars = join(ROOT, 'examples/sidecars.yaml');
/** A --cert-dir whose files were damaged as a crash mid-copy or a wrong mount leaves them. */
function damagedCertDir(name: string, damage: (dir: string) => void): string {
  const dir = join(tmp, name);
  const ca = createCA();
  writeCertFiles(dir, ca, issueServingCert(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }));
  damage(dir);
  return dir;
}
const truncate = (file: string) => writeFileSync(file, readFileSync(file, 'utf8').slice(0, 300));
const truncatedCrt = damagedCertDir('truncated-crt', (dir) => truncate(join(dir, 'tls.crt')));
const truncatedKey = damagedCertDir('truncated-key', (dir) => truncate(join(dir, 'tls.key')));
const otherKey = damagedCertDir('other-key', (dir) => {
  const ca = createCA();
  writeFileSync(join(dir, 'tls.key'), issueServingCert(ca, { dnsNames: ['localhost'] }).keyPem);
});
/** The user's own serving pair, without the CA files standalone mode keeps beside it. */
const servingPairOnly = damagedCertDir('serving-pair-only', (dir) => {
  rmSync(join(dir, 'ca.crt'));
  rmSync(join(dir, 'ca.key'));
});
const garbageCa = damagedCertDir('garbage-ca', (dir) => writeFileSync(join(dir, 'ca.crt'), 'not a certificate\n'));
const foreignCa = damagedCertDir('foreign-ca', (dir) => {
  const other = createCA();
  writeFileSync(join(dir, 'ca.crt'), other.certPem);
  writeFileSync(join(dir, 'ca.key'), other.keyPem);
});
/** Just over the 16 MiB a --state file may hold. */
const bigState = join(tmp, 'big-state.yaml');
writeFileSync(bigState, Buffer.alloc(16 * 1024 * 1024 + 1, 0x23));
/** A kubeconfig that loads (nothing listens there: start-up fails on the certificate first). */
const unreachableKubeconfig = join(tmp, 'unreachable-kubeconfig');
writeFileSync(
  unreachableKubeconfig,
  'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n',
);
/** Nobody ever writes to it: reading it would wait for ever (and /dev/zero would grow without end). */
const fifo = join(tmp, 'fifo');
execFileSync('mkfifo', [fifo]);
/** A cluster and context (to the closed port) without a user, merged with unreachableKubeconfig (written in before()). */
const closedContext = join(tmp, 'closed-context');
/** A HOME whose ~/.kube/config is that FIFO. */
const fifoHome = join(tmp, 'fifo-home');
mkdirSync(join(fifoHome, '.kube'), { recursive: true });
execFileSync('mkfifo', [join(fifoHome, '.kube', 'config')]);

/** A port something already listens on: serve must say so, not throw EADDRINUSE at the user. */
let busy: Server;
let busyPort = 0;
before(async () => {
  busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  busyPort = (busy.address() as AddressInfo).port;
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const closedPort = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));
  writeFileSync(
    closedKubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server: `https://127.0.0.1:${closedPort}` } }],
      users: [{ name: 'u', user: { token: 't' } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'c',
    }),
  );
  // Second in a $KUBECONFIG list after unreachableKubeconfig: its cluster and context, that file's user.
  writeFileSync(
    closedContext,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'd', cluster: { server: `https://127.0.0.1:${closedPort}` } }],
      contexts: [{ name: 'd', context: { cluster: 'd', user: 'u' } }],
      'current-context': 'd',
    }),
  );
});
after(() => busy.close());

interface Case {
  args: () => string[];
  /** What the one line must say. */
  says: RegExp;
  env?: NodeJS.ProcessEnv;
}

const serve = (...more: string[]) => ['serve', '--listen', '127.0.0.1:0', '--metrics-listen', 'off', ...more];
const standalone = (...more: string[]) => serve('--standalone', '--cert-dir', join(tmp, 'certs'), ...more);

const CASES: Record<string, Case> = {
  'serve --state with a repeated key: file, line, column and why, nothing else': {
    args: () => standalone('--state', repeatedKeyState),
    says: /^sidecar-guard: .*repeated-key\.yaml:5:3: Map keys must be unique: "name" is repeated \(kubectl would keep this last value and silently drop the earlier one\)$/,
  },
  'no command': {
    args: () => [],
    says: /no command given: use one of serve, check, audit, generate, certs, rules, explain/,
  },
  'unknown command': { args: () => ['lint'], says: /unknown command "lint": use one of serve, check/ },
  'unknown flag': {
    args: () => ['check', '--bogus', 'x'],
    says: /unknown flag --bogus; see "sidecar-guard check --help"/,
  },
  'unknown short flag': { args: () => ['check', '-x', 'x'], says: /unknown flag -x; see "sidecar-guard check --help"/ },
  'flag without its value': {
    args: () => ['check', '-o'],
    says: /--output needs a value \(FORMAT\); see "sidecar-guard check --help"/,
  },
  'a value that starts with "-" after a space': {
    args: () => ['check', '--max-file-size', '-1', sidecars],
    says: /--max-file-size needs a value \(BYTES\); one that starts with "-" is written --max-file-size=VALUE; see "sidecar-guard check --help"/,
  },
  'value given to a switch': { args: () => ['check', '--isolated=yes', 'x'], says: /--isolated takes no value/ },
  'check without PATH': { args: () => ['check'], says: /check needs at least one PATH/ },
  'check of a missing path': {
    args: () => ['check', join(tmp, 'nope.yaml')],
    says: /cannot read .*nope\.yaml: no such file or directory/,
  },
  'check --output unknown': {
    args: () => ['check', '--output', 'xml', sidecars],
    says: /--output must be one of text, json, sarif, junit, github, got "xml"/,
  },
  'check --overlap unknown': {
    args: () => ['check', '--overlap', 'fuzzy', sidecars],
    says: /--overlap must be one of workloads, labels, pods, identical/,
  },
  'check --unknown-hosts unknown': {
    args: () => ['check', '--unknown-hosts', 'maybe', sidecars],
    says: /--unknown-hosts must be one of/,
  },
  'check --cluster-domain invalid': {
    args: () => ['check', '--cluster-domain', 'Not_A.Domain', sidecars],
    says: /--cluster-domain must be a DNS name/,
  },
  'check --max-file-size negative': {
    args: () => ['check', '--max-file-size=-1', sidecars],
    says: /--max-file-size must be a non-negative integer/,
  },
  // README documents BYTES, a count: Number() took 1e3, 0x10, '' (as 0) and ' 16 ' as well.
  'check --max-file-size in exponent notation': {
    args: () => ['check', '--max-file-size', '1e3', sidecars],
    says: /--max-file-size must be a non-negative integer in decimal digits, got "1e3"$/,
  },
  'check --max-file-size in hexadecimal': {
    args: () => ['check', '--max-file-size', '0x10', sidecars],
    says: /--max-file-size must be a non-negative integer in decimal digits, got "0x10"$/,
  },
  'check of a directory holding no manifest file (a CI step pointed at the wrong folder)': {
    args: () => ['check', emptyDir],
    says: /no manifest file \(\*\.yaml, \*\.yml or \*\.json\) in ".*empty"$/,
  },
  'check --max-file-size empty': {
    args: () => ['check', '--max-file-size=', sidecars],
    says: /--max-file-size must be a non-negative integer in decimal digits, got ""$/,
  },
  'audit --max-file-size with a unit': {
    args: () => ['audit', '--max-file-size', '16MiB', sidecars],
    says: /--max-file-size must be a non-negative integer in decimal digits, got "16MiB"$/,
  },
  'serve --drain-delay in exponent notation': {
    args: () => standalone('--drain-delay', '5e3'),
    says: /--drain-delay must be a non-negative integer in decimal digits, got "5e3"$/,
  },
  'check of a file over --max-file-size': {
    args: () => ['check', '--max-file-size', '10', sidecars],
    says: /larger than 10 bytes \(--max-file-size\)/,
  },
  'check of a directory as a FIFO-like non-file': {
    args: () => ['check', '/dev/null'],
    says: /not a regular file \(a character device\)/,
  },
  // They were taken as given and reported later as `namespace: ""`; generate refused them already.
  'check bad --namespace': {
    args: () => ['check', '--namespace', 'BAD NS', sidecars],
    says: /--namespace must be a namespace name \(.*\), got "BAD NS"$/,
  },
  'check empty --root-namespace': {
    args: () => ['check', '--root-namespace', '', sidecars],
    says: /--root-namespace must be a namespace name \(.*\), got ""$/,
  },
  'audit empty --namespace': {
    args: () => ['audit', '-n', '', sidecars],
    says: /--namespace must be a namespace name \(.*\), got ""$/,
  },
  'audit bad --root-namespace': {
    args: () => ['audit', '--root-namespace', 'BAD NS', sidecars],
    says: /--root-namespace must be a namespace name \(.*\), got "BAD NS"$/,
  },
  'audit with PATHs and --kubeconfig': {
    args: () => ['audit', '--kubeconfig', join(tmp, 'kc'), sidecars],
    says: /give either --kubeconfig or PATHs, not both/,
  },
  'audit of a missing kubeconfig': {
    args: () => ['audit', '--kubeconfig', join(tmp, 'kc')],
    says: /cannot load --kubeconfig .*kc: no such file or directory; give a working kubeconfig file, or PATHs/,
  },
  // The YAML parser's message spans several lines (a code frame): the first is the answer.
  'audit of a kubeconfig that is not YAML': {
    args: () => ['audit', '--kubeconfig', badYaml],
    says: /cannot load --kubeconfig .*bad-config\.yaml: .*; give a working kubeconfig file, or PATHs/,
  },
  // Without any, client-node falls back to http://localhost:8080 and the answer was about HTTP and skipTLSVerify.
  'audit: no kubeconfig at all': {
    args: () => ['audit'],
    env: { KUBECONFIG: '', HOME: emptyDir, KUBERNETES_SERVICE_HOST: '' },
    says: /no cluster configuration: no \$KUBECONFIG file, no ~\/\.kube\/config and no in-cluster service account; give --kubeconfig FILE, or PATHs/,
  },
  'generate --diff: no kubeconfig at all': {
    args: () => ['generate', '--diff', '--from-prometheus', 'http://127.0.0.1:1'],
    env: { KUBECONFIG: '', HOME: emptyDir, KUBERNETES_SERVICE_HOST: '' },
    says: /no cluster configuration: .*; give --kubeconfig FILE, or PATHs/,
  },
  // Both were accepted and ignored.
  'serve --tls-san without --tls-secret': {
    args: () => ['serve', '--standalone', '--tls-san', 'webhook.example.com'],
    says: /--tls-san needs --tls-secret/,
  },
  'serve --tls-san with an IPv6 zone': {
    args: () => ['serve', '--tls-secret', 'certs', '--tls-san', 'fe80::1%eth0'],
    says: /--tls-san must be a DNS name or an IP address, got "fe80::1%eth0"$/,
  },
  'serve --tls-san empty': {
    args: () => ['serve', '--tls-secret', 'certs', '--tls-san', ''],
    says: /--tls-san must be a DNS name or an IP address, got ""$/,
  },
  // It ended in 'cannot list the cluster at …:' and nothing after it.
  'audit with an exec credential plugin that fails silently': {
    args: () => ['audit', '--kubeconfig', silentExecKubeconfig],
    says: /cannot list the cluster at https:\/\/127\.0\.0\.1:1: the kubeconfig's exec credential plugin \(false\) failed without a message$/,
  },
  // It was 'fetch failed': which server, and why, is the answer.
  'audit of a cluster that refuses connections': {
    args: () => ['audit', '--kubeconfig', closedKubeconfig],
    says: /cannot list the cluster at https:\/\/127\.0\.0\.1:\d+: GET \/\S+: connect ECONNREFUSED 127\.0\.0\.1:\d+$/,
  },
  'audit --output unknown': {
    args: () => ['audit', '-o', 'yaml', sidecars],
    says: /--output must be text or json, got "yaml"/,
  },
  'generate without --namespace': { args: () => ['generate'], says: /generate needs --namespace NS/ },
  'generate bad --namespace': {
    args: () => ['generate', '-n', 'Bad_NS'],
    says: /--namespace must be a namespace name/,
  },
  'generate --diff without Prometheus': {
    args: () => ['generate', '--diff'],
    says: /--diff needs --from-prometheus URL/,
  },
  'generate PATHs without Prometheus': {
    args: () => ['generate', '-n', 'a', sidecars],
    says: /cluster objects \(--kubeconfig, PATHs\) are read only with --from-prometheus/,
  },
  'generate --output unknown': {
    args: () => ['generate', '-n', 'a', '-o', 'toml'],
    says: /--output must be yaml or json, got "toml"/,
  },
  'generate unreadable --config': {
    args: () => ['generate', '-n', 'a', '--config', join(tmp, 'none.yaml')],
    says: /cannot read --config .*none\.yaml: no such file or directory/,
  },
  'generate invalid --config': { args: () => ['generate', '-n', 'a', '--config', badYaml], says: /bad-config\.yaml/ },
  'generate --config with two documents': {
    args: () => ['generate', '-n', 'a', '--config', twoDocs],
    says: /^sidecar-guard: .*two-docs\.yaml: must hold one YAML document, found another starting at line 2$/,
  },
  'generate --config nested deeper than 10,000 levels': {
    args: () => ['generate', '-n', 'a', '--config', deepYaml],
    says: /^sidecar-guard: .*deep\.yaml: not valid YAML: nesting deeper than 10000 levels at line 3$/,
  },
  'generate --deps nested deeper than 10,000 levels': {
    args: () => ['generate', '-n', 'a', '--deps', deepYaml],
    says: /^sidecar-guard: .*deep\.yaml: not valid YAML: nesting deeper than 10000 levels at line 3$/,
  },
  'generate --deps with two documents': {
    args: () => ['generate', '-n', 'a', '--deps', twoDocs],
    says: /^sidecar-guard: .*two-docs\.yaml: must hold one YAML document, found another starting at line 2$/,
  },
  'serve --defaults-config with two documents': {
    args: () => standalone('--defaults-config', twoDocs),
    says: /^sidecar-guard: .*two-docs\.yaml: must hold one YAML document, found another starting at line 2$/,
  },
  'generate --from-prometheus without namespace': {
    args: () => ['generate', '--from-prometheus', 'http://127.0.0.1:1'],
    says: /needs --namespace NS or --all-namespaces/,
  },
  'generate --from-prometheus both scopes': {
    args: () => ['generate', '--from-prometheus', 'http://127.0.0.1:1', '-A', '-n', 'a'],
    says: /give --namespace NS or --all-namespaces, not both/,
  },
  'generate --from-prometheus bad URL': {
    args: () => ['generate', '--from-prometheus', 'ftp://x', '-n', 'a'],
    says: /--from-prometheus/,
  },
  'generate --from-prometheus bad window': {
    args: () => ['generate', '--from-prometheus', 'http://127.0.0.1:1', '-n', 'a', '--window', 'forever'],
    says: /--window/,
  },
  'generate --from-prometheus unreachable': {
    args: () => ['generate', '--from-prometheus', 'http://127.0.0.1:1', '-n', 'a'],
    says: /127\.0\.0\.1:1/,
  },
  // Each would be a SAN of the serving certificate: one Kubernetes can never route to is a wasted certificate.
  'certs --service invalid': {
    args: () => ['certs', '--service', 'Bad Name!', '--out', join(tmp, 'never')],
    says: /--service must be a Service name \(.*\), got "Bad Name!"/,
  },
  'certs --namespace empty': {
    args: () => ['certs', '--namespace', '', '--out', join(tmp, 'never')],
    says: /--namespace must be a namespace name \(.*\), got ""/,
  },
  'certs with an argument': { args: () => ['certs', 'extra'], says: /certs takes no arguments, got "extra"/ },
  'serve with an argument': { args: () => [...serve(), 'extra'], says: /serve takes no arguments, got "extra"/ },
  'serve --listen invalid': { args: () => ['serve', '--listen', 'nope'], says: /--listen must be HOST:PORT/ },
  'serve --listen with a port past 65535 names the range': {
    args: () => ['serve', '--listen', '127.0.0.1:99999'],
    says: /--listen: the port must be 0 to 65535, got "127\.0\.0\.1:99999"$/,
  },
  'a count past 2^53 is too large, not "not digits"': {
    args: () => ['check', '--max-file-size', '99999999999999999999999', 'x'],
    says: /--max-file-size is too large: at most 9007199254740991, got 99999999999999999999999$/,
  },
  '--version with an argument': {
    args: () => ['--version', 'extra'],
    says: /--version takes no arguments, got "extra"$/,
  },
  'serve --metrics-listen invalid': {
    args: () => ['serve', '--metrics-listen', ':x'],
    says: /--metrics-listen must be HOST:PORT/,
  },
  'serve bad --root-namespace': {
    args: () => standalone('--root-namespace', 'Istio_System'),
    says: /--root-namespace must be a namespace name \(.*\), got "Istio_System"$/,
  },
  'serve bad --self-namespace': {
    args: () => standalone('--self-namespace', 'Sidecar Guard'),
    says: /--self-namespace must be a namespace name \(.*\), got "Sidecar Guard"$/,
  },
  'serve with a bad $POD_NAMESPACE': {
    args: () => standalone(),
    env: { POD_NAMESPACE: 'ns/with/slashes' },
    says: /\$POD_NAMESPACE \(or --self-namespace\) must be a namespace name \(.*\), got "ns\/with\/slashes"$/,
  },
  'serve --claims unknown': { args: () => standalone('--claims', 'raft'), says: /--claims must be one of api, local/ },
  'serve --claims=api standalone': {
    args: () => standalone('--claims', 'api'),
    says: /--claims=api needs a cluster; drop --standalone or use --claims=local/,
  },
  'serve --tls-secret standalone': {
    args: () => standalone('--tls-secret', 's'),
    says: /--tls-secret needs a cluster; drop --standalone/,
  },
  'serve --state missing': {
    args: () => standalone('--state', '/nonexistent/state.yaml'),
    says: /cannot read --state \/nonexistent\/state\.yaml: no such file or directory$/,
  },
  'serve --kubeconfig standalone': {
    args: () => standalone('--kubeconfig', '/tmp/does-not-exist'),
    says: /--kubeconfig needs a cluster; drop --standalone \(or give the cluster state with --state\)/,
  },
  'serve --generate-defaults unknown': {
    args: () => serve('--generate-defaults', 'some'),
    says: /--generate-defaults must be off, label or all/,
  },
  'serve --generate-defaults standalone': {
    args: () => standalone('--generate-defaults', 'all'),
    says: /--generate-defaults needs a cluster/,
  },
  'serve --defaults-prune alone': {
    args: () => serve('--defaults-prune'),
    says: /--defaults-prune needs --defaults-prometheus URL/,
  },
  'serve --defaults-prometheus without defaults': {
    args: () => serve('--defaults-prometheus', 'http://127.0.0.1:1'),
    says: /--defaults-prometheus needs --generate-defaults label\|all/,
  },
  'serve --defaults-refresh too short: 999 ms, just under the least it takes': {
    args: () =>
      serve('--generate-defaults', 'all', '--defaults-prometheus', 'http://127.0.0.1:1', '--defaults-refresh', '999'),
    says: /--defaults-refresh must be at least 1000 ms/,
  },
  'serve --defaults-window invalid': {
    args: () =>
      serve('--generate-defaults', 'all', '--defaults-prometheus', 'http://127.0.0.1:1', '--defaults-window', 'x'),
    says: /--defaults-window/,
  },
  'serve --max-connections 0': {
    args: () => standalone('--max-connections', '0'),
    says: /--max-connections must be at least 1/,
  },
  'serve --max-connections 1.5': {
    args: () => standalone('--max-connections', '1.5'),
    says: /--max-connections must be a non-negative integer in decimal digits, got "1\.5"$/,
  },
  'serve --max-inflight 0': {
    args: () => standalone('--max-inflight', '0'),
    says: /--max-inflight must be at least 1/,
  },
  'serve --max-body-bytes-in-flight small': {
    args: () => standalone('--max-body-bytes-in-flight', '100'),
    says: /--max-body-bytes-in-flight must be at least 7340032/,
  },
  'serve --request-timeout 0': {
    args: () => standalone('--request-timeout', '0'),
    says: /--request-timeout and --headers-timeout must be at least 1 ms/,
  },
  'serve --headers-timeout above --request-timeout': {
    args: () => standalone('--headers-timeout', '20', '--request-timeout', '10'),
    says: /--headers-timeout \(20\) must not exceed --request-timeout \(10\)/,
  },
  'serve --reservation-ttl negative': {
    args: () => standalone('--reservation-ttl=-1'),
    says: /--reservation-ttl must be a non-negative integer/,
  },
  'serve: cert dir without a certificate, no --standalone': {
    args: () => serve('--cert-dir', emptyDir),
    says: /--cert-dir .*empty has no certificate \(no tls\.crt or tls\.key\): use --tls-secret NAME .* or --standalone to run without a cluster/,
  },
  // Node's recursive mkdir never returns on /proc (it answers ENOENT under an existing folder): one line, not a hang.
  'serve --standalone: a --cert-dir that cannot be created': {
    args: () => serve('--standalone', '--cert-dir', '/proc/sidecar-guard-test/certs'),
    says: /cannot use \/proc\/sidecar-guard-test: no such file or directory/,
  },
  'serve --standalone: a truncated tls.crt in --cert-dir': {
    args: () => serve('--standalone', '--cert-dir', truncatedCrt),
    says: /--cert-dir .*truncated-crt: tls\.crt is not a PEM certificate \(.*\); remove the files there to have new ones generated/,
  },
  'serve --standalone: a tls.crt and tls.key in --cert-dir without ca.crt and ca.key (not written over)': {
    args: () => serve('--standalone', '--cert-dir', servingPairOnly),
    says: /--cert-dir .*serving-pair-only: holds tls\.crt, tls\.key but not ca\.crt, ca\.key \(standalone mode generates the four together and writes over none of them\); remove the files there/,
  },
  'serve --standalone: a ca.crt in --cert-dir that is not a certificate': {
    args: () => serve('--standalone', '--cert-dir', garbageCa),
    says: /--cert-dir .*garbage-ca: ca\.crt is not a PEM certificate \(.*\); remove the files there to have new ones generated/,
  },
  'serve --standalone: a ca.crt in --cert-dir that did not sign tls.crt': {
    args: () => serve('--standalone', '--cert-dir', foreignCa),
    says: /--cert-dir .*foreign-ca: tls\.crt is not signed by ca\.crt; remove the files there/,
  },
  'serve --standalone: a truncated tls.key in --cert-dir': {
    args: () => serve('--standalone', '--cert-dir', truncatedKey),
    says: /--cert-dir .*truncated-key: tls\.key is not a PEM private key \(.*\); remove the files there/,
  },
  'serve: a mounted tls.key that is not the key of tls.crt': {
    args: () => serve('--cert-dir', otherKey, '--kubeconfig', unreachableKubeconfig),
    says: /--cert-dir .*other-key: tls\.key is not the key of tls\.crt; mount a matching pair there \(cert-manager, or "sidecar-guard certs --out .*other-key"\)/,
  },
  'certs --out that cannot be created': {
    args: () => ['certs', '--out', '/proc/sidecar-guard-test/certs'],
    says: /cannot write to \/proc\/sidecar-guard-test\/certs: no such file or directory$/,
  },
  // It named the temporary file it writes first (/proc/1/.ca.crt.<random>.tmp) and the errno.
  "certs --out under a file: Node's words for the code, not the bare code": {
    args: () => ['certs', '--out', join(emptyFile, 'sub')],
    says: /^sidecar-guard: cannot (write to|use) .*empty\.pem.*: not a directory$/,
  },
  'certs --out a folder that takes no files': {
    args: () => ['certs', '--out', '/proc/1'],
    says: /^sidecar-guard: cannot write to \/proc\/1: no such file or directory$/,
  },
  // It said "ENOTDIR" about a temporary file inside it.
  'certs --out that is a file': {
    args: () => ['certs', '--out', emptyFile],
    says: /cannot use .*empty\.pem: not a directory$/,
  },
  'serve --standalone: a --cert-dir that is a file': {
    args: () => serve('--standalone', '--cert-dir', emptyFile),
    says: /cannot use .*empty\.pem: not a directory/,
  },
  'serve: unreadable --client-ca': {
    args: () => standalone('--client-ca', join(tmp, 'ca.pem')),
    says: /cannot read --client-ca .*ca\.pem: no such file or directory/,
  },
  // An empty file must not turn mutual TLS off in silence: the operator asked for client certificates.
  'serve: empty --client-ca': {
    args: () => standalone('--client-ca', emptyFile),
    says: /--client-ca: no PEM certificate found in the file/,
  },
  'serve: --client-ca with an empty path': {
    args: () => standalone('--client-ca='),
    says: /cannot read --client-ca : no such file or directory/,
  },
  'serve: --client-ca is a FIFO': {
    args: () => standalone('--client-ca', fifo),
    says: /cannot read --client-ca .*fifo: not a regular file \(a FIFO\)$/,
  },
  'serve: --kubeconfig is a FIFO': {
    args: () => serve('--cert-dir', emptyDir, '--tls-secret', 's', '--kubeconfig', fifo),
    says: /cannot load --kubeconfig .*fifo: not a regular file \(a FIFO\); give a working kubeconfig file, or --standalone/,
  },
  'audit --kubeconfig is a FIFO': {
    args: () => ['audit', '--kubeconfig', fifo],
    says: /cannot load --kubeconfig .*fifo: not a regular file \(a FIFO\); give a working kubeconfig file, or PATHs/,
  },
  // client-node's loadFromDefault read these unbounded: /dev/zero until memory ran out, a FIFO for ever.
  'audit: $KUBECONFIG is /dev/zero': {
    args: () => ['audit'],
    env: { KUBECONFIG: '/dev/zero' },
    says: /cannot load \$KUBECONFIG \/dev\/zero: not a regular file \(a character device\); give --kubeconfig FILE, or PATHs/,
  },
  'serve: $KUBECONFIG is a FIFO': {
    args: () => serve('--cert-dir', emptyDir, '--tls-secret', 's'),
    env: { KUBECONFIG: fifo },
    says: /cannot load \$KUBECONFIG .*fifo: not a regular file \(a FIFO\); give --kubeconfig FILE, or --standalone/,
  },
  // A list is merged, as client-node does: every file in it is read the same way.
  'audit: a FIFO second in the $KUBECONFIG list': {
    args: () => ['audit'],
    env: { KUBECONFIG: `${unreachableKubeconfig}:${fifo}` },
    says: /cannot load \$KUBECONFIG .*: .*fifo: not a regular file \(a FIFO\); give --kubeconfig FILE, or PATHs/,
  },
  // Read by us, still merged as client-node merges: the second file's current-context wins over the first's.
  'audit: a $KUBECONFIG list is merged': {
    args: () => ['audit'],
    env: { KUBECONFIG: `${unreachableKubeconfig}:${closedContext}` },
    says: /cannot list the cluster at https:\/\/127\.0\.0\.1:(?!1:)\d+: GET \/\S+: connect ECONNREFUSED/,
  },
  // As kubectl: a file of the list that does not exist is skipped (client-node failed on it).
  'audit: a missing file in the $KUBECONFIG list is skipped': {
    args: () => ['audit'],
    env: { KUBECONFIG: `${join(tmp, 'gone-kubeconfig')}:${closedContext}` },
    says: /cannot list the cluster at https:\/\/127\.0\.0\.1:(?!1:)\d+: GET \/\S+: connect ECONNREFUSED/,
  },
  // ... and a list of which none exists is no configuration: no fall-back to ~/.kube/config (here a FIFO).
  'audit: no file of the $KUBECONFIG list exists': {
    args: () => ['audit'],
    env: { KUBECONFIG: `${join(tmp, 'gone-1')}:${join(tmp, 'gone-2')}`, HOME: fifoHome },
    says: /cannot load \$KUBECONFIG .*gone-1:.*gone-2: none of its files exists; give --kubeconfig FILE, or PATHs/,
  },
  'audit: ~/.kube/config is a FIFO': {
    args: () => ['audit'],
    env: { KUBECONFIG: '', HOME: fifoHome },
    says: /cannot load .*fifo-home\/\.kube\/config: not a regular file \(a FIFO\); give --kubeconfig FILE, or PATHs/,
  },
  'generate --config is a directory': {
    args: () => ['generate', '-n', 'a', '--config', emptyDir],
    says: /cannot read --config .*empty: not a regular file \(a directory\)$/,
  },
  'serve: missing --kubeconfig': {
    args: () => serve('--cert-dir', emptyDir, '--tls-secret', 's', '--kubeconfig', join(tmp, 'kc')),
    says: /cannot load --kubeconfig .*kc: no such file or directory; give a working kubeconfig file, or --standalone/,
  },
  'serve: no kubeconfig at all': {
    args: () => serve('--tls-secret', 's'),
    env: { KUBECONFIG: '', HOME: emptyDir, KUBERNETES_SERVICE_HOST: '' },
    says: /no cluster configuration: no \$KUBECONFIG file, no ~\/\.kube\/config and no in-cluster service account; give --kubeconfig FILE, or --standalone/,
  },
  'serve: missing --state file': {
    args: () => standalone('--state', join(tmp, 'state.yaml')),
    says: /cannot read .*state\.yaml: no such file or directory/,
  },
  'serve: port in use': {
    args: () => standalone('--listen', `127.0.0.1:${busyPort}`),
    says: /cannot listen on 127\.0\.0\.1:\d+: address already in use; choose another --listen/,
  },
  // Not an IP address, so a host name to resolve: none resolves, and the answer names the flag.
  'serve: --listen host that does not resolve': {
    args: () => standalone('--listen', '256.1.1.1:8443'),
    says: /cannot listen on 256\.1\.1\.1: no such host; choose another --listen or --metrics-listen address/,
  },
  'serve: metrics port in use': {
    args: () => [
      'serve',
      '--standalone',
      '--cert-dir',
      join(tmp, 'certs'),
      '--listen',
      '127.0.0.1:0',
      '--metrics-listen',
      `127.0.0.1:${busyPort}`,
    ],
    says: /cannot listen on 127\.0\.0\.1:\d+: address already in use; choose another --listen or --metrics-listen/,
  },
  'rules with an argument': {
    args: () => ['rules', 'H1'],
    says: /rules takes no arguments, got "H1"; see "sidecar-guard explain H1"/,
  },
  'explain without an id': {
    args: () => ['explain'],
    says: /explain needs a rule id, e.g. "sidecar-guard explain H1"; "sidecar-guard rules" lists them/,
  },
  'certs --out with an empty path (not the current directory)': {
    args: () => ['certs', '--out', ''],
    says: /--out needs a directory \(DIR\), got ""$/,
  },
  'explain of an unknown id': {
    args: () => ['explain', 'Z9'],
    says: /no rule or code "Z9"; "sidecar-guard rules" lists every rule id/,
  },
  'a command with a newline in it stays one line (the newline escaped)': {
    args: () => ['li\nnt'],
    says: /unknown command "li\\u000ant": use one of/,
  },
  'a flag value with a newline in it stays one line': {
    args: () => ['check', '-o', 'te\nxt', 'x'],
    says: /--output must be one of .*, got "te\\u000axt"$/,
  },
  'explain of a 100 KB id: the line is cut': {
    args: () => ['explain', 'A'.repeat(100_000)],
    says: /^sidecar-guard: no rule or code "A{1000,2000}…$/,
  },
  'serve --drain-delay beyond what a timer can wait': {
    args: () => standalone('--drain-delay', '2147483648'),
    says: /--drain-delay must be at most 2147483647 ms \(about 24\.8 days\), got 2147483648/,
  },
  'serve --request-timeout beyond what a timer can wait': {
    args: () => standalone('--request-timeout', '9007199254740991'),
    says: /--request-timeout must be at most 2147483647 ms/,
  },
  'serve with $LOG_LEVEL unknown: the variable is named, not the flag': {
    args: () => standalone(),
    env: { LOG_LEVEL: 'bogus' },
    says: /\$LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent, got "bogus"/,
  },
  'serve --state larger than 16 MiB: named as --state, without a flag serve does not have': {
    args: () => standalone('--state', bigState),
    says: /cannot read --state .*big-state\.yaml: larger than 16777216 bytes$/,
  },
  'generate without --from-prometheus still refuses a --window no run could take': {
    args: () => ['generate', '-n', 'shop', '--window', 'garbage'],
    says: /--window must be a Prometheus duration like 7d, 12h or 1h30m, got "garbage"/,
  },
  'generate without --from-prometheus still refuses a --collapse-threshold that is not a number': {
    args: () => ['generate', '-n', 'shop', '--collapse-threshold', 'abc'],
    says: /--collapse-threshold must be a non-negative integer in decimal digits, got "abc"/,
  },
};

// Each case is its own process; four at a time keep the file near 10 s on two cores.
describe('CLI usage errors: one line on stderr, exit 2, no stack trace', { concurrency: 4 }, () => {
  for (const [name, c] of Object.entries(CASES)) {
    test(name, async () => {
      // Every case must exit on its own; 60 s is far beyond any of them, a server that started is a failure.
      const res = await spawnCli(c.args(), { killAfterMs: 60_000, ...(c.env ? { env: c.env } : {}) });
      const lines = res.stderr.split('\n').filter((l) => l !== '');
      assert.equal(res.code, 2, `exit code; stderr: ${res.stderr}`);
      assert.equal(lines.length, 1, `one line on stderr, got:\n${res.stderr}`);
      assert.match(lines[0]!, /^sidecar-guard: /);
      assert.match(lines[0]!, c.says);
      assert.doesNotMatch(res.stderr + res.stdout, /\n\s+at /, 'no stack frames');
    });
  }

  test('--log-level debug adds the stack trace of a start-up failure', async () => {
    const res = await spawnCli(standalone('--listen', `127.0.0.1:${busyPort}`, '--log-level', 'debug'));
    assert.equal(res.code, 2);
    assert.match(res.stderr, /^sidecar-guard: cannot listen on /);
    assert.match(res.stderr, /\n\s+at /);
  });
});

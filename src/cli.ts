// sidecar-guard command line: serve | check | audit | generate | certs.
// The composition root for every command: the only code that reads flags,
// environment, files and signals; the commands' logic lives in modules.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isIP } from 'node:net';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { audit, type AuditInput } from './audit/analyze.js';
import { formatAuditJson, formatAuditText } from './audit/report.js';
import { scopeAudit } from './audit/scope.js';
import { formatScopeJson, formatScopeText } from './audit/scope-report.js';
import { type Manifest, parseSources } from './manifests/documents.js';
import { stringify as stringifyYaml } from 'yaml';
import { ConfigError, parseDependencies, parseTemplate } from './defaults/config.js';
import { generateDefault, templateHosts, type DefaultsConfig, type GeneratedSidecar } from './defaults/generate.js';
import {
  callingNamespaces,
  generatedNamespaces,
  namespaceDefaultsFromTraffic,
  workloadSidecarsFromTraffic,
} from './defaults/from-traffic.js';
import { formatDiffJson, formatDiffText, trafficDiff } from './defaults/diff.js';
import {
  checkPrometheusUrl,
  checkWindow,
  DEFAULT_WINDOW,
  PrometheusClient,
  PrometheusError,
} from './traffic/prometheus.js';
import type { ObservedTraffic } from './traffic/edges.js';
import { judge } from './sidecar/review.js';
import { RULE_REGISTRY, ruleByIdOrCode } from './sidecar/rule-registry.js';
import { explainText } from './sidecar/explain.js';
import { clip, escapeControls } from './sidecar/format.js';
import { formatJson, formatText } from './check/report.js';
import { checkManifests, type CheckReport } from './check/run.js';
import { formatGithub, formatJunit, formatSarif } from './check/ci-report.js';
import { clusterObjects, isSidecarNearMiss, ManifestError, storeOf, type ClusterObjects } from './manifests/state.js';
import {
  CLAIMS_MODES,
  DEFAULT_DRAIN_DELAY_MS,
  DEFAULT_LOG_LEVEL,
  DEFAULT_SELF_NAMESPACE,
  formatHostPort,
  LOG_FORMATS,
  LOG_LEVELS,
  type LogFormat,
  parseHostPort,
  RULE_FLAGS,
  SERVE_FLAGS,
  type ClaimsMode,
  type FlagSpec,
  type ServeConfig,
} from './config.js';
import type { RunningServer } from './main.js';
import type { Logger } from 'pino';
import { OVERLAP_MODES, type OverlapMode } from './sidecar/selectors.js';
import { UNKNOWN_HOSTS_MODES, type UnknownHosts } from './sidecar/host-rules.js';
import { isDnsSubdomainName } from './sidecar/schema/metadata.js';
import { validateObject } from './sidecar/validate.js';
import { errorsOf } from './sidecar/violation.js';
import { loadKubeClient } from './kubeconfig.js';
import { DEFAULT_MAX_FILE_BYTES, readBounded, readFlagFile, readSources, UsageError } from './sources.js';
import { createCA, DEFAULT_LEAF_DAYS, issueServingCert, serviceDnsNames } from './tls/certs.js';
import { caFilesIn, CertFileError, readCAPair, writeCertFiles } from './tls/files.js';

const EXIT_OK = 0;
const EXIT_REJECTED = 1;
const EXIT_USAGE = 2;
/** serve: shutdown forced by a second signal, or failed. */
const EXIT_FORCED = 1;

const USAGE = `Usage: sidecar-guard <command> [flags]

Commands:
  serve     run the admission webhook (HTTPS /validate, /mutate, /healthz, /readyz)
  check     validate Sidecar manifests offline, like kubectl apply would be judged
  audit     report the conflicts that already exist in a cluster or a set of manifests
  generate  print the namespace-default Sidecar for a namespace (template + dependency map)
  certs     create a CA and a serving certificate for the webhook Service
  rules     list every rule id with its severity and what it checks
  explain   what a rule checks, why, how to fix it, an invalid and a fixed example

Run "sidecar-guard <command> --help" for the flags of a command, "sidecar-guard --version" for the version.
`;

interface Command {
  /** Usage line and what the command does; the flags follow, generated from `flags`. */
  intro: string;
  flags: readonly FlagSpec[];
  run: (values: Values, positionals: string[], io: CliIO) => Promise<number>;
  /** false: arguments other than flags are a usage error. */
  positionals?: false;
}

const CHECK_OUTPUTS = ['text', 'json', 'sarif', 'junit', 'github'] as const;
type CheckOutput = (typeof CHECK_OUTPUTS)[number];
const OUTPUT_TEXT_JSON = (text: string): FlagSpec => ({
  name: 'output',
  short: 'o',
  type: 'string',
  arg: 'text|json',
  default: 'text',
  help: `${text} (text) or one JSON object`,
});
const MANIFEST_NAMESPACE: FlagSpec = {
  name: 'namespace',
  short: 'n',
  type: 'string',
  arg: 'NS',
  default: 'default',
  defaultText: '"default"',
  help: 'namespace of manifests without metadata.namespace',
};
const [OVERLAP_FLAG, ROOT_NAMESPACE_FLAG, ...REGISTRY_FLAGS] = RULE_FLAGS as [FlagSpec, FlagSpec, ...FlagSpec[]];
const MAX_FILE_SIZE: FlagSpec = {
  name: 'max-file-size',
  type: 'string',
  arg: 'BYTES',
  default: DEFAULT_MAX_FILE_BYTES,
  help: 'refuse a file (or stdin) larger than this',
};

const COMMANDS: Record<string, Command> = {
  serve: {
    intro: 'Usage: sidecar-guard serve [flags]',
    flags: SERVE_FLAGS,
    run: runServe,
    positionals: false,
  },
  check: {
    intro: `Usage: sidecar-guard check [flags] PATH...

PATH is a file, a directory (recursive, *.yaml|*.yml|*.json; symbolic links followed) or - for stdin.
Exit code: 0 every Sidecar allowed, 1 some rejected or a document not YAML, 2 usage error or unreadable path.`,
    flags: [
      {
        name: 'output',
        short: 'o',
        type: 'string',
        arg: 'FORMAT',
        default: 'text',
        help: `${CHECK_OUTPUTS.join(' | ')}: compiler-style lines, one JSON object, SARIF 2.1.0\n(code scanning), JUnit XML, or GitHub Actions annotations (::error file=…,line=…::…)`,
      },
      MANIFEST_NAMESPACE,
      {
        name: 'isolated',
        type: 'boolean',
        default: false,
        help: 'judge each document alone, without the cross-object rules',
      },
      ...RULE_FLAGS,
      MAX_FILE_SIZE,
    ],
    run: runCheck,
  },
  audit: {
    intro: `Usage: sidecar-guard audit [--kubeconfig FILE | PATH...] [flags]

Reports every conflict among existing Sidecars, both members of each pair, with Istio's
analyzer codes (IST0110, IST0111, IST0101, IST0167, IST0002), and the registry and scope
findings with Kiali's codes where one exists (KIA1004, KIA1006, KIA1007). Without PATHs it lists the
cluster of --kubeconfig (default: $KUBECONFIG or ~/.kube/config, else in-cluster).
Exit code: 0 no error findings, 1 some, 2 usage error, unreachable cluster, or a manifest that cannot be read
(audit judges the set as a whole: a document it cannot read could hide a conflict).`,
    flags: [
      OUTPUT_TEXT_JSON('istioctl-analyze-like lines'),
      { name: 'kubeconfig', type: 'string', arg: 'FILE', help: 'the cluster to read' },
      {
        name: 'scope',
        type: 'boolean',
        default: false,
        help: 'instead of findings: per namespace and selector Sidecar, the Services and ServiceEntry\nhosts its proxies import under the Sidecars in force against none, and the namespaces\nwith no Sidecar at all (it judges nothing: --overlap and --unknown-hosts do not apply)',
      },
      MANIFEST_NAMESPACE,
      OVERLAP_FLAG,
      ROOT_NAMESPACE_FLAG,
      ...REGISTRY_FLAGS,
      MAX_FILE_SIZE,
    ],
    run: runAudit,
  },
  generate: {
    intro: `Usage: sidecar-guard generate --namespace NS [--config FILE] [--deps FILE] [flags]
       sidecar-guard generate --from-prometheus URL (--namespace NS | --all-namespaces) [--window 7d]
                              [--per-workload] [--collapse-threshold N] [--config FILE] [--deps FILE]
                              [--kubeconfig FILE | PATH...]
       sidecar-guard generate --diff --from-prometheus URL [--namespace NS | --all-namespaces] [--kubeconfig FILE | PATH...]

Prints a selector-less namespace-default Sidecar, ready for "kubectl apply -f -".
Egress hosts: the template's (default "./*" and "<root-namespace>/*") plus, from the
dependency map, every service the namespace's services call and every external host,
de-duplicated and sorted. With --from-prometheus, also every destination the namespace's
workloads called in the window (Istio's istio_requests_total and
istio_tcp_connections_opened_total); with --per-workload, one Sidecar per calling workload,
selecting its pods. --diff compares the traffic with the Sidecars in force (the cluster of
--kubeconfig, or PATHs): calls they do not allow, and their hosts no call used.
Exit code: 0 done (--diff: nothing blocked), 1 --diff found blocked calls, 2 usage error,
Prometheus or the cluster unreachable, or no Istio traffic in the window.`,
    flags: [
      {
        name: 'namespace',
        short: 'n',
        type: 'string',
        arg: 'NS',
        help: 'the namespace (required without --all-namespaces)',
      },
      {
        name: 'config',
        type: 'string',
        arg: 'FILE',
        help: 'template: name, egressHosts ({root} = root namespace), outboundTrafficPolicy, clusterDomain',
      },
      {
        name: 'deps',
        type: 'string',
        arg: 'FILE',
        help: 'dependency map: services: { "ns/svc": { calls: [ns/svc | ns/*], external: [host] } }',
      },
      {
        name: 'output',
        short: 'o',
        type: 'string',
        arg: 'yaml|json',
        default: 'yaml',
        help: 'the format (--diff: text|json, default text)',
      },
      ROOT_NAMESPACE_FLAG,
      {
        name: 'from-prometheus',
        type: 'string',
        arg: 'URL',
        section: 'From observed traffic:',
        help: "the Prometheus that scrapes the mesh's proxies (its base URL)",
      },
      {
        name: 'window',
        type: 'string',
        arg: 'DURATION',
        default: DEFAULT_WINDOW,
        help: 'how far back calls count (a Prometheus duration: 7d, 12h, 1h30m)',
      },
      {
        name: 'all-namespaces',
        short: 'A',
        type: 'boolean',
        default: false,
        help: 'every namespace that made calls (and, with cluster objects, every namespace in them),\nexcept kube-system, kube-public, kube-node-lease and the root namespace',
      },
      {
        name: 'per-workload',
        type: 'boolean',
        default: false,
        help: 'one Sidecar per calling workload with a workloadSelector (its pod template labels;\nneeds the cluster objects)',
      },
      {
        name: 'collapse-threshold',
        type: 'string',
        arg: 'N',
        default: 0,
        help: 'a destination namespace with more than N called hosts becomes ns/* (0: never)',
      },
      {
        name: 'diff',
        type: 'boolean',
        default: false,
        help: 'compare the traffic with the Sidecars in force instead of printing Sidecars',
      },
      {
        name: 'kubeconfig',
        type: 'string',
        arg: 'FILE',
        help: 'the cluster to read (--diff and --per-workload read $KUBECONFIG or ~/.kube/config\nwhen neither this nor PATHs are given)',
      },
      MAX_FILE_SIZE,
    ],
    run: runGenerate,
  },
  certs: {
    intro: `Usage: sidecar-guard certs [--service NAME] [--namespace NS] [--out DIR] [--new-ca]

Writes ca.crt, ca.key, tls.crt and tls.key (RSA 2048; CA 365 days, serving certificate 90 days)
whose SANs cover NAME, NAME.NS, NAME.NS.svc, NAME.NS.svc.cluster.local, localhost and 127.0.0.1.
Run again to renew: a CA pair already in DIR is kept and signs the new tls.crt and tls.key (one that
is damaged or ends before them is an error); --new-ca replaces it.
Prints the base64 caBundle for the webhook configurations.`,
    flags: [
      { name: 'service', type: 'string', arg: 'NAME', default: 'sidecar-guard', help: 'the webhook Service' },
      {
        name: 'namespace',
        short: 'n',
        type: 'string',
        arg: 'NS',
        default: 'sidecar-guard',
        help: "the Service's namespace",
      },
      { name: 'out', type: 'string', arg: 'DIR', default: 'certs', help: 'where the four files go' },
      {
        name: 'new-ca',
        type: 'boolean',
        default: false,
        help: 'replace the CA in DIR (without it, a CA pair there is kept and signs the new\nserving certificate)',
      },
    ],
    run: runCerts,
    positionals: false,
  },
};

const RULES_COMMAND: Command = {
  intro: `Usage: sidecar-guard rules [--output text|json]

Every rule id a finding can carry (the id in brackets at the end of each denial and check line),
its severity and what it checks. "sidecar-guard explain ID" tells more about one.`,
  flags: [OUTPUT_TEXT_JSON('one line per rule')],
  run: runRules,
};

const EXPLAIN_COMMAND: Command = {
  intro: `Usage: sidecar-guard explain RULE-ID|CODE

A rule by its id (H1, conflict.default) or by the Istio analyzer or Kiali code audit prints (IST0111).
What the rule checks, why (the Istio, Kubernetes or Kiali code it follows), how to fix a finding,
and an invalid and a fixed example ("sidecar-guard check" fires the rule on the first, not on the second).`,
  flags: [],
  run: runExplain,
};

COMMANDS.rules = RULES_COMMAND;
COMMANDS.explain = EXPLAIN_COMMAND;

/** A command's --help: its intro, then each flag with its default from the table (at the end of its text). */
export function usageOf(command: Command): string {
  const lines = [command.intro, ''];
  for (const f of command.flags) {
    if (f.section) lines.push('', f.section);
    const left = `  ${f.short ? `-${f.short}, ` : ''}--${f.name}${f.arg ? ` ${f.arg}` : ''}`;
    const shown = f.defaultText ?? (f.default === undefined || f.default === false ? undefined : String(f.default));
    const [first, ...more] = `${f.help}${shown === undefined ? '' : ` (default ${shown})`}`.split('\n');
    // A flag too long for the column gets its text on the next line, so every text starts in the column.
    if (left.length > 26) lines.push(left, `${' '.repeat(27)}${first}`);
    else lines.push(`${left.padEnd(26)} ${first}`);
    for (const line of more) lines.push(`${' '.repeat(27)}${line}`);
  }
  return `${lines.join('\n')}\n`;
}

/** node:util parseArgs options from the table: string defaults, [] for repeatable flags. */
function parserOptions(flags: readonly FlagSpec[]): ParseArgsConfig['options'] {
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const f of flags) {
    const base = f.short ? { short: f.short } : {};
    if (f.type === 'boolean') options[f.name] = { ...base, type: 'boolean', default: f.default === true };
    else if (f.multiple) options[f.name] = { ...base, type: 'string', multiple: true, default: [] };
    else
      options[f.name] = { ...base, type: 'string', ...(f.default === undefined ? {} : { default: String(f.default) }) };
  }
  return options;
}

type Values = Record<string, string | boolean | string[] | undefined>;

/** Where a command reads and writes; tests pass their own, the process passes stdio. */
export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Everything on standard input, at most maxBytes (more is a usage error). */
  stdin(maxBytes?: number): string;
}

const processIO: CliIO = {
  stdout: (t) => void process.stdout.write(t),
  stderr: (t) => void process.stderr.write(t),
  stdin: (maxBytes = DEFAULT_MAX_FILE_BYTES) => readBounded(0, maxBytes, '<stdin>'),
};

export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--help' || command === '-h' || command === 'help') {
    io.stdout(USAGE);
    return EXIT_OK;
  }
  if (!command)
    return usageError(
      io,
      `no command given: use one of ${Object.keys(COMMANDS).join(', ')} (see "sidecar-guard --help")`,
    );
  if (command === '--version' || command === 'version') {
    if (rest.length > 0) return usageError(io, `${command} takes no arguments, got ${JSON.stringify(rest[0])}`);
    io.stdout(`${versionLine()}\n`);
    return EXIT_OK;
  }
  const spec = COMMANDS[command];
  if (!spec)
    return usageError(
      io,
      `unknown command "${command}": use one of ${Object.keys(COMMANDS).join(', ')} (see "sidecar-guard --help")`,
    );
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(usageOf(spec));
    return EXIT_OK;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: parserOptions(spec.flags), allowPositionals: true, strict: true });
  } catch (err) {
    return usageError(
      io,
      `${parseArgsProblem(err as NodeJS.ErrnoException, spec.flags)}; see "sidecar-guard ${command} --help"`,
    );
  }
  const values = parsed.values as Values;
  try {
    if (spec.positionals === false && parsed.positionals.length > 0) {
      throw new UsageError(
        `${command} takes no arguments, got ${JSON.stringify(parsed.positionals[0])}; see "sidecar-guard ${command} --help"`,
      );
    }
    return await spec.run(values, parsed.positionals, io);
  } catch (err) {
    return failure(io, err, wantsStack(values));
  }
}

/**
 * node:util parseArgs' messages, in the words of our flags: which flag and
 * what to do (theirs explain "--" at length and quote option syntax).
 */
function parseArgsProblem(err: NodeJS.ErrnoException, flags: readonly FlagSpec[]): string {
  const quoted = /'(-{1,2}[^' ,=]+)/.exec(err.message)?.[1];
  const long = /--([a-z0-9-]+)/.exec(err.message)?.[1];
  const flag = long ? `--${long}` : quoted;
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown flag ${quoted ?? ''}`.trimEnd();
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const spec = flags.find((f) => `--${f.name}` === flag);
      if (spec?.type === 'boolean') return `${flag} takes no value`;
      const needs = `${flag ?? 'a flag'} needs a value${spec?.arg ? ` (${spec.arg})` : ''}`;
      // parseArgs reads a value that starts with '-' (`--max-file-size -1`) as the next flag.
      return /ambiguous/.test(err.message) && flag
        ? `${needs}; one that starts with "-" is written ${flag}=VALUE`
        : needs;
    }
    default:
      return err.message.split('\n')[0]!;
  }
}

/** --log-level debug or trace (or $LOG_LEVEL without the flag): a failure shows its stack trace too. */
function wantsStack(values: Values): boolean {
  const level = (values['log-level'] as string | undefined) ?? process.env.LOG_LEVEL;
  return level === 'debug' || level === 'trace';
}

/**
 * Any failure of a command: one line saying what failed and what to do, exit
 * 2. A UsageError already says both; an error from the system (a file, a
 * port) is put in those terms; anything else (the cluster refused, a bug)
 * keeps its own message.
 */
function failure(io: CliIO, err: unknown, stack: boolean): number {
  // A manifest that cannot be read (serve --state, generate's PATHs) already names its file, line and column.
  const line =
    err instanceof UsageError || err instanceof ManifestError
      ? err.message
      : systemProblem(err as NodeJS.ErrnoException);
  io.stderr(`sidecar-guard: ${oneLine(line.trimEnd())}\n`);
  if (stack && err instanceof Error && err.stack) io.stderr(`${err.stack}\n`);
  return EXIT_USAGE;
}

/** Longest failure line printed: a message quoting what the user typed stays readable whatever was typed. */
const MAX_FAILURE_CHARS = 2000;

/**
 * The failure as one line: messages quote flag values, paths and ids as they
 * were given, and a newline or escape sequence in one must not become a
 * second line or reach the terminal; a 100 KB value is cut.
 */
function oneLine(message: string): string {
  return clip(escapeControls(message), MAX_FAILURE_CHARS);
}

function systemProblem(err: NodeJS.ErrnoException & { address?: string; port?: number; hostname?: string }): string {
  const reason = err?.code ? describeErrno(err) : undefined;
  // listen() resolves a --listen host that is not an IP address; one that does not resolve fails there.
  if (err?.syscall === 'getaddrinfo' && err.hostname !== undefined)
    return `cannot listen on ${err.hostname}: ${reason}; choose another --listen or --metrics-listen address`;
  if (err?.syscall === 'listen' || err?.syscall === 'bind') {
    const where = err.address === undefined ? '' : ` ${formatHostPort({ host: err.address, port: err.port ?? 0 })}`;
    return `cannot listen on${where}: ${reason}; choose another --listen or --metrics-listen address`;
  }
  if (reason && err.path) return `cannot use ${err.path}: ${reason}`;
  const message = err instanceof Error ? err.message.split('\n')[0]! : String(err);
  return `${message} (LOG_LEVEL=debug shows where it failed)`;
}

/**
 * Why a file could not be written, in words and without the name of the
 * temporary file it was first written to: Node's own words for the code
 * ("ENOTDIR: not a directory, open '…'" gives "not a directory").
 */
function writeProblem(err: NodeJS.ErrnoException): string {
  if (!err.code) return err.message;
  const words = new RegExp(`^${err.code}: ([^,]+)`).exec(err.message ?? '')?.[1];
  return words ?? describeErrno(err);
}

function describeErrno(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'EADDRINUSE':
      return 'address already in use';
    case 'EADDRNOTAVAIL':
      return 'no such address on this machine';
    case 'EACCES':
      return 'permission denied';
    case 'ENOENT':
      return 'no such file or directory';
    case 'ENOTFOUND':
      return 'no such host';
    case 'EAI_AGAIN':
      return 'the host name cannot be resolved now (EAI_AGAIN)';
    default:
      return err.code ?? 'failed';
  }
}

/** The package version and the Node.js running it (the runtime matters: see scripts/node-runtime.sh). */
export function versionLine(): string {
  return `sidecar-guard ${packageVersion()} (Node.js ${process.version})`;
}

function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

function usageError(io: CliIO, message: string): number {
  io.stderr(`sidecar-guard: ${oneLine(message.trimEnd())}\n`);
  return EXIT_USAGE;
}

function overlapFlag(values: Values): OverlapMode {
  const mode = values.overlap as string;
  if (!(OVERLAP_MODES as readonly string[]).includes(mode))
    throw new UsageError(`--overlap must be one of ${OVERLAP_MODES.join(', ')}, got "${mode}"`);
  return mode as OverlapMode;
}

/** --claims: api needs an API server; without the flag, api in cluster mode and local standalone. */
function claimsFlag(values: Values, standalone: boolean): ClaimsMode {
  const mode = (values.claims as string | undefined) ?? (standalone ? 'local' : 'api');
  if (!(CLAIMS_MODES as readonly string[]).includes(mode))
    throw new UsageError(`--claims must be one of ${CLAIMS_MODES.join(', ')}, got "${mode}"`);
  if (standalone && mode === 'api')
    throw new UsageError('--claims=api needs a cluster; drop --standalone or use --claims=local');
  return mode as ClaimsMode;
}

/** --overlap, --root-namespace, --unknown-hosts and --cluster-domain, checked (for check, audit and serve). */
function ruleFlags(values: Values): {
  overlap: OverlapMode;
  rootNamespace: string;
  unknownHosts: UnknownHosts;
  clusterDomain: string;
} {
  const unknownHosts = values['unknown-hosts'] as string;
  if (!(UNKNOWN_HOSTS_MODES as readonly string[]).includes(unknownHosts))
    throw new UsageError(`--unknown-hosts must be one of ${UNKNOWN_HOSTS_MODES.join(', ')}, got "${unknownHosts}"`);
  const rootNamespace = values['root-namespace'] as string;
  namespaceFlag(rootNamespace, '--root-namespace');
  const clusterDomain = values['cluster-domain'] as string;
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(clusterDomain))
    throw new UsageError(`--cluster-domain must be a DNS name like cluster.local, got "${clusterDomain}"`);
  return {
    overlap: overlapFlag(values),
    rootNamespace,
    unknownHosts: unknownHosts as UnknownHosts,
    clusterDomain,
  };
}

function intFlag(values: Values, name: string, fallback?: number): number {
  const raw = values[name];
  if (raw === undefined) {
    if (fallback === undefined) throw new UsageError(`--${name} is required`);
    return fallback;
  }
  // Digits only: Number() also takes 1e3, 0x10, ' 16 ' and '' (as 0), none of which a count is written as.
  const digits = typeof raw === 'string' && /^[0-9]+$/.test(raw);
  if (!digits) throw new UsageError(`--${name} must be a non-negative integer in decimal digits, got "${String(raw)}"`);
  const n = Number(raw);
  if (!Number.isSafeInteger(n))
    throw new UsageError(`--${name} is too large: at most ${Number.MAX_SAFE_INTEGER}, got ${clip(raw, 40)}`);
  return n;
}

/** The longest delay Node's timers take (2^31 - 1 ms, about 24.8 days): a longer one fires after 1 ms. */
const MAX_TIMER_MS = 2_147_483_647;

/** A duration in milliseconds: an integer flag a timer can wait for. */
function durationFlag(values: Values, name: string, fallback?: number): number {
  const ms = intFlag(values, name, fallback);
  if (ms > MAX_TIMER_MS)
    throw new UsageError(`--${name} must be at most ${MAX_TIMER_MS} ms (about 24.8 days), got ${ms}`);
  return ms;
}

async function runCheck(values: Values, paths: string[], io: CliIO): Promise<number> {
  const output = values.output as CheckOutput;
  if (!CHECK_OUTPUTS.includes(output))
    throw new UsageError(`--output must be one of ${CHECK_OUTPUTS.join(', ')}, got "${String(output)}"`);
  if (paths.length === 0)
    throw new UsageError(
      'check needs at least one PATH (a file, a directory or - for stdin); see "sidecar-guard check --help"',
    );
  namespaceFlag(values.namespace as string, '--namespace');
  const options = {
    namespace: values.namespace as string,
    isolated: values.isolated === true,
    ...ruleFlags(values),
  };
  const sources = readSources(paths, (max) => io.stdin(max), { maxBytes: intFlag(values, 'max-file-size') });
  const report = checkManifests(parseSources(sources), sources.length, options);
  io.stdout(
    formatCheck(
      report,
      output,
      sources.map((s) => s.file),
    ),
  );
  return report.summary.rejected + report.summary.unparsable > 0 ? EXIT_REJECTED : EXIT_OK;
}

function formatCheck(report: CheckReport, output: CheckOutput, files: string[]): string {
  switch (output) {
    case 'json':
      return formatJson(report);
    case 'sarif':
      return formatSarif(report, { name: 'sidecar-guard', version: packageVersion() });
    case 'junit':
      return formatJunit(report, files);
    case 'github':
      return formatGithub(report);
    default:
      return formatText(report);
  }
}

async function runRules(values: Values, args: string[], io: CliIO): Promise<number> {
  const output = outputFlag(values);
  if (args.length > 0)
    throw new UsageError(
      `rules takes no arguments, got ${JSON.stringify(args[0])}; see "sidecar-guard explain ${args[0]}"`,
    );
  if (output === 'json') {
    io.stdout(
      `${JSON.stringify({ rules: RULE_REGISTRY.map(({ id, severity, title, code }) => ({ id, severity, title, ...(code ? { code } : {}) })) })}\n`,
    );
    return EXIT_OK;
  }
  const width = Math.max(...RULE_REGISTRY.map((r) => r.id.length)) + 2;
  const lines = RULE_REGISTRY.map(
    (r) => `${r.id.padEnd(width)}${r.severity.padEnd(9)}${r.title}${r.code ? ` (${r.code})` : ''}`,
  );
  io.stdout(`${'ID'.padEnd(width)}${'SEVERITY'.padEnd(9)}WHAT IT CHECKS\n${lines.join('\n')}\n`);
  return EXIT_OK;
}

async function runExplain(_values: Values, args: string[], io: CliIO): Promise<number> {
  if (args.length === 0)
    throw new UsageError('explain needs a rule id, e.g. "sidecar-guard explain H1"; "sidecar-guard rules" lists them');
  if (args.length > 1)
    throw new UsageError(`explain takes one rule id, got ${args.length}; "sidecar-guard rules" lists them`);
  const rule = ruleByIdOrCode(args[0]!);
  if (!rule) throw new UsageError(`no rule or code "${args[0]}"; "sidecar-guard rules" lists every rule id`);
  io.stdout(explainText(rule));
  return EXIT_OK;
}

async function runAudit(values: Values, paths: string[], io: CliIO): Promise<number> {
  const output = outputFlag(values);
  const options = ruleFlags(values);
  namespaceFlag(values.namespace as string, '--namespace');
  const { input, podsKnown } = await loadCluster(values, paths, io);
  if (values.scope === true) {
    const report = scopeAudit(input, options);
    io.stdout(output === 'json' ? formatScopeJson(report) : formatScopeText(report));
    return EXIT_OK;
  }
  const report = audit(input, { ...options, podsKnown });
  io.stdout(output === 'json' ? formatAuditJson(report) : formatAuditText(report));
  return report.summary.errors > 0 ? EXIT_REJECTED : EXIT_OK;
}

/**
 * A document whose kind or group is a near miss of a Sidecar's is no Sidecar
 * to audit, but it is likely one meant: said on stderr rather than passed
 * over in silence (`check` refuses it with object.kind).
 */
function warnNearMisses(manifests: readonly Manifest[], io: CliIO): void {
  for (const m of manifests) {
    if (!m.ok || !isSidecarNearMiss(m.object)) continue;
    const { apiVersion, kind } = m.object as { apiVersion: string; kind: string };
    io.stderr(
      `sidecar-guard: ${m.file}:${m.position.line}: ${JSON.stringify(kind)} of ${apiVersion} is not a Sidecar and is not audited (check reports it as object.kind)\n`,
    );
  }
}

/** The cluster's objects: from PATHs, or listed once from --kubeconfig (default $KUBECONFIG, ~/.kube/config, in-cluster). */
async function loadCluster(
  values: Values,
  paths: string[],
  io: CliIO,
): Promise<{ input: AuditInput; podsKnown: boolean }> {
  if (paths.length > 0 && values.kubeconfig) throw new UsageError('give either --kubeconfig or PATHs, not both');
  if (paths.length > 0) {
    try {
      const manifests = parseSources(
        readSources(paths, (max) => io.stdin(max), { maxBytes: intFlag(values, 'max-file-size') }),
      );
      warnNearMisses(manifests, io);
      const input = clusterObjects(manifests, (values.namespace as string | undefined) ?? 'default');
      return { input, podsKnown: input.pods.length > 0 };
    } catch (err) {
      if (err instanceof ManifestError) throw new UsageError(err.message);
      throw err;
    }
  }
  try {
    // Loaded on demand: client-node is large and only this path needs it.
    const [{ KubeClient }, { listSnapshot, listPermissions }, { isStatus }] = await Promise.all([
      import('./cluster/kube.js'),
      import('./cluster/snapshot.js'),
      import('./cluster/kube-errors.js'),
    ]);
    const client = loadKubeClient(
      KubeClient,
      values.kubeconfig as string | undefined,
      'PATHs to read manifests instead',
    );
    try {
      return { input: await listSnapshot(client), podsKnown: true };
    } catch (err) {
      // Forbidden: say what to grant, not only what was refused first.
      const grant = isStatus(err, '403')
        ? `; this needs ${listPermissions()} (examples/audit-rbac.yaml is a ClusterRole with exactly that)`
        : '';
      throw new UsageError(`cannot list the cluster at ${client.server}: ${(err as Error).message}${grant}`);
    }
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`cannot list the cluster: ${(err as Error).message}`);
  }
}

/** A namespace name, as Kubernetes requires it (RFC 1123 label). */
function namespaceFlag(value: string, flag: string): void {
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(value)) {
    throw new UsageError(
      `${flag} must be a namespace name (lowercase letters, digits and '-', at most 63, starting and ending with a letter or digit), got ${JSON.stringify(value)}`,
    );
  }
}

function outputFlag(values: Values): 'text' | 'json' {
  const output = values.output as string;
  if (output !== 'text' && output !== 'json') throw new UsageError(`--output must be text or json, got "${output}"`);
  return output;
}

async function runGenerate(values: Values, paths: string[], io: CliIO): Promise<number> {
  if (values['from-prometheus'] !== undefined) return runGenerateFromTraffic(values, paths, io);
  for (const flag of ['diff', 'all-namespaces', 'per-workload'] as const)
    if (values[flag] === true) throw new UsageError(`--${flag} needs --from-prometheus URL`);
  if (paths.length > 0 || values.kubeconfig)
    throw new UsageError('cluster objects (--kubeconfig, PATHs) are read only with --from-prometheus');
  checkUnusedTrafficFlags(values);
  const namespace = values.namespace as string | undefined;
  if (!namespace)
    throw new UsageError(
      'generate needs --namespace NS (or --from-prometheus URL --all-namespaces); see "sidecar-guard generate --help"',
    );
  // Checked first, so generate never prints an object its own check rejects.
  namespaceFlag(namespace, '--namespace');
  namespaceFlag(values['root-namespace'] as string, '--root-namespace');
  const output = values.output as string;
  if (output !== 'yaml' && output !== 'json') throw new UsageError(`--output must be yaml or json, got "${output}"`);
  const config = loadDefaultsConfig(values);
  const sidecar = generateDefault(namespace, config);
  // The template and the dependency map can still produce what Istio refuses (a host it cannot parse).
  const refused = errorsOf(
    validateObject(sidecar, { namespace, name: sidecar.metadata.name }, { rejectUnknownFields: true }).violations,
  );
  if (refused.length > 0)
    throw new UsageError(
      `the generated Sidecar would be rejected${madeFrom(values)}: ${refused.map((v) => `${v.path}: ${v.message}`).join('; ')}`,
    );
  io.stdout(output === 'json' ? `${JSON.stringify(sidecar, null, 2)}\n` : stringifyYaml(sidecar));
  return EXIT_OK;
}

/**
 * The traffic flags (their defaults included) are used only with
 * --from-prometheus, but a value no run could take is refused without it
 * too: a mistyped flag is a mistake to report, not to ignore.
 */
function checkUnusedTrafficFlags(values: Values): void {
  intFlag(values, 'collapse-threshold');
  intFlag(values, 'max-file-size');
  asUsageError(() => checkWindow(values.window as string));
}

/** `run`'s result; a PrometheusError it throws (a bad URL or window) is the user's to fix: a UsageError. */
function asUsageError<T>(run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (err instanceof PrometheusError) throw new UsageError(err.message);
    throw err;
  }
}

/**
 * generate --from-prometheus [--diff]: the traffic from Prometheus, the
 * cluster objects when needed, then the pure generator or diff.
 */
async function runGenerateFromTraffic(values: Values, paths: string[], io: CliIO): Promise<number> {
  const all = values['all-namespaces'] === true;
  const namespace = values.namespace as string | undefined;
  const diff = values.diff === true;
  if (all && namespace !== undefined) throw new UsageError('give --namespace NS or --all-namespaces, not both');
  if (!diff && !all && namespace === undefined)
    throw new UsageError('generate --from-prometheus needs --namespace NS or --all-namespaces');
  if (namespace !== undefined) namespaceFlag(namespace, '--namespace');
  namespaceFlag(values['root-namespace'] as string, '--root-namespace');
  // --diff prints a report: text (the default, given as yaml by the flag table) or json.
  const output = diff && values.output === 'yaml' ? 'text' : (values.output as string);
  if (!(diff ? ['text', 'json'] : ['yaml', 'json']).includes(output))
    throw new UsageError(`--output must be ${diff ? 'text or json' : 'yaml or json'}, got "${output}"`);
  if (diff && values['per-workload'] === true)
    throw new UsageError(
      '--diff judges each call against the Sidecar that governs its workload already; drop --per-workload',
    );
  const collapseThreshold = intFlag(values, 'collapse-threshold');
  const config = loadDefaultsConfig(values);
  const client = asUsageError(() => {
    const prometheus = new PrometheusClient(checkPrometheusUrl(values['from-prometheus'] as string));
    checkWindow(values.window as string);
    return prometheus;
  });
  const needsCluster = diff || values['per-workload'] === true || paths.length > 0 || values.kubeconfig !== undefined;
  const cluster = needsCluster ? (await loadCluster({ ...values, namespace: 'default' }, paths, io)).input : undefined;
  let traffic: ObservedTraffic;
  try {
    traffic = await client.traffic({ window: values.window as string, ...(namespace ? { namespace } : {}) });
  } catch (err) {
    if (err instanceof PrometheusError) throw new UsageError(err.message);
    throw err;
  }
  const store = cluster ? storeOf({ ...cluster, sidecars: [] }) : undefined;
  const candidates = namespace ? [namespace] : [...callingNamespaces(traffic), ...(store?.namespaceNames() ?? [])];
  const namespaces = namespace ? [namespace] : generatedNamespaces(candidates, config.rootNamespace);
  if (diff) {
    const report = trafficDiff(traffic, cluster!.sidecars, store!, namespaces, {
      rootNamespace: config.rootNamespace,
      clusterDomain: config.template.clusterDomain,
      templateHosts: templateHosts(config),
    });
    io.stdout(output === 'json' ? formatDiffJson(report) : formatDiffText(report));
    return report.summary.blocked > 0 ? EXIT_REJECTED : EXIT_OK;
  }
  let sidecars: GeneratedSidecar[];
  if (values['per-workload'] === true) {
    const result = workloadSidecarsFromTraffic(traffic, namespaces, store!, config, { collapseThreshold });
    for (const w of result.unknown)
      io.stderr(
        `sidecar-guard: no Sidecar for workload ${w.namespace}/${w.workload}: the cluster objects show no pod template or pod of that name with labels to select it by\n`,
      );
    sidecars = result.sidecars;
  } else {
    sidecars = namespaceDefaultsFromTraffic(traffic, namespaces, config, { collapseThreshold });
  }
  refuseInvalid(sidecars, cluster, config.rootNamespace, madeFrom(values));
  const edges = traffic.edges.filter((e) => namespaces.includes(e.source.namespace)).length;
  io.stderr(
    `sidecar-guard: ${sidecars.length} Sidecar${sidecars.length === 1 ? '' : 's'} from ${edges} edge${edges === 1 ? '' : 's'} observed in the last ${traffic.window} (template: ${templateHosts(config).join(', ')})\n`,
  );
  // A namespace named by hand that made no call is often a typo: what is printed then holds the template only,
  // and applied under REGISTRY_ONLY it would cut the namespace off from everything else.
  if (namespace !== undefined && edges === 0)
    io.stderr(
      `sidecar-guard: warning: no call from namespace "${namespace}" in the last ${traffic.window}: is the name right? The Sidecar printed has the template's hosts only\n`,
    );
  io.stdout(
    output === 'json'
      ? `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: sidecars }, null, 2)}\n`
      : sidecars.map((sc) => stringifyYaml(sc)).join('---\n'),
  );
  return EXIT_OK;
}

/**
 * Every generated Sidecar through the webhook's own pipeline, as a set
 * applied to the cluster's other objects (workloads, pods, registry): one the
 * webhook would deny is a usage error and nothing is printed.
 */
function refuseInvalid(
  sidecars: readonly GeneratedSidecar[],
  cluster: ClusterObjects | undefined,
  rootNamespace: string,
  origin: string,
): void {
  const store = cluster ? storeOf({ ...cluster, sidecars: [] }) : undefined;
  const problems: string[] = [];
  for (const sc of sidecars) {
    const ref = { namespace: sc.metadata.namespace, name: sc.metadata.name };
    const findings = store
      ? judge({ object: sc, ref }, store, {
          overlap: 'workloads',
          rootNamespace,
          rejectUnknownFields: true,
          unknownHosts: 'off',
        })
      : validateObject(sc, ref, { rejectUnknownFields: true }).violations;
    const errors = errorsOf(findings);
    if (errors.length > 0)
      problems.push(`${ref.namespace}/${ref.name}: ${errors.map((v) => `${v.path}: ${v.message}`).join('; ')}`);
    else store?.upsertSidecar(sc, ref.namespace);
  }
  if (problems.length > 0)
    throw new UsageError(`the generated Sidecars would be rejected${origin}: ${problems.join(' | ')}`);
}

/** The files a generated Sidecar was made from, for an error about it: the fix is in one of them. */
function madeFrom(values: Values): string {
  const files = (['config', 'deps'] as const).filter((f) => values[f] !== undefined).map((f) => `--${f} ${values[f]}`);
  return files.length > 0 ? ` (made from ${files.join(' and ')})` : '';
}

/** --config / --deps files → the generator's configuration; bad files are usage errors. */
export function loadDefaultsConfig(values: Values): DefaultsConfig {
  const read = (flag: string): string | undefined => {
    const path = values[flag] as string | undefined;
    return path === undefined ? undefined : readFlagFile(path, `--${flag}`);
  };
  try {
    const config: DefaultsConfig = {
      rootNamespace: values['root-namespace'] as string,
      template: parseTemplate(read('config'), values.config as string),
    };
    const deps = read('deps');
    if (deps !== undefined) config.dependencies = parseDependencies(deps, values.deps as string);
    return config;
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
}

async function runCerts(values: Values, _paths: string[], io: CliIO): Promise<number> {
  const service = values.service as string;
  const namespace = values.namespace as string;
  const out = values.out as string;
  // An empty --out would be the current directory: a place nobody asked for by name.
  if (out === '') throw new UsageError('--out needs a directory (DIR), got ""');
  // Checked before the keys are made: each becomes a SAN Kubernetes must be able to route to.
  if (!/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/.test(service))
    throw new UsageError(
      `--service must be a Service name (lowercase letters, digits and '-', at most 63, starting with a letter and ending with a letter or digit), got ${JSON.stringify(service)}`,
    );
  namespaceFlag(namespace, '--namespace');
  const now = new Date();
  const found = caFilesIn(out);
  const replacing = found.cert || found.key;
  // Renewing the serving certificate must not replace the CA the webhook configurations trust.
  const kept = replacing && values['new-ca'] !== true ? keptCA(out, found, now) : undefined;
  const ca = kept ?? createCA({ now });
  const serving = issueServingCert(ca, {
    dnsNames: [...serviceDnsNames(service, namespace), 'localhost'],
    ipAddresses: ['127.0.0.1'],
    now,
  });
  try {
    writeCertFiles(out, kept ? undefined : ca, serving);
  } catch (err) {
    // A refused or unwritable target: one line, exit 2, no stack.
    throw new UsageError(
      err instanceof CertFileError
        ? err.message
        : `cannot write to ${out}: ${writeProblem(err as NodeJS.ErrnoException)}`,
    );
  }
  const wrote = (files: string[]) =>
    `wrote ${files.map((f) => join(out, f)).join(', ')} for ${service}.${namespace}.svc`;
  if (kept)
    io.stderr(
      `kept the CA in ${join(out, 'ca.crt')} (expires ${isoDay(kept.notAfter)}); ${wrote(['tls.crt', 'tls.key'])}\n`,
    );
  else if (replacing)
    io.stderr(
      `replaced the CA: ${wrote(['ca.crt', 'ca.key', 'tls.crt', 'tls.key'])}; give the webhook configurations the new caBundle\n`,
    );
  else io.stderr(`${wrote(['ca.crt', 'ca.key', 'tls.crt', 'tls.key'])}\n`);
  io.stdout(`${Buffer.from(ca.certPem).toString('base64')}\n`);
  return EXIT_OK;
}

/**
 * The CA pair already in `out`, when it can sign a new serving certificate
 * for its whole life; otherwise a usage error naming the file and --new-ca.
 */
function keptCA(out: string, found: { cert: boolean; key: boolean }, now: Date) {
  if (found.cert !== found.key) {
    const [has, missing] = found.cert ? ['ca.crt', 'ca.key'] : ['ca.key', 'ca.crt'];
    throw new UsageError(
      `${out} has ${has} but no ${missing}: put ${missing} back to keep the CA, or use --new-ca to replace it`,
    );
  }
  const cannot = (why: string) =>
    new UsageError(
      `cannot keep the CA in ${out}: ${why}; use --new-ca to replace it (then give the webhook configurations the new caBundle)`,
    );
  let ca: ReturnType<typeof readCAPair>;
  try {
    ca = readCAPair(out);
  } catch (err) {
    if (err instanceof CertFileError) throw cannot(err.message);
    throw err;
  }
  const servingEnds = new Date(now.getTime() + DEFAULT_LEAF_DAYS * 24 * 3600 * 1000);
  if (ca.notAfter <= now) throw cannot(`ca.crt expired on ${isoDay(ca.notAfter)}`);
  if (ca.notAfter < servingEnds)
    throw cannot(
      `ca.crt expires on ${isoDay(ca.notAfter)}, before a new ${DEFAULT_LEAF_DAYS}-day serving certificate would (${isoDay(servingEnds)})`,
    );
  return ca;
}

const isoDay = (d: Date) => d.toISOString().slice(0, 10);

function hostPortFlag(value: string, flag: string) {
  try {
    return parseHostPort(value, flag);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function defaultsMode(values: Values): 'off' | 'label' | 'all' {
  const mode = values['generate-defaults'] as string;
  if (mode !== 'off' && mode !== 'label' && mode !== 'all')
    throw new UsageError(`--generate-defaults must be off, label or all, got "${mode}"`);
  if (mode !== 'off' && values.standalone === true)
    throw new UsageError('--generate-defaults needs a cluster (it creates Sidecars); drop --standalone');
  return mode;
}

/** --defaults-prometheus and its companions, checked; nothing without it. */
function defaultsTraffic(values: Values): { traffic?: NonNullable<ServeConfig['defaults']['traffic']> } {
  const url = values['defaults-prometheus'] as string | undefined;
  if (url === undefined) {
    if (values['defaults-prune'] === true) throw new UsageError('--defaults-prune needs --defaults-prometheus URL');
    return {};
  }
  if (values['generate-defaults'] === 'off')
    throw new UsageError('--defaults-prometheus needs --generate-defaults label|all');
  try {
    checkPrometheusUrl(url, '--defaults-prometheus');
    checkWindow(values['defaults-window'] as string);
  } catch (err) {
    throw new UsageError((err as Error).message.replace('--window', '--defaults-window'));
  }
  const intervalMs = durationFlag(values, 'defaults-refresh');
  if (intervalMs < 1000) throw new UsageError('--defaults-refresh must be at least 1000 ms');
  return {
    traffic: {
      url,
      window: values['defaults-window'] as string,
      intervalMs,
      prune: values['defaults-prune'] === true,
      collapseThreshold: intFlag(values, 'defaults-collapse-threshold'),
    },
  };
}

/** --self-namespace, else our pod's: a namespace name either way (it names the TLS Secret's and claims' namespace). */
function selfNamespaceFlag(values: Values): string {
  const given = values['self-namespace'] as string | undefined;
  const namespace = given ?? podNamespace();
  namespaceFlag(namespace, given !== undefined ? '--self-namespace' : '$POD_NAMESPACE (or --self-namespace)');
  return namespace;
}

/** Our namespace inside a pod: the downward API variable, else the service account's namespace file. */
function podNamespace(): string {
  if (process.env.POD_NAMESPACE) return process.env.POD_NAMESPACE;
  try {
    return (
      readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/namespace', 'utf8').trim() || DEFAULT_SELF_NAMESPACE
    );
  } catch {
    return DEFAULT_SELF_NAMESPACE;
  }
}

/** serve's flags (as the Deployment passes them) → its configuration; UsageError when they do not fit. */
export function serveConfigOf(args: string[]): ServeConfig {
  let values: Values;
  try {
    values = parseArgs({ args, options: parserOptions(SERVE_FLAGS), allowPositionals: false, strict: true })
      .values as Values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return serveConfigFrom(values);
}

function serveConfigFrom(values: Values): ServeConfig {
  const standalone = values.standalone === true;
  const listen = hostPortFlag(values.listen as string, '--listen');
  if (standalone && values['tls-secret']) throw new UsageError('--tls-secret needs a cluster; drop --standalone');
  // Standalone never reads a kubeconfig: taking the flag in silence would hide that the cluster is not used.
  if (standalone && values.kubeconfig !== undefined)
    throw new UsageError('--kubeconfig needs a cluster; drop --standalone (or give the cluster state with --state)');
  const config: ServeConfig = {
    listen,
    certDir: values['cert-dir'] as string,
    mode: standalone ? 'standalone' : 'cluster',
    kubeconfig: values.kubeconfig as string | undefined,
    statePaths: values.state as string[],
    ...ruleFlags(values),
    logLevel: logLevelFlag(values),
    logFormat: logFormatFlag(values),
    metricsListen:
      values['metrics-listen'] === 'off' ? null : hostPortFlag(values['metrics-listen'] as string, '--metrics-listen'),
    ...(values['client-ca'] !== undefined ? { clientCaFile: values['client-ca'] as string } : {}),
    ...(values['tls-secret'] ? { tlsSecret: values['tls-secret'] as string } : {}),
    tlsService: values['tls-service'] as string,
    tlsExtraNames: tlsSanFlag(values),
    webhookConfig: values['webhook-config'] as string,
    ...(values['webhook-selector'] ? { webhookSelector: values['webhook-selector'] as string } : {}),
    failClosedWhenReady: values['fail-closed-when-ready'] === true,
    reservationTtlMs: durationFlag(values, 'reservation-ttl'),
    claims: claimsFlag(values, standalone),
    claimTimeoutMs: durationFlag(values, 'claim-timeout'),
    drainDelayMs: durationFlag(values, 'drain-delay', DEFAULT_DRAIN_DELAY_MS[standalone ? 'standalone' : 'cluster']),
    maxStalenessMs: durationFlag(values, 'max-staleness'),
    selfNamespace: selfNamespaceFlag(values),
    defaults: {
      mode: defaultsMode(values),
      namespaceLabel: values['defaults-label'] as string,
      exclude: values['defaults-exclude'] as string[],
      config: loadDefaultsConfig({ ...values, config: values['defaults-config'], deps: values['defaults-deps'] }),
      ...defaultsTraffic(values),
    },
    limits: serveLimits(values),
  };
  return config;
}

/**
 * --tls-san: each a DNS name (a leading `*.` allowed, as certificates allow)
 * or an IP address, and only beside --tls-secret, the one mode that issues a
 * certificate from them: an empty or misplaced one would be ignored silently.
 */
function tlsSanFlag(values: Values): string[] {
  const names = (values['tls-san'] as string[] | undefined) ?? [];
  if (names.length > 0 && !values['tls-secret'])
    throw new UsageError('--tls-san needs --tls-secret (the names go into the certificate sidecar-guard issues there)');
  for (const name of names) {
    // DNS names are case-insensitive; an IPv6 zone (`%eth0`) has no place in a certificate.
    const dns = name.toLowerCase();
    if (isIP(name) !== 0 ? !name.includes('%') : isDnsSubdomainName(dns.startsWith('*.') ? dns.slice(2) : dns))
      continue;
    throw new UsageError(`--tls-san must be a DNS name or an IP address, got ${JSON.stringify(clip(name, 100))}`);
  }
  return names;
}

async function runServe(values: Values): Promise<number> {
  const config = serveConfigFrom(values);
  // From here on a signal is ours, even before the server is up: without a
  // handler one would kill the process with nothing logged (exit 143).
  const signals = catchSignals();
  const { createLogger, serve } = await import('./main.js');
  const logger = createLogger(config.logLevel, config.logFormat);
  logger.info('starting');
  signals.logTo(logger);
  const server = await serve(config, logger);
  const code = await signals.stop(server);
  // Everything is closed; should some handle still hold the event loop, exit anyway.
  setTimeout(() => process.exit(code), 2_000).unref();
  return code;
}

function logLevelFlag(values: Values): string {
  const flag = values['log-level'] as string | undefined;
  const level = flag ?? process.env.LOG_LEVEL ?? DEFAULT_LOG_LEVEL;
  if (!(LOG_LEVELS as readonly string[]).includes(level))
    throw new UsageError(
      `${flag === undefined ? '$LOG_LEVEL' : '--log-level'} must be one of ${LOG_LEVELS.join(', ')}, got "${level}"`,
    );
  return level;
}

/** --log-format; without it, readable lines for a person at a terminal and JSON for everything else. */
function logFormatFlag(values: Values): LogFormat {
  const format = (values['log-format'] as string | undefined) ?? (process.stdout.isTTY ? 'text' : 'json');
  if (!(LOG_FORMATS as readonly string[]).includes(format))
    throw new UsageError(`--log-format must be json or text, got "${format}"`);
  return format as LogFormat;
}

/**
 * SIGTERM/SIGINT for `serve`: the first stops the server (at once, or as
 * soon as it is up when it comes during start-up, which is logged), the
 * second exits at once.
 */
function catchSignals() {
  let logger: Logger | undefined;
  let first: NodeJS.Signals | undefined;
  let stopNow: ((signal: NodeJS.Signals) => void) | undefined;
  const whileStarting = (signal: NodeJS.Signals) =>
    logger?.info({ signal }, 'signal received while starting: stopping once started');
  const onSignal = (signal: NodeJS.Signals) => {
    if (first) {
      // The operator (or the kubelet's SIGKILL countdown) will not wait: do not either.
      logger?.warn({ signal }, 'second signal: exiting without waiting for in-flight requests');
      process.exit(EXIT_FORCED);
    }
    first = signal;
    if (stopNow) stopNow(signal);
    else whileStarting(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    logTo(l: Logger) {
      logger = l;
      if (first) whileStarting(first);
    },
    stop: (server: RunningServer) =>
      new Promise<number>((resolve) => {
        stopNow = (signal) =>
          server.shutdown(signal).then(
            () => resolve(EXIT_OK),
            (err) => {
              logger?.error({ err }, 'shutdown failed');
              resolve(EXIT_FORCED);
            },
          );
        if (first) stopNow(first);
      }),
  };
}

/** --max-connections, --max-inflight, timeouts and --shutdown-timeout, checked against each other. */
function serveLimits(values: Values) {
  const limits = {
    maxConnections: intFlag(values, 'max-connections'),
    maxInflight: intFlag(values, 'max-inflight'),
    maxBodyBytesInFlight: intFlag(values, 'max-body-bytes-in-flight'),
    requestTimeoutMs: durationFlag(values, 'request-timeout'),
    headersTimeoutMs: durationFlag(values, 'headers-timeout'),
    shutdownTimeoutMs: durationFlag(values, 'shutdown-timeout'),
  };
  if (limits.maxConnections < 1) throw new UsageError('--max-connections must be at least 1');
  if (limits.maxInflight < 1) throw new UsageError('--max-inflight must be at least 1');
  // At least one review at the 7 MiB body limit.
  if (limits.maxBodyBytesInFlight < 7 * 1024 * 1024)
    throw new UsageError('--max-body-bytes-in-flight must be at least 7340032 (one review at the 7 MiB body limit)');
  if (limits.requestTimeoutMs < 1 || limits.headersTimeoutMs < 1)
    throw new UsageError('--request-timeout and --headers-timeout must be at least 1 ms');
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new UsageError(
      `--headers-timeout (${limits.headersTimeoutMs}) must not exceed --request-timeout (${limits.requestTimeoutMs})`,
    );
  }
  return limits;
}

const isEntryPoint = process.argv[1] !== undefined && /(?:cli\.[jt]s|sidecar-guard(?:\.js)?)$/.test(process.argv[1]);
if (isEntryPoint) {
  watchOutputErrors();
  main(process.argv.slice(2)).then(
    (code) => exitWhenWritten(code),
    (err) => {
      // main() answers every failure itself; this is the last resort, still one line.
      process.stderr.write(`sidecar-guard: unexpected failure: ${(err as Error)?.message ?? String(err)}\n`);
      exitWhenWritten(EXIT_USAGE);
    },
  );
}

/**
 * A reader that stops early (`check -o sarif . | head`) is not a failure to
 * report: EPIPE ends the process quietly with the exit code it had. Output
 * that cannot be written otherwise (a full disk, a closed descriptor) is:
 * the answer is lost, so the exit code says so (2) rather than success.
 */
function watchOutputErrors(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK);
    process.stderr.write(`sidecar-guard: cannot write the output: ${err.code ?? err.message}\n`);
    process.exit(EXIT_USAGE);
  });
  // Nowhere left to say it: the exit code alone carries the outcome.
  process.stderr.on('error', () => {});
}

/**
 * The command is done (serve returns once it has shut down): exit as soon as
 * stdout and stderr have taken what was written, rather than when the event
 * loop runs dry. A connection still in its TLS handshake with an API server
 * that never answers would otherwise hold the process for minutes after the
 * answer was printed.
 */
function exitWhenWritten(code: number): void {
  process.exitCode = code;
  let left = 2;
  const done = () => {
    if (--left === 0) process.exit(code);
  };
  // After the write errors already on their way (watchOutputErrors decides those).
  setImmediate(() => {
    process.stdout.write('', done);
    process.stderr.write('', done);
  });
}

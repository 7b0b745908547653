// sidecar-guard command line: serve | check | audit | generate | certs.
// The composition root for every command: the only code that reads flags,
// environment, files and signals; the commands' logic lives in modules.
import { mkdirSync, readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { audit, type AuditInput } from './audit/analyze.js';
import { formatAuditJson, formatAuditText } from './audit/report.js';
import { parseSources } from './check/documents.js';
import { stringify as stringifyYaml } from 'yaml';
import { ConfigError, parseDependencies, parseTemplate } from './defaults/config.js';
import { DEFAULT_NAMESPACE_LABEL, generateDefault, type DefaultsConfig } from './defaults/generate.js';
import { formatJson, formatText } from './check/report.js';
import { checkManifests } from './check/run.js';
import { clusterObjects, ManifestError } from './check/state.js';
import { parseHostPort, type ServeConfig } from './config.js';
import { OVERLAP_MODES, type OverlapMode } from './sidecar/selectors.js';
import { readSources, UsageError } from './sources.js';
import { createCA, issueServingCert, serviceDnsNames } from './tls/certs.js';
import { writeCertFiles } from './tls/files.js';

const EXIT_OK = 0;
const EXIT_REJECTED = 1;
const EXIT_USAGE = 2;
/** serve: shutdown forced by a second signal, or failed. */
const EXIT_FORCED = 1;

const USAGE = `Usage: sidecar-guard <command> [flags]

Commands:
  serve     run the admission webhook (HTTPS /validate, /healthz, /readyz)
  check     validate Sidecar manifests offline, like kubectl apply would be judged
  audit     report the conflicts that already exist in a cluster or a set of manifests
  generate  print the namespace-default Sidecar for a namespace (template + dependency map)
  certs     create a CA and a serving certificate for the webhook Service

Run "sidecar-guard <command> --help" for the flags of a command.
`;

const SHARED_RULE_FLAGS = {
  overlap: { type: 'string', default: 'labels' },
  'root-namespace': { type: 'string', default: 'istio-system' },
} as const;

const COMMANDS: Record<string, { usage: string; options: ParseArgsConfig['options']; run: (values: Values, positionals: string[], io: CliIO) => Promise<number> }> = {
  serve: {
    usage: `Usage: sidecar-guard serve [flags]

  --standalone             no cluster: judge against the in-memory view from --state files
  --kubeconfig FILE        cluster mode with this kubeconfig (default: $KUBECONFIG, else in-cluster service account)
  --max-staleness MS       /readyz turns false when the cluster view lost the API server this long (default 60000)
  --listen HOST:PORT       HTTPS address (default 0.0.0.0:8443)
  --cert-dir DIR           tls.crt/tls.key (and ca.crt); standalone mode creates them when missing (default certs)
  --state PATH             (standalone) Sidecars, Pods and Namespaces that already exist; repeatable
  --overlap MODE           labels | pods | identical: when two workload selectors conflict (default labels)
  --root-namespace NS      Istio's root namespace (default istio-system)
  --log-level LEVEL        trace | debug | info | warn | error (default info)
  --reservation-ttl MS     how long an admitted, not yet observed Sidecar is remembered (default 10000)
  --drain-delay MS         on SIGTERM, report unready this long before closing the listener (default 0 standalone, 5000 in cluster)
  --shutdown-timeout MS    after the listener closed, wait this long for in-flight requests, then cut them (default 20000);
                           a second SIGTERM/SIGINT exits at once
  --max-inflight N         admission requests received or decided at once; more get 503 + Retry-After (default 32)
  --request-timeout MS     a request (head and body) must arrive within this (default 30000)
  --headers-timeout MS     a request head must arrive within this, at most --request-timeout (default 10000)
  --self-namespace NS      the namespace sidecar-guard runs in (default: $POD_NAMESPACE, else the service account's, else sidecar-guard)
  --metrics-listen HOST:PORT  plain-HTTP Prometheus /metrics (default 0.0.0.0:9090; "off" to disable)
  --client-ca FILE         require client certificates signed by this CA (mutual TLS with the API server)
  --tls-secret NAME        (cluster) keep the CA and serving certificate in this Secret, rotate them and
                           patch caBundle into the webhook configurations; without it, --cert-dir files are served
  --tls-service NAME       the Service name the serving certificate covers (default sidecar-guard)
  --tls-san NAME|IP        (with --tls-secret) also cover this DNS name or IP address, for a webhook
                           configuration that calls a url instead of the Service; repeatable
  --webhook-config NAME    our Validating/MutatingWebhookConfiguration name (default sidecar-guard)
  --webhook-selector SEL   also patch every webhook configuration matching this label selector
                           (e.g. app.kubernetes.io/name=sidecar-guard; needs RBAC list on them)
  --fail-closed-when-ready (cluster) once ready, set failurePolicy: Fail on those configurations
                           (the manifests install them with Ignore so an install never blocks writes)

Namespace defaults (cluster mode; /mutate is always served):
  --generate-defaults MODE off | label | all: keep a managed "default" Sidecar in namespaces labelled
                           <defaults-label>=enabled, or in all namespaces but the exclusions (default off)
  --defaults-label NAME    namespace label that opts in (default sidecar-guard.io/default-sidecar)
  --defaults-exclude NS    extra namespaces for "all" (kube-system, kube-public, kube-node-lease, the root and own namespace always)
  --defaults-config FILE   generator template (see "sidecar-guard generate --help")
  --defaults-deps FILE     dependency map (see "sidecar-guard generate --help")
`,
    options: {
      standalone: { type: 'boolean', default: false },
      kubeconfig: { type: 'string' },
      'max-staleness': { type: 'string', default: '60000' },
      listen: { type: 'string', default: '0.0.0.0:8443' },
      'cert-dir': { type: 'string', default: 'certs' },
      state: { type: 'string', multiple: true, default: [] },
      'log-level': { type: 'string', default: process.env.LOG_LEVEL ?? 'info' },
      'reservation-ttl': { type: 'string', default: '10000' },
      'drain-delay': { type: 'string' },
      'shutdown-timeout': { type: 'string', default: '20000' },
      'max-inflight': { type: 'string', default: '32' },
      'request-timeout': { type: 'string', default: '30000' },
      'headers-timeout': { type: 'string', default: '10000' },
      'self-namespace': { type: 'string' },
      'metrics-listen': { type: 'string', default: '0.0.0.0:9090' },
      'client-ca': { type: 'string' },
      'tls-secret': { type: 'string' },
      'tls-service': { type: 'string', default: 'sidecar-guard' },
      'tls-san': { type: 'string', multiple: true, default: [] },
      'webhook-config': { type: 'string', default: 'sidecar-guard' },
      'webhook-selector': { type: 'string' },
      'fail-closed-when-ready': { type: 'boolean', default: false },
      'generate-defaults': { type: 'string', default: 'off' },
      'defaults-label': { type: 'string', default: DEFAULT_NAMESPACE_LABEL },
      'defaults-exclude': { type: 'string', multiple: true, default: [] },
      'defaults-config': { type: 'string' },
      'defaults-deps': { type: 'string' },
      ...SHARED_RULE_FLAGS,
    },
    run: runServe,
  },
  check: {
    usage: `Usage: sidecar-guard check [flags] PATH...

PATH is a file, a directory (recursive, *.yaml|*.yml|*.json) or - for stdin.
Exit code: 0 every Sidecar allowed, 1 some rejected, 2 usage error or unreadable path.

  --output text|json       compiler-style lines (default) or one JSON object
  --namespace NS           namespace of objects without metadata.namespace (default "default")
  --isolated               judge each document alone, without the cross-object rules
  --overlap MODE           labels | pods | identical (default labels)
  --root-namespace NS      Istio's root namespace (default istio-system)
`,
    options: {
      output: { type: 'string', short: 'o', default: 'text' },
      namespace: { type: 'string', short: 'n', default: 'default' },
      isolated: { type: 'boolean', default: false },
      ...SHARED_RULE_FLAGS,
    },
    run: runCheck,
  },
  audit: {
    usage: `Usage: sidecar-guard audit [--kubeconfig FILE | PATH...] [flags]

Reports every conflict among existing Sidecars, both members of each pair, with Istio's
analyzer codes (IST0110, IST0111, IST0101, IST0167, IST0002). Without PATHs it lists the
cluster of --kubeconfig (default: $KUBECONFIG or ~/.kube/config, else in-cluster).
Exit code: 0 no error findings, 1 some, 2 usage error or unreachable cluster.

  --output text|json       istioctl-analyze-like lines (default) or one JSON object
  --kubeconfig FILE        the cluster to read
  --namespace NS           namespace of manifests without metadata.namespace (default "default")
  --overlap MODE           labels | pods | identical (default labels; pods = istioctl analyze)
  --root-namespace NS      Istio's root namespace (default istio-system)
`,
    options: {
      output: { type: 'string', short: 'o', default: 'text' },
      kubeconfig: { type: 'string' },
      namespace: { type: 'string', short: 'n', default: 'default' },
      ...SHARED_RULE_FLAGS,
    },
    run: runAudit,
  },
  generate: {
    usage: `Usage: sidecar-guard generate --namespace NS [--config FILE] [--deps FILE] [flags]

Prints a selector-less namespace-default Sidecar, ready for "kubectl apply -f -".
Egress hosts: the template's (default "./*" and "<root-namespace>/*") plus, from the
dependency map, every service the namespace's services call and every external host,
de-duplicated and sorted.

  --namespace NS           the namespace (required)
  --config FILE            template: name, egressHosts ({root} = root namespace), outboundTrafficPolicy, clusterDomain
  --deps FILE              dependency map: services: { "ns/svc": { calls: [ns/svc | ns/*], external: [host] } }
  --output yaml|json       (default yaml)
  --root-namespace NS      Istio's root namespace (default istio-system)
`,
    options: {
      namespace: { type: 'string', short: 'n' },
      config: { type: 'string' },
      deps: { type: 'string' },
      output: { type: 'string', short: 'o', default: 'yaml' },
      'root-namespace': { type: 'string', default: 'istio-system' },
    },
    run: runGenerate,
  },
  certs: {
    usage: `Usage: sidecar-guard certs --service NAME --namespace NS [--out DIR]

Writes ca.crt, ca.key, tls.crt and tls.key (RSA 2048; CA 365 days, serving certificate 90 days)
whose SANs cover NAME, NAME.NS, NAME.NS.svc, NAME.NS.svc.cluster.local, localhost and 127.0.0.1.
Prints the base64 caBundle for the webhook configurations.
`,
    options: {
      service: { type: 'string', default: 'sidecar-guard' },
      namespace: { type: 'string', short: 'n', default: 'sidecar-guard' },
      out: { type: 'string', default: 'certs' },
    },
    run: runCerts,
  },
};

type Values = Record<string, string | boolean | string[] | undefined>;

/** Where a command reads and writes; tests pass their own, the process passes stdio. */
export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
  stdin(): string;
}

const processIO: CliIO = {
  stdout: (t) => void process.stdout.write(t),
  stderr: (t) => void process.stderr.write(t),
  stdin: () => readFileSync(0, 'utf8'),
};

export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    io.stdout(USAGE);
    return command ? EXIT_OK : EXIT_USAGE;
  }
  const spec = COMMANDS[command];
  if (!spec) return usageError(io, `unknown command "${command}"\n\n${USAGE}`);
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(spec.usage);
    return EXIT_OK;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: spec.options, allowPositionals: true, strict: true });
  } catch (err) {
    return usageError(io, `${(err as Error).message}\n\n${spec.usage}`);
  }
  try {
    return await spec.run(parsed.values as Values, parsed.positionals, io);
  } catch (err) {
    if (err instanceof UsageError) return usageError(io, err.message);
    throw err;
  }
}

function usageError(io: CliIO, message: string): number {
  io.stderr(`sidecar-guard: ${message.trimEnd()}\n`);
  return EXIT_USAGE;
}

function overlapFlag(values: Values): OverlapMode {
  const mode = values.overlap as string;
  if (!(OVERLAP_MODES as readonly string[]).includes(mode)) throw new UsageError(`--overlap must be one of ${OVERLAP_MODES.join(', ')}, got "${mode}"`);
  return mode as OverlapMode;
}

function intFlag(values: Values, name: string, fallback?: number): number {
  const raw = values[name];
  if (raw === undefined) {
    if (fallback === undefined) throw new UsageError(`--${name} is required`);
    return fallback;
  }
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} must be a non-negative integer, got "${String(raw)}"`);
  return n;
}

async function runCheck(values: Values, paths: string[], io: CliIO): Promise<number> {
  const output = outputFlag(values);
  if (paths.length === 0) throw new UsageError(`check needs at least one PATH (a file, a directory or - for stdin)\n\n${COMMANDS.check!.usage}`);
  const options = {
    namespace: values.namespace as string,
    isolated: values.isolated === true,
    overlap: overlapFlag(values),
    rootNamespace: values['root-namespace'] as string,
  };
  const sources = readSources(paths, io.stdin);
  const report = checkManifests(parseSources(sources), sources.length, options);
  io.stdout(output === 'json' ? formatJson(report) : formatText(report));
  return report.summary.rejected > 0 ? EXIT_REJECTED : EXIT_OK;
}

async function runAudit(values: Values, paths: string[], io: CliIO): Promise<number> {
  const output = outputFlag(values);
  const options = { overlap: overlapFlag(values), rootNamespace: values['root-namespace'] as string };
  if (paths.length > 0 && values.kubeconfig) throw new UsageError('give either --kubeconfig or PATHs, not both');
  let input: AuditInput;
  let podsKnown: boolean;
  if (paths.length > 0) {
    try {
      input = clusterObjects(parseSources(readSources(paths, io.stdin)), values.namespace as string);
    } catch (err) {
      if (err instanceof ManifestError) throw new UsageError(err.message);
      throw err;
    }
    podsKnown = input.pods.length > 0;
  } else {
    podsKnown = true;
    try {
      // Loaded on demand: client-node is large and only this path needs it.
      const [{ KubeClient }, { listSnapshot }] = await Promise.all([import('./cluster/kube.js'), import('./cluster/snapshot.js')]);
      input = await listSnapshot(KubeClient.load(values.kubeconfig as string | undefined));
    } catch (err) {
      throw new UsageError(`cannot list the cluster: ${(err as Error).message}`);
    }
  }
  const report = audit(input, { ...options, podsKnown });
  io.stdout(output === 'json' ? formatAuditJson(report) : formatAuditText(report));
  return report.summary.errors > 0 ? EXIT_REJECTED : EXIT_OK;
}

function outputFlag(values: Values): 'text' | 'json' {
  const output = values.output as string;
  if (output !== 'text' && output !== 'json') throw new UsageError(`--output must be text or json, got "${output}"`);
  return output;
}

async function runGenerate(values: Values, _paths: string[], io: CliIO): Promise<number> {
  const namespace = values.namespace as string | undefined;
  if (!namespace) throw new UsageError(`generate needs --namespace\n\n${COMMANDS.generate!.usage}`);
  const output = values.output as string;
  if (output !== 'yaml' && output !== 'json') throw new UsageError(`--output must be yaml or json, got "${output}"`);
  const config = loadDefaultsConfig(values);
  const sidecar = generateDefault(namespace, config);
  io.stdout(output === 'json' ? `${JSON.stringify(sidecar, null, 2)}\n` : stringifyYaml(sidecar));
  return EXIT_OK;
}

/** --config / --deps files → the generator's configuration; bad files are usage errors. */
export function loadDefaultsConfig(values: Values): DefaultsConfig {
  const read = (flag: string): string | undefined => {
    const path = values[flag] as string | undefined;
    if (path === undefined) return undefined;
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read --${flag} ${path}: ${(err as Error).message}`);
    }
  };
  try {
    const config: DefaultsConfig = { rootNamespace: values['root-namespace'] as string, template: parseTemplate(read('config'), values.config as string) };
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
  const ca = createCA();
  const serving = issueServingCert(ca, {
    dnsNames: [...serviceDnsNames(service, namespace), 'localhost'],
    ipAddresses: ['127.0.0.1'],
  });
  mkdirSync(out, { recursive: true });
  writeCertFiles(out, ca, serving);
  io.stderr(`wrote ${out}/ca.crt, ${out}/ca.key, ${out}/tls.crt, ${out}/tls.key for ${service}.${namespace}.svc\n`);
  io.stdout(`${Buffer.from(ca.certPem).toString('base64')}\n`);
  return EXIT_OK;
}

function hostPortFlag(value: string, flag: string) {
  try {
    return parseHostPort(value, flag);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function defaultsMode(values: Values): 'off' | 'label' | 'all' {
  const mode = values['generate-defaults'] as string;
  if (mode !== 'off' && mode !== 'label' && mode !== 'all') throw new UsageError(`--generate-defaults must be off, label or all, got "${mode}"`);
  if (mode !== 'off' && values.standalone === true) throw new UsageError('--generate-defaults needs a cluster (it creates Sidecars); drop --standalone');
  return mode;
}

/** Our namespace inside a pod: the downward API variable, else the service account's namespace file. */
function podNamespace(): string {
  if (process.env.POD_NAMESPACE) return process.env.POD_NAMESPACE;
  try {
    return readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/namespace', 'utf8').trim() || 'sidecar-guard';
  } catch {
    return 'sidecar-guard';
  }
}

async function runServe(values: Values): Promise<number> {
  const standalone = values.standalone === true;
  const listen = hostPortFlag(values.listen as string, '--listen');
  if (standalone && values['tls-secret']) throw new UsageError('--tls-secret needs a cluster; drop --standalone');
  const config: ServeConfig = {
    listen,
    certDir: values['cert-dir'] as string,
    mode: standalone ? 'standalone' : 'cluster',
    kubeconfig: values.kubeconfig as string | undefined,
    statePaths: values.state as string[],
    overlap: overlapFlag(values),
    rootNamespace: values['root-namespace'] as string,
    logLevel: values['log-level'] as string,
    metricsListen: values['metrics-listen'] === 'off' ? null : hostPortFlag(values['metrics-listen'] as string, '--metrics-listen'),
    ...(values['client-ca'] ? { clientCaFile: values['client-ca'] as string } : {}),
    ...(values['tls-secret'] ? { tlsSecret: values['tls-secret'] as string } : {}),
    tlsService: values['tls-service'] as string,
    tlsExtraNames: values['tls-san'] as string[],
    webhookConfig: values['webhook-config'] as string,
    ...(values['webhook-selector'] ? { webhookSelector: values['webhook-selector'] as string } : {}),
    failClosedWhenReady: values['fail-closed-when-ready'] === true,
    reservationTtlMs: intFlag(values, 'reservation-ttl'),
    drainDelayMs: intFlag(values, 'drain-delay', standalone ? 0 : 5000),
    maxStalenessMs: intFlag(values, 'max-staleness'),
    selfNamespace: (values['self-namespace'] as string | undefined) ?? podNamespace(),
    defaults: {
      mode: defaultsMode(values),
      namespaceLabel: values['defaults-label'] as string,
      exclude: values['defaults-exclude'] as string[],
      config: loadDefaultsConfig({ ...values, config: values['defaults-config'], deps: values['defaults-deps'] }),
    },
  };
  const limits = serveLimits(values);
  const { createLogger, serve } = await import('./main.js');
  const logger = createLogger(config.logLevel);
  const server = await serve({ ...config, limits }, logger);
  const code = await new Promise<number>((resolve) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      if (++signals > 1) {
        // The operator (or the kubelet's SIGKILL countdown) will not wait: do not either.
        logger.warn({ signal }, 'second signal: exiting without waiting for in-flight requests');
        process.exit(EXIT_FORCED);
      }
      server.shutdown(signal).then(
        () => resolve(EXIT_OK),
        (err) => {
          logger.error({ err }, 'shutdown failed');
          resolve(EXIT_FORCED);
        },
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  // Everything is closed; should some handle still hold the event loop, exit anyway.
  setTimeout(() => process.exit(code), 2_000).unref();
  return code;
}

/** --max-inflight, timeouts and --shutdown-timeout, checked against each other. */
function serveLimits(values: Values) {
  const limits = {
    maxInflight: intFlag(values, 'max-inflight'),
    requestTimeoutMs: intFlag(values, 'request-timeout'),
    headersTimeoutMs: intFlag(values, 'headers-timeout'),
    shutdownTimeoutMs: intFlag(values, 'shutdown-timeout'),
  };
  if (limits.maxInflight < 1) throw new UsageError('--max-inflight must be at least 1');
  if (limits.requestTimeoutMs < 1 || limits.headersTimeoutMs < 1) throw new UsageError('--request-timeout and --headers-timeout must be at least 1 ms');
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new UsageError(`--headers-timeout (${limits.headersTimeoutMs}) must not exceed --request-timeout (${limits.requestTimeoutMs})`);
  }
  return limits;
}

const isEntryPoint = process.argv[1] !== undefined && /(?:cli\.[jt]s|sidecar-guard(?:\.js)?)$/.test(process.argv[1]);
if (isEntryPoint) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`sidecar-guard: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exitCode = 1;
      // serve() undoes what it started when it fails; should a handle still hold the loop, exit anyway.
      setTimeout(() => process.exit(1), 3_000).unref();
    },
  );
}

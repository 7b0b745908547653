// The two sides of the differential: Istio's own code (the Go commands in
// conformance/bin/, built by `make oracle`) and sidecar-guard's `check` and
// `audit` commands run in process through the CLI's main().
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { storeOf } from '../../src/manifests/state.js';
import { judge } from '../../src/sidecar/review.js';
import { runCli } from '../helpers/cli.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const VALIDATE_BIN = `${ROOT}conformance/bin/istio-validate`;
export const ANALYZE_BIN = `${ROOT}conformance/bin/istio-analyze`;
export const SCOPE_BIN = `${ROOT}conformance/bin/istio-scope`;

/**
 * Builds the oracle when its sources changed (make's stamp makes this a
 * no-op otherwise). The first build compiles Istio and takes minutes.
 */
export function ensureOracle(): void {
  execFileSync('make', ['--no-print-directory', '-s', 'oracle'], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (!existsSync(VALIDATE_BIN) || !existsSync(ANALYZE_BIN) || !existsSync(SCOPE_BIN))
    throw new Error('make oracle did not produce conformance/bin/istio-validate, istio-analyze and istio-scope');
}

export interface Message {
  message: string;
}

export interface IstioResult {
  file: string;
  index: number;
  apiVersion: string | null;
  namespace: string | null;
  name: string | null;
  allowed: boolean;
  stage: 'parse' | 'decode' | 'type' | 'validate' | 'fields' | 'ok';
  errors: Message[];
  warnings: Message[];
}

export interface GuardFinding {
  rule: string;
  path: string;
  message: string;
}

export interface GuardResult {
  file: string;
  line: number;
  apiVersion: string | null;
  namespace: string | null;
  name: string | null;
  allowed: boolean;
  errors: GuardFinding[];
  warnings: GuardFinding[];
}

export interface AnalyzerFinding {
  code: string | null;
  severity: string;
  kind: string;
  namespace: string;
  name: string;
  message: string;
}

/** Runs a command with `input` on stdin; its stdout must be one JSON object. */
function runJson<T>(bin: string, args: string[], input: string, okCodes: number[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === null || !okCodes.includes(code)) {
        reject(new Error(`${bin} exited ${code}: ${err.trim()}`));
        return;
      }
      try {
        resolve(JSON.parse(Buffer.concat(out).toString('utf8')) as T);
      } catch (e) {
        reject(new Error(`${bin}: output is not JSON (${(e as Error).message}); stderr: ${err.trim()}`));
      }
    });
    child.stdin.end(input);
  });
}

/**
 * Many objects as one JSON stream, a line each: both sides read it as JSON, as
 * kubectl reads a JSON file. (Between `---` lines, YAML documents, kubectl's
 * YAML reader, and so `check`, would refuse the DEL and C1 controls the
 * generators put in strings, which reach the webhook from a JSON request.)
 */
export function documents(objects: readonly unknown[]): string {
  return objects.map((o) => `${JSON.stringify(o)}\n`).join('');
}

export async function istioValidate(text: string): Promise<IstioResult[]> {
  const out = await runJson<{ results: IstioResult[] }>(VALIDATE_BIN, ['-'], text, [0, 1]);
  return out.results;
}

export async function guardCheck(text: string): Promise<GuardResult[]> {
  const res = await runCli(['check', '--isolated', '--output', 'json', '-'], { stdin: text });
  if (res.code !== 0 && res.code !== 1) throw new Error(`check exited ${res.code}: ${res.stderr}`);
  return (JSON.parse(res.stdout) as { results: GuardResult[] }).results;
}

export async function istioAnalyze(text: string): Promise<AnalyzerFinding[]> {
  const out = await runJson<{ findings: AnalyzerFinding[] }>(ANALYZE_BIN, ['-'], text, [0]);
  return out.findings;
}

export async function guardAudit(text: string): Promise<AnalyzerFinding[]> {
  const res = await runCli(['audit', '--overlap', 'pods', '--output', 'json', '-'], { stdin: text });
  if (res.code !== 0 && res.code !== 1) throw new Error(`audit exited ${res.code}: ${res.stderr}`);
  return (JSON.parse(res.stdout) as { findings: AnalyzerFinding[] }).findings;
}

/** What istiod imports through one egress listener of a Sidecar (istio-scope's output). */
export interface ScopeListener {
  index: number;
  port: number;
  bind: string;
  services: { hostname: string; namespace: string; ports: number[] }[];
}

export interface ScopeResult {
  namespace: string;
  name: string;
  /** The older Sidecar whose scope istiod gives this one's proxy instead (the listeners stay this one's own). */
  shadowedBy?: string;
  /** The scope's outbound traffic policy: the Sidecar's own mode, else the mesh's (ALLOW_ANY). */
  outboundMode: string;
  listeners: ScopeListener[];
  /** With `fallback`: the scope this Sidecar's proxy gets once the Sidecar is deleted. */
  fallback?: ProxyScope;
}

/** The scope istiod gives one proxy. */
export interface ProxyScope {
  /** `ns/name` of the Sidecar the scope is made from; "" for istiod's built-in default (every host, the mesh's mode). */
  sidecar: string;
  outboundMode: string;
  listeners: ScopeListener[];
}

/** A Pod of the input, probed as a proxy in its namespace with its labels. */
export interface ScopePod extends ProxyScope {
  namespace: string;
  name: string;
  labels: Record<string, string>;
}

/** Istio's pilot code: the SidecarScope istiod gives a proxy each Sidecar applies to. */
export async function istioScope(text: string, rootNamespace = 'istio-system'): Promise<ScopeResult[]> {
  return (await istioScopes(text, { rootNamespace })).sidecars;
}

/**
 * istioScope with the Pods of the text probed too, and with `fallback` each
 * Sidecar's scope once it is deleted (one more push per batch of deletions).
 * With `revision`, as the istiod of that revision computes it: the Sidecars it
 * does not read (Istio's LabelsInRevision) are left out.
 */
export async function istioScopes(
  text: string,
  {
    rootNamespace = 'istio-system',
    fallback = false,
    revision,
  }: { rootNamespace?: string; fallback?: boolean; revision?: string } = {},
): Promise<{ sidecars: ScopeResult[]; pods: ScopePod[] }> {
  const args = [
    '--root-namespace',
    rootNamespace,
    ...(fallback ? ['--fallback'] : []),
    ...(revision ? ['--revision', revision] : []),
    '-',
  ];
  const out = await runJson<{ sidecars: ScopeResult[]; pods?: ScopePod[] }>(SCOPE_BIN, args, text, [0]);
  return { sidecars: out.sidecars, pods: out.pods ?? [] };
}

/** sidecar-guard's `check` with the cross-object rules, over the Sidecars and the registry in the text. */
export async function guardCheckWithView(text: string): Promise<GuardResult[]> {
  const res = await runCli(['check', '--output', 'json', '-'], { stdin: text });
  if (res.code !== 0 && res.code !== 1) throw new Error(`check exited ${res.code}: ${res.stderr}`);
  return (JSON.parse(res.stdout) as { results: GuardResult[] }).results;
}

/**
 * sidecar-guard's view of a cluster that predates the webhook: every Sidecar
 * in it (with its creationTimestamp), each judged as an UPDATE that leaves it
 * as it is (someone relabels it), against the others and the Namespaces,
 * Services and Pods among `objects`. Findings by `ns/name`.
 */
export function judgedAsUpdates(
  objects: readonly Record<string, unknown>[],
  sidecars: readonly Record<string, unknown>[],
  rootNamespace: string,
): Map<string, GuardFinding[]> {
  const ofKind = (kind: string) => objects.filter((o) => o.kind === kind);
  const store = storeOf({
    namespaces: ofKind('Namespace'),
    services: ofKind('Service'),
    pods: ofKind('Pod'),
    sidecars: [...sidecars],
  });
  const out = new Map<string, GuardFinding[]>();
  for (const object of sidecars) {
    const { namespace, name } = object.metadata as { namespace: string; name: string };
    const found = judge({ object, oldObject: object, ref: { namespace, name } }, store, {
      overlap: 'workloads',
      rootNamespace,
      rejectUnknownFields: true,
    });
    out.set(
      `${namespace}/${name}`,
      found.map(({ rule, path, message }) => ({ rule, path, message })),
    );
  }
  return out;
}

/** Whether a finding's message names the Sidecar (`ns/name`, or the bare name as conflict.default and selector.empty list them). */
export function mentions(message: string, s: { namespace: string; name: string }): boolean {
  const tokens: string[] = message.match(/[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)?/g) ?? [];
  return tokens.includes(s.name) || tokens.includes(`${s.namespace}/${s.name}`);
}

/** A Sidecar a claims test generated, as the test knows it. */
export interface GeneratedSidecar {
  namespace: string;
  name: string;
  /** Its creation order: istio-scope and the UPDATE view make the earlier one older. */
  age: number;
  /** none: no workloadSelector; empty: `{}` or `{labels: {}}`; labels: a selector. */
  selector: 'none' | 'empty' | 'labels';
  labels: Record<string, string>;
  object: Record<string, unknown>;
}

/** `ns/name`, as istio-scope and the findings name a Sidecar. */
export const refKey = (s: { namespace: string; name: string }): string => `${s.namespace}/${s.name}`;

/** Whether istiod takes the Sidecar for a proxy of its namespace with these labels (before age decides): every pod without a selector. */
export function appliesTo(s: GeneratedSidecar, labels: Record<string, string>): boolean {
  return Object.entries(s.labels).every(([k, v]) => labels[k] === v);
}

/** The creationTimestamp of a generated Sidecar of this age: a second apart from 2000-01-01, as istio-scope stamps input order. */
export const createdAt = (age: number): string =>
  new Date(Date.UTC(2000, 0, 1) + age * 1000).toISOString().replace('.000Z', 'Z');

/** The rules whose findings name two Sidecars istiod picks between. */
export const CONFLICT_RULES: ReadonlySet<string> = new Set([
  'conflict.default',
  'conflict.overlap',
  'selector.empty',
  'selector.shadowed',
]);

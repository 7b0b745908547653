// The generator's two input files, parsed from text with errors a person can
// act on (the CLI and `serve` read the files, these functions only parse).
import { LineCounter, parseDocument, YAMLParseError } from 'yaml';
import { DEFAULT_TEMPLATE, type DefaultsTemplate, type DependencyMap } from './generate.js';
import { isRecord } from '../util/json.js';
import { collectionKeyMessage, DUPLICATE_KEY_MESSAGE, firstKeyProblem, unreadableYaml } from '../util/yaml.js';

export class ConfigError extends Error {}

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const HOSTNAME = /^(\*\.)?[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?)*$/;

function load(text: string, what: string): unknown {
  // Deeper than kubectl reads, or a flood of stray tokens, costs the parser out of proportion (see
  // util/yaml.ts): refused after reading no further than that, before the whole text is parsed (a
  // config is small; reading the start of it twice costs nothing to speak of).
  const lines = new LineCounter();
  const unreadable = unreadableYaml(text, lines.addNewLine);
  if (unreadable)
    throw new ConfigError(
      `${what}: not valid YAML: ${unreadable.message} at line ${lines.linePos(unreadable.offset).line}`,
    );
  try {
    // Repeated keys found in one pass (firstKeyProblem): the library's own check is quadratic in a mapping's size.
    const doc = parseDocument(text, { version: '1.1', uniqueKeys: false });
    if (doc.errors[0]) throw doc.errors[0];
    const bad = firstKeyProblem(doc);
    if (bad !== undefined) {
      const problem = bad.problem === 'repeated' ? DUPLICATE_KEY_MESSAGE : collectionKeyMessage(bad.collection);
      throw new ConfigError(`${what}: not valid YAML: ${problem} (line ${lines.linePos(bad.offset).line})`);
    }
    return doc.toJS();
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    // The library's own words for this one name its API ("please use YAML.parseAllDocuments()").
    if (err instanceof YAMLParseError && err.code === 'MULTIPLE_DOCS')
      throw new ConfigError(
        `${what}: must hold one YAML document, found another starting at line ${err.linePos?.[0].line ?? '?'}`,
      );
    // and for a document too deep for its recursion, V8's ("Maximum call stack size exceeded").
    if (err instanceof RangeError || (err instanceof YAMLParseError && err.code === 'RESOURCE_EXHAUSTION'))
      throw new ConfigError(`${what}: not valid YAML: nesting too deep to read`);
    throw new ConfigError(`${what}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
}

function stringList(v: unknown, where: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
    throw new ConfigError(`${where} must be a list of strings`);
  return v as string[];
}

/**
 * Template file, every key optional:
 *   name: default
 *   egressHosts: ["./*", "{root}/*"]
 *   outboundTrafficPolicy: { mode: REGISTRY_ONLY }
 *   clusterDomain: cluster.local
 */
export function parseTemplate(text: string | undefined, file = 'config'): DefaultsTemplate {
  if (text === undefined) return { ...DEFAULT_TEMPLATE };
  const doc = load(text, file) ?? {};
  if (!isRecord(doc))
    throw new ConfigError(`${file}: expected a mapping with name, egressHosts, outboundTrafficPolicy, clusterDomain`);
  const known = new Set(['name', 'egressHosts', 'outboundTrafficPolicy', 'clusterDomain']);
  for (const key of Object.keys(doc))
    if (!known.has(key)) throw new ConfigError(`${file}: unknown key "${key}" (known: ${[...known].join(', ')})`);
  const template: DefaultsTemplate = { ...DEFAULT_TEMPLATE };
  if (doc.name !== undefined) {
    if (typeof doc.name !== 'string' || !LABEL.test(doc.name))
      throw new ConfigError(`${file}: name must be a lowercase DNS label, got ${JSON.stringify(doc.name)}`);
    template.name = doc.name;
  }
  if (doc.egressHosts !== undefined) {
    template.egressHosts = stringList(doc.egressHosts, `${file}: egressHosts`);
    if (template.egressHosts.length === 0)
      throw new ConfigError(`${file}: egressHosts must not be empty (Istio requires at least one host)`);
  }
  if (doc.outboundTrafficPolicy !== undefined) {
    const mode = isRecord(doc.outboundTrafficPolicy) ? doc.outboundTrafficPolicy.mode : undefined;
    if (mode !== 'REGISTRY_ONLY' && mode !== 'ALLOW_ANY')
      throw new ConfigError(`${file}: outboundTrafficPolicy.mode must be REGISTRY_ONLY or ALLOW_ANY`);
    template.outboundTrafficPolicy = { mode };
  }
  if (doc.clusterDomain !== undefined) {
    if (typeof doc.clusterDomain !== 'string' || !HOSTNAME.test(doc.clusterDomain))
      throw new ConfigError(`${file}: clusterDomain must be a DNS name`);
    template.clusterDomain = doc.clusterDomain;
  }
  return template;
}

/** dependencies.yaml in the seeds' style: services: { "ns/svc": { calls: [...], external: [...] } }. */
export function parseDependencies(text: string, file = 'dependencies'): DependencyMap {
  const doc = load(text, file);
  if (!isRecord(doc) || !isRecord(doc.services))
    throw new ConfigError(`${file}: expected "services:" mapping "namespace/service" to { calls, external }`);
  const services: DependencyMap['services'] = {};
  for (const [service, entry] of Object.entries(doc.services)) {
    const where = `${file}: services["${service}"]`;
    checkServiceRef(service, where, false);
    if (entry !== null && !isRecord(entry)) throw new ConfigError(`${where} must be a mapping with calls and external`);
    const calls = stringList(entry?.calls, `${where}.calls`);
    const external = stringList(entry?.external, `${where}.external`);
    calls.forEach((c, i) => {
      checkServiceRef(c, `${where}.calls[${i}]`, true);
    });
    external.forEach((h, i) => {
      if (!HOSTNAME.test(h) || !h.includes('.'))
        throw new ConfigError(`${where}.external[${i}] must be a fully qualified host name, got "${h}"`);
    });
    services[service] = { calls, external };
  }
  return { services };
}

function checkServiceRef(ref: string, where: string, allowWildcard: boolean): void {
  const [ns, name, extra] = ref.split('/');
  const nameOk = name !== undefined && (HOSTNAME.test(name) || (allowWildcard && name === '*'));
  if (extra !== undefined || !ns || !LABEL.test(ns) || !nameOk) {
    throw new ConfigError(`${where}: "${ref}" must be namespace/service${allowWildcard ? ' or namespace/*' : ''}`);
  }
}

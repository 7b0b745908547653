// What the rules say istiod gives a Sidecar's pods, against Istio's pilot
// code, part of `make test`: conflict.default, conflict.overlap,
// selector.empty, selector.shadowed, egress.bypass and outbound.bypass. Seeded clusters of
// Namespaces, Services, Pods and Sidecars (namespace-wide ones, selector
// ones, `workloadSelector: {}`, mesh-wide defaults in istio-system; with and
// without egress and outboundTrafficPolicy; created in input order) are read
// by sidecar-guard and by conformance/bin/istio-scope (built by `make
// oracle`), which sets up a proxy per Sidecar (its selector's labels) and per
// Pod, reports the SidecarScope istiod gives each and, with --fallback, the
// scope a Sidecar's proxy gets once that Sidecar is deleted.
//
// sidecar-guard judges each cluster two ways. `check`: `check --output json`
// of the file applied twice, each Sidecar judged first against those admitted
// before it, then against all that were admitted; a Sidecar check refuses is
// not in its cluster, though istiod (istio-scope) reads it, so where that
// makes istiod pick another Sidecar the case is counted, not failed.
// `update`: a cluster that predates the webhook, every Sidecar in it, each
// judged as an UPDATE that leaves its spec as it is (someone relabels it);
// conflicts are then warnings that say which Sidecar Istio uses.
//
// Asserted, in both views: a Sidecar istiod shadows is named with its
// shadower in a conflict.default, conflict.overlap, selector.empty or
// selector.shadowed finding;
// the pods both Sidecars of a conflict apply to get the older one (a younger
// `{}` ahead of a namespace-wide one is selector.empty's claim, and holds);
// under selector.empty every pod of the namespace gets a selector Sidecar,
// never the default it names, the older of it and each selector Sidecar it
// names, and never one outside the root namespace; under selector.shadowed
// the older `{}` it names takes every pod it selects; an egress.bypass or
// outbound.bypass Sidecar gets every host (ALLOW_ANY) and, once deleted, its
// pods get the default the warning names with less (REGISTRY_ONLY). Counted:
// bypasses istiod shows that no warning reports, conflicts seen on pods only.
// The two disagreements this found (docs/conformance.md, "Scope claims") are
// fixed: selector.shadowed, and conflict.default's warning naming the `{}`.
// Replay a run with SCOPE_CLAIMS_SEED=<seed>.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
  appliesTo,
  CONFLICT_RULES,
  createdAt,
  documents,
  ensureOracle,
  type GeneratedSidecar,
  type GuardFinding,
  type GuardResult,
  guardCheckWithView,
  istioScopes,
  judgedAsUpdates,
  mentions,
  refKey,
  type ProxyScope,
  type ScopeListener,
  type ScopePod,
  type ScopeResult,
} from './oracle.js';
import { namespace, service } from '../helpers/objects.js';
import { drawsFrom, seededRandom, seedFrom } from '../helpers/seeded.js';

const seed = seedFrom('SCOPE_CLAIMS_SEED');
const CLUSTERS = 16;
const ROOT = 'istio-system';
const NAMESPACES = ['shop', 'a', 'b', 'c'];

type Labels = Record<string, string>;

/** Selector label sets; some contain others, some only overlap, so pods pick between Sidecars. */
const LABEL_SETS: readonly Labels[] = [
  { app: 'x' },
  { app: 'y' },
  { version: 'v1' },
  { app: 'x', version: 'v1' },
  { app: 'x', version: 'v2' },
  { app: 'y', version: 'v1' },
];
/** Egress hosts of one catch-all listener; null: no egress listener. */
const EGRESS: readonly (readonly string[] | null)[] = [
  null,
  null,
  null,
  ['./*'],
  ['./*', `${ROOT}/*`],
  ['a/*'],
  ['*/*'],
  ['*/*', '~c/*'],
  ['./*', '*/web.shop.svc.cluster.local'],
];
/** Services every namespace sees, so that whatever hosts above a default has, a Sidecar without egress gains one. */
const EVERYWHERE = ['web.shop', 'db.c', 'api.a'];
const OUTBOUND: readonly (Record<string, string> | undefined)[] = [
  undefined,
  undefined,
  undefined,
  { mode: 'REGISTRY_ONLY' },
  { mode: 'ALLOW_ANY' },
  {},
];

const INGRESS = { port: { number: 9080, protocol: 'HTTP', name: 'http' }, defaultEndpoint: '127.0.0.1:8080' };

/** A generated Sidecar as the test knows it. */
interface Gen extends GeneratedSidecar {
  egress: boolean;
  outbound: boolean;
}

interface Cluster {
  /** Namespaces, Services, Sidecars and Pods, in input order. */
  objects: Record<string, unknown>[];
  sidecars: Gen[];
}

function generate(clusterSeed: number): Cluster {
  const rnd = seededRandom(clusterSeed);
  const { pick, shuffle } = drawsFrom(rnd);
  const objects: Record<string, unknown>[] = [ROOT, ...NAMESPACES].map((name) => namespace(name));
  for (const ns of NAMESPACES) {
    for (const name of ['web', 'api', 'db']) {
      const always = EVERYWHERE.includes(`${name}.${ns}`);
      if (!always && rnd() < 0.4) continue;
      const exportTo = always ? undefined : pick([undefined, undefined, '.', '*', 'shop', 'a,b']);
      objects.push(service(ns, name, exportTo ? { 'networking.istio.io/exportTo': exportTo } : undefined));
    }
  }
  const drafts: { namespace: string; selector: Gen['selector']; labels: Labels }[] = [];
  for (const ns of [ROOT, ...NAMESPACES]) {
    for (let k = pick([0, 1, 1, 2]); k > 0; k--) drafts.push({ namespace: ns, selector: 'none', labels: {} });
    if (rnd() < 0.3) drafts.push({ namespace: ns, selector: 'empty', labels: {} });
    // At most 3, so that selector.empty's list of the selector Sidecars it competes with names them all.
    for (let k = Math.floor(rnd() * (ns === ROOT ? 2 : 4)); k > 0; k--)
      drafts.push({ namespace: ns, selector: 'labels', labels: pick(LABEL_SETS) });
  }
  shuffle(drafts);
  // Names in another order than ages, so that nothing can take one for the other.
  const numbers = shuffle(drafts.map((_, i) => i));
  const sidecars = drafts.map((d, age): Gen => {
    const egress = pick(EGRESS);
    const outbound = pick(OUTBOUND);
    const name = `s${numbers[age]}`;
    const selector =
      d.selector === 'none'
        ? {}
        : { workloadSelector: d.selector === 'empty' ? pick([{}, { labels: {} }]) : { labels: d.labels } };
    return {
      ...d,
      name,
      age,
      egress: egress !== null,
      outbound: outbound !== undefined,
      object: {
        apiVersion: 'networking.istio.io/v1',
        kind: 'Sidecar',
        metadata: { name, namespace: d.namespace },
        spec: {
          ...selector,
          // Istio refuses a Sidecar with none of ingress, egress and outboundTrafficPolicy (G1).
          ...((!egress && !outbound) || rnd() < 0.2 ? { ingress: [INGRESS] } : {}),
          ...(egress ? { egress: [{ hosts: [...egress] }] } : {}),
          ...(outbound ? { outboundTrafficPolicy: outbound } : {}),
        },
      },
    };
  });
  // The pods: in every namespace one without labels, one for each selector its Sidecars use (the pods
  // they are written for, which istio-scope's proxies are too), and some with other label sets.
  const pods: Record<string, unknown>[] = [];
  for (const ns of [ROOT, ...NAMESPACES]) {
    const sets: Labels[] = [
      {},
      ...LABEL_SETS.filter((l) => sidecars.some((s) => s.namespace === ns && s.labels === l)),
    ];
    for (const l of LABEL_SETS) if (!sets.includes(l) && rnd() < 0.3) sets.push(l);
    for (const [k, labels] of sets.entries())
      pods.push({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `p${k}`, namespace: ns, labels } });
  }
  return { objects: [...objects, ...sidecars.map((s) => s.object), ...pods], sidecars };
}

/** Every `hostname|namespace` the scope's listeners import. */
function importsOf(listeners: readonly ScopeListener[]): Set<string> {
  return new Set(listeners.flatMap((l) => l.services.map((s) => `${s.hostname}|${s.namespace}`)));
}

/** The default a bypass warning names: `... default Sidecar ns/name ...`. */
function namedDefault(message: string, after: string): string | undefined {
  const at = message.indexOf(after);
  if (at < 0) return undefined;
  return /^(?:namespace|mesh-wide) default(?: of revision "[^"]*")? Sidecar ([^\s/]+\/[^\s:(]+)/.exec(
    message.slice(at + after.length),
  )?.[1];
}

const VIEWS = ['check', 'update'] as const;
type ViewName = (typeof VIEWS)[number];

/** How one view of sidecar-guard judges a cluster. */
interface View {
  name: ViewName;
  /** What it says of a Sidecar against the whole cluster it holds. */
  findings(s: Gen): readonly GuardFinding[];
  /**
   * What it says of a Sidecar against the Sidecars it held when the Sidecar came: for `check`, the first
   * apply. A Sidecar's shadower is older (or a `{}` ahead of a namespace-wide one, judged with it either
   * way), so this is where the two meet first.
   */
  firstFindings(s: Gen): readonly GuardFinding[];
  /** Whether the Sidecar is in its cluster: `check` refuses some, istiod still reads them. */
  admitted(s: Gen): boolean;
}

type Claim = 'conflict' | 'selector.empty' | 'selector.shadowed' | 'egress.bypass' | 'outbound.bypass';
const WARNED = [
  'conflict.default',
  'conflict.overlap',
  'selector.empty',
  'selector.shadowed',
  'egress.bypass',
  'outbound.bypass',
] as const;
type Warned = (typeof WARNED)[number];

interface Bypasses {
  confirmed: number;
  /** Without the Sidecar istiod gives its pods another Sidecar than the default the warning names: one check refused, */
  viaRefused: number;
  /** or one a conflict, selector.empty or selector.shadowed finding names with it. */
  viaNamed: number;
  /** Bypasses istiod shows (the Sidecar's pods gain hosts, or ALLOW_ANY over REGISTRY_ONLY) that no warning reports, by what the pods get instead. */
  silent: Map<string, string[]>;
}

interface Tally {
  sidecars: number;
  pods: number;
  /** Findings per rule (of `check`'s second apply; of the UPDATEs). */
  findings: Record<Warned, number>;
  /** Sidecars istiod shadows, and how: reported naming both, by a Sidecar check refused, or refused by check themselves. */
  shadowed: { total: number; reported: number; byRefused: number; refusedItself: number };
  /** Pod verdicts of the pods both Sidecars of a conflict finding apply to: the older one, a third one, a younger `{}` (ahead of a namespace-wide one). */
  picks: { older: number; third: number; emptyAhead: number };
  /** Conflict findings where istio-scope's own proxies (each Sidecar's own labels) show no shadowing either way: seen on pods only. */
  onlyOnPods: number;
  /** selector.shadowed findings judged (their `{}` older, no pod getting the Sidecar). */
  shadowedByEmpty: number;
  bypass: Record<'egress.bypass' | 'outbound.bypass', Bypasses>;
  wrong: Record<Claim, string[]>;
}

function newTally(): Tally {
  const bypasses = (): Bypasses => ({ confirmed: 0, viaRefused: 0, viaNamed: 0, silent: new Map() });
  return {
    sidecars: 0,
    pods: 0,
    findings: Object.fromEntries(WARNED.map((r) => [r, 0])) as Record<Warned, number>,
    shadowed: { total: 0, reported: 0, byRefused: 0, refusedItself: 0 },
    picks: { older: 0, third: 0, emptyAhead: 0 },
    onlyOnPods: 0,
    shadowedByEmpty: 0,
    bypass: { 'egress.bypass': bypasses(), 'outbound.bypass': bypasses() },
    wrong: { conflict: [], 'selector.empty': [], 'selector.shadowed': [], 'egress.bypass': [], 'outbound.bypass': [] },
  };
}

/** A bypass no warning reports, by what istiod would give the pods instead. */
function unreported(silent: Map<string, string[]>, kind: string, example: string): void {
  silent.set(kind, [...(silent.get(kind) ?? []), example]);
}

const count = (silent: Map<string, string[]>) => [...silent.values()].reduce((n, l) => n + l.length, 0);
const byKind = (silent: Map<string, string[]>) =>
  silent.size === 0 ? '' : `: over ${[...silent].map(([kind, l]) => `${kind} ${l.length}`).join(', ')}`;

/** The Sidecar with the creationTimestamp istio-scope gives it (input order): a cluster's objects all have one. */
function stamped(s: Gen): Record<string, unknown> {
  const metadata = s.object.metadata as Record<string, unknown>;
  return { ...s.object, metadata: { ...metadata, creationTimestamp: createdAt(s.age) } };
}

interface Istiod {
  clusterSeed: number;
  sidecars: readonly Gen[];
  gens: ReadonlyMap<string, Gen>;
  scopes: ReadonlyMap<string, ScopeResult>;
  pods: readonly ScopePod[];
}

const id = refKey;

async function compareCluster(clusterSeed: number, tallies: Record<ViewName, Tally>): Promise<void> {
  const { objects, sidecars } = generate(clusterSeed);
  const [istio, guard] = await Promise.all([
    istioScopes(documents(objects), { fallback: true }),
    guardCheckWithView(documents([...objects, ...sidecars.map((s) => s.object)])),
  ]);
  assert.equal(guard.length, 2 * sidecars.length, 'check judged every Sidecar twice');
  const byRef = (results: readonly GuardResult[]) =>
    new Map<string, GuardResult>(results.map((r) => [`${r.namespace}/${r.name}`, r]));
  const firstApply = byRef(guard.slice(0, sidecars.length));
  const secondApply = byRef(guard.slice(sidecars.length));
  const updates = judgedAsUpdates(objects, sidecars.map(stamped), ROOT);
  const ctx: Istiod = {
    clusterSeed,
    sidecars,
    gens: new Map(sidecars.map((s) => [id(s), s])),
    scopes: new Map(istio.sidecars.map((r) => [`${r.namespace}/${r.name}`, r])),
    pods: istio.pods,
  };
  for (const s of sidecars) {
    const at = `seed ${clusterSeed}: ${id(s)}`;
    assert.ok(ctx.scopes.has(id(s)) && firstApply.has(id(s)) && secondApply.has(id(s)), `both sides judged ${at}`);
    const errors = firstApply
      .get(id(s))!
      .errors.filter((e) => e.rule !== 'conflict.default' && e.rule !== 'conflict.overlap');
    assert.deepEqual(errors, [], `${at} is valid but for its conflicts`);
  }
  const findingsIn = (apply: Map<string, GuardResult>) => (s: Gen) => {
    const r = apply.get(id(s))!;
    return [...r.errors, ...r.warnings];
  };
  const check: View = {
    name: 'check',
    findings: findingsIn(secondApply),
    firstFindings: findingsIn(firstApply),
    admitted: (s) => firstApply.get(id(s))!.allowed,
  };
  const update: View = {
    name: 'update',
    findings: (s) => updates.get(id(s))!,
    firstFindings: (s) => updates.get(id(s))!,
    admitted: () => true,
  };
  for (const view of [check, update]) judgeClaims(view, ctx, tallies[view.name]);
}

function judgeClaims(view: View, { clusterSeed, sidecars, gens, scopes, pods }: Istiod, tally: Tally): void {
  const { findings, admitted } = view;
  const at = (s: Gen) => `${view.name} seed ${clusterSeed}: ${id(s)}`;
  const podsOf = (ns: string) => pods.filter((p) => p.namespace === ns);
  const sidecarOf = (p: ProxyScope) => gens.get(p.sidecar);
  tally.sidecars += sidecars.length;
  tally.pods += pods.length;
  for (const s of sidecars)
    for (const f of findings(s)) if ((WARNED as readonly string[]).includes(f.rule)) tally.findings[f.rule as Warned]++;
  /** Whether sidecar-guard names the two Sidecars together in a conflict or selector.empty finding of either. */
  const together = (of: (s: Gen) => readonly GuardFinding[], a: Gen, b: Gen) =>
    of(a).some((f) => CONFLICT_RULES.has(f.rule) && mentions(f.message, b)) ||
    of(b).some((f) => CONFLICT_RULES.has(f.rule) && mentions(f.message, a));

  // 1. Shadowing: a Sidecar whose own pods istiod gives another one.
  for (const s of sidecars) {
    const shadowedBy = scopes.get(id(s))!.shadowedBy;
    if (!shadowedBy) continue;
    tally.shadowed.total++;
    const t = gens.get(`${s.namespace}/${shadowedBy}`);
    assert.ok(t, `${at(s)}: istio-scope names a shadowing Sidecar ${shadowedBy} of its namespace`);
    // istiod takes the Sidecars with a selector field first, then the namespace-wide ones, each group oldest first.
    if (!(t.age < s.age || (t.selector !== 'none' && s.selector === 'none')))
      tally.wrong.conflict.push(`${at(s)}: istiod gives its pods ${t.name}, younger and no more specific`);
    if (together(view.firstFindings, s, t)) tally.shadowed.reported++;
    else if (!admitted(t)) tally.shadowed.byRefused++;
    else if (!admitted(s)) tally.shadowed.refusedItself++;
    else
      tally.wrong.conflict.push(
        `${at(s)}: istiod gives its pods the older ${id(t)}, and no conflict.default, conflict.overlap or selector.empty finding names both`,
      );
  }

  // 1b. Which of two conflicting Sidecars istiod gives the pods both apply to: "Istio picks the older one".
  for (const s of sidecars) {
    for (const f of findings(s)) {
      if (f.rule !== 'conflict.default' && f.rule !== 'conflict.overlap') continue;
      const peers = sidecars.filter((p) => p !== s && p.namespace === s.namespace && mentions(f.message, p));
      if (peers.length === 0) tally.wrong.conflict.push(`${at(s)}: ${f.rule} names no Sidecar ("${f.message}")`);
      for (const p of peers) {
        const [older, younger] = s.age < p.age ? [s, p] : [p, s];
        const shared = podsOf(s.namespace).filter((pod) => appliesTo(s, pod.labels) && appliesTo(p, pod.labels));
        if (shared.length === 0)
          tally.wrong.conflict.push(`${at(s)}: ${f.rule} with ${p.name} but no pod both apply to`);
        const own = [scopes.get(id(s))!.shadowedBy, scopes.get(id(p))!.shadowedBy];
        if (!own.includes(p.name) && !own.includes(s.name)) tally.onlyOnPods++;
        const toYoungerEmpty: string[] = [];
        for (const pod of shared) {
          if (pod.sidecar === id(older)) tally.picks.older++;
          else if (pod.sidecar !== id(younger)) tally.picks.third++;
          else if (younger.selector === 'empty' && older.selector === 'none') {
            // A `{}` is a selector: istiod takes it ahead of a namespace-wide Sidecar, older or not (selector.empty).
            tally.picks.emptyAhead++;
            toYoungerEmpty.push(pod.name);
          } else
            tally.wrong.conflict.push(
              `${at(s)}: ${f.rule} with ${p.name}: istiod gives pod ${pod.namespace}/${pod.name} ${JSON.stringify(pod.labels)} the younger ${younger.name}, not the older ${older.name} ("${f.message}")`,
            );
        }
        // conflict.default's UPDATE warning names the `{}` as the one istiod takes, not the older one.
        if (toYoungerEmpty.length > 0 && /older one/.test(f.message))
          tally.wrong.conflict.push(
            `${at(s)}: "${f.message}", but istiod gives pods ${toYoungerEmpty.join(', ')} the younger ${younger.name} (workloadSelector: {})`,
          );
      }
    }
  }

  // 4. selector.empty: a selector matching every pod of the namespace, ahead of the default it names; per pod,
  // the older of it and each selector Sidecar it names; never the mesh-wide default.
  for (const t of sidecars) {
    for (const f of findings(t)) {
      if (f.rule !== 'selector.empty') continue;
      const wrong = (what: string) => tally.wrong['selector.empty'].push(`${at(t)}: ${what} ("${f.message}")`);
      for (const pod of podsOf(t.namespace)) {
        const got = sidecarOf(pod);
        if (!got || got.namespace !== t.namespace || got.selector === 'none')
          wrong(
            `pod ${pod.name} ${JSON.stringify(pod.labels)} gets ${pod.sidecar || 'no Sidecar'}, not a selector Sidecar`,
          );
      }
      const over = /ahead of the (?:namespace|mesh-wide) default Sidecar ([^\s/]+\/[^\s,;(]+)/.exec(f.message)?.[1];
      for (const pod of podsOf(t.namespace)) if (over && pod.sidecar === over) wrong(`pod ${pod.name} gets ${over}`);
      const list = /the selector Sidecars of \S+ pick \(([^)]*)\)/.exec(f.message)?.[1];
      for (const name of list?.split(', ') ?? []) {
        const u = gens.get(`${t.namespace}/${name}`);
        if (!u) {
          wrong(`names ${name}, no Sidecar of ${t.namespace}`);
          continue;
        }
        const [older, younger] = t.age < u.age ? [t, u] : [u, t];
        for (const pod of podsOf(t.namespace))
          if (appliesTo(u, pod.labels) && pod.sidecar === id(younger))
            wrong(`pod ${pod.name} ${JSON.stringify(pod.labels)} gets the younger ${younger.name}, not ${older.name}`);
      }
      if (t.namespace === ROOT)
        for (const pod of pods)
          if (pod.namespace !== ROOT && pod.sidecar === id(t)) wrong(`pod ${pod.namespace}/${pod.name} gets it`);
    }
  }

  // 5. selector.shadowed: the `{}` it names is older and takes every pod the Sidecar selects. Judged where the
  // Sidecar came after those in its view (check's first apply, in input order, as istio-scope's ages; the UPDATEs,
  // with their creationTimestamps); check's second apply sees the younger ones too, without timestamps.
  for (const s of sidecars) {
    for (const f of view.firstFindings(s)) {
      if (f.rule !== 'selector.shadowed') continue;
      const wrong = (what: string) => tally.wrong['selector.shadowed'].push(`${at(s)}: ${what} ("${f.message}")`);
      const t = sidecars.find((p) => p !== s && p.namespace === s.namespace && mentions(f.message, p));
      if (t?.selector !== 'empty') {
        wrong(`names ${t ? `${t.name}, not a workloadSelector: {}` : 'no Sidecar of its namespace'}`);
        continue;
      }
      if (t.age > s.age) wrong(`names ${t.name}, which is younger`);
      tally.shadowedByEmpty++;
      for (const pod of podsOf(s.namespace))
        if (pod.sidecar === id(s)) wrong(`pod ${pod.name} ${JSON.stringify(pod.labels)} gets it, not ${t.name}`);
    }
  }

  // 2 and 3. The bypasses: the warning's Sidecar against the scope its pods get once it is deleted.
  for (const s of sidecars) {
    const r = scopes.get(id(s))!;
    const fb = r.fallback;
    assert.ok(fb, `${at(s)}: istio-scope --fallback gives a fallback`);
    const own = importsOf(r.listeners);
    const left = importsOf(fb.listeners);
    const gained = [...own].filter((h) => !left.has(h));
    const lost = [...left].filter((h) => !own.has(h));
    const other = sidecarOf(fb);
    const otherWhat = `${fb.sidecar || "istiod's built-in default"}${other ? ` (${other.selector === 'none' ? 'namespace-wide' : other.selector === 'empty' ? '{}' : 'selector'}${admitted(other) ? '' : ', refused by check'})` : ''}`;
    /** What istiod gives the pods without this Sidecar, for the count of bypasses no warning reports. */
    const otherKind = !other
      ? "istiod's built-in default"
      : !admitted(other)
        ? 'a Sidecar check refused'
        : other.selector === 'labels'
          ? 'a selector Sidecar'
          : other.selector === 'empty'
            ? 'a {}'
            : other.namespace !== s.namespace
              ? 'the mesh-wide default'
              : s.selector === 'none'
                ? 'a second namespace-wide Sidecar'
                : 'the namespace default';
    /** The named default is not what istiod gives the pods without the Sidecar: why, if it is no error. */
    const explain = (b: Bypasses): boolean => {
      if (other && !admitted(other)) b.viaRefused++;
      else if (other && together(findings, s, other)) b.viaNamed++;
      else return false;
      return true;
    };
    const bypass = (rule: 'egress.bypass' | 'outbound.bypass', after: string, judged: (claimed: string) => string) => {
      const warning = findings(s).find((f) => f.rule === rule);
      if (!warning) return false;
      const claimed = namedDefault(warning.message, after);
      const problem = !claimed
        ? 'names no default'
        : fb.sidecar !== claimed && !explain(tally.bypass[rule])
          ? `without it istiod gives its pods ${otherWhat}, not ${claimed}`
          : fb.sidecar === claimed
            ? judged(claimed)
            : '';
      if (problem) tally.wrong[rule].push(`${at(s)}: ${problem} ("${warning.message}")`);
      else if (fb.sidecar === claimed) tally.bypass[rule].confirmed++;
      return true;
    };

    const egressWarned = bypass('egress.bypass', 'instead of the egress of the ', (claimed) =>
      s.egress
        ? 'has an egress listener'
        : lost.length > 0
          ? `its pods lose ${lost.join(', ')}, which ${claimed} imports`
          : gained.length === 0
            ? `its pods see nothing ${claimed} does not import (${[...own].join(', ')})`
            : '',
    );
    if (!egressWarned && !s.egress && !r.shadowedBy && fb.sidecar !== '' && gained.length > 0 && lost.length === 0)
      unreported(tally.bypass['egress.bypass'].silent, otherKind, `${at(s)} over ${otherWhat} gains ${gained.length}`);

    const outboundWarned = bypass('outbound.bypass', 'REGISTRY_ONLY from the ', (claimed) =>
      s.outbound
        ? 'has an outboundTrafficPolicy'
        : r.outboundMode !== 'ALLOW_ANY'
          ? `istiod gives its pods ${r.outboundMode}, not the mesh's ALLOW_ANY`
          : fb.outboundMode !== 'REGISTRY_ONLY'
            ? `without it its pods get ${claimed} with ${fb.outboundMode}, not REGISTRY_ONLY`
            : '',
    );
    if (
      !outboundWarned &&
      !s.outbound &&
      !r.shadowedBy &&
      r.outboundMode === 'ALLOW_ANY' &&
      fb.sidecar !== '' &&
      fb.outboundMode === 'REGISTRY_ONLY'
    )
      unreported(tally.bypass['outbound.bypass'].silent, otherKind, `${at(s)} over ${otherWhat}`);
  }
}

/** One line per view: the counts per rule. */
function summary(name: ViewName, t: Tally): string {
  const f = t.findings;
  const bypass = (rule: 'egress.bypass' | 'outbound.bypass') => {
    const b = t.bypass[rule];
    return `${rule} ${f[rule]} (${b.confirmed} confirmed; without it istiod gives another Sidecar: refused by check ${b.viaRefused}, named with it ${b.viaNamed}; ${count(b.silent)} bypasses unreported${byKind(b.silent)})`;
  };
  return (
    `${name}: ${t.sidecars} Sidecars, ${t.pods} pods; conflict.default ${f['conflict.default']}, conflict.overlap ${f['conflict.overlap']} ` +
    `(shadowed ${t.shadowed.total}: ${t.shadowed.reported} named together, ${t.shadowed.byRefused} by a Sidecar check refused, ${t.shadowed.refusedItself} refused by check for another conflict; ` +
    `pods both apply to get the older ${t.picks.older}, a third ${t.picks.third}, a younger {} ${t.picks.emptyAhead}; ${t.onlyOnPods} findings seen on pods only); ` +
    `selector.empty ${f['selector.empty']}; selector.shadowed ${f['selector.shadowed']} (${t.shadowedByEmpty} judged); ${bypass('egress.bypass')}; ${bypass('outbound.bypass')}; ` +
    `wrong ${Object.values(t.wrong).reduce((n, l) => n + l.length, 0)}`
  );
}

describe(`conflict.*, selector.empty, egress.bypass and outbound.bypass against istiod's SidecarScope (seed ${seed}; replay: SCOPE_CLAIMS_SEED=${seed})`, {
  timeout: 10 * 60_000,
}, () => {
  const tallies: Record<ViewName, Tally> = { check: newTally(), update: newTally() };
  const wrong = (claim: Claim) => VIEWS.flatMap((v) => tallies[v].wrong[claim]).slice(0, 5);
  before(async () => {
    ensureOracle();
    for (let c = 0; c < CLUSTERS; c++) await compareCluster(seed + c, tallies);
  });

  test('summary', (t) => {
    t.diagnostic(`seed ${seed}`);
    for (const v of VIEWS) {
      t.diagnostic(summary(v, tallies[v]));
      for (const [rule, b] of Object.entries(tallies[v].bypass))
        for (const [kind, l] of b.silent)
          t.diagnostic(`${v}: ${rule} unreported over ${kind}, e.g. ${l.slice(0, 2).join('; ')}`);
    }
    for (const v of VIEWS) {
      const { findings, shadowed, picks, bypass } = tallies[v];
      for (const rule of WARNED) assert.ok(findings[rule] > 0, `${v}: the generator makes Sidecars ${rule} reports`);
      assert.ok(shadowed.reported > 0 && picks.older > 0, `${v}: the generator makes conflicts istiod resolves`);
      assert.ok(bypass['egress.bypass'].confirmed > 0 && bypass['outbound.bypass'].confirmed > 0, `${v}: bypasses`);
    }
  });

  test('conflict.default and conflict.overlap: every Sidecar istiod shadows is reported with its shadower, and pods both apply to get the older one', () => {
    assert.deepEqual(wrong('conflict'), []);
  });

  test('selector.empty: every pod of the namespace gets a selector Sidecar, never the default it names, the older of it and each selector Sidecar it names, and never outside the root namespace', () => {
    assert.deepEqual(wrong('selector.empty'), []);
  });

  test('egress.bypass: without the warned Sidecar its pods get the named default, which imports less than the Sidecar', () => {
    assert.deepEqual(wrong('egress.bypass'), []);
  });

  test('outbound.bypass: the warned Sidecar gets ALLOW_ANY and, without it, its pods get the named default with REGISTRY_ONLY', () => {
    assert.deepEqual(wrong('outbound.bypass'), []);
  });

  test('selector.shadowed: the older workloadSelector: {} it names takes every pod the Sidecar selects', () => {
    assert.deepEqual(wrong('selector.shadowed'), []);
  });
});

// Schema differential: for every Sidecar in test/fixtures (the Istio vectors
// in all three served versions, the seed documents, the admission fixtures)
// and for generated cases of the fuzz suite (test/reliability/arbitraries.ts),
// the real kube-apiserver's verdict (dry-run create, strict field validation,
// no webhook called) and checkSchema's (`check`'s schema layer) must agree on
// the verdict and on every finding's text, except where a documented
// difference (DIFFERENCES, the table in docs/conformance.md) explains it.
//
// The cases are generated with a fixed seed so that the suite is repeatable;
// DIFFERENTIAL_SEED=<n> or =random explores further (the seed is printed).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseAllDocuments } from 'yaml';
import { SERVED_VERSIONS } from '../../src/sidecar/schema/index.js';
import {
  decorate,
  fuzzObject,
  irrelevant,
  nastyJsonValue,
  plausibleSpec,
  sidecarObject,
  VECTORS,
} from '../reliability/arbitraries.js';
import {
  disagreement,
  DIFFERENTIAL_NAMESPACE,
  onTheWire,
  ourVerdict,
  serverVerdict,
  STRICT_DECODING,
  type Case,
  type ServerVerdict,
  type Verdict,
} from './differential.js';
import { adminClient, E2E_DIR, needsRealApiServer, readState, ROOT } from './env.js';

const FIXTURES = join(ROOT, 'test/fixtures');
const SEED =
  process.env.DIFFERENTIAL_SEED === 'random'
    ? Math.floor(Math.random() * 2 ** 31)
    : Number(process.env.DIFFERENTIAL_SEED ?? 20261130);
const RUNS = { fuzz: 2_500, decorated: 400, plausible: 300 };

/**
 * Differences that are understood and kept; each has a row in
 * docs/conformance.md ("Schema differential (kube-apiserver)") with the reason.
 * A disagreement that none of them explains fails the test.
 */
const DIFFERENCES: { id: string; verdict?: true; explains(server: ServerVerdict, ours: Verdict): boolean }[] = [
  {
    // The API server cannot decode the body as a Sidecar (not an object; kind or apiVersion missing, of the
    // wrong type or not a Sidecar's; metadata or one of its fields of the wrong JSON type): it answers 400 with
    // its decoder's error (or, for a foreign apiVersion, the unknown fields of metadata) and validates nothing
    // else; check reports the same problems as field errors.
    id: 'SD1',
    explains: (server, ours) =>
      server.stage === 'decoding' &&
      !ours.allowed &&
      (DECODER_ERRORS.some((re) => re.test(server.message)) ||
        (STRICT_DECODING.test(server.message) && ours.findings.some((f) => /^(apiVersion|kind): /.test(f)))),
  },
  {
    // Long values are cut with "..." in check's messages (strings after 4,096 characters, lists and objects
    // after 200), so that a hostile value cannot make a huge message; the API server prints them whole.
    id: 'SD2',
    explains: (server, ours) =>
      pairsUp(
        server,
        ours,
        (s, o) => s !== o && cuts(o).some((at) => s.startsWith(o.slice(0, at)) && s.endsWith(o.slice(at + 3))),
      ),
  },
  {
    // Characters assigned after Unicode 15.0 (Go 1.26's tables, which kube-apiserver's %q uses) are printed
    // as \U escapes by the API server and as themselves by check (Node's Unicode 17 tables).
    id: 'SD3',
    explains: (server, ours) => pairsUp(server, ours, (s, o) => s !== o && sameButEscapes(s, o)),
  },
];

/** Where "..." stands in a message of ours. */
function cuts(text: string): number[] {
  const at: number[] = [];
  for (let i = text.indexOf('...'); i >= 0; i = text.indexOf('...', i + 1)) at.push(i);
  return at;
}

const DECODER_ERRORS = [
  /^Object 'apiVersion' is missing in/,
  /the object provided is unrecognized \(must be of type Sidecar\): (Object 'Kind' is missing in|couldn't get version\/kind; json parse error: json: cannot unmarshal|unexpected GroupVersion string)/,
  /the API version in the data \(.*\) does not match the expected API version \(networking\.istio\.io\/v1\)/,
  / in version "[^"]*" cannot be handled as a Sidecar: (json: cannot unmarshal \w+ into Go (struct field ObjectMeta\.\w+ of type|value of type v1\.ObjectMeta)|\.apiVersion accessor error)/,
];

/** Every finding that differs pairs up with one on the other side for which `same` holds. */
function pairsUp(server: Verdict, ours: Verdict, same: (s: string, o: string) => boolean): boolean {
  const onlyServer = server.findings.filter((f) => !ours.findings.includes(f));
  const onlyOurs = ours.findings.filter((f) => !server.findings.includes(f));
  return (
    onlyServer.length > 0 &&
    onlyServer.length === onlyOurs.length &&
    onlyServer.every((s) => onlyOurs.some((o) => same(s, o)))
  );
}

/** s and o are the same text, except that s escapes (\Uxxxxxxxx, \uxxxx) some characters that o writes as themselves. */
function sameButEscapes(s: string, o: string): boolean {
  let i = 0;
  let j = 0;
  while (i < s.length && j < o.length) {
    const escaped = /^\\(?:U([0-9a-f]{8})|u([0-9a-f]{4}))/.exec(s.slice(i, i + 10));
    if (escaped && !o.startsWith(escaped[0], j)) {
      const char = String.fromCodePoint(parseInt(escaped[1] ?? escaped[2]!, 16));
      if (!o.startsWith(char, j)) return false;
      i += escaped[0].length;
      j += char.length;
    } else if (escaped) {
      i += escaped[0].length;
      j += escaped[0].length;
    } else if (s[i] === o[j]) {
      i++;
      j++;
    } else return false;
  }
  return i === s.length && j === o.length;
}

function fixtureCases(): Case[] {
  const cases: Case[] = [];
  VECTORS.forEach((v, i) => {
    for (const version of SERVED_VERSIONS)
      cases.push({
        id: `vector ${v.id} (${version})`,
        object: sidecarObject(v.spec, DIFFERENTIAL_NAMESPACE, `vector-${i}`, `networking.istio.io/${version}`),
      });
  });
  for (const file of readdirSync(join(FIXTURES, 'seeds'))
    .filter((f) => f.endsWith('.yaml'))
    .sort()) {
    parseAllDocuments(readFileSync(join(FIXTURES, 'seeds', file), 'utf8')).forEach((doc, i) => {
      const object = doc.toJS() as { kind?: string } | null;
      if (object?.kind === 'Sidecar') cases.push({ id: `seed ${file} document ${i}`, object });
    });
  }
  for (const file of readdirSync(join(FIXTURES, 'admission'))
    .filter((f) => f.endsWith('.request.json'))
    .sort()) {
    const { request } = JSON.parse(readFileSync(join(FIXTURES, 'admission', file), 'utf8')) as {
      request: { object?: unknown; oldObject?: unknown };
    };
    for (const [which, object] of Object.entries({ object: request.object, oldObject: request.oldObject })) {
      if ((object as { kind?: string } | null)?.kind === 'Sidecar')
        cases.push({ id: `admission ${file} ${which}`, object });
    }
  }
  return cases;
}

function generatedCases(seed: number): Case[] {
  const cases: Case[] = [];
  fc.sample(fuzzObject(nastyJsonValue), { seed, numRuns: RUNS.fuzz }).forEach((object, i) => {
    cases.push({ id: `fuzzObject #${i}`, object });
  });
  const valid = fc.oneof(
    fc.constantFrom(...VECTORS).map((v) => v.spec),
    plausibleSpec,
  );
  fc.sample(fc.tuple(valid, irrelevant), { seed, numRuns: RUNS.decorated }).forEach(([spec, extra], i) => {
    cases.push({
      id: `decorated #${i}`,
      object: decorate(sidecarObject(spec, DIFFERENTIAL_NAMESPACE, `decorated-${i}`), extra),
    });
  });
  fc.sample(plausibleSpec, { seed, numRuns: RUNS.plausible }).forEach((spec, i) => {
    cases.push({ id: `plausibleSpec #${i}`, object: sidecarObject(spec, DIFFERENTIAL_NAMESPACE, `plausible-${i}`) });
  });
  return cases;
}

test('schema differential: the real API server and check agree on every case but the documented differences', {
  skip: needsRealApiServer(),
}, async () => {
  const cases = [...fixtureCases(), ...generatedCases(SEED)];
  const admin = adminClient(8);
  const tally = {
    cases: cases.length,
    refusedByBoth: 0,
    allowedByBoth: 0,
    identical: 0,
    byDifference: {} as Record<string, number>,
  };
  const unexplained: string[] = [];
  const started = Date.now();
  try {
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = next++; i < cases.length; i = next++) {
          const c = cases[i]!;
          const wire = onTheWire(c.object);
          const server = await serverVerdict(admin, wire);
          const ours = ourVerdict(wire);
          if (server.allowed !== ours.allowed) {
            const known = DIFFERENCES.find((d) => d.verdict && d.explains(server, ours));
            if (known) tally.byDifference[known.id] = (tally.byDifference[known.id] ?? 0) + 1;
            else
              unexplained.push(
                `${c.id}: ${disagreement(server, ours)}\n  server: ${server.status} ${server.message.slice(0, 500)}\n  check: ${ours.findings.join('; ').slice(0, 500)}\n  object: ${JSON.stringify(wire).slice(0, 500)}`,
              );
            continue;
          }
          tally[server.allowed ? 'allowedByBoth' : 'refusedByBoth']++;
          const differs = disagreement(server, ours);
          if (!differs) {
            tally.identical++;
            continue;
          }
          const known = DIFFERENCES.find((d) => d.explains(server, ours));
          if (known) tally.byDifference[known.id] = (tally.byDifference[known.id] ?? 0) + 1;
          else
            unexplained.push(
              `${c.id}: ${differs.slice(0, 1_000)}\n  server: ${server.status} ${server.message.slice(0, 300)}\n  object: ${JSON.stringify(wire).slice(0, 500)}`,
            );
        }
      }),
    );
  } finally {
    admin.close();
  }
  const summary = {
    seed: SEED,
    seconds: Math.round((Date.now() - started) / 100) / 10,
    ...tally,
    unexplained: unexplained.length,
  };
  writeFileSync(join(E2E_DIR, 'schema-differential.json'), `${JSON.stringify(summary, null, 2)}\n`);
  console.log(`schema differential: ${JSON.stringify(summary)}`);
  assert.deepEqual(unexplained.slice(0, 10), [], `${unexplained.length} unexplained differences (seed ${SEED})`);
  assert.ok(tally.refusedByBoth > 100 && tally.allowedByBoth > 100, 'both verdicts are well represented');

  // The table in docs/conformance.md lists every difference the test knows.
  const doc = readFileSync(join(ROOT, 'docs/conformance.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Schema differential (kube-apiserver)'));
  for (const d of DIFFERENCES)
    assert.match(section, new RegExp(`^\\| ${d.id} \\|`, 'm'), `${d.id} has a row in docs/conformance.md`);
  // And the webhook was never asked: it would have denied (and logged) the invalid ones.
  assert.doesNotMatch(
    readFileSync(readState().webhook.log, 'utf8'),
    new RegExp(`"namespace":"${DIFFERENTIAL_NAMESPACE}"`),
  );
});

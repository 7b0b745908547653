// The quick form of `make conformance`, part of `make test`: sidecar-guard
// against Istio's own code (conformance/bin/, built by `make oracle` on first
// use; the first build compiles Istio and takes minutes). Every fixture and
// the real-world corpus, 5,000 generated Sidecars and 300 generated
// namespaces from a seed printed here; replay one with
// `make conformance SEED=<seed>` or CONFORMANCE_SEED=<seed> on this file.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
  analyzerFixtures,
  analyzerVectors,
  compareFixtureFiles,
  compareNamespaces,
  compareSidecars,
  fixtureSidecars,
  generatedNamespaces,
  generatedSidecars,
  newAnalyzerTally,
  newValidationTally,
  reproducers,
  type Difference,
} from './differential.js';
import { ensureOracle } from './oracle.js';
import { seedFrom } from '../helpers/seeded.js';

const SIDECARS = 5_000;
const NAMESPACES = 300;
const seed = seedFrom('CONFORMANCE_SEED');

/** A failure message with a minimised reproducer for each distinct difference. */
async function explain(differences: readonly Difference[], minimise: boolean): Promise<string> {
  const shown = minimise ? await reproducers(differences, 5) : differences.slice(0, 5);
  return `${differences.length} differences with Istio (seed ${seed}; replay: make conformance SEED=${seed}):\n${shown
    .map((d) => `- ${d.source}: ${d.detail}\n  ${JSON.stringify(d.object)}`)
    .join('\n')}`;
}

describe(`conformance with Istio's own code (seed ${seed})`, { timeout: 30 * 60_000 }, () => {
  before(() => {
    console.log(`conformance: seed ${seed} (replay: make conformance SEED=${seed})`);
    ensureOracle();
  });

  test('every fixture, vector and real-world Sidecar gets the same findings from Istio', async (t) => {
    const { fixtures, real } = fixtureSidecars();
    const all = [...fixtures, ...real];
    const tally = newValidationTally();
    await compareSidecars(
      all.map((f) => f.object),
      (i) => all[i]!.source,
      tally,
    );
    t.diagnostic(
      `${tally.cases} fixture Sidecars (${real.length} real-world): ${tally.agree} same findings, ${tally.agreeDecode} refused by both at decoding, ${tally.differences.length} differences`,
    );
    assert.ok(real.length > 0 && fixtures.length > 0, 'the fixtures and the corpus were found');
    assert.equal(tally.differences.length, 0, await explain(tally.differences, true));
  });

  test('every fixture file, read as YAML by each side, gets the same findings from Istio', async (t) => {
    const tally = newValidationTally();
    await compareFixtureFiles(tally);
    t.diagnostic(
      `${tally.cases} Sidecars in fixture files: ${tally.agree} same findings, ${tally.agreeDecode} refused by both at decoding, ${tally.differences.length} differences`,
    );
    assert.ok(tally.cases > 0);
    assert.equal(tally.differences.length, 0, await explain(tally.differences, false));
  });

  test(`${SIDECARS} generated Sidecars get the same findings from Istio`, async (t) => {
    const tally = newValidationTally();
    await compareSidecars(generatedSidecars(seed, SIDECARS), (i) => `seed ${seed}, Sidecar ${i}`, tally);
    const deviations = Object.entries(tally.deviations)
      .map(([id, n]) => `${id} ${n}`)
      .join(', ');
    t.diagnostic(
      `seed ${seed}: ${tally.cases} Sidecars, ${tally.agree} same findings (${tally.istioRejected} refused), ${tally.agreeDecode} refused by both at decoding, documented deviations: ${deviations}; ${tally.differences.length} differences`,
    );
    assert.equal(tally.cases, SIDECARS);
    // The generator must reach the rules, not only the decoder.
    assert.ok(tally.agree > SIDECARS / 2, `only ${tally.agree} cases reached Istio's rules`);
    assert.equal(tally.differences.length, 0, await explain(tally.differences, true));
  });

  test(`Istio's analyzer vectors and testdata and ${NAMESPACES} generated namespaces get the same analyzer findings`, async (t) => {
    const tally = newAnalyzerTally();
    for (const call of [...analyzerVectors(), ...analyzerFixtures(), ...generatedNamespaces(seed + 1, NAMESPACES)])
      await compareNamespaces(call, tally);
    t.diagnostic(
      `seed ${seed + 1}: ${tally.namespaces} namespaces, ${tally.agree} with the same findings (${tally.findings} Istio findings), ${tally.differences.length} differences`,
    );
    assert.ok(tally.findings > 0);
    assert.equal(tally.differences.length, 0, await explain(tally.differences, false));
  });
});

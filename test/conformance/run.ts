// make conformance: sidecar-guard against Istio's own code.
//   node --import tsx test/conformance/run.ts [--sidecars N] [--namespaces N] [--seed N]
// Prints the counts of every comparison and, for each difference, a minimised
// reproducer (also written to conformance/out/). Exit 1 on any unexplained
// difference.
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
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
  type AnalyzerTally,
  type Difference,
  type ValidationTally,
} from './differential.js';
import { ensureOracle, ROOT } from './oracle.js';

const { values } = parseArgs({
  options: {
    sidecars: { type: 'string', default: '100000' },
    namespaces: { type: 'string', default: '2000' },
    seed: { type: 'string' },
  },
});

const count = (name: string, raw: string): number => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`--${name} must be a non-negative integer, got "${raw}"`);
    process.exit(2);
  }
  return n;
};
const sidecars = count('sidecars', values.sidecars!);
const namespaces = count('namespaces', values.namespaces!);
const seed = values.seed === undefined ? (Date.now() ^ (Math.random() * 2 ** 31)) >>> 0 : count('seed', values.seed);

const fmt = (n: number) => n.toLocaleString('en-US');

function validationLine(label: string, t: ValidationTally): string {
  const dev = Object.entries(t.deviations)
    .filter(([, n]) => n > 0)
    .map(([id, n]) => `${id} ${fmt(n)}`)
    .join(', ');
  return `${label.padEnd(28)} ${fmt(t.cases).padStart(8)} cases: ${fmt(t.agree)} same findings (${fmt(t.istioRejected)} refused by Istio, ${fmt(t.istioWarned)} allowed with warnings), ${fmt(t.agreeDecode)} refused by both at decoding, documented deviations: ${dev || 'none'}; ${fmt(t.differences.length)} differences`;
}

function analyzerLine(label: string, t: AnalyzerTally): string {
  return `${label.padEnd(28)} ${fmt(t.namespaces).padStart(8)} namespaces: ${fmt(t.agree)} same findings (${fmt(t.findings)} Istio findings); ${fmt(t.differences.length)} differences`;
}

async function main(): Promise<number> {
  ensureOracle();
  const started = Date.now();
  console.log(`conformance: seed ${seed} (replay: make conformance SEED=${seed})`);

  const { fixtures, real } = fixtureSidecars();
  const fixtureTally = newValidationTally();
  await compareSidecars(
    fixtures.map((f) => f.object),
    (i) => fixtures[i]!.source,
    fixtureTally,
  );
  console.log(validationLine('fixtures and vectors', fixtureTally));
  const fileTally = newValidationTally();
  await compareFixtureFiles(fileTally);
  console.log(validationLine('fixture files read as YAML', fileTally));
  const realTally = newValidationTally();
  await compareSidecars(
    real.map((f) => f.object),
    (i) => real[i]!.source,
    realTally,
  );
  console.log(validationLine('real-world corpus', realTally));

  const generatedTally = newValidationTally();
  const objects = generatedSidecars(seed, sidecars);
  await compareSidecars(objects, (i) => `seed ${seed}, Sidecar ${i}`, generatedTally);
  console.log(validationLine('generated Sidecars', generatedTally));

  const vectorTally = newAnalyzerTally();
  for (const call of [...analyzerVectors(), ...analyzerFixtures()]) await compareNamespaces(call, vectorTally);
  console.log(analyzerLine('analyzer vectors, fixtures', vectorTally));
  const namespaceTally = newAnalyzerTally();
  for (const call of generatedNamespaces(seed + 1, namespaces)) await compareNamespaces(call, namespaceTally);
  console.log(analyzerLine('generated namespaces', namespaceTally));

  const validationDiffs = [
    ...fixtureTally.differences,
    ...fileTally.differences,
    ...realTally.differences,
    ...generatedTally.differences,
  ];
  const analyzerDiffs = [...vectorTally.differences, ...namespaceTally.differences];
  const total = validationDiffs.length + analyzerDiffs.length;
  console.log(
    `${fmt(total)} unexplained differences in ${((Date.now() - started) / 1000).toFixed(0)} s (Istio module istio.io/istio v0.0.0-20260827124520-eed52ebb66ad)`,
  );
  if (total === 0) return 0;

  const out = `${ROOT}conformance/out`;
  mkdirSync(out, { recursive: true });
  const report = (d: Difference, i: number, kind: string) => {
    const file = `${out}/${kind}-${i}.json`;
    writeFileSync(file, `${JSON.stringify(d.object, null, 2)}\n`);
    console.log(
      `\n--- ${kind} difference ${i} (${d.source}); reproducer ${file}\n${d.detail}\n${JSON.stringify(d.object)}`,
    );
  };
  (await reproducers(validationDiffs)).forEach((d, i) => {
    report(d, i, 'sidecar');
  });
  analyzerDiffs.slice(0, 20).forEach((d, i) => {
    report(d, i, 'namespace');
  });
  return 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`conformance: ${(err as Error).stack ?? String(err)}`);
    process.exit(2);
  },
);

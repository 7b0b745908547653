// Regenerates src/sidecar/schema/sidecar-schema.gen.ts from the CRD copy next to it.
//   node --import tsx scripts/gen-schema.ts
// Fails (non-zero exit) when the CRD's versions disagree, or when it uses a
// schema keyword or CEL rule that src/sidecar/schema does not implement.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generateSchemaModule } from '../src/sidecar/schema/generate.js';

const schemaDir = new URL('../src/sidecar/schema/', import.meta.url);
const crdPath = fileURLToPath(new URL('sidecar-crd.yaml', schemaDir));
const outPath = fileURLToPath(new URL('sidecar-schema.gen.ts', schemaDir));

const text = generateSchemaModule(readFileSync(crdPath, 'utf8'));
writeFileSync(outPath, text);
console.log(`wrote ${outPath} (${text.length} bytes)`);

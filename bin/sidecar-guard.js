#!/usr/bin/env node
// Runs the compiled CLI (npm ci builds dist/ through the "prepare" script;
// every make target rebuilds it). In a checkout where dist/ is missing or
// older than the sources, it runs the TypeScript sources through tsx instead,
// so `npx --no-install sidecar-guard` never runs stale code.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeVersionProblem } from './node-version.js';

const tooOld = nodeVersionProblem();
if (tooOld) {
  console.error(tooOld);
  process.exit(2);
}

const dist = new URL('../dist/cli.js', import.meta.url);
const src = fileURLToPath(new URL('../src/', import.meta.url));

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

const distPath = fileURLToPath(dist);
const distFresh = existsSync(distPath) && (!existsSync(src) || statSync(distPath).mtimeMs >= newestMtime(src));
if (distFresh) {
  await import(dist.href);
} else {
  const { register } = await import('tsx/esm/api').catch((err) => {
    // Installed without its dev dependencies and never built (e.g. `npm install` of a git URL skips the
    // build): nothing can run, and a module-resolution stack trace would not say what to do.
    if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
    const root = fileURLToPath(new URL('..', import.meta.url));
    console.error(
      `sidecar-guard: ${existsSync(distPath) ? 'dist/ is older than src/' : 'dist/ is missing'} and tsx is not installed to run the sources; run "npm ci" (it builds dist/) in ${root}`,
    );
    process.exit(2);
  });
  register();
  await import(new URL('../src/cli.ts', import.meta.url).href);
}

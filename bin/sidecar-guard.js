#!/usr/bin/env node
// Runs the compiled CLI (npm ci builds dist/ through the "prepare" script).
// In a checkout without dist/ it falls back to the TypeScript sources via tsx,
// so `npx --no-install sidecar-guard` works either way.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dist = new URL('../dist/cli.js', import.meta.url);
if (existsSync(fileURLToPath(dist))) {
  await import(dist.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/cli.ts', import.meta.url).href);
}

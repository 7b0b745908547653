// Reading manifest paths the way kubectl -f does: files, directories
// (recursively, *.yaml|*.yml|*.json) and `-` for stdin. Used only by the
// composition root (cli.ts / main.ts).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Source } from './manifests/documents.js';

const MANIFEST_EXT = /\.(ya?ml|json)$/i;

export class UsageError extends Error {}

export function readSources(paths: readonly string[], readStdin: () => string = () => readFileSync(0, 'utf8')): Source[] {
  const sources: Source[] = [];
  for (const path of paths) {
    if (path === '-') {
      sources.push({ file: '<stdin>', text: readStdin() });
      continue;
    }
    let stat;
    try {
      stat = statSync(path);
    } catch (err) {
      throw new UsageError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`);
    }
    const files = stat.isDirectory() ? manifestFilesUnder(path) : [path];
    for (const file of files) {
      try {
        sources.push({ file, text: readFileSync(file, 'utf8') });
      } catch (err) {
        throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
      }
    }
  }
  return sources;
}

function manifestFilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...manifestFilesUnder(full));
    else if (entry.isFile() && MANIFEST_EXT.test(entry.name)) out.push(full);
  }
  return out;
}

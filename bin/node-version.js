// The oldest Node.js the CLI runs on (package.json's engines field). Older
// ones start and then fail on some paths (audit --kubeconfig crashes inside
// undici on Node 20), so the bin refuses them up front with one line.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const MINIMUM_NODE_MAJOR = 22;

/** The Node.js `make run` installs for the checkout (absent until it ran). */
const TOOLS_NODE = fileURLToPath(new URL('../.tools/node/bin', import.meta.url));

/**
 * Why this Node.js cannot run the CLI, or undefined when it can. When `make
 * run` has installed its Node.js already, the line says how to use it: a
 * newcomer who ran `make run` and then `npx sidecar-guard` has one.
 */
export function nodeVersionProblem(version = process.versions.node, toolsNode = TOOLS_NODE) {
  const major = Number.parseInt(version, 10);
  if (major >= MINIMUM_NODE_MAJOR) return undefined;
  const fix = existsSync(`${toolsNode}/node`)
    ? `use the one \`make run\` installed: export PATH=${toolsNode}:$PATH`
    : 'install a newer one, or use `make run`, which installs Node.js 24 under .tools/node';
  return `sidecar-guard needs Node.js ${MINIMUM_NODE_MAJOR} or later, and this is v${version}: ${fix}`;
}

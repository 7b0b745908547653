// The oldest Node.js the CLI runs on (package.json's engines field). Older
// ones start and then fail on some paths (audit --kubeconfig crashes inside
// undici on Node 20), so the bin refuses them up front with one line.
export const MINIMUM_NODE_MAJOR = 22;

/** Why this Node.js cannot run the CLI, or undefined when it can. */
export function nodeVersionProblem(version = process.versions.node) {
  const major = Number.parseInt(version, 10);
  if (major >= MINIMUM_NODE_MAJOR) return undefined;
  return `sidecar-guard needs Node.js ${MINIMUM_NODE_MAJOR} or later, and this is v${version}: install a newer one, or use \`make run\`, which installs Node.js 24 under .tools/node`;
}

// Figures the benchmark takes from the manifests rather than repeating them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from './child.js';

/** The container memory limit of the Deployment (manifests/deployment.yaml, e.g. 512Mi), in MiB. */
export function manifestMemoryLimitMb(): number {
  const text = readFileSync(join(REPO_ROOT, 'manifests', 'deployment.yaml'), 'utf8');
  for (const doc of parseAllDocuments(text)) {
    const limit = (
      doc.toJS() as {
        spec?: { template?: { spec?: { containers?: { resources?: { limits?: { memory?: string } } }[] } } };
      }
    )?.spec?.template?.spec?.containers?.[0]?.resources?.limits?.memory;
    const m = /^(\d+)(Mi|Gi)$/.exec(limit ?? '');
    if (m) return Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1);
  }
  throw new Error('no memory limit in manifests/deployment.yaml');
}

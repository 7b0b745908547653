// The manifests as a cluster would receive them: rendered by kubectl's
// built-in kustomize (no cluster needed), optionally with the
// namespace-defaults component through a throwaway overlay.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const MANIFESTS = fileURLToPath(new URL('../../manifests/', import.meta.url));
export const KUBECTL = process.env.KUBECTL ?? 'kubectl';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export function kustomize(dir: string): string {
  return execFileSync(KUBECTL, ['kustomize', dir], {
    encoding: 'utf8',
    timeout: 30_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export function parseDocuments(yamlText: string): K8sObject[] {
  return parseAllDocuments(yamlText).map((doc, i) => {
    if (doc.errors.length > 0) throw new Error(`document ${i}: ${doc.errors[0]!.message}`);
    return doc.toJS() as K8sObject;
  });
}

/** The base (`kubectl kustomize manifests`). */
export function renderBase(): K8sObject[] {
  return parseDocuments(kustomize(MANIFESTS));
}

/** The base plus components/namespace-defaults, through an overlay outside the base (kustomize refuses nested ones). */
export function renderWithNamespaceDefaults(): K8sObject[] {
  return renderWithComponents('namespace-defaults');
}

/** The base plus the named components of manifests/components, through an overlay outside the base. */
export function renderWithComponents(...components: string[]): K8sObject[] {
  const dir = mkdtempSync(join(tmpdir(), 'sidecar-guard-overlay-'));
  try {
    const base = relative(dir, MANIFESTS);
    writeFileSync(
      join(dir, 'kustomization.yaml'),
      `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ${base}\ncomponents:\n${components.map((c) => `  - ${base}/components/${c}\n`).join('')}`,
    );
    return parseDocuments(kustomize(dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const o = objects.find((x) => x.kind === kind && x.metadata?.name === name);
  if (!o) throw new Error(`no ${kind} ${name} in the rendered manifests`);
  return o;
}

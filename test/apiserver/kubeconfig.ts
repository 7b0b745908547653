// A kubeconfig for the test API server, readable by kubectl and by
// @kubernetes/client-node's KubeConfig.loadFromFile.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { stringify } from 'yaml';

export const CONTEXT_NAME = 'test-apiserver';

export function kubeconfigYaml(url: string, caPem: string, token: string, namespace = 'default'): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    clusters: [
      {
        name: CONTEXT_NAME,
        cluster: { server: url, 'certificate-authority-data': Buffer.from(caPem).toString('base64') },
      },
    ],
    users: [{ name: 'test-admin', user: { token } }],
    contexts: [{ name: CONTEXT_NAME, context: { cluster: CONTEXT_NAME, user: 'test-admin', namespace } }],
    'current-context': CONTEXT_NAME,
  });
}

export function writeKubeconfigFile(path: string, contents: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, contents, { mode: 0o600 });
}

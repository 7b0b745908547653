// The Istio Sidecar vectors (test/fixtures/istio-sidecar-vectors.json; provenance in test/fixtures/README.md).
import { readFileSync } from 'node:fs';

export interface Vector {
  id: string;
  name: string;
  namespace: string | null;
  spec: unknown;
  valid: boolean;
  warning: boolean;
  derivedErrors: string[];
  derivedWarnings: string[];
}

export const vectors = JSON.parse(
  readFileSync(new URL('../fixtures/istio-sidecar-vectors.json', import.meta.url), 'utf8'),
) as Vector[];

/** Istio visits selector labels in random map order, so messages are compared as multisets. */
export const sorted = (xs: readonly string[]): string[] => [...xs].sort();
